//! The report's decisions on hand-made runs: who is in the period, when each system's access
//! was removed, the SLA grades, exceptions, completeness, statistics, the signed directory.

use super::*;
use crate::cutoff::{Cutoff, Derivation};
use crate::domain::{
    Cancellation, Run, RunEvent, RunSource, RunState, SlaClock, SlaPolicy, StepState, Subject,
    TenantPolicy, Waiver,
};
use crate::ids::{RunId, TenantId};
use crate::ports::{ChainHead, EmploymentStatus, HrRecord};
use jiff::civil::{Date, date};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

/// A run cut at `cutoff`, whose every step was read back `removed_after` later (or left
/// running when `None`).
fn record(n: u32, cutoff: &str, removed_after: Option<SignedDuration>) -> RunRecord {
    let cutoff = ts(cutoff);
    let id = RunId::new(format!("run_{n:04}"));
    let run = Run {
        id: id.clone(),
        tenant: TenantId::new("acme"),
        version: 1,
        state: if removed_after.is_some() {
            RunState::Closed
        } else {
            RunState::Running
        },
        subject: Subject {
            employee_id: format!("E{n}"),
            email: format!("e{n}@acme.example"),
            display_name: Some(format!("Employee {n}")),
            time_zone: "UTC".into(),
            manager: None,
        },
        source: RunSource::Webhook {
            vendor: "bamboohr".into(),
            delivery_id: format!("d{n}"),
            verified_by: "test".into(),
            received_at: cutoff - hours(48),
            body_sha256: "0".repeat(64),
            event: json!({}),
        },
        idempotency_key: format!("k{n}"),
        cutoff: Cutoff {
            at: cutoff,
            zone: "UTC".into(),
            derivation: Derivation::Exact {
                local: cutoff.to_string(),
            },
        },
        early_at: None,
        created_at: cutoff - hours(48),
        started_at: Some(cutoff),
        closed_at: None,
        blocked_reason: None,
        hold: None,
        alerts: Vec::new(),
        cancellation: None,
        exceptions: Vec::new(),
        bundle: removed_after.map(|_| crate::domain::BundleRef {
            sequence: n as u64,
            manifest_sha256: format!("{n:064}"),
            location: String::new(),
        }),
        finalizing: None,
        sign_in_watch: None,
    };
    let mut steps = crate::plan::build(&id, &TenantPolicy::new("acme"), None).unwrap();
    for (i, s) in steps.iter_mut().enumerate() {
        if let Some(after) = removed_after {
            s.state = StepState::Verified;
            // The last step in plan order is read back last: `removed_after` after the cutoff.
            let back = SignedDuration::from_secs(10 * (steps_len() - 1 - i) as i64);
            s.verified_at = Some(cutoff + after - back);
        }
    }
    RunRecord {
        run,
        steps,
        events: vec![],
    }
}

fn steps_len() -> usize {
    crate::plan::build(&RunId::new("x"), &TenantPolicy::new("acme"), None)
        .unwrap()
        .len()
}

fn hr(n: u32, day: Date) -> HrRecord {
    HrRecord {
        employee_id: format!("E{n}"),
        email: format!("e{n}@acme.example"),
        display_name: None,
        status: EmploymentStatus::Terminated,
        termination_date: Some(day),
        last_day_worked: None,
        work_location: None,
        time_zone: None,
        manager: None,
        involuntary: None,
    }
}

fn input<'a>(runs: &'a [RunRecord], hr: &'a HrTerminations, sla: SlaPolicy) -> ReportInput<'a> {
    ReportInput {
        tenant: "acme",
        tenant_name: "Acme",
        period: Period::new(date(2026, 3, 1), date(2026, 3, 31)).unwrap(),
        sla,
        runs,
        hr,
        chain_head: ChainHead {
            sequence: 9,
            manifest_sha256: "9".repeat(64),
        },
        generated_at: ts("2026-04-02T12:00:00Z"),
    }
}

