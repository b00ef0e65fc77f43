//! JumpCloud: the credential and the organisation by `GET /api/organizations`, then one read
//! per resource a run touches. No read shows a credential's role, so the role's writes stay
//! unproven.

use super::{Evidence, Probe, Verdict};
use crate::jumpcloud::JumpCloudSettings;
use crate::jumpcloud::api::Api;
use passage_core::{CallRecord, DeviceAction, Step};
use reqwest::Method;
use serde_json::Value;

type Calls = Vec<CallRecord>;

const READ_ROLE: &str = "Read Only";
const WRITE_ROLE: &str = "Administrator";

pub(super) async fn check(
    settings: JumpCloudSettings,
    _plan: &[Step],
    http: &reqwest::Client,
) -> Evidence {
    let devices = settings.policy.devices != DeviceAction::None;
    let org_id = settings.org_id.clone();
    let api = Api::new(settings, http.clone());
    let mut calls = Calls::new();
    let orgs = api
        .call(
            Method::GET,
            api.url(&["api", "organizations"]),
            None,
            &[],
            &mut calls,
        )
        .await;
    let orgs = match orgs {
        Ok(answer) => answer.body,
        Err(f) => {
            let why = format!("{} ({})", f.message, f.code);
            return Evidence::new(Err(why), calls);
        }
    };
    let mut evidence = Evidence::new(Ok(organisation(&orgs, org_id.as_deref())), Vec::new());
    let mut reads = vec![
        ("one user", vec!["api", "systemusers"]),
        ("one user group", vec!["api", "v2", "usergroups"]),
        ("one system", vec!["api", "systems"]),
    ];
    if devices {
        reads.push(("the Apple MDM servers", vec!["api", "v2", "applemdms"]));
    }
    let mut all_read = true;
    for (what, segments) in reads {
        let mut url = api.url(&segments);
        url.query_pairs_mut().append_pair("limit", "1");
        let answer = api.call(Method::GET, url, None, &[], &mut calls).await;
        all_read &= answer.is_ok();
        let probe = Probe::new(what, &[READ_ROLE]).from(&answer, |_| "answered".into());
        evidence.reads.push(probe);
    }
    evidence.grant(
        READ_ROLE,
        if all_read {
            Verdict::Held("every read answered".into())
        } else {
            Verdict::Missing("the credential's role may not read everything a run reads".into())
        },
    );
    evidence.grant(
        WRITE_ROLE,
        Verdict::Unproven("JumpCloud's API shows no credential's role".into()),
    );
    evidence.calls = calls;
    evidence
}

/// Which organisations the credential reaches, and whether the configured one is among them.
fn organisation(orgs: &Value, org_id: Option<&str>) -> String {
    let list = orgs["results"].as_array().cloned().unwrap_or_default();
    let names: Vec<String> = list
        .iter()
        .map(|o| {
            o["displayName"]
                .as_str()
                .or(o["id"].as_str())
                .unwrap_or("?")
                .to_owned()
        })
        .collect();
    match org_id {
        Some(id) => format!(
            "the credential reaches organisation {id} (sent as x-org-id); it lists {}",
            names.join(", ")
        ),
        None => format!(
            "the credential was accepted; organisation {}",
            names.join(", ")
        ),
    }
}
