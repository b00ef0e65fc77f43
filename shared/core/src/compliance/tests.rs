//! The table against its generated document and against the reference it was drawn from.

use super::*;
use crate::domain::{Action, DeviceAction};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

#[test]
fn the_generated_document_is_up_to_date() {
    let path = repo_file("docs/compliance-mapping.md");
    let generated = markdown();
    if std::env::var_os("PASSAGE_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/compliance-mapping.md");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/compliance-mapping.md differs from the table in shared/core/src/compliance: \
         regenerate it with `PASSAGE_BLESS=1 cargo test -p passage-core compliance`"
    );
}

#[test]
fn ids_carry_framework_and_version_and_never_repeat() {
    let mut seen = BTreeSet::new();
    for c in controls_in_use() {
        let id = c.id();
        assert!(id.starts_with(c.framework.prefix()), "{id}");
        assert!(!c.reference.is_empty() && !c.summary.is_empty(), "{id}");
        assert!(seen.insert(id.clone()), "{id} twice");
    }
    for m in Measure::ALL {
        let mut ids = BTreeSet::new();
        for (_, c) in mapping(m) {
            assert!(ids.insert(c.id()), "{m:?} lists {} twice", c.id());
        }
    }
}

#[test]
fn measures_beyond_the_reference_only_support() {
    for (m, why) in Measure::BEYOND_REFERENCE {
        assert!(
            !Measure::ALL.contains(&m),
            "{m:?} is in the reference table"
        );
        assert!(!why.is_empty());
        assert!(!m.removes_access(), "{m:?} removes nothing");
        assert!(!mapping(m).is_empty(), "{m:?} maps to something");
        assert!(
            mapping(m).iter().all(|(r, _)| *r == Relation::Supports),
            "{m:?} claims more than support"
        );
    }
    for action in Action::RESTORE {
        assert_eq!(Measure::of(action, DeviceAction::Lock), Measure::Regrant);
    }
    let cc62 = mapping(Measure::Regrant)
        .iter()
        .any(|(_, c)| c.reference == "CC6.2");
    assert!(cc62, "access re-granted on rehire is CC6.2 provisioning");
}

#[test]
fn records_and_grants_evidence_no_removal() {
    for m in [
        Measure::Snapshot,
        Measure::RemoveLicences,
        Measure::AutoReply,
        Measure::ConvertMailbox,
        Measure::DelegateOrForward,
        Measure::TransferData,
        Measure::Handover,
        Measure::DeviceLock,
    ] {
        assert!(
            mapping(m).iter().all(|(r, _)| *r != Relation::Evidences),
            "{m:?} must evidence nothing"
        );
    }
    // Returning the laptop, not locking it, is the return of assets.
    let a511 = |m| {
        mapping(m)
            .iter()
            .any(|(r, c)| c.reference == "A.5.11" && *r == Relation::Evidences)
    };
    assert!(a511(Measure::DeviceReturn) && !a511(Measure::DeviceLock));
}

/// Where the reference's cell is conditional on something Passage cannot observe, the table
/// claims the lesser relation. Each such reading is listed here with its reason.
const CONDITIONAL: &[(Measure, &str, &str)] = &[
    (
        Measure::Intake,
        "NIST-SP800-171r3:03.01.01.g.02",
        "only if Passage notifies the designated roles",
    ),
    (
        Measure::Intake,
        "NIST-SP800-53r5:AC-2h.2",
        "same condition as 03.01.01.g.02",
    ),
    (
        Measure::DeviceReturn,
        "NIST-SP800-171r3:03.09.02.a.03",
        "only if tokens, keys or badges came back",
    ),
];

#[test]
fn the_table_agrees_with_the_reference() {
    let path = repo_file("../shared/research/controls.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the compliance reference was not found at {} ({e}): it lives in the reference \
             folder beside the checkout (../shared/research)",
            path.display()
        )
    });
    let rows = reference::rows(&text);
    let mut checked = BTreeSet::new();
    for (label, cells) in &rows {
        let Some(measure) = reference::measure(label) else {
            continue;
        };
        checked.insert(measure);
        let mut expected = reference::claims(cells);
        for (m, id, _) in CONDITIONAL {
            if *m == measure && expected.remove(&(Relation::Evidences, (*id).to_owned())) {
                expected.insert((Relation::Supports, (*id).to_owned()));
            }
        }
        let ours: BTreeSet<(Relation, String)> =
            mapping(measure).iter().map(|(r, c)| (*r, c.id())).collect();
        assert_eq!(
            ours, expected,
            "{measure:?} ({label}) disagrees with the reference"
        );
    }
    let missing: Vec<_> = Measure::ALL
        .iter()
        .filter(|m| !checked.contains(m))
        .collect();
    assert!(missing.is_empty(), "no reference row for {missing:?}");
}

