//! Finch (unified employment API, version `2020-09-17`): the batch reads
//! `POST {base}/employer/individual` (work email) and `POST {base}/employer/employment`
//! (`is_active`, `end_date`, `manager.id`, `location`) for one individual, with
//! `Authorization: Bearer <access token>` and `Finch-API-Version`. The reconcile pages through
//! `GET /employer/directory` (`limit`/`offset` against `paging.count`) and reads employments in
//! batches, since Finch has no filter on end dates.
//!
//! A recorded `end_date`, or `is_active: false`, marks a leaver. Finch has no time zone on the
//! location, so only its name (or city) is kept.

use async_trait::async_trait;
use jiff::civil::Date;
use passage_core::domain::Manager;
use passage_core::ports::{EmploymentStatus, HrError, HrRecord, HrSource};
use passage_core::secret::Secret;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::http::{self, Outcome};

const VENDOR: &str = "finch";
/// The API version the client was written against.
pub const API_VERSION: &str = "2020-09-17";
/// Individuals per directory page and per batch read.
pub const PAGE_SIZE: usize = 100;

fn default_base_url() -> String {
    "https://api.tryfinch.com".into()
}

/// How to reach one Finch connection.
#[derive(Clone, Debug, Deserialize)]
pub struct FinchSettings {
    /// The connection's access token.
    pub access_token: Secret,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Individuals per page; overridable to exercise paging.
    #[serde(default)]
    pub page_size: Option<usize>,
}

impl FinchSettings {
    pub fn new(access_token: Secret) -> Self {
        Self {
            access_token,
            base_url: default_base_url(),
            page_size: None,
        }
    }
}

/// The Finch client.
pub struct Finch {
    settings: FinchSettings,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Batch {
    responses: Vec<BatchResponse>,
}

/// One item of a batch answer; `body` is read as the endpoint's type once `code` says 2xx.
#[derive(Deserialize)]
struct BatchResponse {
    individual_id: String,
    code: u16,
    body: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Individual {
    #[serde(default)]
    emails: Vec<Email>,
}

#[derive(Deserialize)]
struct Email {
    data: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Employment {
    first_name: Option<String>,
    last_name: Option<String>,
    is_active: Option<bool>,
    end_date: Option<String>,
    manager: Option<Reference>,
    location: Option<Location>,
}

#[derive(Deserialize)]
struct Reference {
    id: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    name: Option<String>,
    city: Option<String>,
}

#[derive(Deserialize)]
struct Directory {
    paging: Paging,
    individuals: Vec<Reference>,
}

#[derive(Deserialize)]
struct Paging {
    count: usize,
}

impl Finch {
    pub fn new(settings: FinchSettings) -> Self {
        Self {
            settings,
            http: http::client(),
        }
    }

    fn request(
        &self,
        method: reqwest::Method,
        segments: &[&str],
    ) -> Result<reqwest::RequestBuilder, HrError> {
        let base = http::base(VENDOR, &self.settings.base_url)?;
        Ok(self
            .http
            .request(method, http::join(&base, segments))
            .bearer_auth(self.settings.access_token.expose())
            .header("Finch-API-Version", API_VERSION)
            .header(ACCEPT, "application/json"))
    }

    /// One batch read; returns each individual's body (`None` for a per-item 404).
    async fn batch<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        ids: &[String],
    ) -> Result<Vec<(String, Option<T>)>, HrError> {
        let what = format!("{endpoint} batch");
        let body = json!({
            "requests": ids.iter().map(|id| json!({ "individual_id": id })).collect::<Vec<_>>(),
        });
        let request = self
            .request(reqwest::Method::POST, &["employer", endpoint])?
            .json(&body);
        let response = http::send_ok(VENDOR, &what, request).await?;
        let batch: Batch = http::json(VENDOR, &what, response).await?;
        let mut out = Vec::with_capacity(batch.responses.len());
        for r in batch.responses {
            let parsed = match r.code {
                200..=299 => {
                    let body = r.body.unwrap_or(serde_json::Value::Null);
                    Some(serde_json::from_value(body).map_err(|e| {
                        HrError::Malformed(format!("finch {what}: unreadable body: {e}"))
                    })?)
                }
                404 => None,
                401 | 403 => {
                    return Err(HrError::Denied(format!(
                        "finch {what}: HTTP {} for individual {}",
                        r.code, r.individual_id
                    )));
                }
                code => {
                    return Err(HrError::Unavailable(format!(
                        "finch {what}: HTTP {code} for individual {}",
                        r.individual_id
                    )));
                }
            };
            out.push((r.individual_id, parsed));
        }
        Ok(out)
    }