fn sample_runs() -> Vec<RunRecord> {
    let mut runs = vec![
        record(
            1,
            "2026-03-02T17:00:00Z",
            Some(SignedDuration::from_secs(90)),
        ),
        record(2, "2026-03-10T17:00:00Z", Some(hours(30))),
        // Open, past its SLA: a breach though nothing is removed yet.
        record(3, "2026-03-20T17:00:00Z", None),
        // Open, within its SLA as of the report.
        record(4, "2026-04-02T00:00:00Z", None),
        // Outside the period.
        record(
            5,
            "2026-02-27T17:00:00Z",
            Some(SignedDuration::from_secs(5)),
        ),
        record(
            6,
            "2026-03-31T23:00:00Z",
            Some(SignedDuration::from_secs(600)),
        ),
    ];
    // Run 4's termination date is in the period only if the period reaches April: keep it out
    // of March, and make it a cancellation inside March instead.
    runs[3] = record(4, "2026-03-25T17:00:00Z", None);
    runs[3].run.state = RunState::Cancelled;
    runs[3].run.cancellation = Some(Cancellation {
        actor: "hr:bamboohr".into(),
        reason: "termination rescinded".into(),
        at: ts("2026-03-24T10:00:00Z"),
    });
    runs[5].steps[2].waiver = Some(Waiver {
        actor: "it-lead".into(),
        reason: "grants revoked by hand".into(),
        at: ts("2026-03-31T23:05:00Z"),
    });
    let blocked = runs[2].run.id.clone();
    runs[2].events.push(RunEvent::new(
        &blocked,
        ts("2026-03-20T17:01:00Z"),
        "run.blocked",
        "system",
        json!({"step": "okta.suspend", "reason": "E0000006: permission denied"}),
    ));
    runs
}

#[test]
fn the_period_grades_each_system_and_leaver_against_the_sla() {
    let runs = sample_runs();
    let hr = HrTerminations::Unavailable {
        reason: "no HR API".into(),
    };
    let r = build_report(&input(&runs, &hr, SlaPolicy::default()));
    let ids: Vec<&str> = r.leavers.iter().map(|l| l.run_id.as_str()).collect();
    assert_eq!(ids, ["run_0001", "run_0002", "run_0003", "run_0006"]);
    assert_eq!(r.cancelled.len(), 1);
    assert_eq!(r.cancelled[0].reason, "termination rescinded");
    let l1 = &r.leavers[0];
    assert_eq!(l1.systems.len(), 1);
    assert_eq!(l1.systems[0].system, "okta");
    assert!(!l1.systems[0].steps.contains(&"okta.snapshot".to_owned()));
    assert_eq!(l1.delay_seconds, Some(90));
    assert_eq!(l1.sla, SlaOutcome::Met);
    assert_eq!(r.leavers[1].sla, SlaOutcome::Breached);
    assert_eq!(r.leavers[1].delay_seconds, Some(30 * 3600));
    assert_eq!(
        r.leavers[2].sla,
        SlaOutcome::Breached,
        "open past its due time"
    );
    assert_eq!(r.leavers[2].access_removed_at, None);
    assert_eq!(r.leavers[2].exceptions[0].kind, "blocked");
    assert_eq!(
        r.leavers[2].exceptions[0].reason,
        "E0000006: permission denied"
    );
    let waiver = &r.leavers[3].exceptions[0];
    assert_eq!(
        (waiver.kind.as_str(), waiver.actor.as_str()),
        ("waiver", "it-lead")
    );
    assert_eq!(
        r.completeness,
        Completeness::NotChecked {
            reason: "no HR API".into()
        }
    );
    let s = &r.statistics;
    assert_eq!((s.leavers, s.open_runs), (4, 1));
    assert_eq!(s.overall.breaches, 2);
    assert_eq!(s.overall.breach_share, 0.5);
    assert_eq!(s.overall.p50_seconds, Some(600));
    assert_eq!(s.overall.max_seconds, Some(30 * 3600));
    assert_eq!(s.systems[0].system, "okta");
    assert_eq!(
        r.population.sha256,
        sample::population_sha256(&["run_0001", "run_0002", "run_0003", "run_0006"])
    );
}

