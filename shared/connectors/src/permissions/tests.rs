use super::*;
use crate::google::DELEGATED_SCOPES;
use passage_core::{DeviceAction, GooglePolicy, JumpCloudPolicy, MicrosoftPolicy, RunId};
use reqwest::Method;
use std::collections::BTreeSet;
use std::path::PathBuf;

const PROVIDERS: [Provider; 4] = [
    Provider::Okta,
    Provider::Microsoft,
    Provider::Google,
    Provider::Jumpcloud,
];

#[test]
fn every_action_of_every_connector_needs_a_grant_and_only_its_own_actions_appear() {
    for provider in PROVIDERS {
        let actions = actions_of(provider);
        for entry in table(provider) {
            assert_eq!(
                entry.provider, provider,
                "{} filed under {provider}",
                entry.name
            );
            for a in entry.actions {
                assert!(
                    actions.contains(a),
                    "{} names {a}, which the {provider} connector does not do",
                    entry.name
                );
            }
        }
        for a in actions {
            assert!(
                table(provider).iter().any(|p| p.actions.contains(a)),
                "{provider}.{a} reads the leaver, yet no grant lists it"
            );
        }
    }
}

#[test]
fn every_changing_action_needs_a_write_grant() {
    for provider in PROVIDERS {
        for a in actions_of(provider)
            .iter()
            .filter(|a| **a != Action::Snapshot)
        {
            assert!(
                table(provider)
                    .iter()
                    .any(|p| p.access == Access::Write && p.actions.contains(a)),
                "{provider}.{a} changes something, yet no write grant lists it"
            );
        }
    }
}

#[test]
fn names_are_unique_per_provider_and_find_is_case_blind() {
    for provider in PROVIDERS {
        let names: BTreeSet<String> = table(provider)
            .iter()
            .map(|p| p.name.to_ascii_lowercase())
            .collect();
        assert_eq!(names.len(), table(provider).len(), "{provider}");
    }
    assert_eq!(
        find(Provider::Microsoft, "user.read.all").map(|p| p.name),
        Some("User.Read.All")
    );
    let read = find(Provider::Microsoft, "MailboxSettings.Read").unwrap();
    assert!(read.satisfied_by("MailboxSettings.ReadWrite"));
    assert!(!read.satisfied_by("Mail.Read"));
}

#[test]
fn google_delegated_scopes_are_exactly_the_tables_scopes() {
    let table_scopes: BTreeSet<&str> = table(Provider::Google)
        .iter()
        .filter(|p| p.kind == Kind::GoogleScope)
        .map(|p| p.name)
        .collect();
    let delegated: BTreeSet<&str> = DELEGATED_SCOPES.iter().copied().collect();
    assert_eq!(table_scopes, delegated);
    assert_eq!(
        delegated.len(),
        DELEGATED_SCOPES.len(),
        "a scope listed twice"
    );
}

/// Every Graph call shape the Microsoft connector sends, with the access it needs.
const GRAPH_CALLS: &[(&str, &str, Access)] = &[
    ("GET", "/v1.0/users/u1", Access::Read),
    ("GET", "/v1.0/users", Access::Read),
    ("PATCH", "/v1.0/users/u1", Access::Write),
    ("POST", "/v1.0/users/u1/revokeSignInSessions", Access::Write),
    (
        "GET",
        "/v1.0/users/u1/memberOf/microsoft.graph.group",
        Access::Read,
    ),
    ("DELETE", "/v1.0/groups/g1/members/u1/$ref", Access::Write),
    ("GET", "/v1.0/users/u1/authentication/methods", Access::Read),
    (
        "DELETE",
        "/v1.0/users/u1/authentication/phoneMethods/m1",
        Access::Write,
    ),
    ("GET", "/v1.0/users/u1/mailboxSettings", Access::Read),
    ("PATCH", "/v1.0/users/u1/mailboxSettings", Access::Write),
    (
        "POST",
        "/v1.0/users/u1/mailFolders/inbox/messageRules",
        Access::Write,
    ),
    ("GET", "/v1.0/users/u1/managedDevices", Access::Read),
    (
        "POST",
        "/v1.0/deviceManagement/managedDevices/d1/retire",
        Access::Write,
    ),
    ("POST", "/v1.0/users/u1/assignLicense", Access::Write),
];

#[test]
fn the_permission_a_graph_call_blames_is_a_graph_entry_of_matching_access() {
    for (method, path, access) in GRAPH_CALLS {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let p = for_graph_call(&method, path);
        assert_eq!(p.kind, Kind::GraphAppRole, "{method} {path}");
        assert_eq!(p.access, *access, "{method} {path} blames {}", p.name);
    }
    let [app, role] = for_exchange();
    assert_eq!(app.kind, Kind::ExchangeAppRole);
    assert_eq!(role.kind, Kind::EntraRole);
}

#[test]
fn role_names_and_ids_agree() {
    for p in table(Provider::Microsoft)
        .iter()
        .filter(|p| p.kind == Kind::EntraRole)
    {
        assert_eq!(entra_roles::name_of(p.id.unwrap()), Some(p.name));
        for other in p.also_satisfied_by {
            assert!(
                entra_roles::NAMES.iter().any(|(_, n)| n == other),
                "{other} has no template id"
            );
        }
    }
}

