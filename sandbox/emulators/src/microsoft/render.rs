//! Graph JSON for tenant records, with `$select` honoured the way Graph
//! honours it: without `$select` a user carries only its default property
//! set (no `accountEnabled`, no `onPremisesSyncEnabled`, …); with it, exactly
//! the named properties (unknown names are a 400).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::microsoft::errors::GraphError;
use crate::microsoft::model::{
    DeviceRecord, GroupRecord, MailboxPurpose, MailboxRecord, MethodKind, MethodRecord, RuleRecord,
    SkuRecord,
};
use crate::microsoft::state::{TenantState, graph_time};

/// Properties a user returns when no `$select` is given.
const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// Structural properties of `microsoft.graph.user` (the saved spec's list).
const USER_PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "aboutMe",
    "accountEnabled",
    "ageGroup",
    "assignedLicenses",
    "assignedPlans",
    "authorizationInfo",
    "birthday",
    "businessPhones",
    "city",
    "companyName",
    "consentProvidedForMinor",
    "country",
    "createdDateTime",
    "creationType",
    "customSecurityAttributes",
    "department",
    "deviceEnrollmentLimit",
    "displayName",
    "employeeHireDate",
    "employeeId",
    "employeeLeaveDateTime",
    "employeeOrgData",
    "employeeType",
    "externalUserState",
    "externalUserStateChangeDateTime",
    "faxNumber",
    "givenName",
    "hireDate",
    "identities",
    "imAddresses",
    "interests",
    "isManagementRestricted",
    "isResourceAccount",
    "jobTitle",
    "lastPasswordChangeDateTime",
    "legalAgeGroupClassification",
    "licenseAssignmentStates",
    "mail",
    "mailboxSettings",
    "mailNickname",
    "mobilePhone",
    "mySite",
    "officeLocation",
    "onPremisesDistinguishedName",
    "onPremisesDomainName",
    "onPremisesExtensionAttributes",
    "onPremisesImmutableId",
    "onPremisesLastSyncDateTime",
    "onPremisesProvisioningErrors",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "onPremisesUserPrincipalName",
    "otherMails",
    "passwordPolicies",
    "passwordProfile",
    "pastProjects",
    "postalCode",
    "preferredDataLocation",
    "preferredLanguage",
    "preferredName",
    "print",
    "provisionedPlans",
    "proxyAddresses",
    "responsibilities",
    "schools",
    "securityIdentifier",
    "serviceProvisioningErrors",
    "showInAddressList",
    "signInActivity",
    "signInSessionsValidFromDateTime",
    "skills",
    "state",
    "streetAddress",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

const USER_ARRAYS: &[&str] = &[
    "assignedPlans",
    "businessPhones",
    "identities",
    "imAddresses",
    "interests",
    "otherMails",
    "pastProjects",
    "provisionedPlans",
    "responsibilities",
    "schools",
    "skills",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
];

/// Properties a group returns by default (and the ones `$select` may name).
const GROUP_PROPERTIES: &[&str] = &[
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "creationOptions",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
];

/// Properties of `managedDevice`.
const DEVICE_PROPERTIES: &[&str] = &[
    "id",
    "userId",
    "deviceName",
    "managedDeviceOwnerType",
    "enrolledDateTime",
    "lastSyncDateTime",
    "operatingSystem",
    "complianceState",
    "jailBroken",
    "managementAgent",
    "osVersion",
    "easActivated",
    "easDeviceId",
    "easActivationDateTime",
    "azureADRegistered",
    "deviceEnrollmentType",
    "activationLockBypassCode",
    "emailAddress",
    "azureADDeviceId",
    "deviceRegistrationState",
    "deviceCategoryDisplayName",
    "isSupervised",
    "exchangeLastSuccessfulSyncDateTime",
    "exchangeAccessState",
    "exchangeAccessStateReason",
    "remoteAssistanceSessionUrl",
    "remoteAssistanceSessionErrorDetails",
    "isEncrypted",
    "userPrincipalName",
    "model",
    "manufacturer",
    "imei",
    "complianceGracePeriodExpirationDateTime",
    "serialNumber",
    "phoneNumber",
    "androidSecurityPatchLevel",
    "userDisplayName",
    "configurationManagerClientEnabledFeatures",
    "wiFiMacAddress",
    "deviceHealthAttestationState",
    "subscriberCarrier",
    "meid",
    "totalStorageSpaceInBytes",
    "freeStorageSpaceInBytes",
    "managedDeviceName",
    "partnerReportedThreatState",
    "requireUserEnrollmentApproval",
    "managementCertificateExpirationDate",
    "iccid",
    "udid",
    "notes",
    "ethernetMacAddress",
    "physicalMemoryInBytes",
    "deviceActionResults",
];

