use super::*;
use crate::domain::{MicrosoftPolicy, Step};
use crate::ids::RunId;
use serde_json::json;

fn step(provider: Provider, action: Action) -> Step {
    Step::new(&RunId::new("r1"), provider, action, true, vec![])
}

fn cx(policy: &TenantPolicy) -> Context<'_> {
    Context {
        policy,
        delegate: Some("lee@example.com"),
    }
}

#[test]
fn okta_groups_split_into_what_a_run_removes_and_what_it_reports() {
    let policy = TenantPolicy::new("t");
    let state = json!({"status": "ACTIVE", "groups": [
        {"id": "g1", "name": "Engineering", "type": "OKTA_GROUP"},
        {"id": "g2", "name": "AD Engineering", "type": "APP_GROUP"},
        {"id": "g3", "name": "Everyone", "type": "BUILT_IN"},
    ]});
    let p = preview(
        &step(Provider::Okta, Action::RemoveGroups),
        Snapshot::Read(&state),
        cx(&policy),
    );
    assert_eq!(p.preview.changes, vec!["remove groups Engineering"]);
    assert_eq!(p.preview.cannot.len(), 2);
    assert!(p.preview.cannot[0].starts_with("AD Engineering: membership is managed"));
    assert!(p.preview.cannot[1].starts_with("Everyone: built-in"));
}

#[test]
fn okta_state_that_already_holds_changes_nothing() {
    let policy = TenantPolicy::new("t");
    let state = json!({"status": "SUSPENDED", "grants": []});
    for action in [Action::Suspend, Action::RevokeGrants, Action::RemoveGroups] {
        let p = preview(
            &step(Provider::Okta, action),
            Snapshot::Read(&state),
            cx(&policy),
        );
        assert!(!p.preview.changes_anything(), "{action}: {p:?}");
        assert!(p.preview.note.is_some());
    }
    let staged = json!({"status": "STAGED"});
    let p = preview(
        &step(Provider::Okta, Action::Suspend),
        Snapshot::Read(&staged),
        cx(&policy),
    );
    assert_eq!(p.preview.cannot.len(), 1, "{p:?}");
}

#[test]
fn a_failed_snapshot_makes_every_step_of_its_provider_unchangeable() {
    let policy = TenantPolicy::new("t");
    let p = preview(
        &step(Provider::Okta, Action::Suspend),
        Snapshot::Failed("no Okta user has login or email x@example.com"),
        cx(&policy),
    );
    assert!(!p.preview.changes_anything());
    assert!(p.preview.cannot[0].contains("no Okta user"));
}

#[test]
fn microsoft_reports_synced_dynamic_groups_and_inherited_licences() {
    let mut policy = TenantPolicy::new("t");
    policy.microsoft = Some(MicrosoftPolicy {
        devices: DeviceAction::Lock,
        ..MicrosoftPolicy::default()
    });
    let state = json!({
        "accountEnabled": true,
        "groups": [
            {"displayName": "Engineering", "groupTypes": []},
            {"displayName": "AD Engineering", "groupTypes": [], "onPremisesSyncEnabled": true},
            {"displayName": "All Berlin", "groupTypes": ["DynamicMembership"]},
        ],
        "licenseAssignmentStates": [
            {"skuId": "sku-e3", "assignedByGroup": null},
            {"skuId": "sku-visio", "assignedByGroup": "g9"},
        ],
        "devices": [{"deviceName": "JANE-LAPTOP"}],
    });
    let read = |action| {
        preview(
            &step(Provider::Microsoft, action),
            Snapshot::Read(&state),
            cx(&policy),
        )
        .preview
    };
    let groups = read(Action::RemoveGroups);
    assert_eq!(groups.changes, vec!["remove groups Engineering"]);
    assert_eq!(groups.cannot.len(), 2);
    assert_eq!(
        read(Action::RemoveLicenses).changes,
        vec!["remove licences sku-e3"]
    );
    assert_eq!(read(Action::RemoveLicenses).cannot.len(), 1);
    assert_eq!(
        read(Action::SecureDevices).changes,
        vec!["lock devices JANE-LAPTOP"]
    );
    assert_eq!(read(Action::Suspend).changes, vec!["block sign-in"]);
}

#[test]
fn a_persons_step_is_named_as_such() {
    let policy = TenantPolicy::new("t");
    let p = preview(
        &step(Provider::Human, Action::ReturnDevices),
        Snapshot::None,
        cx(&policy),
    );
    assert!(!p.preview.changes_anything());
    assert!(p.preview.note.unwrap().contains("a person confirms"));
}
