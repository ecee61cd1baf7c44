//! Incidents read straight from the store's canonical JSON, for exports.
//!
//! The generic path (`Envelope` -> `to_wire` -> [`crate::flatten`]) builds
//! a `serde_json::Value` tree per record and copies it twice; at millions
//! of rows that copying is the whole cost of an export. Here a record
//! stays the text the store holds (`data`, canonical JSON: sorted keys, no
//! whitespace, written by serde_json) and each cell is a slice of it: a
//! small scanner steps over the record by its quotes and brackets, keys
//! are matched against the columns as it meets them, and only what the
//! generic path would write differently is rewritten (an escaped string
//! unescaped, a float serde_json would print otherwise reformatted after
//! the same parse, a nested value serialised again), in buffers reused
//! from row to row.
//!
//! The bytes are those of the generic path, by construction: numbers are
//! kept as they are only when serde_json would print them so (plain
//! integers, short decimals), others go through its parser and its
//! formatting exactly as a `Value` would, and any record the scanner does
//! not accept (whitespace, a key with an escape, a group of an unexpected
//! shape) goes through the generic path. The property tests in
//! `tests/props.rs` compare both on random incidents.

use std::fmt::Write as _;
use std::sync::LazyLock;

use serde_json::Value;
use truce_core::Sensitivity;

use crate::columns::{COLUMNS, index_of};
use crate::shape::Cells;

/// One stored incident as the store holds it: what an export reads.
#[derive(Debug, Clone, Copy)]
pub struct StoredRecord<'a> {
    /// The record's id (a hyphenated UUID, as stored).
    pub id: &'a str,
    /// Who may read it.
    pub sensitivity: Sensitivity,
    /// The record's canonical JSON.
    pub data: &'a str,
}

impl StoredRecord<'_> {
    /// The record's wire JSON as far as exports read it (its fields, `id`
    /// and `sensitivity`): the generic path, for what the fast decoder
    /// does not take.
    pub fn to_wire(&self) -> Result<Value, serde_json::Error> {
        let mut v: Value = serde_json::from_str(self.data)?;
        if let Value::Object(m) = &mut v {
            m.insert("id".into(), Value::String(self.id.to_string()));
            m.insert(
                "sensitivity".into(),
                Value::String(self.sensitivity.as_str().into()),
            );
        } else {
            v = serde_json::json!({"id": self.id, "sensitivity": self.sensitivity.as_str()});
        }
        Ok(v)
    }
}

/// Where a cell's text is: nowhere, in the record's JSON, or in the
/// decoder's scratch buffer.
#[derive(Debug, Clone, Copy, Default)]
enum Span {
    #[default]
    Empty,
    Data(usize, usize),
    Scratch(usize, usize),
    /// The record's id (the `id` column).
    Id,
    /// The record's sensitivity (the `sensitivity` column).
    Sensitivity,
}