/// Checks `$select` names against a type's properties (case-insensitive,
/// returning the canonical spelling).
pub(crate) fn check_select(
    select: &[String],
    known: &[&'static str],
    entity: &str,
) -> Result<Vec<&'static str>, GraphError> {
    select
        .iter()
        .map(|s| {
            known
                .iter()
                .find(|k| k.eq_ignore_ascii_case(s))
                .copied()
                .ok_or_else(|| GraphError::unknown_property(s, entity))
        })
        .collect()
}

pub(crate) fn user_select(select: &[String]) -> Result<Vec<&'static str>, GraphError> {
    if select.is_empty() {
        Ok(USER_DEFAULT.to_vec())
    } else {
        check_select(select, USER_PROPERTIES, "user")
    }
}

pub(crate) fn group_select(select: &[String]) -> Result<Vec<&'static str>, GraphError> {
    if select.is_empty() {
        Ok(GROUP_PROPERTIES.to_vec())
    } else {
        check_select(select, GROUP_PROPERTIES, "group")
    }
}

pub(crate) fn device_select(select: &[String]) -> Result<Vec<&'static str>, GraphError> {
    if select.is_empty() {
        Ok(DEVICE_PROPERTIES.to_vec())
    } else {
        check_select(select, DEVICE_PROPERTIES, "managedDevice")
    }
}

/// `@odata.context` for an entity, naming the selection when there is one.
pub(crate) fn entity_context(base_url: &str, set: &str, select: &[String]) -> String {
    if select.is_empty() {
        format!("{base_url}/v1.0/$metadata#{set}/$entity")
    } else {
        format!(
            "{base_url}/v1.0/$metadata#{set}({})/$entity",
            select.join(",")
        )
    }
}

pub(crate) fn user(state: &TenantState, index: usize, props: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for p in props {
        out.insert((*p).to_owned(), user_property(state, index, p));
    }
    out
}

fn user_property(state: &TenantState, index: usize, name: &str) -> Value {
    let u = &state.users[index];
    match name {
        "id" => json!(u.id),
        "userPrincipalName" => json!(u.upn),
        "mail" => json!(u.mail),
        "displayName" => json!(u.display_name),
        "givenName" => json!(u.given_name),
        "surname" => json!(u.surname),
        "jobTitle" => json!(u.job_title),
        "department" => json!(u.department),
        "usageLocation" => json!(u.usage_location),
        "accountEnabled" => json!(u.account_enabled),
        "onPremisesSyncEnabled" => {
            if u.on_prem_synced {
                json!(true)
            } else {
                Value::Null
            }
        }
        "onPremisesImmutableId" => json!(u.on_prem_immutable_id),
        "onPremisesSamAccountName" => {
            if u.on_prem_synced {
                json!(u.upn.split('@').next())
            } else {
                Value::Null
            }
        }
        "onPremisesUserPrincipalName" => {
            if u.on_prem_synced {
                json!(u.upn)
            } else {
                Value::Null
            }
        }
        "signInSessionsValidFromDateTime" => json!(graph_time(u.sessions_valid_from)),
        "createdDateTime" => json!(graph_time(u.created)),
        "userType" => json!("Member"),
        "creationType" => Value::Null,
        "mailNickname" => json!(u.upn.split('@').next()),
        "proxyAddresses" => json!(u.proxy_addresses()),
        "showInAddressList" => Value::Null,
        "assignedLicenses" => {
            let list: Vec<Value> = state
                .distinct_skus(index)
                .into_iter()
                .map(|s| json!({ "disabledPlans": [], "skuId": state.skus[s].sku_id }))
                .collect();
            Value::Array(list)
        }
        "licenseAssignmentStates" => {
            let list: Vec<Value> = u
                .licenses
                .iter()
                .map(|l| {
                    json!({
                        "assignedByGroup": l.by_group.map(|g| state.groups[g].id.clone()),
                        "disabledPlans": [],
                        "error": "None",
                        "lastUpdatedDateTime": graph_time(l.updated),
                        "skuId": state.skus[l.sku].sku_id,
                        "state": "Active",
                    })
                })
                .collect();
            Value::Array(list)
        }
        n if USER_ARRAYS.contains(&n) => json!([]),
        _ => Value::Null,
    }
}

