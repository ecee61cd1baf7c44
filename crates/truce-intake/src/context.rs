//! Which date, place and actor a fact goes with: those named in the same
//! sentence, nearest first. Review and duplicate detection need them ("120
//! tonnes" delivered where, on which day, for whom), and the extractor
//! reports each fact on its own.

use crate::{Fact, FactData};

/// The date, place and actor facts of the sentence a fact is in, as
/// indexes into the fact list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Context {
    /// The nearest date fact in the same sentence.
    pub date: Option<usize>,
    /// The nearest place fact in the same sentence.
    pub place: Option<usize>,
    /// The nearest actor fact in the same sentence.
    pub actor: Option<usize>,
}

/// Whether a sentence ends between byte offsets `a` and `b` of `text`: a
/// full stop, question or exclamation mark followed by white space, a blank
/// line, or the end of an HTML paragraph, list item or heading.
fn boundary_between(text: &str, a: usize, b: usize) -> bool {
    let (a, b) = if a <= b { (a, b) } else { (b, a) };
    let Some(s) = text.get(a..b) else {
        return true;
    };
    let bytes = s.as_bytes();
    for (i, &c) in bytes.iter().enumerate() {
        let next = bytes.get(i + 1).copied();
        if matches!(c, b'.' | b'!' | b'?') && next.is_some_and(|n| n.is_ascii_whitespace()) {
            // "12 Jan. 2024", "St. Mary": a single capital or short
            // abbreviation before the stop is not a sentence end.
            let word: Vec<u8> = bytes[..i]
                .iter()
                .rev()
                .take_while(|b| b.is_ascii_alphabetic())
                .copied()
                .collect();
            if word.len() > 3 || word.is_empty() {
                return true;
            }
        }
        if c == b'\n' && next == Some(b'\n') {
            return true;
        }
    }
    let lower = s.to_ascii_lowercase();
    ["</p", "</li", "</h", "<br", "</div", "</td"]
        .iter()
        .any(|t| lower.contains(t))
}

/// For every fact, the date, place and actor of its sentence. `text` is the
/// document the spans point into (HTML as submitted, for HTML documents).
pub fn contexts(text: &str, facts: &[Fact]) -> Vec<Context> {
    let nearest = |i: usize, want: fn(&FactData) -> bool| -> Option<usize> {
        let f = &facts[i];
        facts
            .iter()
            .enumerate()
            .filter(|(j, g)| *j != i && want(&g.data))
            .filter(|(_, g)| {
                let (a, b) = if g.end <= f.start {
                    (g.end, f.start)
                } else if g.start >= f.end {
                    (f.end, g.start)
                } else {
                    (f.start, f.start)
                };
                !boundary_between(text, a, b)
            })
            .min_by_key(|(_, g)| {
                if g.end <= f.start {
                    f.start - g.end
                } else {
                    g.start.saturating_sub(f.end)
                }
            })
            .map(|(j, _)| j)
    };
    (0..facts.len())
        .map(|i| Context {
            date: nearest(i, |d| matches!(d, FactData::Date(_))),
            place: nearest(i, |d| matches!(d, FactData::Place(_))),
            actor: nearest(i, |d| matches!(d, FactData::Actor(_))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Document, extract};

    #[test]
    fn facts_take_the_date_and_place_of_their_sentence() {
        let text = "A convoy delivered 120 tonnes of flour to Khankendi on 12 March 2024. \
                    Talks were held in Lachin. Two rounds of talks ended.";
        let facts = extract(&Document::plain(text));
        let ctx = contexts(text, &facts);
        let q = facts
            .iter()
            .position(|f| matches!(&f.data, FactData::Quantity(q) if q.value == 120.0))
            .expect("quantity");
        let place = ctx[q].place.map(|j| &facts[j].text);
        assert_eq!(place.map(String::as_str), Some("Khankendi"));
        assert!(ctx[q].date.is_some());
        let rounds = facts
            .iter()
            .position(|f| matches!(&f.data, FactData::Quantity(q) if q.value == 2.0))
            .expect("rounds");
        assert_eq!(ctx[rounds].place, None, "Lachin is in another sentence");
        assert_eq!(ctx[rounds].date, None);
    }

    #[test]
    fn html_paragraphs_are_sentences() {
        assert!(boundary_between("a</p><p>b", 0, 9));
        assert!(!boundary_between("in Jan. 2024 at", 0, 15));
        assert!(boundary_between("ended. Then", 0, 11));
    }
}
