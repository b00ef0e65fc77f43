//! Auditor links over real HTTP: a correctly signed, unexpired link for a run serves exactly that
//! run's bundle, byte for byte; every other link is a 403 that reveals nothing of the bundle, and
//! no path escapes the bundle directory.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, TENANT, leaver_event};
use passage_core::link::{self, LinkScope};
use passage_core::{Run, RunId};
use passage_sandbox::okta::DEMO_LEAVER;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "passage-auditor-links-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts a sandbox and offboards the demo leaver to a closed run with a bundle.
async fn closed_run() -> (Scratch, Sandbox, Run) {
    let scratch = Scratch::new();
    let sb = Sandbox::start(SandboxOptions::new(&scratch.0))
        .await
        .expect("sandbox starts");
    let body = leaver_event(DEMO_LEAVER, "E1001", Cutoff::Immediate);
    let resp = sb.post("msg_links_1", &body).await.unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let accepted: Value = resp.json().await.unwrap();
    let run_id = RunId::new(accepted["run_id"].as_str().unwrap());
    let run = sb
        .wait_closed(&run_id, Duration::from_secs(60))
        .await
        .expect("run closes");
    assert!(run.bundle.is_some(), "a closed run has a bundle");
    (scratch, sb, run)
}

fn key(sb: &Sandbox) -> Vec<u8> {
    sb.system.link_key.expose().as_bytes().to_vec()
}

fn in_an_hour() -> i64 {
    jiff::Timestamp::now().as_second() + 3600
}

fn scope(run: &str, expires: i64) -> LinkScope {
    LinkScope {
        tenant: TENANT.to_owned(),
        run_id: run.to_owned(),
        expires,
    }
}

/// `/v1/bundles/{tenant}/{run}` + `suffix` + `?expires=…&sig=…`.
fn url(sb: &Sandbox, tenant: &str, run: &str, suffix: &str, expires: i64, sig: &str) -> String {
    format!(
        "{}/v1/bundles/{tenant}/{run}{suffix}?expires={expires}&sig={sig}",
        sb.base_url
    )
}

async fn get(sb: &Sandbox, url: &str) -> (u16, String, Vec<u8>) {
    let resp = sb.http.get(url).send().await.expect("request reaches host");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let bytes = resp.bytes().await.unwrap().to_vec();
    (status, content_type, bytes)
}