    /// Records for `ids` (absent individuals skipped), manager emails included.
    async fn records(&self, ids: &[String]) -> Result<Vec<HrRecord>, HrError> {
        let employments: Vec<(String, Option<Employment>)> = self.batch("employment", ids).await?;
        let mut wanted: Vec<String> = ids.to_vec();
        for (_, e) in &employments {
            if let Some(m) = e
                .as_ref()
                .and_then(|e| e.manager.as_ref())
                .and_then(|m| m.id.clone())
                && !wanted.contains(&m)
            {
                wanted.push(m);
            }
        }
        let individuals: Vec<(String, Option<Individual>)> =
            self.batch("individual", &wanted).await?;
        let email_of = |id: &str| -> Option<String> {
            individuals
                .iter()
                .find(|(i, _)| i == id)
                .and_then(|(_, ind)| ind.as_ref())
                .and_then(|ind| {
                    ind.emails
                        .iter()
                        .find(|e| e.kind.as_deref() == Some("work"))
                        .or(ind.emails.first())
                        .and_then(|e| http::text(e.data.as_deref()))
                })
        };
        let mut records = Vec::new();
        for (id, employment) in employments {
            let Some(e) = employment else { continue };
            let termination_date = http::date(VENDOR, "end_date", e.end_date.as_deref())?;
            let manager = e.manager.and_then(|m| m.id).and_then(|mid| {
                email_of(&mid).map(|email| Manager {
                    email,
                    employee_id: Some(mid),
                })
            });
            let name = format!(
                "{} {}",
                e.first_name.as_deref().unwrap_or(""),
                e.last_name.as_deref().unwrap_or("")
            );
            records.push(HrRecord {
                email: http::required_email(VENDOR, &id, email_of(&id).as_deref())?,
                display_name: http::text(Some(&name)),
                status: if termination_date.is_some() || e.is_active == Some(false) {
                    EmploymentStatus::Terminated
                } else {
                    EmploymentStatus::Active
                },
                employee_id: id,
                termination_date,
                last_day_worked: None,
                work_location: e
                    .location
                    .and_then(|l| http::text(l.name.as_deref()).or(http::text(l.city.as_deref()))),
                time_zone: None,
                manager,
                involuntary: None,
            });
        }
        Ok(records)
    }
}

#[async_trait]
impl HrSource for Finch {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    async fn employee(&self, employee_id: &str) -> Result<Option<HrRecord>, HrError> {
        http::check_id(VENDOR, employee_id)?;
        Ok(self.records(&[employee_id.to_owned()]).await?.pop())
    }

    async fn terminations(&self, since: Date) -> Result<Vec<HrRecord>, HrError> {
        let limit = self.settings.page_size.unwrap_or(PAGE_SIZE).max(1);
        let mut offset = 0;
        let mut records = Vec::new();
        for _ in 0..http::MAX_PAGES {
            let mut request = self.request(reqwest::Method::GET, &["employer", "directory"])?;
            request = request.query(&[("limit", limit), ("offset", offset)]);
            let response = match http::send(VENDOR, "directory", request).await? {
                Outcome::Ok(r) => r,
                Outcome::NotFound => {
                    return Err(HrError::Malformed(
                        "finch directory answered 404 (check base_url)".into(),
                    ));
                }
            };
            let page: Directory = http::json(VENDOR, "directory", response).await?;
            let ids: Vec<String> = page.individuals.into_iter().filter_map(|i| i.id).collect();
            let got = ids.len();
            if got > 0 {
                records.extend(
                    self.records(&ids)
                        .await?
                        .into_iter()
                        .filter(|r| r.termination_date.is_some_and(|d| d >= since)),
                );
            }
            offset += got;
            if got == 0 || offset >= page.paging.count {
                break;
            }
        }
        Ok(records)
    }
}
