//! The Truce domain core: the records a mission keeps, the rules that make a
//! record valid, who may see and change it, and the format of the journal that
//! proves nothing was silently altered.
//!
//! This crate knows nothing of HTTP, SQL or async: storage and server depend
//! on it, never the other way. Every validation rule lives here once.
#![forbid(unsafe_code)]

pub mod access;
pub mod agreements;
pub mod canonical;
pub mod error;
pub mod geometry;
pub mod incident;
pub mod intake;
pub mod journal;
pub mod logistics;
pub mod mine;
pub mod model;
pub mod names;
pub mod people;
pub mod record;
pub mod refusal;
pub mod shelter;
pub mod sites;
pub mod time;

pub use access::{Role, Sensitivity};
pub use error::{FieldError, ValidationErrors};
pub use record::{
    CanonicalRecord, EntityKind, Envelope, IndexFields, Record, ValidRecord, ValidationContext,
};
