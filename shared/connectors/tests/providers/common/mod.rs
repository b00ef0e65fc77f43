//! Set-ups the connector suites share: one signing key per test binary, and the settings each
//! provider's connector is built from against its emulator.

#![allow(dead_code)]

pub mod saas;

use passage_connectors::google::GoogleSettings;
use passage_connectors::jumpcloud::{JumpCloudCredential, JumpCloudSettings};
use passage_connectors::microsoft::{MicrosoftCredential, MicrosoftSettings};
use passage_core::PendingOperation;
use passage_core::ports::{ActionOutcome, ActionPending, ActionReport, ActionRequest, Connector};
use passage_core::secret::Secret;
use passage_core::{Action, DeviceAction, GooglePolicy, JumpCloudPolicy, MicrosoftPolicy};
use passage_sandbox::google::GoogleEmulator;
use passage_sandbox::jumpcloud::JumpCloudEmulator;
use passage_sandbox::microsoft::MicrosoftEmulator;
use std::sync::OnceLock;

/// The operation a step keeps from a pending answer, as the engine hands it to the next poll.
pub fn operation(pending: &ActionPending) -> PendingOperation {
    let now = jiff::Timestamp::now();
    PendingOperation {
        code: pending.code.clone(),
        what: pending.what.clone(),
        since: now,
        deadline: now + jiff::SignedDuration::try_from(pending.deadline).unwrap(),
    }
}

/// Executes `request` as the engine polls a step: while the provider reports the operation
/// pending, asks again (telling the connector what it saw), at most `polls` times. Returns the
/// last outcome with every call made.
pub async fn execute_polling(
    connector: &dyn Connector,
    request: &ActionRequest,
    polls: usize,
) -> ActionReport {
    let mut request = request.clone();
    let mut calls = Vec::new();
    for _ in 0..polls {
        let report = connector.execute(&request).await;
        calls.extend(report.calls);
        match report.outcome {
            ActionOutcome::Pending(pending) => request.operation = Some(operation(&pending)),
            outcome => return ActionReport { outcome, calls },
        }
    }
    panic!("{} still pending after {polls} polls", request.step_key)
}

/// One RSA key per test binary for every signing credential (2048-bit keygen is slow
/// unoptimised): (private PKCS#8 PEM, public SPKI PEM).
pub fn rsa_key() -> &'static (String, String) {
    static KEY: OnceLock<(String, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        (
            key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            key.to_public_key()
                .to_public_key_pem(LineEnding::LF)
                .unwrap(),
        )
    })
}

/// Every Microsoft action, in an order the planner's rules allow.
pub const MICROSOFT_PLAN: [Action; 10] = [
    Action::Snapshot,
    Action::Suspend,
    Action::RevokeSessions,
    Action::ResetFactors,
    Action::RemoveGroups,
    Action::SetAutoReply,
    Action::ForwardMail,
    Action::SecureDevices,
    Action::ConvertMailbox,
    Action::RemoveLicenses,
];

/// Every Google action, in an order the planner's rules allow (Gmail settings before suspend).
pub const GOOGLE_PLAN: [Action; 11] = [
    Action::Snapshot,
    Action::DelegateMailbox,
    Action::ForwardMail,
    Action::SetAutoReply,
    Action::TransferData,
    Action::Suspend,
    Action::RevokeSessions,
    Action::RevokeGrants,
    Action::RemoveGroups,
    Action::SecureDevices,
    Action::RemoveLicenses,
];

/// Every JumpCloud action, in plan order.
pub const JUMPCLOUD_PLAN: [Action; 4] = [
    Action::Snapshot,
    Action::Suspend,
    Action::RemoveGroups,
    Action::SecureDevices,
];

/// The reply the demo policies set while the leaver is away.
pub const AUTO_REPLY: &str = "Jane has left; please write to Sam.";

/// Microsoft with every login, Graph and Exchange call going to the emulator.
pub fn microsoft_settings(
    ms: &MicrosoftEmulator,
    client_id: &str,
    credential: MicrosoftCredential,
    policy: MicrosoftPolicy,
) -> MicrosoftSettings {
    let base = url::Url::parse(&ms.base_url()).unwrap();
    MicrosoftSettings {
        cloud: passage_connectors::microsoft::Cloud::Global,
        login_url: base.clone(),
        graph_url: base.clone(),
        exchange_url: base,
        tenant_id: ms.tenant_id(),
        client_id: client_id.into(),
        credential,
        policy,
    }
}

/// Every Microsoft action on, devices as given.
pub fn microsoft_policy(devices: DeviceAction) -> MicrosoftPolicy {
    MicrosoftPolicy {
        reset_factors: true,
        auto_reply: Some(AUTO_REPLY.into()),
        forward_to_delegate: true,
        convert_mailbox: true,
        remove_licenses: true,
        devices,
        mailbox_critical: false,
    }
}

/// The Google service account the suites register with the emulator.
pub const GOOGLE_SA_EMAIL: &str = "offboarder@passage-test.iam.gserviceaccount.com";
pub const GOOGLE_SA_CLIENT_ID: &str = "104729305811209384756";
pub const GOOGLE_KEY_ID: &str = "5f1c0d8a2b";

/// Registers the service account (signing with [`rsa_key`]) with delegated `scopes`.
pub fn register_google_service_account(google: &GoogleEmulator, scopes: &[&str]) {
    google
        .register_service_account(
            GOOGLE_SA_EMAIL,
            GOOGLE_SA_CLIENT_ID,
            &rsa_key().1,
            GOOGLE_KEY_ID,
            scopes,
        )
        .unwrap();
}

/// Google with every API and the token endpoint on the emulator.
pub fn google_settings(google: &GoogleEmulator, policy: GooglePolicy) -> GoogleSettings {
    GoogleSettings {
        api_base: url::Url::parse(&google.base_url()).unwrap(),
        licensing_base: None,
        gmail_base: None,
        drive_base: None,
        token_url: url::Url::parse(&google.token_url()).unwrap(),
        service_account_email: GOOGLE_SA_EMAIL.into(),
        private_key: Secret::new(rsa_key().0.clone()),
        key_id: GOOGLE_KEY_ID.into(),
        admin_subject: google.admin_email(),
        customer_id: "my_customer".into(),
        license_skus: Vec::new(),
        policy,
    }
}

/// Every Google action on, devices as given.
pub fn google_policy(devices: DeviceAction) -> GooglePolicy {
    GooglePolicy {
        delegate_mailbox: true,
        forward_to_delegate: true,
        vacation_reply: Some(AUTO_REPLY.into()),
        transfer_data: true,
        release_licenses: true,
        devices,
        mailbox_critical: false,
    }
}

/// JumpCloud on the emulator (token endpoint included).
pub fn jumpcloud_settings(
    jc: &JumpCloudEmulator,
    credential: JumpCloudCredential,
    org_id: Option<String>,
    devices: DeviceAction,
) -> JumpCloudSettings {
    JumpCloudSettings {
        base_url: url::Url::parse(&jc.base_url()).unwrap(),
        token_url: Some(url::Url::parse(&jc.token_url()).unwrap()),
        credential,
        org_id,
        policy: JumpCloudPolicy { devices },
    }
}
