#![cfg(feature = "jumpcloud")]
//! Reads: v1 and v2 pagination (`limit` ≤ 100 + `skip`, `sort=_id`),
//! `totalCount`, filters, search, projection, and the graph lists.

use crate::jumpcloud_support as support;

use std::collections::BTreeSet;

use passage_sandbox::jumpcloud::{SeedGroup, SeedUser, demo_seed};
use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{Harness, expect_v1_error, expect_v2_error, json};

fn seed_many(h: &Harness, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            h.jc.seed_user(SeedUser::new(
                &format!("user{i:02}@example.com"),
                "User",
                &format!("{i:02}"),
            ))
        })
        .collect()
}

#[tokio::test]
async fn v1_pages_with_limit_skip_and_total_count() {
    let h = Harness::start().await;
    let ids = seed_many(&h, 25);

    let mut seen = Vec::new();
    let mut skip = 0;
    loop {
        let page = json(
            h.get(&format!("/api/systemusers?limit=10&skip={skip}&sort=_id"))
                .await,
        )
        .await;
        assert_eq!(page["totalCount"], 25);
        let results = page["results"].as_array().unwrap();
        seen.extend(
            results
                .iter()
                .map(|u| u["_id"].as_str().unwrap().to_owned()),
        );
        if results.len() < 10 {
            assert_eq!(results.len(), 5);
            break;
        }
        skip += 10;
    }
    assert_eq!(seen, ids, "every user once, in _id order");
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 25);

    // Defaults to 10; descending sort; beyond the end is empty.
    let default = json(h.get("/api/systemusers").await).await;
    assert_eq!(default["results"].as_array().unwrap().len(), 10);
    let desc = json(h.get("/api/systemusers?limit=1&sort=-_id").await).await;
    assert_eq!(desc["results"][0]["_id"], ids[24].as_str());
    let past = json(h.get("/api/systemusers?skip=100").await).await;
    assert_eq!(past["totalCount"], 25);
    assert_eq!(past["results"], json!([]));

    let too_many = h.get("/api/systemusers?limit=101").await;
    assert_eq!(
        expect_v1_error(too_many, 400).await,
        "Bad Request: request parameter \"limit\" exceeds maximum value of 100"
    );
    let hundred = json(h.get("/api/systemusers?limit=100").await).await;
    assert_eq!(hundred["results"].as_array().unwrap().len(), 25);
    let not_a_number = h.get("/api/systemusers?skip=abc").await;
    assert_eq!(not_a_number.status(), StatusCode::BAD_REQUEST);
    h.shutdown().await;
}

#[tokio::test]
async fn v1_filter_search_and_fields() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);

    let by_email = json(
        h.get("/api/systemusers?filter=email:$eq:jane.doe@example.com")
            .await,
    )
    .await;
    assert_eq!(by_email["totalCount"], 1);
    assert_eq!(by_email["results"][0]["_id"], demo.leaver_id.as_str());
    let case_sensitive = json(
        h.get("/api/systemusers?filter=email:$eq:JANE.DOE@example.com")
            .await,
    )
    .await;
    assert_eq!(case_sensitive["totalCount"], 0);
    let anded = json(
        h.get(
            "/api/systemusers?filter[0]=department:$eq:Engineering&filter[1]=state:$eq:ACTIVATED",
        )
        .await,
    )
    .await;
    assert_eq!(anded["totalCount"], 2);
    let ored = json(
        h.get("/api/systemusers?filter[or][0]=state:$eq:SUSPENDED&filter[or][1]=state:$eq:STAGED")
            .await,
    )
    .await;
    assert_eq!(ored["totalCount"], 2);
    let bad = h.get("/api/systemusers?filter=email:eq:x").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);

    let searched = json(
        h.get("/api/systemusers?search[searchTerm]=JANE&search[fields][]=email")
            .await,
    )
    .await;
    assert_eq!(searched["totalCount"], 1);

    let projected = json(
        h.get("/api/systemusers?filter=email:$eq:jane.doe@example.com&fields=email%20state")
            .await,
    )
    .await;
    let keys: BTreeSet<&str> = projected["results"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, BTreeSet::from(["_id", "email", "state"]));

    let one = json(
        h.get(&format!(
            "/api/systemusers/{}?fields=username",
            demo.leaver_id
        ))
        .await,
    )
    .await;
    assert_eq!(one, json!({"_id": demo.leaver_id, "username": "jane.doe"}));
    h.shutdown().await;
}

