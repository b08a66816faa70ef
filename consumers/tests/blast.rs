//! Blasts on a real PostgreSQL: segment snapshots, the rate limit, cancel,
//! reuse of open sessions, and exactly-once delivery across a worker killed
//! halfway through.

use std::time::{Duration, Instant};

use consumers::{blast, handlers::blast::Blast as BlastHandler, process};
use domain::{
    actor::{Actor, AgentActor},
    blasts::{self, NewBlast, Segment, Step},
    outbox,
    types::{AccountId, AgentId, BlastId, BlastStatus, Role, SupportTypeId},
};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

mod common;

struct World {
    account: AccountId,
    admin: Actor,
    admin_id: AgentId,
    billing: SupportTypeId,
    sales: SupportTypeId,
}

async fn world(pool: &PgPool, slug: &str) -> World {
    let account: Uuid = sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ($1, $1) RETURNING id")
        .bind(slug)
        .fetch_one(pool)
        .await
        .expect("account");
    let mut types = Vec::new();
    for name in ["billing", "sales"] {
        let id: Uuid = sqlx::query_scalar(
            "INSERT INTO support_types (account_id, slug, name, routing) VALUES ($1, $2, $2, 'manual') RETURNING id",
        )
        .bind(account)
        .bind(format!("{slug}-{name}"))
        .fetch_one(pool)
        .await
        .expect("type");
        types.push(SupportTypeId(id));
    }
    let admin: Uuid = sqlx::query_scalar(
        "INSERT INTO agents (account_id, email, display_name, role) VALUES ($1, $2, 'Ada', 'admin') RETURNING id",
    )
    .bind(account)
    .bind(format!("ada@{slug}.test"))
    .fetch_one(pool)
    .await
    .expect("admin");
    let account = AccountId(account);
    let admin_id = AgentId(admin);
    World {
        account,
        admin: Actor::Agent(AgentActor { id: admin_id, account_id: Some(account), role: Role::Admin }),
        admin_id,
        billing: types[0],
        sales: types[1],
    }
}

/// `n` customers of the account without sessions (every other one with an
/// e-mail address).
async fn customers(pool: &PgPool, account: AccountId, n: i32) {
    sqlx::query(
        "INSERT INTO customers (account_id, name, email)
         SELECT $1, 'Customer ' || i, CASE WHEN i % 2 = 0 THEN 'c' || i || '@example.test' END
         FROM generate_series(1, $2) AS i",
    )
    .bind(account)
    .bind(n)
    .execute(pool)
    .await
    .expect("customers");
}

async fn customer(pool: &PgPool, account: AccountId, name: &str) -> Uuid {
    sqlx::query_scalar("INSERT INTO customers (account_id, name) VALUES ($1, $2) RETURNING id")
        .bind(account)
        .bind(name)
        .fetch_one(pool)
        .await
        .expect("customer")
}

/// A session of `ty` for `customer`, opened `days_ago` days ago, with `status`.
async fn session(
    pool: &PgPool,
    w: &World,
    ty: SupportTypeId,
    customer: Uuid,
    days_ago: i32,
    status: &str,
) -> Uuid {
    sqlx::query_scalar(
        "INSERT INTO sessions (account_id, support_type_id, customer_id, status, resolved_at, created_at)
         VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'resolved' THEN now() END, now() - make_interval(days => $5))
         RETURNING id",
    )
    .bind(w.account)
    .bind(ty)
    .bind(customer)
    .bind(status)
    .bind(days_ago)
    .fetch_one(pool)
    .await
    .expect("session")
}

