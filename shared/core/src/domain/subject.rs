use serde::{Deserialize, Serialize};

/// The person leaving, as the HR system names them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// The HR system's id, unique within the tenant.
    pub employee_id: String,
    /// Work email: how connectors find the account in each provider.
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// IANA zone the cutoff was computed in.
    pub time_zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
}

/// Who inherits the leaver's mail and files, and confirms hand-over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manager {
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_id: Option<String>,
}
