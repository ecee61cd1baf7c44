//! The tracing matcher on a labelled set of name pairs in several scripts
//! (`name_pairs.tsv`): precision and recall at the shipped threshold, with
//! minimums asserted so a change to the tables or the scoring that makes
//! matching worse fails here. Run with `--nocapture` to see the figures.

use truce_core::names::{MATCH_THRESHOLD, name_similarity};

const PAIRS: &str = include_str!("name_pairs.tsv");

/// Lowest precision accepted at [`MATCH_THRESHOLD`].
const MIN_PRECISION: f64 = 0.93;
/// Lowest recall accepted at [`MATCH_THRESHOLD`].
const MIN_RECALL: f64 = 0.95;

#[test]
fn precision_and_recall_on_labelled_pairs() {
    let mut rows = Vec::new();
    for (i, line) in PAIRS.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert!(cols.len() >= 3, "line {}: {line:?}", i + 1);
        let same = match cols[2] {
            "1" => true,
            "0" => false,
            other => panic!("line {}: label {other:?}", i + 1),
        };
        rows.push((cols[0], cols[1], same, name_similarity(cols[0], cols[1])));
    }
    let positives = rows.iter().filter(|r| r.2).count();
    let negatives = rows.len() - positives;
    assert!(rows.len() >= 100 && positives >= 40 && negatives >= 40);
    let tp = rows
        .iter()
        .filter(|r| r.2 && r.3 >= MATCH_THRESHOLD)
        .count();
    let fp = rows
        .iter()
        .filter(|r| !r.2 && r.3 >= MATCH_THRESHOLD)
        .count();
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / positives as f64;
    println!(
        "name matching at threshold {MATCH_THRESHOLD}: {} pairs ({positives} same, {negatives} different): \
         precision {precision:.3} ({tp} of {}), recall {recall:.3} ({tp} of {positives})",
        rows.len(),
        tp + fp
    );
    for (a, b, same, s) in &rows {
        if *same != (*s >= MATCH_THRESHOLD) {
            println!(
                "  {} {a} | {b}: {s:.3}",
                if *same { "missed" } else { "false match" }
            );
        }
    }
    assert!(precision >= MIN_PRECISION, "precision {precision:.3}");
    assert!(recall >= MIN_RECALL, "recall {recall:.3}");
}

#[test]
fn score_is_symmetric_and_bounded() {
    for line in PAIRS.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (a, b) = (
            name_similarity(cols[0], cols[1]),
            name_similarity(cols[1], cols[0]),
        );
        assert!((a - b).abs() < 1e-9, "{line}: {a} vs {b}");
        assert!((0.0..=1.0).contains(&a), "{line}: {a}");
        assert!(
            (name_similarity(cols[0], cols[0]) - 1.0).abs() < 1e-9,
            "{}",
            cols[0]
        );
    }
}
