//! What a run would change, decided before it runs: from the leaver's live state as each
//! provider's snapshot read it, and the planned step. `passage plan` and the operator API show
//! this; nothing here calls a provider, so the same decision is made wherever it is asked.
//!
//! Each provider module reads the fields its connector's snapshot records and follows the
//! rules its connector's actions apply (what a repeat is, what cannot be changed through the
//! API and why), so the preview and a real run agree.

mod google;
mod jumpcloud;
mod microsoft;
mod okta;

use crate::domain::{Action, DeviceAction, Provider, Step, TenantPolicy};
use crate::ids::StepKey;
use serde::Serialize;
use serde_json::Value;

/// What one step would do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Preview {
    /// What a run would change, one line each ("remove groups Engineering, Sales").
    pub changes: Vec<String>,
    /// What a run could not change, each with the reason.
    pub cannot: Vec<String>,
    /// What the step only reads, or why it has nothing to change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Preview {
    fn change(what: impl Into<String>) -> Self {
        Self {
            changes: vec![what.into()],
            ..Self::default()
        }
    }

    fn nothing(why: impl Into<String>) -> Self {
        Self {
            note: Some(why.into()),
            ..Self::default()
        }
    }

    fn cannot(why: impl Into<String>) -> Self {
        Self {
            cannot: vec![why.into()],
            ..Self::default()
        }
    }

    fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// True when a run would change something with this step.
    pub fn changes_anything(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// One planned step and what it would do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StepPreview {
    pub step: StepKey,
    pub provider: Provider,
    pub action: Action,
    pub critical: bool,
    #[serde(flatten)]
    pub preview: Preview,
}

/// How the snapshot of a step's provider went.
#[derive(Clone, Copy, Debug)]
pub enum Snapshot<'a> {
    /// The snapshot's output: the leaver's state in the provider.
    Read(&'a Value),
    /// The snapshot failed; a run's steps of this provider would fail the same way.
    Failed(&'a str),
    /// No snapshot was taken (a person's step, or a provider with no reader).
    None,
}

/// Everything outside the snapshot a step's effect depends on.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub policy: &'a TenantPolicy,
    /// Who receives mail and files.
    pub delegate: Option<&'a str>,
}

/// Decides what `step` would change, given its provider's snapshot.
pub fn preview(step: &Step, snapshot: Snapshot<'_>, cx: Context<'_>) -> StepPreview {
    let preview = match snapshot {
        Snapshot::Failed(why) => Preview::cannot(format!("the leaver could not be read: {why}")),
        Snapshot::None => unread(step),
        Snapshot::Read(state) => match step.provider {
            Provider::Okta => okta::preview(step.action, state),
            Provider::Microsoft => microsoft::preview(step.action, state, cx),
            Provider::Google => google::preview(step.action, state, cx),
            Provider::Jumpcloud => jumpcloud::preview(step.action, state, cx),
            _ => unread(step),
        },
    };
    StepPreview {
        step: step.key.clone(),
        provider: step.provider,
        action: step.action,
        critical: step.critical,
        preview,
    }
}

/// A step whose effect no read predicts: a person's confirmation, or a SaaS seat.
fn unread(step: &Step) -> Preview {
    match step.provider {
        Provider::Human => {
            Preview::nothing(format!("a person confirms this ({})", step.action.as_str()))
        }
        _ => Preview::change(step.action.as_str().replace('_', " "))
            .with_note("the provider's state is read only when the run acts"),
    }
}

/// The names of a snapshot list's entries.
fn names<'a>(items: impl IntoIterator<Item = &'a Value>, field: &str) -> Vec<String> {
    items
        .into_iter()
        .map(|v| match &v[field] {
            Value::String(s) => s.clone(),
            Value::Null => v["id"].as_str().unwrap_or("(unnamed)").to_owned(),
            other => other.to_string(),
        })
        .collect()
}

fn list<'a>(state: &'a Value, field: &str) -> &'a [Value] {
    state[field].as_array().map_or(&[], Vec::as_slice)
}

/// "lock", "retire", "wipe", as the tenant's policy says.
fn device_verb(action: DeviceAction) -> Option<&'static str> {
    match action {
        DeviceAction::None => None,
        DeviceAction::Lock => Some("lock"),
        DeviceAction::Retire => Some("retire"),
        DeviceAction::Wipe => Some("wipe"),
    }
}

#[cfg(test)]
mod tests;
