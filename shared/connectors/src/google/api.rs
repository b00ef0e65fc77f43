//! Google HTTP calls: a token per (subject, scope), one retry after a 401 with a fresh token,
//! error classification and `nextPageToken` pagination.

use super::GoogleSettings;
use super::auth::Auth;
use super::errors::{CallContext, GoogleError, classify};
use super::pace;
use crate::call::{self, Answer, Call, Dialect, Refused, Verdict};
use crate::pace::{OrgPace, Paced};
use passage_core::pace::PaceSignal;
use passage_core::ports::{ActionFailure, FailureClass};
use passage_core::{CallRecord, Provider};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::Value;

/// Which API a URL is for (they may live on different hosts).
#[derive(Clone, Copy)]
pub enum Service {
    Directory,
    Licensing,
    Gmail,
    Drive,
}

/// Who a call acts as.
#[derive(Clone, Copy)]
pub enum As<'a> {
    /// The configured administrator.
    Admin,
    /// The mailbox owner.
    User(&'a str),
}

pub struct Api {
    pub settings: GoogleSettings,
    http: reqwest::Client,
    auth: Auth,
    /// The customer's budgets (unpaced until the registry paces the connector).
    pub pace: OrgPace,
    /// The tenant's shared-resource sweep (off until the registry says otherwise).
    pub sweep: passage_core::SweepPolicy,
}

/// One call's view of the API: the token it needs is for this subject and scope.
struct Acting<'a> {
    api: &'a Api,
    subject: &'a str,
    scope: &'a str,
}

impl Api {
    pub fn new(settings: GoogleSettings, http: reqwest::Client) -> Self {
        Self {
            auth: Auth::new(
                settings.token_url.clone(),
                settings.service_account_email.clone(),
                &settings.private_key,
                settings.key_id.clone(),
                settings.admin_subject.clone(),
            ),
            settings,
            http,
            pace: OrgPace::off(Provider::Google),
            sweep: passage_core::SweepPolicy::off(),
        }
    }

