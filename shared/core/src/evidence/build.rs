//! Assembles a closed run's evidence files and manifest. Pure: signing happens in the engine.

use super::access::access_files;
use super::controls::{controls_index, step_controls};
use super::instructions::verify_instructions;
use super::{BundleFiles, SCHEMA, Statement};
use crate::domain::{AttemptRecord, Run, RunEvent, Step, StepState};
use jiff::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub struct BundleInput<'a> {
    pub run: &'a Run,
    pub steps: &'a [Step],
    pub attempts: &'a [AttemptRecord],
    pub events: &'a [RunEvent],
    pub sequence: u64,
    pub prev_manifest_sha256: &'a str,
    pub key_id: &'a str,
    pub public_key_pem: &'a str,
    pub created_at: Timestamp,
}

/// Builds every file except the signature, and the statement to sign.
pub fn build_bundle(input: &BundleInput<'_>) -> Result<(BundleFiles, Statement), String> {
    let run = input.run;
    let mut files = BundleFiles::new();
    put(
        &mut files,
        "hr-event.json",
        &serde_json::to_value(&run.source).map_err(err)?,
    )?;
    put(
        &mut files,
        "timeline.json",
        &serde_json::to_value(input.events).map_err(err)?,
    )?;
    let steps = step_files(&mut files, input.steps, input.attempts)?;
    let access = access_files(run, input.steps);
    put(&mut files, "access.json", &access.items)?;
    put(&mut files, "exceptions.json", &access.exceptions)?;
    let sign_ins = super::sign_ins::sign_in_files(run);
    if let Some((file, _)) = &sign_ins {
        put(&mut files, "sign-ins.json", file)?;
    }
    files
        .insert(
            "VERIFY.md",
            verify_instructions(run.tenant.as_str(), false).into_bytes(),
        )
        .map_err(|e| e.to_string())?;
    let mut manifest = manifest(input, &files, steps, access.summary)?;
    if let (Some((_, summary)), Some(m)) = (sign_ins, manifest.as_object_mut()) {
        m.insert("sign_in_watch".into(), summary);
    }
    let manifest_bytes = passage_jcs::to_canonical_vec(&manifest).map_err(|e| e.to_string())?;
    let manifest_sha256 = sha256_hex(&manifest_bytes);
    files
        .insert("manifest.json", manifest_bytes)
        .map_err(|e| e.to_string())?;
    let statement = Statement {
        tenant: run.tenant.to_string(),
        run_id: run.id.to_string(),
        sequence: input.sequence,
        manifest_sha256,
        prev_manifest_sha256: input.prev_manifest_sha256.to_owned(),
        key_id: input.key_id.to_owned(),
    };
    Ok((files, statement))
}

/// The manifest's account of the steps: one entry each, and the pre-state files written.
struct StepFiles {
    entries: Vec<Value>,
    pre_state: Vec<String>,
}

/// Writes each step's evidence file (and a snapshot's pre-state file) and lists the steps.
fn step_files(
    files: &mut BundleFiles,
    steps: &[Step],
    attempts: &[AttemptRecord],
) -> Result<StepFiles, String> {
    let mut listed = StepFiles {
        entries: Vec::new(),
        pre_state: Vec::new(),
    };
    let mut attempts_by_step: BTreeMap<&str, Vec<&AttemptRecord>> = BTreeMap::new();
    for a in attempts {
        attempts_by_step
            .entry(a.step_key.as_str())
            .or_default()
            .push(a);
    }
    for step in steps {
        let attempts = attempts_by_step
            .remove(step.key.as_str())
            .unwrap_or_default();
        let evidence_path = format!("evidence/{}/{}.json", step.scope(), step.action);
        put(files, &evidence_path, &step_evidence(step, &attempts))?;
        if let Some(result) = &step.result
            && !result.output.is_null()
            && step.action == crate::domain::Action::Snapshot
        {
            let path = format!("pre-state/{}.json", step.scope());
            put(files, &path, &result.output)?;
            listed.pre_state.push(path);
        }
        listed
            .entries
            .push(step_entry(step, &attempts, &evidence_path));
    }
    Ok(listed)
}

/// A step's own evidence file: its outcome, waiver, every attempt and, for human steps, who
/// confirmed each item and every reminder sent.
fn step_evidence(step: &Step, attempts: &[&AttemptRecord]) -> Value {
    json!({
        "step": step.key,
        "provider": step.provider,
        "action": step.action,
        "state": step.state.as_str(),
        "result": step.result.as_ref().map(|r| json!({
            "repeat": r.repeat,
            "summary": r.summary,
            "readback": r.readback,
        })),
        "waiver": step.waiver,
        // The read that proved the leaver has no account here, when the step is not applicable.
        "not_applicable": step.absence,
        "attempts": attempts,
        // Human steps: each item with who confirmed it and when, and every reminder sent.
        "human": step.human,
    })
}

