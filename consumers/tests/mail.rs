//! The e-mail outbox on a real PostgreSQL with local SMTP servers: mail is
//! sent after commit by the mail worker, a stalled SMTP server holds no
//! database connection, failures are retried with backoff, a crashed
//! worker's claim comes back, and a bad address is given up on.

use std::time::Duration;

use consumers::mail::{self, Mailer};
use domain::mail_log;
use sqlx::{PgPool, postgres::PgPoolOptions};
use tokio::sync::{mpsc, oneshot};

mod common;
use common::smtp::Sink;

const FROM: &str = "Switchboard <no-reply@switchboard.test>";

/// An SMTP server that accepts connections and says nothing until released
/// (then hangs up). Reports each accepted connection.
async fn stalling_server() -> (String, mpsc::Receiver<()>, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("smtp://{}", listener.local_addr().expect("addr"));
    let (accepted_tx, accepted) = mpsc::channel(8);
    let (release, released) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let Ok((stream, _)) = listener.accept().await else { return };
        let _ = accepted_tx.send(()).await;
        let _ = released.await;
        drop(stream);
    });
    (url, accepted, release)
}

async fn queue(pool: &PgPool, to: &str) {
    let mut tx = pool.begin().await.expect("begin");
    let added =
        mail_log::enqueue(&mut tx, uuid::Uuid::new_v4(), None, to, "Hello", "A body").await.expect("enqueue");
    assert!(added);
    tx.commit().await.expect("commit");
}

/// (attempts, sent, error, seconds until the next attempt).
async fn state(pool: &PgPool) -> (i32, bool, Option<String>, Option<f64>) {
    sqlx::query_as(
        "SELECT attempts, sent_at IS NOT NULL, error, extract(epoch FROM next_attempt_at - now())::float8
         FROM mail_log",
    )
    .fetch_one(pool)
    .await
    .expect("mail")
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_stalled_smtp_server_holds_no_database_connection_and_the_mail_is_retried(pool: PgPool) {
    // One connection: if a send held it, nothing else could use the pool.
    let one = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with((*pool.connect_options()).clone())
        .await
        .expect("pool");
    queue(&one, "carol@example.test").await;

    let (url, mut accepted, release) = stalling_server().await;
    let stalled = Mailer::with_timeout(&url, FROM, Duration::from_secs(30)).expect("mailer");
    let sending = tokio::spawn({
        let one = one.clone();
        async move { mail::send_due(&one, &stalled).await }
    });
    accepted.recv().await.expect("the worker connected to SMTP");
    // The SMTP server is stalling the send; the pool still serves queries.
    let unsent: i64 = sqlx::query_scalar("SELECT count(*) FROM mail_log WHERE sent_at IS NULL")
        .fetch_one(&one)
        .await
        .expect("the only connection is free while SMTP stalls");
    assert_eq!(unsent, 1);
    assert!(!sending.is_finished(), "the send is still waiting on the stalled server");

    // The server hangs up: the attempt fails and is retried after 1 s.
    release.send(()).expect("release");
    assert_eq!(sending.await.expect("join").expect("round"), 1);
    let (attempts, sent, error, next) = state(&one).await;
    assert_eq!((attempts, sent), (1, false));
    assert!(error.as_deref().is_some_and(|e| e.starts_with("SMTP")), "{error:?}");
    let next = next.expect("a retry is scheduled");
    assert!(0.0 < next && next <= 1.0, "first retry after 1 s, got {next}");
    // Not due yet: a round now sends nothing.
    let (sink, good_url) = Sink::start().await;
    let good = Mailer::new(&good_url, FROM).expect("mailer");
    assert_eq!(mail::send_due(&one, &good).await.expect("round"), 0);

    // Once due (the test moves the clock), it goes out and is marked sent.
    sqlx::query("UPDATE mail_log SET next_attempt_at = now()").execute(&one).await.expect("due");
    assert_eq!(mail::send_due(&one, &good).await.expect("round"), 1);
    assert_eq!(sink.mails().len(), 1);
    assert!(sink.mails()[0].0[0].contains("carol@example.test"), "{:?}", sink.mails());
    assert_eq!(state(&one).await, (2, true, None, None));
    assert_eq!(mail::send_due(&one, &good).await.expect("round"), 0, "sent once");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn a_worker_that_dies_mid_send_leaves_the_mail_to_come_back_once_its_lease_lapses(pool: PgPool) {
    queue(&pool, "carol@example.test").await;
    // A worker claims it and dies before marking it.
    let claimed = mail_log::claim_due(&pool, 8, 120.0).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert!(mail_log::claim_due(&pool, 8, 120.0).await.expect("claim").is_empty(), "leased");
    // The lease lapses: another worker sends it.
    sqlx::query("UPDATE mail_log SET next_attempt_at = now()").execute(&pool).await.expect("lapse");
    let (sink, url) = Sink::start().await;
    assert_eq!(mail::send_due(&pool, &Mailer::new(&url, FROM).expect("mailer")).await.expect("round"), 1);
    assert_eq!(sink.mails().len(), 1);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn an_address_smtp_cannot_take_is_given_up_not_retried(pool: PgPool) {
    queue(&pool, "not an address").await;
    let (sink, url) = Sink::start().await;
    assert_eq!(mail::send_due(&pool, &Mailer::new(&url, FROM).expect("mailer")).await.expect("round"), 1);
    let (attempts, sent, error, next) = state(&pool).await;
    assert_eq!((attempts, sent, next), (1, false, None));
    assert!(error.as_deref().is_some_and(|e| e.starts_with("recipient")), "{error:?}");
    assert!(sink.mails().is_empty());
}