pub(crate) fn group(g: &GroupRecord, props: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for p in props {
        let value = match *p {
            "id" => json!(g.id),
            "displayName" => json!(g.display_name),
            "description" => json!(g.description),
            "createdDateTime" => json!(graph_time(g.created)),
            "groupTypes" => json!(g.group_types()),
            "isAssignableToRole" => json!(false),
            "mail" => json!(g.mail),
            "mailEnabled" => json!(g.mail_enabled()),
            "mailNickname" => json!(g.mail_nickname),
            "membershipRule" => json!(g.membership_rule),
            "membershipRuleProcessingState" => {
                if g.membership_rule.is_some() {
                    json!("On")
                } else {
                    Value::Null
                }
            }
            "onPremisesSyncEnabled" => {
                if g.on_prem_synced {
                    json!(true)
                } else {
                    Value::Null
                }
            }
            "securityEnabled" => json!(g.security_enabled()),
            "proxyAddresses" => match &g.mail {
                Some(m) => json!([format!("SMTP:{m}")]),
                None => json!([]),
            },
            "creationOptions"
            | "resourceBehaviorOptions"
            | "resourceProvisioningOptions"
            | "onPremisesProvisioningErrors"
            | "serviceProvisioningErrors" => json!([]),
            "visibility" => {
                if g.group_types().contains(&"Unified") {
                    json!("Private")
                } else {
                    Value::Null
                }
            }
            _ => Value::Null,
        };
        out.insert((*p).to_owned(), value);
    }
    out
}

/// A `licenseDetails` entry; its id is stable per user and SKU.
pub(crate) fn license_detail(user_id: &str, sku: &SkuRecord) -> Value {
    let digest = Sha256::digest(format!("{user_id}/{}", sku.sku_id));
    let plans: Vec<Value> = sku
        .plans
        .iter()
        .map(|p| {
            json!({
                "servicePlanId": p.id,
                "servicePlanName": p.name,
                "provisioningStatus": "Success",
                "appliesTo": "User",
            })
        })
        .collect();
    json!({
        "id": URL_SAFE_NO_PAD.encode(digest),
        "skuId": sku.sku_id,
        "skuPartNumber": sku.part_number,
        "servicePlans": plans,
    })
}

pub(crate) fn subscribed_sku(tenant_id: &str, sku: &SkuRecord, consumed: usize) -> Value {
    let plans: Vec<Value> = sku
        .plans
        .iter()
        .map(|p| {
            json!({
                "servicePlanId": p.id,
                "servicePlanName": p.name,
                "provisioningStatus": "Success",
                "appliesTo": "User",
            })
        })
        .collect();
    json!({
        "accountId": tenant_id,
        "accountName": "passage-sandbox",
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": consumed,
        "id": format!("{tenant_id}_{}", sku.sku_id),
        "skuId": sku.sku_id,
        "skuPartNumber": sku.part_number,
        "subscriptionIds": [],
        "prepaidUnits": { "enabled": sku.enabled_units, "suspended": 0, "warning": 0, "lockedOut": 0 },
        "servicePlans": plans,
    })
}

