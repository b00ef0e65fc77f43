//! Personio (API v2): an OAuth 2.0 client-credentials token from `POST {base}/v2/auth/token`,
//! then `GET /v2/persons/{id}` (email, name) and `GET /v2/persons/{id}/employments` (the
//! termination lives on the employment: `termination.termination_date`,
//! `termination.last_working_date`, `termination.type`), and the supervisor's person for the
//! manager's email. The reconcile walks `GET /v2/persons` by cursor (`_meta.links.next.href`)
//! and reads each person's employment, since Personio v2 has no filter on termination dates.
//!
//! The access token is cached until shortly before `expires_in`; a 401 from the API drops it
//! and fetches one new token before giving up with `Denied`. Personio's office is a bare
//! reference on the employment, so `work_location` stays empty.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use jiff::civil::Date;
use passage_core::domain::Manager;
use passage_core::ports::{EmploymentStatus, HrError, HrRecord, HrSource};
use passage_core::secret::Secret;
use reqwest::StatusCode;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::http::{self, Outcome};

const VENDOR: &str = "personio";
/// Persons per page (Personio v2 allows up to 50).
pub const PAGE_SIZE: usize = 50;

fn default_base_url() -> String {
    "https://api.personio.de".into()
}

/// How to reach one Personio company.
#[derive(Clone, Debug, Deserialize)]
pub struct PersonioSettings {
    pub client_id: String,
    pub client_secret: Secret,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Persons per page; overridable to exercise paging.
    #[serde(default)]
    pub page_size: Option<usize>,
}

impl PersonioSettings {
    pub fn new(client_id: &str, client_secret: Secret) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret,
            base_url: default_base_url(),
            page_size: None,
        }
    }
}

struct CachedToken {
    token: Secret,
    expires: Instant,
}

/// The Personio client.
pub struct Personio {
    settings: PersonioSettings,
    http: reqwest::Client,
    token: Mutex<Option<CachedToken>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct Person {
    id: serde_json::Value,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    preferred_name: Option<String>,
}

#[derive(Deserialize)]
struct Page<T> {
    #[serde(rename = "_data")]
    data: Vec<T>,
    #[serde(rename = "_meta", default)]
    meta: Option<Meta>,
}

#[derive(Deserialize)]
struct Meta {
    #[serde(default)]
    links: Option<Links>,
}

#[derive(Deserialize)]
struct Links {
    next: Option<Link>,
}

#[derive(Deserialize)]
struct Link {
    href: Option<String>,
}

#[derive(Deserialize)]
struct Employment {
    start_date: Option<String>,
    supervisor: Option<Reference>,
    termination: Option<TerminationInfo>,
}

#[derive(Deserialize)]
struct Reference {
    id: serde_json::Value,
}

#[derive(Deserialize)]
struct TerminationInfo {
    termination_date: Option<String>,
    last_working_date: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => http::text(Some(s)),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Personio {
    pub fn new(settings: PersonioSettings) -> Self {
        Self {
            settings,
            http: http::client(),
            token: Mutex::new(None),
        }
    }

    fn base(&self) -> Result<url::Url, HrError> {
        http::base(VENDOR, &self.settings.base_url)
    }

    /// A valid access token, fetched when none is cached or the cached one is about to expire.
    async fn access_token(&self) -> Result<Secret, HrError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref()
            && t.expires > Instant::now()
        {
            return Ok(t.token.clone());
        }
        let url = http::join(&self.base()?, &["v2", "auth", "token"]);
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.settings.client_id.as_str()),
            ("client_secret", self.settings.client_secret.expose()),
        ];
        let request = self
            .http
            .post(url)
            .header(ACCEPT, "application/json")
            .form(&form);
        let response = request.send().await.map_err(|e| {
            HrError::Unavailable(format!("personio token request: {}", e.without_url()))
        })?;
        let status = response.status();
        if status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED {
            return Err(HrError::Denied(format!(
                "personio token request: HTTP {} (client id or secret refused)",
                status.as_u16()
            )));
        }
        let response = match http::classify_status(VENDOR, "token request", response)? {
            Outcome::Ok(r) => r,
            Outcome::NotFound => {
                return Err(HrError::Malformed(
                    "personio token endpoint answered 404 (check base_url)".into(),
                ));
            }
        };
        let parsed: TokenResponse = http::json(VENDOR, "token request", response).await?;
        // Renew a minute early so a token never expires between check and use.
        let lifetime = Duration::from_secs(parsed.expires_in.unwrap_or(3600).saturating_sub(60));
        let token = Secret::new(parsed.access_token);
        *cached = Some(CachedToken {
            token: token.clone(),
            expires: Instant::now() + lifetime,
        });
        Ok(token)
    }

    /// GETs `url` with the access token, renewing it once if the API refuses it.
    async fn get(&self, url: &url::Url, what: &str) -> Result<Outcome, HrError> {
        for attempt in 0..2 {
            let token = self.access_token().await?;
            let request = self
                .http
                .get(url.clone())
                .bearer_auth(token.expose())
                .header(ACCEPT, "application/json");
            match http::send(VENDOR, what, request).await {
                Err(HrError::Denied(_)) if attempt == 0 => {
                    *self.token.lock().await = None;
                }
                other => return other,
            }
        }
        Err(HrError::Denied(format!(
            "personio {what}: a fresh access token was refused too"
        )))
    }

    async fn person(&self, id: &str) -> Result<Option<Person>, HrError> {
        let url = http::join(&self.base()?, &["v2", "persons", id]);
        match self.get(&url, "person read").await? {
            Outcome::NotFound => Ok(None),
            Outcome::Ok(r) => http::json(VENDOR, "person read", r).await.map(Some),
        }
    }

    async fn employments(&self, id: &str) -> Result<Vec<Employment>, HrError> {
        let url = http::join(&self.base()?, &["v2", "persons", id, "employments"]);
        match self.get(&url, "employments read").await? {
            Outcome::NotFound => Ok(Vec::new()),
            Outcome::Ok(r) => {
                let page: Page<Employment> = http::json(VENDOR, "employments read", r).await?;
                Ok(page.data)
            }
        }
    }

    /// Follows a `next` link only while it stays on the configured origin, so the access
    /// token is never sent to another host.
    fn next_url(&self, href: &str) -> Result<url::Url, HrError> {
        let base = self.base()?;
        let next = base.join(href).map_err(|e| {
            HrError::Malformed(format!("personio next link `{href}` is not a URL: {e}"))
        })?;
        if next.origin() != base.origin() {
            return Err(HrError::Malformed(format!(
                "personio next link points to another host ({})",
                next.host_str().unwrap_or("?")
            )));
        }
        Ok(next)
    }
}

