//! Loads the hand-labelled corpus (shared by the corpus test and the benchmark).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use truce_intake::eval::Expected;

/// One corpus document: file name, contents, expectations.
pub struct CorpusDoc {
    pub name: String,
    pub text: String,
    pub expected: Expected,
}

pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus")
}

/// The development corpus: the texts the rules were tuned on.
pub fn load() -> Vec<CorpusDoc> {
    load_from(&corpus_dir())
}

/// The held-out set: texts labelled before the extractor saw them, never
/// used to tune it (see `corpus-heldout/README.md`).
pub fn load_heldout() -> Vec<CorpusDoc> {
    load_from(&Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus-heldout"))
}

/// Every `NN-name.txt|html` of `dir` with its `NN-name.expected.json`, by name.
pub fn load_from(dir: &Path) -> Vec<CorpusDoc> {
    let mut docs = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if !(name.ends_with(".txt") || name.ends_with(".html")) {
            continue;
        }
        let stem = name.rsplit_once('.').unwrap().0;
        let exp_path = p.with_file_name(format!("{stem}.expected.json"));
        let expected =
            Expected::from_json(&std::fs::read_to_string(&exp_path).expect("expected file"))
                .unwrap_or_else(|e| panic!("{}: {e}", exp_path.display()));
        docs.push(CorpusDoc {
            text: std::fs::read_to_string(&p).expect("corpus text"),
            name,
            expected,
        });
    }
    docs
}
