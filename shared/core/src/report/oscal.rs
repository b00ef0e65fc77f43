//! The period as an OSCAL assessment-results document (NIST OSCAL 1.0.6 JSON): one observation
//! per verified step, findings for SLA breaches, exceptions and missing leavers, and back-matter
//! resources that point at each bundle by its manifest hash. GRC tools read it; the signed
//! report, not this file, is the trust anchor.
//!
//! Targets use the ids of the frameworks' own OSCAL catalogs: NIST SP 800-53 Rev. 5 (`ps-4`),
//! SP 800-171 Rev. 3 (`SP_800_171_03.09.02`) and CSF 2.0 (`PR.AA-05`). Controls of frameworks
//! without an OSCAL catalog (SOC 2, HIPAA, ISO 27001, CIS) appear as `control` properties in
//! Passage's namespace. UUIDs are derived from the report's content (version 5), so the same
//! report always gives the same document.

use super::Completeness;
use super::build::PeriodReport;
use super::exceptions::ExceptionRow;
use super::leaver::{LeaverRow, SlaOutcome, VerifiedStep};
use crate::compliance::{Control, Framework};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use uuid::Uuid;

/// The OSCAL version the document is written against (the schema tests validate it with).
pub const OSCAL_VERSION: &str = "1.0.6";
/// Where the document sits in a signed report.
pub const PATH: &str = "oscal/assessment-results.json";
/// Passage's property namespace.
const NS: &str = "urn:passage:oscal";
/// The namespace Passage's version-5 UUIDs are drawn in.
const UUID_NS: Uuid = Uuid::from_u128(0x6f1c_2a3e_8b4d_4c5f_9e0a_1b2c_3d4e_5f60);
/// The catalog controls that ask for access to be removed on termination within a set time:
/// what an SLA breach fails.
const TIMELINESS_TARGETS: [&str; 3] = ["ps-4", "SP_800_171_03.09.02", "PR.AA-05"];

fn uuid(parts: &[&str]) -> String {
    Uuid::new_v5(&UUID_NS, parts.join("\n").as_bytes()).to_string()
}

/// The control's id in its framework's OSCAL catalog, where the framework has one:
/// `PS-4a` → `ps-4`, `PS-4(2)` → `ps-4.2`, `03.09.02.a.01` → `SP_800_171_03.09.02`,
/// `PR.AA-05` → `PR.AA-05`.
pub fn catalog_id(control: &Control) -> Option<String> {
    let r = control.reference;
    match control.framework {
        Framework::Nist80053r5 => {
            let (family, rest) = r.split_once('-')?;
            let number: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let tail = &rest[number.len()..];
            let enhancement = tail
                .strip_prefix('(')
                .and_then(|t| t.split_once(')'))
                .map(|(n, _)| format!(".{n}"))
                .unwrap_or_default();
            Some(format!(
                "{}-{number}{enhancement}",
                family.to_ascii_lowercase()
            ))
        }
        Framework::Nist800171r3 => {
            let base: Vec<&str> = r.split('.').take(3).collect();
            Some(format!("SP_800_171_{}", base.join(".")))
        }
        Framework::NistCsf20 => Some(r.to_owned()),
        _ => None,
    }
}

/// Every control listed for a step, by its Passage id, with its catalog id where one exists.
fn step_control_ids(step: &VerifiedStep) -> Vec<(String, Option<String>)> {
    let all = crate::compliance::Measure::ALL
        .iter()
        .flat_map(|m| crate::compliance::mapping(*m).iter().map(|(_, c)| *c))
        .collect::<Vec<Control>>();
    step.controls
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["id"].as_str())
        .map(|id| {
            let catalog = all.iter().find(|c| c.id() == id).and_then(catalog_id);
            (id.to_owned(), catalog)
        })
        .collect()
}

fn prop(name: &str, value: impl Into<String>) -> Value {
    json!({"name": name, "ns": NS, "value": value.into()})
}

/// The back-matter resource of a leaver's bundle, if it has one.
fn bundle_resource_uuid(l: &LeaverRow) -> Option<String> {
    l.bundle.as_ref().map(|_| uuid(&["bundle", &l.run_id]))
}