/// The employment that speaks for the person now: the most recently started one.
fn current(mut employments: Vec<Employment>) -> Option<Employment> {
    employments.sort_by(|a, b| a.start_date.cmp(&b.start_date));
    employments.pop()
}

#[async_trait]
impl HrSource for Personio {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    async fn employee(&self, employee_id: &str) -> Result<Option<HrRecord>, HrError> {
        http::check_id(VENDOR, employee_id)?;
        let Some(person) = self.person(employee_id).await? else {
            return Ok(None);
        };
        let person_id = id_text(&person.id).unwrap_or_else(|| employee_id.to_owned());
        let employment = current(self.employments(employee_id).await?);
        let termination = employment.as_ref().and_then(|e| e.termination.as_ref());
        let termination_date = http::date(
            VENDOR,
            "termination.termination_date",
            termination.and_then(|t| t.termination_date.as_deref()),
        )?;
        let last_day_worked = http::date(
            VENDOR,
            "termination.last_working_date",
            termination.and_then(|t| t.last_working_date.as_deref()),
        )?;
        // Personio's termination types: the employee's own notice (QUIT, EMPLOYEE) is
        // voluntary, FIRED is not; agreements, contract ends, death and the rest say nothing
        // about whether access must go at once, so the tenant's default applies.
        let involuntary = match termination.and_then(|t| t.kind.as_deref()) {
            Some("QUIT" | "EMPLOYEE") => Some(false),
            Some("FIRED") => Some(true),
            _ => None,
        };
        let supervisor_id = employment
            .as_ref()
            .and_then(|e| e.supervisor.as_ref())
            .and_then(|s| id_text(&s.id));
        let manager = match supervisor_id {
            Some(sid) => self.person(&sid).await?.and_then(|m| {
                http::text(m.email.as_deref()).map(|email| Manager {
                    email,
                    employee_id: Some(sid),
                })
            }),
            None => None,
        };
        let first = person.preferred_name.or(person.first_name);
        let display = format!(
            "{} {}",
            first.as_deref().unwrap_or(""),
            person.last_name.as_deref().unwrap_or("")
        );
        Ok(Some(HrRecord {
            email: http::required_email(VENDOR, &person_id, person.email.as_deref())?,
            employee_id: person_id,
            display_name: http::text(Some(&display)),
            status: if termination_date.is_some() {
                EmploymentStatus::Terminated
            } else {
                EmploymentStatus::Active
            },
            termination_date,
            last_day_worked,
            work_location: None,
            time_zone: None,
            manager,
            involuntary,
        }))
    }

    async fn terminations(&self, since: Date) -> Result<Vec<HrRecord>, HrError> {
        let limit = self.settings.page_size.unwrap_or(PAGE_SIZE).clamp(1, 50);
        let mut url = http::join(&self.base()?, &["v2", "persons"]);
        url.query_pairs_mut()
            .append_pair("limit", &limit.to_string());
        let mut ids = Vec::new();
        for _ in 0..http::MAX_PAGES {
            let response = match self.get(&url, "persons list").await? {
                Outcome::Ok(r) => r,
                Outcome::NotFound => {
                    return Err(HrError::Malformed(
                        "personio persons list answered 404 (check base_url)".into(),
                    ));
                }
            };
            let page: Page<Person> = http::json(VENDOR, "persons list", response).await?;
            ids.extend(page.data.iter().filter_map(|p| id_text(&p.id)));
            let next = page
                .meta
                .and_then(|m| m.links)
                .and_then(|l| l.next)
                .and_then(|n| n.href);
            match next {
                Some(href) => url = self.next_url(&href)?,
                None => break,
            }
        }
        let mut records = Vec::new();
        for id in ids {
            if let Some(r) = self.employee(&id).await?
                && r.termination_date.is_some_and(|d| d >= since)
            {
                records.push(r);
            }
        }
        Ok(records)
    }
}
