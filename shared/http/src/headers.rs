//! The webhook crates read headers through their own small trait, so they need no HTTP library;
//! this is axum's header map seen through it.

use axum::http::HeaderMap;
use passage_hris::HeaderLookup;

/// A request's headers as the verifiers read them.
pub(crate) struct Headers<'a>(pub &'a HeaderMap);

impl HeaderLookup for Headers<'_> {
    /// Values that are not visible ASCII read as absent: no scheme signs such a header, so it
    /// cannot be the one a verifier needs.
    fn header(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.to_str().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn names_match_in_any_case_and_unreadable_values_are_absent() {
        let mut map = HeaderMap::new();
        map.insert("webhook-id", HeaderValue::from_static("msg_1"));
        map.insert(
            "webhook-signature",
            HeaderValue::from_bytes(b"v1,\xff").unwrap(),
        );
        let headers = Headers(&map);
        assert_eq!(headers.header("Webhook-Id"), Some("msg_1"));
        assert_eq!(headers.header("webhook-signature"), None);
        assert_eq!(headers.header("webhook-timestamp"), None);
    }
}