pub(crate) fn method(m: &MethodRecord) -> Value {
    let created = graph_time(m.created);
    let mut out = json!({ "@odata.type": m.kind.odata_type(), "id": m.id });
    let extra = match m.kind {
        MethodKind::Password => json!({ "password": null, "createdDateTime": created }),
        MethodKind::Phone => json!({
            "phoneNumber": m.label,
            "phoneType": "mobile",
            "smsSignInState": "notAllowedByPolicy",
        }),
        MethodKind::MicrosoftAuthenticator => json!({
            "displayName": m.label,
            "deviceTag": "SoftwareTokenActivated",
            "phoneAppVersion": "6.2401.0119",
            "createdDateTime": created,
        }),
        MethodKind::Fido2 => json!({
            "displayName": m.label,
            "aaGuid": "cb69481e-8ff7-4039-93ec-0a2729a154a8",
            "model": m.label,
            "attestationCertificates": [],
            "attestationLevel": "attested",
            "createdDateTime": created,
        }),
        MethodKind::SoftwareOath => json!({ "secretKey": null }),
        MethodKind::Email => json!({ "emailAddress": m.label }),
        MethodKind::WindowsHelloForBusiness => json!({
            "displayName": m.label,
            "keyStrength": "normal",
            "createdDateTime": created,
        }),
        MethodKind::PlatformCredential => json!({
            "displayName": m.label,
            "keyStrength": "normal",
            "platform": "macOS",
            "createdDateTime": created,
        }),
        MethodKind::TemporaryAccessPass => json!({
            "createdDateTime": created,
            "startDateTime": created,
            "lifetimeInMinutes": 60,
            "isUsableOnce": false,
            "isUsable": true,
            "methodUsabilityReason": "EnabledByPolicy",
            "temporaryAccessPass": null,
        }),
    };
    if let (Some(obj), Value::Object(more)) = (out.as_object_mut(), extra) {
        obj.extend(more);
    }
    out
}

/// All `mailboxSettings` properties, or those selected. `purpose` is the
/// mailbox type as Graph reports it, which lags behind Exchange after a
/// conversion.
pub(crate) fn mailbox_settings(
    mb: &MailboxRecord,
    purpose: MailboxPurpose,
    select: &[String],
) -> Result<Map<String, Value>, GraphError> {
    const PROPS: &[&str] = &[
        "archiveFolder",
        "timeZone",
        "automaticRepliesSetting",
        "language",
        "workingHours",
        "userPurpose",
        "dateFormat",
        "timeFormat",
        "delegateMeetingMessageDeliveryOptions",
    ];
    let props = if select.is_empty() {
        PROPS.to_vec()
    } else {
        check_select(select, PROPS, "mailboxSettings")?
    };
    let mut out = Map::new();
    for p in props {
        let value = match p {
            "archiveFolder" => json!(
                "AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OAAuAAAAAAAiQ8W967B7TKBjgx9rVEURAQAiIsqMbYjsT5e-T7KzowPTAAAAAAEMAAA="
            ),
            "timeZone" => json!(mb.time_zone),
            "automaticRepliesSetting" => json!({
                "status": mb.auto_reply.status,
                "externalAudience": mb.auto_reply.external_audience,
                "internalReplyMessage": mb.auto_reply.internal_message,
                "externalReplyMessage": mb.auto_reply.external_message,
                "scheduledStartDateTime": mb.auto_reply.scheduled_start,
                "scheduledEndDateTime": mb.auto_reply.scheduled_end,
            }),
            "language" => json!({ "locale": "en-US", "displayName": "English (United States)" }),
            "workingHours" => json!({
                "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                "startTime": "08:00:00.0000000",
                "endTime": "17:00:00.0000000",
                "timeZone": { "name": mb.time_zone },
            }),
            "userPurpose" => json!(purpose.as_graph()),
            "dateFormat" => json!("M/d/yyyy"),
            "timeFormat" => json!("h:mm tt"),
            "delegateMeetingMessageDeliveryOptions" => json!("sendToDelegateOrInformationOnly"),
            _ => Value::Null,
        };
        out.insert(p.to_owned(), value);
    }
    Ok(out)
}

