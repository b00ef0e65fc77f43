//! The Microsoft cloud a tenant lives in. Each national cloud has its own identity platform,
//! Graph and Exchange hosts, and tokens are issued for one cloud's resources only: scopes
//! "that contain the Microsoft Graph domain must use the domain of the national cloud"
//! (<https://learn.microsoft.com/graph/sdks/national-clouds>). The hosts a tenant configures
//! may differ (a proxy, the sandbox), the token scopes may not.

use serde::{Deserialize, Serialize};

/// A Microsoft cloud (<https://learn.microsoft.com/graph/deployments>).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    /// The global service, and GCC, which uses the worldwide endpoints.
    #[default]
    Global,
    /// US Government L4 (GCC High).
    UsGovHigh,
    /// US Government L5 (DoD).
    UsGovDod,
    /// China, operated by 21Vianet.
    China,
}

impl Cloud {
    /// The identity platform's origin.
    pub fn login_url(self) -> &'static str {
        match self {
            Self::Global => "https://login.microsoftonline.com",
            Self::UsGovHigh | Self::UsGovDod => "https://login.microsoftonline.us",
            Self::China => "https://login.chinacloudapi.cn",
        }
    }

    /// Microsoft Graph's origin, which is also its resource URI.
    pub fn graph_url(self) -> &'static str {
        match self {
            Self::Global => "https://graph.microsoft.com",
            Self::UsGovHigh => "https://graph.microsoft.us",
            Self::UsGovDod => "https://dod-graph.microsoft.us",
            Self::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }

    /// Exchange Online's origin, which is also its resource URI. China's host is the one
    /// the Exchange Online endpoint lists give for 21Vianet (`partner.outlook.cn`).
    pub fn exchange_url(self) -> &'static str {
        match self {
            Self::Global => "https://outlook.office365.com",
            Self::UsGovHigh => "https://outlook.office365.us",
            Self::UsGovDod => "https://outlook-dod.office365.us",
            Self::China => "https://partner.outlook.cn",
        }
    }
}
