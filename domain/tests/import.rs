//! Importing another helpdesk's history: every hand-made fixture imports
//! with the counts its content implies, the dry run predicts the apply,
//! a second run creates nothing, bad records are named by index and field
//! while the good ones import, a cancelled run resumes to the same counts,
//! one import per account runs at a time, and imported sessions land in
//! the reports on their original dates.

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::*;
use domain::{
    Error,
    actor::Actor,
    import::{
        AgentAction, Counts, Format, Mapping, SkipKind, Unmatched, parse,
        run::{self, FileInfo, Finish, Importer},
    },
    reports::{self, Grouping, ReportFilter},
    types::*,
};
use sqlx::PgPool;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../end2end/fixtures/import/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct World {
    acc: AccountId,
    billing: SupportTypeId,
    ann: AgentId,
}

async fn world(pool: &PgPool) -> World {
    let acc = account(pool, "acme").await;
    let billing = support_type(pool, acc, "billing", Routing::RoundRobin).await;
    let technical = support_type(pool, acc, "technical-support", Routing::RoundRobin).await;
    sqlx::query!("UPDATE support_types SET name = 'Billing' WHERE id = $1", billing.0)
        .execute(pool)
        .await
        .expect("name");
    sqlx::query!("UPDATE support_types SET name = 'Technical Support' WHERE id = $1", technical.0)
        .execute(pool)
        .await
        .expect("name");
    let ann = agent(pool, acc, "ann@acme.test", Role::Agent, 5, false, &[billing]).await;
    World { acc, billing, ann }
}

/// A `count(*)`, compile-checked.
macro_rules! count {
    ($pool:expr, $sql:literal) => {
        sqlx::query_scalar!($sql).fetch_one($pool).await.expect($sql).unwrap_or_default()
    };
}

/// Row counts of everything an import writes.
async fn tables(pool: &PgPool) -> Vec<(String, i64)> {
    let n = sqlx::query!(
        r#"SELECT (SELECT count(*) FROM sessions) AS "sessions!", (SELECT count(*) FROM messages) AS "messages!",
                  (SELECT count(*) FROM notes) AS "notes!", (SELECT count(*) FROM assignments) AS "assignments!",
                  (SELECT count(*) FROM csat) AS "csat!", (SELECT count(*) FROM customers) AS "customers!",
                  (SELECT count(*) FROM agents) AS "agents!", (SELECT count(*) FROM tags) AS "tags!",
                  (SELECT count(*) FROM session_tags) AS "session_tags!",
                  (SELECT count(*) FROM import_map) AS "import_map!",
                  (SELECT count(*) FROM report_facts) AS "report_facts!",
                  (SELECT count(*) FROM outbox WHERE topic NOT LIKE 'import.%') AS "events!""#
    )
    .fetch_one(pool)
    .await
    .expect("counts");
    [
        ("sessions", n.sessions),
        ("messages", n.messages),
        ("notes", n.notes),
        ("assignments", n.assignments),
        ("csat", n.csat),
        ("customers", n.customers),
        ("agents", n.agents),
        ("tags", n.tags),
        ("session_tags", n.session_tags),
        ("import_map", n.import_map),
        ("report_facts", n.report_facts),
        ("events other than import.*", n.events),
    ]
    .into_iter()
    .map(|(t, n)| (t.to_owned(), n))
    .collect()
}

async fn import(
    pool: &PgPool,
    acc: AccountId,
    format: Format,
    name: &str,
    mapping: Mapping,
) -> (Finish, Counts) {
    let bytes = fixture(name);
    let entries = parse::parse(format, &bytes).expect("parses");
    let info = FileInfo::new(acc, format, None, name, &bytes);
    Importer::start(pool, &Actor::System, &info, entries, mapping)
        .await
        .expect("start")
        .run(|_| {})
        .await
        .expect("run")
}

