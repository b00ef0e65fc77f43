#![cfg(feature = "google")]
//! The service-account flow: assertion checks at the token endpoint and
//! bearer-token, scope and privilege checks on the APIs.

use crate::google_support as support;

use passage_sandbox::google::{GOOGLE_TOKEN_URL, SeedUser, scopes};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{
    ADMIN_SCOPES, GMAIL_SCOPES, Harness, KEY_ID, SA_CLIENT_ID, SA_EMAIL, expect_error,
    expect_token_error, key, now_secs, sign, stranger_key, user_path,
};

#[tokio::test]
async fn a_signed_assertion_buys_a_bearer_token_that_works() {
    let h = Harness::start().await;
    let response = h
        .exchange_claims(&h.claims(Some(&h.demo.admin_email), ADMIN_SCOPES))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    assert!(token.starts_with("ya29."), "{token}");

    let user = h.get_json(&user_path(&h.demo.leaver_email), token).await;
    assert_eq!(user["primaryEmail"], h.demo.leaver_email);
    assert_eq!(h.google.counters().count("POST", "/token"), 1);
    assert_eq!(h.google.live_access_tokens(), 1);

    // Google's own token URL is an acceptable audience too, and `aud` may
    // be a list.
    let mut claims = h.claims(Some(&h.demo.admin_email), ADMIN_SCOPES);
    claims["aud"] = json!(GOOGLE_TOKEN_URL);
    assert_eq!(h.exchange_claims(&claims).await.status(), StatusCode::OK);
    claims["aud"] = json!(["https://example.org/other", h.google.token_url()]);
    assert_eq!(h.exchange_claims(&claims).await.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn assertions_with_bad_signatures_audiences_or_times_are_refused() {
    let h = Harness::start().await;
    let claims = h.claims(Some(&h.demo.admin_email), ADMIN_SCOPES);

    // Signed by a key the account does not have.
    let forged = sign(&claims, &stranger_key().private_pem, Some(KEY_ID));
    let why = expect_token_error(h.exchange(&forged).await, 400, "invalid_grant").await;
    assert_eq!(why, "Invalid JWT Signature.");
    // A key id the account does not have.
    let unknown_kid = sign(&claims, &key().private_pem, Some("0000"));
    expect_token_error(h.exchange(&unknown_kid).await, 400, "invalid_grant").await;
    // Tampered claims.
    let genuine = sign(&claims, &key().private_pem, Some(KEY_ID));
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let other = sign(
        &h.claims(Some(&h.demo.leaver_email), ADMIN_SCOPES),
        &key().private_pem,
        Some(KEY_ID),
    );
    parts[1] = other.split('.').nth(1).unwrap();
    let why = expect_token_error(h.exchange(&parts.join(".")).await, 400, "invalid_grant").await;
    assert_eq!(why, "Invalid JWT Signature.");
    // Not a JWT at all.
    expect_token_error(h.exchange("not-a-jwt").await, 400, "invalid_grant").await;

    let mut wrong_aud = claims.clone();
    wrong_aud["aud"] = json!("https://www.googleapis.com/");
    let why = expect_token_error(h.exchange_claims(&wrong_aud).await, 400, "invalid_grant").await;
    assert_eq!(why, "Invalid JWT: Failed audience check.");

    let now = now_secs();
    for (iat, exp) in [
        (now - 7200, now - 3600), // expired
        (now, now + 4 * 3600),    // longer than an hour
        (now + 3600, now + 7000), // issued in the future
        (now, now - 10),          // exp before iat
    ] {
        let mut timed = claims.clone();
        timed["iat"] = json!(iat);
        timed["exp"] = json!(exp);
        let why = expect_token_error(h.exchange_claims(&timed).await, 400, "invalid_grant").await;
        assert!(
            why.starts_with("Invalid JWT: Token must be a short-lived token"),
            "{why}"
        );
    }

    let mut stranger = claims.clone();
    stranger["iss"] = json!("nobody@elsewhere.iam.gserviceaccount.com");
    expect_token_error(h.exchange_claims(&stranger).await, 400, "invalid_grant").await;

    // Wrong grant type, no assertion.
    let response = h
        .http
        .post(h.google.token_url())
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    expect_token_error(response, 400, "unsupported_grant_type").await;
    let response = h
        .http
        .post(h.google.token_url())
        .form(&[("grant_type", passage_sandbox::google::JWT_BEARER)])
        .send()
        .await
        .unwrap();
    expect_token_error(response, 400, "invalid_request").await;

    // A disabled key.
    assert!(h.google.set_key_disabled(KEY_ID, true));
    expect_token_error(h.exchange_claims(&claims).await, 400, "disabled_client").await;
    h.google.set_key_disabled(KEY_ID, false);
    assert_eq!(h.exchange_claims(&claims).await.status(), StatusCode::OK);
    h.shutdown().await;
}

#[tokio::test]
async fn delegation_is_limited_to_the_authorised_scopes_and_active_users() {
    let h = Harness::start().await;
    let admin = h.demo.admin_email.clone();

    // A scope outside the delegation allow-list.
    let why = expect_token_error(
        h.exchange_claims(&h.claims(Some(&admin), &[scopes::DIRECTORY_DEVICE_MOBILE]))
            .await,
        401,
        "unauthorized_client",
    )
    .await;
    assert!(why.starts_with("Client is unauthorized"), "{why}");
    // No delegation at all.
    h.google.set_delegated_scopes(SA_CLIENT_ID, &[]);
    let why = expect_token_error(
        h.exchange_claims(&h.claims(Some(&admin), ADMIN_SCOPES))
            .await,
        401,
        "unauthorized_client",
    )
    .await;
    assert_eq!(why, "Unauthorized client or scope in request.");
    h.google.set_delegated_scopes(SA_CLIENT_ID, ADMIN_SCOPES);

    // Unknown or empty scopes.
    expect_token_error(
        h.exchange_claims(&h.claims(Some(&admin), &["admin.directory.user"]))
            .await,
        400,
        "invalid_scope",
    )
    .await;
    expect_token_error(
        h.exchange_claims(&h.claims(Some(&admin), &[])).await,
        400,
        "invalid_scope",
    )
    .await;

    // Subjects: suspended, unknown, outside the domain, not an address.
    for sub in [
        "old.contractor@example.com",
        "ghost@example.com",
        "someone@gmail.com",
    ] {
        let why = expect_token_error(
            h.exchange_claims(&h.claims(Some(sub), ADMIN_SCOPES)).await,
            400,
            "invalid_grant",
        )
        .await;
        assert_eq!(why, "Invalid email or User ID", "{sub}");
    }
    expect_token_error(
        h.exchange_claims(&h.claims(Some("example.com"), ADMIN_SCOPES))
            .await,
        400,
        "invalid_request",
    )
    .await;
    h.shutdown().await;
}

#[tokio::test]
async fn apis_check_the_bearer_token_scopes_and_admin_privilege() {
    let h = Harness::start().await;
    let path = user_path(&h.demo.leaver_email);

    let anonymous = h.http.get(h.url(&path)).send().await.unwrap();
    let challenge = anonymous
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Bearer realm="), "{challenge}");
    let body = expect_error(anonymous, 401, "required").await;
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED");

    let body = expect_error(h.get(&path, "ya29.c.bogus").await, 401, "authError").await;
    assert_eq!(body["error"]["errors"][0]["message"], "Invalid Credentials");

    // A token for Gmail scopes cannot read the directory.
    let gmail_only = h.token(Some(&h.demo.admin_email), GMAIL_SCOPES).await;
    let response = h.get(&path, &gmail_only).await;
    let challenge = response
        .headers()
        .get("www-authenticate")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains(scopes::DIRECTORY_USER_READONLY),
        "{challenge}"
    );
    let body = expect_error(response, 403, "insufficientPermissions").await;
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    assert_eq!(
        body["error"]["details"][0]["reason"],
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    );
    // A read-only scope may read but not write.
    h.google
        .set_delegated_scopes(SA_CLIENT_ID, &[scopes::DIRECTORY_USER_READONLY]);
    let readonly = h
        .token(
            Some(&h.demo.admin_email),
            &[scopes::DIRECTORY_USER_READONLY],
        )
        .await;
    assert_eq!(h.get(&path, &readonly).await.status(), StatusCode::OK);
    expect_error(
        h.put(&path, &readonly, json!({ "suspended": true })).await,
        403,
        "insufficientPermissions",
    )
    .await;
    assert!(!h.google.user(&h.demo.leaver_email).unwrap().suspended);

    // Admin SDK calls must impersonate an administrator.
    let all: Vec<&str> = ADMIN_SCOPES.iter().chain(GMAIL_SCOPES).copied().collect();
    h.google.set_delegated_scopes(SA_CLIENT_ID, &all);
    let as_manager = h.token(Some(&h.demo.manager_email), ADMIN_SCOPES).await;
    let body = expect_error(h.get(&path, &as_manager).await, 403, "forbidden").await;
    assert_eq!(
        body["error"]["message"],
        "Not Authorized to access this resource/api"
    );
    // So must a token minted without `sub`.
    let bare = h.token(None, ADMIN_SCOPES).await;
    expect_error(h.get(&path, &bare).await, 403, "forbidden").await;
    h.shutdown().await;
}

#[tokio::test]
async fn tokens_stop_working_when_they_expire_or_their_subject_is_suspended() {
    let h = Harness::start().await;
    h.google
        .seed_user(SeedUser::new("second.admin@example.com", "Second", "Admin").admin());
    let admin = h.admin_token().await;
    let second = h
        .token(Some("second.admin@example.com"), ADMIN_SCOPES)
        .await;
    let path = user_path(&h.demo.leaver_email);
    assert_eq!(h.get(&path, &second).await.status(), StatusCode::OK);

    // Suspending the impersonated admin kills its token and its ability
    // to mint new ones.
    let suspend = h
        .put(
            &user_path("second.admin@example.com"),
            &admin,
            json!({ "suspended": true }),
        )
        .await;
    assert_eq!(suspend.status(), StatusCode::OK);
    expect_error(h.get(&path, &second).await, 401, "authError").await;
    expect_token_error(
        h.exchange_claims(&h.claims(Some("second.admin@example.com"), ADMIN_SCOPES))
            .await,
        400,
        "invalid_grant",
    )
    .await;

    h.google.expire_access_tokens();
    expect_error(h.get(&path, &admin).await, 401, "authError").await;
    let fresh = h.admin_token().await;
    assert_eq!(h.get(&path, &fresh).await.status(), StatusCode::OK);
    // Registering the same e-mail under another client id is refused.
    assert!(
        h.google
            .register_service_account(SA_EMAIL, "999", &key().public_pem, "k2", ADMIN_SCOPES)
            .is_err()
    );
    h.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_get_googles_html_404() {
    let h = Harness::start().await;
    let token = h.admin_token().await;
    let response = h.get("/admin/directory/v1/nonsense", &token).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(
        response
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    // Wrong method on a known path.
    let response = h.post(&user_path(&h.demo.leaver_email), &token, None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    h.shutdown().await;
}
