//! The shared-resource sweep on Google Workspace against the sandbox: the group the demo
//! leaver alone owns and the shared drive they alone manage go to the manager, the co-owned
//! group only loses the leaver as owner; without a manager the last owner stays and is
//! reported; a list failing mid-paging is recorded unreadable and the sweep changes nothing.

use crate::google::{connector, done, emulator, policy, request};
use passage_connectors::google::{DELEGATED_SCOPES, GoogleConnector, scopes};
use passage_core::Action;
use passage_core::ports::{Connector, FailureClass};
use passage_sandbox::google::{
    DEMO_CO_OWNED_GROUP, DEMO_LEAVER, DEMO_MANAGER, DEMO_OWNED_GROUP, GoogleEmulator,
};
use serde_json::Value;
use std::collections::BTreeMap;

const PRIYA: &str = "priya.patel@example.com";

fn sweeping(google: &GoogleEmulator) -> GoogleConnector {
    connector(google, policy()).sweeping(&passage_core::SweepPolicy::default())
}

fn drive_id(google: &GoogleEmulator) -> String {
    google.shared_drive_ids().into_iter().next().unwrap()
}

fn ownership_ids(output: &Value) -> Vec<String> {
    output["access"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["kind"] == "ownership")
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_groups_and_managed_drives_go_to_the_manager_before_the_memberships() {
    let google = emulator(DELEGATED_SCOPES).await;
    let drive = drive_id(&google);
    let c = sweeping(&google);
    let mut prior = BTreeMap::new();

    let snapshot = done(&c, Action::Snapshot, &mut prior).await.output;
    let owned: Vec<&str> = snapshot["owned_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["email"].as_str().unwrap())
        .collect();
    assert_eq!(owned, [DEMO_CO_OWNED_GROUP, DEMO_OWNED_GROUP]);
    assert_eq!(snapshot["shared_drives"][0]["id"], drive.as_str());
    let ids = ownership_ids(&snapshot);
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.contains(&format!("shared_drive:{drive}")));

    let swept = done(&c, Action::SweepSharedAccess, &mut prior).await;
    assert!(!swept.repeat);
    assert_eq!(swept.output["access"], serde_json::json!([]));
    // The sole-owned group went to the manager; the leaver is a plain member until
    // RemoveGroups; the co-owned group kept its other owner and gained nobody.
    assert_eq!(google.group_owners(DEMO_OWNED_GROUP), [DEMO_MANAGER]);
    assert_eq!(
        google.group_role(DEMO_OWNED_GROUP, DEMO_LEAVER).as_deref(),
        Some("MEMBER")
    );
    assert_eq!(google.group_owners(DEMO_CO_OWNED_GROUP), [PRIYA]);
    assert_eq!(
        google.shared_drive_members(&drive),
        [
            (PRIYA.to_owned(), "writer".to_owned()),
            (DEMO_MANAGER.to_owned(), "organizer".to_owned()),
        ]
    );

    // A repeat finds nothing left to hand over and changes nothing.
    let again = done(&c, Action::SweepSharedAccess, &mut prior).await;
    assert!(again.repeat, "{}", again.summary);
    assert_eq!(google.group_owners(DEMO_OWNED_GROUP), [DEMO_MANAGER]);

    // The memberships go afterwards; the group keeps its new owner.
    done(&c, Action::RemoveGroups, &mut prior).await;
    assert_eq!(google.group_owners(DEMO_OWNED_GROUP), [DEMO_MANAGER]);
    assert_eq!(google.group_role(DEMO_OWNED_GROUP, DEMO_LEAVER), None);
    google.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_manager_the_last_owner_stays_and_who_must_act_is_named() {
    let google = emulator(DELEGATED_SCOPES).await;
    let drive = drive_id(&google);
    let c = sweeping(&google);
    let mut req = request(Action::SweepSharedAccess, &BTreeMap::new());
    req.delegate = None;
    req.subject.manager = None;
    let out = c.execute(&req).await.outcome.done().unwrap();
    let stuck: Vec<(&str, &str)> = out.output["access"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["id"].as_str().unwrap(), i["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(stuck.len(), 2, "{stuck:?}");
    assert!(
        stuck
            .iter()
            .all(|(_, why)| why.contains("Workspace administrator"))
    );
    assert!(
        stuck
            .iter()
            .any(|(id, _)| *id == format!("shared_drive:{drive}"))
    );
    // Nothing forced: the last owner and the last manager stay; the co-owned group lost the
    // leaver as owner.
    assert_eq!(google.group_owners(DEMO_OWNED_GROUP), [DEMO_LEAVER]);
    assert_eq!(google.group_owners(DEMO_CO_OWNED_GROUP), [PRIYA]);
    assert_eq!(google.shared_drive_members(&drive).len(), 2);
    google.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_failing_mid_paging_is_unreadable_and_the_sweep_changes_nothing() {
    let google = emulator(DELEGATED_SCOPES).await;
    let drive = drive_id(&google);
    google.fail_sweep_list_pages(true);
    let c = sweeping(&google);
    let mut prior = BTreeMap::new();
    let snapshot = done(&c, Action::Snapshot, &mut prior).await.output;
    assert!(snapshot["owned_unreadable"].is_string(), "{snapshot}");
    assert!(snapshot["shared_drives_unreadable"].is_string());
    assert!(ownership_ids(&snapshot).is_empty());

    let req = request(Action::SweepSharedAccess, &prior);
    let failure = c.execute(&req).await.outcome.failed().unwrap();
    assert!(
        matches!(failure.class, FailureClass::Retryable { .. }),
        "{failure:?}"
    );
    assert_eq!(google.group_owners(DEMO_OWNED_GROUP), [DEMO_LEAVER]);
    assert_eq!(google.shared_drive_members(&drive).len(), 2);

    // Once the lists read to their end, the next attempt hands everything over.
    google.fail_sweep_list_pages(false);
    let later = c.execute(&req).await.outcome.done().unwrap();
    assert!(!later.repeat);
    assert_eq!(google.group_owners(DEMO_OWNED_GROUP), [DEMO_MANAGER]);
    google.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_drive_scope_the_snapshot_says_so_and_the_sweep_names_it() {
    let without_drive: Vec<&str> = DELEGATED_SCOPES
        .iter()
        .copied()
        .filter(|s| *s != scopes::DRIVE)
        .collect();
    let google = emulator(&without_drive).await;
    let drive = drive_id(&google);
    let c = sweeping(&google);
    let mut prior = BTreeMap::new();
    let snapshot = done(&c, Action::Snapshot, &mut prior).await.output;
    // The groups are still read; the drives are recorded as unreadable, not as none.
    assert!(snapshot["owned_groups"].is_array());
    let why = snapshot["shared_drives_unreadable"].as_str().unwrap();
    assert!(why.contains(scopes::DRIVE), "{why}");
    let f = c
        .execute(&request(Action::SweepSharedAccess, &prior))
        .await
        .outcome
        .failed()
        .unwrap();
    assert_eq!(f.class, FailureClass::Permanent);
    assert!(f.message.contains(scopes::DRIVE), "{}", f.message);
    // The reads come first: nothing was handed over before the refusal.
    assert_eq!(google.group_owners(DEMO_OWNED_GROUP), [DEMO_LEAVER]);
    assert_eq!(google.shared_drive_members(&drive).len(), 2);
    google.shutdown().await;
}
