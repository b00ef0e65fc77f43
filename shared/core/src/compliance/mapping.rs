//! What each measure Passage takes is relevant to, and how: the per-action table of the
//! compliance reference (`docs/compliance-mapping.md` is generated from it).
//!
//! Three relations, never more than the evidence shows: a measure *evidences* a control when
//! its read-back outcome is what the control asks for; it *supports* one when it is relevant
//! context but not enough on its own (or only under a condition Passage cannot see, such as
//! whether a returned laptop carried keys); it *verifies* one when it tests that the evidencing
//! measures worked. Measures that grant access (delegation, forwarding, data transfer) or only
//! record (the snapshot) evidence no access-removal control.

use super::catalog::*;
use crate::domain::{Action, DeviceAction};
use serde::Serialize;

/// Version of this table, recorded in every manifest so an old bundle stays interpretable
/// after the table changes.
pub const CONTROL_MAP_VERSION: &str = "2026-12";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    Evidences,
    Supports,
    Verifies,
}

impl Relation {
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Evidences => "evidences",
            Relation::Supports => "supports",
            Relation::Verifies => "verifies",
        }
    }
}

/// A measure as the compliance reference names it: one or more actions, or something the run
/// itself does (intake, the sign-in watch).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Intake,
    Snapshot,
    Disable,
    RevokeSessions,
    RevokeFactors,
    RevokeGrants,
    RemoveGroups,
    UnassignApps,
    SaasDeactivate,
    RemoveLicences,
    ConvertMailbox,
    DelegateOrForward,
    AutoReply,
    TransferData,
    DeviceLock,
    DeviceWipe,
    DeviceReturn,
    Handover,
    SigninWatch,
    /// Access given back by a restore run (rehire, rescinded termination).
    Regrant,
}

impl Measure {
    /// Measures the compliance reference's per-action table has no row for, each with why;
    /// their claims are only `supports`, never more than the reference could back.
    pub const BEYOND_REFERENCE: [(Measure, &'static str); 1] = [(
        Measure::Regrant,
        "re-granting a returning person's access is provisioning (CC6.2's registration and \
         authorisation before access is granted; CC6.3's authorising and modifying access), \
         which the leaver table does not cover",
    )];

    pub const ALL: [Measure; 19] = [
        Measure::Intake,
        Measure::Snapshot,
        Measure::Disable,
        Measure::RevokeSessions,
        Measure::RevokeFactors,
        Measure::RevokeGrants,
        Measure::RemoveGroups,
        Measure::UnassignApps,
        Measure::SaasDeactivate,
        Measure::RemoveLicences,
        Measure::ConvertMailbox,
        Measure::DelegateOrForward,
        Measure::AutoReply,
        Measure::TransferData,
        Measure::DeviceLock,
        Measure::DeviceWipe,
        Measure::DeviceReturn,
        Measure::Handover,
        Measure::SigninWatch,
    ];

