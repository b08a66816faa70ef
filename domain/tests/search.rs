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

/// Sessions of `account` with 3 messages each, `created_at` a minute apart
/// (the newest first), over `types` in turn and 100 customers (a tenth of
/// them named "Refunds Desk …"); every other session's second message says
/// "refund" (never those customers' sessions), and `extra` is added to
/// every other session's third.
async fn history(pool: &PgPool, account: AccountId, types: &[SupportTypeId], sessions: i64, extra: &str) {
    sqlx::query!(
        "INSERT INTO customers (account_id, name, email)
         SELECT $1, CASE WHEN g % 10 = 3 THEN 'Refunds Desk ' ELSE 'Customer ' END || g,
                'c' || g || '@example.com'
           FROM generate_series(1, 100) g",
        account.0
    )
    .execute(pool)
    .await
    .expect("customers");
    sqlx::query!(
        "WITH c AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM customers WHERE account_id = $1)
         INSERT INTO sessions (account_id, support_type_id, customer_id, status, created_at, queued_at,
                               assigned_at, resolved_at)
         SELECT $1, ($2::uuid[])[1 + g % cardinality($2::uuid[])], c.id, 'resolved',
                now() - g * interval '1 minute', now() - g * interval '1 minute',
                now() - g * interval '1 minute' + interval '30 seconds',
                now() - g * interval '1 minute' + interval '10 minutes'
           FROM generate_series(1, $3::int8) g JOIN c ON c.n = g % 100",
        account.0,
        &types.iter().map(|t| t.0).collect::<Vec<_>>(),
        sessions
    )
    .execute(pool)
    .await
    .expect("sessions");
    sqlx::query!(
        "INSERT INTO messages (session_id, sender_kind, body)
         SELECT s.id, 'customer', 'hello message ' || n
                || CASE WHEN n = 2 AND s.k % 2 = 0 THEN ' refund' ELSE '' END
                || CASE WHEN n = 3 AND s.k % 2 = 0 THEN ' ' || $2 ELSE '' END
           FROM (SELECT id, row_number() OVER (ORDER BY created_at DESC) AS k FROM sessions
                  WHERE account_id = $1) s
          CROSS JOIN generate_series(1, 3) n",
        account.0,
        extra
    )
    .execute(pool)
    .await
    .expect("messages");
}