#[test]
fn the_hr_notice_clock_starts_at_the_later_of_notice_and_cutoff() {
    let mut runs = vec![record(1, "2026-03-10T17:00:00Z", Some(hours(30)))];
    // HR told Passage two days after the last day; access went 6 hours after that.
    if let RunSource::Webhook { received_at, .. } = &mut runs[0].run.source {
        *received_at = ts("2026-03-11T23:00:00Z");
    }
    let hr = HrTerminations::Unavailable {
        reason: String::new(),
    };
    let from_notice = SlaPolicy {
        from: SlaClock::HrNotice,
        ..SlaPolicy::default()
    };
    let r = build_report(&input(&runs, &hr, from_notice));
    assert_eq!(r.leavers[0].sla_clock_at, ts("2026-03-11T23:00:00Z"));
    assert_eq!(r.leavers[0].delay_seconds, Some(0));
    assert_eq!(r.leavers[0].sla, SlaOutcome::Met);
    let r = build_report(&input(&runs, &hr, SlaPolicy::default()));
    assert_eq!(r.leavers[0].sla, SlaOutcome::Breached);
}

#[test]
fn completeness_lists_missing_and_extra_leavers_and_hashes_the_hr_list() {
    let runs = sample_runs();
    let hr = HrTerminations::Listed {
        vendor: "bamboohr".into(),
        records: vec![
            hr(1, date(2026, 3, 2)),
            hr(2, date(2026, 3, 10)),
            hr(3, date(2026, 3, 20)),
            // In HR, not in Passage.
            hr(7, date(2026, 3, 15)),
            // Outside the period: ignored.
            hr(5, date(2026, 2, 27)),
        ],
    };
    let r = build_report(&input(&runs, &hr, SlaPolicy::default()));
    let Completeness::Checked {
        hr_count,
        matched,
        missing,
        extra,
        hr_list_sha256,
        hr_terminations,
        ..
    } = &r.completeness
    else {
        panic!("checked");
    };
    assert_eq!((*hr_count, *matched), (4, 3));
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].employee_id, "E7");
    assert_eq!(extra.len(), 1);
    assert_eq!(extra[0].run_id, "run_0006");
    let bytes = completeness::hr_list_bytes(hr_terminations);
    assert_eq!(*hr_list_sha256, crate::evidence::build::sha256_hex(&bytes));
}

#[test]
fn a_signed_report_verifies_and_names_the_chain_head_it_covers() {
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::{EncodePublicKey, LineEnding};
    let runs = sample_runs();
    let hr = HrTerminations::Unavailable {
        reason: String::new(),
    };
    let report = build_report(&input(&runs, &hr, SlaPolicy::default()));
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let pem = key
        .verifying_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let (mut files, statement) = report_files(&ReportFiles {
        report: &report,
        renderings: vec![("report.csv".into(), b"a,b\n".to_vec())],
        key_id: "test",
        public_key_pem: &pem,
    })
    .unwrap();
    let text = statement.render();
    assert!(
        text.contains("run period:2026-03-01..2026-03-31\nsequence 9\n"),
        "{text}"
    );
    let sig: p256::ecdsa::DerSignature = key.sign(text.as_bytes());
    files.insert("statement.txt", text.into_bytes()).unwrap();
    files
        .insert("statement.sig", sig.as_bytes().to_vec())
        .unwrap();
    files.insert("signing-key.pem", pem.into_bytes()).unwrap();
    let v = verify_report(&files, None).unwrap();
    assert_eq!(v.covers_sequence, 9);
    assert_eq!(v.population_sha256, report.population.sha256);
    assert!(v.files_checked >= 4);
    // A bundle verified as a bundle is refused as a report, and the reverse.
    assert!(crate::evidence::verify_bundle(&files, None).is_err());
    let head = crate::evidence::VerifiedBundle {
        tenant: "acme".into(),
        run_id: "run_0009".into(),
        sequence: 9,
        manifest_sha256: "9".repeat(64),
        prev_manifest_sha256: "8".repeat(64),
        key_fingerprint: String::new(),
        files_checked: 1,
        signed_at: None,
        next_key_sha256: None,
        timestamped: None,
        restores: None,
    };
    assert_eq!(check_covers(&v, std::slice::from_ref(&head)), Ok(()));
    let other = crate::evidence::VerifiedBundle {
        manifest_sha256: "a".repeat(64),
        ..head
    };
    assert!(check_covers(&v, &[other]).is_err());
    // Any changed byte fails.
    let mut tampered = files.clone();
    tampered
        .insert("population.txt", b"run_0001\n".to_vec())
        .unwrap();
    assert!(verify_report(&tampered, None).is_err());
}

