//! The records the emulated domain is made of, and Google's id shapes.

use jiff::Timestamp;
use rand::Rng;

use crate::common::ids;

/// Product and SKU of the default Workspace licence
/// (`Google-Apps` / `1010020028`, Business Standard).
pub const PRODUCT_GOOGLE_APPS: &str = "Google-Apps";
/// Business Starter.
pub const SKU_BUSINESS_STARTER: &str = "1010020027";
/// Business Standard.
pub const SKU_BUSINESS_STANDARD: &str = "1010020028";
/// Business Plus.
pub const SKU_BUSINESS_PLUS: &str = "1010020025";
/// Enterprise Standard.
pub const SKU_ENTERPRISE_STANDARD: &str = "1010020026";
/// Enterprise Plus.
pub const SKU_ENTERPRISE_PLUS: &str = "1010020020";

/// Data Transfer application id of Drive and Docs.
pub const APP_DRIVE: &str = "55656082996";
/// Data Transfer application id of Calendar.
pub const APP_CALENDAR: &str = "435070579839";

/// Display names for the SKUs the emulator knows, as the Licensing API
/// reports them (`productName`, `skuName`).
pub(crate) fn sku_names<'a>(product_id: &str, sku_id: &str) -> Option<(&'a str, &'a str)> {
    if product_id != PRODUCT_GOOGLE_APPS {
        return None;
    }
    let sku = match sku_id {
        SKU_BUSINESS_STARTER => "Google Workspace Business Starter",
        SKU_BUSINESS_STANDARD => "Google Workspace Business Standard",
        SKU_BUSINESS_PLUS => "Google Workspace Business Plus",
        SKU_ENTERPRISE_STANDARD => "Google Workspace Enterprise Standard",
        SKU_ENTERPRISE_PLUS => "Google Workspace Enterprise Plus",
        _ => return None,
    };
    Some(("Google Workspace", sku))
}

/// A user of the domain.
#[derive(Clone, Debug)]
pub(crate) struct UserRecord {
    pub id: String,
    pub primary_email: String,
    pub aliases: Vec<String>,
    pub given_name: String,
    pub family_name: String,
    pub org_unit_path: String,
    pub is_admin: bool,
    pub suspended: bool,
    pub suspension_reason: Option<String>,
    pub archived: bool,
    pub change_password_at_next_login: bool,
    pub include_in_gal: bool,
    /// The user's OU assigns licences automatically, so the Licensing API
    /// refuses to remove them (412).
    pub auto_license: bool,
    pub creation_time: Timestamp,
    pub last_login_time: Option<Timestamp>,
    pub etag: String,
    pub sessions: u32,
    pub tokens: Vec<OAuthGrant>,
    pub asps: Vec<AspRecord>,
    pub backup_codes: Vec<String>,
    pub licenses: Vec<LicenseRecord>,
    pub drive_private_files: u32,
    pub drive_shared_files: u32,
    pub calendar_events: u32,
    pub mail: MailSettings,
}

impl UserRecord {
    /// Whether `key` names this user: primary address or alias
    /// (case-insensitive) or the numeric id.
    pub fn answers_to(&self, key: &str) -> bool {
        self.id == key
            || self.primary_email.eq_ignore_ascii_case(key)
            || self.aliases.iter().any(|a| a.eq_ignore_ascii_case(key))
    }

    /// Whether the user holds any Workspace licence, and with it a mailbox.
    pub fn has_mailbox(&self) -> bool {
        self.licenses
            .iter()
            .any(|l| l.product_id == PRODUCT_GOOGLE_APPS)
    }
}

/// An OAuth grant a user gave a third-party app (`tokens` resource).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct OAuthGrant {
    pub client_id: String,
    pub display_text: String,
    pub scopes: Vec<String>,
    pub native_app: bool,
    pub anonymous: bool,
}

/// An application-specific password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AspRecord {
    pub code_id: i32,
    pub name: String,
    pub creation_time_ms: i64,
    pub last_time_used_ms: i64,
}

/// One licence assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LicenseRecord {
    pub product_id: String,
    pub sku_id: String,
    /// Global assignment order, the key licence lists page on.
    pub seq: u64,
}

/// Gmail settings the offboarding run changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MailSettings {
    pub delegates: Vec<Delegate>,
    pub forwarding_addresses: Vec<ForwardingAddress>,
    pub auto_forwarding: AutoForwarding,
    pub vacation: Vacation,
}

/// A mail delegate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Delegate {
    pub email: String,
    pub verification_status: String,
}

/// A forwarding address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ForwardingAddress {
    pub email: String,
    pub verification_status: String,
    /// When a pending address is confirmed by its recipient, with long operations configured.
    pub verify_at: Option<Timestamp>,
}

/// `AutoForwarding`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct AutoForwarding {
    pub enabled: bool,
    pub email_address: Option<String>,
    pub disposition: Option<String>,
}