/// A common word's page comes from the account's newest sessions, not from
/// every match in every account, and it is the same page, by cursor, as
/// reading every match gives; a rare word still reads its matches, and a
/// word common only in another account falls back to them.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_common_word_reads_the_newest_sessions_not_every_match(pool: PgPool) {
    use domain::scope::Scope;
    use domain::search::{Read, find, plan_read};
    let acme = account(&pool, "acme").await;
    let mut types = Vec::new();
    for slug in ["acme-billing", "acme-tech", "acme-returns"] {
        types.push(support_type(&pool, acme, slug, Routing::Manual).await);
    }
    let globex = account(&pool, "globex").await;
    let globex_type = support_type(&pool, globex, "globex-billing", Routing::Manual).await;
    history(&pool, acme, &types, 12_000, "hello").await;
    history(&pool, globex, &[globex_type], 8_000, "zebra").await;
    sqlx::query!(
        "UPDATE messages SET body = body || ' quartz'
          WHERE id = (SELECT max(m.id) FROM messages m JOIN sessions s ON s.id = m.session_id
                       WHERE s.account_id = $1)",
        acme.0
    )
    .execute(&pool)
    .await
    .expect("rare word");
    sqlx::query!("ANALYZE").execute(&pool).await.expect("analyze");
    let admin =
        as_agent(agent(&pool, acme, "ada@acme.test", Role::Admin, 5, true, &[]).await, acme, Role::Admin);
    let dana = as_agent(
        agent(&pool, acme, "dana@acme.test", Role::Agent, 5, true, &types[..2]).await,
        acme,
        Role::Agent,
    );

    let mut conn = pool.acquire().await.expect("conn");
    let limit = 50;
    for actor in [&admin, &dana] {
        let scope = Scope::of(&mut conn, actor).await.expect("scope");
        for word in ["refund", "zebra", "quartz", "Customer 7", "refund -zebra"] {
            let query = text(word).checked().expect("query");
            let read = plan_read(&mut conn, &scope, &query, limit).await.expect("plan");
            match word {
                "refund" | "zebra" => assert!(matches!(read, Read::Newest { .. }), "{word}: {read:?}"),
                "quartz" => assert_eq!(read, Read::Matches, "a rare word reads its matches"),
                _ => {}
            }
            // Three pages, each the same through either read.
            let mut cursor = None;
            for page in 0..3 {
                let chosen = find(&mut conn, &scope, &query, cursor, limit, read).await.expect("chosen");
                let every = find(&mut conn, &scope, &query, cursor, limit, Read::Matches).await.expect("all");
                assert_eq!(ids(&chosen), ids(&every), "{word}, page {page}, {actor:?}");
                assert_eq!(
                    chosen.iter().map(|h| (h.message_id, h.snippet.clone())).collect::<Vec<_>>(),
                    every.iter().map(|h| (h.message_id, h.snippet.clone())).collect::<Vec<_>>(),
                );
                match word {
                    "refund" | "Customer 7" => {
                        assert_eq!(chosen.len(), 51, "{word}: a full page and one more")
                    }
                    "zebra" => assert!(chosen.is_empty(), "Globex's word is not Acme's"),
                    "quartz" => assert_eq!(chosen.len(), if page == 0 { 1 } else { 0 }),
                    _ => {}
                }
                if chosen.len() <= limit as usize {
                    break;
                }
                let last = &chosen[limit as usize - 1];
                cursor = Some((last.created_at, last.session_id.0));
            }
        }
    }
    // Found by the customer's name alone, through the walk too.
    let query = text("refund").checked().expect("query");
    let scope = Scope::of(&mut conn, &admin).await.expect("scope");
    let read = plan_read(&mut conn, &scope, &query, limit).await.expect("plan");
    let page = find(&mut conn, &scope, &query, None, limit, read).await.expect("find");
    assert!(page.iter().any(|h| h.message_id.is_none()
        && h.customer_name.as_deref().is_some_and(|n| n.starts_with("Refunds Desk"))));
    // The public search takes the same page.
    let page = search(&pool, &dana, text("refund"), None, Some(limit)).await.expect("search");
    assert_eq!(page.items.len(), 50);
    assert!(
        page.items
            .windows(2)
            .all(|w| (w[0].created_at, w[0].session_id.0) > (w[1].created_at, w[1].session_id.0))
    );
    assert!(page.next_cursor.is_some());

    // What each read costs, from this transaction's own counters.
    let scope = Scope::of(&mut conn, &admin).await.expect("scope");
    let query = text("refund").checked().expect("query");
    let read = plan_read(&mut conn, &scope, &query, limit).await.expect("plan");
    let Read::Newest { sessions, .. } = read else { panic!("{read:?}") };
    let mut fetched = Vec::new();
    for read in [read, Read::Matches] {
        let mut counting = counting_connection(&pool).await;
        let mut tx = sqlx::Connection::begin(&mut counting).await.expect("tx");
        find(&mut tx, &scope, &query, None, limit, read).await.expect("find");
        let c = sqlx::query!(
            r#"SELECT relname AS "table!", seq_scan AS "seq_scan!", coalesce(idx_tup_fetch, 0) AS "fetched!"
                 FROM pg_stat_xact_user_tables WHERE relname IN ('messages', 'sessions') ORDER BY relname"#
        )
        .fetch_all(&mut *tx)
        .await
        .expect("counters");
        let scans: Vec<(&str, i64)> = c.iter().map(|t| (t.table.as_str(), t.seq_scan)).collect();
        // (Reading every match may scan the sessions at this size; the
        // query-plan test holds it to its indexes at 100k.)
        if read != Read::Matches {
            assert!(c.iter().all(|t| t.seq_scan == 0), "a table read whole ({read:?}): {scans:?}");
        }
        fetched.push(c[0].fetched);
        tx.rollback().await.expect("rollback");
    }
    // The walk: each of at most `sessions` sessions' 3 messages, and the
    // page's messages again for their snippets. Every match: the 10,000
    // messages with the word, in both accounts.
    assert!(fetched[0] <= 3 * sessions + 51, "{} messages read for {sessions} sessions", fetched[0]);
    assert!(fetched[1] >= 10_000, "{fetched:?}");
    assert!(fetched[0] * 5 < fetched[1], "{fetched:?}");
}
