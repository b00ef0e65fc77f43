//! OAuth scopes and the table of emulated methods: for each route, the
//! scopes its discovery document accepts (any one suffices), the service
//! that answers it, and whether only an administrator may call it.

/// `admin.directory.user`: users get/update/patch.
pub const DIRECTORY_USER: &str = "https://www.googleapis.com/auth/admin.directory.user";
/// `admin.directory.user.readonly`: users get.
pub const DIRECTORY_USER_READONLY: &str =
    "https://www.googleapis.com/auth/admin.directory.user.readonly";
/// `admin.directory.user.security`: signOut, tokens, asps, verification codes.
pub const DIRECTORY_USER_SECURITY: &str =
    "https://www.googleapis.com/auth/admin.directory.user.security";
/// `admin.directory.group`: groups and members, read and write.
pub const DIRECTORY_GROUP: &str = "https://www.googleapis.com/auth/admin.directory.group";
/// `admin.directory.group.readonly`: groups list.
pub const DIRECTORY_GROUP_READONLY: &str =
    "https://www.googleapis.com/auth/admin.directory.group.readonly";
/// `admin.directory.group.member.readonly`: members list and get.
pub const DIRECTORY_GROUP_MEMBER_READONLY: &str =
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly";
/// `drive`: every Drive method, shared drives and their permissions included.
pub const DRIVE: &str = "https://www.googleapis.com/auth/drive";
/// `drive.readonly`: Drive reads.
pub const DRIVE_READONLY: &str = "https://www.googleapis.com/auth/drive.readonly";
/// `drive.file`: files the app created or opened (permissions methods accept it).
pub const DRIVE_FILE: &str = "https://www.googleapis.com/auth/drive.file";
/// `drive.metadata.readonly`: metadata reads (permissions list accepts it).
pub const DRIVE_METADATA_READONLY: &str = "https://www.googleapis.com/auth/drive.metadata.readonly";
/// `admin.directory.group.member`: members delete.
pub const DIRECTORY_GROUP_MEMBER: &str =
    "https://www.googleapis.com/auth/admin.directory.group.member";
/// `admin.directory.device.mobile`: mobile devices, everything.
pub const DIRECTORY_DEVICE_MOBILE: &str =
    "https://www.googleapis.com/auth/admin.directory.device.mobile";
/// `admin.directory.device.mobile.action`: list, get and action.
pub const DIRECTORY_DEVICE_MOBILE_ACTION: &str =
    "https://www.googleapis.com/auth/admin.directory.device.mobile.action";
/// `admin.directory.device.mobile.readonly`: list and get.
pub const DIRECTORY_DEVICE_MOBILE_READONLY: &str =
    "https://www.googleapis.com/auth/admin.directory.device.mobile.readonly";
/// `apps.licensing`: every Licensing method.
pub const LICENSING: &str = "https://www.googleapis.com/auth/apps.licensing";
/// `admin.datatransfer`: transfers and applications.
pub const DATATRANSFER: &str = "https://www.googleapis.com/auth/admin.datatransfer";
/// `admin.datatransfer.readonly`: reads only.
pub const DATATRANSFER_READONLY: &str =
    "https://www.googleapis.com/auth/admin.datatransfer.readonly";
/// `admin.reports.audit.readonly`: the audit log.
pub const REPORTS_AUDIT_READONLY: &str =
    "https://www.googleapis.com/auth/admin.reports.audit.readonly";
/// `https://mail.google.com/`: full Gmail access.
pub const GMAIL_FULL: &str = "https://mail.google.com/";
/// `gmail.modify`.
pub const GMAIL_MODIFY: &str = "https://www.googleapis.com/auth/gmail.modify";
/// `gmail.readonly`.
pub const GMAIL_READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
/// `gmail.settings.basic`: vacation update, settings reads.
pub const GMAIL_SETTINGS_BASIC: &str = "https://www.googleapis.com/auth/gmail.settings.basic";
/// `gmail.settings.sharing`: delegates, forwarding addresses, auto-forwarding.
pub const GMAIL_SETTINGS_SHARING: &str = "https://www.googleapis.com/auth/gmail.settings.sharing";

/// Which Google API a route belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    Directory,
    Licensing,
    DataTransfer,
    Reports,
    Gmail,
    Drive,
}