/// Creates a blast and delivers its `blast.created` to the blast consumer
/// (which marks it running).
async fn start(
    pool: &PgPool,
    w: &World,
    segment: Segment,
    support_type: SupportTypeId,
    rate: i32,
) -> BlastId {
    let created = blasts::create(
        pool,
        &w.admin,
        NewBlast {
            account_id: None,
            body: "Our prices change on Monday.".into(),
            segment,
            support_type_id: Some(support_type),
            rate_per_minute: Some(rate),
            attachment_id: None,
        },
    )
    .await
    .expect("create");
    assert_eq!(created.blast.status, BlastStatus::Pending);
    let events = outbox::since(pool, 0, 10_000).await.expect("events");
    let event = events
        .iter()
        .find(|e| e.topic == "blast.created" && e.payload["blast_id"] == created.blast.id.to_string())
        .expect("blast.created");
    process(pool, &BlastHandler, event, None).await.expect("handled");
    let status: BlastStatus = sqlx::query_scalar("SELECT status FROM blasts WHERE id = $1")
        .bind(created.blast.id)
        .fetch_one(pool)
        .await
        .expect("status");
    assert_eq!(status, BlastStatus::Running);
    created.blast.id
}

async fn counters(pool: &PgPool, id: BlastId) -> (BlastStatus, i32, i32, i32, i32) {
    sqlx::query_as("SELECT status, total, sent, failed, skipped FROM blasts WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("counters")
}

async fn wait_for(pool: &PgPool, id: BlastId, what: &str, done: impl Fn(BlastStatus, i32) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let (status, _, sent, _, _) = counters(pool, id).await;
        if done(status, sent) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {status} with {sent} sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn recipients(pool: &PgPool, id: BlastId) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT customer_id FROM blast_recipients WHERE blast_id = $1 ORDER BY customer_id")
        .bind(id)
        .fetch_all(pool)
        .await
        .expect("recipients")
}

fn sorted(mut v: Vec<Uuid>) -> Vec<Uuid> {
    v.sort();
    v
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_worker_killed_halfway_and_restarted_messages_each_recipient_exactly_once(pool: PgPool) {
    let w = world(&pool, "acme").await;
    customers(&pool, w.account, 1000).await;
    let id = start(&pool, &w, Segment::Account, w.billing, 1_000_000).await;

    let first = tokio::spawn(blast::run(pool.clone(), CancellationToken::new()));
    wait_for(&pool, id, "half of the recipients", |_, sent| sent >= 500).await;
    first.abort();
    let _ = first.await;
    let (status, total, sent_at_kill, _, _) = counters(&pool, id).await;
    assert_eq!((status, total), (BlastStatus::Running, 1000));
    assert!(sent_at_kill < 1000, "killed before the end: {sent_at_kill}");

    let stop = CancellationToken::new();
    let second = tokio::spawn(blast::run(pool.clone(), stop.clone()));
    wait_for(&pool, id, "the end", |status, _| status == BlastStatus::Done).await;
    stop.cancel();
    second.await.expect("worker");

    assert_eq!(counters(&pool, id).await, (BlastStatus::Done, 1000, 1000, 0, 0));
    let client_id = format!("blast:{id}");
    let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE client_message_id = $1")
        .bind(&client_id)
        .fetch_one(&pool)
        .await
        .expect("messages");
    assert_eq!(messages, 1000);
    let doubled: Vec<Uuid> = sqlx::query_scalar(
        "SELECT session_id FROM messages WHERE client_message_id = $1 GROUP BY session_id HAVING count(*) > 1",
    )
    .bind(&client_id)
    .fetch_all(&pool)
    .await
    .expect("doubles");
    assert!(doubled.is_empty(), "messaged twice: {doubled:?}");
    let per_customer: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT s.customer_id, count(*) FROM messages m JOIN sessions s ON s.id = m.session_id
         WHERE m.client_message_id = $1 GROUP BY s.customer_id HAVING count(*) <> 1",
    )
    .bind(&client_id)
    .fetch_all(&pool)
    .await
    .expect("per customer");
    assert!(per_customer.is_empty(), "{per_customer:?}");
    // Every recipient row points at its message; half had an address and no
    // live chat, so half wait for an e-mail.
    let (sent_rows, linked, email): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE status = 'sent'), count(message_id), count(*) FILTER (WHERE email_pending)
         FROM blast_recipients WHERE blast_id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .expect("rows");
    assert_eq!((sent_rows, linked, email), (1000, 1000, 500));
    let progress = blasts::get(&pool, &w.admin, id).await.expect("progress");
    assert_eq!((progress.pending, progress.email_pending, progress.blast.sent), (0, 500, 1000));
    assert!(progress.blast.finished_at.is_some());
    // The progress bar's ticks: every 2% (20 recipients), once each despite
    // the kill (a rolled-back send took its tick with it), and the end.
    let ticks: Vec<serde_json::Value> = sqlx::query_scalar!(
        "SELECT payload FROM outbox WHERE topic = 'blast.progress' AND payload->>'blast_id' = $1 ORDER BY id",
        id.to_string()
    )
    .fetch_all(&pool)
    .await
    .expect("ticks");
    assert_eq!(ticks.len(), 51);
    let sent: Vec<i64> = ticks.iter().map(|t| t["sent"].as_i64().expect("sent")).collect();
    assert_eq!(&sent[..50], (1..=50).map(|k| k * 20).collect::<Vec<_>>());
    assert_eq!((ticks[50]["status"].as_str(), ticks[50]["sent"].as_i64()), (Some("done"), Some(1000)));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_send_rolled_back_sends_nothing(pool: PgPool) {
    let w = world(&pool, "acme").await;
    customers(&pool, w.account, 3).await;
    let id = start(&pool, &w, Segment::Account, w.billing, 1_000_000).await;
    {
        let mut tx = pool.begin().await.expect("tx");
        let step = blasts::send_to_next(&mut tx, id).await.expect("send");
        assert!(matches!(step, Step::Sent { .. }), "{step:?}");
        // Dropped without commit: a crash mid-send.
    }
    let messages: i64 =
        sqlx::query_scalar("SELECT count(*) FROM messages").fetch_one(&pool).await.expect("n");
    assert_eq!(messages, 0);
    assert_eq!(counters(&pool, id).await, (BlastStatus::Running, 3, 0, 0, 0));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn erased_customers_get_no_blast(pool: PgPool) {
    let w = world(&pool, "acme").await;
    let kept = customer(&pool, w.account, "kept").await;
    let erased_before = customer(&pool, w.account, "erased before").await;
    let erased_after = customer(&pool, w.account, "erased after").await;
    let erase = |id: Uuid| {
        let pool = pool.clone();
        async move {
            let files = domain::attachments::Files::connect(
                &pool,
                &domain::attachments::Storage::Local(std::env::temp_dir().join(format!("sb-blast-{id}"))),
            )
            .await
            .expect("files");
            domain::customers::erase(&pool, &files, &Actor::System, domain::types::CustomerId(id))
                .await
                .expect("erase");
        }
    };
    erase(erased_before).await;
    // Not in the snapshot at all.
    let id = start(&pool, &w, Segment::Account, w.billing, 1_000_000).await;
    assert_eq!(recipients(&pool, id).await, sorted(vec![kept, erased_after]));
    // Erased after the snapshot: refused at send time, with the reason.
    erase(erased_after).await;
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        let mut tx = pool.begin().await.expect("tx");
        outcomes.push(blasts::send_to_next(&mut tx, id).await.expect("send"));
        tx.commit().await.expect("commit");
    }
    let failed = outcomes.iter().find_map(|s| match s {
        Step::Failed { customer_id, error } => Some((customer_id.0, error.clone())),
        _ => None,
    });
    let (who, why) = failed.expect("one recipient failed");
    assert_eq!(who, erased_after);
    assert!(why.contains("erased"), "{why}");
    assert_eq!(counters(&pool, id).await, (BlastStatus::Running, 2, 1, 1, 0));
    let sessions: i64 = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM sessions WHERE customer_id = ANY($1)"#,
        &[erased_before, erased_after][..]
    )
    .fetch_one(&pool)
    .await
    .expect("sessions");
    assert_eq!(sessions, 0, "no outbound session was opened for them");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn the_rate_limit_holds(pool: PgPool) {
    let w = world(&pool, "acme").await;
    customers(&pool, w.account, 100).await;
    let id = start(&pool, &w, Segment::Account, w.billing, 60).await;
    let stop = CancellationToken::new();
    // Two workers share the one pace.
    let workers = [
        tokio::spawn(blast::run(pool.clone(), stop.clone())),
        tokio::spawn(blast::run(pool.clone(), stop.clone())),
    ];
    wait_for(&pool, id, "three sends", |_, sent| sent >= 3).await;
    stop.cancel();
    for w in workers {
        w.await.expect("worker");
    }
    let (status, total, sent, _, _) = counters(&pool, id).await;
    assert_eq!((status, total), (BlastStatus::Running, 100));
    // 60 a minute is one a second: the stored send times are at least a
    // second apart, whichever worker sent.
    let times: Vec<chrono::DateTime<chrono::Utc>> = sqlx::query_scalar(
        "SELECT attempted_at FROM blast_recipients WHERE blast_id = $1 AND status = 'sent' ORDER BY attempted_at",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .expect("times");
    assert_eq!(times.len() as i32, sent);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= chrono::Duration::milliseconds(1000), "two sends {gap} apart at 60/min");
    }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn segments_select_by_support_type_account_and_recent_sessions(pool: PgPool) {
    let w = world(&pool, "acme").await;
    let other = world(&pool, "other").await;
    let billing_recent = customer(&pool, w.account, "billing recent").await;
    let sales_old = customer(&pool, w.account, "sales old").await;
    let no_session = customer(&pool, w.account, "no session").await;
    let foreign = customer(&pool, other.account, "foreign").await;
    session(&pool, &w, w.billing, billing_recent, 2, "resolved").await;
    session(&pool, &w, w.billing, billing_recent, 1, "resolved").await;
    session(&pool, &w, w.sales, sales_old, 40, "resolved").await;
    session(&pool, &other, other.billing, foreign, 1, "resolved").await;

    // The count shown before sending is the snapshot's, segment by segment.
    for (segment, expected) in [
        (Segment::SupportType { support_type_id: w.billing }, 1),
        (Segment::Account, 3),
        (Segment::Recent { days: 30 }, 1),
        (Segment::Recent { days: 90 }, 2),
    ] {
        let n = blasts::audience(&pool, &w.admin, None, segment).await.expect("audience");
        assert_eq!(n, expected, "{segment:?}");
    }
    let err =
        blasts::audience(&pool, &other.admin, Some(w.account), Segment::Account).await.expect_err("foreign");
    assert_eq!(err.code(), "not_found");
    let err = blasts::audience(&pool, &w.admin, None, Segment::Recent { days: 0 }).await.expect_err("days");
    assert!(matches!(err, domain::Error::Invalid { ref field, .. } if field == "segment.days"), "{err:?}");
    let by_type = start(&pool, &w, Segment::SupportType { support_type_id: w.billing }, w.billing, 60).await;
    assert_eq!(recipients(&pool, by_type).await, vec![billing_recent]);
    let all = start(&pool, &w, Segment::Account, w.billing, 60).await;
    assert_eq!(recipients(&pool, all).await, sorted(vec![billing_recent, sales_old, no_session]));
    let month = start(&pool, &w, Segment::Recent { days: 30 }, w.billing, 60).await;
    assert_eq!(recipients(&pool, month).await, vec![billing_recent]);
    let quarter = start(&pool, &w, Segment::Recent { days: 90 }, w.billing, 60).await;
    assert_eq!(recipients(&pool, quarter).await, sorted(vec![billing_recent, sales_old]));
    assert_eq!(counters(&pool, quarter).await.1, 2);

    // Validation names the field; another account's type is no such type.
    let new = |segment, support_type_id: Option<SupportTypeId>, body: &str| NewBlast {
        account_id: None,
        body: body.into(),
        segment,
        support_type_id,
        rate_per_minute: None,
        attachment_id: None,
    };
    let field = |err: domain::Error| match err {
        domain::Error::Invalid { field, .. } => field,
        other => panic!("{other:?}"),
    };
    let err = blasts::create(&pool, &w.admin, new(Segment::Account, Some(w.billing), "  "))
        .await
        .expect_err("body");
    assert_eq!(field(err), "body");
    let err = blasts::create(&pool, &w.admin, new(Segment::Account, None, "Hi")).await.expect_err("type");
    assert_eq!(field(err), "support_type_id");
    let err = blasts::create(&pool, &w.admin, new(Segment::Recent { days: 0 }, Some(w.billing), "Hi"))
        .await
        .expect_err("days");
    assert_eq!(field(err), "segment.days");
    let foreign_type = Segment::SupportType { support_type_id: other.billing };
    let err = blasts::create(&pool, &w.admin, new(foreign_type, None, "Hi")).await.expect_err("foreign");
    assert_eq!(field(err), "segment.support_type_id");
    // Another account's admin cannot see or cancel it.
    let err = blasts::get(&pool, &other.admin, all).await.expect_err("foreign get");
    assert_eq!(err.code(), "not_found");
    let err = blasts::cancel(&pool, &other.admin, all).await.expect_err("foreign cancel");
    assert_eq!(err.code(), "not_found");
    assert_eq!(blasts::list(&pool, &other.admin, None).await.expect("list").len(), 0);
    assert_eq!(blasts::list(&pool, &w.admin, None).await.expect("list").len(), 4);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn cancel_stops_the_blast(pool: PgPool) {
    let w = world(&pool, "acme").await;
    customers(&pool, w.account, 50).await;
    let id = start(&pool, &w, Segment::Account, w.billing, 60).await;
    let stop = CancellationToken::new();
    let worker = tokio::spawn(blast::run(pool.clone(), stop.clone()));
    wait_for(&pool, id, "a first send", |_, sent| sent >= 1).await;
    let cancelled = blasts::cancel(&pool, &w.admin, id).await.expect("cancel");
    assert_eq!(cancelled.blast.status, BlastStatus::Cancelled);
    assert_eq!(cancelled.pending, 0);
    let sent = cancelled.blast.sent;
    assert_eq!(cancelled.blast.skipped, 50 - sent);
    stop.cancel();
    worker.await.expect("worker");
    assert_eq!(counters(&pool, id).await, (BlastStatus::Cancelled, 50, sent, 0, 50 - sent));
    // Nothing is sent after the cancel even once the pace would allow it: make
    // the next send due now and take the worker's steps by hand.
    sqlx::query!("UPDATE blasts SET next_send_at = now() - interval '1 minute' WHERE id = $1", id.0)
        .execute(&pool)
        .await
        .expect("due");
    assert_eq!(blast::tick(&pool).await.expect("tick"), blast::IDLE, "no blast is due");
    let mut tx = pool.begin().await.expect("tx");
    let step = blasts::send_to_next(&mut tx, id).await.expect("step");
    tx.commit().await.expect("commit");
    assert_eq!(step, Step::Stopped);
    assert_eq!(counters(&pool, id).await, (BlastStatus::Cancelled, 50, sent, 0, 50 - sent));
    let messages: i64 = sqlx::query_scalar("SELECT count(*) FROM messages WHERE client_message_id = $1")
        .bind(format!("blast:{id}"))
        .fetch_one(&pool)
        .await
        .expect("messages");
    assert_eq!(messages, i64::from(sent));
    // Cancelling again changes nothing.
    let again = blasts::cancel(&pool, &w.admin, id).await.expect("again");
    assert_eq!(again.blast.skipped, 50 - sent);
    // The page heard of the cancel once.
    let last: Vec<serde_json::Value> = sqlx::query_scalar!(
        "SELECT payload FROM outbox WHERE topic = 'blast.progress' AND payload->>'status' = 'cancelled'"
    )
    .fetch_all(&pool)
    .await
    .expect("cancel tick");
    assert_eq!(last.len(), 1);
    assert_eq!(last[0]["skipped"].as_i64(), Some(i64::from(50 - sent)));
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_open_session_is_reused_and_others_get_an_outbound_one(pool: PgPool) {
    let w = world(&pool, "acme").await;
    let with_open = customer(&pool, w.account, "with open").await;
    let closed_only = customer(&pool, w.account, "closed only").await;
    let open = session(&pool, &w, w.billing, with_open, 0, "queued").await;
    session(&pool, &w, w.billing, closed_only, 0, "resolved").await;
    let id = start(&pool, &w, Segment::Account, w.sales, 1_000_000).await;
    let stop = CancellationToken::new();
    let worker = tokio::spawn(blast::run(pool.clone(), stop.clone()));
    wait_for(&pool, id, "the end", |status, _| status == BlastStatus::Done).await;
    stop.cancel();
    worker.await.expect("worker");

    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT customer_id, session_id FROM blast_recipients WHERE blast_id = $1 AND status = 'sent'",
    )
    .bind(id)
    .fetch_all(&pool)
    .await
    .expect("rows");
    assert_eq!(rows.len(), 2);
    let session_of = |c: Uuid| rows.iter().find(|(customer, _)| *customer == c).expect("row").1;
    assert_eq!(session_of(with_open), open, "the open session is reused");
    let outbound = session_of(closed_only);
    let (ty, status): (SupportTypeId, String) =
        sqlx::query_as("SELECT support_type_id, status FROM sessions WHERE id = $1")
            .bind(outbound)
            .fetch_one(&pool)
            .await
            .expect("outbound");
    assert_eq!((ty, status.as_str()), (w.sales, "queued"));
    let sessions_of_reused: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions WHERE customer_id = $1")
        .bind(with_open)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(sessions_of_reused, 1);
    // Attributed to its author.
    let senders: Vec<(String, Option<Uuid>)> =
        sqlx::query_as("SELECT sender_kind, sender_agent_id FROM messages WHERE client_message_id = $1")
            .bind(format!("blast:{id}"))
            .fetch_all(&pool)
            .await
            .expect("senders");
    assert_eq!(senders, vec![("agent".to_owned(), Some(w.admin_id.0)); 2]);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn offline_recipients_with_an_address_get_the_blast_by_mail_once(pool: PgPool) {
    let w = world(&pool, "acme").await;
    customers(&pool, w.account, 6).await; // 3 with an address
    let id = start(&pool, &w, Segment::Account, w.billing, 100_000).await;
    wait_until_sent(&pool, id).await;
    let (sink, url) = common::smtp::Sink::start().await;
    let mailer =
        consumers::mail::Mailer::new(&url, "Switchboard <no-reply@switchboard.test>").expect("mailer");
    assert_eq!(blast::queue_emails(&pool).await.expect("queue"), 3);
    assert!(sink.mails().is_empty(), "handed to the e-mail outbox, sent after commit");
    let progress = domain::blasts::get(&pool, &w.admin, id).await.expect("progress");
    assert_eq!(progress.email_pending, 3, "queued but not sent yet");
    assert_eq!(consumers::mail::send_due(&pool, &mailer).await.expect("send"), 3);
    let mails = sink.mails();
    assert_eq!(mails.len(), 3);
    assert!(mails.iter().all(|(_, data)| data.contains("Our prices change on Monday.")), "{mails:?}");
    let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM blast_recipients WHERE email_pending")
        .fetch_one(&pool)
        .await
        .expect("n");
    assert_eq!(pending, 0);
    let progress = domain::blasts::get(&pool, &w.admin, id).await.expect("progress");
    assert_eq!(progress.email_pending, 0);
    // Nothing left: a second round sends nothing.
    assert_eq!(blast::queue_emails(&pool).await.expect("queue"), 0);
    assert_eq!(consumers::mail::send_due(&pool, &mailer).await.expect("send"), 0);
    assert_eq!(sink.mails().len(), 3);
}

/// Runs the worker's steps until the blast is done.
async fn wait_until_sent(pool: &PgPool, id: BlastId) {
    for _ in 0..1_000 {
        blast::tick(pool).await.expect("tick");
        if counters(pool, id).await.0 == BlastStatus::Done {
            return;
        }
    }
    panic!("the blast did not finish");
}
