//! The Microsoft cloud an emulator plays: each national cloud has its own identity platform,
//! Graph and Exchange hosts, and a token is for one cloud's resource only. A client that asks
//! a national cloud's token endpoint for `https://graph.microsoft.com/.default` is refused
//! (AADSTS500011), and a token whose `aud` names another cloud's Graph is refused by Graph.
//! Hosts from <https://learn.microsoft.com/graph/deployments> and the Exchange Online
//! endpoint lists.

/// A Microsoft cloud.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cloud {
    /// The global service (also GCC).
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
    /// Every cloud.
    pub const ALL: [Cloud; 4] = [Self::Global, Self::UsGovHigh, Self::UsGovDod, Self::China];

    /// The identity platform's host.
    pub fn login_host(self) -> &'static str {
        match self {
            Self::Global => "login.microsoftonline.com",
            Self::UsGovHigh | Self::UsGovDod => "login.microsoftonline.us",
            Self::China => "login.chinacloudapi.cn",
        }
    }

    /// Microsoft Graph's host, which is also its token audience.
    pub fn graph_host(self) -> &'static str {
        match self {
            Self::Global => "graph.microsoft.com",
            Self::UsGovHigh => "graph.microsoft.us",
            Self::UsGovDod => "dod-graph.microsoft.us",
            Self::China => "microsoftgraph.chinacloudapi.cn",
        }
    }

    /// Exchange Online's host, which is also its token audience.
    pub fn exchange_host(self) -> &'static str {
        match self {
            Self::Global => "outlook.office365.com",
            Self::UsGovHigh => "outlook.office365.us",
            Self::UsGovDod => "outlook-dod.office365.us",
            Self::China => "partner.outlook.cn",
        }
    }
}
