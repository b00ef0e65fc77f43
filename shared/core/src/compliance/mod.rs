//! Compliance controls: which controls each measure Passage takes is relevant to, named exactly
//! as each framework names them ([`catalog`]), with the relation the evidence supports
//! ([`mapping`]). The same table drives the bundle's controls, the period report and
//! `docs/compliance-mapping.md` ([`markdown`]), and a test keeps that document and the
//! reference the table was drawn from in agreement with it.

pub mod catalog;
pub mod mapping;

pub use catalog::{Control, Framework};
pub use mapping::{CONTROL_MAP_VERSION, Measure, Relation, mapping};

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Every control the table uses, once, in framework order.
pub fn controls_in_use() -> Vec<Control> {
    let mut all: BTreeMap<String, Control> = BTreeMap::new();
    for m in Measure::ALL {
        for (_, c) in mapping(m) {
            all.insert(c.id(), *c);
        }
    }
    let mut v: Vec<Control> = all.into_values().collect();
    v.sort_by(|a, b| (a.framework, a.reference).cmp(&(b.framework, b.reference)));
    v
}

/// `docs/compliance-mapping.md`, generated from the table.
pub fn markdown() -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Compliance mapping\n\n\
         <!-- Generated from shared/core/src/compliance (mapping.rs and catalog.rs); a test keeps \
         this file equal to it. Regenerate with PASSAGE_BLESS=1 cargo test -p passage-core \
         compliance. -->\n\n\
         Mapping version `{CONTROL_MAP_VERSION}` (recorded as `control_map_version` in every \
         manifest).\n\n\
         Each measure is *relevant to* controls in one of three ways: it **evidences** a control \
         when its read-back outcome is what the control asks for; it **supports** one when it is \
         relevant context but not enough on its own (or only under a condition Passage cannot \
         see); it **verifies** one when it tests that the evidencing measures worked. A step \
         lists controls only when it was read back; failed and waived steps list none. Whether a \
         control is met is the auditor's decision.\n\n\
         HIPAA rows apply to systems holding ePHI, NIST SP 800-171 rows to systems inside the \
         CUI boundary. Revision 2 and Revision 3 of 800-171 are separate entries, never mixed."
    );
    let _ = writeln!(out, "\n## By measure\n");
    let _ = writeln!(out, "| measure | evidences | supports | verifies |");
    let _ = writeln!(out, "|---|---|---|---|");
    for m in Measure::ALL {
        let ids = |r: Relation| {
            let v: Vec<String> = mapping(m)
                .iter()
                .filter(|(rel, _)| *rel == r)
                .map(|(_, c)| format!("`{}`", c.id()))
                .collect();
            if v.is_empty() {
                "—".to_owned()
            } else {
                v.join(", ")
            }
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            m.describe(),
            ids(Relation::Evidences),
            ids(Relation::Supports),
            ids(Relation::Verifies)
        );
    }
    let _ = writeln!(out, "\n## Controls\n");
    let _ = writeln!(
        out,
        "Official names are the frameworks' own; SOC 2 criteria, CSF 2.0 subcategories and \
         800-171 Rev. 2 requirements have none. Summaries are Passage's wording, not official \
         text.\n"
    );
    let _ = writeln!(
        out,
        "| id | framework | official name | summary (Passage, not official) |"
    );
    let _ = writeln!(out, "|---|---|---|---|");
    for c in controls_in_use() {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            c.id(),
            c.framework.title(),
            c.name.unwrap_or("(none)"),
            c.summary
        );
    }
    out
}

#[cfg(test)]
mod tests;
