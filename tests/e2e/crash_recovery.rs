//! SIGKILL the server in the middle of runs, restart it, and check that every run closes with
//! each effect applied once in the emulator and every bundle verifying in one unbroken chain.

use passage::harness::{Cutoff, TENANT, leaver_event, random_secret};
use passage_core::evidence::{verify_bundle, verify_chain};
use passage_core::ports::{RunFilter, RunStore};
use passage_core::{RunId, RunState};
use passage_embedded::{SqliteStore, read_bundle_dir};
use passage_sandbox::okta::{OktaConfig, OktaEmulator, SeedUser};
use rand::Rng;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LEAVERS: usize = 12;
const KILLS: usize = 5;

struct Server {
    child: Child,
    url: String,
}

/// Starts `passage serve` and waits for its "listening on" line.
fn start_server(config: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_passage"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("PASSAGE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("passage serve starts");
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from passage serve: {line:?}"))
        .to_owned();
    Server { child, url }
}

impl Server {
    fn kill(mut self) {
        // SIGKILL: no shutdown code runs.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    secret: &passage_hris::WebhookSecret,
    id: &str,
    body: &[u8],
) -> Option<(u16, String)> {
    let ts = jiff::Timestamp::now().as_second();
    let mut req = http
        .post(format!("{url}/v1/tenants/{TENANT}/webhooks/leaver"))
        .timeout(Duration::from_secs(5))
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (k, v) in passage_hris::signed_headers(secret, id, ts, body) {
        req = req.header(k, v);
    }
    let response = req.send().await.ok()?;
    let status = response.status().as_u16();
    let v: serde_json::Value = response.json().await.ok()?;
    Some((status, v["run_id"].as_str()?.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_run_loses_nothing_and_applies_each_effect_once() {
    let dir = std::env::temp_dir().join(format!("passage-crash-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    // Latency keeps steps in flight long enough for kills to land mid-step.
    okta.knobs().set_latency(Duration::from_millis(40));
    for name in ["Engineering", "VPN Users"] {
        okta.seed_group(passage_sandbox::okta::SeedGroup::new(
            name,
            passage_sandbox::okta::GroupType::OktaGroup,
        ));
    }
    let mut logins = Vec::new();
    for i in 0..LEAVERS {
        let login = format!("crash{i}@example.com");
        okta.seed_user(SeedUser {
            groups: vec!["Engineering".into(), "VPN Users".into()],
            sessions: 1,
            grants: 2,
            ..SeedUser::new(&login, "Crash", &format!("Test{i}"))
        });
        logins.push(login);
    }
    let secret = random_secret();
    let config = dir.join("passage.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
workers = 4
sweep_seconds = 1
lease_seconds = 3

[[tenants]]
id = "{TENANT}"
webhook_secrets = ["{secret}"]
end_of_day = "17:00"
default_time_zone = "America/New_York"

[tenants.okta]
org_url = "{okta}"
api_token = "{token}"
disable = "suspend"

# A dozen leavers in a minute is this test's load, not an HR mistake.
[tenants.guard]
enabled = false
"#,
            data = dir.join("data").display(),
            secret = secret.to_whsec(),
            okta = okta.base_url(),
            token = okta.api_token(),
        ),
    )
    .unwrap();

    let http = reqwest::Client::new();
    let mut rng = rand::thread_rng();
    // Delivery id -> (body, run id once known).
    let mut deliveries: BTreeMap<String, (Vec<u8>, Option<String>)> = BTreeMap::new();
    let mut next = 0;
    let mut server = start_server(&config);
    for round in 0..=KILLS {
        // Post a few new leavers: some immediate, some with a cutoff a moment away, so timers
        // must survive the restart too.
        for _ in 0..(LEAVERS / (KILLS + 1)).max(1) {
            if next >= LEAVERS {
                break;
            }
            let cutoff = if next % 3 == 0 {
                Cutoff::At(jiff::Timestamp::now() + jiff::SignedDuration::from_millis(1500))
            } else {
                Cutoff::Immediate
            };
            let body = leaver_event(&logins[next], &format!("E{next}"), cutoff);
            deliveries.insert(format!("msg_crash_{next}"), (body, None));
            next += 1;
        }
        // (Re)deliver everything: a webhook whose answer was lost to a kill is resent by the HR
        // system, and must come back with the same run.
        for (id, (body, known)) in deliveries.iter_mut() {
            if let Some((status, run)) = post(&http, &server.url, &secret, id, body).await {
                assert!(status == 200 || status == 202, "{id}: status {status}");
                if let Some(prev) = known {
                    assert_eq!(prev, &run, "{id}: a resent webhook must give the same run");
                }
                *known = Some(run);
            }
        }
        if round == KILLS {
            break;
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(30..400))).await;
        server.kill();
        server = start_server(&config);
    }
    assert_eq!(next, LEAVERS, "every leaver was posted");

    // Let the last server finish everything.
    let store =
        SqliteStore::new(passage_embedded::Database::open(&dir.join("data/passage.db")).unwrap());
    let deadline = Instant::now() + Duration::from_secs(90);
    let runs = loop {
        let runs = store.list_runs(&RunFilter::default()).await.unwrap();
        if runs.len() == LEAVERS && runs.iter().all(|r| r.state == RunState::Closed) {
            break runs;
        }
        assert!(
            Instant::now() < deadline,
            "runs not all closed: {:?}",
            runs.iter()
                .map(|r| (r.id.to_string(), r.state, r.blocked_reason.clone()))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    server.kill();

    // One run per leaver, and every delivery id maps to its leaver's run.
    assert_eq!(runs.len(), LEAVERS, "no run lost and none duplicated");
    for (id, (_, run)) in &deliveries {
        let run = run
            .as_ref()
            .unwrap_or_else(|| panic!("{id} never answered"));
        assert!(runs.iter().any(|r| r.id.as_str() == run));
    }

    // Effects in the emulator: applied, and applied once.
    for login in &logins {
        let user = okta.user(login).unwrap();
        assert_eq!(format!("{:?}", user.status), "Suspended", "{login}");
        let okta_groups: Vec<_> = okta
            .user_groups(login)
            .into_iter()
            .filter(|g| format!("{:?}", g.group_type) == "OktaGroup")
            .collect();
        assert!(okta_groups.is_empty(), "{login} still in {okta_groups:?}");
        assert_eq!(okta.sessions(login), Some(0));
        assert_eq!(okta.grants(login), Some(0));
        assert_eq!(
            okta.count_events("user.lifecycle.suspend", &user.id),
            1,
            "{login} suspended once"
        );
        assert_eq!(
            okta.count_events("group.user_membership.remove", &user.id),
            2,
            "{login}: each of two memberships removed once"
        );
        assert_eq!(
            okta.count_events("user.session.clear", &user.id),
            1,
            "{login} sessions cleared once"
        );
        assert_eq!(
            okta.count_events("app.oauth2.as.consent.revoke", &user.id),
            2,
            "{login} grants revoked once each"
        );
    }

    // Evidence: every bundle verifies and the tenant chain has no gap or fork.
    let mut verified = Vec::new();
    for run in &runs {
        let bundle = run.bundle.as_ref().expect("closed run has a bundle");
        let files = read_bundle_dir(Path::new(&bundle.location)).unwrap();
        verified.push(verify_bundle(&files, None).unwrap());
        let attempts = store.attempts(&RunId::new(run.id.as_str())).await.unwrap();
        assert!(!attempts.is_empty());
    }
    verify_chain(&verified).unwrap();
    let mut seqs: Vec<u64> = verified.iter().map(|b| b.sequence).collect();
    seqs.sort();
    assert_eq!(seqs, (1..=LEAVERS as u64).collect::<Vec<_>>());

    okta.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
