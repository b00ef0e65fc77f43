//! End-to-end suites: the passage binary, the embedded host and the AWS path (on moto) against the sandbox emulators over real HTTP.
//!
//! One test binary for the crate (modules inside), so the suite links once.

mod access_grades;
mod alerts;
mod auditor_links;
mod aws_e2e;
mod aws_hr_operator;
mod aws_scale;
mod aws_tenants;
mod chaos;
mod common;
mod console;
mod crash_recovery;
mod data_dir;
mod faults;
mod first_run;
mod go_live_guard;
mod hr_changes;
mod hr_webhooks;
mod http_limits;
mod human_steps;
mod intake_errors;
mod isolation;
mod keys;
mod lifecycle;
mod not_applicable;
mod operations;
mod operator_cli;
mod pacing;
mod period_report;
mod plan_preview;
mod restore;
mod saas_seats;
mod serve_ops;
mod shared_sweep;
mod sign_in_watch;
mod tamper;
mod time_policy;
