//! Wire representations of stored records, following the spec schemas
//! (`systemuserreturn`, `JcSystem`, `commandresult`, `GraphObjectWithPaths`,
//! `GraphConnection`, `UserGroup`, `AppleMDM`, `apple-mdm-device`).

use serde_json::{Value, json};

use crate::jumpcloud::model::{
    AppleMdmRecord, CommandResultRecord, DeviceRecord, GroupRecord, OsFamily, SystemRecord,
    UserRecord, UserState,
};

/// `systemuserreturn`.
pub(crate) fn user(org_id: &str, u: &UserRecord) -> Value {
    // Split in two: one `json!` this size exceeds the macro recursion limit.
    let mut v = json!({
        "_id": u.id,
        "account_locked": u.account_locked,
        "account_locked_date": u.account_locked_date,
        "activated": u.state != UserState::Staged,
        "addresses": [],
        "allow_public_key": true,
        "alternateEmail": "",
        "attributes": [],
        "badLoginAttempts": 0,
        "company": "",
        "costCenter": "",
        "created": u.created,
        "creationSource": "jumpcloud:api",
        "department": u.department,
        "description": "",
        "disableDeviceMaxLoginAttempts": false,
        "displayname": u.displayname,
        "email": u.email,
        "employeeIdentifier": u.employee_identifier,
        "employeeType": "",
        "enable_managed_uid": false,
        "enable_user_portal_multifactor": false,
        "external_dn": "",
        "external_source_type": "",
        "externally_managed": false,
    });
    let rest = json!({
        "firstname": u.firstname,
        "jobTitle": u.job_title,
        "lastname": u.lastname,
        "ldap_binding_user": false,
        "location": "",
        "manager": u.manager.clone().unwrap_or_default(),
        "mfa": { "configured": false, "exclusion": false },
        "middlename": "",
        "organization": org_id,
        "password_expired": false,
        "password_never_expires": false,
        "passwordless_sudo": false,
        "phoneNumbers": [],
        "public_key": "",
        "relationships": [],
        "samba_service_user": false,
        "ssh_keys": [],
        "state": u.state.as_str(),
        "sudo": false,
        "suspended": u.state == UserState::Suspended,
        "totp_enabled": false,
        "unix_guid": u.unix_uid,
        "unix_uid": u.unix_uid,
        "username": u.username,
    });
    if let (Value::Object(map), Value::Object(rest)) = (&mut v, rest) {
        map.extend(rest);
        for (k, val) in &u.extra {
            map.insert(k.clone(), val.clone());
        }
    }
    v
}

fn builtin_commands(os: OsFamily) -> Value {
    if os.builtin_security_commands() {
        json!([
            { "name": "erase", "type": "security" },
            { "name": "lock", "type": "security" },
            { "name": "restart", "type": "security" },
            { "name": "shutdown", "type": "security" },
        ])
    } else {
        json!([])
    }
}

/// `JcSystem`.
pub(crate) fn system(org_id: &str, s: &SystemRecord) -> Value {
    let mdm = match s.mdm_device {
        Some(_) => json!({
            "vendor": "internal",
            "dep": true,
            "userApproved": true,
        }),
        None => json!({ "vendor": "none" }),
    };
    json!({
        "_id": s.id,
        "active": s.active,
        "agentVersion": "1.172.0",
        "allowMultiFactorAuthentication": false,
        "allowPublicKeyAuthentication": true,
        "allowSshPasswordAuthentication": false,
        "allowSshRootLogin": false,
        "arch": if s.os_family == OsFamily::MacOs { "arm64" } else { "x86_64" },
        "archFamily": if s.os_family == OsFamily::MacOs { "arm" } else { "x86" },
        "builtInCommands": builtin_commands(s.os_family),
        "created": s.created,
        "displayName": s.display_name,
        "hostname": s.hostname,
        "lastContact": s.last_contact,
        "mdm": mdm,
        "organization": org_id,
        "os": s.os_family.os_name(),
        "osFamily": s.os_family.wire(),
        "remoteIP": "203.0.113.10",
        "serialNumber": s.serial,
        "version": s.version,
    })
}

