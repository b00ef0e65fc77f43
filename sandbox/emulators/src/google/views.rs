//! Read-only snapshots of domain data for tests and demos, so assertions
//! do not depend on the JSON wire format.

use crate::google::model::TransferStatus;

/// A user as the emulator currently holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    /// Numeric id.
    pub id: String,
    /// `primaryEmail`.
    pub primary_email: String,
    /// Alias addresses.
    pub aliases: Vec<String>,
    /// `orgUnitPath`.
    pub org_unit_path: String,
    /// Super administrator.
    pub is_admin: bool,
    /// `suspended`.
    pub suspended: bool,
    /// `suspensionReason` (`ADMIN` when suspended through the API).
    pub suspension_reason: Option<String>,
    /// `archived`.
    pub archived: bool,
    /// Licence removal is refused (auto-licensing OU).
    pub auto_license: bool,
    /// Live web sessions.
    pub sessions: u32,
    /// Third-party OAuth grants.
    pub tokens: Vec<TokenView>,
    /// Application-specific passwords.
    pub asps: Vec<AspView>,
    /// Valid backup codes.
    pub backup_codes: usize,
    /// E-mail addresses of the groups the user directly belongs to.
    pub groups: Vec<String>,
    /// Licences.
    pub licenses: Vec<LicenseView>,
    /// Gmail delegates.
    pub delegates: Vec<DelegateView>,
    /// Gmail forwarding addresses.
    pub forwarding_addresses: Vec<ForwardingView>,
    /// Gmail auto-forwarding.
    pub auto_forwarding: AutoForwardingView,
    /// Gmail vacation responder.
    pub vacation: VacationView,
    /// Mobile devices the user owns.
    pub devices: Vec<DeviceView>,
    /// Drive files only the user can see.
    pub drive_private_files: u32,
    /// Drive files shared with others.
    pub drive_shared_files: u32,
    /// Calendar events the user organises.
    pub calendar_events: u32,
}

impl UserView {
    /// Whether the user directly belongs to the group with this address.
    pub fn in_group(&self, email: &str) -> bool {
        self.groups.iter().any(|g| g.eq_ignore_ascii_case(email))
    }

    /// Whether the user holds this product/SKU.
    pub fn has_license(&self, product_id: &str, sku_id: &str) -> bool {
        self.licenses
            .iter()
            .any(|l| l.product_id == product_id && l.sku_id == sku_id)
    }

    /// Whether `email` is a delegate (any status).
    pub fn has_delegate(&self, email: &str) -> bool {
        self.delegates
            .iter()
            .any(|d| d.email.eq_ignore_ascii_case(email))
    }
}

/// An OAuth grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenView {
    /// `clientId`.
    pub client_id: String,
    /// `displayText`.
    pub display_text: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
}

/// An application-specific password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AspView {
    /// `codeId`.
    pub code_id: i32,
    /// `name`.
    pub name: String,
}

/// A licence assignment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LicenseView {
    /// `productId`.
    pub product_id: String,
    /// `skuId`.
    pub sku_id: String,
}

/// A Gmail delegate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DelegateView {
    /// `delegateEmail`.
    pub email: String,
    /// `verificationStatus` (`accepted`, `pending`, …).
    pub verification_status: String,
}

/// A Gmail forwarding address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardingView {
    /// `forwardingEmail`.
    pub email: String,
    /// `verificationStatus` (`accepted` or `pending`).
    pub verification_status: String,
}

/// Gmail auto-forwarding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutoForwardingView {
    /// `enabled`.
    pub enabled: bool,
    /// `emailAddress`.
    pub email_address: Option<String>,
    /// `disposition`.
    pub disposition: Option<String>,
}

/// Gmail vacation responder.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VacationView {
    /// `enableAutoReply`.
    pub enable_auto_reply: bool,
    /// `responseSubject`.
    pub response_subject: Option<String>,
    /// `responseBodyPlainText`.
    pub response_body_plain_text: Option<String>,
    /// `restrictToDomain`.
    pub restrict_to_domain: bool,
}

/// A mobile device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceView {
    /// `resourceId`.
    pub resource_id: String,
    /// `model`.
    pub model: String,
    /// `status` (`APPROVED`, `BLOCKED`, `WIPING`, `WIPED`,
    /// `ACCOUNT_WIPING`, `ACCOUNT_WIPED`, …).
    pub status: String,
}

/// A data transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransferView {
    /// `id`.
    pub id: String,
    /// Old owner's primary e-mail.
    pub old_owner: String,
    /// New owner's primary e-mail.
    pub new_owner: String,
    /// Application ids in the request.
    pub application_ids: Vec<String>,
    /// `overallTransferStatusCode`.
    pub status: TransferStatus,
}
