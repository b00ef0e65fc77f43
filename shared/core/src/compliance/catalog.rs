//! The controls Passage's evidence may be relevant to, each named as its framework names it.
//!
//! Ids carry framework and version (`SOC2-TSC2017:CC6.2`, `NIST-SP800-171r3:03.09.02.a.01`), so
//! no bare `3.9.2` is ever emitted and revisions never mix. `name` is the framework's own name
//! where it has one (ISO controls, 800-171 r3 and 800-53 requirements, CIS safeguards, HIPAA
//! headings with their Required/Addressable label); SOC 2 criteria, CSF 2.0 subcategories and
//! 800-171 r2 requirements have no official titles, so theirs is `None`. `summary` is always
//! Passage's own wording and is labelled as such wherever it is shown.

use serde::Serialize;

/// A framework, with the version its ids belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Framework {
    /// AICPA 2017 Trust Services Criteria (revised points of focus, 2022).
    Soc2Tsc2017,
    /// HIPAA Security Rule, 45 CFR Part 164 Subpart C.
    Hipaa,
    /// NIST SP 800-171 Revision 2.
    Nist800171r2,
    /// NIST SP 800-171 Revision 3.
    Nist800171r3,
    /// NIST Cybersecurity Framework 2.0.
    NistCsf20,
    /// ISO/IEC 27001:2022 Annex A.
    Iso27001_2022,
    /// CIS Critical Security Controls v8.
    CisV8,
    /// NIST SP 800-53 Revision 5.
    Nist80053r5,
}

impl Framework {
    /// The prefix of every id in this framework.
    pub fn prefix(self) -> &'static str {
        match self {
            Framework::Soc2Tsc2017 => "SOC2-TSC2017",
            Framework::Hipaa => "HIPAA",
            Framework::Nist800171r2 => "NIST-SP800-171r2",
            Framework::Nist800171r3 => "NIST-SP800-171r3",
            Framework::NistCsf20 => "NIST-CSF2.0",
            Framework::Iso27001_2022 => "ISO27001:2022",
            Framework::CisV8 => "CIS-v8",
            Framework::Nist80053r5 => "NIST-SP800-53r5",
        }
    }

    /// How the framework is named in reports.
    pub fn title(self) -> &'static str {
        match self {
            Framework::Soc2Tsc2017 => {
                "SOC 2 (AICPA Trust Services Criteria 2017, points of focus 2022)"
            }
            Framework::Hipaa => "HIPAA Security Rule (45 CFR 164)",
            Framework::Nist800171r2 => "NIST SP 800-171 Rev. 2",
            Framework::Nist800171r3 => "NIST SP 800-171 Rev. 3",
            Framework::NistCsf20 => "NIST CSF 2.0",
            Framework::Iso27001_2022 => "ISO/IEC 27001:2022 Annex A",
            Framework::CisV8 => "CIS Controls v8",
            Framework::Nist80053r5 => "NIST SP 800-53 Rev. 5",
        }
    }

    pub const ALL: [Framework; 8] = [
        Framework::Soc2Tsc2017,
        Framework::Hipaa,
        Framework::Nist800171r2,
        Framework::Nist800171r3,
        Framework::NistCsf20,
        Framework::Iso27001_2022,
        Framework::CisV8,
        Framework::Nist80053r5,
    ];
}

/// One control (or a requirement's item) of one framework.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Control {
    pub framework: Framework,
    /// The framework's own reference, e.g. `CC6.2`, `164.308(a)(3)(ii)(C)`, `03.09.02.a.01`.
    pub reference: &'static str,
    /// The framework's official name, where it has one.
    pub name: Option<&'static str>,
    /// Passage's summary (not official wording).
    pub summary: &'static str,
}

impl Control {
    /// The full id: framework and version, then the reference.
    pub fn id(&self) -> String {
        format!("{}:{}", self.framework.prefix(), self.reference)
    }
}

const fn c(
    framework: Framework,
    reference: &'static str,
    name: Option<&'static str>,
    summary: &'static str,
) -> Control {
    Control {
        framework,
        reference,
        name,
        summary,
    }
}

use Framework::*;

pub const CC6_2: Control = c(
    Soc2Tsc2017,
    "CC6.2",
    None,
    "user credentials are removed when access is no longer authorized",
);
pub const CC6_3: Control = c(
    Soc2Tsc2017,
    "CC6.3",
    None,
    "access is removed based on roles when no longer required",
);
pub const CC6_4: Control = c(
    Soc2Tsc2017,
    "CC6.4",
    None,
    "point of focus 'Recovers Physical Devices' (2022): entity devices are recovered",
);
pub const CC6_5: Control = c(
    Soc2Tsc2017,
    "CC6.5",
    None,
    "data is made unreadable before an asset leaves the entity's protection",
);
pub const CC6_7: Control = c(
    Soc2Tsc2017,
    "CC6.7",
    None,
    "point of focus 'Protects Endpoint Devices'",
);
pub const CC7_2: Control = c(
    Soc2Tsc2017,
    "CC7.2",
    None,
    "system components are monitored for anomalies",
);

