//! What a vendor's webhook says happened, reduced to what intake acts on.

use serde::Serialize;

use super::Vendor;
use crate::{Classified, ErrorKind};

/// What intake should do with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HintKind {
    /// The vendor says the person is leaving or has left (or the record is gone). Re-read the
    /// employee and schedule the cut-off from the authoritative termination date.
    Termination,
    /// The vendor withdrew a termination it announced earlier. Re-read the employee and cancel
    /// a scheduled cut-off if the record confirms it.
    Rescinded,
    /// Something about the employee changed; only the re-read record says whether it matters
    /// (e.g. a termination date entered through a generic update).
    Changed,
    /// Nothing for offboarding: tests, pings, new hires, other objects, unknown events.
    Ignored,
}

/// What a vendor's webhook hints at. Holds no secret material and no personal data beyond the
/// vendor's opaque employee id, so it may be recorded as is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hint {
    pub vendor: Vendor,
    /// The vendor's own event name, e.g. `employee.left` or `Employee.changed`.
    pub event_type: String,
    /// The id to look the employee up by in the vendor's API (Merge: the Merge `id` that
    /// `GET /hris/v1/employees/{id}` takes, not the upstream `remote_id`). `None` when the
    /// payload names no single employee; intake then reconciles instead.
    pub employee_id: Option<String>,
    pub kind: HintKind,
    /// When the vendor says the event happened, as the vendor wrote it (Gusto's Unix seconds
    /// are rendered as RFC 3339). Not a termination date.
    pub occurred_at: Option<String>,
}

/// Why a payload yielded no hint. Messages name the field and problem, never the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HintError {
    /// Larger than any payload these vendors send.
    #[error("{vendor} payload is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        vendor: Vendor,
        size: usize,
        limit: usize,
    },
    /// Not JSON (or not form-encoded, where the vendor uses forms).
    #[error("{vendor} payload is not valid {format}: {message}")]
    Unreadable {
        vendor: Vendor,
        format: &'static str,
        message: String,
    },
    /// The event name is absent, so nothing can be said about the event.
    #[error("{vendor} payload has no `{field}`; cannot tell which event this is")]
    MissingField { vendor: Vendor, field: &'static str },
    /// A field is present with the wrong type or shape.
    #[error("{vendor} payload field `{field}` is invalid: {reason}")]
    InvalidField {
        vendor: Vendor,
        field: &'static str,
        reason: String,
    },
    /// Standard Webhooks deliveries carry `passage.leaver.v1`, parsed by the event module.
    #[error(
        "standard-webhooks deliveries carry Passage's own passage.leaver.v1 event; parse them with LeaverEvent, not as a vendor hint"
    )]
    NotAVendorPayload,
}

impl Classified for HintError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::TooLarge { .. } => ErrorKind::TooLarge,
            Self::Unreadable { .. }
            | Self::MissingField { .. }
            | Self::InvalidField { .. }
            | Self::NotAVendorPayload => ErrorKind::Malformed,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "payload_too_large",
            Self::Unreadable { .. } => "invalid_payload",
            Self::MissingField { .. } => "missing_field",
            Self::InvalidField { .. } => "invalid_field",
            Self::NotAVendorPayload => "not_a_vendor_payload",
        }
    }
}
