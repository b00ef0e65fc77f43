//! Helpers shared by the HR client tests: dates relative to today, and HMACs computed by the
//! `openssl` command line, independently of the Rust code under test.

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
