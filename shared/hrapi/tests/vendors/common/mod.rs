//! Helpers shared by the HR client tests: dates relative to today, HMACs computed by the
//! `openssl` command line independently of the Rust code under test, and the checks every
//! vendor's client must pass the same way.

#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan, tz::TimeZone};

/// Today (UTC) shifted by `days`.
pub fn in_days(days: i64) -> Date {
    Timestamp::now()
        .to_zoned(TimeZone::UTC)
        .date()
        .checked_add(days.days())
        .unwrap()
}

/// `openssl dgst -<alg> -hmac <key> -binary` over `data`.
pub fn openssl_hmac(alg: &str, key: &str, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args(["dgst", &format!("-{alg}"), "-hmac", key, "-binary"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl failed");
    out.stdout
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `openssl dgst -<alg> -mac HMAC -macopt hexkey:<key>` over `data`, for binary keys.
pub fn openssl_hmac_hexkey(alg: &str, hex_key: &str, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new("openssl")
        .args([
            "dgst",
            &format!("-{alg}"),
            "-mac",
            "HMAC",
            "-macopt",
            &format!("hexkey:{hex_key}"),
            "-binary",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "openssl failed");
    out.stdout
}

use passage_core::ports::{HrError, HrRecord, HrSource};
use passage_sandbox::hr::{DemoPeople, Directory, Faults, NewEmployee, Termination};
use std::collections::BTreeSet;

/// A client holding wrong credentials is refused as `Denied`, and the error does not repeat
/// them.
pub async fn wrong_credentials_are_denied(wrong: &dyn HrSource, leaver: &str, credential: &str) {
    let err = wrong.employee(leaver).await.unwrap_err();
    assert!(matches!(err, HrError::Denied(_)), "{err}");
    assert!(!err.to_string().contains(credential), "{err}");
}

/// Throttling surfaces as `Unavailable` naming the vendor's wait, the next call succeeds, and
/// a `status` (5xx) answer is `Unavailable` too.
pub async fn throttling_and_failures_are_unavailable(
    hr: &dyn HrSource,
    faults: &Faults,
    leaver: &str,
    retry_after: u64,
    status: u16,
) {
    faults.set_retry_after(retry_after);
    faults.throttle_next(1);
    let err = hr.employee(leaver).await.unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("Retry-After {retry_after}s")),
        "{err}"
    );
    assert!(hr.employee(leaver).await.unwrap().is_some());
    faults.fail_next(status, 1);
    assert!(matches!(
        hr.terminations(in_days(0)).await,
        Err(HrError::Unavailable(_))
    ));
}

/// The demo leaver terminated in three days, `demo.ids[old]` long ago and `extra` more people
/// in the last week: `terminations(a week ago)` returns exactly the recent ones, across pages.
pub async fn recent_terminations_are_listed(
    hr: &dyn HrSource,
    directory: &Directory,
    demo: &DemoPeople,
    old: usize,
    extra: i64,
    prefix: &str,
) -> Vec<HrRecord> {
    directory.terminate(&demo.leaver_id, in_days(3)).unwrap();
    directory.terminate(&demo.ids[old], in_days(-30)).unwrap();
    let mut expected = BTreeSet::from([demo.leaver_id.clone()]);
    for n in 0..extra {
        let id = directory
            .seed(
                NewEmployee::new(
                    "Temp",
                    &format!("{prefix}{n}"),
                    &format!("t{prefix}{n}@example.com"),
                )
                .terminated(Termination::on(in_days(-n))),
            )
            .unwrap();
        expected.insert(id);
    }
    let found = hr.terminations(in_days(-7)).await.unwrap();
    let ids: BTreeSet<String> = found.iter().map(|r| r.employee_id.clone()).collect();
    assert_eq!(ids, expected);
    found
}

/// What [`lifecycle_is_read`] read, for each vendor's own further checks.
pub struct Lifecycle {
    pub active: HrRecord,
    pub terminated: HrRecord,
}

/// The demo leaver reads as active with her manager; terminated on `first`, as terminated on
/// that date; moved to `moved`, on the new date; rescinded, active with no date again.
pub async fn lifecycle_is_read(
    hr: &dyn HrSource,
    directory: &Directory,
    demo: &DemoPeople,
    first: Date,
    moved: Date,
) -> Lifecycle {
    use passage_core::ports::EmploymentStatus;
    use passage_sandbox::hr::{DEMO_LEAVER, DEMO_MANAGER};
    let read = async || hr.employee(&demo.leaver_id).await.unwrap().unwrap();
    let active = read().await;
    assert_eq!(active.employee_id, demo.leaver_id);
    assert_eq!(active.email, DEMO_LEAVER);
    assert_eq!(active.display_name.as_deref(), Some("Jane Doe"));
    assert_eq!(active.status, EmploymentStatus::Active);
    assert_eq!(active.termination_date, None);
    let manager = active.manager.clone().unwrap();
    assert_eq!(manager.email, DEMO_MANAGER);
    assert_eq!(
        manager.employee_id.as_deref(),
        Some(demo.manager_id.as_str())
    );

    directory.terminate(&demo.leaver_id, first).unwrap();
    let terminated = read().await;
    assert_eq!(terminated.status, EmploymentStatus::Terminated);
    assert_eq!(terminated.termination_date, Some(first));

    directory.move_termination(&demo.leaver_id, moved).unwrap();
    assert_eq!(read().await.termination_date, Some(moved));

    directory.rescind(&demo.leaver_id).unwrap();
    let rescinded = read().await;
    assert_eq!(rescinded.status, EmploymentStatus::Active);
    assert_eq!(rescinded.termination_date, None);
    Lifecycle { active, terminated }
}