/// `commandresult`.
pub(crate) fn command_result(org_id: &str, r: &CommandResultRecord) -> Value {
    json!({
        "_id": r.id,
        "command": r.command,
        "files": [],
        "name": r.name,
        "organization": org_id,
        "requestTime": r.request_time,
        "response": {
            "data": { "exitCode": 0, "output": "" },
            "error": "",
            "id": r.id,
        },
        "responseTime": r.response_time,
        "sudo": true,
        "system": r.system_name,
        "systemId": r.system_id,
        "user": "000000000000000000000000",
        "workflowId": r.command_id,
        "workflowInstanceId": r.command_id,
    })
}

/// `GraphObjectWithPaths` for a user group the user belongs to directly.
pub(crate) fn member_of(g: &GroupRecord) -> Value {
    json!({
        "id": g.id,
        "type": "user_group",
        "compiledAttributes": {},
        "paths": [[{
            "attributes": null,
            "to": { "attributes": null, "id": g.id, "type": "user_group" },
        }]],
    })
}

/// `GraphObjectWithPaths` for a system bound directly to a user.
pub(crate) fn bound_system(s: &SystemRecord, sudo: bool) -> Value {
    let attributes = json!({ "sudo": { "enabled": sudo, "withoutPassword": false } });
    json!({
        "id": s.id,
        "type": "system",
        "compiledAttributes": attributes,
        "paths": [[{
            "attributes": attributes,
            "to": { "attributes": null, "id": s.id, "type": "system" },
        }]],
    })
}

/// `GraphConnection` for a user's direct association with a system.
pub(crate) fn system_association(s: &SystemRecord, sudo: bool) -> Value {
    json!({
        "attributes": { "sudo": { "enabled": sudo, "withoutPassword": false } },
        "to": { "attributes": null, "id": s.id, "type": "system" },
    })
}

/// `GraphConnection` for a user-group member.
pub(crate) fn member(user_id: &str) -> Value {
    json!({ "attributes": null, "to": { "attributes": null, "id": user_id, "type": "user" } })
}

/// `UserGroup`.
pub(crate) fn group(org_id: &str, g: &GroupRecord) -> Value {
    json!({
        "attributes": {},
        "description": g.description,
        "email": g.email,
        "id": g.id,
        "membershipMethod": "STATIC",
        "name": g.name,
        "organizationObjectId": org_id,
        "type": "user_group",
    })
}

/// `AppleMDM`.
pub(crate) fn apple_mdm(org_id: &str, m: &AppleMdmRecord) -> Value {
    json!({
        "id": m.id,
        "name": m.name,
        "organization": org_id,
        "apnsPushTopic": m.push_topic,
        "apnsCertExpiry": "2027-01-15T00:00:00.000Z",
        "depServerTokenState": "valid",
        "allowMobileUserEnrollment": false,
    })
}

/// `apple-mdm-device`.
pub(crate) fn device(d: &DeviceRecord, s: &SystemRecord) -> Value {
    let (family, model) = match s.os_family {
        OsFamily::Ios => ("ios", "iPhone"),
        _ => ("macos", "MacBook Pro"),
    };
    json!({
        "createdAt": d.created,
        "depRegistered": true,
        "deviceInformation": {
            "deviceName": s.display_name,
            "isSupervised": true,
            "modelName": model,
            "isAppleSilicon": s.os_family == OsFamily::MacOs,
        },
        "enrolled": !d.erased,
        "hasActivationLockBypassCodes": false,
        "id": d.id,
        "mdmOsFamily": family,
        "modelFamily": model,
        "osVersion": s.version,
        "securityInfo": {
            "enrolledViaDep": true,
            "filevaultEnabled": s.os_family == OsFamily::MacOs,
            "isActivationLockManageable": true,
            "isUserEnrollment": false,
            "passcodePresent": true,
            "userApprovedEnrollment": true,
        },
        "serialNumber": s.serial,
        "udid": d.udid,
    })
}
