//! Why a module action (a land release, a convoy transition, a stock
//! movement) is refused: bad input, or a request that does not fit the
//! record's current state. Edges map the first to 422, the second to 409;
//! either way nothing is written.

use crate::error::ValidationErrors;

/// A refused module action.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The request itself is malformed or breaks a rule (HTTP 422), naming the field.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The request is well formed but conflicts with the record's state
    /// (HTTP 409): arriving a convoy never dispatched, releasing more land
    /// than a hazard area has, taking out more stock than there is.
    #[error("{0}")]
    Conflict(String),
}

impl Refusal {
    /// A 422 refusal for one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Refusal {
        Refusal::Invalid(ValidationErrors::one(field, message))
    }

    /// A 409 refusal.
    pub fn conflict(message: impl Into<String>) -> Refusal {
        Refusal::Conflict(message.into())
    }
}
