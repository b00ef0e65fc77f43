//! The auditor's period view end to end: thirty leavers through `passage serve` against the
//! Okta and BambooHR emulators, five told to Passage after their last day (so their access is
//! removed past the SLA), three with the hand-over waived, two still open,
//! and one termination HR records that never reached Passage. `passage report`, `sample`,
//! `link` and `audit` are run as an operator and an auditor run them; the statistics are
//! recomputed here, the OSCAL export is checked against NIST's schema, the PDF's text is read
//! back, and docs/auditor.md and the README's auditor path are run literally.

use passage::harness::{Cutoff, TENANT, leaver_event, random_secret};
use passage_core::ports::RunStore;
use passage_core::report::nearest_rank;
use passage_core::{RunId, RunState, StepState};
use passage_embedded::SqliteStore;
use passage_sandbox::hr::bamboohr::{BambooHrConfig, BambooHrEmulator};
use passage_sandbox::hr::directory::{NewEmployee, Termination};
use passage_sandbox::okta::{OktaConfig, OktaEmulator, SeedUser};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const LEAVERS: usize = 30;
const TOKEN: &str = "period-report-operator-token-0123456789abcdef";
const HANDOVER: &str = "human.confirm_handover";
const SEED: &str = "q4 walkthrough 2026";
const SIZE: usize = 5;

/// Told after their last day: the SLA clock started at yesterday's cutoff.
fn late(i: usize) -> bool {
    i.is_multiple_of(6)
}
/// The hand-over waived by an operator.
fn waived(i: usize) -> bool {
    [3, 9, 15].contains(&i)
}
/// The hand-over never confirmed: the run stays open.
fn left_open(i: usize) -> bool {
    [27, 29].contains(&i)
}

fn login(i: usize) -> String {
    format!("leaver{i:02}@example.com")
}