/// What a key of the record (or of one of its objects) feeds.
#[derive(Debug, Clone)]
enum Slot {
    /// The column of that position.
    Leaf(usize),
    /// An object whose keys are columns (`location` -> `location.lat`).
    Group(Vec<(&'static str, usize)>),
}

/// The record's top-level keys that are columns or hold columns, sorted
/// (canonical JSON's key order), so a row's keys are matched by a merge.
static TOP: LazyLock<Vec<(&'static str, Slot)>> = LazyLock::new(|| {
    let mut top: Vec<(&'static str, Slot)> = Vec::new();
    for (i, c) in COLUMNS.iter().enumerate() {
        match c.name.split_once('.') {
            None => top.push((c.name, Slot::Leaf(i))),
            Some((group, key)) => {
                assert!(!key.contains('.'), "columns nest one level: {}", c.name);
                match top.iter_mut().find(|(g, _)| *g == group) {
                    Some((_, Slot::Group(keys))) => keys.push((key, i)),
                    Some(_) => panic!("{group} is both a column and an object"),
                    None => top.push((group, Slot::Group(vec![(key, i)]))),
                }
            }
        }
    }
    top.sort_by(|a, b| a.0.cmp(b.0));
    for (_, s) in &mut top {
        if let Slot::Group(keys) = s {
            keys.sort_by(|a, b| a.0.cmp(b.0));
        }
    }
    top
});

static ID: LazyLock<usize> = LazyLock::new(|| index_of("id").expect("id column"));
static SENSITIVITY: LazyLock<usize> =
    LazyLock::new(|| index_of("sensitivity").expect("sensitivity column"));

/// Finds `key` in a sorted table, starting where the previous key was
/// found (keys come sorted, so this is one or two comparisons), else
/// anywhere.
fn find<T>(table: &[(&'static str, T)], from: &mut usize, key: &str) -> Option<usize> {
    if table.get(*from).is_some_and(|(k, _)| *k == key) {
        *from += 1;
        return Some(*from - 1);
    }
    let mut i = *from;
    while i < table.len() && table[i].0 < key {
        i += 1;
    }
    let hit = if i < table.len() && table[i].0 == key {
        Some(i)
    } else {
        table.binary_search_by(|(k, _)| (*k).cmp(key)).ok()
    };
    if let Some(h) = hit {
        *from = h + 1;
    }
    hit
}

/// Why a record goes the generic way.
#[derive(Debug)]
struct NotFast;

/// Decodes stored incidents into cells, reusing its buffers.
#[derive(Debug, Default)]
pub struct CellDecoder {
    spans: Vec<Span>,
    scratch: String,
}

/// One decoded record: its cells, borrowed from the record and the decoder.
pub struct DecodedRow<'a> {
    record: StoredRecord<'a>,
    spans: &'a [Span],
    scratch: &'a str,
}

impl Cells for DecodedRow<'_> {
    fn cell(&self, i: usize) -> &str {
        match self.spans[i] {
            Span::Empty => "",
            Span::Data(a, b) => &self.record.data[a..b],
            Span::Scratch(a, b) => &self.scratch[a..b],
            Span::Id => self.record.id,
            Span::Sensitivity => self.record.sensitivity.as_str(),
        }
    }
}

impl CellDecoder {
    /// A decoder with empty buffers.
    pub fn new() -> CellDecoder {
        CellDecoder::default()
    }

    /// The cells of `record`, or `None` when it must go the generic way
    /// ([`StoredRecord::to_wire`] and [`crate::flatten`]).
    pub fn decode<'a>(&'a mut self, record: StoredRecord<'a>) -> Option<DecodedRow<'a>> {
        self.spans.clear();
        self.spans.resize(COLUMNS.len(), Span::Empty);
        self.scratch.clear();
        let mut fill = Fill {
            base: record.data.as_ptr() as usize,
            spans: &mut self.spans,
            scratch: &mut self.scratch,
        };
        let mut scan = Scan {
            s: record.data,
            b: record.data.as_bytes(),
            i: 0,
        };
        scan.record(&mut fill).ok()?;
        // The envelope's, whatever the data holds (as `to_wire` does).
        self.spans[*ID] = Span::Id;
        self.spans[*SENSITIVITY] = Span::Sensitivity;
        Some(DecodedRow {
            record,
            spans: &self.spans,
            scratch: &self.scratch,
        })
    }
}

/// Where decoded cells go.
struct Fill<'f> {
    base: usize,
    spans: &'f mut [Span],
    scratch: &'f mut String,
}

impl Fill<'_> {
    /// The cell text of one value, as `crate::columns::flatten` writes it:
    /// null is empty, a string its text, anything else its compact JSON
    /// after a serde_json round trip.
    fn set(&mut self, col: usize, text: &str) -> Result<(), NotFast> {
        let start = text.as_ptr() as usize - self.base;
        let end = start + text.len();
        let bytes = text.as_bytes();
        self.spans[col] = match bytes.first() {
            Some(b'n') => Span::Empty,
            Some(b'"') if !bytes.contains(&b'\\') => Span::Data(start + 1, end - 1),
            Some(b'"') => {
                let s: String = serde_json::from_str(text).map_err(|_| NotFast)?;
                self.scratched(|out| out.push_str(&s))
            }
            Some(b't' | b'f') => Span::Data(start, end),
            Some(b'-' | b'0'..=b'9') if plain_integer(bytes) || short_decimal(bytes) => {
                Span::Data(start, end)
            }
            Some(b'-' | b'0'..=b'9') => {
                let n: serde_json::Number = serde_json::from_str(text).map_err(|_| NotFast)?;
                self.scratched(|out| {
                    let _ = write!(out, "{n}");
                })
            }
            _ => {
                let v: Value = serde_json::from_str(text).map_err(|_| NotFast)?;
                self.scratched(|out| {
                    let _ = write!(out, "{v}");
                })
            }
        };
        Ok(())
    }

