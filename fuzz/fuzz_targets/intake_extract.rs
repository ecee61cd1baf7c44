//! Any bytes -> no panic; every span inside the input, on char boundaries.
//! Run with `cargo +nightly fuzz run intake_extract` from `fuzz/`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use truce_intake::{Document, Extractor, Format, RuleExtractor};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let ex = RuleExtractor::default();
    for format in [Format::Plain, Format::Html] {
        let doc = Document {
            text: &text,
            format,
            published: jiff_date(data),
        };
        for f in ex.extract(&doc) {
            assert!(f.start <= f.end && f.end <= text.len());
            assert!(text.is_char_boundary(f.start) && text.is_char_boundary(f.end));
            if format == Format::Plain {
                assert_eq!(&text[f.start..f.end], f.text);
            }
        }
    }
});

/// A publication date from the first bytes, sometimes none.
fn jiff_date(data: &[u8]) -> Option<truce_intake::Date> {
    let d = *data.first()?;
    truce_intake::Date::new(2000 + i16::from(d % 40), 1 + (d % 12) as i8, 1 + (d % 28) as i8).ok()
}
