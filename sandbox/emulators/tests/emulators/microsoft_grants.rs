#![cfg(feature = "microsoft")]
//! What an app's grants look like from outside: the directory roles its
//! tokens list in `wids`, and Graph's "limited information" answer to
//! `memberOf` for an app that may read users but not groups.

use crate::microsoft_common as common;

use base64::Engine;
use common::{CLIENT_ID, EXCHANGE_SCOPE, GRAPH_SCOPE, Ms};
use passage_sandbox::microsoft::{AppCredential, AppRegistration, Resource, directory_roles};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The claims of a token, read without checking its signature (as a client may).
fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn tokens_list_the_service_principals_directory_roles_in_wids() {
    let h = Ms::start().await;
    for token in [&h.graph_token, &h.exchange_token] {
        assert_eq!(
            claims(token)["wids"],
            serde_json::json!([directory_roles::EXCHANGE_ADMINISTRATOR])
        );
    }
    assert!(h.ms.set_directory_roles(
        CLIENT_ID,
        &[
            directory_roles::USER_ADMINISTRATOR,
            directory_roles::EXCHANGE_RECIPIENT_ADMINISTRATOR
        ]
    ));
    let fresh = claims(&h.secret_token(GRAPH_SCOPE).await);
    assert_eq!(
        fresh["wids"],
        serde_json::json!([
            directory_roles::USER_ADMINISTRATOR,
            directory_roles::EXCHANGE_RECIPIENT_ADMINISTRATOR
        ])
    );
    // Tokens already issued keep what they said.
    assert_eq!(
        claims(&h.graph_token)["wids"][0],
        directory_roles::EXCHANGE_ADMINISTRATOR
    );
    // No role: no claim at all, as for an app that was never assigned one.
    h.ms.set_directory_roles(CLIENT_ID, &[]);
    let bare = claims(&h.secret_token(EXCHANGE_SCOPE).await);
    assert!(bare.get("wids").is_none(), "{bare}");
    assert!(!h.ms.set_directory_roles("unknown-app", &[]));
    h.shutdown().await;
}

#[tokio::test]
async fn member_of_without_a_group_permission_answers_with_ids_only() {
    let h = Ms::start().await;
    let path = format!(
        "/v1.0/users/{}/memberOf/microsoft.graph.group?$select=id,displayName,groupTypes",
        h.demo.leaver_id
    );
    let full = h.get_json(&path).await;
    let first = &full["value"][0];
    assert!(first["displayName"].is_string(), "{full}");

    h.ms.register(
        AppRegistration::new(
            "cccccccc-0000-0000-0000-000000000001",
            AppCredential::Secret("users-only".to_owned()),
        )
        .with_graph_roles(&["User.Read.All"]),
    );
    let token =
        h.ms.access_token("cccccccc-0000-0000-0000-000000000001", Resource::Graph)
            .unwrap();
    let limited = h.graph_as(&token, Method::GET, &path, None).await;
    assert_eq!(limited.status(), StatusCode::OK);
    let limited: Value = limited.json().await.unwrap();
    let groups = limited["value"].as_array().unwrap();
    assert_eq!(groups.len(), full["value"].as_array().unwrap().len());
    for g in groups {
        assert!(g["id"].is_string(), "{g}");
        assert!(g["displayName"].is_null(), "{g}");
        assert!(g["groupTypes"].is_null(), "{g}");
    }
    h.shutdown().await;
}