async fn plan(
    pool: &PgPool,
    acc: AccountId,
    format: Format,
    name: &str,
    mapping: Mapping,
) -> domain::import::Plan {
    let entries = parse::parse(format, &fixture(name)).expect("parses");
    run::plan(pool, &Actor::System, acc, format.as_str(), &entries, mapping).await.expect("plan")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_fixture_imports_as_its_dry_run_said_and_a_second_run_changes_nothing(pool: PgPool) {
    let w = world(&pool).await;
    // (format, file, created, skipped, messages, notes, ratings)
    let cases = [
        (Format::Deskpro, "deskpro.json", 4, 2, 8, 1, 3),
        (Format::Zendesk, "zendesk.json", 2, 2, 4, 1, 2),
        (Format::Chatwoot, "chatwoot.json", 2, 1, 5, 1, 1),
        (Format::Jsonl, "generic.jsonl", 3, 0, 5, 1, 1),
        (Format::Csv, "generic.csv", 2, 0, 4, 1, 1),
    ];
    for (format, name, created, skipped, messages, notes, csat) in cases {
        let dry = plan(&pool, w.acc, format, name, Mapping::default()).await;
        let before = tables(&pool).await;
        let (finish, counts) = import(&pool, w.acc, format, name, Mapping::default()).await;
        assert_eq!(finish, Finish::Completed, "{name}");
        assert_eq!(
            (counts.created, counts.skipped, counts.messages, counts.notes, counts.csat),
            (created, skipped, messages, notes, csat),
            "{name}: {counts:?}"
        );
        assert_eq!(dry.counts, counts, "{name}: the dry run predicts the apply");
        let after = tables(&pool).await;
        let grew = |t: &str| {
            let n = |v: &[(String, i64)]| v.iter().find(|(k, _)| k == t).map(|(_, n)| *n).expect("table");
            n(&after) - n(&before)
        };
        assert_eq!(grew("sessions"), created as i64, "{name}");
        assert_eq!(grew("messages"), messages as i64, "{name}");
        assert_eq!(grew("notes"), notes as i64, "{name}");
        assert_eq!(grew("csat"), csat as i64, "{name}");
        assert_eq!(grew("report_facts"), created as i64, "{name}: the rollups are fed");
        assert_eq!(grew("events other than import.*"), 0, "{name}: imported history is quiet");

        let (_, again) = import(&pool, w.acc, format, name, Mapping::default()).await;
        assert_eq!((again.created, again.matched, again.skipped), (0, created, skipped), "{name}: {again:?}");
        assert_eq!(tables(&pool).await, after, "{name}: a second run creates nothing");
        let progress = count!(&pool, "SELECT count(*) FROM outbox WHERE topic = 'import.progress'");
        assert!(progress >= 4, "each run reports its start and its batches: {progress}");
    }
    // Nothing imported is queued, owned or waiting for assignment.
    let live = count!(&pool, "SELECT count(*) FROM sessions WHERE status IN ('queued', 'active')");
    assert_eq!(live, 0);
    let open = count!(&pool, "SELECT count(*) FROM assignments WHERE ended_at IS NULL");
    assert_eq!(open, 0);
    let load = sqlx::query_scalar!("SELECT active_count FROM agents WHERE id = $1", w.ann.0)
        .fetch_one(&pool)
        .await
        .expect("load");
    assert_eq!(load, 0, "history takes no capacity");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn deskpro_history_keeps_its_text_notes_ratings_times_and_people(pool: PgPool) {
    let w = world(&pool).await;
    import(&pool, w.acc, Format::Deskpro, "deskpro.json", Mapping::default()).await;
    let ticket = sqlx::query_scalar!(
        "SELECT local_id FROM import_map WHERE kind = 'session' AND source = 'deskpro' AND source_id = 'ticket:5001'",
    )
    .fetch_one(&pool)
    .await
    .expect("mapped");
    let session = sqlx::query!(
        r#"SELECT status, created_at, resolved_at, resolved_by_id AS "resolved_by_id: AgentId",
                  support_type_id AS "support_type_id: SupportTypeId"
           FROM sessions WHERE id = $1"#,
        ticket
    )
    .fetch_one(&pool)
    .await
    .expect("session");
    let (status, created, resolved, resolver, type_id) = (
        session.status,
        session.created_at,
        session.resolved_at,
        session.resolved_by_id,
        session.support_type_id,
    );
    assert_eq!(status, "resolved");
    assert_eq!(created, Utc.with_ymd_and_hms(2024, 3, 4, 9, 0, 0).unwrap());
    assert_eq!(resolved, Some(Utc.with_ymd_and_hms(2024, 3, 4, 11, 30, 0).unwrap()));
    assert_eq!(resolver, Some(w.ann), "matched by e-mail");
    assert_eq!(type_id, w.billing, "the department maps to the type of the same name");

    let bodies: Vec<(String, String)> =
        sqlx::query!("SELECT sender_kind, body FROM messages WHERE session_id = $1 ORDER BY id", ticket)
            .fetch_all(&pool)
            .await
            .expect("messages")
            .into_iter()
            .map(|m| (m.sender_kind, m.body))
            .collect();
    assert_eq!(bodies[0], ("customer".into(), "I was charged twice for order #881.".into()));
    assert_eq!(bodies[1].0, "agent");
    assert!(bodies[1].1.contains("see [our refund guide][1]."), "{}", bodies[1].1);
    assert!(
        bodies[1].1.contains("[1]: https://help.acme.test/refunds"),
        "links stay as text: {}",
        bodies[1].1
    );
    assert!(
        !bodies[1].1.contains("alert") && !bodies[1].1.contains('<'),
        "markup and scripts are dropped: {}",
        bodies[1].1
    );
    assert_eq!(bodies[2].1, "Thanks & bye", "entities are decoded once");
    let note = sqlx::query!(
        r#"SELECT body, author_id AS "author_id: AgentId" FROM notes WHERE session_id = $1"#,
        ticket
    )
    .fetch_one(&pool)
    .await
    .expect("note");
    let note = (note.body, note.author_id);
    assert_eq!(note, ("Checked the payment provider: a duplicate capture.".into(), w.ann));
    let scores =
        sqlx::query_scalar!("SELECT score FROM csat ORDER BY score").fetch_all(&pool).await.expect("csat");
    assert_eq!(scores, vec![1, 4, 5], "feedback −1/1 → 1/5, chat rating 4 stays 4");
    let tags = sqlx::query_scalar!(
        r#"SELECT t.name::text AS "name!" FROM session_tags st JOIN tags t ON t.id = st.tag_id
           WHERE st.session_id = $1 AND st.source = 'import' ORDER BY 1"#,
        ticket
    )
    .fetch_all(&pool)
    .await
    .expect("tags");
    assert_eq!(tags, vec!["VIP customer".to_owned(), "refund".to_owned()]);

    // The departed colleague exists, deactivated, without a password.
    let gone = sqlx::query!(
        "SELECT deactivated_at, password_hash, max_concurrent FROM agents WHERE email = 'gone@old-helpdesk.test'",
    )
    .fetch_one(&pool)
    .await
    .expect("created agent");
    let gone = (gone.deactivated_at, gone.password_hash, gone.max_concurrent);
    assert!(gone.0.is_some() && gone.1.is_none() && gone.2 == 0, "{gone:?}");
    // The chat nobody answered is abandoned; the customer's mixed-case
    // address is stored lower-case and matched once.
    let abandoned = count!(&pool, "SELECT count(*) FROM sessions WHERE status = 'abandoned'");
    assert_eq!(abandoned, 1);
    let maria = count!(
        &pool,
        "SELECT count(*) FROM sessions s JOIN customers c ON c.id = s.customer_id WHERE c.email = 'maria@customer.test'"
    );
    assert_eq!(maria, 2, "ticket and chat of one person share a customer");
    let tom = count!(&pool, "SELECT count(*) FROM customers WHERE email = 'tom@customer.test'");
    assert_eq!(tom, 1);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn customers_are_matched_by_email_or_external_id(pool: PgPool) {
    let w = world(&pool).await;
    let by_email = sqlx::query_scalar!(
        r#"INSERT INTO customers (account_id, name, email) VALUES ($1, 'Jane', 'JANE@customer.test')
           RETURNING id AS "id: CustomerId""#,
        w.acc.0
    )
    .fetch_one(&pool)
    .await
    .expect("customer");
    let by_ref = sqlx::query_scalar!(
        r#"INSERT INTO customers (account_id, name, external_ref) VALUES ($1, 'Grace', 'crm-grace')
           RETURNING id AS "id: CustomerId""#,
        w.acc.0
    )
    .fetch_one(&pool)
    .await
    .expect("customer");
    let dry = plan(&pool, w.acc, Format::Zendesk, "zendesk.json", Mapping::default()).await;
    assert_eq!((dry.counts.customers_matched, dry.counts.customers_created), (1, 1), "{:?}", dry.counts);
    import(&pool, w.acc, Format::Zendesk, "zendesk.json", Mapping::default()).await;
    import(&pool, w.acc, Format::Jsonl, "generic.jsonl", Mapping::default()).await;
    let owners = sqlx::query_scalar!(
        r#"SELECT s.customer_id AS "customer_id: CustomerId" FROM sessions s JOIN import_map m ON m.local_id = s.id
          WHERE m.source_id IN ('ticket:9001', 'conversation:g-2') ORDER BY m.source_id DESC"#,
    )
    .fetch_all(&pool)
    .await
    .expect("owners");
    assert_eq!(owners, vec![by_email, by_ref]);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn unmapped_groups_and_foreign_agents_are_skipped_with_reasons_until_mapped(pool: PgPool) {
    let w = world(&pool).await;
    let dry = plan(&pool, w.acc, Format::Zendesk, "zendesk.json", Mapping::default()).await;
    let legal = dry.groups.iter().find(|g| g.name == "Legal").expect("group row");
    assert_eq!((legal.support_type_id, legal.how.as_str()), (None, "none"));
    let skip = dry.skips.iter().find(|s| s.kind == SkipKind::NoSupportType).expect("skip");
    assert_eq!(skip.record, "tickets[3]");
    assert!(skip.reason.contains("\"Legal\""), "{}", skip.reason);
    assert_eq!(dry.skipped_by_kind.get("open"), Some(&1));
    let mapped = Mapping { types: [("Legal".to_owned(), w.billing)].into(), ..Mapping::default() };
    let dry = plan(&pool, w.acc, Format::Zendesk, "zendesk.json", mapped.clone()).await;
    assert_eq!((dry.counts.created, dry.counts.skipped), (3, 1));

    // An address of another account cannot be created here.
    let other = account(&pool, "other").await;
    let theirs = support_type(&pool, other, "other-billing", Routing::RoundRobin).await;
    sqlx::query!("UPDATE support_types SET name = 'Billing' WHERE id = $1", theirs.0)
        .execute(&pool)
        .await
        .expect("name");
    let dry = plan(
        &pool,
        other,
        Format::Zendesk,
        "zendesk.json",
        Mapping { default_type: None, ..Mapping::default() },
    )
    .await;
    let ann = dry.agents.iter().find(|a| a.email.as_deref() == Some("ann@acme.test")).expect("agent row");
    assert_eq!(ann.action, AgentAction::Foreign);
    assert!(
        dry.skips.iter().any(|s| s.kind == SkipKind::Agent && s.reason.contains("ann@acme.test")),
        "{:?}",
        dry.skips
    );
    let colleague = agent(&pool, other, "bob@other.test", Role::Agent, 5, false, &[]).await;
    let to_bob = Mapping { agents: [("ann@acme.test".to_owned(), colleague)].into(), ..Mapping::default() };
    let dry = plan(&pool, other, Format::Zendesk, "zendesk.json", to_bob.clone()).await;
    assert!(dry.skips.iter().all(|s| s.kind != SkipKind::Agent), "{:?}", dry.skips);
    assert_eq!(
        dry.agents.iter().find(|a| a.email.as_deref() == Some("ann@acme.test")).map(|a| &a.action),
        Some(&AgentAction::Mapped { agent_id: colleague })
    );
    // A mapping must name this account's agents and types.
    let err = run::plan(
        &pool,
        &Actor::System,
        other,
        "zendesk",
        &[],
        Mapping { unmatched_agents: Unmatched::MapTo(w.ann), ..Mapping::default() },
    )
    .await
    .expect_err("foreign agent");
    assert!(matches!(&err, Error::Invalid { field, .. } if field == "mapping.unmatched_agents"), "{err:?}");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn broken_records_are_reported_by_line_and_field_and_the_rest_imports(pool: PgPool) {
    let w = world(&pool).await;
    let bytes = fixture("broken.jsonl");
    let entries = parse::parse(Format::Jsonl, &bytes).expect("a file with bad lines still parses");
    let info = FileInfo::new(w.acc, Format::Jsonl, Some("legacy".into()), "broken.jsonl", &bytes);
    let importer =
        Importer::start(&pool, &Actor::System, &info, entries, Mapping::default()).await.expect("start");
    let run_id = importer.run_id();
    let mut skips = Vec::new();
    let (finish, counts) = importer.run(|p| skips.extend(p.skips.clone())).await.expect("run");
    assert_eq!(finish, Finish::Completed);
    assert_eq!((counts.created, counts.skipped), (2, 5), "{counts:?}");
    let named: Vec<(String, Option<String>)> =
        skips.iter().map(|s| (s.record.clone(), s.field.clone())).collect();
    assert_eq!(
        named,
        vec![
            ("line 2".into(), Some("line".into())),
            ("line 3".into(), Some("id".into())),
            ("line 4".into(), Some("created_at".into())),
            ("line 5".into(), Some("messages[0].from".into())),
            ("line 7".into(), Some("csat".into())),
        ]
    );
    assert!(skips[2].reason.contains("\"last tuesday\""), "{}", skips[2].reason);
    // The run keeps them, for its page.
    let run = run::get(&pool, &Actor::System, run_id).await.expect("run");
    assert_eq!((run.position, run.total, run.created, run.skipped), (7, 7, 2, 5));
    assert_eq!(run.skips.len(), 5);
    let half_written = count!(
        &pool,
        "SELECT count(*) FROM import_map m WHERE m.kind = 'session' AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.session_id = m.local_id)"
    );
    assert_eq!(half_written, 0);
}

/// A generated file of `n` resolved conversations with two messages each.
fn generated(n: usize) -> Vec<u8> {
    let mut out = String::new();
    for i in 0..n {
        out.push_str(&format!(
            r#"{{"id":"gen-{i}","type":"billing","status":"resolved","created_at":"2024-08-01T{:02}:{:02}:00Z","customer":{{"id":"c-{}","email":"c{}@customer.test"}},"agent":{{"email":"ann@acme.test"}},"messages":[{{"from":"customer","body":"question {i}","created_at":"2024-08-01T{:02}:{:02}:00Z"}},{{"from":"agent","author_email":"ann@acme.test","body":"answer {i}","created_at":"2024-08-01T{:02}:{:02}:30Z"}}]}}"#,
            (i / 60) % 24, i % 60, i % 97, i % 97, (i / 60) % 24, i % 60, (i / 60) % 24, i % 60
        ));
        out.push('\n');
    }
    out.into_bytes()
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_cancelled_run_resumes_from_its_checkpoint_to_the_same_counts(pool: PgPool) {
    let w = world(&pool).await;
    let bytes = generated(1_300);
    let info = FileInfo::new(w.acc, Format::Jsonl, None, "big.jsonl", &bytes);
    let mut first = Importer::start(
        &pool,
        &Actor::System,
        &info,
        parse::parse(Format::Jsonl, &bytes).expect("parse"),
        Mapping::default(),
    )
    .await
    .expect("start");
    let run_id = first.run_id();
    let progress = first.step().await.expect("step").expect("a batch");
    assert_eq!(progress.position, 500);

    // One import per account at a time.
    let err = Importer::start(&pool, &Actor::System, &info, Vec::new(), Mapping::default())
        .await
        .err()
        .expect("locked");
    assert!(matches!(&err, Error::Conflict { code, .. } if code == "import_running"), "{err:?}");

    assert_eq!(
        run::cancel(&pool, &Actor::System, run_id).await.expect("cancel"),
        domain::import::RunStatus::Cancelling
    );
    let (finish, _) = first.run(|_| {}).await.expect("stops");
    assert_eq!(finish, Finish::Cancelled);
    let run = run::get(&pool, &Actor::System, run_id).await.expect("run");
    assert_eq!((run.status, run.position), (domain::import::RunStatus::Cancelled, 500));

    let again = Importer::start(
        &pool,
        &Actor::System,
        &info,
        parse::parse(Format::Jsonl, &bytes).expect("parse"),
        Mapping::default(),
    )
    .await
    .expect("resume");
    assert_eq!((again.run_id(), again.position()), (run_id, 500), "the same run, from its checkpoint");
    let (finish, counts) = again.run(|_| {}).await.expect("run");
    assert_eq!(finish, Finish::Completed);
    assert_eq!((counts.conversations, counts.created, counts.matched), (1_300, 1_300, 0), "{counts:?}");
    let sessions = count!(&pool, "SELECT count(*) FROM sessions");
    let messages = count!(&pool, "SELECT count(*) FROM messages");
    let customers = count!(&pool, "SELECT count(*) FROM customers");
    assert_eq!((sessions, messages, customers), (1_300, 2_600, 97));
    // Each conversation's question and answer teaches suggested replies,
    // once, although the run was cut in the middle.
    let pairs = count!(
        &pool,
        "SELECT count(*) FROM past_answers WHERE question ~ '^question' AND answer ~ '^answer'"
    );
    assert_eq!(pairs, 1_300);
    let run = run::get(&pool, &Actor::System, run_id).await.expect("run");
    assert_eq!((run.status, run.position, run.created), (domain::import::RunStatus::Completed, 1_300, 1_300));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn imported_sessions_appear_in_the_reports_on_their_original_dates(pool: PgPool) {
    let w = world(&pool).await;
    import(&pool, w.acc, Format::Deskpro, "deskpro.json", Mapping::default()).await;
    let report = reports::report(
        &pool,
        &Actor::System,
        ReportFilter {
            from: NaiveDate::from_ymd_opt(2024, 3, 1).expect("date"),
            to: NaiveDate::from_ymd_opt(2024, 3, 10).expect("date"),
            group: Grouping::Day,
            account_id: Some(w.acc),
            support_type_id: None,
            agent_id: None,
            tag_id: None,
            time_zone: None,
        },
    )
    .await
    .expect("report");
    let t = &report.totals;
    assert_eq!((t.opened, t.resolved, t.abandoned), (4, 3, 1), "{t:?}");
    assert_eq!(t.csat.n, 3);
    let opened_on = |day: &str| {
        report.series.iter().find(|p| p.start.format("%Y-%m-%d").to_string() == day).map(|p| p.figures.opened)
    };
    assert_eq!(opened_on("2024-03-04"), Some(1));
    assert_eq!(opened_on("2024-03-05"), Some(1));
    assert_eq!(opened_on("2024-03-07"), Some(2));
    // Human first response runs from creation to the first agent reply.
    assert_eq!(t.first_response.n, 3);
    let frt = sqlx::query_scalar!(
        r#"SELECT extract(epoch FROM first_response_at - created_at)::float8 AS "secs!"
           FROM sessions s JOIN import_map m ON m.local_id = s.id WHERE m.source_id = 'ticket:5001'"#,
    )
    .fetch_one(&pool)
    .await
    .expect("frt");
    assert_eq!(frt, 25.0 * 60.0);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn only_the_accounts_admins_import(pool: PgPool) {
    let w = world(&pool).await;
    let entries = parse::parse(Format::Jsonl, &fixture("generic.jsonl")).expect("parse");
    let agent = as_agent(w.ann, w.acc, Role::Agent);
    let err =
        run::plan(&pool, &agent, w.acc, "jsonl", &entries, Mapping::default()).await.expect_err("agent");
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    let other = account(&pool, "other").await;
    let stranger_id = common::agent(&pool, other, "admin@other.test", Role::Admin, 0, false, &[]).await;
    let stranger = as_agent(stranger_id, other, Role::Admin);
    let err = run::plan(&pool, &stranger, w.acc, "jsonl", &entries, Mapping::default())
        .await
        .expect_err("stranger");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let bytes = fixture("generic.jsonl");
    let info = FileInfo::new(w.acc, Format::Jsonl, None, "generic.jsonl", &bytes);
    let err =
        Importer::start(&pool, &stranger, &info, entries, Mapping::default()).await.err().expect("stranger");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}