fn observation(report: &PeriodReport, l: &LeaverRow, s: &VerifiedStep) -> Value {
    let mut props = vec![
        prop("run-id", &l.run_id),
        prop("employee-id", &l.employee_id),
        prop("step", &s.key),
    ];
    for (id, _) in step_control_ids(s) {
        props.push(prop("control", id));
    }
    let evidence = match (bundle_resource_uuid(l), &l.bundle) {
        (Some(r), Some(b)) => json!({
            "href": format!("#{r}"),
            "description": format!("evidence/{}/{}.json in bundle {} (manifest SHA-256 {})",
                s.provider, s.action, b.sequence, b.manifest_sha256),
        }),
        _ => json!({"description": format!("run {} is still open; no bundle yet", l.run_id)}),
    };
    json!({
        "uuid": uuid(&["observation", &report.tenant, &l.run_id, &s.key]),
        "title": format!("{} read back for employee {}", s.key, l.employee_id),
        "description": format!("{}: {}", s.description, s.summary.as_deref().unwrap_or("verified")),
        "props": props,
        "methods": ["TEST"],
        "types": ["control-objective"],
        "subjects": [{"subject-uuid": uuid(&["leaver", &l.run_id]), "type": "resource",
            "title": format!("run {} (employee {})", l.run_id, l.employee_id)}],
        "relevant-evidence": [evidence],
        "collected": s.verified_at,
    })
}

fn related(report: &PeriodReport, l: &LeaverRow) -> Option<Value> {
    let list: Vec<Value> = l
        .verified_steps
        .iter()
        .map(|s| json!({"observation-uuid": uuid(&["observation", &report.tenant, &l.run_id, &s.key])}))
        .collect();
    (!list.is_empty()).then_some(Value::Array(list))
}

fn finding(
    uuid: String,
    title: String,
    description: String,
    target: &str,
    satisfied: bool,
) -> Value {
    json!({
        "uuid": uuid,
        "title": title,
        "description": description,
        "target": {
            "type": "statement-id",
            "target-id": target,
            "status": {
                "state": if satisfied { "satisfied" } else { "not-satisfied" },
                "reason": if satisfied { "other" } else { "fail" },
            },
        },
    })
}

fn breach_findings(report: &PeriodReport, l: &LeaverRow) -> Vec<Value> {
    let late = match l.delay_seconds {
        Some(d) => format!("access was removed {d} s after the SLA clock started"),
        None => "access is not yet removed".to_owned(),
    };
    TIMELINESS_TARGETS
        .iter()
        .map(|target| {
            let mut f = finding(
                uuid(&["breach", &report.tenant, &l.run_id, target]),
                format!("SLA breach: employee {}", l.employee_id),
                format!(
                    "Run {}: {late}; the SLA allows {} s from the {}.",
                    l.run_id,
                    report.sla.seconds,
                    report.sla.from.as_str()
                ),
                target,
                false,
            );
            if let Some(r) = related(report, l) {
                f["related-observations"] = r;
            }
            f
        })
        .collect()
}

/// An exception that leaves access in place (a failure, a block) fails the control; one that
/// is documented and resolved (a waiver, a reschedule, a retry) is recorded as satisfied for
/// another reason, with who and why.
fn exception_finding(report: &PeriodReport, l: &LeaverRow, i: usize, e: &ExceptionRow) -> Value {
    let unresolved = matches!(e.kind.as_str(), "step_failed" | "blocked" | "dead_lettered")
        && !l.state.is_terminal();
    let mut f = finding(
        uuid(&["exception", &report.tenant, &l.run_id, &i.to_string()]),
        format!("Exception ({}): employee {}", e.kind, l.employee_id),
        format!(
            "Run {}{}: {} by {} at {}: {}",
            l.run_id,
            e.step
                .as_deref()
                .map(|s| format!(", step {s}"))
                .unwrap_or_default(),
            e.kind,
            e.actor,
            e.at,
            e.reason
        ),
        "ps-4",
        !unresolved,
    );
    if let Some(r) = related(report, l) {
        f["related-observations"] = r;
    }
    f
}

fn completeness_finding(report: &PeriodReport) -> Option<Value> {
    let Completeness::Checked {
        missing, source, ..
    } = &report.completeness
    else {
        return None;
    };
    if missing.is_empty() {
        return None;
    }
    let who: Vec<String> = missing
        .iter()
        .map(|m| format!("{} ({})", m.employee_id, m.email))
        .collect();
    Some(finding(
        uuid(&["missing", &report.tenant, &report.period.id()]),
        "Terminations with no leaver run".into(),
        format!(
            "{source} lists {} termination(s) in the period that Passage has no run for: {}.",
            missing.len(),
            who.join(", ")
        ),
        "ps-4",
        false,
    ))
}

fn reviewed_controls(report: &PeriodReport) -> Value {
    let mut ids: BTreeSet<String> = TIMELINESS_TARGETS.iter().map(|s| (*s).to_owned()).collect();
    for l in &report.leavers {
        for s in &l.verified_steps {
            ids.extend(step_control_ids(s).into_iter().filter_map(|(_, c)| c));
        }
    }
    let list: Vec<Value> = ids
        .into_iter()
        .map(|id| json!({"control-id": id}))
        .collect();
    json!({
        "description": "Controls for which the period's verified leaver steps are relevant evidence.",
        "control-selections": [{"include-controls": list}],
    })
}

