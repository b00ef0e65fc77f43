//! Every access item graded, through the running host: the demo leaver's AD-synced and dynamic
//! Entra groups, the Okta group sourced from AD, and the Mac lock JumpCloud reports only as
//! acknowledged hold the run open after every step is verified; an operator accepts each by
//! name over the operator API, and the signed bundle lists every item graded, with the
//! exceptions and who accepted them.

use passage::harness::{Cutoff, Sandbox, SandboxOptions, leaver_event};
use passage_core::access::{self, AccessItem, Grade};
use passage_core::gate::{Gate, evaluate_run};
use passage_core::ports::RunStore;
use passage_core::secret::Secret;
use passage_core::{RunId, RunState};
use passage_http::{Operator, Operators};
use passage_sandbox::okta::DEMO_LEAVER;
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "maria-operator-token-0123456789abcdef";

/// Polls until the gate holds the run on access items alone (every step done), without
/// accepting anything.
async fn held(sb: &Sandbox, run_id: &RunId) -> (Vec<String>, Vec<AccessItem>) {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let run = sb.system.store.run(run_id).await.unwrap().unwrap();
        let steps = sb.system.store.steps(run_id).await.unwrap();
        let gate = evaluate_run(&steps, &run.exceptions, sb.system.engine.now());
        if let Gate::Held { items } = gate {
            return (items, access::grade(&steps));
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the gate never held on access alone: {gate:?} ({})",
            run.state.as_str()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn named<'a>(items: &'a [AccessItem], provider: &str, name: &str) -> &'a AccessItem {
    items
        .iter()
        .find(|i| i.provider.as_str() == provider && i.name == name)
        .unwrap_or_else(|| panic!("no {provider} item {name} in {items:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn what_remains_holds_the_run_until_a_named_operator_accepts_it() {
    let dir =
        std::env::temp_dir().join(format!("passage-access-{}", uuid::Uuid::new_v4().simple()));
    let mut options = SandboxOptions::new(&dir);
    options.all_providers = true;
    let (recovery_private, recovery_public) = recovery_keypair();
    options.customize = Some(std::sync::Arc::new(
        move |p: &mut passage_core::TenantPolicy| {
            p.recovery_key = Some(recovery_public.clone());
        },
    ));
    options.operators = Operators::new(vec![Operator::new(
        "maria",
        Some(&Secret::new(TOKEN)),
        None,
        vec!["demo".into()],
    )]);
    let sb = Sandbox::start(options).await.unwrap();
    let r = sb
        .post(
            "msg_access",
            &leaver_event(DEMO_LEAVER, "E8", Cutoff::Immediate),
        )
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.unwrap();
    let run_id = RunId::new(v["run_id"].as_str().unwrap());

    let (holding, items) = held(&sb, &run_id).await;
    let dynamic = named(&items, "microsoft", "All Engineering (dynamic)");
    let synced = named(&items, "microsoft", "AD Engineering");
    let okta_ad = named(&items, "okta", "AD Engineering");
    let mac = named(&items, "jumpcloud", "Jane's MacBook Pro");
    for (item, grade) in [
        (dynamic, Grade::Remains),
        (synced, Grade::Remains),
        (okta_ad, Grade::Remains),
        (mac, Grade::Pending),
    ] {
        assert_eq!(item.grade, grade, "{item:#?}");
        assert!(holding.contains(&item.key), "{} holds the run", item.key);
        assert!(item.reason.is_some(), "{} says why", item.key);
    }
    assert!(synced.reason.as_deref().unwrap().contains("on-premises AD"));
    assert!(
        dynamic
            .reason
            .as_deref()
            .unwrap()
            .contains("membership rule")
    );
    // Everything else the snapshot recorded was read back gone.
    let engineering = named(&items, "microsoft", "Engineering");
    assert_eq!(engineering.grade, Grade::Removed);
    assert_eq!(engineering.source.step.as_str(), "microsoft.remove_groups");
    assert!(engineering.source.at.is_some());
    // The emulator agrees: the leaver is still in both groups Graph cannot change.
    let ms = &sb.others.as_ref().unwrap().microsoft;
    let left: Vec<String> = ms
        .user_groups(DEMO_LEAVER)
        .into_iter()
        .map(|g| g.display_name)
        .collect();
    assert!(left.contains(&"AD Engineering".to_owned()), "{left:?}");
    assert!(
        left.contains(&"All Engineering (dynamic)".to_owned()),
        "{left:?}"
    );

    // Held, not closed, while nobody accepts them.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let run = sb.system.store.run(&run_id).await.unwrap().unwrap();
    assert_eq!(
        run.state,
        RunState::Running,
        "what remains holds the run open"
    );
    assert!(run.bundle.is_none());

    let http = reqwest::Client::new();
    let url = format!(
        "{}/v1/operator/tenants/demo/runs/{run_id}/exceptions",
        sb.base_url
    );
    let removed = http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&json!({"item": engineering.key, "reason": "not needed"}))
        .send()
        .await
        .unwrap();
    assert!(
        !removed.status().is_success(),
        "a removed item is no exception"
    );
    let no_reason = http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&json!({"item": synced.key, "reason": " "}))
        .send()
        .await
        .unwrap();
    assert!(
        !no_reason.status().is_success(),
        "an exception needs a reason"
    );
    for item in [dynamic, synced, okta_ad, mac] {
        let reason = format!("{}: directory team ticket IT-4711", item.name);
        let r = http
            .post(&url)
            .bearer_auth(TOKEN)
            .json(
                &json!({"item": item.key, "reason": reason, "expires_at": "2099-01-01T00:00:00Z"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{}", r.text().await.unwrap());
    }
    let run = sb
        .wait_closed(&run_id, Duration::from_secs(30))
        .await
        .unwrap();

    // The bundle lists every item graded, the exceptions with who accepted them, and the
    // manifest's summary says so.
    let bundle = sb.system.evidence.bundle_dir(&run.tenant, &run.id).unwrap();
    let read = |f: &str| -> Value {
        serde_json::from_slice(&std::fs::read(bundle.join(f)).unwrap()).unwrap()
    };
    let graded = read("access.json");
    let grade_of = |key: &str| {
        graded
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["key"] == key)
            .unwrap()["grade"]
            .clone()
    };
    assert_eq!(grade_of(&dynamic.key), "remains");
    assert_eq!(grade_of(&synced.key), "remains");
    assert_eq!(grade_of(&mac.key), "pending");
    assert_eq!(grade_of(&engineering.key), "removed");
    let exceptions = read("exceptions.json");
    let exceptions = exceptions.as_array().unwrap();
    assert_eq!(exceptions.len(), 4);
    for e in exceptions {
        assert_eq!(e["accepted_by"], "maria");
        assert!(e["reason"].as_str().unwrap().contains("IT-4711"));
        assert!(e["at"].is_string());
        assert_eq!(e["expires_at"], "2099-01-01T00:00:00Z");
        assert!(e["why_it_stays"].is_string());
    }
    let manifest = read("manifest.json");
    let summary = &manifest["access"];
    assert_eq!(summary["counts"]["remains"], 3);
    assert_eq!(summary["counts"]["pending"], 1);
    assert_eq!(summary["excepted"].as_array().unwrap().len(), 4);
    assert!(
        summary["pending"]
            .as_array()
            .unwrap()
            .contains(&json!(mac.key))
    );
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(files.contains(&"access.json") && files.contains(&"exceptions.json"));
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_passage"))
        .arg("verify")
        .arg(&bundle)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );

    // The operator API shows the same grades and exceptions.
    let shown: Value = http
        .get(format!(
            "{}/v1/operator/tenants/demo/runs/{run_id}",
            sb.base_url
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["exceptions"].as_array().unwrap().len(), 4);
    assert_eq!(
        shown["access"].as_array().unwrap().len(),
        graded.as_array().unwrap().len()
    );

    // The Mac's lock PIN reached the device, and nowhere in the store or the bundle is it in
    // plain text; the step keeps it sealed, and only the recovery key opens it.
    let jc = &sb.others.as_ref().unwrap().jumpcloud;
    let pin = jc
        .commands()
        .into_iter()
        .find_map(|c| c.pin)
        .expect("the Mac got a PIN");
    // As a JSON string (quoted), the form any JSON document in the store or bundle would hold
    // it in; six bare digits could occur by chance inside other numbers.
    let quoted = format!("\"{pin}\"");
    for file in files_under(&dir).into_iter().chain(files_under(&bundle)) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            !bytes.windows(quoted.len()).any(|w| w == quoted.as_bytes()),
            "the PIN is in plain text in {}",
            file.display()
        );
    }
    let steps = sb.system.store.steps(&run_id).await.unwrap();
    let devices = steps
        .iter()
        .find(|s| s.key.as_str() == "jumpcloud.secure_devices")
        .unwrap();
    let output = &devices.result.as_ref().unwrap().output;
    let sealed = output["devices"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|d| d["pin"]["sealed"].as_object())
        .expect("the PIN is kept sealed");
    let opened =
        passage_core::seal::open(&recovery_private, &Value::Object(sealed.clone())).unwrap();
    assert_eq!(opened, pin);
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The tenant IT's recovery key pair (private PKCS#8 PEM, public SPKI PEM).
fn recovery_keypair() -> (String, String) {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let private = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public = key.public_key().to_public_key_pem(LineEnding::LF).unwrap();
    (private, public)
}

/// Every file under `dir` (the data directory: SQLite database, its WAL, key files, bundles).
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}
