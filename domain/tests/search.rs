//! Search over sessions: by a word of a message (highlighted), by the
//! customer's name or address, narrowed by type, status and tag; always
//! within the caller's scope (another account's sessions, and for an agent
//! the types they do not serve, are never found); newest first, by cursor.

mod common;

use common::*;
use domain::{
    Error,
    actor::{Actor, CustomerActor},
    search::{Highlight, SearchHit, SearchQuery, search},
    sessions::{self, CustomerInput, OpenSession},
    types::*,
};
use sqlx::PgPool;

async fn chat(pool: &PgPool, slug: &str, name: &str, email: &str, message: &str) -> SessionId {
    sessions::open(
        pool,
        &Actor::System,
        OpenSession {
            support_type: slug.into(),
            customer: CustomerInput {
                name: Some(name.into()),
                email: Some(email.into()),
                external_ref: None,
            },
            message: Some(message.into()),
            ..Default::default()
        },
    )
    .await
    .expect("open")
    .0
    .id
}

fn text(q: &str) -> SearchQuery {
    SearchQuery { q: q.into(), ..Default::default() }
}

async fn found(pool: &PgPool, actor: &Actor, query: SearchQuery) -> Vec<SearchHit> {
    search(pool, actor, query, None, Some(200)).await.expect("search").items
}