fn back_matter(report: &PeriodReport, plan: &str) -> Value {
    let mut resources = vec![json!({
        "uuid": plan,
        "title": "Assessment method: Passage period report",
        "description": format!(
            "Every leaver whose termination date falls from {} to {} is graded against the \
             tenant's SLA ({} s from the {}); each access-removal step was read back from its \
             provider. The population's SHA-256 is {}.",
            report.period.from, report.period.to, report.sla.seconds,
            report.sla.from.as_str(), report.population.sha256),
        "rlinks": [{"href": "../report.json", "media-type": "application/json"}],
    })];
    for l in &report.leavers {
        if let (Some(r), Some(b)) = (bundle_resource_uuid(l), &l.bundle) {
            resources.push(json!({
                "uuid": r,
                "title": format!("Evidence bundle {} (run {})", b.sequence, l.run_id),
                "props": [prop("sequence", b.sequence.to_string())],
                "rlinks": [{
                    "href": format!("bundles/{}/manifest.json", l.run_id),
                    "media-type": "application/json",
                    "hashes": [{"algorithm": "SHA-256", "value": b.manifest_sha256}],
                }],
            }));
        }
    }
    json!({"resources": resources})
}

fn findings(report: &PeriodReport) -> Vec<Value> {
    let mut out = Vec::new();
    for l in &report.leavers {
        if l.sla == SlaOutcome::Breached {
            out.extend(breach_findings(report, l));
        }
        for (i, e) in l.exceptions.iter().enumerate() {
            out.push(exception_finding(report, l, i, e));
        }
    }
    out.extend(completeness_finding(report));
    out
}

/// The assessment-results document for the period.
pub fn assessment_results(report: &PeriodReport) -> Value {
    let doc_uuid = uuid(&[
        "assessment-results",
        &report.tenant,
        &report.period.id(),
        &report.population.sha256,
    ]);
    let plan = uuid(&["method", &report.tenant, &report.period.id()]);
    let observations: Vec<Value> = report
        .leavers
        .iter()
        .flat_map(|l| {
            l.verified_steps
                .iter()
                .map(move |s| observation(report, l, s))
        })
        .collect();
    let mut result = json!({
        "uuid": uuid(&["result", &doc_uuid]),
        "title": format!("Leaver access removal, {} to {}", report.period.from, report.period.to),
        "description": format!(
            "{} leaver(s), {} SLA breach(es), {} run(s) still open.",
            report.statistics.leavers, report.statistics.overall.breaches,
            report.statistics.open_runs),
        "start": format!("{}T00:00:00Z", report.period.from),
        "end": format!("{}T23:59:59Z", report.period.to),
        "props": [
            prop("population-sha256", &report.population.sha256),
            prop("chain-sequence", report.chain_head.sequence.to_string()),
            prop("chain-manifest-sha256", &report.chain_head.manifest_sha256),
        ],
        "reviewed-controls": reviewed_controls(report),
    });
    if !observations.is_empty() {
        result["observations"] = Value::Array(observations);
    }
    let findings = findings(report);
    if !findings.is_empty() {
        result["findings"] = Value::Array(findings);
    }
    json!({"assessment-results": {
        "uuid": doc_uuid,
        "metadata": {
            "title": format!("Passage leaver access removal: {} ({})", report.tenant_name, report.period),
            "last-modified": report.generated_at,
            "version": report.population.sha256[..16].to_owned(),
            "oscal-version": OSCAL_VERSION,
        },
        "import-ap": {"href": format!("#{plan}")},
        "results": [result],
        "back-matter": back_matter(report, &plan),
    }})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compliance::catalog::*;

    #[test]
    fn catalog_ids_follow_the_frameworks_oscal_catalogs() {
        assert_eq!(catalog_id(&SP53_PS_4A).as_deref(), Some("ps-4"));
        assert_eq!(catalog_id(&SP53_PS_4_2).as_deref(), Some("ps-4.2"));
        assert_eq!(catalog_id(&SP53_AC_2H_2).as_deref(), Some("ac-2"));
        assert_eq!(catalog_id(&SP53_MP_6).as_deref(), Some("mp-6"));
        assert_eq!(
            catalog_id(&R3_03_09_02_A_01).as_deref(),
            Some("SP_800_171_03.09.02")
        );
        assert_eq!(catalog_id(&CSF_PR_AA_05).as_deref(), Some("PR.AA-05"));
        assert_eq!(catalog_id(&CC6_2), None);
        assert_eq!(catalog_id(&R2_3_9_2_B), None);
    }
}
