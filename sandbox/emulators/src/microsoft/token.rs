//! The identity platform's v2.0 token endpoint for the client-credentials
//! grant, with a client secret or a signed client assertion, and the
//! access tokens it issues.
//!
//! Assertion checks follow the certificate-credentials contract: an `RS256`
//! or `PS256` JWT whose header names a registered key by `x5t` (or
//! `x5t#S256`), signed by that key, with `aud` = this token endpoint,
//! `iss` = `sub` = the client id, a `jti` never seen before, and a validity
//! window (`nbf`..`exp`) that contains now and ends no further ahead than
//! the configured maximum. Failures answer the platform's error JSON with
//! its AADSTS codes.
//!
//! Access tokens are JWTs with the claims Graph and Exchange read (`aud`,
//! `tid`, `appid`, `roles`, `exp`, …). Unlike production they are signed
//! with `HS256` and a key private to this emulator, so only it can verify
//! them.

use std::collections::{BTreeSet, HashMap, HashSet};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jiff::Timestamp;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::common::clock;
use crate::microsoft::cloud::Cloud;
use crate::microsoft::gate::{Caller, RequestCtx};
use crate::microsoft::service::{AppState, Shared};
use crate::microsoft::thumbprint::{self, key_thumbprints};

/// Lifetime of issued access tokens, as the platform reports it.
pub const TOKEN_LIFETIME_SECS: i64 = 3599;
/// Clock skew tolerated on assertion and access-token time claims.
const SKEW_SECS: i64 = 300;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CERT_DOCS: &str =
    "https://learn.microsoft.com/entra/identity-platform/certificate-credentials";

/// Application permissions (app roles) an offboarding app is typically
/// granted on Microsoft Graph; the default for [`AppRegistration::new`].
pub const OFFBOARDING_GRAPH_ROLES: &[&str] = &[
    "User.ReadWrite.All",
    "Directory.Read.All",
    "GroupMember.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "LicenseAssignment.ReadWrite.All",
    "MailboxSettings.ReadWrite",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.PrivilegedOperations.All",
    "AuditLog.Read.All",
    "Files.ReadWrite.All",
    "Calendars.ReadWrite",
];

/// Application permission on Office 365 Exchange Online needed for the
/// admin endpoint.
pub const EXCHANGE_MANAGE_AS_APP: &str = "Exchange.ManageAsApp";

/// Directory role template ids an app's service principal may hold; tokens
/// list the held ones in `wids`.
pub mod directory_roles {
    /// Global Administrator.
    pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
    /// Privileged Authentication Administrator.
    pub const PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: &str =
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13";
    /// User Administrator.
    pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
    /// Exchange Administrator: what an app needs for the admin endpoint's
    /// offboarding cmdlets; the default for [`super::AppRegistration::new`].
    pub const EXCHANGE_ADMINISTRATOR: &str = "29232cdf-9323-42fd-ade2-1d097af3e4de";
    /// Exchange Recipient Administrator.
    pub const EXCHANGE_RECIPIENT_ADMINISTRATOR: &str = "31392ffb-586c-42d1-9346-e59415a2cc4e";
}

/// The resource a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Resource {
    /// Microsoft Graph (`https://graph.microsoft.com/.default` in the global cloud).
    Graph,
    /// Exchange Online (`https://outlook.office365.com/.default`).
    Exchange,
}

impl Resource {
    fn host(self, cloud: Cloud) -> &'static str {
        match self {
            Self::Graph => cloud.graph_host(),
            Self::Exchange => cloud.exchange_host(),
        }
    }

    /// The `aud` of this cloud's tokens for this resource.
    pub fn audience(self, cloud: Cloud) -> String {
        format!("https://{}", self.host(cloud))
    }

    /// The client-credentials scope for this resource in `cloud`.
    pub fn scope(self, cloud: Cloud) -> String {
        format!("https://{}/.default", self.host(cloud))
    }

    /// Whether `aud` names this resource in `cloud`: its URI there (global Exchange also as
    /// `outlook.office.com`) or its application id, the same in every cloud.
    fn accepts_audience(self, cloud: Cloud, aud: &str) -> bool {
        let aud = aud.trim_end_matches('/');
        let uri = |host: &str| aud.eq_ignore_ascii_case(&format!("https://{host}"));
        match self {
            Self::Graph => uri(cloud.graph_host()) || aud == "00000003-0000-0000-c000-000000000000",
            Self::Exchange => {
                uri(cloud.exchange_host())
                    || (cloud == Cloud::Global && uri("outlook.office.com"))
                    || aud == "00000002-0000-0ff1-ce00-000000000000"
            }
        }
    }

    fn from_scope(scope: &str, cloud: Cloud) -> Option<Self> {
        let resource = scope.strip_suffix("/.default")?;
        [Self::Graph, Self::Exchange]
            .into_iter()
            .find(|r| r.accepts_audience(cloud, resource))
    }
}

