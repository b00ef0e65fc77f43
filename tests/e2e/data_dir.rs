//! The data directory holds leavers' data, learned HR secrets and the signing key: it is
//! readable by the account that runs Passage and no one else. A new installation is created that
//! way, and an existing one with looser modes is tightened when it is opened.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event};
use passage_core::RunId;
use passage_sandbox::okta::DEMO_LEAVER;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch() -> Scratch {
    Scratch(std::env::temp_dir().join(format!(
        "passage-data-dir-{}",
        uuid::Uuid::new_v4().simple()
    )))
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// Every directory and file under `dir` (and `dir` itself), with its mode.
fn modes(dir: &Path) -> Vec<(PathBuf, bool, u32)> {
    let mut out = vec![(dir.to_owned(), true, mode(dir))];
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let is_dir = path.is_dir();
            out.push((path.clone(), is_dir, mode(&path)));
            if is_dir {
                stack.push(path);
            }
        }
    }
    out
}

fn assert_private(dir: &Path) {
    let all = modes(dir);
    for (path, is_dir, mode) in &all {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{} is {mode:o}", path.display());
    }
    let names: Vec<String> = all
        .iter()
        .filter_map(|(p, _, _)| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    for expected in [
        "passage.db",
        "passage.db-wal",
        "passage.db-shm",
        "signing-key.pem",
        "link.key",
        "serve.lock",
        "bundles",
        "manifest.json",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} is in the data directory: {names:?}"
        );
    }
}

/// Offboards the demo leaver in a sandbox on `data`, leaving it running.
async fn closed_run(data: &Path) -> Sandbox {
    let sb = Sandbox::start(SandboxOptions::new(data))
        .await
        .expect("sandbox starts");
    let body = leaver_event(DEMO_LEAVER, "E1001", Cutoff::Immediate);
    let resp = sb.post("msg_modes", &body).await.unwrap();
    let accepted: serde_json::Value = resp.json().await.unwrap();
    let run = RunId::new(accepted["run_id"].as_str().unwrap());
    sb.wait_closed(&run, Duration::from_secs(60))
        .await
        .expect("run closes");
    sb
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_installation_is_private_to_its_owner() {
    let dir = scratch();
    let sb = closed_run(&dir.0).await;
    assert_private(&dir.0);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_existing_installation_is_tightened_when_opened() {
    let dir = scratch();
    let sb = closed_run(&dir.0).await;
    // As an earlier version left it: a world-readable folder and files.
    for (path, is_dir, _) in modes(&dir.0) {
        let loose = if is_dir { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
    }
    sb.shutdown().await;
    assert_eq!(mode(&dir.0.join("passage.db")), 0o644);

    let sb = Sandbox::start(SandboxOptions::new(&dir.0))
        .await
        .expect("the installation opens again");
    assert_private(&dir.0);
    sb.shutdown().await;
}
