//! RFC 9457 problem details: every error the API returns is one of these,
//! naming the offending field when there is one.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use truce_core::{FieldError, ValidationErrors};
use truce_store::StoreError;

/// A problem document (`application/problem+json`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short summary of the problem type.
    pub title: String,
    /// HTTP status code.
    pub status: u16,
    /// What went wrong this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The fields at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds to wait before retrying (429).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Problem {
    /// A problem with a status, a type slug and a detail message.
    pub fn new(status: StatusCode, slug: &str, detail: impl Into<String>) -> Self {
        Problem {
            type_: format!("https://truce.invalid/problems/{slug}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: Some(detail.into()),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// 422 naming every invalid field.
    pub fn invalid(errors: ValidationErrors) -> Self {
        let mut p = Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation",
            errors.to_string(),
        );
        p.title = "Invalid record".into();
        p.errors = errors.0;
        p
    }

    /// 422 for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Problem::invalid(ValidationErrors::one(field, message))
    }

    /// 400 for a body that is not JSON.
    pub fn bad_json(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        let mut p = Problem::new(StatusCode::BAD_REQUEST, "malformed-json", detail.clone());
        p.errors = vec![FieldError::new("body", detail)];
        p
    }

    /// 401.
    pub fn unauthenticated() -> Self {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in or send an API token",
        )
    }

    /// 403.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    /// 404; also what a record the caller may not see looks like.
    pub fn not_found(what: impl Into<String>) -> Self {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{} not found", what.into()),
        )
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry = self.retry_after;
        let mut res = (status, axum::Json(self)).into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = retry {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        res
    }
}

impl From<ValidationErrors> for Problem {
    fn from(e: ValidationErrors) -> Self {
        Problem::invalid(e)
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound(what) => Problem::not_found(what.clone()),
            StoreError::WrongKind { id, expected, .. } => {
                Problem::not_found(format!("{expected} {id}"))
            }
            StoreError::Stale { .. } => {
                let mut p = Problem::new(StatusCode::PRECONDITION_FAILED, "stale", e.to_string());
                p.errors = vec![FieldError::new("If-Match", e.to_string())];
                p
            }
            StoreError::Conflict(_) => {
                Problem::new(StatusCode::CONFLICT, "conflict", e.to_string())
            }
            StoreError::IdempotencyMismatch(_) => {
                let mut p = Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency-key-reused",
                    e.to_string(),
                );
                p.errors = vec![FieldError::new("Idempotency-Key", e.to_string())];
                p
            }
            StoreError::Closed => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            ),
            _ => {
                tracing::error!("store error: {e}");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the store failed; nothing was written",
                )
            }
        }
    }
}

/// The result type of handlers.
pub type ApiResult<T> = Result<T, Problem>;

/// A whole-number query parameter within `1..=max`, or `default` when absent:
/// the one rule for `limit`, `k` and similar counts, with its problem naming
/// the parameter.
pub fn count_param(
    params: &std::collections::HashMap<String, String>,
    name: &str,
    max: usize,
    default: usize,
) -> ApiResult<usize> {
    match params.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| Problem::field(name, format!("must be 1..{max}"))),
    }
}
