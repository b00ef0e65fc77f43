//! `sign-ins.json`: what the providers' sign-in logs said after the cutoff, as far as the run
//! was watched when this bundle was signed, and every reopening a sign-in caused.
//!
//! Each successful sign-in after the cutoff is listed as an access item that remained (a
//! session the lockout had not ended); each provider's log reading says whether its absence
//! of sign-ins is proven (every page read) or unknown.

use crate::domain::{Run, SignInWatch};
use serde_json::{Value, json};

/// The file's content and the manifest's summary of it, for a run with a watch.
pub(super) fn sign_in_files(run: &Run) -> Option<(Value, Value)> {
    let watch = run.sign_in_watch.as_ref()?;
    let file = json!({
        "window": {"from": watch.from, "until": watch.until, "read_until": watch.last_read},
        "logs": watch.logs,
        "sign_ins": watch.sign_ins,
        "access": remained(watch),
        "reopenings": watch.reopenings,
    });
    let summary = json!({
        "file": "sign-ins.json",
        "from": watch.from,
        "until": watch.until,
        "successful_after_cutoff": watch.sign_ins.iter().filter(|s| watch.reopens(s)).count(),
        "failed_after_cutoff": watch.sign_ins.iter().filter(|s| !s.success).count(),
        "reopened": watch.reopenings.len(),
    });
    Some((file, summary))
}

/// Each successful sign-in after the cutoff, as the access item it proves remained.
fn remained(watch: &SignInWatch) -> Vec<Value> {
    watch
        .sign_ins
        .iter()
        .filter(|s| watch.reopens(s))
        .map(|s| {
            json!({
                "provider": s.provider,
                "kind": "session",
                "name": s.app.clone().unwrap_or_else(|| "sign-in".into()),
                "grade": "remains",
                "why": "the leaver signed in after the cutoff; the run reopened and locked out again",
                "source": "provider sign-in log",
                "at": s.at,
                "ip": s.ip,
                "request_id": s.request_id,
                "event_id": s.event_id,
            })
        })
        .collect()
}
