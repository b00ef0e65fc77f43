#![cfg(feature = "microsoft")]
//! The identity platform token endpoint (client secret and certificate
//! assertion) and how Graph and the Exchange admin endpoint treat the
//! tokens: missing, expired, wrong audience, insufficient permissions.
//!
//! Certificates: the crate has no X.509 support, so the registered
//! credential is an RSA public key and `x5t` / `x5t#S256` are the SHA-1 /
//! SHA-256 thumbprints of the key's DER (`key_thumbprints`), standing in
//! for the certificate's.

use crate::microsoft_common as common;

use common::{
    Assertion, CLIENT_ID, GRAPH_SCOPE, Ms, claims, encode, expect_error, expect_token_error,
    header, now, rsa_key,
};
use jsonwebtoken::Algorithm;
use passage_sandbox::microsoft::{
    AppCredential, AppRegistration, DEMO_LEAVER, Resource, key_thumbprints,
};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CERT_APP: &str = "0c9a4b1e-6d7f-4a2b-9c3d-5e6f7a8b9c0d";

/// Registers an app authenticating with the test key; returns `(x5t,
/// x5t#S256)`.
fn register_cert_app(h: &Ms) -> (String, String) {
    let (_, public) = rsa_key();
    let credential = AppCredential::public_key(public).expect("pem");
    h.ms.register(AppRegistration::new(CERT_APP, credential));
    key_thumbprints(public).expect("pem")
}

fn for_cert_app(mut a: Assertion) -> Assertion {
    a.iss = CERT_APP.to_owned();
    a.sub = CERT_APP.to_owned();
    a
}

async fn assertion_request(h: &Ms, assertion: &str) -> reqwest::Response {
    h.token_request(&[
        ("client_id", CERT_APP),
        ("scope", GRAPH_SCOPE),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion),
        ("grant_type", "client_credentials"),
    ])
    .await
}