    /// The measure's name in the reference table (and the generated document).
    pub fn describe(self) -> &'static str {
        match self {
            Measure::Intake => "HR event intake and cutoff scheduling",
            Measure::Snapshot => "Snapshot / pre-state record",
            Measure::Disable => "Block sign-in / suspend / deactivate",
            Measure::RevokeSessions => "Revoke sessions and refresh tokens",
            Measure::RevokeFactors => "Reset/remove MFA factors, app passwords",
            Measure::RevokeGrants => "Revoke OAuth grants / third-party app tokens",
            Measure::RemoveGroups => "Remove group memberships",
            Measure::UnassignApps => "Unassign apps (SSO assignments)",
            Measure::SaasDeactivate => "SaaS seat deactivation",
            Measure::RemoveLicences => "Remove licences / seats (billing)",
            Measure::ConvertMailbox => "Mailbox convert to shared",
            Measure::DelegateOrForward => "Mailbox delegate / forward to manager",
            Measure::AutoReply => "Auto-reply",
            Measure::TransferData => "Data transfer to manager",
            Measure::DeviceLock => "Device lock (MDM)",
            Measure::DeviceWipe => "Device retire / wipe",
            Measure::DeviceReturn => "Device return confirmed by a person",
            Measure::Handover => "Manager hand-over confirmation",
            Measure::SigninWatch => "Post-cutoff sign-in check",
            Measure::Regrant => "Access re-granted on rehire (restore)",
        }
    }

    /// Whether the measure ends the leaver's access: disables the account, ends sessions, or
    /// revokes credentials, grants, groups or app assignments. The time such a step was read
    /// back is when a system's access was removed, which is what period reports grade against
    /// the SLA; hand-over, devices and records do not remove access and are not counted.
    pub fn removes_access(self) -> bool {
        matches!(
            self,
            Measure::Disable
                | Measure::RevokeSessions
                | Measure::RevokeFactors
                | Measure::RevokeGrants
                | Measure::RemoveGroups
                | Measure::UnassignApps
                | Measure::SaasDeactivate
        )
    }

    /// The measure an action takes. A device step locks or retires/wipes as the tenant's
    /// policy says, and the two are relevant to different controls.
    pub fn of(action: Action, devices: DeviceAction) -> Measure {
        match action {
            Action::Snapshot => Measure::Snapshot,
            Action::Suspend | Action::Deactivate => Measure::Disable,
            Action::RevokeSessions => Measure::RevokeSessions,
            Action::ResetFactors => Measure::RevokeFactors,
            Action::RevokeGrants => Measure::RevokeGrants,
            Action::RemoveGroups => Measure::RemoveGroups,
            Action::UnassignApps => Measure::UnassignApps,
            Action::RemoveLicenses => Measure::RemoveLicences,
            Action::ConvertMailbox => Measure::ConvertMailbox,
            Action::DelegateMailbox | Action::ForwardMail => Measure::DelegateOrForward,
            Action::SetAutoReply => Measure::AutoReply,
            Action::TransferData => Measure::TransferData,
            Action::SecureDevices => match devices {
                DeviceAction::Lock => Measure::DeviceLock,
                _ => Measure::DeviceWipe,
            },
            Action::ReturnDevices => Measure::DeviceReturn,
            Action::ConfirmHandover => Measure::Handover,
            // An owner's attestation is the same measure, claimed at a lesser relation (see
            // `evidence::controls`).
            Action::DeactivateSeat | Action::RemoveSeat | Action::ConfirmAppRemoval => {
                Measure::SaasDeactivate
            }
            // Restore runs: every action gives access back.
            Action::Reactivate
            | Action::RestoreGroups
            | Action::RestoreApps
            | Action::RestoreLicences
            | Action::RestoreMailbox
            | Action::ReactivateSeat => Measure::Regrant,
            // The shared-resource sweep (issue 17; research: controls.md, "Remove group
            // memberships"): admin roles and grants on others' resources are role
            // entitlements removed (CC6.3, A.5.18, A.8.2 where privileged); the OneDrive
            // hand-over keeps the leaver's work product, like the Drive transfer, and removes
            // nothing from the leaver.
            // Forwarding rules to and from the leaver and calendar permissions are access to
            // other people's mail and calendars, removed like a shared mailbox right.
            Action::RemoveAdminRoles | Action::SweepSharedAccess | Action::SweepMailAccess => {
                Measure::RemoveGroups
            }
            Action::HandOverOneDrive => Measure::TransferData,
        }
    }
}

use Relation::{Evidences as E, Supports as S, Verifies as V};

