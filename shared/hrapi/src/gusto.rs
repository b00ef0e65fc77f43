//! Gusto: `GET {base}/v1/employees/{employee_uuid}` and
//! `GET {base}/v1/employees/{employee_uuid}/terminations` with `Authorization: Bearer <token>`
//! and a pinned `X-Gusto-API-Version`; the manager's email comes from their own employee
//! record (`manager_uuid`). The reconcile pages through
//! `GET /v1/companies/{company_uuid}/employees?terminated=true` (`page`/`per`) until a short
//! page.
//!
//! A Gusto termination's `effective_date` is the last day of work, so it fills both
//! `termination_date` and `last_day_worked`. Gusto's job location is a separate resource, so
//! `work_location` stays empty.

use async_trait::async_trait;
use jiff::civil::Date;
use passage_core::domain::Manager;
use passage_core::ports::{EmploymentStatus, HrError, HrRecord, HrSource};
use passage_core::secret::Secret;
use reqwest::header::ACCEPT;
use serde::Deserialize;

use crate::http::{self, Outcome};

const VENDOR: &str = "gusto";
/// The API version the client was written against.
pub const API_VERSION: &str = "2026-02-01";
/// Employees per page.
pub const PAGE_SIZE: usize = 100;

fn default_base_url() -> String {
    "https://api.gusto.com".into()
}

/// How to reach one Gusto company.
#[derive(Clone, Debug, Deserialize)]
pub struct GustoSettings {
    /// The OAuth access token (or system access token) for the company.
    pub access_token: Secret,
    /// The company whose employees the reconcile lists.
    pub company_uuid: String,
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// Employees per page; overridable to exercise paging.
    #[serde(default)]
    pub page_size: Option<usize>,
    /// The webhook subscription Passage's address is registered with. With `system_token`, it
    /// lets Passage complete Gusto's handshake itself: the `verification_token` Gusto posts to
    /// the address is confirmed with `PUT /v1/webhook_subscriptions/{uuid}/verify` and then
    /// authenticates deliveries.
    #[serde(default)]
    pub webhook_subscription_uuid: Option<String>,
    /// The organisation-level (system) access token webhook subscriptions are managed with.
    #[serde(default)]
    pub system_token: Option<Secret>,
}

impl GustoSettings {
    pub fn new(access_token: Secret, company_uuid: &str) -> Self {
        Self {
            access_token,
            company_uuid: company_uuid.to_owned(),
            base_url: default_base_url(),
            page_size: None,
            webhook_subscription_uuid: None,
            system_token: None,
        }
    }
}

/// The Gusto client.
pub struct Gusto {
    settings: GustoSettings,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Employee {
    uuid: String,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    work_email: Option<String>,
    manager_uuid: Option<String>,
    #[serde(default)]
    terminated: bool,
}

#[derive(Deserialize)]
struct Termination {
    effective_date: Option<String>,
}

impl Gusto {
    pub fn new(settings: GustoSettings) -> Self {
        Self {
            settings,
            http: http::client(),
        }
    }

    fn get(&self, url: url::Url) -> reqwest::RequestBuilder {
        self.http
            .get(url)
            .bearer_auth(self.settings.access_token.expose())
            .header("X-Gusto-API-Version", API_VERSION)
            .header(ACCEPT, "application/json")
    }

    async fn raw_employee(&self, uuid: &str) -> Result<Option<Employee>, HrError> {
        let base = http::base(VENDOR, &self.settings.base_url)?;
        let url = http::join(&base, &["v1", "employees", uuid]);
        match http::send(VENDOR, "employee read", self.get(url)).await? {
            Outcome::NotFound => Ok(None),
            Outcome::Ok(r) => http::json(VENDOR, "employee read", r).await.map(Some),
        }
    }

    /// The latest effective date among the employee's terminations.
    async fn termination_date(&self, uuid: &str) -> Result<Option<Date>, HrError> {
        let base = http::base(VENDOR, &self.settings.base_url)?;
        let url = http::join(&base, &["v1", "employees", uuid, "terminations"]);
        let terminations: Vec<Termination> =
            match http::send(VENDOR, "terminations read", self.get(url)).await? {
                Outcome::NotFound => return Ok(None),
                Outcome::Ok(r) => http::json(VENDOR, "terminations read", r).await?,
            };
        let mut latest = None;
        for t in terminations {
            let d = http::date(VENDOR, "effective_date", t.effective_date.as_deref())?;
            latest = latest.max(d);
        }
        Ok(latest)
    }

