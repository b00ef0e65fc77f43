//! The HR side of a chaos run: every leaver is sent twice at the same moment under two delivery
//! ids (two events for one employee racing each other), and every delivery whose answer was
//! lost to a kill is sent again, as an HR system resends.

use super::seed;
use crate::harness::{Cutoff, tenant_leaver_event};
use passage_hris::WebhookSecret;
use std::time::Duration;

pub struct Delivery {
    pub id: String,
    pub employee_id: String,
    body: Vec<u8>,
    /// The run the server answered with, once it answered.
    pub run: Option<String>,
}

#[derive(Default)]
pub struct Intake {
    pub deliveries: Vec<Delivery>,
    /// Answers that named a different run for a resent delivery, or for the same employee.
    pub mismatches: Vec<String>,
}

impl Intake {
    /// Adds leaver `i`: two deliveries for one employee.
    pub fn add(&mut self, tenant: &str, i: usize) {
        let employee_id = format!("CH{i}");
        let body = tenant_leaver_event(tenant, &seed::login(i), &employee_id, Cutoff::Immediate);
        for copy in ["a", "b"] {
            self.deliveries.push(Delivery {
                id: format!("msg_chaos_{i}_{copy}"),
                employee_id: employee_id.clone(),
                body: body.clone(),
                run: None,
            });
        }
    }

    /// Deliveries without an answer yet.
    pub fn unanswered(&self) -> usize {
        self.deliveries.iter().filter(|d| d.run.is_none()).count()
    }

    /// Sends every unanswered delivery at once; the task ends with the answers as (index,
    /// run id).
    pub fn send(
        &self,
        tenant: &str,
        url: &str,
        secret: &WebhookSecret,
    ) -> tokio::task::JoinHandle<Vec<(usize, Option<String>)>> {
        let http = reqwest::Client::new();
        let endpoint = format!("{url}/v1/tenants/{tenant}/webhooks/leaver");
        let mut posts = tokio::task::JoinSet::new();
        for (i, d) in self.deliveries.iter().enumerate() {
            if d.run.is_none() {
                let request = signed(&http, &endpoint, secret, &d.id, &d.body);
                posts.spawn(async move { (i, answer(request).await) });
            }
        }
        tokio::spawn(posts.join_all())
    }

    /// Records answers, and any that disagree with an earlier one.
    pub fn record(&mut self, answers: Vec<(usize, Option<String>)>) {
        for (i, run) in answers {
            let Some(run) = run else { continue };
            let employee = self.deliveries[i].employee_id.clone();
            let earlier = self
                .deliveries
                .iter()
                .filter(|d| d.employee_id == employee)
                .find_map(|d| d.run.clone());
            if let Some(earlier) = earlier.filter(|e| *e != run) {
                self.mismatches.push(format!(
                    "{}: run {run}, but {employee} already had {earlier}",
                    self.deliveries[i].id
                ));
            }
            self.deliveries[i].run = Some(run);
        }
    }
}

fn signed(
    http: &reqwest::Client,
    endpoint: &str,
    secret: &WebhookSecret,
    id: &str,
    body: &[u8],
) -> reqwest::RequestBuilder {
    let ts = jiff::Timestamp::now().as_second();
    let mut request = http
        .post(endpoint)
        .timeout(Duration::from_secs(10))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in passage_hris::signed_headers(secret, id, ts, body) {
        request = request.header(k, v);
    }
    request
}

/// The run id of a 200 or 202; nothing for a refusal or a connection lost to a kill.
async fn answer(request: reqwest::RequestBuilder) -> Option<String> {
    let response = request.send().await.ok()?;
    if !response.status().is_success() {
        return None;
    }
    let v: serde_json::Value = response.json().await.ok()?;
    Some(v["run_id"].as_str()?.to_owned())
}