    fn scratched(&mut self, f: impl FnOnce(&mut String)) -> Span {
        let a = self.scratch.len();
        f(self.scratch);
        Span::Scratch(a, self.scratch.len())
    }
}

/// An integer serde_json writes back as it is: no sign but a minus before
/// a non-zero digit, no leading zero, few enough digits for an `i64`
/// (`-0` becomes a float, larger ones too).
pub(crate) fn plain_integer(b: &[u8]) -> bool {
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    !digits.is_empty()
        && digits.len() <= 18
        && digits.iter().all(u8::is_ascii_digit)
        && (digits[0] != b'0' || (digits.len() == 1 && b.len() == 1))
}

/// A decimal float serde_json writes back as it is: `-`, an integer part
/// of at most 15 digits without a leading zero (or `0` before a non-zero
/// first decimal), a point and decimals without a trailing zero (but
/// `.0`), at most 15 significant digits in all. Such a decimal is the
/// shortest text of the one double it parses to (exactly, with
/// `float_roundtrip`), and serde_json writes doubles of that size in that
/// notation, so the parse and the formatting would give these bytes back.
fn short_decimal(b: &[u8]) -> bool {
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let Some(point) = digits.iter().position(|&c| c == b'.') else {
        return false;
    };
    let (int, frac) = (&digits[..point], &digits[point + 1..]);
    let all_digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    if !all_digits(int) || !all_digits(frac) || int.len() > 15 {
        return false;
    }
    let significant = if int == b"0" {
        if frac[0] == b'0' {
            return false;
        }
        frac.len()
    } else if int[0] == b'0' {
        return false;
    } else if frac == b"0" {
        int.len()
    } else {
        int.len() + frac.len()
    };
    let tidy = frac == b"0" || frac.last() != Some(&b'0');
    tidy && significant <= 15
}

/// The top-level entries of a record's JSON as the store writes it, as
/// `(key start, key end, value start, value end)` into `data`; false (and
/// `out` unspecified) unless it is one object with unescaped keys in
/// strictly increasing order and nothing after it. Values are stepped over
/// by their brackets and quotes, not checked: the store wrote them.
pub(crate) fn top_entries(data: &str, out: &mut Vec<(usize, usize, usize, usize)>) -> bool {
    out.clear();
    let mut scan = Scan {
        s: data,
        b: data.as_bytes(),
        i: 0,
    };
    let mut prev: Option<&str> = None;
    let base = data.as_ptr() as usize;
    let whole = scan.object(|scan, key| {
        if prev.is_some_and(|p| p >= key) {
            return Err(NotFast);
        }
        prev = Some(key);
        let k = key.as_ptr() as usize - base;
        let (a, b) = scan.value()?;
        out.push((k, k + key.len(), a, b));
        Ok(())
    });
    whole.is_ok() && scan.i == scan.b.len()
}

