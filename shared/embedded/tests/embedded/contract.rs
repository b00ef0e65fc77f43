//! The shared port contracts (`passage_contract`) on the embedded adapters:
//! SQLite store, queue and timer, the key-file signer, bundles on disk and in-memory budgets.

use passage_contract::{self as contract, BoxFuture, QueueCheck};
use passage_core::RunId;
use passage_embedded::{
    Database, FsEvidenceStore, InProcessPacer, KeyFileSigner, KeyFileVault, SqliteQueue,
    SqliteStore, SqliteTimer,
};
use std::sync::Arc;
use std::time::Duration;

fn sleep(d: Duration) -> BoxFuture<'static, ()> {
    Box::pin(tokio::time::sleep(d))
}

#[tokio::test]
async fn store_contract_in_memory() {
    contract::store_all(&SqliteStore::new(Database::in_memory().unwrap())).await;
}

#[tokio::test]
async fn store_contract_on_a_file_shared_by_concurrent_checks() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::new(Database::open(&dir.path().join("passage.db")).unwrap());
    tokio::join!(
        contract::store_insert_is_idempotent(&store),
        contract::store_one_open_run_per_employee(&store),
        contract::store_commit_is_version_checked_and_atomic(&store),
        contract::store_keeps_attempts_and_events(&store),
        contract::store_chain_head_compare_and_set(&store),
        contract::store_queries(&store),
    );
}

#[tokio::test]
async fn queue_contract() {
    let queue = SqliteQueue::new(Database::in_memory().unwrap());
    let reader = queue.clone();
    let dead_letters = move || -> BoxFuture<'static, Vec<(String, String)>> {
        let q = reader.clone();
        Box::pin(async move {
            q.dead_letters()
                .await
                .unwrap()
                .into_iter()
                .map(|(body, reason, _)| (body, reason))
                .collect()
        })
    };
    contract::queue_visibility_receipts_and_dead_letters(QueueCheck {
        queue: &queue,
        visibility_short: Duration::from_millis(300),
        sleep: &sleep,
        dead_letters: Some(&dead_letters),
    })
    .await;
    assert_eq!(queue.depth().await.unwrap(), (0, 1));
}

#[tokio::test]
async fn signer_contract() {
    let dir = tempfile::tempdir().unwrap();
    let signer = KeyFileSigner::create(&dir.path().join("signing-key.pem")).unwrap();
    contract::signer_produces_verifiable_der(&signer).await;
}

#[tokio::test]
async fn key_vault_contract() {
    let dir = tempfile::tempdir().unwrap();
    let vault = KeyFileVault::new(dir.path().join("keys"), None);
    contract::key_vault_keeps_one_key_per_tenant(&vault).await;
}

#[tokio::test]
async fn a_key_file_is_never_made_by_loading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signing-key.pem");
    assert!(KeyFileSigner::load(&path).is_err());
    assert!(!path.exists(), "loading a missing key made one");
    KeyFileSigner::create(&path).unwrap();
    assert!(
        KeyFileSigner::create(&path).is_err(),
        "create never overwrites"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}

#[tokio::test]
async fn evidence_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::evidence_round_trip(&FsEvidenceStore::new(dir.path())).await;
}

#[tokio::test]
async fn timer_contract() {
    let db = Database::in_memory().unwrap();
    let timer = SqliteTimer::new(db.clone());
    // Reads the timer table directly: the adapter itself only answers "what is due".
    let fires_at = move |run: RunId| -> BoxFuture<'static, Option<jiff::Timestamp>> {
        let db = db.clone();
        Box::pin(async move {
            let ms: Option<i64> = db
                .with(move |conn| {
                    use rusqlite::OptionalExtension;
                    conn.query_row(
                        "SELECT fire_ms FROM timers WHERE run_id = ?1",
                        [run.as_str()],
                        |r| r.get(0),
                    )
                    .optional()
                })
                .await
                .unwrap();
            ms.map(|m| jiff::Timestamp::from_millisecond(m).unwrap())
        })
    };
    contract::timer_schedule_and_cancel_are_idempotent(&timer, Some(&fires_at)).await;
}

#[tokio::test]
async fn audit_log_contract() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::new(Database::open(&dir.path().join("passage.db")).unwrap());
    contract::audit_log_appends_and_lists(&store).await;
}

#[tokio::test]
async fn in_process_pacer_contract() {
    let clock = Arc::new(contract::ManualClock::new());
    let pacer = InProcessPacer::new(clock.clone());
    // Every worker of the process holds a clone: they must share one set of budgets.
    contract::pacer_all(&pacer, &pacer.clone(), &clock).await;
}