/// Every file under `dir`, relative, with `/` separators.
fn files_on_disk(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry.path().strip_prefix(dir).unwrap().to_owned();
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

/// Things that must never appear in a refusal: anything identifying or quoting the bundle.
struct Secrets {
    needles: Vec<String>,
}

impl Secrets {
    fn of(run: &Run, dir: &Path) -> Self {
        let bundle = run.bundle.as_ref().unwrap();
        let statement = std::fs::read_to_string(dir.join("statement.txt")).unwrap();
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
        let mut needles = vec![
            bundle.manifest_sha256.clone(),
            "\"files\"".to_owned(),
            "manifest.json".to_owned(),
            "statement".to_owned(),
            "evidence/".to_owned(),
            "BEGIN PUBLIC KEY".to_owned(),
            DEMO_LEAVER.to_owned(),
            "\"size\"".to_owned(),
            statement.lines().last().unwrap().to_owned(),
        ];
        for f in manifest["files"].as_array().unwrap() {
            needles.push(f["sha256"].as_str().unwrap().to_owned());
        }
        Self { needles }
    }

    fn assert_absent(&self, case: &str, body: &[u8]) {
        let text = String::from_utf8_lossy(body);
        for n in &self.needles {
            assert!(
                !text.contains(n.as_str()),
                "{case}: the refusal reveals {n:?}: {text}"
            );
        }
    }
}

fn assert_forbidden(case: &str, status: u16, content_type: &str, body: &[u8], secrets: &Secrets) {
    let text = String::from_utf8_lossy(body);
    assert_eq!(status, 403, "{case}: expected 403, got {status}: {text}");
    assert!(
        content_type.starts_with("application/json"),
        "{case}: refusal is {content_type}: {text}"
    );
    let json: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{case}: refusal is not JSON ({e}): {text}"));
    assert_eq!(json["error"]["code"], "forbidden", "{case}: {json}");
    assert!(
        json.get("files").is_none() && json.get("run_id").is_none(),
        "{case}: {json}"
    );
    secrets.assert_absent(case, body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_signed_link_serves_the_bundle_byte_for_byte() {
    let (_scratch, sb, run) = closed_run().await;
    let dir = PathBuf::from(&run.bundle.as_ref().unwrap().location);
    let expires = in_an_hour();
    let scope = scope(run.id.as_str(), expires);

    // The index, through the path the product's own link builder makes.
    let link = link::path(&key(&sb), &scope);
    assert!(link.starts_with(&format!("/v1/bundles/{TENANT}/{}?", run.id)));
    let (status, content_type, body) = get(&sb, &format!("{}{link}", sb.base_url)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert!(content_type.starts_with("application/json"));
    let index: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(index["tenant"], TENANT);
    assert_eq!(index["run_id"], run.id.as_str());
    let listed: BTreeSet<String> = index["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    let on_disk = files_on_disk(&dir);
    assert_eq!(listed, on_disk, "the index lists exactly the files on disk");
    for f in index["files"].as_array().unwrap() {
        let path = f["path"].as_str().unwrap();
        let size = std::fs::metadata(dir.join(path)).unwrap().len();
        assert_eq!(f["size"].as_u64(), Some(size), "size of {path}");
    }

    // Every file, including nested ones, byte for byte.
    let sig = link::sign(&key(&sb), &scope);
    for path in &on_disk {
        let (status, content_type, bytes) = get(
            &sb,
            &url(
                &sb,
                TENANT,
                run.id.as_str(),
                &format!("/{path}"),
                expires,
                &sig,
            ),
        )
        .await;
        assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&bytes));
        assert_eq!(
            bytes,
            std::fs::read(dir.join(path)).unwrap(),
            "{path} differs from the file on disk"
        );
        if path.ends_with(".json") {
            assert!(content_type.starts_with("application/json"), "{path}");
        }
    }
    let (_, _, manifest) = get(
        &sb,
        &url(
            &sb,
            TENANT,
            run.id.as_str(),
            "/manifest.json",
            expires,
            &sig,
        ),
    )
    .await;
    let manifest: Value = serde_json::from_slice(&manifest).unwrap();
    assert_eq!(manifest["run_id"], run.id.as_str());

    // A file the bundle does not have is a 404, not a 200.
    let (status, _, _) = get(
        &sb,
        &url(&sb, TENANT, run.id.as_str(), "/nope.json", expires, &sig),
    )
    .await;
    assert_eq!(status, 404);

    // So is a directory of the bundle: only files are served.
    assert!(dir.join("evidence").is_dir());
    for path in ["/evidence", "/evidence/okta"] {
        let (status, content_type, body) =
            get(&sb, &url(&sb, TENANT, run.id.as_str(), path, expires, &sig)).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 404, "{path}: {text}");
        assert!(content_type.starts_with("application/json"), "{path}");
        let json: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["error"]["code"], "not_found", "{path}: {json}");
    }
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_bad_link_is_a_bare_403() {
    let (_scratch, sb, run) = closed_run().await;
    let dir = PathBuf::from(&run.bundle.as_ref().unwrap().location);
    let secrets = Secrets::of(&run, &dir);
    let key = key(&sb);
    let run_id = run.id.as_str();
    let expires = in_an_hour();
    let good = link::sign(&key, &scope(run_id, expires));

    let mut tampered = good.clone().into_bytes();
    tampered[10] = if tampered[10] == b'0' { b'1' } else { b'0' };
    let tampered = String::from_utf8(tampered).unwrap();

    let past = jiff::Timestamp::now().as_second() - 60;
    let expired_sig = link::sign(&key, &scope(run_id, past));

    let other_run = "run_00000000000000000000000000000000";
    let other_sig = link::sign(&key, &scope(other_run, expires));

    let other_key_sig = link::sign(b"not the link key", &scope(run_id, expires));

    // (case, tenant, expires, sig) — each presented on the index and on two files.
    let cases: Vec<(&str, &str, String, String)> = vec![
        ("tampered sig", TENANT, expires.to_string(), tampered),
        ("expired", TENANT, past.to_string(), expired_sig.clone()),
        (
            "expired link with expires pushed forward",
            TENANT,
            expires.to_string(),
            expired_sig,
        ),
        (
            "signed for another run",
            TENANT,
            expires.to_string(),
            other_sig,
        ),
        (
            "expires extended",
            TENANT,
            (expires + 86_400).to_string(),
            good.clone(),
        ),
        (
            "expires shortened",
            TENANT,
            (expires - 1).to_string(),
            good.clone(),
        ),
        (
            "signed with another key",
            TENANT,
            expires.to_string(),
            other_key_sig,
        ),
        ("sig not hex", TENANT, expires.to_string(), "zz".repeat(32)),
        ("sig empty", TENANT, expires.to_string(), String::new()),
        (
            "sig truncated",
            TENANT,
            expires.to_string(),
            good[..32].to_owned(),
        ),
        (
            "expires not a number",
            TENANT,
            "soon".to_owned(),
            good.clone(),
        ),
        ("expires empty", TENANT, String::new(), good.clone()),
        (
            "another tenant",
            "other-co",
            expires.to_string(),
            good.clone(),
        ),
    ];
    for (case, tenant, expires, sig) in &cases {
        for suffix in ["", "/manifest.json", "/evidence/okta/suspend.json"] {
            let u = format!(
                "{}/v1/bundles/{tenant}/{run_id}{suffix}?expires={expires}&sig={sig}",
                sb.base_url
            );
            let (status, content_type, body) = get(&sb, &u).await;
            assert_forbidden(
                &format!("{case} {suffix}"),
                status,
                &content_type,
                &body,
                &secrets,
            );
        }
    }

    // No query at all, and each half of it alone.
    for query in [
        String::new(),
        format!("?expires={expires}"),
        format!("?sig={good}"),
        "?".to_owned(),
    ] {
        for suffix in ["", "/manifest.json"] {
            let u = format!(
                "{}/v1/bundles/{TENANT}/{run_id}{suffix}{query}",
                sb.base_url
            );
            let (status, content_type, body) = get(&sb, &u).await;
            assert_forbidden(
                &format!("query {query:?} {suffix}"),
                status,
                &content_type,
                &body,
                &secrets,
            );
        }
    }

    // The same good link still works: the refusals above were about the links, not the run.
    let (status, _, _) = get(&sb, &url(&sb, TENANT, run_id, "", expires, &good)).await;
    assert_eq!(status, 200);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paths_cannot_escape_the_bundle() {
    let (scratch, sb, run) = closed_run().await;
    let key = key(&sb);
    let run_id = run.id.as_str();
    let expires = in_an_hour();
    let sig = link::sign(&key, &scope(run_id, expires));
    let link_key = sb.system.link_key.expose().to_owned();
    let private_key =
        std::fs::read_to_string(scratch.0.join("keys").join(TENANT).join("signing-key.pem"))
            .unwrap();
    assert!(
        private_key.contains("PRIVATE KEY"),
        "the data directory holds the private signing key"
    );
    let db = std::fs::read(scratch.0.join("passage.db")).unwrap();
    assert!(db.starts_with(b"SQLite format 3"));

    // The bundle lives at <data>/bundles/<tenant>/<run>/; the prizes are at <data>/.
    let mut attempts = Vec::new();
    for target in [
        "passage.db",
        "signing-key.pem",
        "keys/demo/signing-key.pem",
        "link.key",
    ] {
        for depth in 1..=4 {
            let up = "..%2F".repeat(depth);
            attempts.push(format!("/{up}{target}"));
            attempts.push(format!("/{}{target}", "%2E%2E%2F".repeat(depth)));
            attempts.push(format!("/{}{target}", "..%5C".repeat(depth)));
            attempts.push(format!("/{}{target}", "....%2F%2F".repeat(depth)));
        }
        attempts.push(format!("/%2F{}", scratch.0.join(target).display()));
        attempts.push(format!("/evidence/..%2F..%2F..%2F..%2F{target}"));
    }
    attempts.push("/..%2Fmanifest.json".to_owned());
    attempts.push("/.%2Fmanifest.json".to_owned());
    attempts.push("/%2Fetc%2Fpasswd".to_owned());

    for suffix in &attempts {
        let u = url(&sb, TENANT, run_id, suffix, expires, &sig);
        let (status, _, body) = get(&sb, &u).await;
        let text = String::from_utf8_lossy(&body);
        assert_ne!(status, 200, "{suffix} returned data: {text:.200}");
        // Each of these reaches the file handler (the link is valid) and is refused there.
        assert_eq!(status, 400, "{suffix}: {text:.200}");
        assert!(text.contains("\"bad_path\""), "{suffix}: {text:.200}");
        assert!(
            !body.starts_with(b"SQLite format 3") && !text.contains("SQLite format"),
            "{suffix} leaked the database"
        );
        assert!(
            !text.contains("PRIVATE KEY"),
            "{suffix} leaked the signing key"
        );
        assert!(!text.contains(&link_key), "{suffix} leaked the link key");
        assert!(!text.contains("root:"), "{suffix} leaked /etc/passwd");
    }

    // Dot segments the client would normalise away: whatever the host receives, it must not
    // serve a file from outside the bundle.
    for raw in [
        format!("/v1/bundles/{TENANT}/{run_id}/../../../passage.db"),
        format!("/v1/bundles/{TENANT}/{run_id}/%2e%2e/%2e%2e/%2e%2e/passage.db"),
    ] {
        let u = format!("{}{raw}?expires={expires}&sig={sig}", sb.base_url);
        let (status, _, body) = get(&sb, &u).await;
        let text = String::from_utf8_lossy(&body);
        assert_ne!(status, 200, "{raw} returned data: {text:.200}");
        assert!(
            !body.starts_with(b"SQLite format 3"),
            "{raw} leaked the database"
        );
    }

    // A run id that is itself a traversal, even with a link signed for exactly that "run"
    // (a leaked key is not the attacker's only hope; the store checks segments too).
    for evil_run in ["..", "..%2F..", "%2E%2E"] {
        let decoded = evil_run.replace("%2F", "/").replace("%2E", ".");
        let evil_sig = link::sign(&key, &scope(&decoded, expires));
        for suffix in [
            "",
            "/passage.db",
            "/signing-key.pem",
            "/demo/signing-key.pem",
        ] {
            let u = url(&sb, TENANT, evil_run, suffix, expires, &evil_sig);
            let (status, _, body) = get(&sb, &u).await;
            let text = String::from_utf8_lossy(&body);
            assert_ne!(
                status, 200,
                "run {evil_run}{suffix} returned data: {text:.200}"
            );
            assert!(
                !text.contains("PRIVATE KEY"),
                "run {evil_run}{suffix} leaked the key"
            );
            assert!(
                !body.starts_with(b"SQLite format 3"),
                "run {evil_run}{suffix} leaked the db"
            );
        }
    }
    sb.shutdown().await;
}
