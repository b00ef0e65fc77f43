//! Sign-in logs read over real HTTP: every page is followed, and a read that a failing page
//! cut short says so instead of passing for "no sign-in".

use crate::common;
use passage_connectors::microsoft::{MicrosoftConnector, MicrosoftCredential};
use passage_core::ports::SignInLog;
use passage_core::{DeviceAction, Subject};
use passage_sandbox::microsoft::{
    AppCredential, DEMO_LEAVER, MicrosoftConfig, MicrosoftEmulator, SIGN_IN_PAGE, SignInSpec,
    demo_seed,
};
use std::time::Duration;

const CLIENT_ID: &str = "5a1e2b3c-4d5e-6f70-8192-a3b4c5d6e7f8";

fn leaver() -> Subject {
    Subject {
        employee_id: "E1".into(),
        email: DEMO_LEAVER.into(),
        display_name: None,
        time_zone: "UTC".into(),
        manager: None,
    }
}

async fn entra() -> (MicrosoftEmulator, MicrosoftConnector) {
    let ms = MicrosoftEmulator::start(MicrosoftConfig::default())
        .await
        .unwrap();
    demo_seed(&ms);
    ms.register_app(CLIENT_ID, AppCredential::Secret("s3cret".into()));
    let settings = common::microsoft_settings(
        &ms,
        CLIENT_ID,
        MicrosoftCredential::Secret(passage_core::secret::Secret::new("s3cret")),
        common::microsoft_policy(DeviceAction::Retire),
    );
    let connector = MicrosoftConnector::new(settings, passage_connectors::http::client());
    (ms, connector)
}

#[tokio::test]
async fn entra_sign_ins_are_read_across_pages_and_a_failed_page_leaves_the_read_incomplete() {
    let (ms, connector) = entra().await;
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    let entries = SIGN_IN_PAGE + 2;
    for i in 0..entries {
        let at = since + jiff::SignedDuration::from_secs(i as i64 + 1);
        let spec = if i == 0 {
            SignInSpec::success(at)
        } else {
            SignInSpec::failure(at)
        };
        ms.inject_sign_in(DEMO_LEAVER, spec).unwrap();
    }
    // Entra lists the newest first: the one success is on the last page.
    let read = connector.sign_ins(&leaver(), since).await.unwrap();
    assert!(read.complete, "{:?}", read.stopped);
    assert_eq!(read.sign_ins.len(), entries);
    assert_eq!(read.sign_ins.iter().filter(|s| s.success).count(), 1);
    let pages = read
        .calls
        .iter()
        .filter(|c| c.path.contains("signIns"))
        .count();
    assert_eq!(pages, 2, "the second page was followed");

    // Throttled on the second page (the user and the first page use the minute's budget):
    // what was read comes back, marked incomplete, without the success on the page not read.
    ms.knobs().set_rate_limit_per_minute(2);
    ms.reset_rate_limit();
    let read = connector.sign_ins(&leaver(), since).await.unwrap();
    ms.knobs().set_rate_limit_per_minute(10_000);
    ms.reset_rate_limit();
    assert!(
        !read.complete,
        "a failed page must not read as the end of the log"
    );
    assert_eq!(read.sign_ins.len(), SIGN_IN_PAGE, "the first page was kept");
    assert!(read.stopped.is_some());
    assert!(
        read.sign_ins.iter().all(|s| !s.success),
        "{:?}",
        read.sign_ins
    );

    // A sign-in that has not reached the log yet is not there; once it has, it is.
    let mut late = SignInSpec::success(jiff::Timestamp::now());
    late.ingestion_delay = Duration::from_millis(400);
    let (id, _) = ms.inject_sign_in(DEMO_LEAVER, late).unwrap();
    let read = connector.sign_ins(&leaver(), since).await.unwrap();
    assert!(read.sign_ins.iter().all(|s| s.event_id != id));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let read = connector.sign_ins(&leaver(), since).await.unwrap();
    assert!(read.sign_ins.iter().any(|s| s.event_id == id && s.success));
}