/// A credential an app authenticates with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppCredential {
    /// A client secret (`client_secret=`).
    Secret(String),
    /// An RSA public key in PEM (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC
    /// KEY`) standing in for the certificate, and the `x5t` assertions
    /// carry to name it. Assertions may instead carry `x5t#S256` computed
    /// as in [`thumbprint::key_thumbprints`].
    PublicKey {
        /// The public key.
        pem: String,
        /// Base64url thumbprint that assertion headers send as `x5t`.
        x5t: String,
    },
}

impl AppCredential {
    /// A public-key credential whose `x5t` is the SHA-1 thumbprint of the
    /// key's DER (see [`thumbprint::key_thumbprints`]); `None` if the PEM
    /// cannot be read.
    pub fn public_key(pem: &str) -> Option<Self> {
        let (x5t, _) = key_thumbprints(pem)?;
        Some(Self::PublicKey {
            pem: pem.to_owned(),
            x5t,
        })
    }
}

/// An app registration with its granted application permissions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppRegistration {
    /// Application (client) id.
    pub client_id: String,
    /// Display name (shown in tokens and audit events).
    pub display_name: String,
    /// Credentials; any one authenticates.
    pub credentials: Vec<AppCredential>,
    /// Application permissions on Microsoft Graph (`roles` in Graph tokens).
    pub graph_roles: Vec<String>,
    /// Application permissions on Exchange Online (`roles` in Exchange
    /// tokens).
    pub exchange_roles: Vec<String>,
    /// Directory roles (template ids) assigned to the app's service
    /// principal (`wids` in every token it gets).
    pub directory_roles: Vec<String>,
}

impl AppRegistration {
    /// An app with one credential, [`OFFBOARDING_GRAPH_ROLES`],
    /// `Exchange.ManageAsApp` and the Exchange Administrator role.
    pub fn new(client_id: &str, credential: AppCredential) -> Self {
        Self {
            client_id: client_id.to_owned(),
            display_name: "Passage Offboarding".to_owned(),
            credentials: vec![credential],
            graph_roles: OFFBOARDING_GRAPH_ROLES
                .iter()
                .map(|r| (*r).to_owned())
                .collect(),
            exchange_roles: vec![EXCHANGE_MANAGE_AS_APP.to_owned()],
            directory_roles: vec![directory_roles::EXCHANGE_ADMINISTRATOR.to_owned()],
        }
    }

    /// The same app with exactly these Graph permissions.
    #[must_use]
    pub fn with_graph_roles(mut self, roles: &[&str]) -> Self {
        self.graph_roles = roles.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    /// The same app with exactly these Exchange permissions.
    #[must_use]
    pub fn with_exchange_roles(mut self, roles: &[&str]) -> Self {
        self.exchange_roles = roles.iter().map(|r| (*r).to_owned()).collect();
        self
    }

    /// The same app holding exactly these directory roles (template ids, see
    /// [`directory_roles`]).
    #[must_use]
    pub fn with_directory_roles(mut self, roles: &[&str]) -> Self {
        self.directory_roles = roles.iter().map(|r| (*r).to_owned()).collect();
        self
    }
}

/// A registered app plus what the emulator derives from it.
#[derive(Clone, Debug)]
pub(crate) struct AppRecord {
    pub reg: AppRegistration,
    pub service_principal_id: String,
    pub key_created: Timestamp,
}

impl AppRecord {
    pub(crate) fn new(reg: AppRegistration, service_principal_id: String) -> Self {
        Self {
            reg,
            service_principal_id,
            key_created: clock::now(),
        }
    }

    fn roles_for(&self, resource: Resource) -> Vec<String> {
        let roles = match resource {
            Resource::Graph => &self.reg.graph_roles,
            Resource::Exchange => &self.reg.exchange_roles,
        };
        roles
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

/// Claims of issued access tokens (v1.0 shape, as Graph receives them).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub app_displayname: String,
    pub appid: String,
    pub appidacr: String,
    pub idp: String,
    pub idtyp: String,
    pub oid: String,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Directory role template ids of the service principal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wids: Vec<String>,
    pub sub: String,
    pub tenant_region_scope: String,
    pub tid: String,
    pub uti: String,
    pub ver: String,
}

/// Tokens the emulator refuses as expired before their `exp`: the knobs of
/// [`super::MicrosoftEmulator::expire_issued_tokens`] and
/// [`super::MicrosoftEmulator::refuse_every_token`]. Tokens are named by `uti`.
#[derive(Debug, Default)]
pub(crate) struct Expiry {
    issued: HashSet<String>,
    expired: HashSet<String>,
    pub refuse_all: bool,
}

impl Expiry {
    pub(crate) fn expire_issued(&mut self) {
        self.expired.extend(self.issued.drain());
    }

