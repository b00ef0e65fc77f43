//! The operator commands as an operator runs them: `passage reschedule` into the past is refused
//! unless the operator says `--now`.

use crate::common;
use std::path::Path;
use std::process::{Command, Output};

fn passage(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_passage"))
        .arg("--config")
        .arg(config)
        .args(args)
        .env("PASSAGE_LOG", "warn")
        .output()
        .expect("passage runs")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The run's cutoff as `passage runs show --json` reports it.
fn cutoff_of(config: &Path, run: &str) -> jiff::Timestamp {
    let out = passage(config, &["runs", "show", run, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at = v["run"]["cutoff"]["at"]
        .as_str()
        .unwrap_or_else(|| panic!("no cutoff in {v}"));
    at.parse().unwrap()
}

#[test]
fn rescheduling_into_the_past_needs_now() {
    let dir = std::env::temp_dir().join(format!(
        "passage-operator-cli-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let config = common::one_tenant_config(&dir, "");
    let today = jiff::Zoned::now().date();
    let later = (today + jiff::Span::new().days(20)).to_string();
    let started = passage(
        &config,
        &[
            "start",
            "--tenant",
            "demo",
            "--employee-id",
            "E7",
            "--email",
            "jane@example.com",
            "--last-day",
            &later,
        ],
    );
    assert!(started.status.success(), "{}", text(&started));
    let out = String::from_utf8_lossy(&started.stdout).into_owned();
    let run = out.split_whitespace().next().unwrap().to_owned();
    let scheduled = cutoff_of(&config, &run);

    let yesterday = (today - jiff::Span::new().days(1)).to_string();
    let an_hour_ago = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)).to_string();
    for past in [["--last-day", &yesterday], ["--at", &an_hour_ago]] {
        let refused = passage(
            &config,
            &["reschedule", &run, past[0], past[1], "--reason", "moved"],
        );
        assert!(!refused.status.success(), "{past:?}: {}", text(&refused));
        let said = text(&refused);
        assert!(
            said.contains("in the past") && said.contains("--now"),
            "{past:?}: the refusal says how to cut now: {said}"
        );
        assert_eq!(
            cutoff_of(&config, &run),
            scheduled,
            "{past:?}: the run kept its cutoff"
        );
    }

    let moved = passage(
        &config,
        &["reschedule", &run, "--now", "--reason", "escorted out"],
    );
    assert!(moved.status.success(), "{}", text(&moved));
    assert!(cutoff_of(&config, &run) <= jiff::Timestamp::now());
    let _ = std::fs::remove_dir_all(&dir);
}