    /// `base + segments`, each segment percent-encoded.
    pub fn url(&self, service: Service, segments: &[&str]) -> url::Url {
        let base = match service {
            Service::Directory => &self.settings.api_base,
            Service::Licensing => self
                .settings
                .licensing_base
                .as_ref()
                .unwrap_or(&self.settings.api_base),
            Service::Gmail => self
                .settings
                .gmail_base
                .as_ref()
                .unwrap_or(&self.settings.api_base),
            Service::Drive => self
                .settings
                .drive_base
                .as_ref()
                .unwrap_or(&self.settings.api_base),
        };
        let mut url = base.clone();
        url.path_segments_mut()
            .expect("http urls have paths")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// A token acting as `who` with `scope` alone: the preflight's proof that the scope is
    /// delegated.
    pub(crate) async fn token(
        &self,
        who: As<'_>,
        scope: &str,
        calls: &mut Vec<CallRecord>,
    ) -> Result<(), ActionFailure> {
        let subject = self.subject(who);
        self.auth
            .token(&self.http, subject, scope, calls)
            .await
            .map(drop)
    }

    fn subject<'a>(&'a self, who: As<'a>) -> &'a str {
        match who {
            As::Admin => &self.settings.admin_subject,
            As::User(email) => email,
        }
    }

    /// Sends one call and records it. Non-2xx answers become classified failures, except
    /// those listed in `accept` (e.g. a 404 the caller treats as "already gone").
    #[allow(clippy::too_many_arguments)]
    pub async fn call(
        &self,
        method: Method,
        url: url::Url,
        who: As<'_>,
        scope: &str,
        body: Option<&Value>,
        accept: &[StatusCode],
        calls: &mut Vec<CallRecord>,
    ) -> Result<Answer, ActionFailure> {
        let acting = Acting {
            api: self,
            subject: self.subject(who),
            scope,
        };
        let call = Call {
            method,
            url,
            body,
            accept,
        };
        call::send(&self.http, &acting, &call, calls).await
    }

    /// GET as `who`, failing on any non-2xx.
    pub async fn get(
        &self,
        url: url::Url,
        who: As<'_>,
        scope: &str,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Value, ActionFailure> {
        Ok(self
            .call(Method::GET, url, who, scope, None, &[], calls)
            .await?
            .body)
    }

    /// GETs every page of a list (`nextPageToken` → `pageToken`), collecting `items_key`.
    pub async fn list(
        &self,
        url: url::Url,
        items_key: &str,
        who: As<'_>,
        scope: &str,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Vec<Value>, ActionFailure> {
        self.list_from(url, None, items_key, who, scope, calls)
            .await
    }

    /// As [`Api::list`], starting at the page `page_token` names (for a caller that read the
    /// first page itself).
    pub async fn list_from(
        &self,
        url: url::Url,
        mut page_token: Option<String>,
        items_key: &str,
        who: As<'_>,
        scope: &str,
        calls: &mut Vec<CallRecord>,
    ) -> Result<Vec<Value>, ActionFailure> {
        let mut items = Vec::new();
        // A bound, so a provider that keeps answering the same page cannot loop forever.
        for _ in 0..1000 {
            let mut page_url = url.clone();
            if let Some(t) = &page_token {
                page_url.query_pairs_mut().append_pair("pageToken", t);
            }
            let body = self.get(page_url, who, scope, calls).await?;
            match body.get(items_key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(page)) => items.extend(page.iter().cloned()),
                Some(_) => {
                    return Err(ActionFailure {
                        class: FailureClass::Retryable { retry_after: None },
                        code: "unexpected_body".into(),
                        message: format!(
                            "Google returned a list whose `{items_key}` is not an array"
                        ),
                    });
                }
            }
            match body.get("nextPageToken").and_then(Value::as_str) {
                Some(t) if !t.is_empty() => page_token = Some(t.to_owned()),
                _ => return Ok(items),
            }
        }
        Err(ActionFailure {
            class: FailureClass::Retryable { retry_after: None },
            code: "pagination_loop".into(),
            message: "Google kept returning more pages than Passage will follow".into(),
        })
    }
}

/// Google's part of every call: a token for the call's subject and scope, and its error
/// dialect, whose 403 means throttling or a refusal depending on the reason.
impl Dialect for Acting<'_> {
    /// Google documents no request-id header; kept so one appears in evidence if it ever does.
    const REQUEST_ID: &'static str = "x-request-id";

    async fn authorize(
        &self,
        request: RequestBuilder,
        call: &Call<'_>,
        calls: &mut Vec<CallRecord>,
    ) -> Result<RequestBuilder, ActionFailure> {
        let api = self.api;
        let token = api
            .auth
            .token(&api.http, self.subject, self.scope, calls)
            .await?;
        let request = request.bearer_auth(token);
        // Google answers 411 to a bodiless POST or PUT that does not say its length is zero.
        let bodiless_write =
            call.body.is_none() && (call.method == Method::POST || call.method == Method::PUT);
        Ok(if bodiless_write {
            request.header(reqwest::header::CONTENT_LENGTH, "0")
        } else {
            request
        })
    }

    fn paced(&self, call: &Call<'_>) -> Option<Paced<'_>> {
        self.api.pace.turn(pace::family(call.url.path()))
    }

    fn pace_signal(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> PaceSignal {
        pace::signal(status, headers, body)
    }

    fn refusal(&self, refused: &Refused<'_>) -> Verdict {
        let context = CallContext {
            subject: self.subject,
            scope: self.scope,
        };
        let error = GoogleError::parse(refused.body);
        Verdict::Fail(classify(refused.status, &error, refused.wait, &context))
    }

    /// A cached token may have been revoked (or its subject suspended): mint a new one once;
    /// the token endpoint then says why if it will not.
    async fn credential_refused(&self) -> bool {
        self.api.auth.forget(self.subject, self.scope).await;
        true
    }
}
