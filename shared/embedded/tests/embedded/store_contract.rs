//! The contracts the engine relies on, checked on the SQLite adapters: idempotent insert,
//! version-checked all-or-nothing commits, the evidence chain's compare-and-set, and the queue's
//! visibility, de-duplication, receipts and dead letters.

use passage_core::ports::{
    ChainHead, Commit, InsertOutcome, QueueMessage, RunStore, StepQueue, StoreError,
};
use passage_core::{RunId, StepKey, TenantId, TenantPolicy, plan};
use passage_embedded::{Database, SqliteQueue, SqliteStore};
use std::time::Duration;

fn run(id: &str, key: &str) -> passage_core::Run {
    let now = jiff::Timestamp::now();
    passage_core::Run {
        id: RunId::new(id),
        tenant: TenantId::new("acme"),
        version: 0,
        state: passage_core::RunState::Scheduled,
        subject: passage_core::Subject {
            employee_id: "E1".into(),
            email: "e1@example.com".into(),
            display_name: None,
            time_zone: "UTC".into(),
            manager: None,
        },
        source: passage_core::RunSource::Manual {
            actor: "test".into(),
            received_at: now,
            note: None,
        },
        idempotency_key: key.into(),
        cutoff: passage_core::cutoff::resolve(
            &passage_core::cutoff::CutoffRequest::Immediate,
            "UTC",
            jiff::civil::Time::midnight(),
            now,
        )
        .unwrap(),
        created_at: now,
        started_at: None,
        closed_at: None,
        blocked_reason: None,
        hold: None,
        alerts: Vec::new(),
        cancellation: None,
        exceptions: Vec::new(),
        bundle: None,
        finalizing: None,
        sign_in_watch: None,
        early_at: None,
    }
}

fn store() -> SqliteStore {
    SqliteStore::new(Database::in_memory().unwrap())
}

#[tokio::test]
async fn insert_is_idempotent_per_tenant_and_key() {
    let s = store();
    let r = run("run_a", "k1");
    let steps = plan::build(&r.id, &TenantPolicy::new("acme"), None).unwrap();
    assert_eq!(
        s.insert_run(&r, &steps, &[]).await.unwrap(),
        InsertOutcome::Created
    );
    let again = run("run_b", "k1");
    assert_eq!(
        s.insert_run(&again, &steps, &[]).await.unwrap(),
        InsertOutcome::Existing(RunId::new("run_a"))
    );
    assert!(s.run(&RunId::new("run_b")).await.unwrap().is_none());
    assert_eq!(s.steps(&r.id).await.unwrap().len(), steps.len());
}

#[tokio::test]
async fn a_stale_version_rejects_the_whole_commit() {
    let s = store();
    let r = run("run_a", "k1");
    let steps = plan::build(&r.id, &TenantPolicy::new("acme"), None).unwrap();
    s.insert_run(&r, &steps, &[]).await.unwrap();

    let mut first = s.steps(&r.id).await.unwrap();
    first[0].attempts = 1;
    s.commit(Commit {
        steps: vec![first[0].clone()],
        ..Commit::default()
    })
    .await
    .unwrap();

    // A second writer still holding version 0 loses, and its run change is rolled back too.
    let mut stale_step = first[0].clone();
    stale_step.attempts = 99;
    let mut run_change = s.run(&r.id).await.unwrap().unwrap();
    run_change.blocked_reason = Some("should not persist".into());
    let err = s
        .commit(Commit {
            runs: vec![run_change],
            steps: vec![stale_step],
            ..Commit::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    assert_eq!(s.run(&r.id).await.unwrap().unwrap().blocked_reason, None);
    let now = s.steps(&r.id).await.unwrap();
    assert_eq!((now[0].attempts, now[0].version), (1, 1));
}

#[tokio::test]
async fn the_chain_head_moves_only_from_the_expected_value() {
    let s = store();
    let t = TenantId::new("acme");
    let one = ChainHead {
        sequence: 1,
        manifest_sha256: "a".repeat(64),
    };
    s.commit(Commit {
        chain: Some((t.clone(), ChainHead::genesis(), one.clone())),
        ..Commit::default()
    })
    .await
    .unwrap();
    let fork = ChainHead {
        sequence: 1,
        manifest_sha256: "b".repeat(64),
    };
    let err = s
        .commit(Commit {
            chain: Some((t.clone(), ChainHead::genesis(), fork)),
            ..Commit::default()
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict(_)));
    assert_eq!(s.chain_head(&t).await.unwrap(), one);
}

fn msg(step: &str) -> QueueMessage {
    QueueMessage::Step {
        run_id: RunId::new("run_a"),
        step_key: StepKey::new(step),
    }
}

#[tokio::test]
async fn queue_hides_received_messages_and_dedupes_pending_ones() {
    let q = SqliteQueue::new(Database::in_memory().unwrap());
    q.enqueue(&msg("okta.snapshot"), Duration::ZERO)
        .await
        .unwrap();
    q.enqueue(&msg("okta.snapshot"), Duration::ZERO)
        .await
        .unwrap();
    let got = q.receive(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(got.len(), 1, "one pending copy per message");
    assert_eq!(got[0].message, Some(msg("okta.snapshot")));
    assert_eq!(got[0].receive_count, 1);
    assert!(
        q.receive(10, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty(),
        "hidden while received"
    );

    // Released with no delay: delivered again with a new receipt; the old one is stale.
    q.release(&got[0].receipt, Duration::ZERO).await.unwrap();
    let again = q.receive(10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
    assert_ne!(again[0].receipt, got[0].receipt);
    assert!(
        q.ack(&got[0].receipt).await.is_err(),
        "a stale receipt cannot delete"
    );
    q.ack(&again[0].receipt).await.unwrap();
    assert_eq!(q.depth().await.unwrap(), (0, 0));
}

#[tokio::test]
async fn delayed_messages_wait_and_visibility_expiry_redelivers() {
    let q = SqliteQueue::new(Database::in_memory().unwrap());
    q.enqueue(&msg("okta.suspend"), Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        q.receive(1, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    let got = q.receive(1, Duration::from_millis(200)).await.unwrap();
    assert_eq!(got.len(), 1);
    // The receiver "dies": after the visibility timeout the message comes back.
    tokio::time::sleep(Duration::from_millis(250)).await;
    let again = q.receive(1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
}

#[tokio::test]
async fn poison_messages_go_to_dead_letters_with_their_reason() {
    let q = SqliteQueue::new(Database::in_memory().unwrap());
    q.enqueue_raw("poison", "{not json").await.unwrap();
    let got = q.receive(1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(got[0].message, None);
    q.dead_letter(&got[0].receipt, "undecodable").await.unwrap();
    assert_eq!(q.depth().await.unwrap(), (0, 1));
    let dl = q.dead_letters().await.unwrap();
    assert_eq!(dl[0].0, "{not json");
    assert_eq!(dl[0].1, "undecodable");
}

#[tokio::test]
async fn a_restart_recovers_messages_a_dead_process_held() {
    let db = Database::in_memory().unwrap();
    let q = SqliteQueue::new(db.clone());
    q.enqueue(&msg("okta.snapshot"), Duration::ZERO)
        .await
        .unwrap();
    let _held = q.receive(1, Duration::from_secs(3600)).await.unwrap();
    assert_eq!(q.recover_in_flight().await.unwrap(), 1);
    assert_eq!(
        q.receive(1, Duration::from_secs(60)).await.unwrap().len(),
        1
    );
}