/// `VacationSettings`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Vacation {
    pub enable_auto_reply: bool,
    pub response_subject: Option<String>,
    pub response_body_plain_text: Option<String>,
    pub response_body_html: Option<String>,
    pub restrict_to_contacts: bool,
    pub restrict_to_domain: bool,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
}

/// A Google Group.
#[derive(Clone, Debug)]
pub(crate) struct GroupRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub description: String,
    pub etag: String,
    /// Direct user members, by user index, in join order.
    pub members: Vec<usize>,
    /// Members whose role is not `MEMBER` (`OWNER` or `MANAGER`), by user index.
    pub roles: Vec<(usize, String)>,
}

impl GroupRecord {
    /// A member's role as `members.list` spells it; `None` for a non-member.
    pub(crate) fn role_of(&self, user: usize) -> Option<&str> {
        if !self.members.contains(&user) {
            return None;
        }
        Some(
            self.roles
                .iter()
                .find(|(u, _)| *u == user)
                .map_or("MEMBER", |(_, r)| r.as_str()),
        )
    }

    /// Sets a member's role (`MEMBER` drops the entry).
    pub(crate) fn set_role(&mut self, user: usize, role: &str) {
        self.roles.retain(|(u, _)| *u != user);
        if role != "MEMBER" {
            self.roles.push((user, role.to_owned()));
        }
    }
}

/// A user-owned mobile device.
#[derive(Clone, Debug)]
pub(crate) struct DeviceRecord {
    pub resource_id: String,
    pub device_id: String,
    pub owner: usize,
    pub model: String,
    pub os: String,
    pub device_type: String,
    pub status: String,
    pub first_sync: Timestamp,
    pub last_sync: Timestamp,
    pub etag: String,
    /// A wipe in progress: the status it ends in, and when it last moved.
    pub pending: Option<(String, Timestamp)>,
    pub seq: u64,
}

/// Overall and per-application transfer status, as the Data Transfer API
/// spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferStatus {
    /// Accepted, not started.
    New,
    /// Moving data.
    InProgress,
    /// Done; ownership has moved.
    Completed,
}

impl TransferStatus {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::InProgress => "inProgress",
            Self::Completed => "completed",
        }
    }
}

/// One application inside a transfer.
#[derive(Clone, Debug)]
pub(crate) struct AppTransfer {
    pub application_id: String,
    pub params: Vec<(String, Vec<String>)>,
}

/// A data transfer request.
#[derive(Clone, Debug)]
pub(crate) struct TransferRecord {
    pub id: String,
    pub old_owner: usize,
    pub new_owner: usize,
    pub apps: Vec<AppTransfer>,
    pub status: TransferStatus,
    pub request_time: Timestamp,
    pub last_step: Timestamp,
    pub etag: String,
    pub seq: u64,
}

// ----- id shapes -----------------------------------------------------------

/// A 21-digit numeric user id, as the Directory API mints them.
pub(crate) fn user_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut id = String::from("1");
    for _ in 0..20 {
        id.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    id
}

/// A 15-character group id (`00gjdgxs2los8l8`).
pub(crate) fn group_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("0{}", lower_alnum(rng, 14))
}

/// A customer id (`C03az79cb`).
pub(crate) fn customer_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("C0{}", lower_alnum(rng, 7))
}

/// A 12-digit Cloud project number.
pub(crate) fn project_number<R: Rng + ?Sized>(rng: &mut R) -> String {
    let mut n = String::from(char::from(b'1' + rng.gen_range(0..9u8)));
    for _ in 0..11 {
        n.push(char::from(b'0' + rng.gen_range(0..10u8)));
    }
    n
}

/// A mobile device `resourceId`.
pub(crate) fn device_resource_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("AFiQxQ8{}", ids::url_safe(rng, 41))
}

/// A data transfer id.
pub(crate) fn transfer_id<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("AKrEtI{}", ids::alnum(rng, 42))
}

/// A quoted ETag (`"nLmZ9Mvt…/aB3…"`).
pub(crate) fn etag<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("\"{}/{}\"", ids::url_safe(rng, 27), ids::url_safe(rng, 27))
}

/// An access token shaped like a service-account token (`ya29.c.…`).
pub(crate) fn access_token() -> String {
    format!("ya29.c.{}", ids::url_safe(&mut rand::thread_rng(), 160))
}

/// An 8-digit backup verification code.
pub(crate) fn backup_code<R: Rng + ?Sized>(rng: &mut R) -> String {
    format!("{:08}", rng.gen_range(0..100_000_000u32))
}

fn lower_alnum<R: Rng + ?Sized>(rng: &mut R, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect()
}

/// A quoted ETag derived from content, so unchanged resources and lists
/// keep the same ETag across reads.
pub(crate) fn content_etag(content: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(content.as_bytes());
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    format!("\"{}\"", &encoded[..27])
}