#[tokio::test]
async fn v1_search_endpoint_by_email() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);
    let found = json(
        h.post_json(
            "/api/search/systemusers",
            &json!({
                "filter": [{"email": "jane.doe@example.com"}],
                "fields": "_id email username state suspended account_locked activated",
            }),
        )
        .await,
    )
    .await;
    assert_eq!(found["totalCount"], 1);
    let user = &found["results"][0];
    assert_eq!(user["_id"], demo.leaver_id.as_str());
    assert_eq!(user["state"], "ACTIVATED");
    assert_eq!(user["activated"], true);
    assert!(user.get("firstname").is_none());

    let text = json(
        h.post_json(
            "/api/search/systemusers",
            &json!({
                "searchFilter": {"searchTerm": "@example.com", "fields": ["email"]},
                "limit": 2,
            }),
        )
        .await,
    )
    .await;
    assert_eq!(text["totalCount"], 6);
    assert_eq!(text["results"].as_array().unwrap().len(), 2);
    let or = json(
        h.post_json(
            "/api/search/systemusers",
            &json!({"filter": {"or": [{"state": "SUSPENDED"}, {"state": {"$eq": "STAGED"}}]}}),
        )
        .await,
    )
    .await;
    assert_eq!(or["totalCount"], 2);
    let too_many = h
        .post_json("/api/search/systemusers", &json!({"limit": 500}))
        .await;
    assert_eq!(too_many.status(), StatusCode::BAD_REQUEST);
    h.shutdown().await;
}

#[tokio::test]
async fn v2_memberof_pages_and_filters() {
    let h = Harness::start().await;
    let names: Vec<String> = (0..12).map(|i| format!("Team {i:02}")).collect();
    for name in &names {
        h.jc.seed_group(SeedGroup::new(name));
    }
    let user = h.jc.seed_user(SeedUser {
        groups: names.clone(),
        ..SeedUser::new("many@example.com", "Many", "Groups")
    });
    let path = format!("/api/v2/users/{user}/memberof");

    let mut seen = Vec::new();
    for skip in [0, 5, 10] {
        let page: Vec<Value> = h
            .get(&format!("{path}?limit=5&skip={skip}&sort=_id"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(page.len(), if skip == 10 { 2 } else { 5 });
        for g in &page {
            assert_eq!(g["type"], "user_group");
            assert_eq!(g["paths"][0][0]["to"]["id"], g["id"]);
        }
        seen.extend(
            page.into_iter()
                .map(|g| g["id"].as_str().unwrap().to_owned()),
        );
    }
    let expected: Vec<String> = h.jc.user_groups(&user).into_iter().map(|g| g.id).collect();
    assert_eq!(seen, expected);

    let default: Vec<Value> = h.get(&path).await.json().await.unwrap();
    assert_eq!(default.len(), 10);
    let filtered: Vec<Value> = h
        .get(&format!("{path}?filter=object_id:eq:{}", expected[3]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    let by_type: Vec<Value> = h
        .get(&format!("{path}?filter=type:eq:user_group&limit=100"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_type.len(), 12);

    let too_many = h.get(&format!("{path}?limit=101")).await;
    assert!(
        expect_v2_error(too_many, 400)
            .await
            .contains("maximum value of 100")
    );
    let bad_filter = h.get(&format!("{path}?filter=type:like:x")).await;
    assert_eq!(bad_filter.status(), StatusCode::BAD_REQUEST);
    let unknown = h
        .get("/api/v2/users/0123456789abcdef01234567/memberof")
        .await;
    assert_eq!(expect_v2_error(unknown, 404).await, "Not Found");
    h.shutdown().await;
}

#[tokio::test]
async fn v2_members_systems_and_groups() {
    let h = Harness::start().await;
    let demo = demo_seed(&h.jc);

    let engineering = h.jc.group("Engineering").unwrap();
    let members: Vec<Value> = h
        .get(&format!(
            "/api/v2/usergroups/{}/members?limit=100",
            engineering.id
        ))
        .await
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = members
        .iter()
        .map(|m| m["to"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, engineering.member_ids);
    assert!(members.iter().all(|m| m["to"]["type"] == "user"));
    let first: Vec<Value> = h
        .get(&format!(
            "/api/v2/usergroups/{}/members?limit=1&skip=1",
            engineering.id
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["to"]["id"], engineering.member_ids[1].as_str());

    let systems: Vec<Value> = h
        .get(&format!("/api/v2/users/{}/systems", demo.leaver_id))
        .await
        .json()
        .await
        .unwrap();
    let ids: BTreeSet<&str> = systems.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        BTreeSet::from([demo.windows_system_id.as_str(), demo.mac_system_id.as_str()])
    );
    assert!(systems.iter().all(|s| s["type"] == "system"));
    let windows = json(
        h.get(&format!("/api/systems/{}", demo.windows_system_id))
            .await,
    )
    .await;
    assert_eq!(windows["osFamily"], "windows");
    assert_eq!(windows["active"], true);
    assert!(
        windows["builtInCommands"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "lock")
    );
    let all_systems = json(h.get("/api/systems").await).await;
    assert_eq!(all_systems["totalCount"], 2);

    let groups: Vec<Value> = h
        .get("/api/v2/usergroups?filter=name:eq:VPN%20Users")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["type"], "user_group");
    let group = json(
        h.get(&format!(
            "/api/v2/usergroups/{}",
            groups[0]["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert_eq!(group["name"], "VPN Users");
    let missing = h.get("/api/v2/usergroups/0123456789abcdef01234567").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    h.shutdown().await;
}