#[test]
fn the_oscal_document_observes_every_verified_step_and_finds_breaches() {
    let runs = sample_runs();
    let hr = HrTerminations::Listed {
        vendor: "bamboohr".into(),
        records: vec![hr(7, date(2026, 3, 15))],
    };
    let report = build_report(&input(&runs, &hr, SlaPolicy::default()));
    let doc = oscal::assessment_results(&report);
    let result = &doc["assessment-results"]["results"][0];
    let verified: usize = report.leavers.iter().map(|l| l.verified_steps.len()).sum();
    assert_eq!(result["observations"].as_array().unwrap().len(), verified);
    let findings = result["findings"].as_array().unwrap();
    let not_satisfied = |target: &str| {
        findings
            .iter()
            .filter(|f| {
                f["target"]["target-id"] == target
                    && f["target"]["status"]["state"] == "not-satisfied"
            })
            .count()
    };
    // Two breaches, each a finding on every timeliness target; plus the missing leaver and the
    // unresolved block on ps-4.
    assert_eq!(not_satisfied("PR.AA-05"), 2);
    assert_eq!(not_satisfied("ps-4"), 4);
    let bundles = doc["assessment-results"]["back-matter"]["resources"]
        .as_array()
        .unwrap();
    let run1 = bundles
        .iter()
        .find(|r| r["rlinks"][0]["href"] == "bundles/run_0001/manifest.json")
        .unwrap();
    assert_eq!(
        run1["rlinks"][0]["hashes"][0]["value"],
        format!("{:064}", 1)
    );
    assert_eq!(oscal::assessment_results(&report), doc, "deterministic");
}

/// NIST's OSCAL assessment-results JSON schema, from the reference folder beside the checkout
/// (`../shared/specs/oscal`).
fn oscal_schema() -> jsonschema::Validator {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/oscal/oscal_assessment-results_schema_v1.0.6.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "OSCAL schema not found at {} (the project's shared/specs/oscal, beside the \
             repository root): {e}",
            path.display()
        )
    });
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::draft7::new(&schema).expect("NIST's schema compiles")
}

#[test]
fn the_oscal_document_validates_against_nists_schema() {
    let runs = sample_runs();
    let hr = HrTerminations::Listed {
        vendor: "bamboohr".into(),
        records: vec![hr(7, date(2026, 3, 15))],
    };
    let schema = oscal_schema();
    for sla in [
        SlaPolicy::default(),
        SlaPolicy {
            within: std::time::Duration::from_secs(60),
            from: SlaClock::HrNotice,
        },
    ] {
        let doc = oscal::assessment_results(&build_report(&input(&runs, &hr, sla)));
        let errors: Vec<String> = schema
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // The validator is not vacuous: a document without its metadata is refused.
    let mut broken =
        oscal::assessment_results(&build_report(&input(&runs, &hr, SlaPolicy::default())));
    broken["assessment-results"]
        .as_object_mut()
        .unwrap()
        .remove("metadata");
    assert!(!schema.is_valid(&broken));
}

#[test]
fn a_restore_run_is_no_leaver_of_the_period() {
    let mut runs = sample_runs();
    let before = build_report(&input(
        &runs,
        &HrTerminations::Unavailable {
            reason: "none".into(),
        },
        SlaPolicy::default(),
    ));
    let mut rehire = runs[0].clone();
    rehire.run.id = RunId::new("run_rehire");
    rehire.run.source = RunSource::Restore(Box::new(crate::domain::RestoreOrigin {
        actor: "ann".into(),
        received_at: rehire.run.created_at,
        note: None,
        original_run: runs[0].run.id.clone(),
        original_sequence: 1,
        original_manifest_sha256: "a".repeat(64),
        only: Vec::new(),
        plan: crate::domain::RestorePlan::default(),
    }));
    runs.push(rehire);
    let after = build_report(&input(
        &runs,
        &HrTerminations::Unavailable {
            reason: "none".into(),
        },
        SlaPolicy::default(),
    ));
    assert_eq!(after.population, before.population);
    assert!(after.leavers.iter().all(|l| l.run_id != "run_rehire"));
}
