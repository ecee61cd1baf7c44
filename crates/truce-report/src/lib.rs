//! Truce bulletins: every figure computed from the record, never typed;
//! rendered to JSON, Markdown, self-contained HTML and PDF; signed with the
//! mission's Ed25519 key; and recomputable by anyone holding the journal.
//!
//! A bulletin names the journal head it was computed from. Verification
//! checks the signature against the mission key, re-renders the file from
//! the signed content (so one changed byte fails), and, given the journal,
//! replays it up to that head and recomputes every figure.
#![forbid(unsafe_code)]

mod compute;
mod modules;
mod pdf;
mod render;
mod sections;
mod sign;
mod svg;

pub use compute::{Period, compute, recompute_and_compare};
pub use render::{Format, extract_signed, render};
pub use sections::{Figure, MapFigure, Section, SectionData, Table, sections};
pub use sign::{MissionKey, SignedBulletin, verify_signature};

use serde::{Deserialize, Serialize};

/// Why a bulletin could not be made or verified.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] truce_store::StoreError),
    /// A request was impossible (e.g. `to` before `from`).
    #[error("{0}")]
    Invalid(String),
    /// Signature, file or recomputation did not match.
    #[error("{0}")]
    Mismatch(String),
    /// PDF typesetting failed.
    #[error("pdf: {0}")]
    Pdf(String),
    /// Files.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Which journal state a bulletin reflects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalRef {
    /// Sequence of the newest entry included.
    pub seq: u64,
    /// Its hash, hex.
    pub hash: String,
}

/// A bulletin's content: what is signed. Deterministic for a given journal
/// head and period: it carries no generation time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bulletin {
    /// Format version of this structure.
    pub format: u32,
    /// Mission name.
    pub mission: String,
    /// Notice shown with the data (e.g. illustrative scenario).
    pub notice: Option<String>,
    /// The period reported on (UTC days, inclusive).
    pub period: Period,
    /// The period before, of the same length, for comparison.
    pub previous: Period,
    /// The journal head the figures were computed from.
    pub journal: JournalRef,
    /// The sections, in order.
    pub sections: Vec<SectionData>,
}
