//! Anchored evidence: bundles are judged against the tenant's published key set and signed
//! checkpoints, not against the key inside them. A bundle re-signed with another key, a chain
//! whose newest bundles are withheld, a rotation without its statement, an added file and a
//! lost key are all caught, by `passage verify` and by VERIFY.md run literally.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, TENANT, leaver_event};
use passage_core::evidence::public_key_fingerprint;
use passage_core::{RunId, TenantId};
use passage_sandbox::okta::SeedUser;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("passage-keys-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tenant() -> TenantId {
    TenantId::new(TENANT)
}

/// Offboards a freshly seeded leaver and returns the bundle's directory.
async fn leaver(sb: &Sandbox, n: u32) -> PathBuf {
    let login = format!("leaver{n}@example.com");
    sb.okta
        .seed_user(SeedUser::new(&login, "Lee", &format!("Leaver{n}")));
    let body = leaver_event(&login, &format!("E9{n:03}"), Cutoff::Immediate);
    let resp = sb.post(&format!("msg_keys_{n}"), &body).await.unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let accepted: Value = resp.json().await.unwrap();
    let run_id = RunId::new(accepted["run_id"].as_str().unwrap());
    let run = sb
        .wait_closed(&run_id, Duration::from_secs(60))
        .await
        .expect("run closes");
    PathBuf::from(&run.bundle.unwrap().location)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn passage_verify(args: &[&Path], flags: &[(&str, &Path)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_passage"));
    cmd.arg("verify");
    for (flag, value) in flags {
        cmd.arg(flag).arg(value);
    }
    for a in args {
        cmd.arg(a);
    }
    cmd.output().expect("passage runs")
}

fn sh(dir: &Path, script: &str) -> Output {
    Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .expect("bash runs")
}

/// The shell of VERIFY.md: every line inside its ```sh blocks, in order.
fn verify_md_script(bundle: &Path) -> String {
    let doc = std::fs::read_to_string(bundle.join("VERIFY.md")).unwrap();
    let mut script = String::new();
    let mut inside = false;
    for line in doc.lines() {
        match (inside, line) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, l) => {
                script.push_str(l);
                script.push('\n');
            }
            _ => {}
        }
    }
    assert!(script.contains("openssl dgst"), "{script}");
    script
}

/// Runs VERIFY.md's shell literally with bash in the bundle directory.
fn run_verify_md(bundle: &Path, keys: &Path, path: Option<&Path>, tsa_ca: Option<&Path>) -> Output {
    let mut cmd = Command::new("/bin/bash");
    cmd.args(["-c", &verify_md_script(bundle)])
        .current_dir(bundle)
        .env("KEYS", keys);
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    if let Some(ca) = tsa_ca {
        cmd.env("TSA_CA", ca);
    }
    cmd.output().expect("bash runs")
}

/// A PATH with every tool of /usr/bin but `sha256sum`, as on macOS.
fn path_without_sha256sum(scratch: &Path) -> PathBuf {
    let bin = scratch.join("mac-bin");
    std::fs::create_dir_all(&bin).unwrap();
    for entry in std::fs::read_dir("/usr/bin").unwrap() {
        let entry = entry.unwrap();
        if entry.file_name() == "sha256sum" {
            continue;
        }
        let _ = std::os::unix::fs::symlink(entry.path(), bin.join(entry.file_name()));
    }
    bin
}