    fn refuses(&self, uti: &str) -> bool {
        self.refuse_all || self.expired.contains(uti)
    }
}

/// Mints an access token for `app`.
pub(crate) fn mint(
    shared: &Shared,
    app: &AppRecord,
    resource: Resource,
    valid_for_secs: i64,
    acr: &str,
) -> String {
    let now = clock::now().as_second();
    let claims = AccessClaims {
        aud: resource.audience(shared.cloud),
        iss: format!("https://sts.windows.net/{}/", shared.tenant_id),
        iat: now,
        nbf: now,
        exp: now + valid_for_secs,
        app_displayname: app.reg.display_name.clone(),
        appid: app.reg.client_id.clone(),
        appidacr: acr.to_owned(),
        idp: format!("https://sts.windows.net/{}/", shared.tenant_id),
        idtyp: "app".to_owned(),
        oid: app.service_principal_id.clone(),
        roles: app.roles_for(resource),
        wids: app.reg.directory_roles.clone(),
        sub: app.service_principal_id.clone(),
        tenant_region_scope: "EU".to_owned(),
        tid: shared.tenant_id.clone(),
        uti: crate::common::ids::url_safe(&mut rand::thread_rng(), 22),
        ver: "1.0".to_owned(),
    };
    crate::common::lock(&shared.expiry)
        .issued
        .insert(claims.uti.clone());
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("passage-sandbox".to_owned());
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_secret(&shared.token_key),
    )
    .unwrap_or_default()
}

/// Why a bearer token was refused (the Graph message for each case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    Missing,
    Malformed,
    BadSignature,
    Expired,
    WrongAudience,
}

impl TokenProblem {
    pub(crate) fn graph_message(self) -> &'static str {
        match self {
            Self::Missing => "Access token is empty.",
            Self::Malformed => "CompactToken parsing failed with error code: 80049217",
            Self::BadSignature => "Access token validation failure.",
            Self::Expired => "Access token has expired or is not yet valid.",
            Self::WrongAudience => "Access token validation failure. Invalid audience.",
        }
    }
}

/// Validates `Authorization: Bearer …` for `resource`.
pub(crate) fn authenticate(
    shared: &Shared,
    headers: &HeaderMap,
    resource: Resource,
) -> Result<Caller, TokenProblem> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(TokenProblem::Missing);
    }
    if token.split('.').count() != 3 || jsonwebtoken::decode_header(token).is_err() {
        return Err(TokenProblem::Malformed);
    }
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<AccessClaims>(
        token,
        &DecodingKey::from_secret(&shared.token_key),
        &validation,
    )
    .map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature
        | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => TokenProblem::BadSignature,
        _ => TokenProblem::Malformed,
    })?;
    let claims = data.claims;
    let now = clock::now().as_second();
    let expired = crate::common::lock(&shared.expiry).refuses(&claims.uti);
    if expired || now > claims.exp + SKEW_SECS || now + SKEW_SECS < claims.nbf {
        return Err(TokenProblem::Expired);
    }
    if !resource.accepts_audience(shared.cloud, &claims.aud) || claims.tid != shared.tenant_id {
        return Err(TokenProblem::WrongAudience);
    }
    Ok(Caller {
        app_id: claims.appid,
        app_name: claims.app_displayname,
        service_principal_id: claims.oid,
        roles: claims.roles,
        wids: claims.wids,
    })
}

// ----- token endpoint ------------------------------------------------------------

/// An identity-platform error: `{"error","error_description","error_codes",…}`.
#[derive(Debug)]
struct TokenError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    description: String,
}

