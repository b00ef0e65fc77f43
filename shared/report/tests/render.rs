//! The renderings of a small period: pages escape what they show and load nothing, the CSV has
//! a line per leaver and system, archives are deterministic, and Chromium prints the page to a
//! PDF whose text and first page are really there.

use jiff::civil::date;
use jiff::{SignedDuration, Timestamp};
use passage_core::cutoff::{Cutoff, Derivation};
use passage_core::ports::ChainHead;
use passage_core::report::{
    HrTerminations, Period, PeriodReport, ReportInput, RunRecord, build_report,
};
use passage_core::{
    RunId, RunSource, RunState, SlaPolicy, StepState, Subject, TenantId, TenantPolicy,
};
use passage_report::pdf::Chromium;
use std::process::Command;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn record(n: u32, cutoff: &str, email: &str, delay: SignedDuration) -> RunRecord {
    let cutoff = ts(cutoff);
    let id = RunId::new(format!("run_{n:04}"));
    let run = passage_core::Run {
        id: id.clone(),
        tenant: TenantId::new("acme"),
        version: 1,
        state: RunState::Closed,
        subject: Subject {
            employee_id: format!("E{n}"),
            email: email.into(),
            display_name: None,
            time_zone: "Europe/Berlin".into(),
            manager: None,
        },
        source: RunSource::Manual {
            actor: "it".into(),
            received_at: cutoff,
            note: None,
        },
        idempotency_key: format!("k{n}"),
        cutoff: Cutoff {
            at: cutoff,
            zone: "Europe/Berlin".into(),
            derivation: Derivation::Immediate,
        },
        early_at: None,
        created_at: cutoff,
        started_at: Some(cutoff),
        closed_at: Some(cutoff + delay),
        blocked_reason: None,
        hold: None,
        alerts: Vec::new(),
        cancellation: None,
        exceptions: Vec::new(),
        bundle: Some(passage_core::BundleRef {
            sequence: n as u64,
            manifest_sha256: format!("{n:064}"),
            location: String::new(),
        }),
        finalizing: None,
        sign_in_watch: None,
    };
    let mut steps = passage_core::plan::build(&id, &TenantPolicy::new("acme"), None).unwrap();
    for s in &mut steps {
        s.state = StepState::Verified;
        s.verified_at = Some(cutoff + delay);
    }
    RunRecord {
        run,
        steps,
        events: vec![],
    }
}

fn report(name: &str) -> PeriodReport {
    let runs = vec![
        record(
            1,
            "2026-03-02T16:00:00Z",
            "ann<b>@acme.example",
            SignedDuration::from_secs(95),
        ),
        record(
            2,
            "2026-03-09T16:00:00Z",
            "bo@acme.example",
            SignedDuration::from_hours(30),
        ),
    ];
    let hr = HrTerminations::Unavailable {
        reason: "no HR API <configured>".into(),
    };
    build_report(&ReportInput {
        tenant: "acme",
        tenant_name: name,
        period: Period::new(date(2026, 3, 1), date(2026, 3, 31)).unwrap(),
        sla: SlaPolicy::default(),
        runs: &runs,
        hr: &hr,
        chain_head: ChainHead::genesis(),
        generated_at: ts("2026-04-01T08:00:00Z"),
    })
}

#[test]
fn the_period_page_escapes_everything_and_loads_nothing() {
    let html = passage_report::html::period_page(&report("<script>alert(1)</script> & Co"));
    assert!(!html.contains("<script"), "a tenant name became markup");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"));
    assert!(html.contains("ann&lt;b&gt;@acme.example"));
    assert!(html.contains("no HR API &lt;configured&gt;"));
    for external in ["http://", "https://", "src=", "@import", "url("] {
        assert!(!html.contains(external), "the page refers to {external}");
    }
    assert!(html.contains("@media print") && html.contains("breached"));
}

#[test]
fn the_csv_has_a_line_per_leaver_and_system() {
    let csv = String::from_utf8(passage_report::csv::period_csv(&report("Acme")).unwrap()).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("run_id,employee_id,email,state,termination_date"));
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].contains(",okta,") && lines[1].contains(",95,met,"),
        "{}",
        lines[1]
    );
    assert!(lines[2].contains(",108000,breached,"), "{}", lines[2]);
}

#[test]
fn archives_are_deterministic_and_hold_every_file() {
    let mut files = passage_core::evidence::BundleFiles::new();
    files.insert("manifest.json", b"{}".to_vec()).unwrap();
    files
        .insert("evidence/okta/suspend.json", b"[1]".to_vec())
        .unwrap();
    let a =
        passage_report::tar_archive(&[("bundles/run_1".into(), &files)], 1_700_000_000).unwrap();
    let b =
        passage_report::tar_archive(&[("bundles/run_1".into(), &files)], 1_700_000_000).unwrap();
    assert_eq!(a, b);
    let mut archive = tar::Archive::new(a.as_slice());
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "bundles/run_1/evidence/okta/suspend.json",
            "bundles/run_1/manifest.json"
        ]
    );
}

/// Whether a tool the PDF checks need is installed; in CI a missing one is a failure.
fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("-v").output().is_ok();
    if !found && std::env::var_os("CI").is_some() {
        panic!("{tool} is not installed; scripts/test installs it");
    }
    found
}

#[test]
fn chromium_prints_the_page_to_a_pdf_with_its_text_and_a_non_blank_first_page() {
    let Some(chromium) = Chromium::find() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "Chromium is not installed; scripts/test installs it"
        );
        eprintln!("SKIPPED: no Chromium (install Debian's chromium package to run this test)");
        return;
    };
    if !have("pdftotext") || !have("pdftoppm") {
        eprintln!("SKIPPED: poppler-utils (pdftotext, pdftoppm) is not installed");
        return;
    }
    let html = passage_report::html::period_page(&report("Acme Print Co"));
    let pdf = chromium.print(html.as_bytes()).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let text = Command::new("pdftotext")
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Acme Print Co"), "{text}");
    assert!(text.contains("Statistics per system") && text.contains("bo@acme.example"));
    let png = dir.path().join("page");
    let status = Command::new("pdftoppm")
        .args(["-png", "-r", "40", "-f", "1", "-l", "1"])
        .arg(&file)
        .arg(&png)
        .status()
        .unwrap();
    assert!(status.success());
    let first = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("a PNG of the first page");
    assert!(non_blank(&std::fs::read(first).unwrap()));
}

/// True when a PNG's decoded pixels are not all one value (a blank page is uniform white).
fn non_blank(png: &[u8]) -> bool {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let pixels = &buf[..info.buffer_size()];
    let dark = pixels.iter().filter(|&&b| b < 128).count();
    dark > 100 && pixels.iter().any(|&b| b != pixels[0])
}
