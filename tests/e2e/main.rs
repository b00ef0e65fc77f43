//! End-to-end suites: the passage binary, the embedded host and the AWS path (on moto) against the sandbox emulators over real HTTP.
//!
//! One test binary for the crate (modules inside), so the suite links once.

mod auditor_links;
mod aws_e2e;
mod aws_hr_operator;
mod aws_scale;
mod aws_tenants;
mod common;
mod crash_recovery;
mod faults;
mod hr_changes;
mod hr_webhooks;
mod human_steps;
mod intake_errors;
mod isolation;
mod lifecycle;
mod tamper;
mod time_policy;
