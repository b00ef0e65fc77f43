//! Rippling (platform API v1): `GET {base}/platform/api/employees/{id}` with
//! `Authorization: Bearer <API token>`; the manager's email from their own record (`manager` is
//! an id). The reconcile pages through `GET /platform/api/employees/include_terminated`
//! (`limit`/`offset`, a bare array per page) until a short page.
//!
//! A recorded `endDate`, or `roleState: TERMINATED`, marks a leaver. Rippling's work location
//! is a separate resource, so `work_location` stays empty.

use async_trait::async_trait;
use jiff::civil::Date;
use passage_core::domain::Manager;
use passage_core::ports::{EmploymentStatus, HrError, HrRecord, HrSource};
use passage_core::secret::Secret;
use reqwest::header::ACCEPT;
use serde::Deserialize;

use crate::http::{self, Outcome};

const VENDOR: &str = "rippling";
/// Employees per page (Rippling serves at most 100).
pub const PAGE_SIZE: usize = 100;

fn default_base_url() -> String {
    "https://api.rippling.com".into()
}

/// How to reach one Rippling company.
#[derive(Clone, Debug, Deserialize)]
pub struct RipplingSettings {
    pub api_token: Secret,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Employees per page; overridable to exercise paging.
    #[serde(default)]
    pub page_size: Option<usize>,
}

impl RipplingSettings {
    pub fn new(api_token: Secret) -> Self {
        Self {
            api_token,
            base_url: default_base_url(),
            page_size: None,
        }
    }
}

/// The Rippling client.
pub struct Rippling {
    settings: RipplingSettings,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Employee {
    id: String,
    name: Option<String>,
    work_email: Option<String>,
    role_state: Option<String>,
    end_date: Option<String>,
    manager: Option<String>,
}

impl Rippling {
    pub fn new(settings: RipplingSettings) -> Self {
        Self {
            settings,
            http: http::client(),
        }
    }

    fn get(&self, segments: &[&str]) -> Result<reqwest::RequestBuilder, HrError> {
        let base = http::base(VENDOR, &self.settings.base_url)?;
        Ok(self
            .http
            .get(http::join(&base, segments))
            .bearer_auth(self.settings.api_token.expose())
            .header(ACCEPT, "application/json"))
    }

    async fn raw(&self, id: &str) -> Result<Option<Employee>, HrError> {
        let request = self.get(&["platform", "api", "employees", id])?;
        match http::send(VENDOR, "employee read", request).await? {
            Outcome::NotFound => Ok(None),
            Outcome::Ok(r) => http::json(VENDOR, "employee read", r).await.map(Some),
        }
    }

    async fn record(&self, e: Employee) -> Result<HrRecord, HrError> {
        let termination_date = http::date(VENDOR, "endDate", e.end_date.as_deref())?;
        let terminated = termination_date.is_some()
            || e.role_state
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("TERMINATED"));
        let manager = match http::text(e.manager.as_deref()) {
            Some(mid) => self.raw(&mid).await?.and_then(|m| {
                http::text(m.work_email.as_deref()).map(|email| Manager {
                    email,
                    employee_id: Some(m.id),
                })
            }),
            None => None,
        };
        Ok(HrRecord {
            email: http::required_email(VENDOR, &e.id, e.work_email.as_deref())?,
            display_name: http::text(e.name.as_deref()),
            status: if terminated {
                EmploymentStatus::Terminated
            } else {
                EmploymentStatus::Active
            },
            employee_id: e.id,
            termination_date,
            last_day_worked: None,
            work_location: None,
            time_zone: None,
            manager,
            involuntary: None,
        })
    }
}

#[async_trait]
impl HrSource for Rippling {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    async fn employee(&self, employee_id: &str) -> Result<Option<HrRecord>, HrError> {
        http::check_id(VENDOR, employee_id)?;
        match self.raw(employee_id).await? {
            Some(e) => self.record(e).await.map(Some),
            None => Ok(None),
        }
    }

    async fn terminations(&self, since: Date) -> Result<Vec<HrRecord>, HrError> {
        let limit = self
            .settings
            .page_size
            .unwrap_or(PAGE_SIZE)
            .clamp(1, PAGE_SIZE);
        let mut offset = 0;
        let mut records = Vec::new();
        for _ in 0..http::MAX_PAGES {
            let request = self
                .get(&["platform", "api", "employees", "include_terminated"])?
                .query(&[("limit", limit), ("offset", offset)]);
            let response = http::send_ok(VENDOR, "employee list", request).await?;
            let page: Vec<Employee> = http::json(VENDOR, "employee list", response).await?;
            let got = page.len();
            for e in page {
                // Only leavers in the window are worth a manager lookup.
                let end = http::date(VENDOR, "endDate", e.end_date.as_deref())?;
                if end.is_some_and(|d| d >= since) {
                    records.push(self.record(e).await?);
                }
            }
            offset += got;
            if got < limit {
                break;
            }
        }
        Ok(records)
    }
}