/// Reading the per-action table of `controls.md` §2.
mod reference {
    use super::*;
    use regex::Regex;

    /// The rows of the table whose header starts with `| Passage action |`: (first cell, the
    /// seven framework cells).
    pub fn rows(text: &str) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        let mut inside = false;
        for line in text.lines() {
            if line.starts_with("| Passage action |") {
                inside = true;
                continue;
            }
            if !inside || line.starts_with("|---") {
                continue;
            }
            if !line.starts_with('|') {
                if !out.is_empty() {
                    break;
                }
                continue;
            }
            let cells: Vec<String> = line.split('|').map(|c| c.trim().to_owned()).collect();
            // "", action, 7 framework cells, justification, ""
            out.push((cells[1].clone(), cells[2..9].to_vec()));
        }
        out
    }

    pub fn measure(label: &str) -> Option<Measure> {
        let l = label.replace("**", "");
        let table = [
            ("HR event intake", Measure::Intake),
            ("Snapshot", Measure::Snapshot),
            ("Block sign-in", Measure::Disable),
            ("Revoke sessions", Measure::RevokeSessions),
            ("Reset/remove MFA", Measure::RevokeFactors),
            ("Revoke OAuth", Measure::RevokeGrants),
            ("Remove group", Measure::RemoveGroups),
            ("Unassign apps", Measure::UnassignApps),
            ("SaaS seat", Measure::SaasDeactivate),
            ("Remove licences", Measure::RemoveLicences),
            ("Mailbox convert", Measure::ConvertMailbox),
            ("Mailbox delegate", Measure::DelegateOrForward),
            ("Auto-reply", Measure::AutoReply),
            ("Data transfer", Measure::TransferData),
            ("Device lock", Measure::DeviceLock),
            ("Device retire", Measure::DeviceWipe),
            ("Device return", Measure::DeviceReturn),
            ("Manager hand-over", Measure::Handover),
            ("Post-cutoff sign-in", Measure::SigninWatch),
        ];
        table
            .iter()
            .find(|(p, _)| l.starts_with(p))
            .map(|(_, m)| *m)
    }

    /// The (relation, id) claims of one row's framework cells. Parenthesised remarks are
    /// comments, `—` claims nothing, a relation letter (E/S/V) applies to the ids after it.
    pub fn claims(cells: &[String]) -> BTreeSet<(Relation, String)> {
        let remark = Regex::new(r"\s\([^)]*\s[^)]*\)").unwrap();
        let patterns = [
            (r"CC\d\.\d", "SOC2-TSC2017:"),
            (
                r"\d{3}\([a-z]\)(?:\(\d\))?(?:\([ivx]+\))?(?:\([A-Z]\))?",
                "HIPAA:164.",
            ),
            (r"3\.\d+\.\d+(?:\[[a-z]\])?", "NIST-SP800-171r2:"),
            (
                r"03\.\d\d\.\d\d(?:\.[a-z](?:\.\d\d)?)?|\b[a-z]\.\d\d\b",
                "NIST-SP800-171r3:",
            ),
            (r"[A-Z]{2}\.[A-Z]{2}-\d\d", "NIST-CSF2.0:"),
            (r"A\.\d\.\d+", "ISO27001:2022:"),
            (r"CIS \d+\.\d+|[A-Z]{2}-\d+(?:\(\d\))?[a-z]?(?:\.\d)?", ""),
        ];
        let mut out = BTreeSet::new();
        for (cell, (pattern, prefix)) in cells.iter().zip(patterns) {
            let cell = remark.replace_all(&cell.replace("**", ""), "").into_owned();
            let token = Regex::new(&format!(r"\b([ESV])\s|({pattern})")).unwrap();
            let mut relation = None;
            let mut last_full = String::new();
            for cap in token.captures_iter(&cell) {
                if let Some(r) = cap.get(1) {
                    relation = Some(match r.as_str() {
                        "E" => Relation::Evidences,
                        "S" => Relation::Supports,
                        _ => Relation::Verifies,
                    });
                    continue;
                }
                let Some(rel) = relation else { continue };
                let raw = cap.get(2).unwrap().as_str();
                let id = if prefix == "NIST-SP800-171r3:" && raw.len() == 4 {
                    // "a.02" continues the id before it: 03.09.02.a.01, a.02
                    format!("{}{raw}", &last_full[..last_full.len() - 4])
                } else {
                    raw.to_owned()
                };
                last_full = id.clone();
                let full = match prefix {
                    "" if id.starts_with("CIS ") => format!("CIS-v8:{}", &id[4..]),
                    "" => format!("NIST-SP800-53r5:{id}"),
                    p => format!("{p}{id}"),
                };
                out.insert((rel, full));
            }
        }
        out
    }
}
