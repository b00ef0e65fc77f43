//! One run's page, read from its signed bundle: who left and when, each system's removal
//! against the SLA, the timeline, every step with its read-back, exceptions (waivers, HR
//! changes, human confirmations), graded access items when the bundle has them, and controls.

use super::{badge, duration, opt_duration, page, sla_bar, time};
use jiff::Timestamp;
use maud::{Markup, html};
use passage_core::compliance::Measure;
use passage_core::report::SlaOutcome;
use passage_core::{Action, DeviceAction, SlaClock, SlaPolicy};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub struct RunPageInput<'a> {
    /// `manifest.json` of the bundle.
    pub manifest: &'a Value,
    /// `timeline.json` of the bundle.
    pub timeline: &'a Value,
    /// The tenant's SLA (the bundle does not record it).
    pub sla: SlaPolicy,
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn ts(v: &Value) -> Option<Timestamp> {
    v.as_str().and_then(|s| s.parse().ok())
}

/// One system of the run: its access-removal steps and when the last was read back.
struct System {
    name: String,
    steps: Vec<String>,
    removed_at: Option<Timestamp>,
}

fn removes_access(step: &Value) -> bool {
    let action: Option<Action> = serde_json::from_value(step["action"].clone()).ok();
    step["critical"] == true
        && str_of(step, "provider") != "human"
        && action.is_some_and(|a| Measure::of(a, DeviceAction::Lock).removes_access())
}

fn systems(manifest: &Value) -> Vec<System> {
    let mut by: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for s in manifest["steps"].as_array().into_iter().flatten() {
        if removes_access(s) {
            by.entry(str_of(s, "provider").to_owned())
                .or_default()
                .push(s);
        }
    }
    by.into_iter()
        .map(|(name, steps)| {
            let all = steps.iter().all(|s| str_of(s, "state") == "verified");
            System {
                name,
                removed_at: if all {
                    steps.iter().filter_map(|s| ts(&s["verified_at"])).max()
                } else {
                    None
                },
                steps: steps.iter().map(|s| str_of(s, "key").to_owned()).collect(),
            }
        })
        .collect()
}

/// Where the SLA clock starts: the cutoff, or the later of it and HR's notice.
fn clock(manifest: &Value, sla: &SlaPolicy) -> Option<Timestamp> {
    let cutoff = ts(&manifest["cutoff"]["at"])?;
    let source = &manifest["hr_event"]["source"];
    let notice = ts(&source["received_at"]).or_else(|| ts(&source["found_at"]));
    Some(match (sla.from, notice) {
        (SlaClock::HrNotice, Some(n)) => cutoff.max(n),
        _ => cutoff,
    })
}

pub fn run_page(input: &RunPageInput<'_>) -> String {
    let m = input.manifest;
    let subject = &m["subject"];
    let title = format!(
        "Leaver run {} — {}",
        str_of(m, "run_id"),
        str_of(subject, "email")
    );
    page(
        &title,
        html! {
            h1 { (title) }
            p.meta {
                "Tenant " code { (str_of(m, "tenant")) } " · employee " (str_of(subject, "employee_id"))
                " · outcome " b { (str_of(m, "outcome")) }
                " · bundle #" (m["sequence"]) " · signing key " code { (str_of(&m["signing"], "public_key_sha256")) }
            }
            h2 { "Each system against the SLA" }
            (sla_section(m, &input.sla))
            h2 { "Timeline" }
            (timeline(input.timeline))
            h2 { "Steps" }
            (steps(m))
            h2 { "Exceptions and confirmations" }
            (exceptions(m))
            @if let Some(items) = m.get("access_items").and_then(Value::as_array) {
                h2 { "Graded access items" }
                (access_items(items))
            }
            h2 { "Controls" }
            (controls(m))
            p.note {
                "Made from the signed bundle: verify it with " code { "passage verify" }
                " or the openssl, sha256sum and jq steps in its VERIFY.md. Control ids name where the "
                "evidence is relevant; the auditor decides compliance."
            }
        },
    )
    .into_string()
}

fn sla_section(m: &Value, sla: &SlaPolicy) -> Markup {
    let within = sla.within.as_secs();
    let Some(start) = clock(m, sla) else {
        return html! { p.alert { "The manifest has no cutoff." } };
    };
    let due = start + jiff::SignedDuration::from_secs(within as i64);
    html! {
        p {
            "Cutoff " (time(ts(&m["cutoff"]["at"]).unwrap_or(start))) " (" (str_of(&m["cutoff"], "zone")) "). "
            "SLA: within " (duration(within as i64)) " of the " (sla.from.as_str().replace('_', " "))
            ", due " (time(due)) "."
        }
        table {
            tr { th { "System" } th { "Steps" } th { "Access removed" } th.num { "Delay" } th { "Against the SLA" } th { "SLA" } }
            @for s in systems(m) {
                @let delay = s.removed_at.map(|r| r.duration_since(start).as_secs());
                @let grade = match s.removed_at { Some(r) if r <= due => SlaOutcome::Met, Some(_) => SlaOutcome::Breached, None => SlaOutcome::Pending };
                tr {
                    td { (s.name) } td.mono { (s.steps.join(", ")) }
                    td { (s.removed_at.map(time).unwrap_or_else(|| "—".into())) }
                    td.num { (opt_duration(delay)) }
                    td { (sla_bar(delay, within, grade)) }
                    td { (badge(grade)) }
                }
            }
        }
    }
}