/// The table. Order within a row follows the reference's columns.
pub fn mapping(measure: Measure) -> &'static [(Relation, Control)] {
    match measure {
        Measure::Intake => &[
            (S, CC6_2),
            (S, HIPAA_308_A3_C),
            (S, R2_3_9_2_A),
            (S, R3_03_01_01_G_02),
            (S, CSF_GV_RR_04),
            (S, SP53_AC_2H_2),
            // Passage is the automated mechanism that acts on the HR event.
            (E, SP53_AC_2L),
            (E, SP53_PS_4_2),
        ],
        Measure::Snapshot | Measure::RemoveLicences | Measure::AutoReply => &[],
        Measure::Disable => &[
            (E, CC6_2),
            (S, CC6_3),
            (E, HIPAA_308_A3_C),
            (S, HIPAA_312_A1),
            (E, R2_3_9_2_B),
            (S, R2_3_1_1_D),
            (E, R3_03_09_02_A_01),
            (S, R3_03_01_01_B),
            (E, CSF_PR_AA_05),
            (S, CSF_PR_AA_01),
            (E, ISO_A_5_18),
            (S, ISO_A_5_16),
            (E, CIS_6_2),
            (E, SP53_PS_4A),
            (S, SP53_AC_2F),
        ],
        Measure::RevokeSessions => &[
            (E, CC6_2),
            (E, HIPAA_308_A3_C),
            (E, R2_3_9_2_B),
            (E, R3_03_09_02_A_01),
            (E, R3_03_09_02_A_02),
            (E, CSF_PR_AA_01),
            (E, ISO_A_5_18),
            (S, CIS_6_2),
            (E, SP53_PS_4A),
            (E, SP53_PS_4B),
        ],
        Measure::RevokeFactors => &[
            (E, CC6_2),
            (E, HIPAA_308_A3_C),
            (E, R2_3_9_2_B),
            (E, R3_03_09_02_A_02),
            (S, R3_03_05_12_C),
            (E, CSF_PR_AA_01),
            (E, ISO_A_5_17),
            (S, ISO_A_5_18),
            (E, SP53_PS_4B),
            (S, SP53_IA_5D),
        ],
        Measure::RevokeGrants => &[
            (E, CC6_2),
            (S, CC6_3),
            (E, HIPAA_308_A3_C),
            (E, R2_3_9_2_B),
            (E, R3_03_09_02_A_02),
            (E, CSF_PR_AA_01),
            (S, CSF_PR_AA_05),
            (E, ISO_A_5_18),
            (E, SP53_PS_4B),
        ],
        Measure::RemoveGroups => &[
            (E, CC6_3),
            (E, HIPAA_308_A3_C),
            (S, HIPAA_308_A4_C),
            (E, R2_3_9_2_B),
            (S, R2_3_1_2),
            (S, R3_03_09_02_A_01),
            (S, R3_03_01_01_B),
            (E, CSF_PR_AA_05),
            (E, ISO_A_5_18),
            (S, ISO_A_8_2),
            (S, CIS_6_2),
            (S, SP53_AC_2F),
        ],
        Measure::UnassignApps => &[
            (E, CC6_3),
            (E, HIPAA_308_A3_C),
            (E, R2_3_9_2_B),
            (S, R3_03_09_02_A_01),
            (E, CSF_PR_AA_05),
            (E, ISO_A_5_18),
            (S, CIS_6_2),
        ],
        Measure::SaasDeactivate => &[
            (E, CC6_2),
            (E, CC6_3),
            (E, HIPAA_308_A3_C),
            (E, R2_3_9_2_B),
            (E, R3_03_09_02_A_01),
            (E, CSF_PR_AA_05),
            (E, ISO_A_5_18),
            (E, CIS_6_2),
            (E, SP53_PS_4A),
        ],
        Measure::ConvertMailbox => &[(S, SP53_PS_4E)],
        Measure::DelegateOrForward => &[
            (S, CC6_3),
            (S, HIPAA_308_A4_C),
            (S, R3_03_01_01_D),
            (S, SP53_PS_4E),
        ],
        Measure::TransferData => &[(S, R3_03_01_01_D), (S, ISO_A_5_11), (S, SP53_PS_4E)],
        Measure::DeviceLock => &[
            (S, CC6_7),
            (S, HIPAA_308_A3_C),
            (S, R2_3_9_2_B),
            (S, R3_03_09_02_A_01),
            (S, ISO_A_8_1),
        ],
        Measure::DeviceWipe => &[
            (E, CC6_5),
            (S, HIPAA_310_D2_II),
            (S, HIPAA_310_D2_I),
            (S, R2_3_8_3),
            (S, R3_03_08_03),
            (E, CSF_ID_AM_08),
            (S, CSF_PR_PS_03),
            (E, ISO_A_8_1),
            (S, ISO_A_8_10),
            (S, ISO_A_7_14),
            (E, CIS_4_11),
            (S, SP53_MP_6),
        ],
        Measure::DeviceReturn => &[
            (E, CC6_4),
            (E, HIPAA_310_D2_III),
            (S, HIPAA_308_A3_C),
            (S, R2_3_9_2),
            // Evidences a.03 only when keys, tokens or badges came back too; a laptop alone
            // supports it, and Passage cannot see which, so it claims the lesser.
            (S, R3_03_09_02_A_03),
            (S, CSF_ID_AM_01),
            (S, CSF_ID_AM_08),
            (E, ISO_A_5_11),
            (E, SP53_PS_4D),
        ],
        Measure::Handover => &[(S, ISO_A_6_5), (S, ISO_A_5_11), (S, SP53_PS_4E)],
        Measure::SigninWatch => &[
            (V, CC6_2),
            (S, CC7_2),
            (E, HIPAA_308_A5_C),
            (S, HIPAA_308_A1_D),
            (V, R2_3_9_2_B),
            (V, R3_03_09_02_A_01),
            (E, R3_03_01_01_E),
            (E, CSF_DE_CM_03),
            (S, ISO_A_8_16),
            (S, SP53_AC_2G),
        ],
        // The operator's recorded, read-back re-grant supports provisioning under CC6.2 and
        // the authorised modification of access under CC6.3; it proves no removal.
        Measure::Regrant => &[(S, CC6_2), (S, CC6_3)],
    }
}