/// A step as the manifest lists it.
fn step_entry(step: &Step, attempts: &[&AttemptRecord], evidence_path: &str) -> Value {
    let request_ids: Vec<&str> = attempts
        .iter()
        .flat_map(|a| a.calls.iter().filter_map(|c| c.request_id.as_deref()))
        .collect();
    let mut entry = step_entry_fields(step, &request_ids, evidence_path);
    if let Some(app) = &step.app {
        entry["app"] = app.clone().into();
    }
    entry
}

fn step_entry_fields(step: &Step, request_ids: &[&str], evidence_path: &str) -> Value {
    json!({
        "key": step.key,
        "provider": step.provider,
        "action": step.action,
        "description": step.action.describe(),
        "critical": step.critical,
        "depends_on": step.depends_on,
        "state": step.state.as_str(),
        "attempts": step.attempts,
        "started_at": step.started_at,
        "verified_at": step.verified_at,
        "repeat": step.result.as_ref().map(|r| r.repeat),
        "summary": step.result.as_ref().map(|r| r.summary.clone()),
        "request_ids": request_ids,
        "controls": step_controls(step),
        "evidence": evidence_path,
    })
}

/// The manifest: what the bundle proves and the hash of every file in it so far.
fn manifest(
    input: &BundleInput<'_>,
    files: &BundleFiles,
    steps: StepFiles,
    access: Value,
) -> Result<Value, String> {
    let run = input.run;
    let file_list: Vec<Value> = files
        .iter()
        .map(
            |(path, bytes)| json!({"path": path, "sha256": sha256_hex(bytes), "size": bytes.len()}),
        )
        .collect();
    Ok(json!({
        "schema": SCHEMA,
        "kind": "run",
        "tenant": run.tenant,
        "run_id": run.id,
        "sequence": input.sequence,
        "prev_manifest_sha256": input.prev_manifest_sha256,
        "created_at": input.created_at,
        "signing": {
            "algorithm": "ECDSA_P256_SHA256",
            "key_id": input.key_id,
            "public_key_sha256": public_key_fingerprint(input.public_key_pem)?,
            "signed_file": "statement.txt",
            "signature_file": "statement.sig",
        },
        // `cancelled` bundles record a run called off before its cutoff (no access was cut).
        "outcome": if run.cancellation.is_some() { "cancelled" } else { "closed" },
        "cancellation": run.cancellation,
        "subject": run.subject,
        "hr_event": {"file": "hr-event.json", "source": source_summary(run)},
        "cutoff": run.cutoff,
        "run": {
            "created_at": run.created_at,
            "started_at": run.started_at,
            "closed_at": input.created_at,
        },
        "steps": steps.entries,
        "pre_state": steps.pre_state,
        "waivers": waivers(input.steps),
        "not_applicable": super::access::not_applicable(input.steps),
        // Every access item the snapshots recorded, graded; those that stay, with who accepted them.
        "access": access,
        "confirmations": confirmations(input.steps),
        "seats": seats(input.steps),
        "hr_changes": hr_changes(input.events),
        "timeliness": timeliness(run, input.steps),
        "control_map_version": crate::compliance::CONTROL_MAP_VERSION,
        "controls": controls_index(input.steps),
        "files": file_list,
    }))
    .map(|mut manifest| {
        restore_link(run, &mut manifest);
        manifest
    })
}

/// A restore run's bundle names the leaver run it undid and that run's bundle (its place in
/// the chain and its manifest's SHA-256), which `passage verify` checks when both are given,
/// and lists what it could not give back and why.
fn restore_link(run: &Run, manifest: &mut Value) {
    let Some(origin) = run.restore() else {
        return;
    };
    manifest["restores"] = json!({
        "run_id": origin.original_run,
        "sequence": origin.original_sequence,
        "manifest_sha256": origin.original_manifest_sha256,
        "requested_by": origin.actor,
        "only": origin.only,
        "items": origin.plan.items.iter().map(|i| json!({
            "key": i.key, "provider": i.provider, "action": i.action, "name": i.name,
        })).collect::<Vec<_>>(),
        "not_restorable": origin.plan.not_restorable,
    });
}

fn waivers(steps: &[Step]) -> Vec<Value> {
    steps
        .iter()
        .filter_map(|s| {
            s.waiver
                .as_ref()
                .map(|w| json!({"step": s.key, "actor": w.actor, "reason": w.reason, "at": w.at}))
        })
        .collect()
}

