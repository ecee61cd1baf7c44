//! `cargo bench -p truce-intake`: precision, recall and F1 per category over
//! the hand-labelled corpus, and throughput in MB/s on one core.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use truce_intake::eval::{self, Scores};
use truce_intake::{Document, Extractor, Format, RuleExtractor};

/// Scores of the extractor over a labelled set.
fn score_all(ex: &RuleExtractor, docs: &[common::CorpusDoc]) -> Scores {
    let mut scores = Scores::default();
    for d in docs {
        let doc = Document {
            text: &d.text,
            format: eval::format_of(&d.name),
            published: d.expected.published,
        };
        scores.merge(eval::score(&d.name, &ex.extract(&doc), &d.expected));
    }
    scores
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` runs with no arguments: keep that quick.
    let full = std::env::args().any(|a| a == "--bench");
    let ex = RuleExtractor::default();
    let docs = common::load();

    for (title, set) in [
        ("Corpus (development set)", &docs),
        ("Held-out set", &common::load_heldout()),
    ] {
        let scores = score_all(&ex, set);
        println!("## {title}: {} documents\n", set.len());
        println!("{}", scores.table());
        let (agree, matched) = scores.qualifier_agree;
        println!("qualifier agreement on matched quantities: {agree}/{matched}\n");
    }

    // Warm the tables (parsed once per process) before timing.
    let _ = ex.extract(&Document::plain("Goris"));
    let target: usize = if full { 64 << 20 } else { 1 << 20 };
    for format in [Format::Plain, Format::Html] {
        let set: Vec<&str> = docs
            .iter()
            .filter(|d| eval::format_of(&d.name) == format)
            .map(|d| d.text.as_str())
            .collect();
        let mut bytes = 0usize;
        let mut facts = 0usize;
        let started = Instant::now();
        while bytes < target {
            for text in &set {
                let doc = Document {
                    text,
                    format,
                    published: jiff::civil::Date::new(2022, 3, 10).ok(),
                };
                facts += ex.extract(&doc).len();
                bytes += text.len();
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "throughput {format:?}: {:.1} MB/s ({} MB in {secs:.2} s, {} facts, one thread)",
            bytes as f64 / 1e6 / secs,
            bytes / 1_000_000,
            facts
        );
    }
    // One large document: all plain texts joined, 8 MB.
    let mut big = String::new();
    while big.len() < (if full { 8 << 20 } else { 1 << 20 }) {
        for d in docs.iter().filter(|d| d.name.ends_with(".txt")) {
            big.push_str(&d.text);
            big.push_str("\n\n");
        }
    }
    let started = Instant::now();
    let n = ex.extract(&Document::plain(&big)).len();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "throughput one {:.1} MB document: {:.1} MB/s ({n} facts)",
        big.len() as f64 / 1e6,
        big.len() as f64 / 1e6 / secs
    );
}