#[tokio::test]
async fn client_secret_issues_graph_and_exchange_tokens() {
    let h = Ms::start().await;
    let response = h
        .token_request(&[
            ("client_id", CLIENT_ID),
            ("client_secret", common::SECRET),
            ("scope", GRAPH_SCOPE),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(header(&response, "x-ms-request-id").is_some());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    let c = claims(token);
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert_eq!(c["tid"], h.ms.tenant_id());
    assert_eq!(c["appid"], CLIENT_ID);
    assert_eq!(c["idtyp"], "app");
    let roles: Vec<&str> = c["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(roles.contains(&"User.ReadWrite.All"));
    assert!(!roles.contains(&"Exchange.ManageAsApp"));

    let exo = claims(&h.exchange_token);
    assert_eq!(exo["aud"], "https://outlook.office365.com");
    assert_eq!(exo["roles"], json!(["Exchange.ManageAsApp"]));

    // The token works on Graph; the tenant may be named by domain too.
    let me = h.get(&format!("/v1.0/users/{}", encode(DEMO_LEAVER))).await;
    assert_eq!(me.status(), StatusCode::OK);
    let by_domain = h
        .http
        .post(format!("{}/example.com/oauth2/v2.0/token", h.ms.base_url()))
        .form(&[
            ("client_id", CLIENT_ID),
            ("client_secret", common::SECRET),
            ("scope", GRAPH_SCOPE),
            ("grant_type", "client_credentials"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(by_domain.status(), StatusCode::OK);
    assert_eq!(
        h.ms.counters().count("POST", "/{tenant}/oauth2/v2.0/token"),
        4
    );
    h.shutdown().await;
}

#[tokio::test]
async fn token_endpoint_errors_use_aadsts_codes() {
    let h = Ms::start().await;
    let form = |secret: &'static str, scope: &'static str, client: &'static str| {
        vec![
            ("client_id", client),
            ("client_secret", secret),
            ("scope", scope),
            ("grant_type", "client_credentials"),
        ]
    };
    let bad_secret = h
        .token_request(&form("wrong", GRAPH_SCOPE, CLIENT_ID))
        .await;
    let body = expect_token_error(bad_secret, 401, "invalid_client", 7_000_215).await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains(&format!("app '{CLIENT_ID}'"))
    );

    let unknown = h
        .token_request(&form(
            common::SECRET,
            GRAPH_SCOPE,
            "00000000-1111-2222-3333-444444444444",
        ))
        .await;
    expect_token_error(unknown, 400, "unauthorized_client", 700_016).await;

    let scope = h
        .token_request(&form(common::SECRET, "User.Read.All", CLIENT_ID))
        .await;
    expect_token_error(scope, 400, "invalid_scope", 1_002_012).await;

    let resource = h
        .token_request(&form(
            common::SECRET,
            "https://vault.example/.default",
            CLIENT_ID,
        ))
        .await;
    expect_token_error(resource, 400, "invalid_resource", 500_011).await;

    let no_credential = h
        .token_request(&[
            ("client_id", CLIENT_ID),
            ("scope", GRAPH_SCOPE),
            ("grant_type", "client_credentials"),
        ])
        .await;
    expect_token_error(no_credential, 401, "invalid_client", 7_000_218).await;

    let no_grant = h
        .token_request(&[("client_id", CLIENT_ID), ("client_secret", common::SECRET)])
        .await;
    expect_token_error(no_grant, 400, "invalid_request", 900_144).await;

    let wrong_tenant = h
        .http
        .post(format!("{}/contoso.org/oauth2/v2.0/token", h.ms.base_url()))
        .form(&form(common::SECRET, GRAPH_SCOPE, CLIENT_ID))
        .send()
        .await
        .unwrap();
    expect_token_error(wrong_tenant, 400, "invalid_request", 90_002).await;

    // The correlation id is the client-request-id the client sent.
    let correlated = h
        .http
        .post(h.ms.token_url())
        .header("client-request-id", "3f2504e0-4f89-11d3-9a0c-0305e82c3301")
        .form(&form("wrong", GRAPH_SCOPE, CLIENT_ID))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&correlated, "client-request-id").as_deref(),
        Some("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    );
    let body: Value = correlated.json().await.unwrap();
    assert_eq!(
        body["correlation_id"],
        "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    );
    h.shutdown().await;
}

#[tokio::test]
async fn certificate_assertion_rs256_and_ps256() {
    let h = Ms::start().await;
    let (x5t, s256) = register_cert_app(&h);
    let (private, _) = rsa_key();

    let rs256 = for_cert_app(Assertion::valid(&h.ms.token_url(), &x5t)).sign(private);
    let response = assertion_request(&h, &rs256).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims(token)["appid"], CERT_APP);
    assert_eq!(claims(token)["appidacr"], "2");
    let read = h
        .graph_as(
            token,
            Method::GET,
            &format!("/v1.0/users/{}", encode(DEMO_LEAVER)),
            None,
        )
        .await;
    assert_eq!(read.status(), StatusCode::OK);

    // PS256 naming the key by x5t#S256, audience naming the tenant by domain.
    let mut ps = for_cert_app(Assertion::valid(
        &format!(
            "{}/example.onmicrosoft.com/oauth2/v2.0/token",
            h.ms.base_url()
        ),
        "",
    ));
    ps.alg = Algorithm::PS256;
    ps.x5t = None;
    ps.x5t_s256 = Some(s256);
    let response = assertion_request(&h, &ps.sign(private)).await;
    assert_eq!(response.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn bad_assertions_are_rejected() {
    let h = Ms::start().await;
    let (x5t, _) = register_cert_app(&h);
    let (private, _) = rsa_key();
    let aud = h.ms.token_url();

    // Tampered signature: key found, verification fails.
    let good = for_cert_app(Assertion::valid(&aud, &x5t)).sign(private);
    let (head, sig) = good.rsplit_once('.').unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{head}.{flipped}{}", &sig[1..]);
    let body = expect_token_error(
        assertion_request(&h, &tampered).await,
        401,
        "invalid_client",
        700_027,
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("Key was found, but use of the key to verify the signature failed")
    );

    // Unknown thumbprint.
    let stranger =
        for_cert_app(Assertion::valid(&aud, "AAAAAAAAAAAAAAAAAAAAAAAAAAA")).sign(private);
    let body = expect_token_error(
        assertion_request(&h, &stranger).await,
        401,
        "invalid_client",
        700_027,
    )
    .await;
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("The key was not found")
    );

    // Expired.
    let mut expired = for_cert_app(Assertion::valid(&aud, &x5t));
    expired.nbf = now() - 3600;
    expired.exp = now() - 1200;
    expect_token_error(
        assertion_request(&h, &expired.sign(private)).await,
        401,
        "invalid_client",
        700_024,
    )
    .await;

    // Valid for longer than ten minutes ahead.
    let mut long = for_cert_app(Assertion::valid(&aud, &x5t));
    long.exp = now() + 3600;
    expect_token_error(
        assertion_request(&h, &long.sign(private)).await,
        401,
        "invalid_client",
        700_024,
    )
    .await;

    // Wrong audience (the Graph URL), and two audiences.
    let wrong_aud =
        for_cert_app(Assertion::valid("https://graph.microsoft.com", &x5t)).sign(private);
    expect_token_error(
        assertion_request(&h, &wrong_aud).await,
        401,
        "invalid_client",
        700_023,
    )
    .await;
    let mut two = for_cert_app(Assertion::valid(&aud, &x5t));
    two.aud = json!([aud, "https://login.microsoftonline.com/common/v2.0"]);
    expect_token_error(
        assertion_request(&h, &two.sign(private)).await,
        401,
        "invalid_client",
        5_002_741,
    )
    .await;

    // iss/sub must be the client id.
    let mut other_iss = for_cert_app(Assertion::valid(&aud, &x5t));
    other_iss.iss = CLIENT_ID.to_owned();
    expect_token_error(
        assertion_request(&h, &other_iss.sign(private)).await,
        401,
        "invalid_client",
        700_021,
    )
    .await;

    // A jti is single use.
    let once = for_cert_app(Assertion::valid(&aud, &x5t)).sign(private);
    assert_eq!(assertion_request(&h, &once).await.status(), StatusCode::OK);
    expect_token_error(
        assertion_request(&h, &once).await,
        401,
        "invalid_client",
        700_028,
    )
    .await;

    // Not a JWT at all.
    expect_token_error(
        assertion_request(&h, "not-a-jwt").await,
        401,
        "invalid_client",
        50_027,
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn graph_rejects_missing_expired_and_foreign_tokens() {
    let h = Ms::start().await;
    let path = format!("/v1.0/users/{}", encode(DEMO_LEAVER));

    let missing = h.http.get(h.url(&path)).send().await.unwrap();
    assert!(header(&missing, "www-authenticate").is_some());
    let body = expect_error(missing, 401, "InvalidAuthenticationToken").await;
    assert_eq!(body["error"]["message"], "Access token is empty.");

    let expired =
        h.ms.access_token_valid_for(CLIENT_ID, Resource::Graph, -3600)
            .unwrap();
    let body = expect_error(
        h.graph_as(&expired, Method::GET, &path, None).await,
        401,
        "InvalidAuthenticationToken",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "Access token has expired or is not yet valid."
    );

    // An Exchange token is for another audience.
    let body = expect_error(
        h.graph_as(&h.exchange_token, Method::GET, &path, None)
            .await,
        401,
        "InvalidAuthenticationToken",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "Access token validation failure. Invalid audience."
    );

    // Garbage and a forged signature.
    expect_error(
        h.graph_as("garbage", Method::GET, &path, None).await,
        401,
        "InvalidAuthenticationToken",
    )
    .await;
    let (head, _) = h.graph_token.rsplit_once('.').unwrap();
    let forged = format!("{head}.c2lnbmF0dXJl");
    expect_error(
        h.graph_as(&forged, Method::GET, &path, None).await,
        401,
        "InvalidAuthenticationToken",
    )
    .await;

    // A Graph token on the Exchange endpoint: a bare 401.
    let exo = h
        .cmdlet_as(
            &h.graph_token,
            "Get-Mailbox",
            json!({ "Identity": DEMO_LEAVER }),
        )
        .await;
    assert_eq!(exo.status(), StatusCode::UNAUTHORIZED);
    assert!(exo.bytes().await.unwrap().is_empty());

    // Nothing was changed and every response was counted.
    assert_eq!(h.ms.counters().with_status(401), 6);
    assert!(h.ms.audit_log().is_empty());
    h.shutdown().await;
}

#[tokio::test]
async fn permissions_come_from_token_roles() {
    let h = Ms::start().await;
    let reader = h.token_with_roles("aaaaaaaa-0000-0000-0000-000000000001", &["User.Read.All"]);
    let path = format!("/v1.0/users/{}", h.demo.leaver_id);

    assert_eq!(
        h.graph_as(&reader, Method::GET, &path, None).await.status(),
        StatusCode::OK
    );
    let body = expect_error(
        h.graph_as(
            &reader,
            Method::PATCH,
            &path,
            Some(json!({ "accountEnabled": false })),
        )
        .await,
        403,
        "Authorization_RequestDenied",
    )
    .await;
    assert_eq!(
        body["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    // The narrow permission for enable/disable is enough for accountEnabled.
    let toggler = h.token_with_roles(
        "aaaaaaaa-0000-0000-0000-000000000002",
        &["User.EnableDisableAccount.All", "User.Read.All"],
    );
    let patched = h
        .graph_as(
            &toggler,
            Method::PATCH,
            &path,
            Some(json!({ "accountEnabled": false })),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::NO_CONTENT);
    expect_error(
        h.graph_as(
            &toggler,
            Method::PATCH,
            &path,
            Some(json!({ "jobTitle": "Gone" })),
        )
        .await,
        403,
        "Authorization_RequestDenied",
    )
    .await;

    // Each workload answers a missing permission in its own dialect.
    let mailbox = h
        .graph_as(
            &reader,
            Method::GET,
            &format!("{path}/mailboxSettings"),
            None,
        )
        .await;
    expect_error(mailbox, 403, "ErrorAccessDenied").await;
    let methods = h
        .graph_as(
            &reader,
            Method::GET,
            &format!("{path}/authentication/methods"),
            None,
        )
        .await;
    expect_error(methods, 403, "accessDenied").await;
    let wipe = h
        .graph_as(
            &reader,
            Method::POST,
            &format!(
                "/v1.0/deviceManagement/managedDevices/{}/wipe",
                h.demo.device_id
            ),
            None,
        )
        .await;
    let body = expect_error(wipe, 403, "Forbidden").await;
    let message: Value = serde_json::from_str(body["error"]["message"].as_str().unwrap()).unwrap();
    assert_eq!(message["_version"], 3);
    assert!(
        message["Message"]
            .as_str()
            .unwrap()
            .contains("DeviceManagementManagedDevices.PrivilegedOperations.All")
    );
    assert!(h.ms.devices(DEMO_LEAVER)[0].actions.is_empty());

    // Permissions are read from the token: a grant after issuance needs a
    // new token.
    h.ms.set_graph_roles(
        "aaaaaaaa-0000-0000-0000-000000000001",
        &["User.ReadWrite.All"],
    );
    expect_error(
        h.graph_as(
            &reader,
            Method::PATCH,
            &path,
            Some(json!({ "jobTitle": "Gone" })),
        )
        .await,
        403,
        "Authorization_RequestDenied",
    )
    .await;
    let fresh =
        h.ms.access_token("aaaaaaaa-0000-0000-0000-000000000001", Resource::Graph)
            .unwrap();
    let ok = h
        .graph_as(
            &fresh,
            Method::PATCH,
            &path,
            Some(json!({ "jobTitle": "Gone" })),
        )
        .await;
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);

    // Exchange without Exchange.ManageAsApp: a bare 401.
    h.ms.set_exchange_roles(CLIENT_ID, &[]);
    let no_role = h.ms.access_token(CLIENT_ID, Resource::Exchange).unwrap();
    let exo = h
        .cmdlet_as(&no_role, "Get-Mailbox", json!({ "Identity": DEMO_LEAVER }))
        .await;
    assert_eq!(exo.status(), StatusCode::UNAUTHORIZED);
    h.shutdown().await;
}

#[tokio::test]
async fn every_response_carries_request_ids() {
    let h = Ms::start().await;
    let response = h
        .http
        .get(h.url(&format!("/v1.0/users/{}", encode(DEMO_LEAVER))))
        .bearer_auth(&h.graph_token)
        .header("client-request-id", "11111111-2222-3333-4444-555555555555")
        .send()
        .await
        .unwrap();
    let request_id = header(&response, "request-id").unwrap();
    assert!(uuid::Uuid::parse_str(&request_id).is_ok());
    assert_eq!(
        header(&response, "client-request-id").as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert!(
        header(&response, "x-ms-ags-diagnostic")
            .unwrap()
            .contains("ServerInfo")
    );
    // Without a client-request-id, Graph repeats the request id.
    let bare = h
        .http
        .get(h.url("/v1.0/users/nobody%40example.com"))
        .bearer_auth(&h.graph_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&bare, "request-id"),
        header(&bare, "client-request-id")
    );
    let body = expect_error(bare, 404, "Request_ResourceNotFound").await;
    assert_eq!(
        body["error"]["message"],
        "Resource 'nobody@example.com' does not exist or one of its queried reference-property objects are not present."
    );
    // Unknown paths answer Graph's segment error.
    let unknown = h.get("/v1.0/users/x/nonsense").await;
    expect_error(unknown, 400, "BadRequest").await;
    let unknown_exchange_tenant = h
        .http
        .post(format!(
            "{}/adminapi/beta/other.example/InvokeCommand",
            h.ms.base_url()
        ))
        .bearer_auth(&h.exchange_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown_exchange_tenant.status(), StatusCode::UNAUTHORIZED);
    h.shutdown().await;
}

#[tokio::test]
async fn a_read_only_app_changes_nothing() {
    let h = Ms::start().await;
    let token = h.token_with_roles(
        "cccccccc-0000-0000-0000-000000000001",
        &[
            "Directory.Read.All",
            "MailboxSettings.Read",
            "DeviceManagementManagedDevices.Read.All",
        ],
    );
    let user = h.demo.leaver_id.clone();
    let attempts: Vec<(Method, String, Option<Value>, &str)> = vec![
        (
            Method::PATCH,
            format!("/v1.0/users/{user}"),
            Some(json!({ "accountEnabled": false })),
            "Authorization_RequestDenied",
        ),
        (
            Method::POST,
            format!("/v1.0/users/{user}/revokeSignInSessions"),
            None,
            "Authorization_RequestDenied",
        ),
        (
            Method::DELETE,
            format!(
                "/v1.0/groups/{}/members/{user}/$ref",
                h.demo.security_group_id
            ),
            None,
            "Authorization_RequestDenied",
        ),
        (
            Method::POST,
            format!("/v1.0/users/{user}/assignLicense"),
            Some(json!({ "addLicenses": [], "removeLicenses": [h.demo.direct_sku_id] })),
            "Authorization_RequestDenied",
        ),
        (
            Method::DELETE,
            format!(
                "/v1.0/users/{user}/authentication/phoneMethods/{}",
                h.demo.method_ids[1]
            ),
            None,
            "accessDenied",
        ),
        (
            Method::PATCH,
            format!("/v1.0/users/{user}/mailboxSettings"),
            Some(json!({ "automaticRepliesSetting": { "status": "alwaysEnabled" } })),
            "ErrorAccessDenied",
        ),
        (
            Method::POST,
            format!("/v1.0/users/{user}/mailFolders/inbox/messageRules"),
            Some(json!({ "displayName": "fwd", "actions": {} })),
            "ErrorAccessDenied",
        ),
        (
            Method::POST,
            format!(
                "/v1.0/deviceManagement/managedDevices/{}/retire",
                h.demo.device_id
            ),
            None,
            "Forbidden",
        ),
    ];
    for (method, path, body, code) in attempts {
        let response = h.graph_as(&token, method, &path, body).await;
        expect_error(response, 403, code).await;
    }
    // Reads that the roles cover still work.
    for path in [
        format!("/v1.0/users/{user}?$select=accountEnabled"),
        format!("/v1.0/users/{user}/memberOf"),
        format!("/v1.0/users/{user}/licenseDetails"),
        format!("/v1.0/users/{user}/mailboxSettings?$select=userPurpose"),
        format!("/v1.0/users/{user}/managedDevices"),
    ] {
        assert_eq!(
            h.graph_as(&token, Method::GET, &path, None).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    assert!(h.ms.audit_log().is_empty());
    assert!(h.ms.user(DEMO_LEAVER).unwrap().account_enabled);
    assert_eq!(h.ms.user_groups(DEMO_LEAVER).len(), 3);
    h.shutdown().await;
}
