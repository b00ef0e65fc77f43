//! The period's leavers as CSV for spreadsheets: one line per leaver and system (one line with
//! an empty system for a leaver with none), times in UTC RFC 3339, delays in seconds.

use passage_core::report::{PeriodReport, SystemRow};

const HEADER: [&str; 18] = [
    "run_id",
    "employee_id",
    "email",
    "state",
    "termination_date",
    "hr_notice_at",
    "cutoff_at",
    "time_zone",
    "system",
    "system_removed_at",
    "system_delay_seconds",
    "system_sla",
    "access_removed_at",
    "delay_seconds",
    "sla",
    "exceptions",
    "bundle_sequence",
    "bundle_manifest_sha256",
];

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

pub fn period_csv(r: &PeriodReport) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER)?;
    for l in &r.leavers {
        let systems: Vec<Option<&SystemRow>> = if l.systems.is_empty() {
            vec![None]
        } else {
            l.systems.iter().map(Some).collect()
        };
        let exceptions: Vec<String> = l
            .exceptions
            .iter()
            .map(|e| format!("{} by {}: {}", e.kind, e.actor, e.reason))
            .collect();
        for s in systems {
            w.write_record([
                l.run_id.clone(),
                l.employee_id.clone(),
                l.email.clone(),
                l.state.as_str().to_owned(),
                l.termination_date.to_string(),
                l.hr_notice_at.to_string(),
                l.cutoff_at.to_string(),
                l.time_zone.clone(),
                opt(s.map(|s| &s.system)),
                opt(s.and_then(|s| s.removed_at)),
                opt(s.and_then(|s| s.delay_seconds)),
                opt(s.map(|s| s.sla.as_str())),
                opt(l.access_removed_at),
                opt(l.delay_seconds),
                l.sla.as_str().to_owned(),
                exceptions.join("; "),
                opt(l.bundle.as_ref().map(|b| b.sequence)),
                opt(l.bundle.as_ref().map(|b| &b.manifest_sha256)),
            ])?;
        }
    }
    w.into_inner().map_err(|e| e.into_error().into())
}
