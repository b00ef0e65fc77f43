//! Slack's two APIs through the one call loop: the Web API, whose refusals are HTTP 200 with
//! `{"ok": false, "error": …}`, and SCIM, whose refusals are statuses with `{"Errors": …}`.
//! Both throttle with 429 and `Retry-After`, and both carry `x-slack-req-id`.

use crate::call::{self, Answer, Call, Dialect, Refused, Verdict};
use crate::http::{self, permanent};
use crate::scim::protocol::{ACCEPT, ErrorBody, MEDIA_TYPE};
use passage_core::CallRecord;
use passage_core::ports::{ActionFailure, FailureClass};
use passage_core::secret::Secret;
use reqwest::{Method, RequestBuilder, StatusCode, header};
use serde_json::Value;

pub struct Api {
    api_url: url::Url,
    scim_url: url::Url,
    token: Secret,
    http: reqwest::Client,
}

impl Dialect for Api {
    const REQUEST_ID: &'static str = "x-slack-req-id";

    async fn authorize(
        &self,
        request: RequestBuilder,
        call: &Call<'_>,
        _calls: &mut Vec<CallRecord>,
    ) -> Result<RequestBuilder, ActionFailure> {
        let mut request = request.bearer_auth(self.token.expose());
        if self.is_scim(&call.url) {
            request = request.header(header::ACCEPT, ACCEPT);
            if call.body.is_some() {
                request = request.header(header::CONTENT_TYPE, MEDIA_TYPE);
            }
        } else if call.body.is_some() {
            request = request.header(header::CONTENT_TYPE, "application/json; charset=utf-8");
        }
        Ok(request)
    }

    fn refusal(&self, refused: &Refused<'_>) -> Verdict {
        let body = ErrorBody::parse(refused.body);
        let web_error = serde_json::from_slice::<Value>(refused.body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned));
        let detail = web_error.unwrap_or(body.detail);
        Verdict::Fail(classify_status(refused.status, &detail, refused.wait))
    }
}

/// A refusal by HTTP status (SCIM, and the Web API's 429 and 5xx).
fn classify_status(
    status: StatusCode,
    detail: &str,
    wait: Option<std::time::Duration>,
) -> ActionFailure {
    let code = if detail.is_empty() || detail.contains(' ') {
        format!("http_{}", status.as_u16())
    } else {
        detail.to_owned()
    };
    let (class, message) = match status.as_u16() {
        401 => (
            FailureClass::Permanent,
            format!(
                "Slack refused the token ({detail}); a SCIM token stops working when the admin who created it loses Admin or Owner, so create it from a dedicated service admin"
            ),
        ),
        403 if detail == "cannot_disable_primary_owner" => (
            FailureClass::Permanent,
            "the leaver is the Slack organisation's primary owner, who cannot be deactivated; transfer primary ownership, then retry".into(),
        ),
        403 => (
            FailureClass::Permanent,
            format!(
                "Slack refused SCIM access ({detail}): SCIM needs a Business+ or Enterprise Grid plan and a token with the `admin` scope; on another plan, set the tenant's Slack plan so a person is asked instead"
            ),
        ),
        _ if http::status_class(status, wait).is_some() => (
            http::status_class(status, wait).unwrap_or(FailureClass::Permanent),
            format!("Slack answered {status} ({detail})"),
        ),
        s => (
            FailureClass::Permanent,
            format!("Slack refused the call ({s}): {detail}"),
        ),
    };
    ActionFailure {
        class,
        code,
        message,
    }
}

/// A Web API method's `ok: false`, explained with what to fix.
fn classify_web(method: &str, body: &Value) -> ActionFailure {
    let error = body["error"].as_str().unwrap_or("unknown_error");
    let message = match error {
        "missing_scope" => format!(
            "the Slack token lacks the `{}` scope {method} needs (it has: {}); add it to the app and reinstall",
            body["needed"].as_str().unwrap_or("?"),
            body["provided"].as_str().unwrap_or("none")
        ),
        "not_an_enterprise" | "feature_not_enabled" | "not_allowed_token_type" => format!(
            "{method} is an Enterprise Grid Admin API method and needs an Org Owner's user token ({error}); on another plan, set the tenant's Slack plan accordingly"
        ),
        "not_authed" | "invalid_auth" | "token_revoked" | "token_expired" | "account_inactive" => {
            format!(
                "Slack refused the token for {method} ({error}); issue a new one from a dedicated service admin"
            )
        }
        "ratelimited"
        | "fatal_error"
        | "internal_error"
        | "request_timeout"
        | "service_unavailable" => {
            return ActionFailure {
                class: FailureClass::Retryable { retry_after: None },
                code: error.into(),
                message: format!("Slack could not answer {method} just now ({error})"),
            };
        }
        other => format!("Slack refused {method}: {other}"),
    };
    permanent(error, message)
}

