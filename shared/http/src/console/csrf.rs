//! Cross-site request forgery: every console form carries the session's token, checked on
//! every POST, and the browser's own word on where the request came from is checked too.
//!
//! The console sends `Referrer-Policy: no-referrer`, under which browsers send `Origin: null`
//! even on the console's own forms; so `Sec-Fetch-Site` (sent by every current browser) is the
//! origin signal, and an `Origin` naming another site is refused whatever else is said.

use super::session::{Session, SessionKey};
use axum::http::{HeaderMap, header};
use subtle::ConstantTimeEq;

/// Why a POST was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    CrossSite,
    BadToken,
}

impl Refusal {
    pub(crate) fn message(&self) -> &'static str {
        match self {
            Refusal::CrossSite => {
                "this form was sent from another site; open the console and try again"
            }
            Refusal::BadToken => {
                "this form has expired or was not made by the console; reload the page and try again"
            }
        }
    }
}

/// Checks a console POST: same origin, and the form's token is this session's.
pub(crate) fn check(
    headers: &HeaderMap,
    key: &SessionKey,
    session: &Session,
    presented: &str,
) -> Result<(), Refusal> {
    same_origin(headers)?;
    let expected = session.csrf(key);
    if expected.len() != presented.len()
        || !bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    {
        return Err(Refusal::BadToken);
    }
    Ok(())
}

/// Refuses a request the browser says is cross-site, or whose `Origin` names another host.
pub(crate) fn same_origin(headers: &HeaderMap) -> Result<(), Refusal> {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && !matches!(site, "same-origin" | "none")
    {
        return Err(Refusal::CrossSite);
    }
    if let Some(origin) = text(header::ORIGIN).filter(|o| *o != "null") {
        let host = text(header::HOST).unwrap_or("");
        let origin_host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .unwrap_or("");
        if origin_host != host {
            return Err(Refusal::CrossSite);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_consoles_own_forms_pass_and_other_sites_do_not() {
        let own = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
        ]);
        assert_eq!(same_origin(&own), Ok(()));
        let own_origin = headers(&[("host", "ops.example"), ("origin", "https://ops.example")]);
        assert_eq!(same_origin(&own_origin), Ok(()));
        for refused in [
            headers(&[("host", "ops.example"), ("sec-fetch-site", "cross-site")]),
            headers(&[("host", "ops.example"), ("sec-fetch-site", "same-site")]),
            headers(&[("host", "ops.example"), ("origin", "https://evil.example")]),
        ] {
            assert_eq!(same_origin(&refused), Err(Refusal::CrossSite));
        }
    }

    #[test]
    fn only_this_sessions_token_passes() {
        let key = SessionKey::derive(&[&passage_core::secret::Secret::new("k")]).unwrap();
        let op = crate::Operator::new("ann", None, None, vec!["acme".into()]);
        let session = |sid: &str| Session {
            op: op.clone(),
            sid: sid.into(),
        };
        let own = headers(&[("sec-fetch-site", "same-origin")]);
        let token = session("s1").csrf(&key);
        assert_eq!(check(&own, &key, &session("s1"), &token), Ok(()));
        assert_eq!(
            check(&own, &key, &session("s2"), &token),
            Err(Refusal::BadToken)
        );
        assert_eq!(
            check(&own, &key, &session("s1"), ""),
            Err(Refusal::BadToken)
        );
        let cross = headers(&[("sec-fetch-site", "cross-site")]);
        assert_eq!(
            check(&cross, &key, &session("s1"), &token),
            Err(Refusal::CrossSite)
        );
    }
}
