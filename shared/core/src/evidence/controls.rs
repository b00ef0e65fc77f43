//! Which compliance controls each action evidences.

use crate::domain::Action;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, PartialOrd, Ord)]
pub struct Control {
    pub id: &'static str,
    pub title: &'static str,
}

const SOC2_CC6_2: Control = Control {
    id: "SOC2:CC6.2",
    title: "Credentials are removed when access is no longer authorized",
};
const SOC2_CC6_3: Control = Control {
    id: "SOC2:CC6.3",
    title: "Access is removed when no longer required (roles, groups, apps)",
};
const HIPAA: Control = Control {
    id: "HIPAA:164.308(a)(3)(ii)(C)",
    title: "Termination procedures: access to ePHI ends when employment ends",
};
const NIST171_3_9_2: Control = Control {
    id: "NIST800-171r2:3.9.2",
    title: "Systems protected during and after personnel terminations",
};
const NIST171_3_1_1: Control = Control {
    id: "NIST800-171r2:3.1.1",
    title: "System access limited to authorized users",
};
const NIST171_3_5: Control = Control {
    id: "NIST800-171r3:03.05.12",
    title: "Authenticators revoked on termination",
};
const CSF_PR_AA_01: Control = Control {
    id: "CSF2:PR.AA-01",
    title: "Identities and credentials are managed, including revocation",
};
const CSF_PR_AA_05: Control = Control {
    id: "CSF2:PR.AA-05",
    title: "Privileges rescinded promptly when someone leaves",
};
const ISO_A_5_18: Control = Control {
    id: "ISO27001:2022:A.5.18",
    title: "Access rights removed in a timely manner on leaving",
};
const ISO_A_5_11: Control = Control {
    id: "ISO27001:2022:A.5.11",
    title: "Organisation's assets returned (or made safe) on leaving",
};

/// The controls an action evidences when verified.
pub fn controls_for(action: Action) -> Vec<Control> {
    match action {
        Action::Snapshot => vec![ISO_A_5_18, SOC2_CC6_3],
        Action::RevokeSessions => vec![
            SOC2_CC6_2,
            HIPAA,
            NIST171_3_9_2,
            NIST171_3_5,
            CSF_PR_AA_01,
            ISO_A_5_18,
        ],
        Action::RevokeGrants => vec![SOC2_CC6_2, SOC2_CC6_3, NIST171_3_5, CSF_PR_AA_01],
        Action::RemoveGroups => vec![SOC2_CC6_3, HIPAA, CSF_PR_AA_05, ISO_A_5_18],
        Action::ResetFactors => vec![SOC2_CC6_2, NIST171_3_5, CSF_PR_AA_01, ISO_A_5_18],
        Action::UnassignApps | Action::RemoveLicenses => {
            vec![SOC2_CC6_3, CSF_PR_AA_05, ISO_A_5_18]
        }
        Action::SetAutoReply
        | Action::ForwardMail
        | Action::DelegateMailbox
        | Action::ConvertMailbox
        | Action::TransferData => vec![NIST171_3_9_2, ISO_A_5_18],
        Action::SecureDevices => vec![HIPAA, NIST171_3_9_2, ISO_A_5_11],
        Action::ReturnDevices => vec![HIPAA, NIST171_3_9_2, ISO_A_5_11],
        Action::ConfirmHandover => vec![NIST171_3_9_2, ISO_A_5_11],
        Action::Suspend | Action::Deactivate => vec![
            SOC2_CC6_2,
            HIPAA,
            NIST171_3_9_2,
            NIST171_3_1_1,
            CSF_PR_AA_01,
            CSF_PR_AA_05,
            ISO_A_5_18,
        ],
    }
}