fn ids(hits: &[SearchHit]) -> Vec<SessionId> {
    hits.iter().map(|h| h.session_id).collect()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn search_finds_words_and_people_within_the_callers_scope(pool: PgPool) {
    let acme = account(&pool, "acme").await;
    let billing = support_type(&pool, acme, "acme-billing", Routing::Manual).await;
    let _tech = support_type(&pool, acme, "acme-tech", Routing::Manual).await;
    let other = account(&pool, "globex").await;
    support_type(&pool, other, "globex-billing", Routing::Manual).await;
    let admin =
        as_agent(agent(&pool, acme, "ada@acme.test", Role::Admin, 5, true, &[]).await, acme, Role::Admin);
    let dana = as_agent(
        agent(&pool, acme, "dana@acme.test", Role::Agent, 5, true, &[billing]).await,
        acme,
        Role::Agent,
    );
    let globex_admin =
        as_agent(agent(&pool, other, "gil@globex.test", Role::Admin, 5, true, &[]).await, other, Role::Admin);

    let invoice =
        chat(&pool, "acme-billing", "Robin Fox", "robin@example.com", "My invoice 4711 is wrong").await;
    let tech = chat(&pool, "acme-tech", "Sam Lee", "sam@example.com", "The invoice page crashes").await;
    let elsewhere =
        chat(&pool, "globex-billing", "Robin Fox", "robin@example.com", "invoice 4711 again").await;
    let unrelated = chat(&pool, "acme-billing", "Kim Park", "kim@example.com", "Where is my parcel?").await;

    // A word of a message, highlighted; newest first.
    let hits = found(&pool, &admin, text("invoice")).await;
    assert_eq!(ids(&hits), vec![tech, invoice], "the account's two, never Globex's");
    let first = &hits[1];
    assert!(first.message_id.is_some());
    assert!(
        first.snippet.contains(&Highlight { text: "invoice".into(), hit: true }),
        "the matching word is marked: {:?}",
        first.snippet
    );
    let shown: String = first.snippet.iter().map(|h| h.text.as_str()).collect();
    assert!("My invoice 4711 is wrong".contains(&shown) && shown.contains("invoice 4711"), "{shown:?}");
    assert_eq!(first.support_type_name, "acme-billing");

    // Every word must be there; a phrase, or either word, as asked.
    assert_eq!(ids(&found(&pool, &admin, text("invoice 4711")).await), vec![invoice]);
    assert_eq!(ids(&found(&pool, &admin, text("parcel or crashes")).await), vec![unrelated, tech]);
    assert!(found(&pool, &admin, text("\"4711 invoice\"")).await.is_empty());

    // An agent finds only the types they serve (and what they own).
    assert_eq!(ids(&found(&pool, &dana, text("invoice")).await), vec![invoice]);
    // The other account's admin finds their own, never Acme's.
    assert_eq!(ids(&found(&pool, &globex_admin, text("invoice")).await), vec![elsewhere]);

    // The customer's name or address, anywhere in it.
    assert_eq!(ids(&found(&pool, &admin, text("robin")).await), vec![invoice]);
    assert_eq!(ids(&found(&pool, &admin, text("kim@example")).await), vec![unrelated]);
    let by_name = &found(&pool, &admin, text("Kim Park")).await[0];
    assert_eq!((by_name.message_id, by_name.snippet.len()), (None, 0), "no message matched");
    // Exclusions alone find nothing (they would match every message), and
    // names need three characters.
    assert!(found(&pool, &admin, text("-zzz")).await.is_empty());
    assert!(found(&pool, &admin, text("Ki")).await.is_empty());
    assert_eq!(ids(&found(&pool, &admin, text("invoice -4711")).await), vec![tech]);
    // LIKE's wildcards are plain characters here.
    assert!(found(&pool, &admin, text("%")).await.is_empty());
    assert!(found(&pool, &admin, text("_")).await.is_empty());

    // Filters: type, status, tag; alone or with words.
    let of_type = SearchQuery { support_type_id: Some(billing), ..text("invoice") };
    assert_eq!(ids(&found(&pool, &admin, of_type).await), vec![invoice]);
    let queued = SearchQuery { status: Some(SessionStatus::Queued), ..Default::default() };
    assert_eq!(found(&pool, &admin, queued).await.len(), 3);
    let resolved = SearchQuery { status: Some(SessionStatus::Resolved), ..text("invoice") };
    assert!(found(&pool, &admin, resolved).await.is_empty());
    domain::conversation::tag(&pool, &admin, tech, "urgent", domain::types::TagSource::Manual)
        .await
        .expect("tag");
    let tagged = SearchQuery { tag: Some("URGENT".into()), ..Default::default() };
    assert_eq!(ids(&found(&pool, &admin, tagged).await), vec![tech], "tags match as the account names them");

    // Pages by cursor, newest first, each once.
    let page = search(&pool, &admin, text("invoice"), None, Some(1)).await.expect("page 1");
    assert_eq!(ids(&page.items), vec![tech]);
    let cursor = page.next_cursor.expect("more");
    let page = search(&pool, &admin, text("invoice"), Some(&cursor), Some(1)).await.expect("page 2");
    assert_eq!((ids(&page.items), page.next_cursor), (vec![invoice], None));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn bad_searches_are_named_and_customers_cannot_search(pool: PgPool) {
    let acme = account(&pool, "acme").await;
    support_type(&pool, acme, "acme-billing", Routing::Manual).await;
    let admin =
        as_agent(agent(&pool, acme, "ada@acme.test", Role::Admin, 5, true, &[]).await, acme, Role::Admin);
    let session = chat(&pool, "acme-billing", "Robin", "robin@example.com", "hello").await;

    let field = |r: Result<_, Error>| match r {
        Err(Error::Invalid { field, .. }) => field,
        other => panic!("expected 422, got {other:?}"),
    };
    assert_eq!(field(search(&pool, &admin, text("   "), None, None).await), "q");
    assert_eq!(field(search(&pool, &admin, text(&"x".repeat(201)), None, None).await), "q");
    assert_eq!(field(search(&pool, &admin, text("hello"), Some("nonsense"), None).await), "cursor");
    assert_eq!(field(search(&pool, &admin, text("hello"), None, Some(0)).await), "limit");
    // Syntax a web search box accepts is never an error.
    for odd in ["hello &", "!!", "\"unclosed", "a | b", "-", "(x"] {
        search(&pool, &admin, text(odd), None, None).await.unwrap_or_else(|e| panic!("{odd:?}: {e:?}"));
    }
    let customer = Actor::Customer(CustomerActor {
        customer_id: sessions::get(&pool, &Actor::System, session).await.expect("session").customer_id,
        session_id: session,
        account_id: acme,
    });
    assert!(matches!(
        search(&pool, &customer, text("hello"), None, None).await,
        Err(Error::Forbidden { .. })
    ));
}
