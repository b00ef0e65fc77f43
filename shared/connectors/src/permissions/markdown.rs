//! The permission tables as the provider guides show them. A guide's table sits between two
//! marker comments; a test keeps it equal to [`markdown_table`], and rewrites it when asked.

use super::{Access, Permission, policy_option, table};
use passage_core::{Provider, step_key};

/// Opens the generated section of a guide.
pub const BEGIN_MARKER: &str =
    "<!-- BEGIN permissions table: generated from shared/connectors/src/permissions -->";
/// Closes it.
pub const END_MARKER: &str = "<!-- END permissions table -->";

/// The provider's table as Markdown, one row per grant.
pub fn markdown_table(provider: Provider) -> String {
    let mut out = String::from(
        "| grant | kind | id | access | needed by (step: policy option) | also satisfied by | note |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for p in table(provider) {
        out.push_str(&row(p));
    }
    out
}

fn row(p: &Permission) -> String {
    let cells = [
        format!("`{}`", p.name),
        p.kind.label().to_owned(),
        p.id.map(|id| format!("`{id}`"))
            .unwrap_or_else(|| "–".into()),
        match p.access {
            Access::Read => "read".into(),
            Access::Write => "write".into(),
        },
        needed_by(p),
        if p.also_satisfied_by.is_empty() {
            "–".into()
        } else {
            p.also_satisfied_by
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        p.note.replace('|', "\\|"),
    ];
    format!("| {} |\n", cells.join(" | "))
}

/// `` `okta.snapshot`, `okta.reset_factors`: `reset_factors = true` ``, and a mark for grants
/// only administrator leavers need.
fn needed_by(p: &Permission) -> String {
    let steps: Vec<String> = p
        .actions
        .iter()
        .map(|a| {
            let key = step_key(p.provider, *a);
            match policy_option(p.provider, *a) {
                Some(option) => format!("`{key}`: `{option}`"),
                None => format!("`{key}`"),
            }
        })
        .collect();
    let steps = steps.join(", ");
    if p.privileged_only {
        format!("{steps} (leavers who are administrators)")
    } else {
        steps
    }
}

/// `doc` with the text between the markers replaced by `generated`; `None` when the markers
/// are missing or out of order.
pub fn replace_generated(doc: &str, generated: &str) -> Option<String> {
    let start = doc.find(BEGIN_MARKER)? + BEGIN_MARKER.len();
    let end = start + doc[start..].find(END_MARKER)?;
    Some(format!("{}\n{generated}{}", &doc[..start], &doc[end..]))
}
