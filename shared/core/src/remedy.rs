//! What resolves whatever holds a run, as the command an operator types and the operator API
//! route that does the same. The CLI and the API show these beside every block, so nobody has
//! to know which of retry, waive, not-applicable, except, confirm or approve applies.

use crate::domain::{AbsenceProof, Run, Step, StepState};
use crate::gate::{self, Gate};
use jiff::Timestamp;
use serde::Serialize;

/// One way out of one thing that holds a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Remedy {
    /// What it resolves and when it applies, in words.
    pub when: String,
    /// The `passage` command.
    pub command: String,
    /// The operator API call (method and path) that does the same.
    pub route: String,
}

/// Every remedy for what holds `run` now: a go-live hold, failed steps, access items that
/// remain, people's confirmations awaited. Empty when nothing an operator does is needed.
pub fn for_run(run: &Run, steps: &[Step], now: Timestamp) -> Vec<Remedy> {
    let mut out = Vec::new();
    if let Some(hold) = run.hold.as_ref().filter(|_| run.is_held()) {
        out.extend(for_hold(run, hold));
    }
    match gate::evaluate_run(steps, &run.exceptions, now) {
        Gate::Blocked { failed } => {
            for step in steps.iter().filter(|s| failed.contains(&s.key)) {
                out.extend(for_failed(run, step));
            }
        }
        Gate::Held { items } => {
            for item in items {
                out.push(Remedy {
                    when: format!(
                        "{item} remains: once it is dealt with outside Passage, accept it"
                    ),
                    command: format!("passage except {} {item} --reason \"...\"", run.id),
                    route: format!("POST {}/exceptions", run_path(run)),
                });
            }
        }
        Gate::Waiting { .. } | Gate::Open => {}
    }
    for step in steps.iter().filter(|s| s.state == StepState::Awaiting) {
        for item in step.human.iter().flat_map(|h| h.outstanding()) {
            out.push(Remedy {
                when: format!("{} waits for people: {}", step.key, item.label),
                command: format!(
                    "passage confirm {} {} {} --outcome received",
                    run.id, step.key, item.id
                ),
                route: format!("POST {}/steps/{}/confirm", run_path(run), step.key),
            });
        }
    }
    out
}

fn for_hold(run: &Run, hold: &crate::domain::RunHold) -> Vec<Remedy> {
    vec![
        Remedy {
            when: format!("held by the go-live guard: {}", hold.reason),
            command: format!("passage approve --tenant {} --run {}", run.tenant, run.id),
            route: format!("POST /v1/operator/tenants/{}/approve", run.tenant),
        },
        Remedy {
            when: "or, if the termination was a mistake, call the run off".into(),
            command: format!("passage cancel {} --reason \"...\"", run.id),
            route: format!("POST {}/cancel", run_path(run)),
        },
    ]
}

/// A failed step: retried once its cause is fixed; closed as not applicable when the provider
/// does not know the leaver; waived when it is not critical.
fn for_failed(run: &Run, step: &Step) -> Vec<Remedy> {
    let path = format!("{}/steps/{}", run_path(run), step.key);
    let code = step.last_error.as_ref().map_or("", |e| e.code.as_str());
    let mut out = Vec::new();
    if code == AbsenceProof::NOT_FOUND {
        out.push(Remedy {
            when: format!(
                "{} does not know the leaver: if they never had an account there, prove it",
                step.provider
            ),
            command: format!(
                "passage not-applicable {} {} --reason \"...\"",
                run.id, step.key
            ),
            route: format!("POST {path}/not-applicable"),
        });
    }
    out.push(Remedy {
        when: format!(
            "{} failed: fix the cause (a permission, the address), then",
            step.key
        ),
        command: format!("passage retry {} {}", run.id, step.key),
        route: format!("POST {path}/retry"),
    });
    if !step.critical {
        out.push(Remedy {
            when: format!("or skip {}, which is not critical", step.key),
            command: format!("passage waive {} {} --reason \"...\"", run.id, step.key),
            route: format!("POST {path}/waive"),
        });
    }
    out
}

fn run_path(run: &Run) -> String {
    format!("/v1/operator/tenants/{}/runs/{}", run.tenant, run.id)
}
