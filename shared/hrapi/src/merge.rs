//! Merge (unified HRIS API): `GET {base}/api/hris/v1/employees/{id}?expand=manager,work_location`
//! with `Authorization: Bearer <API key>` and `X-Account-Token: <linked account token>`, and
//! `GET /api/hris/v1/employees` walked by cursor (`next`) for the reconcile. Merge has no filter
//! on termination dates (and a future-dated leaver is still `ACTIVE`), so every page is read and
//! the filter runs here.
//!
//! A recorded `termination_date` or `employment_status: INACTIVE` marks a leaver. Merge's
//! Location model carries no time zone, so only the location's name is recorded.

use async_trait::async_trait;
use jiff::civil::Date;
use passage_core::domain::Manager;
use passage_core::ports::{EmploymentStatus, HrError, HrRecord, HrSource};
use passage_core::secret::Secret;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde_json::Value;

use crate::http::{self, Outcome};

const VENDOR: &str = "merge";
/// Merge's largest page.
pub const PAGE_SIZE: usize = 100;
const EXPAND: &str = "manager,work_location";

fn default_base_url() -> String {
    "https://api.merge.dev".into()
}

/// How to reach one linked account through Merge.
#[derive(Clone, Debug, Deserialize)]
pub struct MergeSettings {
    /// The organisation's production API key.
    pub api_key: Secret,
    /// The linked account's token (one per customer HR system).
    pub account_token: Secret,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Employees per page; overridable to exercise paging.
    #[serde(default)]
    pub page_size: Option<usize>,
}

impl MergeSettings {
    pub fn new(api_key: Secret, account_token: Secret) -> Self {
        Self {
            api_key,
            account_token,
            base_url: default_base_url(),
            page_size: None,
        }
    }
}

/// The Merge client.
pub struct Merge {
    settings: MergeSettings,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Employee {
    id: String,
    work_email: Option<String>,
    display_full_name: Option<String>,
    employment_status: Option<String>,
    termination_date: Option<String>,
    #[serde(default)]
    manager: Value,
    #[serde(default)]
    work_location: Value,
}

#[derive(Deserialize)]
struct Page {
    next: Option<String>,
    results: Vec<Employee>,
}

fn record(e: Employee) -> Result<HrRecord, HrError> {
    let termination_date = http::date(VENDOR, "termination_date", e.termination_date.as_deref())?;
    let inactive = match e.employment_status.as_deref() {
        Some("INACTIVE") => true,
        Some("ACTIVE" | "PENDING") | None => false,
        Some(other) => {
            return Err(HrError::Malformed(format!(
                "merge employee {} has employment_status `{other}`",
                e.id
            )));
        }
    };
    // Expanded relations are objects; unexpanded ones are bare ids (no email to use).
    let manager = e.manager.as_object().and_then(|m| {
        http::text(m.get("work_email").and_then(Value::as_str)).map(|email| Manager {
            email,
            employee_id: m.get("id").and_then(Value::as_str).map(str::to_owned),
        })
    });
    let work_location = e
        .work_location
        .as_object()
        .and_then(|l| http::text(l.get("name").and_then(Value::as_str)));
    Ok(HrRecord {
        email: http::required_email(VENDOR, &e.id, e.work_email.as_deref())?,
        display_name: http::text(e.display_full_name.as_deref()),
        status: if inactive || termination_date.is_some() {
            EmploymentStatus::Terminated
        } else {
            EmploymentStatus::Active
        },
        employee_id: e.id,
        termination_date,
        last_day_worked: None,
        work_location,
        time_zone: None,
        manager,
        involuntary: None,
    })
}

impl Merge {
    pub fn new(settings: MergeSettings) -> Self {
        Self {
            settings,
            http: http::client(),
        }
    }

    fn get(&self, url: url::Url) -> reqwest::RequestBuilder {
        self.http
            .get(url)
            .bearer_auth(self.settings.api_key.expose())
            .header("X-Account-Token", self.settings.account_token.expose())
            .header(ACCEPT, "application/json")
    }
}

#[async_trait]
impl HrSource for Merge {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    async fn employee(&self, employee_id: &str) -> Result<Option<HrRecord>, HrError> {
        http::check_id(VENDOR, employee_id)?;
        let base = http::base(VENDOR, &self.settings.base_url)?;
        let mut url = http::join(&base, &["api", "hris", "v1", "employees", employee_id]);
        url.query_pairs_mut().append_pair("expand", EXPAND);
        match http::send(VENDOR, "employee read", self.get(url)).await? {
            Outcome::NotFound => Ok(None),
            Outcome::Ok(response) => {
                let e: Employee = http::json(VENDOR, "employee read", response).await?;
                record(e).map(Some)
            }
        }
    }

    async fn terminations(&self, since: Date) -> Result<Vec<HrRecord>, HrError> {
        let base = http::base(VENDOR, &self.settings.base_url)?;
        let list = http::join(&base, &["api", "hris", "v1", "employees"]);
        let page_size = self
            .settings
            .page_size
            .unwrap_or(PAGE_SIZE)
            .clamp(1, PAGE_SIZE);
        let mut cursor: Option<String> = None;
        let mut records = Vec::new();
        for _ in 0..http::MAX_PAGES {
            let mut url = list.clone();
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("page_size", &page_size.to_string());
                q.append_pair("expand", EXPAND);
                if let Some(c) = &cursor {
                    q.append_pair("cursor", c);
                }
            }
            let response = http::send_ok(VENDOR, "employee list", self.get(url)).await?;
            let page: Page = http::json(VENDOR, "employee list", response).await?;
            for e in page.results {
                let r = record(e)?;
                if r.termination_date.is_some_and(|d| d >= since) {
                    records.push(r);
                }
            }
            match page.next {
                Some(next) if !next.is_empty() => cursor = Some(next),
                _ => break,
            }
        }
        Ok(records)
    }
}