impl Api {
    /// Host name of the real service, used in quota messages and
    /// `ErrorInfo` metadata.
    pub fn service(self) -> &'static str {
        match self {
            Self::Directory | Self::DataTransfer | Self::Reports => "admin.googleapis.com",
            Self::Licensing => "licensing.googleapis.com",
            Self::Gmail => "gmail.googleapis.com",
            Self::Drive => "drive.googleapis.com",
        }
    }

    /// Admin SDK APIs act on the whole domain, so the impersonated user
    /// must be an administrator; Gmail acts on the caller's own mailbox, and
    /// Drive on what the caller can reach (an administrator reaches every
    /// shared drive only by asking for `useDomainAdminAccess`).
    pub fn needs_admin(self) -> bool {
        !matches!(self, Self::Gmail | Self::Drive)
    }
}

/// One emulated method.
#[derive(Debug)]
pub(crate) struct RouteSpec {
    pub method: &'static str,
    pub template: &'static str,
    pub api: Api,
    /// Discovery method id, reported in `ErrorInfo.metadata.method`.
    pub id: &'static str,
    pub scopes: &'static [&'static str],
}

const USER_RW: &[&str] = &[DIRECTORY_USER];
const USER_R: &[&str] = &[DIRECTORY_USER, DIRECTORY_USER_READONLY];
const SECURITY: &[&str] = &[DIRECTORY_USER_SECURITY];
const GROUP_R: &[&str] = &[DIRECTORY_GROUP, DIRECTORY_GROUP_READONLY];
const MEMBER_W: &[&str] = &[DIRECTORY_GROUP, DIRECTORY_GROUP_MEMBER];
const MEMBER_R: &[&str] = &[
    DIRECTORY_GROUP,
    DIRECTORY_GROUP_MEMBER,
    DIRECTORY_GROUP_MEMBER_READONLY,
    DIRECTORY_GROUP_READONLY,
];
const DRIVES_R: &[&str] = &[DRIVE, DRIVE_READONLY];
const PERMISSIONS_R: &[&str] = &[DRIVE, DRIVE_FILE, DRIVE_READONLY, DRIVE_METADATA_READONLY];
const PERMISSIONS_W: &[&str] = &[DRIVE, DRIVE_FILE];
const MOBILE_R: &[&str] = &[
    DIRECTORY_DEVICE_MOBILE,
    DIRECTORY_DEVICE_MOBILE_ACTION,
    DIRECTORY_DEVICE_MOBILE_READONLY,
];
const MOBILE_ACTION: &[&str] = &[DIRECTORY_DEVICE_MOBILE, DIRECTORY_DEVICE_MOBILE_ACTION];
const LICENSE: &[&str] = &[LICENSING];
const TRANSFER_W: &[&str] = &[DATATRANSFER];
const TRANSFER_R: &[&str] = &[DATATRANSFER, DATATRANSFER_READONLY];
const REPORTS: &[&str] = &[REPORTS_AUDIT_READONLY];
const MAIL_R: &[&str] = &[
    GMAIL_FULL,
    GMAIL_MODIFY,
    GMAIL_READONLY,
    GMAIL_SETTINGS_BASIC,
];
const MAIL_SHARING: &[&str] = &[GMAIL_SETTINGS_SHARING];
const MAIL_BASIC: &[&str] = &[GMAIL_SETTINGS_BASIC];

macro_rules! spec {
    ($method:literal, $template:literal, $api:ident, $id:literal, $scopes:expr) => {
        RouteSpec {
            method: $method,
            template: $template,
            api: Api::$api,
            id: $id,
            scopes: $scopes,
        }
    };
}

