//! Restore runs on the SQLite store: only a closed leaver run is restored, one restore at a
//! time; the restore run carries the snapshot's items to its connector, records the operator,
//! goes through the gate, and closes into a bundle linked to the original's. A provider that
//! fails mid-restore leaves the run open and the item unverified.

use crate::engine_world::{World, close, okta, work_ready};
use passage_core::domain::{Action, RunState, StepState};
use passage_core::engine::{EngineError, RestoreRequest};
use passage_core::evidence::{LinkCheck, check_restore_links, verify_bundle};
use passage_core::ids::RunId;
use passage_core::ports::{ActionDone, FailureClass, RunStore};
use serde_json::json;

/// Okta's snapshot records two groups; the removal reads both back gone.
fn recording_groups(world: &World) {
    world.answer(Action::Snapshot, |_, _| {
        ActionDone {
            repeat: false,
            summary: "recorded".into(),
            readback: json!({}),
            output: json!({"user_id": "00u1", "access": [
                {"kind": "group", "id": "00g1", "name": "Engineering"},
                {"kind": "group", "id": "00g2", "name": "Everyone at HQ"},
            ]}),
        }
        .into()
    });
}

fn request(run: &RunId) -> RestoreRequest {
    RestoreRequest {
        original: run.clone(),
        only: Vec::new(),
        note: Some("rehired".into()),
    }
}

async fn closed_leaver(world: &World) -> RunId {
    recording_groups(world);
    let run_id = world.running_run().await;
    let refused = world
        .engine
        .plan_restore(&world.tenant, &request(&run_id))
        .await;
    assert!(
        matches!(&refused, Err(EngineError::NotAllowed(why)) if why.contains("closed")),
        "an open run is not restored: {refused:?}"
    );
    close(world, &run_id).await;
    assert_eq!(world.run_state(&run_id).await, RunState::Closed);
    run_id
}

#[tokio::test]
async fn a_restore_run_gives_back_what_the_run_took_and_closes_into_a_linked_bundle() {
    let world = World::new();
    let original = closed_leaver(&world).await;
    let (_, plan) = world
        .engine
        .plan_restore(&world.tenant, &request(&original))
        .await
        .unwrap();
    let keys: Vec<&str> = plan.items.iter().map(|i| i.key.as_str()).collect();
    assert!(keys.contains(&"okta.account"), "{keys:?}");
    assert!(keys.contains(&"okta.group.00g1") && keys.contains(&"okta.group.00g2"));

    let answer = world
        .engine
        .start_restore(&world.tenant, request(&original), "rosa")
        .await
        .unwrap();
    let restore = answer.run_id.clone().unwrap();
    let twice = world
        .engine
        .start_restore(&world.tenant, request(&original), "rosa")
        .await;
    assert!(
        matches!(&twice, Err(EngineError::NotAllowed(why)) if why.contains("still")),
        "a second restore while one is open is refused: {twice:?}"
    );
    let run = world.store.run(&restore).await.unwrap().unwrap();
    assert!(run.state.is_open());
    let origin = run.restore().unwrap();
    assert_eq!(origin.original_run, original);
    assert_eq!(origin.actor, "rosa");

    work_ready(&world, &restore).await;
    // The connector got the items and the original snapshot, by the snapshot's key.
    let requests = world.okta.requests.lock().unwrap().clone();
    let groups = requests
        .iter()
        .find(|r| r.run_id == restore && r.action == Action::RestoreGroups)
        .expect("restore_groups ran");
    let items = groups.restore_items();
    assert_eq!(items.len(), 2);
    assert_eq!(groups.prior[&okta(Action::Snapshot)]["user_id"], "00u1");
    let reactivate = world.step(&restore, Action::Reactivate).await;
    assert_eq!(reactivate.state, StepState::Verified);
    let restore_groups = world.step(&restore, Action::RestoreGroups).await;
    assert!(
        restore_groups
            .depends_on
            .contains(&okta(Action::Reactivate))
    );
    let events = world.store.events(&restore).await.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "run.created" && e.actor == "operator:rosa")
    );

    let sequence = world
        .engine
        .finalize(&restore)
        .await
        .unwrap()
        .unwrap()
        .sequence;
    assert_eq!(sequence, 2);
    let closed = world.store.run(&restore).await.unwrap().unwrap();
    assert_eq!(closed.state, RunState::Closed);
    assert!(
        closed.sign_in_watch.is_none(),
        "a restore run watches no sign-ins"
    );
    let leaver = world.store.run(&original).await.unwrap().unwrap();
    assert!(
        leaver
            .sign_in_watch
            .as_ref()
            .is_none_or(|w| !w.is_watching(world.now() + jiff::SignedDuration::from_secs(1))),
        "the original run stops watching for the returning person's sign-ins"
    );
    let kinds = world.event_kinds(&original).await;
    assert!(
        kinds.contains(&"run.restore_started".to_owned()),
        "{kinds:?}"
    );

    let mut bundles = Vec::new();
    for id in [&original, &restore] {
        let run = world.store.run(id).await.unwrap().unwrap();
        let dir = std::path::PathBuf::from(run.bundle.unwrap().location);
        let files = passage_embedded::read_bundle_dir(&dir).unwrap();
        bundles.push(verify_bundle(&files, None).unwrap());
    }
    let link = bundles[1]
        .restores
        .clone()
        .expect("the restore bundle names the original");
    assert_eq!(link.manifest_sha256, bundles[0].manifest_sha256);
    assert_eq!(
        check_restore_links(&bundles).unwrap(),
        vec![LinkCheck::Linked {
            restore_run: restore.to_string(),
            original_run: original.to_string(),
        }]
    );
    // A restore bundle whose named original differs is a broken link.
    let mut forged = bundles.clone();
    forged[0].manifest_sha256 = "0".repeat(64);
    assert!(check_restore_links(&forged).is_err());
}

#[tokio::test]
async fn a_provider_failing_mid_restore_leaves_the_run_open_and_the_item_unverified() {
    let world = World::new();
    let original = closed_leaver(&world).await;
    world.fail(Action::RestoreGroups, FailureClass::Permanent);
    let restore = world
        .engine
        .start_restore(&world.tenant, request(&original), "rosa")
        .await
        .unwrap()
        .run_id
        .unwrap();
    work_ready(&world, &restore).await;
    assert_eq!(
        world.state_of(&restore, Action::RestoreGroups).await,
        StepState::Failed
    );
    assert_eq!(world.run_state(&restore).await, RunState::Blocked);
    assert!(world.engine.finalize(&restore).await.unwrap().is_none());
    // The provider answers again: a retry verifies it and the run closes.
    world.answer(Action::RestoreGroups, |r, _| {
        crate::engine_world::done(r.action)
    });
    world
        .engine
        .retry(&restore, &okta(Action::RestoreGroups), "rosa")
        .await
        .unwrap();
    close(&world, &restore).await;
    assert_eq!(world.run_state(&restore).await, RunState::Closed);
}