fn specs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs")
}

/// The GUIDs come from Graph's own service principal where its saved permission list has the
/// permission (newer ones are missing from it).
#[test]
fn graph_app_role_ids_match_graphs_service_principal() {
    let path = specs().join("graph/MSGraphServicePrincipalPermissions.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "Graph's permission list not found at {} (the project's shared/specs, beside the \
             repository root): {e}",
            path.display()
        )
    });
    let sp: serde_json::Value = serde_json::from_str(&text).unwrap();
    let roles = sp["appRoles"].as_array().unwrap();
    let mut compared = 0;
    for p in table(Provider::Microsoft)
        .iter()
        .filter(|p| p.kind == Kind::GraphAppRole)
    {
        let Some(role) = roles.iter().find(|r| r["value"] == p.name) else {
            continue;
        };
        assert_eq!(role["id"].as_str(), p.id, "{}", p.name);
        compared += 1;
    }
    assert!(
        compared >= 8,
        "only {compared} permissions found in the list"
    );
}

fn full_policy() -> passage_core::TenantPolicy {
    let mut policy = passage_core::TenantPolicy::new("acme");
    let okta = policy.okta.as_mut().unwrap();
    okta.reset_factors = true;
    okta.unassign_apps = true;
    policy.microsoft = Some(MicrosoftPolicy {
        auto_reply: Some("gone".into()),
        ..MicrosoftPolicy::default()
    });
    policy.google = Some(GooglePolicy {
        forward_to_delegate: true,
        vacation_reply: Some("gone".into()),
        ..GooglePolicy::default()
    });
    policy.jumpcloud = Some(JumpCloudPolicy::default());
    policy.sweep = passage_core::SweepPolicy::default();
    policy
}

#[test]
fn a_full_policy_needs_every_grant_and_a_narrow_one_fewer() {
    let plan =
        passage_core::plan::build(&RunId::new("r"), &full_policy(), Some("boss@acme.com")).unwrap();
    for provider in PROVIDERS {
        assert_eq!(
            needed(provider, &plan).len(),
            table(provider).len(),
            "{provider}"
        );
    }
    let mut narrow = full_policy();
    narrow.microsoft = Some(MicrosoftPolicy {
        reset_factors: false,
        convert_mailbox: false,
        devices: DeviceAction::None,
        ..MicrosoftPolicy::default()
    });
    narrow.sweep = passage_core::SweepPolicy::off();
    let plan = passage_core::plan::build(&RunId::new("r"), &narrow, None).unwrap();
    let names: Vec<&str> = needed(Provider::Microsoft, &plan)
        .iter()
        .map(|(p, _)| p.name)
        .collect();
    assert!(!names.contains(&"UserAuthenticationMethod.ReadWrite.All"));
    assert!(!names.contains(&"DeviceManagementManagedDevices.PrivilegedOperations.All"));
    // Still needed: the snapshot reads devices, and distribution lists go through Exchange.
    assert!(names.contains(&"DeviceManagementManagedDevices.Read.All"));
    assert!(names.contains(&"Exchange.ManageAsApp"));
    let (_, steps) = needed(Provider::Microsoft, &plan)
        .into_iter()
        .find(|(p, _)| p.name == "GroupMember.ReadWrite.All")
        .unwrap();
    let keys: Vec<&str> = steps.iter().map(|s| s.key.0.as_str()).collect();
    assert_eq!(keys, ["microsoft.remove_groups"]);
}

fn guide(provider: Provider) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/providers")
        .join(format!("{provider}.md"))
}

/// The guides show the tables as they are. `PASSAGE_UPDATE_DOCS=1` rewrites the generated
/// sections instead of failing.
#[test]
fn each_guides_permission_table_is_the_table() {
    let update = std::env::var_os("PASSAGE_UPDATE_DOCS").is_some();
    for provider in PROVIDERS {
        let path = guide(provider);
        let doc =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let generated = markdown_table(provider);
        let expected = replace_generated(&doc, &generated).unwrap_or_else(|| {
            panic!(
                "{} lacks the markers {BEGIN_MARKER} … {END_MARKER}",
                path.display()
            )
        });
        if update {
            std::fs::write(&path, &expected).unwrap();
        } else {
            assert!(
                doc == expected,
                "{}'s permission table differs from shared/connectors/src/permissions; run \
                 `PASSAGE_UPDATE_DOCS=1 cargo test -p passage-connectors permissions` to rewrite it",
                path.display()
            );
        }
    }
}

#[test]
fn the_generated_section_is_replaced_whole() {
    let doc = format!("intro\n{BEGIN_MARKER}\nold\nrows\n{END_MARKER}\nafter\n");
    assert_eq!(
        replace_generated(&doc, "new\n").unwrap(),
        format!("intro\n{BEGIN_MARKER}\nnew\n{END_MARKER}\nafter\n")
    );
    assert_eq!(replace_generated("no markers", "x"), None);
    let table = markdown_table(Provider::Microsoft);
    assert!(table.contains("| `User.Read.All` | Graph application permission | `df021288-bdef-4463-88db-98f22de89214` | read |"));
    assert!(table.contains("`microsoft.reset_factors`: `policy.reset_factors`"));
    assert!(table.contains("(leavers who are administrators)"));
}