/// A cursor over a record's JSON as the store writes it (canonical: no
/// whitespace, keys sorted and unescaped). Anything else is [`NotFast`]
/// and goes the generic way. Values that are not cells are skipped by
/// their brackets and quotes, not checked: the store wrote them.
struct Scan<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), NotFast> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            Err(NotFast)
        }
    }

    /// The whole record: one object, then nothing.
    fn record(&mut self, fill: &mut Fill<'_>) -> Result<(), NotFast> {
        let top = &*TOP;
        let mut at = 0;
        self.object(
            |scan, key| match find(top, &mut at, key).map(|i| &top[i].1) {
                Some(Slot::Leaf(col)) => {
                    let (a, b) = scan.value()?;
                    fill.set(*col, scan.text(a, b))
                }
                Some(Slot::Group(keys)) => scan.group(keys, fill),
                None => scan.value().map(drop),
            },
        )?;
        if self.i == self.b.len() {
            Ok(())
        } else {
            Err(NotFast)
        }
    }

    /// One nested object of a record (`location`, `deaths`, ...): its keys
    /// that are columns. Null leaves its columns empty; any other
    /// non-object value goes the generic way.
    fn group(
        &mut self,
        keys: &[(&'static str, usize)],
        fill: &mut Fill<'_>,
    ) -> Result<(), NotFast> {
        if self.b[self.i..].starts_with(b"null") {
            self.i += 4;
            return Ok(());
        }
        let mut at = 0;
        self.object(|scan, key| match find(keys, &mut at, key) {
            Some(i) => {
                let (a, b) = scan.value()?;
                fill.set(keys[i].1, scan.text(a, b))
            }
            None => scan.value().map(drop),
        })
    }

    /// An object, each key handed to `entry` with the cursor on its value.
    fn object(
        &mut self,
        mut entry: impl FnMut(&mut Self, &'a str) -> Result<(), NotFast>,
    ) -> Result<(), NotFast> {
        self.expect(b'{')?;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            let (a, b) = self.key()?;
            self.expect(b':')?;
            let key = self.text(a, b);
            entry(self, key)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(NotFast),
            }
        }
    }

    /// The text between `a` and `b`, which the scanner found at character
    /// boundaries (quotes, brackets, punctuation are ASCII).
    fn text(&self, a: usize, b: usize) -> &'a str {
        &self.s[a..b]
    }

    /// A key without escapes: the span of its characters.
    fn key(&mut self) -> Result<(usize, usize), NotFast> {
        self.expect(b'"')?;
        let a = self.i;
        let n = memchr::memchr2(b'"', b'\\', &self.b[a..]).ok_or(NotFast)?;
        if self.b[a + n] != b'"' {
            return Err(NotFast);
        }
        self.i = a + n + 1;
        Ok((a, a + n))
    }

    /// Steps over one value: the span of its text.
    fn value(&mut self) -> Result<(usize, usize), NotFast> {
        let a = self.i;
        match self.peek().ok_or(NotFast)? {
            b'"' => self.string()?,
            b'{' | b'[' => self.nested()?,
            b'n' | b't' | b'f' | b'-' | b'0'..=b'9' => {
                while matches!(
                    self.peek(),
                    Some(b'a'..=b'z' | b'0'..=b'9' | b'-' | b'+' | b'.' | b'E')
                ) {
                    self.i += 1;
                }
            }
            _ => return Err(NotFast),
        }
        Ok((a, self.i))
    }

    /// Steps over a string, escapes included.
    fn string(&mut self) -> Result<(), NotFast> {
        self.i += 1;
        loop {
            let n = memchr::memchr2(b'"', b'\\', &self.b[self.i..]).ok_or(NotFast)?;
            self.i += n;
            if self.b[self.i] == b'"' {
                self.i += 1;
                return Ok(());
            }
            self.i += 2;
            if self.i > self.b.len() {
                return Err(NotFast);
            }
        }
    }

    /// Steps over an object or array, by its brackets.
    fn nested(&mut self) -> Result<(), NotFast> {
        let mut depth = 0usize;
        loop {
            match self.peek().ok_or(NotFast)? {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::flatten;
    use proptest::prelude::*;
    use serde_json::json;

    /// What the generic path writes for a number's text.
    fn rewritten(text: &str) -> String {
        serde_json::from_str::<serde_json::Number>(text)
            .unwrap()
            .to_string()
    }

    proptest! {
        /// Every decimal `short_decimal` takes as it is, serde_json writes
        /// back as it is; and the doubles serde_json writes with at most
        /// 15 significant digits are taken.
        #[test]
        fn short_decimals_are_written_back_as_they_are(
            text in "-?(0|[1-9][0-9]{0,16})\\.[0-9]{1,17}",
            x in -1.0e15f64..1.0e15,
            digits in 1usize..=15,
        ) {
            if short_decimal(text.as_bytes()) {
                prop_assert_eq!(rewritten(&text), text);
            }
            let written = format!("{:.*e}", digits - 1, x).parse::<f64>().unwrap();
            let text = serde_json::to_string(&written).unwrap();
            if text.contains('.') && !text.contains('e') && written.abs() >= 0.1 && written.abs() < 1e15 {
                prop_assert!(short_decimal(text.as_bytes()), "{}", text);
            }
        }
    }

    #[test]
    fn short_decimals() {
        for ok in [
            "39.4908",
            "3403.0",
            "-46.35732",
            "0.5",
            "100000000000000.0",
            "0.1",
        ] {
            assert!(short_decimal(ok.as_bytes()), "{ok}");
            assert_eq!(rewritten(ok), ok);
        }
        for no in [
            "1.50",
            "0.05",
            "00.5",
            "1e5",
            "1.5e3",
            "12",
            "1.",
            ".5",
            "1234567890123456.0",
            "0.30000000000000004",
            "1.0000000000000001",
        ] {
            assert!(!short_decimal(no.as_bytes()), "{no}");
        }
    }

    /// A canonical incident is decoded by the fast path (not handed to the
    /// generic one), into the cells `flatten` gives.
    #[test]
    fn canonical_incidents_take_the_fast_path() {
        let data = json!({
            "occurred_at": "2026-11-20T10:00:00Z", "event_type": "battles",
            "sub_event_type": "armed_clash", "location": {"lat": 39.5, "lon": 46.25},
            "notes": "a \"quoted\"\nline", "fatalities": 3, "actor1": null,
            "deaths": {"side_a": 1, "side_b": 2, "civilians": 0, "unknown": 0, "low": null, "high": 4},
            "ceasefire_violation": {"kind": "burst", "direction_deg": 271.5, "count": 12},
            "sources": [{"document": "0192e0a0-0000-7000-8000-00000000000d", "start": 1, "end": 4, "text": "x"}],
        });
        let text = truce_core::journal::canonical_json(&data);
        let record = StoredRecord {
            id: "0192e0a0-0000-7000-8000-000000000001",
            sensitivity: Sensitivity::Mission,
            data: &text,
        };
        let expected = flatten(&record.to_wire().unwrap());
        let mut d = CellDecoder::new();
        let row = d
            .decode(record)
            .expect("the fast path takes canonical JSON");
        for (i, c) in COLUMNS.iter().enumerate() {
            assert_eq!(row.cell(i), expected.0[i], "{}", c.name);
        }
        assert_eq!(row.cell(index_of("location.lat").unwrap()), "39.5");
        assert_eq!(row.cell(index_of("sensitivity").unwrap()), "mission");
        // Not an object, or a group that is neither object nor null: the
        // generic path.
        let odd = StoredRecord {
            data: r#"{"deaths":"none"}"#,
            ..record
        };
        assert!(d.decode(odd).is_none());
    }
}