impl TokenError {
    fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            code,
            description: description.into(),
        }
    }

    fn invalid_client(code: u32, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            code,
            description,
        )
    }

    fn missing(param: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900_144,
            format!("The request body must contain the following parameter: '{param}'."),
        )
    }

    fn malformed_assertion() -> Self {
        Self::invalid_client(50_027, "JWT token is invalid or malformed.")
    }

    fn render(self, ctx: &RequestCtx) -> Response {
        let now = clock::now();
        let stamp = format!(
            "{}",
            Timestamp::from_second(now.as_second())
                .unwrap_or(now)
                .strftime("%Y-%m-%d %H:%M:%SZ")
        );
        let trace_id = &ctx.request_id;
        let correlation_id = &ctx.client_request_id;
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {stamp}",
                self.code, self.description
            ),
            "error_codes": [self.code],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        let mut response = (self.status, Json(body)).into_response();
        set_trace_header(&mut response, trace_id);
        response
    }
}

fn set_trace_header(response: &mut Response, trace_id: &str) {
    if let Ok(v) = HeaderValue::from_str(trace_id) {
        response.headers_mut().insert("x-ms-request-id", v);
    }
    response.headers_mut().insert(
        "x-ms-ests-server",
        HeaderValue::from_static("2.1.0 - passage-sandbox"),
    );
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token_endpoint(
    State(app): State<AppState>,
    Extension(ctx): Extension<RequestCtx>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    match issue(&app.shared, &tenant, &body) {
        Ok(response) => {
            let mut response = (StatusCode::OK, Json(response)).into_response();
            set_trace_header(&mut response, &ctx.request_id);
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, no-cache"),
            );
            response
        }
        Err(e) => e.render(&ctx),
    }
}

fn issue(shared: &Shared, tenant: &str, body: &[u8]) -> Result<Value, TokenError> {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let field = |name: &str| form.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

    if !shared.is_tenant(tenant) {
        return Err(TokenError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90_002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
            ),
        ));
    }
    let grant_type = field("grant_type").ok_or_else(|| TokenError::missing("grant_type"))?;
    if grant_type != "client_credentials" {
        return Err(TokenError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70_003,
            format!("The app requested an unsupported grant type '{grant_type}'."),
        ));
    }
    let client_id = field("client_id").ok_or_else(|| TokenError::missing("client_id"))?;
    let app = shared.app(client_id).ok_or_else(|| {
        TokenError::new(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700_016,
            format!(
                "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                shared.tenant_domain
            ),
        )
    })?;
    let scope = field("scope").ok_or_else(|| TokenError::missing("scope"))?;
    let resource = resource_for_scope(scope, tenant, shared.cloud)?;

    let acr = match (field("client_secret"), field("client_assertion")) {
        (Some(secret), _) => {
            let ok = app
                .reg
                .credentials
                .iter()
                .any(|c| matches!(c, AppCredential::Secret(s) if s == secret));
            if !ok {
                return Err(TokenError::invalid_client(
                    7_000_215,
                    format!(
                        "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
                    ),
                ));
            }
            "1"
        }
        (None, Some(assertion)) => {
            match field("client_assertion_type") {
                Some(JWT_BEARER) => {}
                Some(other) => {
                    return Err(TokenError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_request",
                        50_027,
                        format!(
                            "Invalid client_assertion_type '{other}'. Expected '{JWT_BEARER}'."
                        ),
                    ));
                }
                None => return Err(TokenError::missing("client_assertion_type")),
            }
            verify_assertion(shared, &app, assertion)?;
            "2"
        }
        (None, None) => {
            return Err(TokenError::invalid_client(
                7_000_218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
    };
    let token = mint(shared, &app, resource, TOKEN_LIFETIME_SECS, acr);
    Ok(json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS,
        "ext_expires_in": TOKEN_LIFETIME_SECS,
        "access_token": token,
    }))
}