fn write_json(path: &Path, value: &impl serde::Serialize) {
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

/// Edits an evidence file and re-signs the bundle with a new key made by openssl, fixing every
/// hash, as a forger without Passage's key would.
fn resign_with_another_key(bundle: &Path, scratch: &Path) {
    let evidence = "evidence/okta/suspend.json";
    let forged = std::fs::read_to_string(bundle.join(evidence))
        .unwrap()
        .replace("SUSPENDED", "UNTOUCHED");
    std::fs::write(bundle.join(evidence), &forged).unwrap();
    let forger = scratch.join("forger.pem");
    let out = sh(
        bundle,
        &format!(
            "set -e; openssl ecparam -name prime256v1 -genkey -noout -out {k}; \
             openssl pkey -in {k} -pubout -out signing-key.pem",
            k = forger.display()
        ),
    );
    assert!(out.status.success(), "{}", text(&out));
    let pem = std::fs::read_to_string(bundle.join("signing-key.pem")).unwrap();
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    for entry in manifest["files"].as_array_mut().unwrap() {
        if entry["path"] == evidence {
            entry["sha256"] = sha256(forged.as_bytes()).into();
            entry["size"] = forged.len().into();
        }
    }
    manifest["signing"]["public_key_sha256"] = public_key_fingerprint(&pem).unwrap().into();
    let bytes = passage_jcs::to_canonical_vec(&manifest).unwrap();
    std::fs::write(bundle.join("manifest.json"), &bytes).unwrap();
    let statement: String = std::fs::read_to_string(bundle.join("statement.txt"))
        .unwrap()
        .lines()
        .map(|l| match l.split_once(' ') {
            Some(("manifest-sha256", _)) => format!("manifest-sha256 {}\n", sha256(&bytes)),
            Some(("key-id", _)) => "key-id forger\n".to_owned(),
            _ => format!("{l}\n"),
        })
        .collect();
    std::fs::write(bundle.join("statement.txt"), statement).unwrap();
    let out = sh(
        bundle,
        &format!(
            "openssl dgst -sha256 -sign {} -out statement.sig statement.txt",
            forger.display()
        ),
    );
    assert!(out.status.success(), "{}", text(&out));
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bundle_resigned_with_another_key_fails_against_the_key_set() {
    let scratch = Scratch::new();
    let sb = Sandbox::start(SandboxOptions::new(scratch.0.join("data")))
        .await
        .unwrap();
    let original = leaver(&sb, 1).await;
    let keys = scratch.0.join("keys.json");
    let set = sb.system.engine.published_key_set(&tenant()).await.unwrap();
    write_json(&keys, &set);
    // The set is what the server publishes at its well-known URL, for this tenant only.
    let served: Value = reqwest::get(format!("{}/v1/tenants/{TENANT}/keys.json", sb.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, serde_json::to_value(&set).unwrap());
    let unknown = reqwest::get(format!("{}/v1/tenants/nobody/keys.json", sb.base_url))
        .await
        .unwrap();
    assert_eq!(unknown.status().as_u16(), 404);
    sb.shutdown().await;

    let copy = scratch.0.join("copy");
    copy_dir(&original, &copy);
    let out = run_verify_md(&copy, &keys, None, None);
    assert!(
        out.status.success(),
        "VERIFY.md on the genuine bundle: {}",
        text(&out)
    );
    let mac = path_without_sha256sum(&scratch.0);
    let out = run_verify_md(&copy, &keys, Some(&mac), None);
    assert!(
        out.status.success(),
        "VERIFY.md with shasum only: {}",
        text(&out)
    );
    let out = passage_verify(&[&copy], &[("--trusted-keys", &keys)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("WARNING"), "{}", text(&out));

    resign_with_another_key(&copy, &scratch.0);
    // The forgery is internally consistent: without trusted keys it passes, and says what
    // that is worth.
    let out = passage_verify(&[&copy], &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("prove nothing about who signed"),
        "{}",
        text(&out)
    );
    let out = sh(
        &copy,
        "openssl dgst -sha256 -verify signing-key.pem -signature statement.sig statement.txt",
    );
    assert!(
        out.status.success(),
        "the forger's own signature checks: {}",
        text(&out)
    );
    // Against the published key set it fails, in passage verify and in VERIFY.md.
    let out = passage_verify(&[&copy], &[("--trusted-keys", &keys)]);
    assert!(
        !out.status.success(),
        "a re-signed bundle passed: {}",
        text(&out)
    );
    assert!(
        text(&out).contains("untrusted signing key"),
        "{}",
        text(&out)
    );
    let out = run_verify_md(&copy, &keys, None, None);
    assert!(
        !out.status.success(),
        "VERIFY.md passed a re-signed bundle: {}",
        text(&out)
    );
    // A bare PEM of the genuine key is a trust anchor too.
    let genuine = scratch.0.join("genuine.pem");
    std::fs::write(
        &genuine,
        std::fs::read(original.join("signing-key.pem")).unwrap(),
    )
    .unwrap();
    let out = passage_verify(&[&copy], &[("--trusted-keys", &genuine)]);
    assert!(!out.status.success(), "{}", text(&out));
    let out = passage_verify(&[&original], &[("--trusted-keys", &genuine)]);
    assert!(out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_added_file_fails_verify_md_run_literally() {
    let scratch = Scratch::new();
    let sb = Sandbox::start(SandboxOptions::new(scratch.0.join("data")))
        .await
        .unwrap();
    let original = leaver(&sb, 1).await;
    let keys = scratch.0.join("keys.json");
    write_json(
        &keys,
        &sb.system.engine.published_key_set(&tenant()).await.unwrap(),
    );
    sb.shutdown().await;
    let copy = scratch.0.join("copy");
    copy_dir(&original, &copy);
    let mac = path_without_sha256sum(&scratch.0);
    for path in [None, Some(mac.as_path())] {
        let out = run_verify_md(&copy, &keys, path, None);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("Verified OK"), "{}", text(&out));
        assert!(
            text(&out).contains("bundle checks passed"),
            "{}",
            text(&out)
        );
        for extra in ["extra.txt", "evidence/okta/extra.json"] {
            std::fs::write(copy.join(extra), b"{}").unwrap();
            let out = run_verify_md(&copy, &keys, path, None);
            assert!(
                !out.status.success(),
                "{extra} went unnoticed: {}",
                text(&out)
            );
            assert!(
                text(&out).contains(extra),
                "the diff names {extra}: {}",
                text(&out)
            );
            assert!(
                !text(&out).contains("bundle checks passed"),
                "{}",
                text(&out)
            );
            std::fs::remove_file(copy.join(extra)).unwrap();
        }
    }
    // A key set of another tenant does not vouch for this one.
    let mut other: Value = serde_json::from_slice(&std::fs::read(&keys).unwrap()).unwrap();
    other["tenant"] = "other".into();
    let other_keys = scratch.0.join("other.json");
    write_json(&other_keys, &other);
    let out = run_verify_md(&copy, &other_keys, None, None);
    assert!(!out.status.success(), "{}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotated_chain_passes_with_its_key_set_and_checkpoints_show_withheld_bundles() {
    let scratch = Scratch::new();
    let sb = Sandbox::start(SandboxOptions::new(scratch.0.join("data")))
        .await
        .unwrap();
    let engine = &sb.system.engine;
    let first = leaver(&sb, 1).await;
    let before = scratch.0.join("keys-before.json");
    write_json(&before, &engine.published_key_set(&tenant()).await.unwrap());
    let rotated = engine.rotate_signing_key(&tenant()).await.unwrap();
    assert_eq!(rotated.sequence, 2);
    assert_ne!(rotated.old_key_sha256, rotated.new_key_sha256);
    let third = leaver(&sb, 2).await;
    let checkpoint = scratch.0.join("checkpoint.json");
    write_json(&checkpoint, &engine.checkpoint(&tenant()).await.unwrap());
    let keys = scratch.0.join("keys.json");
    let set = engine.published_key_set(&tenant()).await.unwrap();
    write_json(&keys, &set);
    assert_eq!(set.keys.len(), 2);
    assert!(set.keys[0].valid_until.is_some(), "the old key is retired");
    assert_eq!(set.keys[1].introduced_at_sequence, Some(2));
    assert_eq!(set.current().unwrap().key_sha256, rotated.new_key_sha256);
    // The closure published a checkpoint too, which auditor listings carry.
    let published = sb
        .system
        .engine
        .ports()
        .keys
        .checkpoint(&tenant())
        .await
        .unwrap()
        .expect("a checkpoint is published");
    assert!(
        published.checkpoint.contains("sequence 3\n"),
        "{}",
        published.checkpoint
    );
    sb.shutdown().await;

    let bundles = scratch.0.join("data/bundles").join(TENANT);
    let rotation = bundles.join(format!("keys-{}", &rotated.new_key_sha256[..16]));
    assert!(rotation.join("next-key.pem").is_file());
    let statement = std::fs::read_to_string(third.join("statement.txt")).unwrap();
    assert!(statement.contains("sequence 3\n"), "{statement}");

    // The whole chain, its key set and checkpoint: passes.
    let all = [first.as_path(), rotation.as_path(), third.as_path()];
    let anchors = [
        ("--trusted-keys", keys.as_path()),
        ("--checkpoint", &checkpoint),
    ];
    let out = passage_verify(&all, &anchors);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("rotates to key"), "{}", text(&out));
    assert!(text(&out).contains("checkpoint OK"), "{}", text(&out));
    // VERIFY.md of each link passes against the set, the rotation's own step included.
    for dir in all {
        let out = run_verify_md(dir, &keys, None, None);
        assert!(out.status.success(), "{}: {}", dir.display(), text(&out));
    }

    // Without the rotation statement the change of key is unexplained.
    let out = passage_verify(&[&first, &third], &[("--trusted-keys", &keys)]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("chain broken"), "{}", text(&out));
    // The key set from before the rotation does not know the new key.
    let out = passage_verify(&all, &[("--trusted-keys", &before)]);
    assert!(!out.status.success(), "{}", text(&out));
    // Pinning fingerprints: the old one alone fails, both pass.
    let pin = |fps: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_passage"));
        cmd.arg("verify");
        for fp in fps {
            cmd.args(["--key-fingerprint", fp]);
        }
        cmd.args(all).output().unwrap()
    };
    let out = pin(&[&rotated.old_key_sha256]);
    assert!(!out.status.success(), "{}", text(&out));
    let out = pin(&[&rotated.old_key_sha256, &rotated.new_key_sha256]);
    assert!(out.status.success(), "{}", text(&out));

    // The newest bundle withheld: the chain 1..2 is perfect, the checkpoint names 3.
    let out = passage_verify(&[&first, &rotation], &anchors);
    assert!(
        !out.status.success(),
        "a withheld bundle went unseen: {}",
        text(&out)
    );
    assert!(text(&out).contains("withheld"), "{}", text(&out));
    let out = passage_verify(&[&first, &rotation], &[("--trusted-keys", &keys)]);
    assert!(out.status.success(), "without a checkpoint: {}", text(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_key_stops_the_host_instead_of_being_replaced() {
    let scratch = Scratch::new();
    let data = scratch.0.join("data");
    let sb = Sandbox::start(SandboxOptions::new(&data)).await.unwrap();
    leaver(&sb, 1).await;
    sb.shutdown().await;
    let key = data.join("keys").join(TENANT).join("signing-key.pem");
    assert!(key.is_file());
    std::fs::remove_file(&key).unwrap();
    let err = match Sandbox::start(SandboxOptions::new(&data)).await {
        Ok(_) => panic!("the host started without the tenant's key"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("signing key is missing"), "{err}");
    assert!(err.contains("1 signed evidence bundles"), "{err}");
    assert!(!key.exists(), "no new key was made");

    // An earlier release's installation key is adopted by a tenant whose chain it began.
    let legacy = Scratch::new();
    let legacy_data = legacy.0.join("data");
    let sb = Sandbox::start(SandboxOptions::new(&legacy_data))
        .await
        .unwrap();
    let bundle = leaver(&sb, 1).await;
    sb.shutdown().await;
    let tenant_dir = legacy_data.join("keys").join(TENANT);
    std::fs::rename(
        tenant_dir.join("signing-key.pem"),
        legacy_data.join("signing-key.pem"),
    )
    .unwrap();
    std::fs::remove_dir_all(&tenant_dir).unwrap();
    let sb = Sandbox::start(SandboxOptions::new(&legacy_data))
        .await
        .unwrap();
    let second = leaver(&sb, 2).await;
    let set = sb.system.engine.published_key_set(&tenant()).await.unwrap();
    assert_eq!(set.keys.len(), 1);
    assert_eq!(set.keys[0].valid_from, None, "signed before key sets");
    sb.shutdown().await;
    let keys = legacy.0.join("keys.json");
    write_json(&keys, &set);
    let out = passage_verify(&[&bundle, &second], &[("--trusted-keys", &keys)]);
    assert!(out.status.success(), "{}", text(&out));
}

/// A timestamp authority on loopback: openssl's own TSA (`openssl ts -reply`) with a test CA,
/// behind a small HTTP server speaking RFC 3161's `application/timestamp-query`.
struct LocalTsa {
    url: url::Url,
    ca: PathBuf,
    server: tokio::task::JoinHandle<()>,
}

const TSA_SETUP: &str = r#"set -e
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key \
  -out ca.pem -subj "/CN=Passage Test TSA CA" -days 2 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout tsa.key \
  -out tsa.csr -subj "/CN=Passage Test TSA"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n' > tsa.ext
openssl x509 -req -in tsa.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out tsa.pem -days 2 -extfile tsa.ext
echo 01 > serial
printf '[ tsa ]\ndefault_tsa = tsa1\n[ tsa1 ]\ndir = .\nserial = ./serial\ncrypto_device = builtin\nsigner_cert = ./tsa.pem\ncerts = ./tsa.pem\nsigner_key = ./tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256\naccuracy = secs:1\ness_cert_id_alg = sha256\n' > tsa.cnf
"#;

async fn local_tsa(dir: &Path) -> LocalTsa {
    std::fs::create_dir_all(dir).unwrap();
    let out = sh(dir, TSA_SETUP);
    assert!(out.status.success(), "test TSA setup: {}", text(&out));
    let turn = std::sync::Arc::new(tokio::sync::Mutex::new(dir.to_owned()));
    let reply = move |body: axum::body::Bytes| {
        let turn = turn.clone();
        async move {
            // One reply at a time: openssl keeps the serial number in a file.
            let dir = turn.lock().await;
            let query = dir.join("query.tsq");
            std::fs::write(&query, &body).unwrap();
            let out = Command::new("openssl")
                .args([
                    "ts",
                    "-reply",
                    "-config",
                    "tsa.cnf",
                    "-queryfile",
                    "query.tsq",
                ])
                .args(["-out", "reply.tsr"])
                .current_dir(&*dir)
                .output()
                .unwrap();
            assert!(out.status.success(), "openssl ts -reply: {}", text(&out));
            (
                [("content-type", "application/timestamp-reply")],
                std::fs::read(dir.join("reply.tsr")).unwrap(),
            )
        }
    };
    let app = axum::Router::new().route("/", axum::routing::post(reply));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    LocalTsa {
        url: url::Url::parse(&format!("http://{addr}/")).unwrap(),
        ca: dir.join("ca.pem"),
        server,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_a_timestamp_authority_every_statement_carries_a_token_openssl_verifies() {
    use passage_connectors::tsa::HttpTimestampAuthority;
    use passage_core::ports::TimestampAuthority;
    let scratch = Scratch::new();
    let tsa = local_tsa(&scratch.0.join("tsa")).await;
    let authority = std::sync::Arc::new(HttpTimestampAuthority::new(tsa.url.clone()).unwrap());
    let mut options = SandboxOptions::new(scratch.0.join("data"));
    options.timestamps = Some(authority.clone());
    let sb = Sandbox::start(options).await.unwrap();
    let bundle = leaver(&sb, 1).await;
    let keys = scratch.0.join("keys.json");
    write_json(
        &keys,
        &sb.system.engine.published_key_set(&tenant()).await.unwrap(),
    );
    sb.shutdown().await;
    assert!(bundle.join("statement.tsr").is_file());

    let out = sh(
        &bundle,
        &format!(
            "openssl ts -verify -data statement.sig -in statement.tsr -CAfile {}",
            tsa.ca.display()
        ),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Verification: OK"), "{}", text(&out));
    let out = run_verify_md(&bundle, &keys, None, Some(&tsa.ca));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Verification: OK"), "{}", text(&out));
    let out = passage_verify(&[&bundle], &[("--trusted-keys", &keys)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("timestamped"), "{}", text(&out));

    // A genuine token over something else is refused by both.
    let copy = scratch.0.join("copy");
    copy_dir(&bundle, &copy);
    let other = authority.timestamp(b"another signature").await.unwrap();
    std::fs::write(copy.join("statement.tsr"), other).unwrap();
    let out = passage_verify(&[&copy], &[("--trusted-keys", &keys)]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("statement.tsr"), "{}", text(&out));
    let out = run_verify_md(&copy, &keys, None, Some(&tsa.ca));
    assert!(!out.status.success(), "{}", text(&out));
    tsa.server.abort();
}
