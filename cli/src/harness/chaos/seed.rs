//! Leavers present in all four emulated providers, each with something to remove in every one,
//! so a chaos run exercises every connector's writes and read-backs.

use crate::commands::sandbox::Running;
use anyhow::{Context, Result};
use passage_sandbox::{google, jumpcloud, microsoft, okta};

/// The four emulated providers a leaver is seeded in.
pub struct Providers<'a> {
    pub okta: &'a okta::OktaEmulator,
    pub microsoft: &'a microsoft::MicrosoftEmulator,
    pub google: &'a google::GoogleEmulator,
    pub jumpcloud: &'a jumpcloud::JumpCloudEmulator,
}

impl<'a> Providers<'a> {
    /// The emulators `passage sandbox` started, when all four run.
    pub fn of(running: &'a Running) -> Result<Self> {
        Ok(Self {
            okta: running.okta().context("the Okta emulator runs")?,
            microsoft: running.microsoft().context("the Microsoft emulator runs")?,
            google: running.google().context("the Google emulator runs")?,
            jumpcloud: running.jumpcloud().context("the JumpCloud emulator runs")?,
        })
    }
}

/// The login of chaos leaver `i`, the same address in every provider.
pub fn login(i: usize) -> String {
    format!("chaos{i}@example.com")
}

/// Seeds leaver `i` in all four providers; the demo manager (already seeded) is the manager.
pub fn leaver(p: &Providers<'_>, i: usize) {
    let email = login(i);
    let last = format!("Leaver{i}");
    p.okta.seed_user(okta::SeedUser {
        groups: vec!["Engineering".into(), "VPN Users".into()],
        sessions: 1,
        grants: 1,
        ..okta::SeedUser::new(&email, "Chaos", &last)
    });
    p.microsoft.seed_user(microsoft::SeedUser {
        groups: vec!["Engineering".into()],
        licenses: vec!["SPE_E3".into()],
        methods: vec![microsoft::SeedMethod::new(
            microsoft::MethodKind::MicrosoftAuthenticator,
            "Phone",
        )],
        devices: vec![microsoft::SeedDevice::new(
            &format!("CHAOS-{i}"),
            "Windows",
            "Laptop",
        )],
        manager: Some(microsoft::DEMO_MANAGER.into()),
        ..microsoft::SeedUser::new(&email, &format!("Chaos {last}"))
    });
    p.google.seed_user(google::SeedUser {
        groups: vec!["engineering@example.com".into()],
        sessions: 1,
        drive_shared_files: 3,
        calendar_events: 2,
        ..google::SeedUser::new(&email, "Chaos", &last)
    });
    p.jumpcloud.seed_user(jumpcloud::SeedUser {
        groups: vec!["Engineering".into(), "VPN Users".into()],
        manager: Some(jumpcloud::DEMO_MANAGER.into()),
        ..jumpcloud::SeedUser::new(&email, "Chaos", &last)
    });
}
