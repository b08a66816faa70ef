//! The REST API's directory and configuration routes through the real HTTP
//! stack and a real PostgreSQL: agents (presence, heartbeat, skills, tokens),
//! support types and resolution reasons, CSAT, tags, tag rules, canned
//! responses, accounts and customers; and Swagger UI at `/api/docs`.

mod common;

use common::*;
use domain::actor::Actor;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use uuid::Uuid;

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_new_route_needs_a_bearer_token(pool: PgPool) {
    let app = api(pool).await;
    let x = Uuid::new_v4();
    let routes = [
        (Method::GET, "/agents".to_owned()),
        (Method::POST, "/agents".to_owned()),
        (Method::GET, format!("/agents/{x}")),
        (Method::PATCH, format!("/agents/{x}")),
        (Method::PUT, format!("/agents/{x}/presence")),
        (Method::POST, format!("/agents/{x}/heartbeat")),
        (Method::GET, format!("/agents/{x}/skills")),
        (Method::PUT, format!("/agents/{x}/skills")),
        (Method::GET, format!("/agents/{x}/tokens")),
        (Method::POST, format!("/agents/{x}/tokens")),
        (Method::DELETE, format!("/tokens/{x}")),
        (Method::GET, "/support-types".to_owned()),
        (Method::POST, "/support-types".to_owned()),
        (Method::GET, format!("/support-types/{x}")),
        (Method::PATCH, format!("/support-types/{x}")),
        (Method::DELETE, format!("/support-types/{x}")),
        (Method::GET, format!("/support-types/{x}/resolution-reasons")),
        (Method::POST, format!("/support-types/{x}/resolution-reasons")),
        (Method::PATCH, format!("/support-types/{x}/resolution-reasons/{x}")),
        (Method::GET, format!("/sessions/{x}/csat")),
        (Method::POST, format!("/sessions/{x}/csat")),
        (Method::GET, "/tags".to_owned()),
        (Method::POST, "/tags".to_owned()),
        (Method::DELETE, format!("/tags/{x}")),
        (Method::GET, "/tag-rules".to_owned()),
        (Method::POST, "/tag-rules".to_owned()),
        (Method::DELETE, format!("/tag-rules/{x}")),
        (Method::GET, "/canned-responses".to_owned()),
        (Method::POST, "/canned-responses".to_owned()),
        (Method::PATCH, format!("/canned-responses/{x}")),
        (Method::DELETE, format!("/canned-responses/{x}")),
        (Method::GET, "/accounts".to_owned()),
        (Method::POST, "/accounts".to_owned()),
        (Method::GET, format!("/accounts/{x}")),
        (Method::GET, format!("/customers/{x}")),
        (Method::PATCH, format!("/customers/{x}")),
    ];
    for (method, path) in routes {
        let res = app
            .app
            .client
            .request(method.clone(), format!("{}/api/v1{path}", app.app.base))
            .json(&json!({}))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(res.headers()["www-authenticate"], "Bearer", "{method} {path}");
        expect_error(res, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_admin_manages_agents_presence_heartbeat_and_skills(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (admin, admin_token) = seed_agent(&pool, Some(&acme), "admin", "ann").await;
    let (alice, alice_token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let app = api(pool).await;

    let created = app
        .post(
            "/agents",
            &admin_token,
            json!({ "email": "bob@acme.test", "display_name": "Bob", "role": "agent", "max_concurrent": 3 }),
        )
        .await;
    let bob = expect(created, StatusCode::CREATED).await;
    assert_eq!(bob["account_id"], acme.id.to_string());
    assert_eq!(bob["role"], "agent");
    assert_eq!(bob["max_concurrent"], 3);
    assert_eq!(bob["presence"], "offline");
    assert!(bob.get("password_hash").is_none());
    let bob_path = format!("/agents/{}", id(&bob));

    let again = app
        .post(
            "/agents",
            &admin_token,
            json!({ "email": "BOB@acme.test", "display_name": "Bob", "role": "agent" }),
        )
        .await;
    expect_error(again, StatusCode::CONFLICT, "email_taken").await;
    let bad = app
        .post("/agents", &admin_token, json!({ "email": "nope", "display_name": "X", "role": "agent" }))
        .await;
    assert_eq!(expect_error(bad, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "email");
    let by_agent = app
        .post(
            "/agents",
            &alice_token,
            json!({ "email": "eve@acme.test", "display_name": "Eve", "role": "agent" }),
        )
        .await;
    expect_error(by_agent, StatusCode::FORBIDDEN, "forbidden").await;

    let all = expect(app.get("/agents", &alice_token).await, StatusCode::OK).await;
    assert_eq!(all.as_array().map(Vec::len), Some(3), "{all}");
    let admins = expect(app.get("/agents?role=admin", &alice_token).await, StatusCode::OK).await;
    assert_eq!(ids(&admins), [admin.to_string()]);
    let online = expect(app.get("/agents?presence=online", &alice_token).await, StatusCode::OK).await;
    assert_eq!(online.as_array().map(Vec::len), Some(2), "{online}");

    let fetched = expect(app.get(&bob_path, &alice_token).await, StatusCode::OK).await;
    assert_eq!(fetched, bob);
    let updated = expect(
        app.patch(&bob_path, &admin_token, json!({ "display_name": "Robert", "role": "supervisor" })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["display_name"], "Robert");
    assert_eq!(updated["role"], "supervisor");
    let res = app.patch(&bob_path, &alice_token, json!({ "display_name": "Bobby" })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app.patch(&bob_path, &admin_token, json!({ "max_concurrent": 5000 })).await;
    assert_eq!(
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"],
        "max_concurrent"
    );

    // Presence: the agent themself, or a supervisor or admin.
    let alice_path = format!("/agents/{alice}");
    let away = expect(
        app.put(
            &format!("{alice_path}/presence"),
            &alice_token,
            json!({ "presence": "away", "reason": "lunch" }),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(away["presence"], "away");
    assert_eq!(away["presence_reason"], "lunch");
    let res = app.put(&format!("{alice_path}/presence"), &admin_token, json!({ "presence": "online" })).await;
    assert_eq!(expect(res, StatusCode::OK).await["presence"], "online");
    let res =
        app.put(&format!("/agents/{admin}/presence"), &alice_token, json!({ "presence": "away" })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app.put(&format!("{alice_path}/presence"), &alice_token, json!({ "presence": "asleep" })).await;
    expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await;

    // Heartbeat: the agent themself only.
    expect_no_content(app.post(&format!("{alice_path}/heartbeat"), &alice_token, json!({})).await).await;
    let beat = expect(app.get(&alice_path, &alice_token).await, StatusCode::OK).await;
    assert!(beat["last_heartbeat_at"].is_string(), "{beat}");
    let res = app.post(&format!("{alice_path}/heartbeat"), &admin_token, json!({})).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    // Skills.
    let skills = expect(app.get(&format!("{alice_path}/skills"), &alice_token).await, StatusCode::OK).await;
    assert_eq!(skills, json!([{ "support_type_id": acme.type_id, "tier": null }]));
    let set = app
        .put(
            &format!("{bob_path}/skills"),
            &admin_token,
            json!([{ "support_type_id": acme.type_id, "tier": 2 }]),
        )
        .await;
    assert_eq!(expect(set, StatusCode::OK).await, json!([{ "support_type_id": acme.type_id, "tier": 2 }]));
    let res = app
        .put(&format!("{bob_path}/skills"), &admin_token, json!([{ "support_type_id": Uuid::new_v4() }]))
        .await;
    assert_eq!(expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "skills");
    let res = app.put(&format!("{bob_path}/skills"), &alice_token, json!([])).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn api_tokens_are_shown_once_listed_and_revoked(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, admin_token) = seed_agent(&pool, Some(&acme), "admin", "ann").await;
    let (bot, _) = seed_agent(&pool, Some(&acme), "bot", "bot").await;
    let (_, alice_token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let app = api(pool).await;
    let tokens_path = format!("/agents/{bot}/tokens");

    let created =
        expect(app.post(&tokens_path, &admin_token, json!({ "label": "zapier" })).await, StatusCode::CREATED)
            .await;
    let secret = created["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("sb_"), "{created}");
    assert_eq!(created["token"]["label"], "zapier");
    assert_eq!(created["token"]["agent_id"], bot.to_string());
    let token_id = created["token"]["id"].as_str().expect("token id").to_owned();

    // The new token works.
    let me = expect(app.get(&format!("/agents/{bot}"), &secret).await, StatusCode::OK).await;
    assert_eq!(me["id"], bot.to_string());

    let listed = expect(app.get(&tokens_path, &admin_token).await, StatusCode::OK).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2), "{listed}");
    assert!(!listed.to_string().contains(&secret), "secrets are never listed");
    let res = app.post(&tokens_path, &alice_token, json!({ "label": "mine" })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    let revoked =
        expect(app.delete(&format!("/tokens/{token_id}"), &admin_token).await, StatusCode::OK).await;
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    expect_error(
        app.get(&format!("/agents/{bot}"), &secret).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_admin_configures_support_types_and_resolution_reasons(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, admin_token) = seed_agent(&pool, Some(&acme), "admin", "ann").await;
    let (_, alice_token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let app = api(pool).await;

    let created = app
        .post(
            "/support-types",
            &admin_token,
            json!({ "slug": "acme-returns", "name": "Returns", "routing": "least_loaded", "queue_sla_secs": 300 }),
        )
        .await;
    let returns = expect(created, StatusCode::CREATED).await;
    assert_eq!(returns["account_id"], acme.id.to_string());
    assert_eq!(returns["routing"], "least_loaded");
    assert_eq!(returns["queue_sla_secs"], 300);
    assert_eq!(returns["csat_enabled"], true);
    assert_eq!(returns["archived_at"], Value::Null);
    let path = format!("/support-types/{}", id(&returns));

    let res = app.post("/support-types", &admin_token, json!({ "slug": "Bad Slug!", "name": "X" })).await;
    assert_eq!(expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "slug");
    let res =
        app.post("/support-types", &admin_token, json!({ "slug": acme.type_slug, "name": "Dup" })).await;
    expect_error(res, StatusCode::CONFLICT, "slug_taken").await;
    let res = app.post("/support-types", &alice_token, json!({ "slug": "acme-x", "name": "X" })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    let listed = expect(app.get("/support-types", &alice_token).await, StatusCode::OK).await;
    assert_eq!(ids(&listed), [acme.type_id.to_string().as_str(), id(&returns)]);
    assert_eq!(expect(app.get(&path, &alice_token).await, StatusCode::OK).await, returns);

    let updated = expect(
        app.patch(&path, &admin_token, json!({ "name": "Returns & refunds", "clear_queue_sla": true })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["name"], "Returns & refunds");
    assert_eq!(updated["queue_sla_secs"], Value::Null);
    let res = app.patch(&path, &alice_token, json!({ "name": "Mine" })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    // DELETE archives.
    let archived = expect(app.delete(&path, &admin_token).await, StatusCode::OK).await;
    assert!(archived["archived_at"].is_string(), "{archived}");
    let active = expect(app.get("/support-types", &admin_token).await, StatusCode::OK).await;
    assert_eq!(ids(&active), [acme.type_id.to_string()]);
    let all =
        expect(app.get("/support-types?include_archived=true", &admin_token).await, StatusCode::OK).await;
    assert_eq!(all.as_array().map(Vec::len), Some(2));

    // Resolution reasons.
    let reasons_path = format!("/support-types/{}/resolution-reasons", acme.type_id);
    let reason = expect(
        app.post(&reasons_path, &admin_token, json!({ "label": "Refunded" })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(reason["label"], "Refunded");
    assert_eq!(reason["position"], 1, "after the seeded reason at position 0");
    let res = app.post(&reasons_path, &admin_token, json!({ "label": "refunded" })).await;
    expect_error(res, StatusCode::CONFLICT, "reason_exists").await;
    let res = app.post(&reasons_path, &admin_token, json!({ "label": "  " })).await;
    assert_eq!(expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "label");
    let res = app.post(&reasons_path, &alice_token, json!({ "label": "Mine" })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    let moved = expect(
        app.patch(&format!("{reasons_path}/{}", id(&reason)), &admin_token, json!({ "position": 1 })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["position"], 1);
    let listed = expect(app.get(&reasons_path, &alice_token).await, StatusCode::OK).await;
    assert_eq!(ids(&listed), [id(&reason), acme.reason_id.to_string().as_str()]);

    let res = app
        .patch(&format!("{reasons_path}/{}", acme.reason_id), &admin_token, json!({ "archived": true }))
        .await;
    assert!(expect(res, StatusCode::OK).await["archived_at"].is_string());
    let listed = expect(app.get(&reasons_path, &alice_token).await, StatusCode::OK).await;
    assert_eq!(ids(&listed), [id(&reason)]);
    let listed =
        expect(app.get(&format!("{reasons_path}?include_archived=true"), &alice_token).await, StatusCode::OK)
            .await;
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
    let res =
        app.patch(&format!("{reasons_path}/{}", Uuid::new_v4()), &admin_token, json!({ "label": "X" })).await;
    expect_error(res, StatusCode::NOT_FOUND, "not_found").await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn csat_is_read_over_the_api_but_agents_cannot_submit_it(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, alice_token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let app = api(pool.clone()).await;

    let opened =
        app.post("/sessions", &alice_token, json!({ "support_type": acme.type_slug, "message": "hi" })).await;
    let session = expect(opened, StatusCode::CREATED).await["session"].clone();
    let path = format!("/sessions/{}", id(&session));
    expect(app.post(&format!("{path}/assign"), &alice_token, json!({})).await, StatusCode::OK).await;
    let res =
        app.post(&format!("{path}/resolve"), &alice_token, json!({ "reason_id": acme.reason_id })).await;
    expect(res, StatusCode::OK).await;

    let none = expect_error(
        app.get(&format!("{path}/csat"), &alice_token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_eq!(none["field"], Value::Null);

    // Customers are not API clients yet: an agent (or bot) may not rate.
    let res = app.post(&format!("{path}/csat"), &alice_token, json!({ "score": 5 })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app.post(&format!("{path}/csat"), &alice_token, json!({ "score": 9 })).await;
    assert_eq!(expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "score");

    // Rated through the domain (as the customer chat will), read over the API.
    let session_id = domain::types::SessionId(Uuid::parse_str(id(&session)).expect("uuid"));
    let submit = domain::csat::SubmitCsat { score: 4, comment: Some("quick".to_owned()) };
    domain::csat::submit(&pool, &Actor::System, session_id, submit).await.expect("submit");
    let rating = expect(app.get(&format!("{path}/csat"), &alice_token).await, StatusCode::OK).await;
    assert_eq!(rating["score"], 4);
    assert_eq!(rating["comment"], "quick");
    assert_eq!(rating["session_id"], session["id"]);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_admin_manages_tags_tag_rules_and_canned_responses(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, admin_token) = seed_agent(&pool, Some(&acme), "admin", "ann").await;
    let (_, alice_token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let app = api(pool).await;

    // Tags.
    let tag = expect(
        app.post("/tags", &admin_token, json!({ "name": "vip", "color": "amber" })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(tag["name"], "vip");
    assert_eq!(tag["color"], "amber");
    assert_eq!(tag["account_id"], acme.id.to_string());
    expect_error(
        app.post("/tags", &admin_token, json!({ "name": "VIP" })).await,
        StatusCode::CONFLICT,
        "tag_exists",
    )
    .await;
    let res = app.post("/tags", &admin_token, json!({ "name": "x", "color": "plaid" })).await;
    assert_eq!(expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "color");
    expect_error(
        app.post("/tags", &alice_token, json!({ "name": "mine" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let tags = expect(app.get("/tags", &alice_token).await, StatusCode::OK).await;
    assert_eq!(ids(&tags), [id(&tag)]);

    // Tag rules.
    let rule = app
        .post(
            "/tag-rules",
            &admin_token,
            json!({ "tag": "refund", "kind": "keyword", "pattern": "refund", "support_type_id": acme.type_id }),
        )
        .await;
    let rule = expect(rule, StatusCode::CREATED).await;
    assert_eq!(rule["kind"], "keyword");
    assert_eq!(rule["pattern"], "refund");
    let res =
        app.post("/tag-rules", &admin_token, json!({ "tag": "x", "kind": "regex", "pattern": "(" })).await;
    assert_eq!(expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "pattern");
    let res =
        app.post("/tag-rules", &alice_token, json!({ "tag": "x", "kind": "keyword", "pattern": "x" })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let rules = expect(app.get("/tag-rules", &alice_token).await, StatusCode::OK).await;
    assert_eq!(ids(&rules), [id(&rule)]);
    // The rule created its tag.
    let tags = expect(app.get("/tags", &alice_token).await, StatusCode::OK).await;
    assert_eq!(tags.as_array().map(Vec::len), Some(2));

    expect_error(
        app.delete(&format!("/tag-rules/{}", id(&rule)), &alice_token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_no_content(app.delete(&format!("/tag-rules/{}", id(&rule)), &admin_token).await).await;
    assert_eq!(expect(app.get("/tag-rules", &admin_token).await, StatusCode::OK).await, json!([]));
    expect_error(
        app.delete(&format!("/tag-rules/{}", id(&rule)), &admin_token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    expect_no_content(app.delete(&format!("/tags/{}", id(&tag)), &admin_token).await).await;
    expect_error(
        app.delete(&format!("/tags/{}", id(&tag)), &admin_token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;

    // Canned responses.
    let canned = app
        .post(
            "/canned-responses",
            &admin_token,
            json!({ "shortcut": "hello", "title": "Greeting", "body": "Hi, how can I help?",
                    "support_type_id": acme.type_id }),
        )
        .await;
    let canned = expect(canned, StatusCode::CREATED).await;
    assert_eq!(canned["shortcut"], "hello");
    assert_eq!(canned["support_type_id"], acme.type_id.to_string());
    let wide = app
        .post("/canned-responses", &admin_token, json!({ "shortcut": "bye", "title": "Bye", "body": "Bye!" }))
        .await;
    let wide = expect(wide, StatusCode::CREATED).await;
    let res = app
        .post(
            "/canned-responses",
            &admin_token,
            json!({ "shortcut": "hello", "title": "Again", "body": "Hi" }),
        )
        .await;
    expect_error(res, StatusCode::CONFLICT, "shortcut_taken").await;
    let res = app
        .post(
            "/canned-responses",
            &admin_token,
            json!({ "shortcut": "no spaces", "title": "T", "body": "B" }),
        )
        .await;
    assert_eq!(expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "shortcut");
    let res = app
        .post("/canned-responses", &alice_token, json!({ "shortcut": "x", "title": "T", "body": "B" }))
        .await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    let listed = expect(app.get("/canned-responses", &alice_token).await, StatusCode::OK).await;
    assert_eq!(ids(&listed), [id(&wide), id(&canned)]);
    let other_type = Uuid::new_v4();
    let for_other = expect(
        app.get(&format!("/canned-responses?support_type_id={other_type}"), &alice_token).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(ids(&for_other), [id(&wide)], "only the account-wide response applies to another type");

    let canned_path = format!("/canned-responses/{}", id(&canned));
    let updated = expect(
        app.patch(&canned_path, &admin_token, json!({ "title": "Hello", "clear_support_type": true })).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(updated["title"], "Hello");
    assert_eq!(updated["support_type_id"], Value::Null);
    expect_error(
        app.patch(&canned_path, &alice_token, json!({ "title": "x" })).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    expect_no_content(app.delete(&canned_path, &admin_token).await).await;
    expect_error(app.delete(&canned_path, &admin_token).await, StatusCode::NOT_FOUND, "not_found").await;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn accounts_and_customers(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let globex = seed_account(&pool, "globex").await;
    let (_, root_token) = seed_agent(&pool, None, "admin", "root").await;
    let (_, admin_token) = seed_agent(&pool, Some(&acme), "admin", "ann").await;
    let (sue, sue_token) = seed_agent(&pool, Some(&acme), "supervisor", "sue").await;
    let (_, alice_token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let app = api(pool).await;

    let created = expect(
        app.post("/accounts", &root_token, json!({ "slug": "initech", "name": "Initech" })).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["slug"], "initech");
    assert_eq!(created["name"], "Initech");
    let res = app.post("/accounts", &root_token, json!({ "slug": "initech", "name": "Again" })).await;
    expect_error(res, StatusCode::CONFLICT, "slug_taken").await;
    let res = app.post("/accounts", &root_token, json!({ "slug": "Not OK", "name": "X" })).await;
    assert_eq!(expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"], "slug");
    let res = app.post("/accounts", &admin_token, json!({ "slug": "mine", "name": "Mine" })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;

    let all = expect(app.get("/accounts", &root_token).await, StatusCode::OK).await;
    assert_eq!(all.as_array().map(Vec::len), Some(3));
    let own = expect(app.get("/accounts", &alice_token).await, StatusCode::OK).await;
    assert_eq!(ids(&own), [acme.id.to_string()]);
    let one = expect(app.get(&format!("/accounts/{}", acme.id), &alice_token).await, StatusCode::OK).await;
    assert_eq!(one["slug"], "acme");
    let res = app.get(&format!("/accounts/{}", globex.id), &alice_token).await;
    expect_error(res, StatusCode::NOT_FOUND, "not_found").await;

    // A customer, created by opening a session.
    let opened = app
        .post(
            "/sessions",
            &alice_token,
            json!({ "support_type": acme.type_slug, "customer": { "name": "Ada", "email": "ada@example.com" } }),
        )
        .await;
    let customer_id =
        expect(opened, StatusCode::CREATED).await["customer_id"].as_str().expect("customer").to_owned();
    let path = format!("/customers/{customer_id}");
    let customer = expect(app.get(&path, &alice_token).await, StatusCode::OK).await;
    assert_eq!(customer["name"], "Ada");
    assert_eq!(customer["preferred_agent_id"], Value::Null);

    let set =
        expect(app.patch(&path, &sue_token, json!({ "preferred_agent_id": sue })).await, StatusCode::OK)
            .await;
    assert_eq!(set["preferred_agent_id"], sue.to_string());
    // An absent field changes nothing; null clears.
    let same = expect(app.patch(&path, &sue_token, json!({})).await, StatusCode::OK).await;
    assert_eq!(same, set);
    let cleared =
        expect(app.patch(&path, &sue_token, json!({ "preferred_agent_id": null })).await, StatusCode::OK)
            .await;
    assert_eq!(cleared["preferred_agent_id"], Value::Null);
    let res = app.patch(&path, &alice_token, json!({ "preferred_agent_id": sue })).await;
    expect_error(res, StatusCode::FORBIDDEN, "forbidden").await;
    let res = app.patch(&path, &sue_token, json!({ "preferred_agent_id": Uuid::new_v4() })).await;
    assert_eq!(
        expect_error(res, StatusCode::UNPROCESSABLE_ENTITY, "invalid").await["field"],
        "preferred_agent_id"
    );
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn another_accounts_configuration_is_not_found(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let globex = seed_account(&pool, "globex").await;
    let (alice, alice_token) = seed_agent(&pool, Some(&acme), "agent", "alice").await;
    let (_, acme_admin) = seed_agent(&pool, Some(&acme), "admin", "ann").await;
    let (_, gus) = seed_agent(&pool, Some(&globex), "admin", "gus").await;
    let app = api(pool).await;

    let tag =
        expect(app.post("/tags", &acme_admin, json!({ "name": "vip" })).await, StatusCode::CREATED).await;
    let rule = app
        .post("/tag-rules", &acme_admin, json!({ "tag": "vip", "kind": "keyword", "pattern": "vip" }))
        .await;
    let rule = expect(rule, StatusCode::CREATED).await;
    let canned = app
        .post("/canned-responses", &acme_admin, json!({ "shortcut": "hi", "title": "Hi", "body": "Hi" }))
        .await;
    let canned = expect(canned, StatusCode::CREATED).await;
    let opened = app
        .post(
            "/sessions",
            &alice_token,
            json!({ "support_type": acme.type_slug, "customer": { "name": "Ada" } }),
        )
        .await;
    let opened = expect(opened, StatusCode::CREATED).await;
    let session_id = id(&opened["session"]).to_owned();
    let customer_id = opened["customer_id"].as_str().expect("customer").to_owned();

    let reads = [
        format!("/agents/{alice}"),
        format!("/agents/{alice}/skills"),
        format!("/agents/{alice}/tokens"),
        format!("/agents?account_id={}", acme.id),
        format!("/support-types/{}", acme.type_id),
        format!("/support-types/{}/resolution-reasons", acme.type_id),
        format!("/support-types?account_id={}", acme.id),
        format!("/tags?account_id={}", acme.id),
        format!("/canned-responses?account_id={}", acme.id),
        format!("/accounts/{}", acme.id),
        format!("/customers/{customer_id}"),
        format!("/sessions/{session_id}/csat"),
    ];
    for path in reads {
        let res = app.get(&path, &gus).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "GET {path}");
        expect_error(res, StatusCode::NOT_FOUND, "not_found").await;
    }
    let writes = [
        (Method::PATCH, format!("/agents/{alice}"), json!({ "display_name": "Mallory" })),
        (Method::PUT, format!("/agents/{alice}/presence"), json!({ "presence": "offline" })),
        (Method::PUT, format!("/agents/{alice}/skills"), json!([])),
        (Method::PATCH, format!("/support-types/{}", acme.type_id), json!({ "name": "Mine" })),
        (Method::DELETE, format!("/support-types/{}", acme.type_id), json!({})),
        (
            Method::POST,
            format!("/support-types/{}/resolution-reasons", acme.type_id),
            json!({ "label": "X" }),
        ),
        (
            Method::PATCH,
            format!("/support-types/{}/resolution-reasons/{}", acme.type_id, acme.reason_id),
            json!({ "label": "X" }),
        ),
        (Method::DELETE, format!("/tags/{}", id(&tag)), json!({})),
        (Method::DELETE, format!("/tag-rules/{}", id(&rule)), json!({})),
        (Method::PATCH, format!("/canned-responses/{}", id(&canned)), json!({ "title": "X" })),
        (Method::DELETE, format!("/canned-responses/{}", id(&canned)), json!({})),
        (Method::PATCH, format!("/customers/{customer_id}"), json!({ "preferred_agent_id": null })),
        (Method::POST, "/tags".to_owned(), json!({ "name": "x", "account_id": acme.id })),
    ];
    for (method, path, body) in writes {
        let res = app.send(method.clone(), &path, &gus, body).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{method} {path}");
        expect_error(res, StatusCode::NOT_FOUND, "not_found").await;
    }
    // Their own lists do not show acme's things.
    assert_eq!(expect(app.get("/tags", &gus).await, StatusCode::OK).await, json!([]));
    let types = expect(app.get("/support-types", &gus).await, StatusCode::OK).await;
    assert_eq!(ids(&types), [globex.type_id.to_string()]);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn swagger_ui_is_served_at_api_docs(pool: PgPool) {
    let app = spawn_app(pool).await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.base)).send();

    let res = get("/api/docs").await.expect("docs");
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/html; charset=utf-8");
    let csp = res.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"), "{csp}");
    let html = res.text().await.expect("html");
    assert!(html.contains("/api/v1/openapi.json"), "{html}");
    assert!(html.contains("/api/docs/swagger-ui-bundle.js") && html.contains("/api/docs/init.js"), "{html}");
    assert!(!html.contains("<script>"), "no inline script: {html}");

    for (path, content_type) in [
        ("/api/docs/init.js", "text/javascript; charset=utf-8"),
        ("/api/docs/swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
        ("/api/docs/swagger-ui.css", "text/css; charset=utf-8"),
    ] {
        let res = get(path).await.expect("asset");
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(res.headers()["content-type"], content_type, "{path}");
        assert!(!res.bytes().await.expect("body").is_empty(), "{path}");
    }
    let init = get("/api/docs/init.js").await.expect("init").text().await.expect("js");
    assert!(init.contains("SwaggerUIBundle"), "{init}");
    assert_eq!(get("/api/docs/package.json").await.expect("other").status(), StatusCode::NOT_FOUND);
    assert_eq!(get("/api/docs/..%2Fpackage.json").await.expect("traversal").status(), StatusCode::NOT_FOUND);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn api_docs_say_where_swagger_ui_was_looked_for_when_it_is_missing(pool: PgPool) {
    let config = server::config::Config::from_lookup(|name| match name {
        "LISTEN_ADDR" => Some("127.0.0.1:0".to_owned()),
        "LOG" => Some("warn".to_owned()),
        "SWAGGER_UI_DIR" => Some("/nonexistent/swagger-ui-dist".to_owned()),
        _ => None,
    })
    .expect("config");
    let app = spawn_app_with(config, pool).await;
    let res = app.client.get(format!("{}/api/docs", app.base)).send().await.expect("docs");
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["content-type"], "text/plain; charset=utf-8");
    let text = res.text().await.expect("text");
    assert!(text.contains("/nonexistent/swagger-ui-dist") && text.contains("SWAGGER_UI_DIR"), "{text}");
    // The document itself does not depend on it.
    let res = app.client.get(format!("{}/api/v1/openapi.json", app.base)).send().await.expect("openapi");
    assert_eq!(res.status(), StatusCode::OK);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
/// The answers of the configuration endpoints, each checked against the
/// served document by the test server's contract layer (no field more or
/// less, every type and enum): here the ones few other tests read.
async fn the_configuration_endpoints_answer_what_the_document_says(pool: PgPool) {
    let acme = seed_account(&pool, "acme").await;
    let (_, root) = seed_agent(&pool, None, "admin", "root").await;
    let (alice, token) = seed_agent(&pool, Some(&acme), "admin", "alice").await;
    let app = api(pool.clone()).await;

    let opened = app
        .post("/sessions", &token, json!({ "support_type": acme.type_slug, "customer": { "name": "Ada" } }))
        .await;
    let opened = expect(opened, StatusCode::CREATED).await;
    let session_path = format!("/sessions/{}", id(&opened["session"]));
    expect(app.post(&format!("{session_path}/assign"), &token, json!({})).await, StatusCode::OK).await;
    let res =
        app.post(&format!("{session_path}/resolve"), &token, json!({ "reason_id": acme.reason_id })).await;
    expect(res, StatusCode::OK).await;
    let session_id = domain::types::SessionId(Uuid::parse_str(id(&opened["session"])).expect("uuid"));
    let rating = domain::csat::SubmitCsat { score: 5, comment: None };
    domain::csat::submit(&pool, &Actor::System, session_id, rating).await.expect("csat");
    let customer = format!("/customers/{}", opened["customer_id"].as_str().expect("customer"));

    let tag = app.post("/tags", &token, json!({ "name": "vip" })).await;
    let rule =
        app.post("/tag-rules", &token, json!({ "tag": "vip", "kind": "keyword", "pattern": "vip" })).await;
    let canned =
        app.post("/canned-responses", &token, json!({ "shortcut": "hi", "title": "Hi", "body": "Hi" })).await;
    let token_res = app.post(&format!("/agents/{alice}/tokens"), &root, json!({ "label": "x" })).await;
    let created_token = expect(token_res, StatusCode::CREATED).await;
    let samples = [
        ("Agent", expect(app.get(&format!("/agents/{alice}"), &token).await, StatusCode::OK).await),
        (
            "Skill",
            expect(app.get(&format!("/agents/{alice}/skills"), &token).await, StatusCode::OK).await[0]
                .clone(),
        ),
        (
            "SupportType",
            expect(app.get(&format!("/support-types/{}", acme.type_id), &token).await, StatusCode::OK).await,
        ),
        (
            "ResolutionReason",
            expect(
                app.get(&format!("/support-types/{}/resolution-reasons", acme.type_id), &token).await,
                StatusCode::OK,
            )
            .await[0]
                .clone(),
        ),
        ("Csat", expect(app.get(&format!("{session_path}/csat"), &token).await, StatusCode::OK).await),
        ("Tag", expect(tag, StatusCode::CREATED).await),
        ("TagRule", expect(rule, StatusCode::CREATED).await),
        ("CannedResponse", expect(canned, StatusCode::CREATED).await),
        ("Account", expect(app.get(&format!("/accounts/{}", acme.id), &token).await, StatusCode::OK).await),
        ("Customer", expect(app.get(&customer, &token).await, StatusCode::OK).await),
        ("CreatedToken", created_token.clone()),
        ("ApiToken", created_token["token"].clone()),
    ];
    for (name, sample) in samples {
        assert!(sample.is_object(), "{name}: {sample}");
    }
    assert_eq!(app.app.take_violations(), Vec::<String>::new());
}
