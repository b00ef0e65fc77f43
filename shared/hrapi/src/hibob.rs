//! HiBob: `POST {base}/v1/people/{id}` (read one employee's fields) and
//! `POST {base}/v1/people/search` with `showInactive: true` for the reconcile — HiBob returns
//! every match in one response (it does not paginate people reads), so the termination filter
//! runs here. HTTP Basic with the service user's id and token.
//!
//! Only a recorded `internal.terminationDate` or lifecycle status `terminated` marks a leaver:
//! `internal.status` `Inactive` alone also covers leave of absence, which is not a departure.
//! HiBob exposes a site name (`work.site`) but no time zone on the employee, so `time_zone`
//! stays empty.

use async_trait::async_trait;
use jiff::civil::Date;
use passage_core::domain::Manager;
use passage_core::ports::{EmploymentStatus, HrError, HrRecord, HrSource};
use passage_core::secret::Secret;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde_json::json;

use crate::http::{self, Outcome};

const VENDOR: &str = "hibob";
/// The field ids Passage reads.
const FIELDS: &[&str] = &[
    "root.id",
    "root.email",
    "root.displayName",
    "work.site",
    "work.siteId",
    "work.reportsTo",
    "internal.status",
    "internal.lifecycleStatus",
    "internal.terminationDate",
];

fn default_base_url() -> String {
    "https://api.hibob.com".into()
}

/// How to reach one HiBob company.
#[derive(Clone, Debug, Deserialize)]
pub struct HiBobSettings {
    /// The API service user's id.
    pub service_user_id: String,
    /// The service user's token.
    pub token: Secret,
    #[serde(default = "default_base_url")]
    pub base_url: String,
}

impl HiBobSettings {
    pub fn new(service_user_id: &str, token: Secret) -> Self {
        Self {
            service_user_id: service_user_id.to_owned(),
            token,
            base_url: default_base_url(),
        }
    }
}

/// The HiBob client.
pub struct HiBob {
    settings: HiBobSettings,
    http: reqwest::Client,
}

impl HiBob {
    pub fn new(settings: HiBobSettings) -> Self {
        Self {
            settings,
            http: http::client(),
        }
    }

    fn post(
        &self,
        segments: &[&str],
        body: serde_json::Value,
    ) -> Result<reqwest::RequestBuilder, HrError> {
        let base = http::base(VENDOR, &self.settings.base_url)?;
        Ok(self
            .http
            .post(http::join(&base, segments))
            .basic_auth(
                &self.settings.service_user_id,
                Some(self.settings.token.expose()),
            )
            .header(ACCEPT, "application/json")
            .json(&body))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Employee {
    id: serde_json::Value,
    email: Option<String>,
    display_name: Option<String>,
    #[serde(default)]
    work: Work,
    #[serde(default)]
    internal: Internal,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Work {
    site: Option<String>,
    reports_to: Option<ReportsTo>,
}

#[derive(Deserialize)]
struct ReportsTo {
    id: Option<serde_json::Value>,
    email: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Internal {
    lifecycle_status: Option<String>,
    termination_date: Option<String>,
}

#[derive(Deserialize)]
struct SearchResult {
    employees: Vec<Employee>,
}

fn id_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => http::text(Some(s)),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn record(e: Employee) -> Result<HrRecord, HrError> {
    let employee_id = id_text(&e.id)
        .ok_or_else(|| HrError::Malformed(format!("hibob employee without an id: {}", e.id)))?;
    let termination_date = http::date(
        VENDOR,
        "internal.terminationDate",
        e.internal.termination_date.as_deref(),
    )?;
    let terminated = termination_date.is_some()
        || e.internal
            .lifecycle_status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("terminated"));
    let manager = e.work.reports_to.and_then(|r| {
        http::text(r.email.as_deref()).map(|email| Manager {
            email,
            employee_id: r.id.as_ref().and_then(id_text),
        })
    });
    Ok(HrRecord {
        email: http::required_email(VENDOR, &employee_id, e.email.as_deref())?,
        employee_id,
        display_name: http::text(e.display_name.as_deref()),
        status: if terminated {
            EmploymentStatus::Terminated
        } else {
            EmploymentStatus::Active
        },
        termination_date,
        last_day_worked: None,
        work_location: http::text(e.work.site.as_deref()),
        time_zone: None,
        manager,
        involuntary: None,
    })
}

#[async_trait]
impl HrSource for HiBob {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    async fn employee(&self, employee_id: &str) -> Result<Option<HrRecord>, HrError> {
        http::check_id(VENDOR, employee_id)?;
        let request = self.post(&["v1", "people", employee_id], json!({ "fields": FIELDS }))?;
        match http::send(VENDOR, "employee read", request).await? {
            Outcome::NotFound => Ok(None),
            Outcome::Ok(response) => {
                let e: Employee = http::json(VENDOR, "employee read", response).await?;
                record(e).map(Some)
            }
        }
    }

    async fn terminations(&self, since: Date) -> Result<Vec<HrRecord>, HrError> {
        let request = self.post(
            &["v1", "people", "search"],
            json!({ "fields": FIELDS, "showInactive": true }),
        )?;
        let response = http::send_ok(VENDOR, "people search", request).await?;
        let result: SearchResult = http::json(VENDOR, "people search", response).await?;
        let mut records = Vec::new();
        for e in result.employees {
            let r = record(e)?;
            if r.termination_date.is_some_and(|d| d >= since) {
                records.push(r);
            }
        }
        Ok(records)
    }
}
