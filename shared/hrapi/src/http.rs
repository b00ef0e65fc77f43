//! What every HR client shares: one HTTP client, the mapping from HTTP outcomes to
//! [`HrError`], URL building that cannot be steered by ids, and date parsing for the shapes HR
//! systems use.
//!
//! Throttling (429) and server faults surface as [`HrError::Unavailable`] with the
//! `Retry-After` hint in the message; clients do not retry on their own, because the engine's
//! retry policy (and its evidence of each attempt) owns retries.

use jiff::civil::Date;
use passage_connectors::http::retry_after;
use passage_core::ports::HrError;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;

/// A backstop against a vendor that never stops paging.
pub(crate) const MAX_PAGES: usize = 10_000;

/// The same HTTP client the provider connectors use: bounded connect and request time, no
/// redirects (a redirect from an HR API is unexpected, and following it could carry
/// credentials elsewhere).
pub(crate) use passage_connectors::http::client;

pub(crate) fn base(vendor: &str, base_url: &str) -> Result<url::Url, HrError> {
    let trimmed = base_url.trim_end_matches('/');
    url::Url::parse(trimmed)
        .ok()
        .filter(|u| !u.cannot_be_a_base())
        .ok_or_else(|| {
            HrError::Malformed(format!(
                "{vendor} base_url `{base_url}` is not an absolute http(s) URL"
            ))
        })
}

/// `base` with `segments` appended, each percent-encoded, so an employee id such as `../x`
/// stays one path segment.
pub(crate) fn join(base: &url::Url, segments: &[&str]) -> url::Url {
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    url
}

/// Refuses ids that could not name an employee and would change a URL's meaning (`..`).
pub(crate) fn check_id(vendor: &str, employee_id: &str) -> Result<(), HrError> {
    let id = employee_id.trim();
    if id.is_empty() || id == "." || id == ".." {
        return Err(HrError::Malformed(format!(
            "{vendor}: `{employee_id}` is not an employee id"
        )));
    }
    Ok(())
}

/// What a response means before its body is read.
pub(crate) enum Outcome {
    Ok(Response),
    NotFound,
}

/// Sends `request` and classifies the answer: 2xx → `Ok`, 404 → `NotFound`, 401/403 →
/// `Denied`, 429/5xx/transport → `Unavailable`, anything else → `Malformed`. `what` names the
/// call in messages (never the credentials: reqwest errors are stripped of their URL too).
pub(crate) async fn send(
    vendor: &str,
    what: &str,
    request: RequestBuilder,
) -> Result<Outcome, HrError> {
    let response = request.send().await.map_err(|e| {
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "transport error"
        };
        HrError::Unavailable(format!("{vendor} {what}: {kind}: {}", e.without_url()))
    })?;
    classify_status(vendor, what, response)
}

/// Classifies an answer already received (see [`send`]).
pub(crate) fn classify_status(
    vendor: &str,
    what: &str,
    response: Response,
) -> Result<Outcome, HrError> {
    let status = response.status();
    tracing::debug!(vendor, what, status = status.as_u16(), "HR API answered");
    if status.is_success() {
        return Ok(Outcome::Ok(response));
    }
    match status {
        StatusCode::NOT_FOUND => Ok(Outcome::NotFound),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(HrError::Denied(format!(
            "{vendor} {what}: HTTP {} ({})",
            status.as_u16(),
            if status == StatusCode::UNAUTHORIZED {
                "credentials refused"
            } else {
                "missing permission"
            }
        ))),
        s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => {
            let hint = retry_after(&response)
                .map(|d| format!("; Retry-After {}s", d.as_secs()))
                .unwrap_or_default();
            Err(HrError::Unavailable(format!(
                "{vendor} {what}: HTTP {}{hint}",
                s.as_u16()
            )))
        }
        s => Err(HrError::Malformed(format!(
            "{vendor} {what}: unexpected HTTP {}",
            s.as_u16()
        ))),
    }
}

/// Sends and requires a 2xx (a 404 is itself unexpected, e.g. on a list endpoint).
pub(crate) async fn send_ok(
    vendor: &str,
    what: &str,
    request: RequestBuilder,
) -> Result<Response, HrError> {
    match send(vendor, what, request).await? {
        Outcome::Ok(r) => Ok(r),
        Outcome::NotFound => Err(HrError::Malformed(format!(
            "{vendor} {what}: HTTP 404 on an endpoint that should exist (check base_url)"
        ))),
    }
}

/// Reads a JSON body into `T`.
pub(crate) async fn json<T: DeserializeOwned>(
    vendor: &str,
    what: &str,
    response: Response,
) -> Result<T, HrError> {
    let bytes = response.bytes().await.map_err(|e| {
        HrError::Unavailable(format!(
            "{vendor} {what}: body cut short: {}",
            e.without_url()
        ))
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| HrError::Malformed(format!("{vendor} {what}: unreadable JSON: {e}")))
}

/// A date as HR systems send it: `YYYY-MM-DD`, or a timestamp whose first ten characters are
/// the date (`2026-05-15T00:00:00Z`). Empty strings and BambooHR's `0000-00-00` mean "none".
pub(crate) fn date(
    vendor: &str,
    field: &str,
    value: Option<&str>,
) -> Result<Option<Date>, HrError> {
    let Some(text) = value.map(str::trim) else {
        return Ok(None);
    };
    if text.is_empty() || text == "0000-00-00" {
        return Ok(None);
    }
    text.get(..10)
        .and_then(|d| d.parse::<Date>().ok())
        .map(Some)
        .ok_or_else(|| {
            HrError::Malformed(format!(
                "{vendor} {field} `{text}` is not a date (YYYY-MM-DD)"
            ))
        })
}

/// A non-empty string, trimmed.
pub(crate) fn text(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The email every record needs, or a `Malformed` error naming the employee.
pub(crate) fn required_email(
    vendor: &str,
    employee_id: &str,
    email: Option<&str>,
) -> Result<String, HrError> {
    text(email).ok_or_else(|| {
        HrError::Malformed(format!("{vendor} employee {employee_id} has no work email"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_vendor_shapes() {
        let d = jiff::civil::date(2026, 5, 15);
        assert_eq!(date("v", "f", Some("2026-05-15")).unwrap(), Some(d));
        assert_eq!(
            date("v", "f", Some("2026-05-15T00:00:00Z")).unwrap(),
            Some(d)
        );
        assert_eq!(date("v", "f", Some("0000-00-00")).unwrap(), None);
        assert_eq!(date("v", "f", Some("")).unwrap(), None);
        assert_eq!(date("v", "f", None).unwrap(), None);
        let err = date("v", "terminationDate", Some("15/05/2026")).unwrap_err();
        assert!(err.to_string().contains("terminationDate"));
    }

    #[test]
    fn ids_stay_one_segment() {
        let b = base("v", "http://h/api/gateway.php/").unwrap();
        assert_eq!(
            join(&b, &["acme", "v1", "employees", "../x"]).as_str(),
            "http://h/api/gateway.php/acme/v1/employees/..%2Fx"
        );
        assert!(base("v", "not a url").is_err());
    }
}
