//! `passage plan`: what a run for this leaver would change, read live from every provider,
//! with nothing changed.

use crate::output::{self, table};
use crate::system;
use anyhow::Result;
use clap::Args;
use passage_core::TenantId;
use passage_core::engine::{PlanPreview, PlanRequest};

#[derive(Args)]
pub struct PlanArgs {
    /// Tenant id.
    #[arg(long)]
    pub(crate) tenant: String,
    /// The leaver's work email: how each provider's account is found.
    #[arg(long)]
    pub(crate) email: String,
    /// The HR system's employee id (recorded only).
    #[arg(long)]
    pub(crate) employee_id: Option<String>,
    /// The manager who would receive mail and files (else the tenant's fallback delegate).
    #[arg(long)]
    pub(crate) manager: Option<String>,
    /// The preview as JSON, with every call each read made.
    #[arg(long)]
    pub(crate) json: bool,
}

pub async fn run(config: &std::path::Path, a: PlanArgs) -> Result<()> {
    let (_, system) = system::open(config)?;
    let preview = system
        .engine
        .preview(
            &TenantId::new(a.tenant.as_str()),
            PlanRequest {
                email: a.email,
                employee_id: a.employee_id,
                manager: a.manager,
            },
        )
        .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&preview)?);
    } else {
        print!("{}", render(&preview));
    }
    Ok(())
}

/// The preview for people: one row per step, then one per provider read.
pub fn render(p: &PlanPreview) -> String {
    let mut out = format!(
        "Plan for {} in tenant {}, read {}. Nothing was changed.\n\n",
        p.email,
        p.tenant,
        output::in_zone(p.read_at, "UTC")
    );
    let mut steps = table(&["step", "critical", "would", "what"]);
    for s in &p.steps {
        let critical = if s.critical { "yes" } else { "no" };
        let mut first = true;
        let mut row = |would: &str, what: &str| {
            let (key, crit) = if first {
                (s.step.as_str(), critical)
            } else {
                ("", "")
            };
            first = false;
            steps.add_row(vec![key, crit, would, what]);
        };
        for c in &s.preview.changes {
            row("change", c);
        }
        for c in &s.preview.cannot {
            row("cannot", c);
        }
        if let Some(note) = &s.preview.note {
            let would = if s.preview.changes.is_empty() && s.preview.cannot.is_empty() {
                "nothing"
            } else {
                "note"
            };
            row(would, note);
        }
    }
    out.push_str(&format!("{steps}\n\n"));
    let mut reads = table(&["read", "result", "calls"]);
    for r in &p.reads {
        let result = match (&r.found, &r.error) {
            (_, Some(why)) => format!("failed: {why}"),
            (found, None) => found.clone().unwrap_or_default(),
        };
        reads.add_row(vec![r.step.to_string(), result, r.calls.len().to_string()]);
    }
    out.push_str(&format!("{reads}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use passage_core::preview::{Preview, StepPreview};
    use passage_core::{Action, Provider, StepKey};

    #[test]
    fn each_change_and_each_refusal_gets_its_own_line() {
        let p = PlanPreview {
            tenant: TenantId::new("acme"),
            email: "jane@acme.com".into(),
            employee_id: None,
            read_at: "2026-12-04T22:00:00Z".parse().unwrap(),
            reads: vec![],
            steps: vec![StepPreview {
                step: StepKey::new("okta.remove_groups"),
                provider: Provider::Okta,
                action: Action::RemoveGroups,
                critical: true,
                preview: Preview {
                    changes: vec!["remove groups Engineering".into()],
                    cannot: vec!["AD Engineering: remove it there".into()],
                    note: None,
                },
            }],
        };
        let out = render(&p);
        assert!(out.contains("Nothing was changed"), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        let change = lines
            .iter()
            .position(|l| l.contains("remove groups Engineering"));
        let cannot = lines
            .iter()
            .position(|l| l.contains("AD Engineering: remove it there"));
        assert!(
            matches!((change, cannot), (Some(a), Some(b)) if b == a + 1),
            "{out}"
        );
        assert!(lines[change.unwrap()].contains("okta.remove_groups"));
        assert!(lines[cannot.unwrap()].trim_start().starts_with("cannot"));
    }
}
