//! The hand-labelled corpus: minimum precision and recall per fact kind.

mod common;

use truce_intake::eval::{self, Scores};
use truce_intake::{Document, Extractor, RuleExtractor};

fn run() -> Scores {
    let ex = RuleExtractor::default();
    let mut total = Scores::default();
    for d in common::load() {
        let doc = Document {
            text: &d.text,
            format: eval::format_of(&d.name),
            published: d.expected.published,
        };
        let facts = ex.extract(&doc);
        total.merge(eval::score(&d.name, &facts, &d.expected));
    }
    total
}

#[test]
fn corpus_has_at_least_thirty_documents() {
    assert!(common::load().len() >= 30);
}

/// The held-out set is scored by the benchmark only (no threshold here: a
/// test that had to pass on it would invite tuning on it); this checks
/// that every text has labels that parse.
#[test]
fn heldout_set_loads() {
    assert_eq!(common::load_heldout().len(), 10);
}

#[test]
fn corpus_precision_and_recall() {
    let s = run();
    println!("{}", s.table());
    for e in &s.errors {
        println!("{e}");
    }
    let q = s.get("quantity");
    let p = s.get("place");
    assert!(
        q.precision() >= 0.85 && q.recall() >= 0.85,
        "quantities {q:?}"
    );
    assert!(q.f1() >= 0.9, "quantity F1 {}", q.f1());
    assert!(p.precision() >= 0.9 && p.recall() >= 0.9, "places {p:?}");
    assert!(p.f1() >= 0.95, "place F1 {}", p.f1());
    assert!(s.get("date").f1() >= 0.8, "dates {:?}", s.get("date"));
    assert!(s.get("actor").f1() >= 0.8, "actors {:?}", s.get("actor"));
    assert!(s.get("event").f1() >= 0.6, "events {:?}", s.get("event"));
}
