//! Any bytes as an XLSX workbook -> records or errors, never a panic.
//! Run with `cargo +nightly fuzz run import_xlsx` from `fuzz/`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, rows)) = truce_exchange::read_xlsx(std::io::Cursor::new(data)) {
        for row in rows {
            if let Err(e) = row {
                assert!(e.line().is_some(), "{e}");
            }
        }
    }
});