fn timeline(events: &Value) -> Markup {
    html! {
        table {
            tr { th { "When" } th { "What" } th { "Who" } th { "Detail" } }
            @for e in events.as_array().into_iter().flatten() {
                tr {
                    td { (ts(&e["at"]).map(time).unwrap_or_default()) }
                    td.mono { (str_of(e, "kind")) }
                    td { (str_of(e, "actor")) }
                    td { (detail(&e["detail"])) }
                }
            }
        }
    }
}

/// An event's detail in one line: the step, then the reason or message, else compact JSON.
fn detail(d: &Value) -> String {
    let step = str_of(d, "step");
    let why = ["reason", "message", "summary"]
        .iter()
        .map(|k| str_of(d, k))
        .find(|s| !s.is_empty())
        .unwrap_or("");
    match (step.is_empty(), why.is_empty()) {
        (false, false) => format!("{step}: {why}"),
        (false, true) => step.to_owned(),
        (true, false) => why.to_owned(),
        (true, true) if d.as_object().is_some_and(|o| o.is_empty()) || d.is_null() => String::new(),
        (true, true) => d.to_string().chars().take(160).collect(),
    }
}

fn steps(m: &Value) -> Markup {
    html! {
        table {
            tr { th { "Step" } th { "Critical" } th { "State" } th.num { "Attempts" } th { "Read back" } th { "Result" } th.num { "Request ids" } }
            @for s in m["steps"].as_array().into_iter().flatten() {
                tr {
                    td.mono { (str_of(s, "key")) }
                    td { @if s["critical"] == true { "yes" } @else { "no" } }
                    td { (str_of(s, "state")) }
                    td.num { (s["attempts"]) }
                    td { (ts(&s["verified_at"]).map(time).unwrap_or_else(|| "—".into())) }
                    td { (str_of(s, "summary")) }
                    td.num { (s["request_ids"].as_array().map_or(0, Vec::len)) }
                }
            }
        }
    }
}

fn exceptions(m: &Value) -> Markup {
    let rows: Vec<(String, String, String, String, String)> = m["waivers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            (
                "waiver".into(),
                str_of(w, "step").into(),
                str_of(w, "actor").into(),
                str_of(w, "reason").into(),
                str_of(w, "at").into(),
            )
        })
        .chain(m["hr_changes"].as_array().into_iter().flatten().map(|c| {
            (
                str_of(c, "kind").into(),
                String::new(),
                str_of(c, "actor").into(),
                detail(&c["detail"]),
                str_of(c, "at").into(),
            )
        }))
        .chain(
            m["confirmations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|c| {
                    let what = format!(
                        "{}: {} {}",
                        str_of(c, "label"),
                        str_of(c, "outcome"),
                        str_of(c, "condition")
                    );
                    (
                        "confirmation".into(),
                        str_of(c, "step").into(),
                        str_of(c, "actor").into(),
                        what,
                        str_of(c, "at").into(),
                    )
                }),
        )
        .collect();
    html! {
        @if rows.is_empty() {
            p { "None." }
        } @else {
            table {
                tr { th { "Kind" } th { "Step" } th { "Who" } th { "What / why" } th { "When" } }
                @for (kind, step, who, why, at) in &rows {
                    tr { td { (kind) } td.mono { (step) } td { (who) } td { (why) } td { (at) } }
                }
            }
        }
    }
}

/// Access items as the bundle lists them, whatever their fields: one column per field.
fn access_items(items: &[Value]) -> Markup {
    let columns: BTreeSet<String> = items
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|o| o.keys().cloned())
        .collect();
    let cell = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    html! {
        table {
            tr { @for c in &columns { th { (c) } } }
            @for i in items { tr { @for c in &columns { td { (cell(&i[c.as_str()])) } } } }
        }
    }
}

fn controls(m: &Value) -> Markup {
    html! {
        table {
            tr { th { "Control" } th { "Framework" } th { "Name" } th { "Steps" } }
            @for c in m["controls"].as_array().into_iter().flatten() {
                tr {
                    td.mono { (str_of(c, "id")) }
                    td { (str_of(c, "framework")) }
                    td { (str_of(c, "name")) }
                    td {
                        @for (rel, steps) in c["steps"].as_object().into_iter().flatten() {
                            (rel) ": " span.mono { (steps.as_array().map(|s| s.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()) } br;
                        }
                    }
                }
            }
        }
    }
}