pub const HIPAA_308_A3_C: Control = c(
    Hipaa,
    "164.308(a)(3)(ii)(C)",
    Some("Termination procedures (Addressable)"),
    "access to ePHI ends when employment ends",
);
pub const HIPAA_308_A4_C: Control = c(
    Hipaa,
    "164.308(a)(4)(ii)(C)",
    Some("Access establishment and modification (Addressable)"),
    "a user's right of access is established, documented and modified",
);
pub const HIPAA_308_A1_D: Control = c(
    Hipaa,
    "164.308(a)(1)(ii)(D)",
    Some("Information system activity review (Required)"),
    "records of system activity are reviewed",
);
pub const HIPAA_308_A5_C: Control = c(
    Hipaa,
    "164.308(a)(5)(ii)(C)",
    Some("Log-in monitoring (Addressable)"),
    "log-in attempts are monitored and discrepancies reported",
);
pub const HIPAA_310_D2_I: Control = c(
    Hipaa,
    "164.310(d)(2)(i)",
    Some("Disposal (Required)"),
    "final disposition of ePHI and the hardware holding it",
);
pub const HIPAA_310_D2_II: Control = c(
    Hipaa,
    "164.310(d)(2)(ii)",
    Some("Media re-use (Required)"),
    "ePHI removed from media before re-use",
);
pub const HIPAA_310_D2_III: Control = c(
    Hipaa,
    "164.310(d)(2)(iii)",
    Some("Accountability (Addressable)"),
    "a record of the movements of hardware and who is responsible",
);
pub const HIPAA_312_A1: Control = c(
    Hipaa,
    "164.312(a)(1)",
    Some("Standard: Access control"),
    "access only for those granted access rights",
);

pub const R2_3_1_1_D: Control = c(
    Nist800171r2,
    "3.1.1[d]",
    None,
    "system access is limited to authorized users",
);
pub const R2_3_1_2: Control = c(
    Nist800171r2,
    "3.1.2",
    None,
    "access limited to permitted transactions and functions",
);
pub const R2_3_8_3: Control = c(
    Nist800171r2,
    "3.8.3",
    None,
    "media with CUI sanitized before disposal or reuse",
);
pub const R2_3_9_2: Control = c(
    Nist800171r2,
    "3.9.2",
    None,
    "systems with CUI protected during and after terminations",
);
pub const R2_3_9_2_A: Control = c(
    Nist800171r2,
    "3.9.2[a]",
    None,
    "a process for terminating access and credentials with personnel actions is established",
);
pub const R2_3_9_2_B: Control = c(
    Nist800171r2,
    "3.9.2[b]",
    None,
    "access and credentials are terminated consistent with personnel actions",
);

pub const R3_03_01_01_B: Control = c(
    Nist800171r3,
    "03.01.01.b",
    Some("Account Management"),
    "accounts are disabled and removed per policy",
);
pub const R3_03_01_01_D: Control = c(
    Nist800171r3,
    "03.01.01.d",
    Some("Account Management"),
    "access is authorized (a grant to a manager is approved)",
);
pub const R3_03_01_01_E: Control = c(
    Nist800171r3,
    "03.01.01.e",
    Some("Account Management"),
    "use of system accounts is monitored",
);
pub const R3_03_01_01_G_02: Control = c(
    Nist800171r3,
    "03.01.01.g.02",
    Some("Account Management"),
    "account managers are notified within a set time when users are terminated",
);
pub const R3_03_05_12_C: Control = c(
    Nist800171r3,
    "03.05.12.c",
    Some("Authenticator Management"),
    "procedures for revoking authenticators",
);
pub const R3_03_08_03: Control = c(
    Nist800171r3,
    "03.08.03",
    Some("Media Sanitization"),
    "media with CUI sanitized before release",
);
pub const R3_03_09_02_A_01: Control = c(
    Nist800171r3,
    "03.09.02.a.01",
    Some("Personnel Termination and Transfer"),
    "system access disabled within the set time",
);
pub const R3_03_09_02_A_02: Control = c(
    Nist800171r3,
    "03.09.02.a.02",
    Some("Personnel Termination and Transfer"),
    "authenticators and credentials terminated or revoked",
);
pub const R3_03_09_02_A_03: Control = c(
    Nist800171r3,
    "03.09.02.a.03",
    Some("Personnel Termination and Transfer"),
    "security-related system property retrieved",
);

