//! Tamper evidence of a real bundle: a copy of a closed run's bundle verifies, and any change to
//! any file — one flipped bit, an added file, a removed one — is detected, by the library, by the
//! `passage verify` binary, and by the plain openssl / sha256sum / jq checks VERIFY.md documents.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, TENANT, leaver_event};
use passage_core::RunId;
use passage_core::evidence::{VerifyError, verify_bundle};
use passage_embedded::read_bundle_dir;
use passage_sandbox::okta::DEMO_LEAVER;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Self {
        let dir =
            std::env::temp_dir().join(format!("passage-tamper-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Offboards the demo leaver and copies the signed bundle to `<scratch>/copy`.
async fn bundle_copy(scratch: &Scratch) -> (PathBuf, RunId) {
    let sb = Sandbox::start(SandboxOptions::new(scratch.0.join("data")))
        .await
        .expect("sandbox starts");
    let body = leaver_event(DEMO_LEAVER, "E1001", Cutoff::Immediate);
    let resp = sb.post("msg_tamper_1", &body).await.unwrap();
    assert_eq!(resp.status().as_u16(), 202);
    let accepted: Value = resp.json().await.unwrap();
    let run_id = RunId::new(accepted["run_id"].as_str().unwrap());
    let run = sb
        .wait_closed(&run_id, Duration::from_secs(60))
        .await
        .expect("run closes");
    let original = PathBuf::from(&run.bundle.as_ref().unwrap().location);
    sb.shutdown().await;
    let copy = scratch.0.join("copy");
    copy_dir(&original, &copy);
    (copy, run_id)
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

/// Every file under `dir`, relative, sorted.
fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let rel = entry.path().strip_prefix(dir).unwrap().to_owned();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

fn verify(dir: &Path) -> Result<passage_core::evidence::VerifiedBundle, VerifyError> {
    let files = read_bundle_dir(dir).expect("bundle directory reads");
    verify_bundle(&files, None)
}

/// Runs `f` with `rel` changed by `change`, then puts the original bytes back.
fn with_changed<T>(
    dir: &Path,
    rel: &str,
    change: impl FnOnce(&mut Vec<u8>),
    f: impl FnOnce() -> T,
) -> T {
    let path = dir.join(rel);
    let original = std::fs::read(&path).unwrap();
    let mut changed = original.clone();
    change(&mut changed);
    assert_ne!(changed, original, "{rel}: the change changed nothing");
    std::fs::write(&path, &changed).unwrap();
    let out = f();
    std::fs::write(&path, &original).unwrap();
    out
}

fn flip_middle(bytes: &mut [u8]) {
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
}

/// SHA-256 of a file, hex, by `sha256sum` (an independent implementation).
fn sha256_hex(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

fn run_verify_binary(dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passage"))
        .arg("verify")
        .arg(dir)
        .output()
        .expect("passage binary runs")
}

fn sh(dir: &Path, script: &str) -> Output {
    Command::new("bash")
        .args(["-c", script])
        .current_dir(dir)
        .output()
        .expect("bash runs")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn any_change_to_any_file_is_detected() {
    let scratch = Scratch::new();
    let (copy, run_id) = bundle_copy(&scratch).await;

    let clean = verify(&copy).expect("the untouched copy verifies");
    assert_eq!(clean.tenant, TENANT);
    assert_eq!(clean.run_id, run_id.as_str());
    assert_eq!(clean.sequence, 1);
    let files = walk(&copy);
    for must in [
        "manifest.json",
        "statement.txt",
        "statement.sig",
        "signing-key.pem",
        "evidence/okta/suspend.json",
    ] {
        assert!(files.iter().any(|f| f == must), "{must} missing: {files:?}");
    }
    assert_eq!(
        clean.files_checked,
        files.len() - 4,
        "every file but the four self-describing ones is listed in the manifest"
    );

    // One flipped bit anywhere, in every file, is caught.
    for rel in &files {
        let result = with_changed(&copy, rel, |b| flip_middle(b), || verify(&copy));
        assert!(
            result.is_err(),
            "flipping a bit in {rel} went unnoticed: {result:?}"
        );
        verify(&copy).unwrap_or_else(|e| panic!("restoring {rel} did not restore: {e}"));
    }

    // And so is a change at the very start and the very end of each file.
    for rel in &files {
        let first = with_changed(&copy, rel, |b| b[0] ^= 0x20, || verify(&copy));
        assert!(
            first.is_err(),
            "changing the first byte of {rel}: {first:?}"
        );
        let last = with_changed(&copy, rel, |b| b.push(b'\n'), || verify(&copy));
        assert!(last.is_err(), "appending to {rel}: {last:?}");
    }

    // An added file, anywhere, is unlisted.
    for extra in [
        "extra.txt",
        "evidence/okta/extra.json",
        "pre-state/notes.md",
    ] {
        let path = copy.join(extra);
        std::fs::write(&path, b"{}").unwrap();
        let result = verify(&copy);
        assert_eq!(
            result.as_ref().err(),
            Some(&VerifyError::UnlistedFile(extra.to_owned())),
            "{result:?}"
        );
        std::fs::remove_file(&path).unwrap();
    }

    // A removed file is missing, whichever it is.
    for rel in &files {
        let path = copy.join(rel);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let result = verify(&copy);
        assert_eq!(
            result.as_ref().err(),
            Some(&VerifyError::MissingFile(rel.clone())),
            "removing {rel}: {result:?}"
        );
        std::fs::write(&path, bytes).unwrap();
    }

    // Two files swapped (both genuine, both listed) are caught too.
    let a = "evidence/okta/suspend.json";
    let b = "evidence/okta/snapshot.json";
    let (ba, bb) = (
        std::fs::read(copy.join(a)).unwrap(),
        std::fs::read(copy.join(b)).unwrap(),
    );
    std::fs::write(copy.join(a), &bb).unwrap();
    std::fs::write(copy.join(b), &ba).unwrap();
    assert!(matches!(verify(&copy), Err(VerifyError::FileHash { .. })));
    std::fs::write(copy.join(a), &ba).unwrap();
    std::fs::write(copy.join(b), &bb).unwrap();

    // A forger who changes an evidence file and re-hashes it into the manifest (canonical
    // form, correct size) breaks the manifest hash the signed statement names; re-writing that
    // hash in the statement too breaks the signature.
    let evidence = "evidence/okta/suspend.json";
    let saved: Vec<(String, Vec<u8>)> = ["manifest.json", "statement.txt", evidence]
        .iter()
        .map(|r| (r.to_string(), std::fs::read(copy.join(r)).unwrap()))
        .collect();
    let forged = String::from_utf8(std::fs::read(copy.join(evidence)).unwrap())
        .unwrap()
        .replace("SUSPENDED", "SUSPENDEX")
        .into_bytes();
    std::fs::write(copy.join(evidence), &forged).unwrap();
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(copy.join("manifest.json")).unwrap()).unwrap();
    let forged_sha = sha256_hex(&copy.join(evidence));
    let entry = manifest["files"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["path"] == evidence)
        .expect("the evidence file is listed");
    assert_ne!(
        entry["sha256"],
        forged_sha.as_str(),
        "the forgery changed the file"
    );
    entry["sha256"] = forged_sha.into();
    entry["size"] = forged.len().into();
    std::fs::write(
        copy.join("manifest.json"),
        passage_jcs::to_canonical_vec(&manifest).unwrap(),
    )
    .unwrap();
    let result = verify(&copy);
    assert!(
        matches!(result, Err(VerifyError::ManifestHash { .. })),
        "{result:?}"
    );
    let statement = std::fs::read_to_string(copy.join("statement.txt")).unwrap();
    let new_manifest_sha = sha256_hex(&copy.join("manifest.json"));
    let rewritten: String = statement
        .lines()
        .map(|l| {
            if l.starts_with("manifest-sha256 ") {
                format!("manifest-sha256 {new_manifest_sha}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(rewritten, statement);
    std::fs::write(copy.join("statement.txt"), rewritten).unwrap();
    assert_eq!(verify(&copy).err(), Some(VerifyError::BadSignature));
    for (rel, bytes) in saved {
        std::fs::write(copy.join(rel), bytes).unwrap();
    }

    assert_eq!(
        walk(&copy),
        files,
        "the copy is back to its original set of files"
    );
    verify(&copy).expect("the restored copy verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_binary_and_the_plain_tools_agree() {
    let scratch = Scratch::new();
    let (copy, run_id) = bundle_copy(&scratch).await;

    // `passage verify`: 0 on the clean copy.
    let out = run_verify_binary(&copy);
    assert!(out.status.success(), "clean copy failed: {}", text(&out));
    let said = text(&out);
    assert!(said.contains("OK"), "{said}");
    assert!(said.contains(run_id.as_str()), "{said}");

    // …and non-zero, naming the file, on a tampered one.
    let evidence = "evidence/okta/suspend.json";
    let out = with_changed(
        &copy,
        evidence,
        |b| flip_middle(b),
        || run_verify_binary(&copy),
    );
    assert!(
        !out.status.success(),
        "tampered copy passed: {}",
        text(&out)
    );
    let said = text(&out);
    assert!(said.contains("FAIL"), "{said}");
    assert!(
        said.contains("suspend.json"),
        "the reason names the file: {said}"
    );
    let out = with_changed(
        &copy,
        "statement.txt",
        |b| flip_middle(b),
        || run_verify_binary(&copy),
    );
    assert!(
        !out.status.success(),
        "tampered statement passed: {}",
        text(&out)
    );
    assert!(text(&out).contains("statement"), "{}", text(&out));
    let out = run_verify_binary(&copy);
    assert!(out.status.success(), "restored copy failed: {}", text(&out));

    // openssl: the statement's signature.
    let openssl =
        "openssl dgst -sha256 -verify signing-key.pem -signature statement.sig statement.txt";
    let out = sh(&copy, openssl);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Verified OK"), "{}", text(&out));
    let out = with_changed(
        &copy,
        "statement.txt",
        |b| {
            let s = String::from_utf8(b.clone()).unwrap();
            *b = s.replace("sequence 1", "sequence 2").into_bytes();
        },
        || sh(&copy, openssl),
    );
    assert!(
        !out.status.success(),
        "openssl accepted a changed statement: {}",
        text(&out)
    );
    assert!(!text(&out).contains("Verified OK"), "{}", text(&out));
    assert!(
        text(&out).contains("Verification failure"),
        "{}",
        text(&out)
    );

    // openssl: the key's fingerprint is the one the manifest and statement record.
    let out = sh(
        &copy,
        "set -o pipefail; openssl pkey -pubin -in signing-key.pem -outform DER | sha256sum | cut -d' ' -f1",
    );
    assert!(out.status.success(), "{}", text(&out));
    let fingerprint = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert_eq!(fingerprint.len(), 64);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(copy.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["signing"]["public_key_sha256"],
        fingerprint.as_str()
    );
    let statement = std::fs::read_to_string(copy.join("statement.txt")).unwrap();
    assert!(statement.contains(&fingerprint), "{statement}");

    // sha256sum: the manifest is the one the statement names.
    let out = sh(&copy, "sha256sum manifest.json | cut -d' ' -f1");
    let manifest_sha = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        statement.contains(&format!("manifest-sha256 {manifest_sha}\n")),
        "{statement} vs {manifest_sha}"
    );

    // jq + sha256sum -c: every evidence file as listed.
    let check = "set -o pipefail; jq -r '.files[] | \"\\(.sha256)  \\(.path)\"' manifest.json | sha256sum -c -";
    let out = sh(&copy, check);
    assert!(out.status.success(), "{}", text(&out));
    let listed = manifest["files"].as_array().unwrap().len();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).matches(": OK").count(),
        listed,
        "{}",
        text(&out)
    );
    let out = with_changed(&copy, evidence, |b| flip_middle(b), || sh(&copy, check));
    assert!(
        !out.status.success(),
        "sha256sum accepted a changed file: {}",
        text(&out)
    );
    assert!(
        text(&out).contains(&format!("{evidence}: FAILED")),
        "{}",
        text(&out)
    );
    let out = sh(&copy, check);
    assert!(out.status.success(), "restored: {}", text(&out));
}
