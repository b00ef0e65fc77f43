//! BambooHR: `GET {base}/{companyDomain}/v1/employees/{id}?fields=…` for one employee, and the
//! paged employee dataset (`POST {base}/{companyDomain}/v2/datasets/employee/data`, filtered on
//! `terminationDate ge '<since>'`) to find who has a termination on record for the reconcile.
//! HTTP Basic with the API key as user name and `x` as password; `Accept: application/json`.
//!
//! BambooHR keeps `status` at `Active` until a future termination date is reached, so a
//! recorded `terminationDate` (anything but `0000-00-00`) is what marks a leaver; `Inactive`
//! without a date is a leaver too. A termination dated in the future is a history-table value
//! BambooHR returns only with `onlyCurrent=false`, which the employee read always sends.

use async_trait::async_trait;
use jiff::civil::Date;
use passage_core::domain::Manager;
use passage_core::ports::{EmploymentStatus, HrError, HrRecord, HrSource};
use passage_core::secret::Secret;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde_json::json;

use crate::http::{self, Outcome};

const VENDOR: &str = "bamboohr";
/// Rows per dataset page (BambooHR allows up to 1000).
pub const PAGE_SIZE: usize = 200;
/// The fields one employee read asks for.
const FIELDS: &str = "displayName,firstName,lastName,workEmail,status,terminationDate,location,supervisorEId,supervisorEmail";

fn default_base_url() -> String {
    "https://api.bamboohr.com/api/gateway.php".into()
}

/// How to reach one BambooHR account.
#[derive(Clone, Debug, Deserialize)]
pub struct BambooHrSettings {
    /// The `{companyDomain}` of `https://{companyDomain}.bamboohr.com`.
    pub company_domain: String,
    /// An API key of a user who can view the fields above.
    pub api_key: Secret,
    /// The gateway base; overridable for tests.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Dataset page size; overridable to exercise paging.
    #[serde(default)]
    pub page_size: Option<usize>,
}

impl BambooHrSettings {
    pub fn new(company_domain: &str, api_key: Secret) -> Self {
        Self {
            company_domain: company_domain.to_owned(),
            api_key,
            base_url: default_base_url(),
            page_size: None,
        }
    }
}

/// The BambooHR client.
pub struct BambooHr {
    settings: BambooHrSettings,
    http: reqwest::Client,
}

impl BambooHr {
    pub fn new(settings: BambooHrSettings) -> Self {
        Self {
            settings,
            http: http::client(),
        }
    }

    fn url(&self, tail: &[&str]) -> Result<url::Url, HrError> {
        let domain = self.settings.company_domain.trim();
        if domain.is_empty()
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(HrError::Malformed(format!(
                "bamboohr company_domain `{domain}` must be the bare subdomain (e.g. `acme` for acme.bamboohr.com)"
            )));
        }
        let base = http::base(VENDOR, &self.settings.base_url)?;
        let mut segments = vec![domain];
        segments.extend_from_slice(tail);
        Ok(http::join(&base, &segments))
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request
            .basic_auth(self.settings.api_key.expose(), Some("x"))
            .header(ACCEPT, "application/json")
    }
}

/// `GET /v1/employees/{id}` with the fields Passage asks for.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Employee {
    id: Option<String>,
    display_name: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    work_email: Option<String>,
    status: Option<String>,
    termination_date: Option<String>,
    location: Option<String>,
    #[serde(rename = "supervisorEId")]
    supervisor_eid: Option<String>,
    supervisor_email: Option<String>,
}

