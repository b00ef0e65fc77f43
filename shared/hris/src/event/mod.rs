//! Passage's own event formats and their strict parsing.
//!
//! Parsing is deliberately unforgiving: an unknown field is more likely a typo
//! (`last_workday`) than an extension, and a silently ignored typo means someone keeps access.
//! Every problem in a body is reported at once, each with its JSON Pointer, so an integrator
//! fixes the payload in one round trip.

mod fields;
pub mod leaver;
mod strict_json;
mod window;

pub use window::DateWindow;

use std::fmt;

use serde::Serialize;
use serde_json::Value;

use crate::{Classified, ErrorKind};

/// Largest event body accepted. Leaver events are well under 2 KiB; the limit bounds the work
/// an unauthenticated sender can cause. HTTP layers should enforce it before buffering, too.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What kind of problem a field has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A required field is absent.
    Missing,
    /// A field the format does not define.
    Unknown,
    /// A field that appears more than once in the same object.
    Duplicate,
    /// A field whose value has the wrong type or shape.
    Invalid,
}

impl ProblemKind {
    /// Stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Missing => "missing_field",
            Self::Unknown => "unknown_field",
            Self::Duplicate => "duplicate_field",
            Self::Invalid => "invalid_field",
        }
    }
}

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// JSON Pointer (RFC 6901) to the field, e.g. `/manager/email`; empty for the whole event.
    pub path: String,
    pub kind: ProblemKind,
    /// What is wrong, for a person.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(event)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

/// Why an event body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The body exceeds [`MAX_BODY_BYTES`].
    #[error("event body is {size} bytes; the limit is {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// The body is not JSON (or not UTF-8).
    #[error("event body is not valid JSON: {message}")]
    InvalidJson { message: String },
    /// JSON, but not a valid event; every problem found is listed.
    #[error("invalid event: {}", join(problems))]
    Invalid { problems: Vec<Problem> },
    /// A valid event whose date lies outside the accepted [`DateWindow`].
    #[error("event date outside the accepted window: {problem}")]
    OutOfWindow { problem: Problem },
}

fn join(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl EventError {
    /// The problems found (empty unless [`EventError::Invalid`]).
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid { problems } => problems,
            Self::OutOfWindow { problem } => std::slice::from_ref(problem),
            Self::TooLarge { .. } | Self::InvalidJson { .. } => &[],
        }
    }
}

impl Classified for EventError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::TooLarge { .. } => ErrorKind::TooLarge,
            Self::InvalidJson { .. } | Self::Invalid { .. } => ErrorKind::Malformed,
            Self::OutOfWindow { .. } => ErrorKind::Unprocessable,
        }
    }

    /// `payload_too_large`, `invalid_json`, or for field problems the problems' common code
    /// (`missing_field`, `unknown_field`, `duplicate_field`, `invalid_field`), or
    /// `invalid_event` when they are of several kinds; `invalid_date` for a date outside the
    /// window. Each problem also carries its own code in [`details`](Self::details).
    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "payload_too_large",
            Self::InvalidJson { .. } => "invalid_json",
            Self::OutOfWindow { .. } => "invalid_date",
            Self::Invalid { problems } => {
                let first = problems.first().map_or(ProblemKind::Invalid, |p| p.kind);
                if problems.iter().all(|p| p.kind == first) {
                    first.code()
                } else {
                    "invalid_event"
                }
            }
        }
    }

    /// Always listed (empty when the body was refused as a whole), so a client reads the same
    /// shape for every refused event.
    fn details(&self) -> Option<&[Problem]> {
        Some(self.problems())
    }
}

/// Size check, then JSON parsing that refuses duplicate member names (recorded as problems).
fn parse_body(body: &[u8]) -> Result<(Value, Vec<Problem>), EventError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(EventError::TooLarge {
            size: body.len(),
            limit: MAX_BODY_BYTES,
        });
    }
    let (value, duplicates) =
        strict_json::from_slice(body).map_err(|e| EventError::InvalidJson {
            message: e.to_string(),
        })?;
    let problems = duplicates
        .into_iter()
        .map(|path| Problem {
            path,
            kind: ProblemKind::Duplicate,
            message: "appears more than once; each field may be given only once".to_owned(),
        })
        .collect();
    Ok((value, problems))
}

/// Collects problems while a validator walks an object.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<Problem>);

impl Problems {
    pub(crate) fn push(
        &mut self,
        path: impl Into<String>,
        kind: ProblemKind,
        message: impl Into<String>,
    ) {
        self.0.push(Problem {
            path: path.into(),
            kind,
            message: message.into(),
        });
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_vec(self) -> Vec<Problem> {
        self.0
    }
}

/// `parent/name` as a JSON Pointer (RFC 6901 escapes `~` and `/`).
pub(crate) fn pointer(parent: &str, name: &str) -> String {
    format!("{parent}/{}", name.replace('~', "~0").replace('/', "~1"))
}
