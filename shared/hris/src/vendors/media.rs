//! The content types each sender documents for its webhooks.
//!
//! A delivery in any other type is refused before it is read further: a body labelled
//! `text/plain` that happens to parse as JSON is not what the sender meant to send, and taking
//! it would let a form post from a web page (which a browser may send cross-site without asking)
//! reach a route that acts on JSON. BambooHR's webhooks may be configured to post form data, and
//! Rippling's partner webhooks post form fields; every other sender posts JSON.

use super::Vendor;
use crate::{Classified, ErrorKind};
use std::fmt;

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

impl Vendor {
    /// The media types this sender's webhooks come in (parameters such as `charset` aside).
    pub fn media_types(self) -> &'static [&'static str] {
        match self {
            Self::BambooHr | Self::Rippling => &[JSON, FORM],
            Self::StandardWebhooks
            | Self::HiBob
            | Self::Gusto
            | Self::Merge
            | Self::Finch
            | Self::Personio => &[JSON],
        }
    }

    /// Accepts a `Content-Type` header value if its media type is one of
    /// [`media_types`](Self::media_types), compared without case and without parameters.
    pub fn check_media_type(self, content_type: Option<&str>) -> Result<(), UnsupportedMediaType> {
        let essence = content_type
            .and_then(|v| v.split(';').next())
            .map(str::trim)
            .unwrap_or_default();
        if self
            .media_types()
            .iter()
            .any(|t| t.eq_ignore_ascii_case(essence))
        {
            return Ok(());
        }
        Err(UnsupportedMediaType {
            vendor: self,
            // Kept short: it is echoed in the refusal.
            given: content_type.map(|v| v.chars().take(100).collect()),
        })
    }
}

/// A delivery in a content type its sender does not use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsupportedMediaType {
    pub vendor: Vendor,
    /// The `Content-Type` given, if any (at most 100 characters).
    pub given: Option<String>,
}

impl std::error::Error for UnsupportedMediaType {}

impl fmt::Display for UnsupportedMediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} webhooks are sent as {}; this one ",
            who(self.vendor),
            self.vendor.media_types().join(" or ")
        )?;
        match &self.given {
            Some(t) => write!(f, "was sent as {t:?}"),
            None => f.write_str("had no Content-Type"),
        }
    }
}

fn who(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::StandardWebhooks => "Passage leaver",
        other => other.as_str(),
    }
}

impl Classified for UnsupportedMediaType {
    fn kind(&self) -> ErrorKind {
        ErrorKind::UnsupportedMediaType
    }

    fn code(&self) -> &'static str {
        "unsupported_media_type"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_senders_take_json_with_any_parameters_and_nothing_else() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            " application/json ;charset=UTF-8",
        ] {
            assert_eq!(Vendor::StandardWebhooks.check_media_type(Some(ok)), Ok(()));
            assert_eq!(Vendor::HiBob.check_media_type(Some(ok)), Ok(()));
        }
        for bad in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/jsonx"),
            Some("multipart/form-data; boundary=x"),
            Some(""),
            None,
        ] {
            let err = Vendor::StandardWebhooks.check_media_type(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsupportedMediaType);
            assert_eq!(err.code(), "unsupported_media_type");
            assert!(err.to_string().contains("application/json"), "{err}");
        }
    }

    #[test]
    fn form_posting_vendors_take_forms_too() {
        for vendor in [Vendor::BambooHr, Vendor::Rippling] {
            assert_eq!(vendor.check_media_type(Some(FORM)), Ok(()));
            assert_eq!(vendor.check_media_type(Some(JSON)), Ok(()));
            assert!(vendor.check_media_type(Some("text/plain")).is_err());
        }
        for vendor in [
            Vendor::HiBob,
            Vendor::Gusto,
            Vendor::Merge,
            Vendor::Finch,
            Vendor::Personio,
        ] {
            assert!(vendor.check_media_type(Some(FORM)).is_err(), "{vendor}");
        }
    }

    #[test]
    fn the_refusal_names_what_was_sent_and_what_is_taken() {
        let err = Vendor::BambooHr
            .check_media_type(Some("text/plain"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "bamboohr webhooks are sent as application/json or \
             application/x-www-form-urlencoded; this one was sent as \"text/plain\""
        );
        let err = Vendor::StandardWebhooks.check_media_type(None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Passage leaver webhooks are sent as application/json; this one had no Content-Type"
        );
    }
}