fn record(requested_id: &str, e: Employee) -> Result<HrRecord, HrError> {
    let employee_id = e.id.clone().unwrap_or_else(|| requested_id.to_owned());
    let termination_date = http::date(VENDOR, "terminationDate", e.termination_date.as_deref())?;
    let inactive = match e.status.as_deref() {
        Some("Active") | None => false,
        Some("Inactive") => true,
        Some(other) => {
            return Err(HrError::Malformed(format!(
                "bamboohr employee {employee_id} has status `{other}` (expected Active or Inactive)"
            )));
        }
    };
    let status = if inactive || termination_date.is_some() {
        EmploymentStatus::Terminated
    } else {
        EmploymentStatus::Active
    };
    let display_name = http::text(e.display_name.as_deref()).or_else(|| {
        let full = format!(
            "{} {}",
            e.first_name.as_deref().unwrap_or(""),
            e.last_name.as_deref().unwrap_or("")
        );
        http::text(Some(&full))
    });
    let manager = http::text(e.supervisor_email.as_deref()).map(|email| Manager {
        email,
        employee_id: http::text(e.supervisor_eid.as_deref()),
    });
    Ok(HrRecord {
        email: http::required_email(VENDOR, &employee_id, e.work_email.as_deref())?,
        employee_id,
        display_name,
        status,
        termination_date,
        last_day_worked: None,
        work_location: http::text(e.location.as_deref()),
        time_zone: None,
        manager,
        involuntary: None,
    })
}

#[derive(Deserialize)]
struct DatasetPage {
    data: Vec<DatasetRow>,
    meta: DatasetMeta,
}

#[derive(Deserialize)]
struct DatasetRow {
    fields: DatasetFields,
}

#[derive(Deserialize)]
struct DatasetFields {
    eeid: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DatasetMeta {
    page: usize,
    total_pages: usize,
}

#[async_trait]
impl HrSource for BambooHr {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    async fn employee(&self, employee_id: &str) -> Result<Option<HrRecord>, HrError> {
        http::check_id(VENDOR, employee_id)?;
        let mut url = self.url(&["v1", "employees", employee_id])?;
        // Without onlyCurrent=false BambooHR answers with today's values only, and a
        // termination dated in the future is not among them.
        url.query_pairs_mut()
            .append_pair("fields", FIELDS)
            .append_pair("onlyCurrent", "false");
        let request = self.authorized(self.http.get(url));
        match http::send(VENDOR, "employee read", request).await? {
            Outcome::NotFound => Ok(None),
            Outcome::Ok(response) => {
                let e: Employee = http::json(VENDOR, "employee read", response).await?;
                record(employee_id, e).map(Some)
            }
        }
    }

    /// The dataset finds the ids (one request per page); each leaver is then read with the
    /// employee endpoint, which is the record the webhook path also uses.
    async fn terminations(&self, since: Date) -> Result<Vec<HrRecord>, HrError> {
        let url = self.url(&["v2", "datasets", "employee", "data"])?;
        let page_size = self.settings.page_size.unwrap_or(PAGE_SIZE).clamp(1, 1000);
        let mut ids = Vec::new();
        let mut page = 1;
        loop {
            let body = json!({
                "fields": ["eeid", "terminationDate"],
                "filter": format!("terminationDate ge '{since}'"),
                "page": page,
                "pageSize": page_size,
            });
            let request = self.authorized(self.http.post(url.clone()).json(&body));
            let response = http::send_ok(VENDOR, "employee dataset", request).await?;
            let parsed: DatasetPage = http::json(VENDOR, "employee dataset", response).await?;
            for row in parsed.data {
                match row.fields.eeid {
                    serde_json::Value::String(s) => ids.push(s),
                    serde_json::Value::Number(n) => ids.push(n.to_string()),
                    other => {
                        return Err(HrError::Malformed(format!(
                            "bamboohr employee dataset row has eeid {other}"
                        )));
                    }
                }
            }
            if parsed.meta.page >= parsed.meta.total_pages || page >= http::MAX_PAGES {
                break;
            }
            page = parsed.meta.page + 1;
        }
        let mut records = Vec::with_capacity(ids.len());
        for id in ids {
            // An employee deleted between the two calls has nothing left to reconcile.
            if let Some(r) = self.employee(&id).await? {
                records.push(r);
            }
        }
        Ok(records)
    }
}
