//! Any bytes as a acled-shaped incident CSV -> records, or errors that name
//! a line; never a panic. (That valid records survive write -> read is the
//! property test in crates/truce-exchange/tests/props.rs.)
//! Run with `cargo +nightly fuzz run import_acled` from `fuzz/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_exchange::{Shape, read_csv};

fuzz_target!(|data: &[u8]| {
    let Ok(rows) = read_csv(Shape::Acled, data) else {
        return;
    };
    for row in rows {
        if let Err(e) = row {
            assert!(e.line().is_some(), "{e}");
        }
    }
});