pub(crate) fn rule(r: &RuleRecord) -> Value {
    json!({
        "id": r.id,
        "displayName": r.display_name,
        "sequence": r.sequence,
        "isEnabled": r.is_enabled,
        "hasError": false,
        "isReadOnly": false,
        "conditions": r.conditions,
        "actions": r.actions,
        "exceptions": r.exceptions,
    })
}

pub(crate) fn device(state: &TenantState, d: &DeviceRecord, props: &[&str]) -> Map<String, Value> {
    let owner = &state.users[d.user];
    let mut out = Map::new();
    for p in props {
        let value = match *p {
            "id" => json!(d.id),
            "userId" => json!(owner.id),
            "deviceName" => json!(d.name),
            "managedDeviceName" => json!(format!(
                "{}_{}",
                owner.upn.split('@').next().unwrap_or_default(),
                d.operating_system
            )),
            "managedDeviceOwnerType" => json!(d.owner_type),
            "enrolledDateTime" => json!(graph_time(d.enrolled)),
            "lastSyncDateTime" => json!(graph_time(d.last_sync)),
            "operatingSystem" => json!(d.operating_system),
            "osVersion" => json!(d.os_version),
            "complianceState" => json!("compliant"),
            "jailBroken" => json!("Unknown"),
            "managementAgent" => json!("mdm"),
            "easActivated" | "azureADRegistered" | "isSupervised" | "isEncrypted" => {
                json!(*p == "azureADRegistered" || *p == "isEncrypted")
            }
            "requireUserEnrollmentApproval" => Value::Null,
            "deviceEnrollmentType" => json!("windowsAzureADJoin"),
            "emailAddress" => json!(owner.mail),
            "azureADDeviceId" => json!(d.azure_ad_device_id),
            "deviceRegistrationState" => json!("registered"),
            "deviceCategoryDisplayName" => json!("Unknown Category"),
            "exchangeAccessState" | "exchangeAccessStateReason" => json!("none"),
            "userPrincipalName" => json!(owner.upn),
            "userDisplayName" => json!(owner.display_name),
            "model" => json!(d.model),
            "manufacturer" => json!(d.manufacturer),
            "serialNumber" => json!(d.serial_number),
            "partnerReportedThreatState" => json!("unknown"),
            "totalStorageSpaceInBytes" => json!(255_465_537_536_i64),
            "freeStorageSpaceInBytes" => json!(98_304_000_000_i64),
            "physicalMemoryInBytes" => json!(0),
            "easActivationDateTime"
            | "exchangeLastSuccessfulSyncDateTime"
            | "complianceGracePeriodExpirationDateTime"
            | "managementCertificateExpirationDate" => {
                json!("0001-01-01T00:00:00Z")
            }
            "easDeviceId"
            | "imei"
            | "phoneNumber"
            | "androidSecurityPatchLevel"
            | "wiFiMacAddress"
            | "subscriberCarrier"
            | "meid"
            | "iccid"
            | "udid"
            | "ethernetMacAddress" => json!(""),
            "deviceActionResults" => {
                let list: Vec<Value> = d
                    .actions
                    .iter()
                    .map(|a| {
                        json!({
                            "actionName": a.action.action_name(),
                            "actionState": a.state.as_graph(),
                            "startDateTime": graph_time(a.started),
                            "lastUpdatedDateTime": graph_time(a.updated),
                        })
                    })
                    .collect();
                Value::Array(list)
            }
            _ => Value::Null,
        };
        out.insert((*p).to_owned(), value);
    }
    out
}