    async fn record(&self, e: Employee) -> Result<HrRecord, HrError> {
        let termination_date = self.termination_date(&e.uuid).await?;
        let manager = match http::text(e.manager_uuid.as_deref()) {
            Some(m) => self.raw_employee(&m).await?.and_then(|m| {
                http::text(m.work_email.as_deref().or(m.email.as_deref())).map(|email| Manager {
                    email,
                    employee_id: Some(m.uuid),
                })
            }),
            None => None,
        };
        let name = format!(
            "{} {}",
            e.first_name.as_deref().unwrap_or(""),
            e.last_name.as_deref().unwrap_or("")
        );
        Ok(HrRecord {
            email: http::required_email(
                VENDOR,
                &e.uuid,
                e.work_email.as_deref().or(e.email.as_deref()),
            )?,
            display_name: http::text(Some(&name)),
            status: if e.terminated || termination_date.is_some() {
                EmploymentStatus::Terminated
            } else {
                EmploymentStatus::Active
            },
            employee_id: e.uuid,
            termination_date,
            last_day_worked: termination_date,
            work_location: None,
            time_zone: None,
            manager,
            involuntary: None,
        })
    }
}

#[async_trait]
impl HrSource for Gusto {
    fn vendor(&self) -> &'static str {
        VENDOR
    }

    async fn employee(&self, employee_id: &str) -> Result<Option<HrRecord>, HrError> {
        http::check_id(VENDOR, employee_id)?;
        match self.raw_employee(employee_id).await? {
            Some(e) => self.record(e).await.map(Some),
            None => Ok(None),
        }
    }

    async fn terminations(&self, since: Date) -> Result<Vec<HrRecord>, HrError> {
        http::check_id(VENDOR, &self.settings.company_uuid)?;
        let base = http::base(VENDOR, &self.settings.base_url)?;
        let list = http::join(
            &base,
            &[
                "v1",
                "companies",
                self.settings.company_uuid.as_str(),
                "employees",
            ],
        );
        let per = self.settings.page_size.unwrap_or(PAGE_SIZE).clamp(1, 100);
        let mut records = Vec::new();
        for page in 1..=http::MAX_PAGES {
            let mut url = list.clone();
            url.query_pairs_mut()
                .append_pair("terminated", "true")
                .append_pair("page", &page.to_string())
                .append_pair("per", &per.to_string());
            let response = http::send_ok(VENDOR, "company employees", self.get(url)).await?;
            let employees: Vec<Employee> =
                http::json(VENDOR, "company employees", response).await?;
            let short = employees.len() < per;
            for e in employees {
                let r = self.record(e).await?;
                if r.termination_date.is_some_and(|d| d >= since) {
                    records.push(r);
                }
            }
            if short {
                break;
            }
        }
        Ok(records)
    }

    async fn confirm_webhook_token(&self, token: &Secret) -> Result<bool, HrError> {
        let (Some(uuid), Some(system_token)) = (
            self.settings.webhook_subscription_uuid.as_deref(),
            self.settings.system_token.as_ref(),
        ) else {
            return Err(HrError::Denied(
                "gusto: set webhook_subscription_uuid and system_token in hr_api so Passage can verify the webhook subscription".into(),
            ));
        };
        http::check_id(VENDOR, uuid)?;
        let base = http::base(VENDOR, &self.settings.base_url)?;
        let url = http::join(&base, &["v1", "webhook_subscriptions", uuid, "verify"]);
        let request = self
            .http
            .put(url)
            .bearer_auth(system_token.expose())
            .header("X-Gusto-API-Version", API_VERSION)
            .header(ACCEPT, "application/json")
            .json(&serde_json::json!({"verification_token": token.expose()}));
        let response = request.send().await.map_err(|e| {
            HrError::Unavailable(format!("gusto subscription verify: {}", e.without_url()))
        })?;
        // Gusto answers a token it did not issue with 422 (400 on older versions).
        if matches!(response.status().as_u16(), 400 | 422) {
            return Ok(false);
        }
        match http::classify_status(VENDOR, "subscription verify", response)? {
            Outcome::Ok(_) => Ok(true),
            Outcome::NotFound => Err(HrError::Denied(format!(
                "gusto has no webhook subscription {uuid} (check webhook_subscription_uuid)"
            ))),
        }
    }
}