/// A running `passage serve`, killed when dropped.
struct Server {
    child: std::process::Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(config: &Path) -> Server {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_passage"))
        .args(["--config", config.to_str().unwrap(), "serve"])
        .env("PASSAGE_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("passage serve starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from passage serve: {line:?}"))
        .to_owned();
    Server { child, url }
}

fn passage(config: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_passage"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("PASSAGE_LOG", "warn")
        .output()
        .expect("passage runs");
    assert!(
        out.status.success(),
        "passage {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    })
}

/// The world: Okta with the thirty leavers, BambooHR with them and one more, all active.
struct World {
    dir: PathBuf,
    okta: OktaEmulator,
    hr: BambooHrEmulator,
    /// HR employee id by leaver index; index `LEAVERS` is the one Passage never hears of.
    ids: Vec<String>,
    secret: passage_hris::WebhookSecret,
    config: PathBuf,
}

async fn world() -> World {
    let dir =
        std::env::temp_dir().join(format!("passage-period-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let okta = OktaEmulator::start(OktaConfig::default()).await.unwrap();
    let hr = BambooHrEmulator::start(BambooHrConfig::default())
        .await
        .unwrap();
    let mut ids = Vec::new();
    for i in 0..=LEAVERS {
        if i < LEAVERS {
            okta.seed_user(SeedUser {
                sessions: 1,
                ..SeedUser::new(&login(i), "Leaver", &format!("N{i:02}"))
            });
        }
        ids.push(
            hr.seed(NewEmployee::new("Leaver", &format!("N{i:02}"), &login(i)))
                .unwrap(),
        );
    }
    let secret = random_secret();
    let config = dir.join("passage.toml");
    std::fs::write(&config, config_text(&dir, &okta, &hr, &secret)).unwrap();
    World {
        dir,
        okta,
        hr,
        ids,
        secret,
        config,
    }
}

/// A one-hour SLA from the cutoff, a non-critical hand-over step, BambooHR's API, an operator,
/// and a reconcile that runs once at start (before any termination) and not again.
fn config_text(
    dir: &Path,
    okta: &OktaEmulator,
    hr: &BambooHrEmulator,
    secret: &passage_hris::WebhookSecret,
) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
data_dir = "{data}"
workers = 4
sweep_seconds = 1
reconcile_minutes = 1440

[[tenants]]
id = "{TENANT}"
name = "Period Co"
webhook_secrets = ["{secret}"]
default_time_zone = "America/New_York"

[tenants.okta]
org_url = "{okta}"
api_token = "{token}"
disable = "suspend"

[tenants.sla]
hours = 1
from = "cutoff"

# Thirty leavers in a minute is this test's load, not an HR mistake.
[tenants.guard]
enabled = false

[tenants.human]
handover = {{ critical = false, due_after_hours = 48 }}

[tenants.hr_api]
vendor = "bamboohr"
company_domain = "{company}"
api_key = "{api_key}"
base_url = "{hr_url}"

[[operators]]
name = "it"
token = "{TOKEN}"
tenants = ["{TENANT}"]
"#,
        data = dir.join("data").display(),
        secret = secret.to_whsec(),
        okta = okta.base_url(),
        token = okta.api_token(),
        company = hr.company_domain(),
        api_key = hr.api_key(),
        hr_url = hr.base_url(),
    )
}

fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("America/New_York").unwrap())
        .date()
}

/// Waits for serve's first HR reconcile to finish (nothing is terminated yet, so it creates
/// nothing), then records every termination in HR, dated yesterday.
async fn terminate_in_hr(w: &World) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while w.hr.faults().requests() == 0 {
        assert!(Instant::now() < deadline, "serve never asked the HR system");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut seen = 0;
    while seen != w.hr.faults().requests() {
        seen = w.hr.faults().requests();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let yesterday = today() - jiff::Span::new().days(1);
    for id in &w.ids {
        w.hr.terminate_with(id, Termination::on(yesterday)).unwrap();
    }
}

/// Posts the thirty leavers: the late ones with yesterday as their last day, the rest to be
/// cut at once. Returns run ids by leaver index.
async fn post_leavers(w: &World, url: &str) -> Vec<RunId> {
    let http = reqwest::Client::new();
    let yesterday = today() - jiff::Span::new().days(1);
    let mut runs = Vec::new();
    for i in 0..LEAVERS {
        let cutoff = if late(i) {
            Cutoff::LastDay(yesterday)
        } else {
            Cutoff::Immediate
        };
        let body = leaver_event(&login(i), &w.ids[i], cutoff);
        let ts = jiff::Timestamp::now().as_second();
        let mut req = http
            .post(format!("{url}/v1/tenants/{TENANT}/webhooks/leaver"))
            .header("content-type", "application/json")
            .body(body.clone());
        for (k, v) in passage_hris::signed_headers(&w.secret, &format!("msg_p{i}"), ts, &body) {
            req = req.header(k, v);
        }
        let r = req.send().await.unwrap();
        assert!(r.status().is_success(), "leaver {i}: {}", r.status());
        let v: Value = r.json().await.unwrap();
        runs.push(RunId::new(v["run_id"].as_str().unwrap()));
    }
    runs
}

fn store(w: &World) -> SqliteStore {
    SqliteStore::new(passage_embedded::Database::open(&w.dir.join("data/passage.db")).unwrap())
}

/// Waits until every run has cut access and waits on people for its hand-over.
async fn wait_for_handover(store: &SqliteStore, runs: &[RunId]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    for run in runs {
        loop {
            let steps = store.steps(run).await.unwrap();
            let awaiting = steps
                .iter()
                .any(|s| s.key.as_str() == HANDOVER && s.state == StepState::Awaiting);
            let cut = steps
                .iter()
                .filter(|s| s.critical)
                .all(|s| s.state == StepState::Verified);
            if awaiting && cut {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "run {run} never reached its hand-over: {:?}",
                steps
                    .iter()
                    .map(|s| (s.key.to_string(), s.state))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Confirms or waives each hand-over, leaving two open.
async fn settle_handovers(w: &World, url: &str, runs: &[RunId]) {
    let http = reqwest::Client::new();
    for (i, run) in runs.iter().enumerate() {
        if left_open(i) {
            continue;
        }
        if waived(i) {
            passage(
                &w.config,
                &[
                    "waive",
                    run.as_str(),
                    HANDOVER,
                    "--reason",
                    "manager left the company; IT moved the files",
                    "--actor",
                    "it-lead",
                ],
            );
            continue;
        }
        let body = json!({"item": "handover", "outcome": "handed_over"});
        confirm(&http, url, run, &body).await;
    }
}

async fn confirm(http: &reqwest::Client, url: &str, run: &RunId, body: &Value) {
    let r = http
        .post(format!(
            "{url}/v1/operator/tenants/{TENANT}/runs/{run}/steps/{HANDOVER}/confirm"
        ))
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert!(status.is_success(), "confirm {run}: {status}: {text}");
}

async fn wait_closed(store: &SqliteStore, runs: &[RunId]) {
    let deadline = Instant::now() + Duration::from_secs(120);
    for (i, run) in runs.iter().enumerate().filter(|(i, _)| !left_open(*i)) {
        loop {
            let r = store.run(run).await.unwrap().unwrap();
            if r.state == RunState::Closed {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "leaver {i} ({run}) is {:?}",
                r.state
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// `extra`'s command, the period's arguments, then the rest of `extra`.
fn with_period<'a>(period: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    let mut a: Vec<&str> = extra[..1].to_vec();
    a.extend(period.iter().map(String::as_str));
    a.extend(&extra[1..]);
    a
}

fn period_args(from: &str, to: &str) -> Vec<String> {
    ["--tenant", TENANT, "--from", from, "--to", to]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_leavers_make_a_period_report_an_auditor_can_check() {
    let w = world().await;
    let server = serve(&w.config);
    terminate_in_hr(&w).await;
    let runs = post_leavers(&w, &server.url).await;
    let store = store(&w);
    wait_for_handover(&store, &runs).await;
    settle_handovers(&w, &server.url, &runs).await;
    wait_closed(&store, &runs).await;
    let (from, to) = (
        (today() - jiff::Span::new().days(7)).to_string(),
        (today() + jiff::Span::new().days(1)).to_string(),
    );
    let args = period_args(&from, &to);
    let report = json_of(&passage(
        &w.config,
        &with_period(&args, &["report", "--format", "json"]),
    ));
    check_rows(&w, &report, &runs);
    check_statistics(&store, &report, &runs).await;
    check_oscal(&json_of(&passage(
        &w.config,
        &with_period(&args, &["report", "--format", "oscal"]),
    )));
    let csv = passage(
        &w.config,
        &with_period(&args, &["report", "--format", "csv"]),
    );
    let csv = String::from_utf8(csv.stdout).unwrap();
    for run in &runs {
        assert!(csv.contains(run.as_str()), "{run} in the CSV");
    }

    let out = w.dir.join("signed");
    passage(
        &w.config,
        &with_period(&args, &["report", "--out", out.to_str().unwrap()]),
    );
    let verified = passage(&w.config, &["verify", out.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&verified.stdout);
    assert!(said.contains("period report"), "{said}");
    check_pages(&out, &runs);

    let sample = json_of(&passage(
        &w.config,
        &with_period(
            &args,
            &[
                "sample",
                "--seed",
                SEED,
                "--size",
                &SIZE.to_string(),
                "--json",
            ],
        ),
    ));
    let drawn: Vec<String> = sample["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["run_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(drawn.len(), SIZE);
    assert_eq!(
        sample["population"]["sha256"],
        report["population"]["sha256"]
    );
    assert_eq!(
        run_doc_sample(&out),
        drawn,
        "docs/auditor.md recomputes the sample"
    );

    let link = passage(&w.config, &with_period(&args, &["link"]));
    let link = String::from_utf8(link.stdout).unwrap();
    let path = &link.trim()[link.find("/v1/").unwrap()..];
    let link = format!("{}{path}", server.url);
    assert_eq!(run_readme_path(&w.dir, &link), drawn, "the README's path");

    let audit = json_of(&passage(
        &w.config,
        &["audit", "--tenant", TENANT, "--json"],
    ));
    check_audit(&audit);

    drop(server);
    w.okta.shutdown().await;
    w.hr.shutdown().await;
    let _ = std::fs::remove_dir_all(&w.dir);
}

fn rows_by_run(report: &Value) -> BTreeMap<String, &Value> {
    report["leavers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["run_id"].as_str().unwrap().to_owned(), l))
        .collect()
}

/// Every leaver listed, the late ones breached, exceptions with who and why, the missing
/// leaver named.
fn check_rows(w: &World, report: &Value, runs: &[RunId]) {
    let rows = rows_by_run(report);
    assert_eq!(rows.len(), LEAVERS, "{report:#}");
    for (i, run) in runs.iter().enumerate() {
        let row = rows[run.as_str()];
        assert_eq!(row["employee_id"], w.ids[i].as_str());
        let want = if late(i) { "breached" } else { "met" };
        assert_eq!(row["sla"], want, "leaver {i}: {row:#}");
        assert_eq!(row["systems"][0]["system"], "okta");
        assert_eq!(row["systems"][0]["sla"], want);
        let kinds: Vec<&str> = row["exceptions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["kind"].as_str().unwrap())
            .collect();
        if waived(i) {
            let e = &row["exceptions"][0];
            assert_eq!(kinds, ["waiver"], "{row:#}");
            assert!(e["actor"].as_str().unwrap().contains("it-lead"), "{e}");
            assert_eq!(e["reason"], "manager left the company; IT moved the files");
        } else {
            assert!(kinds.is_empty(), "leaver {i}: {kinds:?}");
        }
        assert_eq!(row["bundle"].is_object(), !left_open(i), "leaver {i}");
    }
    let c = &report["completeness"];
    assert_eq!(c["status"], "checked", "{c:#}");
    assert_eq!(c["source"], "bamboohr");
    assert_eq!(c["hr_count"], LEAVERS + 1);
    assert_eq!(c["matched"], LEAVERS);
    let missing = c["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 1, "{c:#}");
    assert_eq!(missing[0]["employee_id"], w.ids[LEAVERS].as_str());
    assert_eq!(missing[0]["email"], login(LEAVERS));
    assert!(c["extra"].as_array().unwrap().is_empty(), "{c:#}");
}

/// Nearest-rank p50/p95/max, breaches and open runs, recomputed from the runs' own cutoffs and
/// the read-back times of their steps in the store.
async fn check_statistics(store: &SqliteStore, report: &Value, runs: &[RunId]) {
    let rows = rows_by_run(report);
    let mut delays = Vec::new();
    let mut breaches = 0;
    for run in runs {
        let r = store.run(run).await.unwrap().unwrap();
        let row = rows[run.as_str()];
        let steps = store.steps(run).await.unwrap();
        let removal: BTreeSet<&str> = row["systems"][0]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        assert!(removal.contains("okta.suspend"), "{removal:?}");
        let removed = steps
            .iter()
            .filter(|s| removal.contains(s.key.as_str()))
            .map(|s| s.verified_at.unwrap())
            .max()
            .unwrap();
        let delay = removed.duration_since(r.cutoff.at).as_secs();
        assert_eq!(row["delay_seconds"], delay, "{run}");
        if delay > 3600 {
            breaches += 1;
        }
        delays.push(delay);
    }
    delays.sort_unstable();
    let s = &report["statistics"];
    for stats in [&s["overall"], &s["systems"][0]] {
        assert_eq!(stats["leavers"], LEAVERS);
        assert_eq!(stats["removed"], LEAVERS);
        assert_eq!(stats["p50_seconds"], nearest_rank(&delays, 50).unwrap());
        assert_eq!(stats["p95_seconds"], nearest_rank(&delays, 95).unwrap());
        assert_eq!(stats["max_seconds"], *delays.last().unwrap());
        assert_eq!(stats["breaches"], breaches);
        assert_eq!(stats["breach_share"], breaches as f64 / LEAVERS as f64);
        assert_eq!(stats["pending"], 0);
    }
    assert_eq!(breaches, (0..LEAVERS).filter(|i| late(*i)).count());
    assert_eq!(s["leavers"], LEAVERS);
    assert_eq!(
        s["open_runs"],
        (0..LEAVERS).filter(|i| left_open(*i)).count()
    );
    // By hand, too: p50 is the 15th of 30 delays, p95 the 29th.
    assert_eq!(s["overall"]["p50_seconds"], delays[14]);
    assert_eq!(s["overall"]["p95_seconds"], delays[28]);
}

/// The export validates against NIST's OSCAL schema, with a finding for each breach and
/// exception and one for the missing leaver.
fn check_oscal(doc: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/specs/oscal/oscal_assessment-results_schema_v1.0.6.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "OSCAL schema not found at {} (the project's shared/specs/oscal, beside the \
             repository root): {e}",
            path.display()
        )
    }))
    .unwrap();
    let validator = jsonschema::draft7::new(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let result = &doc["assessment-results"]["results"][0];
    let findings = result["findings"].as_array().unwrap();
    let text = serde_json::to_string(findings).unwrap();
    assert!(!findings.is_empty());
    assert!(text.contains("waiver") || text.contains("waived"), "{text}");
    assert!(result["observations"].as_array().unwrap().len() >= LEAVERS);
    let resources = doc["assessment-results"]["back-matter"]["resources"]
        .as_array()
        .unwrap();
    assert!(resources.len() >= LEAVERS - 2, "a resource per bundle");
}

/// The signed directory holds the page people read and its PDF; the PDF's text names the
/// tenant, a breach, a waiver and the missing leaver, and its first page renders.
fn check_pages(out: &Path, runs: &[RunId]) {
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for (i, run) in runs.iter().enumerate() {
        assert!(html.contains(&login(i)), "{run}'s leaver in report.html");
    }
    assert!(
        html.contains(&login(LEAVERS)),
        "the missing leaver in report.html"
    );
    if !out.join("report.pdf").exists() {
        eprintln!(
            "\n\n!!!!! SKIPPED: no Chromium on this machine, so no report.pdf to check. \
             scripts/test installs Debian's `chromium`; install it to run this part. !!!!!\n\n"
        );
        return;
    }
    let text = Command::new("pdftotext")
        .arg("-layout")
        .arg(out.join("report.pdf"))
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils; scripts/test installs it)");
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout);
    for want in [
        TENANT,
        "breached",
        &login(LEAVERS),
        "manager left the company",
    ] {
        assert!(text.contains(want), "{want:?} in the PDF's text:\n{text}");
    }
    let png = out.parent().unwrap().join("page-1");
    let rendered = Command::new("pdftoppm")
        .args(["-png", "-r", "50", "-f", "1", "-l", "1", "-singlefile"])
        .arg(out.join("report.pdf"))
        .arg(&png)
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(rendered.success());
    let image = std::fs::read(out.parent().unwrap().join("page-1.png")).unwrap();
    assert!(image.starts_with(b"\x89PNG") && image.len() > 1000);
}

/// The lines of every ```sh block of `doc`, in order.
fn sh_blocks(doc: &str) -> String {
    let mut script = String::from("set -euo pipefail\n");
    let mut inside = false;
    for line in doc.lines() {
        match (inside, line.trim_end()) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, l) => {
                script.push_str(l);
                script.push('\n');
            }
            _ => {}
        }
    }
    script
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

fn bash(script: &str, dir: &Path, env: &[(&str, &str)]) -> String {
    let passage_dir = Path::new(env!("CARGO_BIN_EXE_passage")).parent().unwrap();
    let path = format!(
        "{}:{}",
        passage_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("/bin/bash")
        .args(["-c", script])
        .current_dir(dir)
        .env("PATH", path)
        .envs(env.iter().copied())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{script}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// docs/auditor.md's sample procedure, run literally in the signed report's directory.
fn run_doc_sample(report_dir: &Path) -> Vec<String> {
    let doc = repo_file("docs/auditor.md");
    let (_, procedure) = doc
        .split_once("## 3. The sample")
        .expect("docs/auditor.md has its sample section");
    let out = bash(
        &sh_blocks(procedure),
        report_dir,
        &[("SEED", SEED), ("SIZE", &SIZE.to_string())],
    );
    assert!(out.starts_with("population OK: 30 leavers\n"), "{out}");
    let _ = std::fs::remove_file(report_dir.join("sample.txt"));
    out.lines().skip(1).map(str::to_owned).collect()
}

/// The README's auditor path, run literally from a fresh directory: fetch, verify, sample.
fn run_readme_path(dir: &Path, link: &str) -> Vec<String> {
    let readme = repo_file("README.md");
    let (_, section) = readme
        .split_once("## An auditor's period")
        .expect("the README has the auditor's path");
    let section = section.split("\n## ").next().unwrap();
    let work = dir.join("auditor");
    std::fs::create_dir_all(&work).unwrap();
    let out = bash(
        &sh_blocks(section),
        &work,
        &[("LINK", link), ("SEED", SEED), ("SIZE", &SIZE.to_string())],
    );
    assert!(out.contains("period report"), "{out}");
    assert!(out.contains("chain OK"), "{out}");
    assert!(
        !out.contains("WARNING"),
        "verified against trusted keys: {out}"
    );
    let sample: Vec<String> = out.lines().rev().take(SIZE).map(str::to_owned).collect();
    sample.into_iter().rev().collect()
}

/// The link's issue and the fetches through it are in the audit log.
fn check_audit(events: &Value) {
    let events = events.as_array().unwrap();
    let issued = events
        .iter()
        .find(|e| e["kind"] == "link.issued" && e["detail"]["scope"] == "period")
        .unwrap_or_else(|| panic!("no period link issue in {events:#?}"));
    assert!(issued["actor"].as_str().unwrap().starts_with("cli:"));
    let link = format!("link:{}", issued["detail"]["link"].as_str().unwrap());
    let fetched = events
        .iter()
        .filter(|e| e["kind"] == "link.fetched" && e["actor"] == link.as_str())
        .count();
    assert!(fetched >= 1, "the archive fetch is recorded: {events:#?}");
}

#[test]
fn the_demo_writes_its_period_report_as_html_and_pdf() {
    let dir = std::env::temp_dir().join(format!("passage-demo-{}", uuid::Uuid::new_v4().simple()));
    let out = Command::new(env!("CARGO_BIN_EXE_passage"))
        .args([
            "demo",
            "--okta-only",
            "--latency-ms",
            "0",
            "--cutoff-in",
            "1",
            "--out",
        ])
        .arg(&dir)
        .env("PASSAGE_LOG", "warn")
        .output()
        .expect("passage demo runs");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("report-")
        })
        .unwrap_or_else(|| panic!("no report directory beside the bundle: {said}"));
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        html.contains("jane.doe@example.com"),
        "the demo leaver in the page"
    );
    let verified = Command::new(env!("CARGO_BIN_EXE_passage"))
        .arg("verify")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stdout)
    );
    if report.join("report.pdf").exists() {
        let text = Command::new("pdftotext")
            .arg(report.join("report.pdf"))
            .arg("-")
            .output()
            .expect("pdftotext (poppler-utils)");
        assert!(String::from_utf8_lossy(&text.stdout).contains("jane.doe@example.com"));
    } else {
        eprintln!(
            "\n\n!!!!! SKIPPED: no Chromium on this machine, so the demo printed no report.pdf. \
             scripts/test installs Debian's `chromium`. !!!!!\n\n"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
