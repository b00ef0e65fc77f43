//! `passage restore`: give a returning person (a rehire, a rescinded termination) back what a
//! closed leaver run took, as its own tracked run with its own signed bundle. Without `--yes`
//! it only shows the plan, like `passage plan`.

use crate::output::table;
use crate::system;
use anyhow::{Context, Result};
use clap::Args;
use passage_core::RestorePlan;
use passage_core::RunId;
use passage_core::engine::RestoreRequest;
use passage_core::ports::RunStore;
use std::path::Path;

#[derive(Args)]
pub struct RestoreArgs {
    /// The closed leaver run to undo.
    pub(crate) run_id: String,
    /// Restore only these items: a key as the plan lists it (okta.group.<id>) or a prefix
    /// (okta, microsoft.mailbox). Repeatable, or comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub(crate) items: Vec<String>,
    /// Start the restore run; without it, only the plan is shown.
    #[arg(long)]
    pub(crate) yes: bool,
    /// Why (recorded with the run).
    #[arg(long)]
    pub(crate) note: Option<String>,
    #[arg(long, default_value_t = std::env::var("USER").unwrap_or_else(|_| "operator".into()))]
    pub(crate) actor: String,
    /// The plan (and the run started) as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

pub async fn run(config: &Path, a: RestoreArgs) -> Result<()> {
    let (_, system) = system::open(config)?;
    let original = RunId::new(a.run_id.as_str());
    let run = system
        .store
        .run(&original)
        .await?
        .with_context(|| format!("no run {original}"))?;
    let request = RestoreRequest {
        original,
        only: a.items,
        note: a.note,
    };
    if !a.yes {
        let (_, plan) = system.engine.plan_restore(&run.tenant, &request).await?;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&plan)?);
        } else {
            print!("{}", render(&run.id, &plan));
            println!("\nNothing was changed. Run again with --yes to start the restore.");
        }
        return Ok(());
    }
    let answer = system
        .engine
        .start_restore(&run.tenant, request, &a.actor)
        .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print!("{}", render(&run.id, &answer.plan));
        if let Some(id) = &answer.run_id {
            println!("\nrestore run {id} started; follow it with `passage runs show {id}`");
        }
    }
    system::warn_if_not_serving(&system);
    Ok(())
}

/// The plan for people: what comes back, per provider and step, then what cannot and why.
pub fn render(original: &RunId, plan: &RestorePlan) -> String {
    let mut out = format!("Restore of run {original}\n\n");
    let mut items = table(&["provider", "step", "item", "what"]);
    for i in &plan.items {
        items.add_row(vec![
            i.provider.as_str(),
            i.action.as_str(),
            i.key.as_str(),
            i.name.as_str(),
        ]);
    }
    out.push_str(&format!("Restores ({}):\n{items}\n", plan.items.len()));
    if !plan.not_restorable.is_empty() {
        let mut cannot = table(&["item", "what", "why not"]);
        for n in &plan.not_restorable {
            cannot.add_row(vec![n.key.as_str(), n.name.as_str(), n.why.as_str()]);
        }
        out.push_str(&format!(
            "\nCannot be restored ({}):\n{cannot}\n",
            plan.not_restorable.len()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use passage_core::{Action, NotRestorable, Provider, RestoreItem};

    #[test]
    fn the_plan_shows_each_item_by_provider_and_what_cannot_come_back_with_why() {
        let plan = RestorePlan {
            items: vec![RestoreItem {
                key: "okta.group.00g1".into(),
                provider: Provider::Okta,
                app: None,
                action: Action::RestoreGroups,
                id: "00g1".into(),
                name: "Engineering".into(),
                recorded: serde_json::Value::Null,
            }],
            not_restorable: vec![NotRestorable {
                key: "jumpcloud.device.s1".into(),
                provider: Provider::Jumpcloud,
                name: "JANE-WIN11".into(),
                why: "a wiped device stays wiped".into(),
            }],
        };
        let text = render(&RunId::new("run_1"), &plan);
        assert!(text.contains("Restore of run run_1"), "{text}");
        assert!(text.contains("Restores (1)"), "{text}");
        for shown in [
            "okta",
            "restore_groups",
            "okta.group.00g1",
            "Engineering",
            "Cannot be restored (1)",
            "jumpcloud.device.s1",
            "a wiped device stays wiped",
        ] {
            assert!(text.contains(shown), "{shown} missing from {text}");
        }
    }
}