impl Api {
    pub fn new(
        api_url: url::Url,
        scim_url: url::Url,
        token: Secret,
        http: reqwest::Client,
    ) -> Self {
        Self {
            api_url,
            scim_url,
            token,
            http,
        }
    }

    fn is_scim(&self, url: &url::Url) -> bool {
        url.origin() == self.scim_url.origin() && url.path().starts_with(self.scim_url.path())
    }

    /// `{scim}/{segments…}`.
    pub fn scim_url(&self, segments: &[&str]) -> url::Url {
        http::join(&self.scim_url, segments)
    }

    /// One SCIM call; statuses in `accept` come back as answers.
    pub async fn scim(
        &self,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        accept: &[StatusCode],
        calls: &mut Vec<CallRecord>,
    ) -> Result<Answer, ActionFailure> {
        http::same_origin(&url, &self.scim_url, "Slack SCIM")?;
        let call = Call {
            method,
            url,
            body,
            accept,
        };
        call::send(&self.http, self, &call, calls).await
    }

    /// One Web API method whose every `ok: false` is a failure.
    pub async fn ok(
        &self,
        name: &str,
        http_method: Method,
        args: &Value,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Value, ActionFailure> {
        let answer = self.method(name, http_method, args, &[], calls).await?;
        Ok(answer.unwrap_or_default())
    }

    /// One Web API method: a GET with its arguments in the query, or a POST with a JSON body.
    /// `Ok(Err(error))` is an `ok: false` whose error is in `expected` (e.g. `users_not_found`),
    /// for the caller to read; any other `ok: false` fails, explained.
    pub async fn method(
        &self,
        name: &str,
        http_method: Method,
        args: &Value,
        expected: &[&str],
        calls: &mut Vec<CallRecord>,
    ) -> Result<Result<Value, String>, ActionFailure> {
        let mut url = self.api_url.clone();
        url.path_segments_mut()
            .expect("http urls have paths")
            .pop_if_empty()
            .push(name);
        let body = if http_method == Method::GET {
            if let Some(map) = args.as_object() {
                let mut q = url.query_pairs_mut();
                for (k, v) in map {
                    q.append_pair(k, v.as_str().unwrap_or(&v.to_string()));
                }
            }
            None
        } else {
            Some(args)
        };
        let call = Call {
            method: http_method,
            url,
            body,
            accept: &[],
        };
        let answer = call::send(&self.http, self, &call, calls).await?;
        if answer.body["ok"].as_bool() == Some(true) {
            return Ok(Ok(answer.body));
        }
        let error = answer.body["error"]
            .as_str()
            .unwrap_or("unknown_error")
            .to_owned();
        if let Some(record) = calls.last_mut() {
            record.error_code = Some(error.clone());
        }
        if expected.contains(&error.as_str()) {
            return Ok(Err(error));
        }
        Err(classify_web(name, &answer.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_ok_false_says_which_scope_is_missing() {
        let body = json!({"ok": false, "error": "missing_scope", "needed": "users:read.email", "provided": "admin"});
        let f = classify_web("users.lookupByEmail", &body);
        assert_eq!(f.class, FailureClass::Permanent);
        assert_eq!(f.code, "missing_scope");
        assert!(f.message.contains("`users:read.email`"), "{}", f.message);
        let f = classify_web(
            "admin.users.session.reset",
            &json!({"ok": false, "error": "not_an_enterprise"}),
        );
        assert!(f.message.contains("Enterprise Grid"), "{}", f.message);
        let f = classify_web("users.info", &json!({"ok": false, "error": "fatal_error"}));
        assert!(matches!(f.class, FailureClass::Retryable { .. }));
    }

    #[test]
    fn the_primary_owner_and_a_plan_without_scim_are_explained() {
        let f = classify_status(StatusCode::FORBIDDEN, "cannot_disable_primary_owner", None);
        assert_eq!(f.code, "cannot_disable_primary_owner");
        assert!(
            f.message.contains("transfer primary ownership"),
            "{}",
            f.message
        );
        let f = classify_status(
            StatusCode::FORBIDDEN,
            "SCIM API is only available on Business+",
            None,
        );
        assert_eq!(f.code, "http_403");
        assert!(
            f.message.contains("Business+ or Enterprise Grid"),
            "{}",
            f.message
        );
    }
}