/// Every emulated API method. Templates are the discovery documents'
/// `servicePath` + `flatPath`, which is also how request counters name
/// them.
pub(crate) const ROUTES: &[RouteSpec] = &[
    spec!(
        "GET",
        "/admin/directory/v1/users/{userKey}",
        Directory,
        "directory.users.get",
        USER_R
    ),
    spec!(
        "PUT",
        "/admin/directory/v1/users/{userKey}",
        Directory,
        "directory.users.update",
        USER_RW
    ),
    spec!(
        "PATCH",
        "/admin/directory/v1/users/{userKey}",
        Directory,
        "directory.users.patch",
        USER_RW
    ),
    spec!(
        "POST",
        "/admin/directory/v1/users/{userKey}/signOut",
        Directory,
        "directory.users.signOut",
        SECURITY
    ),
    spec!(
        "GET",
        "/admin/directory/v1/users/{userKey}/tokens",
        Directory,
        "directory.tokens.list",
        SECURITY
    ),
    spec!(
        "GET",
        "/admin/directory/v1/users/{userKey}/tokens/{clientId}",
        Directory,
        "directory.tokens.get",
        SECURITY
    ),
    spec!(
        "DELETE",
        "/admin/directory/v1/users/{userKey}/tokens/{clientId}",
        Directory,
        "directory.tokens.delete",
        SECURITY
    ),
    spec!(
        "GET",
        "/admin/directory/v1/users/{userKey}/asps",
        Directory,
        "directory.asps.list",
        SECURITY
    ),
    spec!(
        "GET",
        "/admin/directory/v1/users/{userKey}/asps/{codeId}",
        Directory,
        "directory.asps.get",
        SECURITY
    ),
    spec!(
        "DELETE",
        "/admin/directory/v1/users/{userKey}/asps/{codeId}",
        Directory,
        "directory.asps.delete",
        SECURITY
    ),
    spec!(
        "GET",
        "/admin/directory/v1/users/{userKey}/verificationCodes",
        Directory,
        "directory.verificationCodes.list",
        SECURITY
    ),
    spec!(
        "POST",
        "/admin/directory/v1/users/{userKey}/verificationCodes/invalidate",
        Directory,
        "directory.verificationCodes.invalidate",
        SECURITY
    ),
    spec!(
        "GET",
        "/admin/directory/v1/groups",
        Directory,
        "directory.groups.list",
        GROUP_R
    ),
    spec!(
        "DELETE",
        "/admin/directory/v1/groups/{groupKey}/members/{memberKey}",
        Directory,
        "directory.members.delete",
        MEMBER_W
    ),
    spec!(
        "POST",
        "/admin/directory/v1/groups/{groupKey}/members",
        Directory,
        "directory.members.insert",
        MEMBER_W
    ),
    spec!(
        "GET",
        "/admin/directory/v1/groups/{groupKey}/members",
        Directory,
        "directory.members.list",
        MEMBER_R
    ),
    spec!(
        "PATCH",
        "/admin/directory/v1/groups/{groupKey}/members/{memberKey}",
        Directory,
        "directory.members.patch",
        MEMBER_W
    ),
    spec!(
        "GET",
        "/drive/v3/drives",
        Drive,
        "drive.drives.list",
        DRIVES_R
    ),
    spec!(
        "GET",
        "/drive/v3/files/{fileId}/permissions",
        Drive,
        "drive.permissions.list",
        PERMISSIONS_R
    ),
    spec!(
        "POST",
        "/drive/v3/files/{fileId}/permissions",
        Drive,
        "drive.permissions.create",
        PERMISSIONS_W
    ),
    spec!(
        "PATCH",
        "/drive/v3/files/{fileId}/permissions/{permissionId}",
        Drive,
        "drive.permissions.update",
        PERMISSIONS_W
    ),
    spec!(
        "DELETE",
        "/drive/v3/files/{fileId}/permissions/{permissionId}",
        Drive,
        "drive.permissions.delete",
        PERMISSIONS_W
    ),
    spec!(
        "GET",
        "/admin/directory/v1/customer/{customerId}/devices/mobile",
        Directory,
        "directory.mobiledevices.list",
        MOBILE_R
    ),
    spec!(
        "GET",
        "/admin/directory/v1/customer/{customerId}/devices/mobile/{resourceId}",
        Directory,
        "directory.mobiledevices.get",
        MOBILE_R
    ),
    spec!(
        "POST",
        "/admin/directory/v1/customer/{customerId}/devices/mobile/{resourceId}/action",
        Directory,
        "directory.mobiledevices.action",
        MOBILE_ACTION
    ),
    spec!(
        "GET",
        "/apps/licensing/v1/product/{productId}/sku/{skuId}/user/{userId}",
        Licensing,
        "licensing.licenseAssignments.get",
        LICENSE
    ),
    spec!(
        "DELETE",
        "/apps/licensing/v1/product/{productId}/sku/{skuId}/user/{userId}",
        Licensing,
        "licensing.licenseAssignments.delete",
        LICENSE
    ),
    spec!(
        "POST",
        "/apps/licensing/v1/product/{productId}/sku/{skuId}/user",
        Licensing,
        "licensing.licenseAssignments.insert",
        LICENSE
    ),
    spec!(
        "GET",
        "/apps/licensing/v1/product/{productId}/users",
        Licensing,
        "licensing.licenseAssignments.listForProduct",
        LICENSE
    ),
    spec!(
        "GET",
        "/apps/licensing/v1/product/{productId}/sku/{skuId}/users",
        Licensing,
        "licensing.licenseAssignments.listForProductAndSku",
        LICENSE
    ),
    spec!(
        "POST",
        "/admin/datatransfer/v1/transfers",
        DataTransfer,
        "datatransfer.transfers.insert",
        TRANSFER_W
    ),
    spec!(
        "GET",
        "/admin/datatransfer/v1/transfers",
        DataTransfer,
        "datatransfer.transfers.list",
        TRANSFER_R
    ),
    spec!(
        "GET",
        "/admin/datatransfer/v1/transfers/{dataTransferId}",
        DataTransfer,
        "datatransfer.transfers.get",
        TRANSFER_R
    ),
    spec!(
        "GET",
        "/admin/datatransfer/v1/applications",
        DataTransfer,
        "datatransfer.applications.list",
        TRANSFER_R
    ),
    spec!(
        "GET",
        "/admin/datatransfer/v1/applications/{applicationId}",
        DataTransfer,
        "datatransfer.applications.get",
        TRANSFER_R
    ),
    spec!(
        "GET",
        "/admin/reports/v1/activity/users/{userKey}/applications/{applicationName}",
        Reports,
        "reports.activities.list",
        REPORTS
    ),
    spec!(
        "GET",
        "/gmail/v1/users/{userId}/settings/delegates",
        Gmail,
        "gmail.users.settings.delegates.list",
        MAIL_R
    ),
    spec!(
        "POST",
        "/gmail/v1/users/{userId}/settings/delegates",
        Gmail,
        "gmail.users.settings.delegates.create",
        MAIL_SHARING
    ),
    spec!(
        "GET",
        "/gmail/v1/users/{userId}/settings/delegates/{delegateEmail}",
        Gmail,
        "gmail.users.settings.delegates.get",
        MAIL_R
    ),
    spec!(
        "DELETE",
        "/gmail/v1/users/{userId}/settings/delegates/{delegateEmail}",
        Gmail,
        "gmail.users.settings.delegates.delete",
        MAIL_SHARING
    ),
    spec!(
        "GET",
        "/gmail/v1/users/{userId}/settings/forwardingAddresses",
        Gmail,
        "gmail.users.settings.forwardingAddresses.list",
        MAIL_R
    ),
    spec!(
        "POST",
        "/gmail/v1/users/{userId}/settings/forwardingAddresses",
        Gmail,
        "gmail.users.settings.forwardingAddresses.create",
        MAIL_SHARING
    ),
    spec!(
        "GET",
        "/gmail/v1/users/{userId}/settings/forwardingAddresses/{forwardingEmail}",
        Gmail,
        "gmail.users.settings.forwardingAddresses.get",
        MAIL_R
    ),
    spec!(
        "DELETE",
        "/gmail/v1/users/{userId}/settings/forwardingAddresses/{forwardingEmail}",
        Gmail,
        "gmail.users.settings.forwardingAddresses.delete",
        MAIL_SHARING
    ),
    spec!(
        "GET",
        "/gmail/v1/users/{userId}/settings/autoForwarding",
        Gmail,
        "gmail.users.settings.getAutoForwarding",
        MAIL_R
    ),
    spec!(
        "PUT",
        "/gmail/v1/users/{userId}/settings/autoForwarding",
        Gmail,
        "gmail.users.settings.updateAutoForwarding",
        MAIL_SHARING
    ),
    spec!(
        "GET",
        "/gmail/v1/users/{userId}/settings/vacation",
        Gmail,
        "gmail.users.settings.getVacation",
        MAIL_R
    ),
    spec!(
        "PUT",
        "/gmail/v1/users/{userId}/settings/vacation",
        Gmail,
        "gmail.users.settings.updateVacation",
        MAIL_BASIC
    ),
];

/// The spec for a matched route.
pub(crate) fn lookup(method: &str, template: &str) -> Option<&'static RouteSpec> {
    ROUTES
        .iter()
        .find(|r| r.method == method && r.template == template)
}

/// Whether Google would recognise `scope` as a scope at all; anything else
/// is `invalid_scope` at the token endpoint.
pub(crate) fn is_known_scope(scope: &str) -> bool {
    scope == GMAIL_FULL
        || matches!(scope, "openid" | "email" | "profile")
        || scope
            .strip_prefix("https://www.googleapis.com/auth/")
            .is_some_and(|rest| {
                !rest.is_empty()
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            })
}
