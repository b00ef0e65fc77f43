//! What a delivery may say about where it went. Slack incoming-webhook URLs carry their
//! credential in the path, and any URL may carry one in its query or user info, so targets
//! keep only the parts that identify the receiver without granting access to it.

use url::Url;

use crate::error::DeliveryError;

/// Parses a channel URL, accepting only absolute http(s) URLs with a host.
pub(crate) fn parse_http_url(text: &str, channel: &'static str) -> Result<Url, DeliveryError> {
    let url =
        Url::parse(text.trim()).map_err(|reason| DeliveryError::InvalidUrl { channel, reason })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(DeliveryError::UnsupportedScheme {
            channel,
            scheme: url.scheme().to_owned(),
        });
    }
    if url.host_str().is_none() {
        return Err(DeliveryError::MissingHost { channel });
    }
    Ok(url)
}

/// `scheme://host[:port]` — all a Slack delivery may reveal.
pub(crate) fn origin(url: &Url) -> String {
    let host = url.host_str().unwrap_or("-");
    match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// `scheme://host[:port]/path` — a webhook endpoint without user info, query or fragment.
pub(crate) fn without_query(url: &Url) -> String {
    format!("{}{}", origin(url), url.path())
}

/// Stand-in target for a URL that could not even be parsed.
pub(crate) const UNPARSEABLE: &str = "(invalid URL)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_drop_credentials() {
        let url = parse_http_url(
            "https://user:pw@hooks.example.com:8443/in/abc?token=t#f",
            "webhook",
        )
        .unwrap();
        assert_eq!(without_query(&url), "https://hooks.example.com:8443/in/abc");
        let slack = parse_http_url("https://hooks.slack.com/services/T1/B2/XYZ", "slack").unwrap();
        assert_eq!(origin(&slack), "https://hooks.slack.com");
    }

    #[test]
    fn rejects_what_cannot_be_posted_to() {
        let err = parse_http_url("hooks.slack.com/services/T1/B2/SECRET", "slack").unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        assert!(matches!(
            parse_http_url("ftp://example.com/x", "webhook"),
            Err(DeliveryError::UnsupportedScheme { .. })
        ));
    }
}
