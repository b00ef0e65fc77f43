//! What an operations team runs Passage with: the operator API's published OpenAPI document
//! (valid, and naming exactly the routes served), `/metrics` as Prometheus scrapes it, the
//! remote CLI (`--server`), the systemd unit and container image definitions (linted, and
//! their start command started), shell completions and the man page.

use crate::common::process::{passage, spawn_command, terminate};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const TOKEN: &str = "ops-token-0123456789abcdefghij";
const TENANT: &str = "demo";

/// A one-tenant config with operator `it` (token [`TOKEN`]).
fn config(dir: &Path) -> PathBuf {
    let config = crate::common::one_tenant_config(dir, "");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[operators]]\nname = \"it\"\ntoken = \"{TOKEN}\"\ntenants = [\"{TENANT}\"]\n"
    ));
    std::fs::write(&config, text).unwrap();
    config
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("passage-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `passage serve` on the config; its base URL.
fn serve(config: &Path) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_passage"));
    command
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("PASSAGE_LOG", "warn");
    let (child, line, _) = spawn_command(command, "listening on ");
    (child, line.trim_start_matches("listening on ").to_owned())
}

/// A tool the suite installs (scripts/test); a clear failure when it is missing.
fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()));
    assert!(
        found,
        "{name} is not on PATH: run scripts/test, which installs it"
    );
    Command::new(name)
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Each documented operation with its path's variables filled in.
fn operations(doc: &serde_json::Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{tenant}", TENANT)
            .replace("{run}", "run_missing")
            .replace("{step}", "okta.suspend");
        for method in item.as_object().unwrap().keys() {
            ops.push((method.to_uppercase(), concrete.clone()));
        }
    }
    ops
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_is_valid_and_names_exactly_the_routes_served() {
    let dir = temp_dir("openapi");
    let (mut server, url) = serve(&config(&dir));
    let http = reqwest::Client::new();
    let doc: serde_json::Value = http
        .get(format!("{url}/v1/operator/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    // Valid OpenAPI, by the reference validator.
    let file = dir.join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let validated = tool("openapi-spec-validator").arg(&file).output().unwrap();
    let said = String::from_utf8_lossy(&validated.stdout);
    assert!(
        validated.status.success(),
        "{}",
        &said[..said.len().min(2000)]
    );
    // The CLI prints the same document the server publishes.
    let printed: serde_json::Value =
        serde_json::from_str(&ok(&passage(&["openapi"], &dir))).unwrap();
    assert_eq!(printed, doc);

    // Every documented operation is served: without a token it is refused as unauthenticated,
    // never "no such route" (404) or "wrong method" (405).
    let ops = operations(&doc);
    assert!(ops.len() >= 15, "{ops:?}");
    for (method, path) in &ops {
        let answer = http
            .request(method.parse().unwrap(), format!("{url}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 401, "{method} {path}");
    }
    // Every served operator route is documented: the routes are registered only through the
    // documented list (`routes!`), never with a bare `.route(` beside it.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("shared/http/src");
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !text.contains(".route(\"/v1/operator"),
                "{}: operator routes must be added with routes!() so OpenAPI documents them",
                path.display()
            );
        }
    }
    // And an undocumented path is not served.
    let stray = http
        .post(format!(
            "{url}/v1/operator/tenants/{TENANT}/runs/run_missing/delete"
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(stray.status().as_u16(), 404);
    let _ = server.kill();
}

/// The value of the sample with exactly this name and label set, if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_with_an_operator_token_and_follow_runs_and_refusals() {
    let dir = temp_dir("metrics");
    let (mut server, url) = serve(&config(&dir));
    let http = reqwest::Client::new();
    let refused = http.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);

    // Two unsigned webhooks are refused; a run is started by hand.
    let mut refusal = 0;
    for _ in 0..2 {
        let answer = http
            .post(format!("{url}/v1/tenants/{TENANT}/webhooks/leaver"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        refusal = answer.status().as_u16();
        assert!((400..500).contains(&refusal), "{refusal}");
    }
    let started = http
        .post(format!("{url}/v1/operator/tenants/{TENANT}/runs"))
        .bearer_auth(TOKEN)
        .json(
            &serde_json::json!({"employee_id": "E-1", "email": "jane@example.com",
            "last_working_day": "2099-01-02"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(started.status().as_u16(), 201);

    let scraped = http
        .get(format!("{url}/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status().as_u16(), 200);
    let content_type = scraped.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = scraped.text().await.unwrap();
    assert_eq!(
        sample(&text, "passage_runs{tenant=\"demo\",state=\"scheduled\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            &format!("passage_webhook_refusals_total{{status=\"{refusal}\"}}")
        ),
        Some(2.0),
        "{text}"
    );
    assert!(sample(&text, "passage_queue_messages").is_some(), "{text}");
    assert!(sample(&text, "passage_dead_letters").is_some(), "{text}");
    // Families with samples are typed; the step families fill as runs work (the counting
    // of transition events is unit-tested in passage-http).
    for family in [
        "# TYPE passage_runs gauge",
        "# TYPE passage_queue_messages gauge",
        "# TYPE passage_webhook_refusals counter",
    ] {
        assert!(text.contains(family), "{family} missing:\n{text}");
    }
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    let _ = server.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_cli_acts_through_the_operator_api_as_the_tokens_operator() {
    let dir = temp_dir("remote");
    let config = config(&dir);
    let (mut server, url) = serve(&config);
    let elsewhere = temp_dir("remote-client");
    // From another folder, with no config: only the server and the token.
    let remote = |args: &[&str], token: &str| {
        Command::new(env!("CARGO_BIN_EXE_passage"))
            .args(["--server", &url])
            .args(args)
            .current_dir(&elsewhere)
            .env("PASSAGE_TOKEN", token)
            .env("PASSAGE_LOG", "warn")
            .output()
            .unwrap()
    };
    let started: serde_json::Value = serde_json::from_str(&ok(&remote(
        &[
            "start",
            "--tenant",
            TENANT,
            "--employee-id",
            "E-7",
            "--email",
            "sam@example.com",
            "--last-day",
            "2099-03-04",
        ],
        TOKEN,
    )))
    .unwrap();
    let run = started["run_id"].as_str().unwrap().to_owned();
    let listed = ok(&remote(&["runs", "list", "--tenant", TENANT], TOKEN));
    assert!(listed.contains(&run), "{listed}");
    let cancelled: serde_json::Value = serde_json::from_str(&ok(&remote(
        &["cancel", &run, "--reason", "offer rescinded"],
        TOKEN,
    )))
    .unwrap();
    assert_eq!(cancelled["state"], "cancelled");

    // The host's own store shows the cancellation, by the token's operator.
    let shown: serde_json::Value = serde_json::from_str(&ok(&passage(
        &[
            "--config",
            config.to_str().unwrap(),
            "runs",
            "show",
            &run,
            "--json",
        ],
        &dir,
    )))
    .unwrap();
    assert_eq!(shown["run"]["state"], "cancelled");
    let events = shown["events"].as_array().unwrap();
    let cancel = events
        .iter()
        .find(|e| e["kind"] == "run.cancelled")
        .unwrap();
    assert!(cancel["actor"].as_str().unwrap().contains("it"), "{cancel}");

    // A wrong token, an unknown run and a host-only command are refused, saying why.
    let bad = remote(&["runs", "show", &run], "not-the-token-0123456789abcdef");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("401"));
    let missing = remote(&["runs", "show", "run_nope"], TOKEN);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("not_found"));
    let host_only = remote(&["keys", "list"], TOKEN);
    assert!(String::from_utf8_lossy(&host_only.stderr).contains("on the Passage host only"));
    // Plain http to anything but loopback would send the token in clear: refused.
    let clear = Command::new(env!("CARGO_BIN_EXE_passage"))
        .args([
            "--server",
            "http://passage.example.com",
            "runs",
            "show",
            &run,
        ])
        .env("PASSAGE_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&clear.stderr).contains("https://"));
    let _ = server.kill();
}

/// `Key=value` lines of a unit file or `INSTRUCTION args` lines of a Dockerfile.
fn directive<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    text.lines()
        .filter_map(|l| l.strip_prefix(key))
        .map(str::trim)
        .collect()
}

/// Starts the command, waits for `/healthz`, stops it with SIGTERM: it must exit 0.
async fn start_and_stop(command: Command) {
    let (child, line, logs) = spawn_command(command, "listening on ");
    let url = line.trim_start_matches("listening on ").to_owned();
    let health = reqwest::get(format!("{url}/healthz")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    terminate(&child);
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(
                status.success(),
                "exit {status:?}: {:?}",
                logs.lock().unwrap()
            );
            break;
        }
        assert!(Instant::now() < deadline, "did not stop on SIGTERM");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_unit_and_container_image_are_linted_and_their_start_command_serves() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_passage");
    let dir = temp_dir("deploy");
    let config = config(&dir);

    // The unit: verified by systemd itself, with the binary where the unit expects it.
    let unit = std::fs::read_to_string(root.join("deploy/passage.service")).unwrap();
    let local_unit = dir.join("passage.service");
    std::fs::write(&local_unit, unit.replace("/usr/local/bin/passage", bin)).unwrap();
    ok(&tool("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&local_unit)
        .output()
        .unwrap());
    // Its ExecStart, as systemd would run it (the config where the unit names it).
    let exec = directive(&unit, "ExecStart=")[0];
    let mut words = exec.split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/passage"));
    let args: Vec<String> = words
        .map(|w| w.replace("/etc/passage/passage.toml", config.to_str().unwrap()))
        .collect();
    assert_eq!(
        directive(&unit, "KillSignal="),
        ["SIGTERM"],
        "the drain on stop relies on SIGTERM"
    );
    let mut command = Command::new(bin);
    command.args(&args).current_dir(&dir);
    for env in directive(&unit, "Environment=") {
        let (k, v) = env.split_once('=').unwrap();
        command.env(k, v);
    }
    start_and_stop(command).await;

    // The image: linted by hadolint; its ENTRYPOINT, CMD and ENV started the same way.
    let dockerfile = root.join("deploy/Dockerfile");
    ok(&tool("hadolint").arg(&dockerfile).output().unwrap());
    let text = std::fs::read_to_string(&dockerfile).unwrap();
    let json_words = |line: &str| -> Vec<String> { serde_json::from_str(line).unwrap() };
    let entry = json_words(directive(&text, "ENTRYPOINT")[0]);
    let cmd = json_words(directive(&text, "CMD")[0]);
    assert_eq!(entry, ["/usr/local/bin/passage"]);
    assert!(
        directive(&text, "USER")[0].starts_with("10001"),
        "runs as a non-root user"
    );
    let mut command = Command::new(bin);
    command.args(&cmd).current_dir(&dir);
    for pair in directive(&text, "ENV")[0].split_whitespace() {
        let (k, v) = pair.split_once('=').unwrap();
        let v = v.replace("/etc/passage/passage.toml", config.to_str().unwrap());
        command.env(k, v);
    }
    start_and_stop(command).await;
}

#[test]
fn completions_and_man_page_come_from_the_command_definition() {
    let dir = temp_dir("completions");
    let bash = ok(&passage(&["completions", "bash"], &dir));
    for sub in ["serve", "not-applicable", "approve", "completions"] {
        assert!(bash.contains(sub), "bash completion lacks {sub}");
    }
    assert!(ok(&passage(&["completions", "zsh"], &dir)).contains("#compdef passage"));
    let man = ok(&passage(&["man"], &dir));
    assert!(man.contains(".TH passage 1"), "{man}");
    assert!(man.contains("not\\-applicable") || man.contains("not-applicable"));
}