/// What became of each SaaS seat, per app, from the steps read back (or, for an app without an
/// API, attested by its owner): the outcome, whether the paid seat is free, whether a rehire
/// could be restored, and the licences released with it.
fn seats(steps: &[Step]) -> Vec<Value> {
    steps
        .iter()
        .filter(|s| s.state == StepState::Verified)
        .filter_map(|s| {
            let seat = s.result.as_ref()?.output.get("seat")?;
            let mut entry = json!({
                "app": s.app.clone().unwrap_or_else(|| s.provider.to_string()),
                "provider": s.provider,
                "step": s.key,
                "verified_at": s.verified_at,
            });
            if let (Some(entry), Some(seat)) = (entry.as_object_mut(), seat.as_object()) {
                entry.extend(seat.clone());
            }
            Some(entry)
        })
        .collect()
}

/// Who confirmed each human item (a returned laptop, a hand-over), and when.
fn confirmations(steps: &[Step]) -> Vec<Value> {
    steps
        .iter()
        .filter_map(|s| s.human.as_ref().map(|h| (s, h)))
        .flat_map(|(s, h)| {
            h.items.iter().filter_map(move |i| {
                i.confirmation.as_ref().map(|c| {
                    json!({"step": s.key, "item": i.id, "label": i.label, "outcome": c.outcome,
                        "actor": c.actor, "at": c.at, "condition": c.condition, "note": c.note})
                })
            })
        })
        .collect()
}

/// Changes HR made to the run after it was created (a moved date, a rescinded termination),
/// each with its source.
fn hr_changes(events: &[RunEvent]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e.actor.starts_with("hr:") && e.kind != "run.created")
        .map(|e| json!({"kind": e.kind, "actor": e.actor, "at": e.at, "detail": e.detail}))
        .collect()
}

fn put(files: &mut BundleFiles, path: &str, value: &Value) -> Result<(), String> {
    let bytes = pretty(value)?;
    files.insert(path, bytes).map_err(|e| e.to_string())
}

fn err(e: serde_json::Error) -> String {
    e.to_string()
}

fn pretty(value: &Value) -> Result<Vec<u8>, String> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(err)?;
    bytes.push(b'\n');
    Ok(bytes)
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// SHA-256 of the key's DER SubjectPublicKeyInfo: what `openssl pkey -pubin -outform DER |
/// sha256sum` prints, so auditors can compare it with the published fingerprint.
pub fn public_key_fingerprint(pem: &str) -> Result<String, String> {
    use p256::pkcs8::{DecodePublicKey, EncodePublicKey};
    let key = p256::PublicKey::from_public_key_pem(pem).map_err(|e| e.to_string())?;
    let der = key.to_public_key_der().map_err(|e| e.to_string())?;
    Ok(sha256_hex(der.as_bytes()))
}

fn source_summary(run: &Run) -> Value {
    match &run.source {
        crate::domain::RunSource::Webhook {
            vendor,
            delivery_id,
            verified_by,
            received_at,
            body_sha256,
            ..
        } => json!({
            "kind": "webhook",
            "vendor": vendor,
            "delivery_id": delivery_id,
            "verified_by": verified_by,
            "received_at": received_at,
            "body_sha256": body_sha256,
        }),
        crate::domain::RunSource::Manual {
            actor, received_at, ..
        } => json!({"kind": "manual", "actor": actor, "received_at": received_at}),
        crate::domain::RunSource::Reconcile {
            vendor,
            found_at,
            record,
        } => json!({"kind": "reconcile", "vendor": vendor, "found_at": found_at, "record": record}),
        crate::domain::RunSource::Restore(origin) => json!({
            "kind": "restore",
            "actor": origin.actor,
            "received_at": origin.received_at,
            "original_run": origin.original_run,
            "original_manifest_sha256": origin.original_manifest_sha256,
        }),
    }
}

/// Cutoff versus the moment each critical step was verified: what auditors test against the SLA.
fn timeliness(run: &Run, steps: &[Step]) -> Value {
    let cutoff = run.cutoff.at;
    let per_step: Vec<Value> = steps
        .iter()
        .filter(|s| s.critical)
        .map(|s| {
            json!({
                "step": s.key,
                "verified_at": s.verified_at,
                "seconds_after_cutoff": s.verified_at.map(|v| (v - cutoff).get_seconds()),
            })
        })
        .collect();
    let last = steps
        .iter()
        .filter(|s| s.critical && s.state == StepState::Verified)
        .filter_map(|s| s.verified_at)
        .max();
    json!({
        "cutoff_at": cutoff,
        "all_critical_verified_at": last,
        "seconds_after_cutoff": last.map(|l| (l - cutoff).get_seconds()),
        "critical_steps": per_step,
    })
}