pub const CSF_PR_AA_01: Control = c(
    NistCsf20,
    "PR.AA-01",
    None,
    "identities and credentials are managed, including revocation",
);
pub const CSF_PR_AA_05: Control = c(
    NistCsf20,
    "PR.AA-05",
    None,
    "access permissions are managed and promptly rescinded when someone leaves",
);
pub const CSF_ID_AM_01: Control = c(
    NistCsf20,
    "ID.AM-01",
    None,
    "hardware inventories are maintained",
);
pub const CSF_ID_AM_08: Control = c(
    NistCsf20,
    "ID.AM-08",
    None,
    "assets are managed through their life cycle, including sanitization",
);
pub const CSF_PR_PS_03: Control = c(
    NistCsf20,
    "PR.PS-03",
    None,
    "hardware is removed commensurate with risk",
);
pub const CSF_GV_RR_04: Control = c(
    NistCsf20,
    "GV.RR-04",
    None,
    "cybersecurity is part of offboarding",
);
pub const CSF_DE_CM_03: Control = c(
    NistCsf20,
    "DE.CM-03",
    None,
    "personnel activity is monitored for adverse events",
);

pub const ISO_A_5_11: Control = c(
    Iso27001_2022,
    "A.5.11",
    Some("Return of assets"),
    "assets returned on leaving",
);
pub const ISO_A_5_16: Control = c(
    Iso27001_2022,
    "A.5.16",
    Some("Identity management"),
    "identities managed through their life cycle",
);
pub const ISO_A_5_17: Control = c(
    Iso27001_2022,
    "A.5.17",
    Some("Authentication information"),
    "authentication information managed and revoked",
);
pub const ISO_A_5_18: Control = c(
    Iso27001_2022,
    "A.5.18",
    Some("Access rights"),
    "access rights removed on leaving",
);
pub const ISO_A_6_5: Control = c(
    Iso27001_2022,
    "A.6.5",
    Some("Responsibilities after termination or change of employment"),
    "responsibilities handed over",
);
pub const ISO_A_7_14: Control = c(
    Iso27001_2022,
    "A.7.14",
    Some("Secure disposal or re-use of equipment"),
    "equipment made safe before disposal or re-use",
);
pub const ISO_A_8_1: Control = c(
    Iso27001_2022,
    "A.8.1",
    Some("User endpoint devices"),
    "information on endpoint devices protected",
);
pub const ISO_A_8_2: Control = c(
    Iso27001_2022,
    "A.8.2",
    Some("Privileged access rights"),
    "privileged access restricted and managed",
);
pub const ISO_A_8_10: Control = c(
    Iso27001_2022,
    "A.8.10",
    Some("Information deletion"),
    "information deleted when no longer required",
);
pub const ISO_A_8_16: Control = c(
    Iso27001_2022,
    "A.8.16",
    Some("Monitoring activities"),
    "networks, systems and applications monitored",
);

pub const CIS_4_11: Control = c(
    CisV8,
    "4.11",
    Some("Enforce Remote Wipe Capability on Portable End-User Devices"),
    "enterprise data wiped when someone no longer supports the enterprise",
);
pub const CIS_6_2: Control = c(
    CisV8,
    "6.2",
    Some("Establish an Access Revoking Process"),
    "access revoked by disabling accounts on termination",
);

pub const SP53_PS_4A: Control = c(
    Nist80053r5,
    "PS-4a",
    Some("Personnel Termination"),
    "system access disabled on termination",
);
pub const SP53_PS_4B: Control = c(
    Nist80053r5,
    "PS-4b",
    Some("Personnel Termination"),
    "authenticators and credentials revoked",
);
pub const SP53_PS_4D: Control = c(
    Nist80053r5,
    "PS-4d",
    Some("Personnel Termination"),
    "security-related property retrieved",
);
pub const SP53_PS_4E: Control = c(
    Nist80053r5,
    "PS-4e",
    Some("Personnel Termination"),
    "the organization retains access to the leaver's information",
);
pub const SP53_PS_4_2: Control = c(
    Nist80053r5,
    "PS-4(2)",
    Some("Personnel Termination | Automated Actions"),
    "automated notice or disabling on termination",
);
pub const SP53_AC_2F: Control = c(
    Nist80053r5,
    "AC-2f",
    Some("Account Management"),
    "accounts disabled and removed per policy",
);
pub const SP53_AC_2G: Control = c(
    Nist80053r5,
    "AC-2g",
    Some("Account Management"),
    "use of accounts is monitored",
);
pub const SP53_AC_2L: Control = c(
    Nist80053r5,
    "AC-2l",
    Some("Account Management"),
    "account management aligned with termination processes",
);
pub const SP53_AC_2H_2: Control = c(
    Nist80053r5,
    "AC-2h.2",
    Some("Account Management"),
    "account managers notified when users are terminated",
);
pub const SP53_IA_5D: Control = c(
    Nist80053r5,
    "IA-5d",
    Some("Authenticator Management"),
    "procedures for revoking authenticators",
);
pub const SP53_MP_6: Control = c(
    Nist80053r5,
    "MP-6",
    Some("Media Sanitization"),
    "media sanitized before disposal or reuse",
);