fn resource_for_scope(scope: &str, tenant: &str, cloud: Cloud) -> Result<Resource, TokenError> {
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let invalid = |s: &str| {
        TokenError::new(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1_002_012,
            format!(
                "The provided value for scope {s} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        )
    };
    let [single] = scopes.as_slice() else {
        return Err(invalid(scope));
    };
    if !single.ends_with("/.default") {
        return Err(invalid(single));
    }
    Resource::from_scope(single, cloud).ok_or_else(|| {
        let resource = single.trim_end_matches("/.default");
        TokenError::new(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500_011,
            format!(
                "The resource principal named {resource} was not found in the tenant named {tenant}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        )
    })
}

fn verify_assertion(shared: &Shared, app: &AppRecord, assertion: &str) -> Result<(), TokenError> {
    let client_id = &app.reg.client_id;
    let header =
        jsonwebtoken::decode_header(assertion).map_err(|_| TokenError::malformed_assertion())?;
    if !matches!(header.alg, Algorithm::RS256 | Algorithm::PS256) {
        return Err(TokenError::malformed_assertion());
    }
    let presented = header
        .x5t
        .clone()
        .or_else(|| header.x5t_s256.clone())
        .or_else(|| header.kid.clone())
        .unwrap_or_default();
    let key_pem = app.reg.credentials.iter().find_map(|c| match c {
        AppCredential::PublicKey { pem, x5t } => {
            let s256 = key_thumbprints(pem).map(|(_, s)| s).unwrap_or_default();
            let matches = header.x5t.as_deref() == Some(x5t.as_str())
                || header.x5t_s256.as_deref() == Some(s256.as_str())
                || header
                    .kid
                    .as_deref()
                    .is_some_and(|k| k.eq_ignore_ascii_case(&thumbprint::thumbprint_hex(x5t)));
            matches.then(|| pem.clone())
        }
        AppCredential::Secret(_) => None,
    });
    let Some(pem) = key_pem else {
        return Err(TokenError::invalid_client(
            700_027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{client_id}']",
                thumbprint::thumbprint_hex(&presented)
            ),
        ));
    };
    let key =
        DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| TokenError::malformed_assertion())?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims: Value = jsonwebtoken::decode::<Value>(assertion, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature
            | jsonwebtoken::errors::ErrorKind::InvalidRsaKey(_)
            | jsonwebtoken::errors::ErrorKind::InvalidKeyFormat => {
                let start = app.key_created;
                let end = start
                    .checked_add(jiff::SignedDuration::from_hours(24 * 365))
                    .unwrap_or(start);
                TokenError::invalid_client(
                    700_027,
                    format!(
                        "Client assertion contains an invalid signature. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{}', Found key 'Start={}, End={}']",
                        thumbprint::thumbprint_hex(&presented),
                        start.strftime("%m/%d/%Y %H:%M:%S"),
                        end.strftime("%m/%d/%Y %H:%M:%S"),
                    ),
                )
            }
            _ => TokenError::malformed_assertion(),
        })?
        .claims;

    // aud: the token endpoint of this tenant.
    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    if audiences.len() > 1 {
        return Err(TokenError::invalid_client(
            5_002_741,
            format!(
                "Number of audience values in the provided client credential exceed maximum allowed. {} audience values provided, maximum allowed is 1.",
                audiences.len()
            ),
        ));
    }
    let aud_ok = audiences
        .first()
        .is_some_and(|a| shared.accepted_assertion_audiences().contains(a));
    if !aud_ok {
        return Err(TokenError::invalid_client(
            700_023,
            format!(
                "Client assertion audience claim does not match Realm issuer. Review the documentation at {CERT_DOCS} ."
            ),
        ));
    }

    // iss = sub = client_id.
    let iss = claims.get("iss").and_then(Value::as_str);
    let sub = claims.get("sub").and_then(Value::as_str);
    if iss != Some(client_id.as_str()) || sub != Some(client_id.as_str()) {
        return Err(TokenError::invalid_client(
            700_021,
            format!(
                "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at {CERT_DOCS} ."
            ),
        ));
    }

    // Validity window.
    let now = clock::now().as_second();
    let exp = claims.get("exp").and_then(Value::as_i64);
    let nbf = claims.get("nbf").and_then(Value::as_i64).unwrap_or(0);
    let Some(exp) = exp else {
        return Err(TokenError::malformed_assertion());
    };
    let max_ahead = shared.max_assertion_lifetime_secs;
    if now > exp + SKEW_SECS || now + SKEW_SECS < nbf || exp - now > max_ahead + SKEW_SECS {
        return Err(TokenError::invalid_client(
            700_024,
            format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Review the documentation at {CERT_DOCS} .",
                seven_digits(clock::now()),
                seven_digits(Timestamp::from_second(nbf).unwrap_or(Timestamp::UNIX_EPOCH)),
                seven_digits(Timestamp::from_second(exp).unwrap_or(Timestamp::UNIX_EPOCH)),
            ),
        ));
    }

    // jti: required, single use.
    let Some(jti) = claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty())
    else {
        return Err(TokenError::malformed_assertion());
    };
    if !shared.spend_jti(client_id, jti, exp + SKEW_SECS, now) {
        return Err(TokenError::invalid_client(
            700_028,
            format!(
                "The client assertion has already been used (jti '{jti}'). Each assertion must be unique."
            ),
        ));
    }
    Ok(())
}

/// `2024-10-02T22:05:03.6755165Z`, as the platform quotes instants.
fn seven_digits(ts: Timestamp) -> String {
    format!(
        "{}.{:07}Z",
        ts.strftime("%Y-%m-%dT%H:%M:%S"),
        ts.subsec_nanosecond() / 100
    )
}
