//! Blasts: an admin's message to a segment of the account's customers
//! (those of a support type, all of the account's, or those with a session
//! in the last days).
//!
//! - [`create`] snapshots the recipients into `blast_recipients` in the same
//!   transaction that stores the blast (so `total` is exact and the audience
//!   never shifts) and writes `blast.created`;
//! - the blast consumer marks it `running` ([`start_in`]);
//! - the blast worker (`consumers::blast::run`) calls [`send_to_next`] in a
//!   loop: each call claims one pending recipient, posts the message into
//!   the customer's open session (or opens an outbound one) and marks the
//!   recipient sent, all in the caller's one transaction. A crash anywhere
//!   rolls all of it back, so no recipient is ever messaged twice, and a
//!   restart continues with the recipients still pending;
//! - pacing is stored on the blast (`next_send_at`), so it holds across
//!   restarts and however many workers run: at most `rate_per_minute` sends
//!   a minute, evenly spaced;
//! - [`cancel`] stops it: its pending recipients become `skipped`.
//!
//! E-mail: customers with an address who are offline (no live chat token on
//! an open session) get `email_pending` on their recipient row; when SMTP is
//! configured the blast worker hands them to the e-mail outbox
//! ([`queue_emails`], [`crate::mail_log`]), which sends after commit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// Who a blast goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Segment {
    /// Customers who have had a session of this support type.
    SupportType { support_type_id: SupportTypeId },
    /// Every customer of the account.
    Account,
    /// Customers with a session opened in the last `days` days (1-365).
    Recent { days: i32 },
}

/// A blast with its progress counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Blast {
    pub id: BlastId,
    pub account_id: AccountId,
    /// The admin who created it; the messages are posted in their name.
    pub created_by: AgentId,
    pub body: String,
    pub segment: Segment,
    /// The type of the outbound sessions opened for customers without an
    /// open session.
    pub support_type_id: SupportTypeId,
    /// The one file every recipient's message carries (staged first with
    /// `POST /accounts/{id}/attachments`).
    pub attachment_id: Option<AttachmentId>,
    pub status: BlastStatus,
    pub rate_per_minute: i32,
    /// Recipients, fixed at creation.
    pub total: i32,
    pub sent: i32,
    pub failed: i32,
    /// Not sent because the blast was cancelled.
    pub skipped: i32,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// `query_as!` reads the `segment` column as JSON.
#[cfg(feature = "server")]
impl From<sqlx::types::Json<Segment>> for Segment {
    fn from(json: sqlx::types::Json<Segment>) -> Self {
        json.0
    }
}

impl Blast {
    /// Recipients not yet attempted.
    pub fn pending(&self) -> i32 {
        (self.total - self.sent - self.failed - self.skipped).max(0)
    }
}

/// A blast with its progress, as the API and the admin page show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlastProgress {
    #[serde(flatten)]
    pub blast: Blast,
    /// Recipients not yet attempted.
    pub pending: i32,
    /// Recipients still to be e-mailed (offline, with an address): not yet
    /// handed to the e-mail outbox, or handed and not yet sent.
    pub email_pending: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewBlast {
    /// Global admins only; others blast their own account.
    #[serde(default)]
    pub account_id: Option<AccountId>,
    /// At most 10,000 characters.
    pub body: String,
    pub segment: Segment,
    /// The type of outbound sessions; defaults to the segment's type.
    #[serde(default)]
    pub support_type_id: Option<SupportTypeId>,
    /// 1 to 1,000,000; default 600 (`DEFAULT_RATE_PER_MINUTE`).
    #[serde(default)]
    pub rate_per_minute: Option<i32>,
    /// One file for every recipient: one the caller staged for a blast of
    /// this account (`POST /accounts/{id}/attachments`), taken by no other.
    #[serde(default)]
    pub attachment_id: Option<AttachmentId>,
}

/// What one [`send_to_next`] call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Posted to this customer (in this session).
    Sent { customer_id: CustomerId, session_id: SessionId, message_id: i64, email_pending: bool },
    /// This customer could not be messaged (the reason is on their row).
    Failed { customer_id: CustomerId, error: String },
    /// The pace allows the next send only after this long.
    NotYet(std::time::Duration),
    /// Nobody was pending: the blast is now `done`.
    Finished,
    /// The blast is not running (pending, done, cancelled, or gone).
    Stopped,
}

pub const DEFAULT_RATE_PER_MINUTE: i32 = 600;
pub const MAX_RATE_PER_MINUTE: i32 = 1_000_000;
pub const MAX_RECENT_DAYS: i32 = 365;

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        agents::audit,
        outbox::{self, topic},
        text::required_text,
    };
    use serde_json::json;
    use sqlx::{Acquire, PgConnection, PgPool};

    /// `query_as!` for [`Blast`]: its columns between `$before` and `$after`.
    macro_rules! blast_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                Blast,
                $before
                    + r#"id AS "id: BlastId", account_id AS "account_id: AccountId",
                         created_by AS "created_by: AgentId", body,
                         segment AS "segment: sqlx::types::Json<Segment>",
                         support_type_id AS "support_type_id: SupportTypeId",
                         attachment_id AS "attachment_id: AttachmentId", status AS "status: BlastStatus",
                         rate_per_minute, total, sent, failed, skipped, created_at, started_at, finished_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    async fn load(conn: &mut PgConnection, id: BlastId, for_update: bool) -> Result<Blast> {
        let blast = if for_update {
            blast_query!("SELECT ", " FROM blasts WHERE id = $1 FOR UPDATE", id.0)
                .fetch_optional(conn)
                .await?
        } else {
            blast_query!("SELECT ", " FROM blasts WHERE id = $1", id.0).fetch_optional(conn).await?
        };
        blast.ok_or_else(|| Error::not_found("blast"))
    }

    /// Customers are refused before any lookup; agents outside the account
    /// get "not found", non-admins inside it "forbidden".
    async fn administered(conn: &mut PgConnection, actor: &Actor, id: BlastId, lock: bool) -> Result<Blast> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers cannot see blasts"));
        }
        let blast = load(conn, id, lock).await?;
        actor.require_admin_of(blast.account_id, "blast")?;
        Ok(blast)
    }

    async fn with_progress(conn: &mut PgConnection, blast: Blast) -> Result<BlastProgress> {
        // Not yet handed to the e-mail outbox, or handed and not yet sent.
        let email_pending = sqlx::query_scalar!(
            r#"SELECT (SELECT count(*) FROM blast_recipients WHERE blast_id = $1 AND email_pending)
                    + (SELECT count(*) FROM mail_log WHERE event_id = $1 AND next_attempt_at IS NOT NULL)
                      AS "n!""#,
            blast.id.0
        )
        .fetch_one(conn)
        .await?;
        Ok(BlastProgress { pending: blast.pending(), email_pending, blast })
    }

    /// A support type of `account` that is not archived, or 422 on `field`.
    async fn usable_type(
        conn: &mut PgConnection,
        account: AccountId,
        id: SupportTypeId,
        field: &str,
    ) -> Result<()> {
        let archived = sqlx::query_scalar!(
            "SELECT archived_at FROM support_types WHERE id = $1 AND account_id = $2",
            id.0,
            account.0
        )
        .fetch_optional(&mut *conn)
        .await?;
        match archived {
            None => Err(Error::invalid(field, "no such support type")),
            Some(Some(_)) => Err(Error::invalid(field, "the support type is archived")),
            Some(None) => Ok(()),
        }
    }

    /// Creates a blast and snapshots its recipients. Admins of the account.
    pub async fn create(pool: &PgPool, actor: &Actor, new: NewBlast) -> Result<BlastProgress> {
        let Some(author) = actor.agent_id() else {
            return Err(Error::forbidden("only an admin may send a blast"));
        };
        let account = actor.target_account(new.account_id)?;
        actor.require_admin_of(account, "account")?;
        let body = required_text("body", &new.body, 10_000)?;
        let rate = new.rate_per_minute.unwrap_or(DEFAULT_RATE_PER_MINUTE);
        if !(1..=MAX_RATE_PER_MINUTE).contains(&rate) {
            return Err(Error::invalid(
                "rate_per_minute",
                format!("must be between 1 and {MAX_RATE_PER_MINUTE}"),
            ));
        }
        check_segment(new.segment)?;

        let mut tx = pool.begin().await?;
        if let Segment::SupportType { support_type_id } = new.segment {
            // Archived types still have customers worth reaching.
            let exists = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM support_types WHERE id = $1 AND account_id = $2)
                          AS "exists!""#,
                support_type_id.0,
                account.0
            )
            .fetch_one(&mut *tx)
            .await?;
            if !exists {
                return Err(Error::invalid("segment.support_type_id", "no such support type"));
            }
        }
        let outbound_type = match (new.support_type_id, new.segment) {
            (Some(t), _) => t,
            (None, Segment::SupportType { support_type_id }) => support_type_id,
            (None, _) => {
                return Err(Error::invalid(
                    "support_type_id",
                    "name the support type of the sessions opened for customers without one",
                ));
            }
        };
        usable_type(&mut tx, account, outbound_type, "support_type_id").await?;
        if let Some(file) = new.attachment_id {
            crate::attachments::take_for_blast(&mut tx, account, author, file).await?;
        }

        let segment = serde_json::to_value(new.segment).map_err(|e| Error::internal("segment json", e))?;
        let id = sqlx::query_scalar!(
            r#"INSERT INTO blasts (account_id, created_by, body, segment, support_type_id, rate_per_minute,
                                   attachment_id)
               VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id AS "id: BlastId""#,
            account.0,
            author.0,
            &body,
            &segment,
            outbound_type.0,
            rate,
            new.attachment_id.map(|a| a.0)
        )
        .fetch_one(&mut *tx)
        .await?;
        // Runtime-built: the segment's recipients are one definition (`push_recipients`).
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "INSERT INTO blast_recipients (blast_id, customer_id) SELECT ",
        );
        q.push_bind(id).push(", r.customer_id FROM (");
        push_recipients(&mut q, account, new.segment);
        q.push(") r");
        let recipients = q.build().execute(&mut *tx).await?.rows_affected();
        sqlx::query!("UPDATE blasts SET total = $2 WHERE id = $1", id.0, recipients as i32)
            .execute(&mut *tx)
            .await?;
        outbox::record(
            &mut tx,
            topic::BLAST_CREATED,
            Some(account),
            None,
            json!({ "blast_id": id, "total": recipients, "created_by": author }),
        )
        .await?;
        audit(
            &mut tx,
            Some(account),
            actor,
            "blast.created",
            &format!("blast:{id}"),
            json!({ "segment": segment, "total": recipients, "rate_per_minute": rate,
                    "attachment_id": new.attachment_id }),
        )
        .await?;
        let blast = load(&mut tx, id, false).await?;
        let progress = with_progress(&mut tx, blast).await?;
        tx.commit().await?;
        Ok(progress)
    }

    /// The customers a segment reaches, as a query of one column
    /// (`customer_id`): the one definition, for the snapshot at creation and
    /// for the count shown before sending. Erased customers are never in it.
    fn push_recipients(q: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, account: AccountId, segment: Segment) {
        match segment {
            Segment::SupportType { support_type_id } => {
                q.push(
                    "SELECT DISTINCT s.customer_id FROM sessions s JOIN customers c ON c.id = s.customer_id
                     WHERE c.erased_at IS NULL AND s.support_type_id = ",
                )
                .push_bind(support_type_id)
                .push(" AND s.account_id = ")
                .push_bind(account);
            }
            Segment::Account => {
                q.push("SELECT id AS customer_id FROM customers WHERE erased_at IS NULL AND account_id = ")
                    .push_bind(account);
            }
            Segment::Recent { days } => {
                q.push(
                    "SELECT DISTINCT s.customer_id FROM sessions s JOIN customers c ON c.id = s.customer_id
                     WHERE c.erased_at IS NULL AND s.created_at > now() - make_interval(days => ",
                )
                .push_bind(days)
                .push(") AND s.account_id = ")
                .push_bind(account);
            }
        }
    }

    /// Checks a segment's own fields (the days of a recent one).
    fn check_segment(segment: Segment) -> Result<()> {
        if let Segment::Recent { days } = segment
            && !(1..=MAX_RECENT_DAYS).contains(&days)
        {
            return Err(Error::invalid("segment.days", format!("must be between 1 and {MAX_RECENT_DAYS}")));
        }
        Ok(())
    }

    /// How many customers a blast to `segment` would reach now (the compose
    /// form's count). Admins of the account.
    pub async fn audience(
        pool: &PgPool,
        actor: &Actor,
        account: Option<AccountId>,
        segment: Segment,
    ) -> Result<i64> {
        let account = actor.target_account(account)?;
        actor.require_admin_of(account, "account")?;
        check_segment(segment)?;
        // Runtime-built: the segment's recipients are one definition (`push_recipients`).
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT count(*) FROM (");
        push_recipients(&mut q, account, segment);
        q.push(") r");
        Ok(q.build_query_scalar::<i64>().fetch_one(pool).await?)
    }

    /// Records where a blast stands (`blast.progress`), in the caller's
    /// transaction.
    async fn record_progress(conn: &mut PgConnection, id: BlastId) -> Result<()> {
        let b = load(&mut *conn, id, false).await?;
        outbox::record(
            conn,
            topic::BLAST_PROGRESS,
            Some(b.account_id),
            None,
            json!({ "blast_id": id, "status": b.status, "total": b.total, "sent": b.sent,
                    "failed": b.failed, "skipped": b.skipped }),
        )
        .await
    }

    /// Whether the attempt that made `attempted` of `total` is a tick of the
    /// progress bar: every 2% of the recipients (at least every one), and
    /// the last.
    pub fn progress_tick(attempted: i32, total: i32) -> bool {
        let step = (total / 50).max(1);
        attempted >= total || attempted % step == 0
    }

    /// One blast with its progress counters. Admins of the account.
    pub async fn get(pool: &PgPool, actor: &Actor, id: BlastId) -> Result<BlastProgress> {
        let mut conn = pool.acquire().await?;
        let blast = administered(&mut conn, actor, id, false).await?;
        with_progress(&mut conn, blast).await
    }

    /// The blasts of the caller's account (a global admin: of the named
    /// one), newest first, at most 200. Admins of the account.
    pub async fn list(
        pool: &PgPool,
        actor: &Actor,
        account: Option<AccountId>,
    ) -> Result<Vec<BlastProgress>> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers cannot see blasts"));
        }
        let account = actor.target_account(account)?;
        actor.require_admin_of(account, "account")?;
        let mut conn = pool.acquire().await?;
        let blasts = blast_query!(
            "SELECT ",
            " FROM blasts WHERE account_id = $1 ORDER BY created_at DESC, id LIMIT 200",
            account.0
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut out = Vec::with_capacity(blasts.len());
        for blast in blasts {
            out.push(with_progress(&mut conn, blast).await?);
        }
        Ok(out)
    }

    /// Cancels a pending or running blast: nothing more is sent, and its
    /// pending recipients become `skipped`. Cancelling a finished or
    /// cancelled blast changes nothing. Admins of the account.
    pub async fn cancel(pool: &PgPool, actor: &Actor, id: BlastId) -> Result<BlastProgress> {
        let mut tx = pool.begin().await?;
        // The row lock waits for a send in flight, so none slips in after.
        let blast = administered(&mut tx, actor, id, true).await?;
        if matches!(blast.status, BlastStatus::Pending | BlastStatus::Running) {
            let skipped = sqlx::query!(
                "UPDATE blast_recipients SET status = 'skipped' WHERE blast_id = $1 AND status = 'pending'",
                id.0
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query!(
                "UPDATE blasts SET status = 'cancelled', finished_at = now(), skipped = skipped + $2 WHERE id = $1",
                id.0,
                skipped as i32
            )
            .execute(&mut *tx)
            .await?;
            audit(
                &mut tx,
                Some(blast.account_id),
                actor,
                "blast.cancelled",
                &format!("blast:{id}"),
                json!({ "skipped": skipped, "sent": blast.sent }),
            )
            .await?;
            record_progress(&mut tx, id).await?;
        }
        let blast = load(&mut tx, id, false).await?;
        let progress = with_progress(&mut tx, blast).await?;
        tx.commit().await?;
        Ok(progress)
    }

    /// Marks a pending blast `running` (the blast consumer, on
    /// `blast.created`). Anything else is left alone, so a redelivery or a
    /// cancellation first is harmless.
    pub async fn start_in(conn: &mut PgConnection, id: BlastId) -> Result<bool> {
        let started = sqlx::query!(
            "UPDATE blasts SET status = 'running', started_at = now(), next_send_at = now()
             WHERE id = $1 AND status = 'pending'",
            id.0
        )
        .execute(conn)
        .await?
        .rows_affected();
        Ok(started == 1)
    }

    /// The running blast due soonest, and how long until it is due (zero
    /// when due now), for the worker.
    pub async fn next_due(pool: &PgPool) -> Result<Option<(BlastId, std::time::Duration)>> {
        let row = sqlx::query!(
            r#"SELECT id AS "id: BlastId",
                      greatest(0, extract(epoch FROM next_send_at - clock_timestamp()))::float8 AS "secs!"
               FROM blasts WHERE status = 'running' ORDER BY next_send_at LIMIT 1"#
        )
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|r| (r.id, std::time::Duration::from_secs_f64(r.secs.max(0.0)))))
    }

    /// Hands up to `limit` recipients still to be e-mailed (offline when
    /// the blast reached them) to the e-mail outbox, one message per blast
    /// and address, in the caller's transaction. Returns how many it handed
    /// over; the mail worker sends them after commit.
    pub async fn queue_emails(conn: &mut PgConnection, limit: i64) -> Result<u64> {
        let handed = sqlx::query!(
            "WITH picked AS (
                 SELECT r.blast_id, r.customer_id, r.session_id FROM blast_recipients r
                 WHERE r.email_pending ORDER BY r.attempted_at NULLS FIRST LIMIT $1
                 FOR UPDATE OF r SKIP LOCKED),
             queued AS (
                 INSERT INTO mail_log (event_id, session_id, customer_id, recipient, subject, body)
                 SELECT b.id, p.session_id, p.customer_id, c.email::text, 'A message from ' || a.name, b.body
                 FROM picked p JOIN blasts b ON b.id = p.blast_id
                      JOIN customers c ON c.id = p.customer_id JOIN accounts a ON a.id = b.account_id
                 WHERE c.email IS NOT NULL
                 ON CONFLICT (event_id, recipient) DO NOTHING)
             UPDATE blast_recipients r SET email_pending = false FROM picked p
             WHERE r.blast_id = p.blast_id AND r.customer_id = p.customer_id",
            limit
        )
        .execute(conn)
        .await?
        .rows_affected();
        Ok(handed)
    }

    /// Sends the blast to its next pending recipient, inside the caller's
    /// transaction (commit it to make the send and its bookkeeping durable
    /// together):
    ///
    /// 1. takes the pace: the blast row is locked and `next_send_at` pushed
    ///    one interval (60 s / rate) on, or [`Step::NotYet`] if not due;
    /// 2. claims one pending recipient (`FOR UPDATE SKIP LOCKED`); none left
    ///    finishes the blast ([`Step::Finished`]);
    /// 3. posts the message, attributed to the blast's author, with client
    ///    message id `blast:{id}` into the customer's open session (one of
    ///    the blast's type first, then the newest), or opens a queued
    ///    outbound session of the blast's type and posts there;
    /// 4. marks the recipient `sent` (with `email_pending` for offline
    ///    customers with an address) and bumps `sent`.
    ///
    /// A recipient who cannot be messaged (e.g. the type was archived since)
    /// is marked `failed` with the reason and counted; the failure of step 3
    /// is contained in a savepoint. Database errors propagate (the caller
    /// rolls back and retries later).
    pub async fn send_to_next(conn: &mut PgConnection, id: BlastId) -> Result<Step> {
        let paced = sqlx::query!(
            r#"UPDATE blasts
               SET next_send_at = greatest(next_send_at, clock_timestamp())
                                + make_interval(secs => 60.0 / rate_per_minute)
               WHERE id = $1 AND status = 'running' AND next_send_at <= clock_timestamp()
               RETURNING account_id AS "account_id: AccountId", created_by AS "created_by: AgentId", body,
                         support_type_id AS "support_type_id: SupportTypeId",
                         attachment_id AS "attachment_id: AttachmentId""#,
            id.0
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(paced) = paced else {
            let due = sqlx::query!(
                r#"SELECT status AS "status: BlastStatus",
                          greatest(0, extract(epoch FROM next_send_at - clock_timestamp()))::float8 AS "secs!"
                   FROM blasts WHERE id = $1"#,
                id.0
            )
            .fetch_optional(&mut *conn)
            .await?;
            return Ok(match due {
                Some(due) if due.status == BlastStatus::Running => {
                    Step::NotYet(std::time::Duration::from_secs_f64(due.secs.max(0.0)))
                }
                _ => Step::Stopped,
            });
        };
        let outgoing = Outgoing {
            blast: id,
            account: paced.account_id,
            author: paced.created_by,
            body: paced.body,
            support_type: paced.support_type_id,
            attachment: paced.attachment_id,
        };

        let claimed = sqlx::query_scalar!(
            r#"SELECT customer_id AS "customer_id: CustomerId" FROM blast_recipients
               WHERE blast_id = $1 AND status = 'pending'
               ORDER BY customer_id LIMIT 1 FOR UPDATE SKIP LOCKED"#,
            id.0
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(customer) = claimed else {
            let left = sqlx::query_scalar!(
                r#"SELECT count(*) AS "n!" FROM blast_recipients WHERE blast_id = $1 AND status = 'pending'"#,
                id.0
            )
            .fetch_one(&mut *conn)
            .await?;
            if left > 0 {
                // Claimed by a send in flight elsewhere: not finished yet.
                return Ok(Step::NotYet(std::time::Duration::from_millis(50)));
            }
            sqlx::query!("UPDATE blasts SET status = 'done', finished_at = now() WHERE id = $1", id.0)
                .execute(&mut *conn)
                .await?;
            record_progress(conn, id).await?;
            return Ok(Step::Finished);
        };

        let mut savepoint = conn.begin().await?;
        match post(&mut savepoint, &outgoing, customer).await {
            Ok((session_id, message_id, email_pending)) => {
                savepoint.commit().await?;
                sqlx::query!(
                    "UPDATE blast_recipients SET status = 'sent', session_id = $3, message_id = $4,
                            email_pending = $5, attempted_at = now()
                     WHERE blast_id = $1 AND customer_id = $2",
                    id.0,
                    customer.0,
                    session_id.0,
                    message_id,
                    email_pending
                )
                .execute(&mut *conn)
                .await?;
                let t = sqlx::query!(
                    "UPDATE blasts SET sent = sent + 1 WHERE id = $1 RETURNING sent + failed AS \"done!\", total",
                    id.0
                )
                .fetch_one(&mut *conn)
                .await?;
                if progress_tick(t.done, t.total) {
                    record_progress(conn, id).await?;
                }
                Ok(Step::Sent { customer_id: customer, session_id, message_id, email_pending })
            }
            Err(err @ (Error::Unavailable { .. } | Error::Internal { .. })) => Err(err),
            Err(err) => {
                savepoint.rollback().await?;
                let error: String = err.to_string().chars().take(1000).collect();
                sqlx::query!(
                    "UPDATE blast_recipients SET status = 'failed', error = $3, attempted_at = now()
                     WHERE blast_id = $1 AND customer_id = $2",
                    id.0,
                    customer.0,
                    &error
                )
                .execute(&mut *conn)
                .await?;
                let t = sqlx::query!(
                    "UPDATE blasts SET failed = failed + 1 WHERE id = $1 RETURNING sent + failed AS \"done!\", total",
                    id.0
                )
                .fetch_one(&mut *conn)
                .await?;
                if progress_tick(t.done, t.total) {
                    record_progress(conn, id).await?;
                }
                Ok(Step::Failed { customer_id: customer, error })
            }
        }
    }

    /// What each recipient of a blast gets.
    struct Outgoing {
        blast: BlastId,
        account: AccountId,
        author: AgentId,
        body: String,
        support_type: SupportTypeId,
        attachment: Option<AttachmentId>,
    }

    /// Step 3 of [`send_to_next`]: the session, the message and whether an
    /// e-mail is due.
    async fn post(
        conn: &mut PgConnection,
        out: &Outgoing,
        customer: CustomerId,
    ) -> Result<(SessionId, i64, bool)> {
        let Outgoing { blast: id, account, author, ref body, support_type, attachment } = *out;
        // Shared with an erasure (which locks the row to update it): a
        // customer erased since the snapshot gets nothing.
        let erased = sqlx::query_scalar!(
            r#"SELECT erased_at IS NOT NULL AS "erased!" FROM customers WHERE id = $1 FOR SHARE"#,
            customer.0
        )
        .fetch_one(&mut *conn)
        .await?;
        if erased {
            return Err(Error::conflict("customer_erased", "the customer's data was erased"));
        }
        let open = sqlx::query_scalar!(
            r#"SELECT id AS "id: SessionId" FROM sessions WHERE customer_id = $1 AND status IN ('queued',
                      'active')
               ORDER BY support_type_id = $2 DESC, created_at DESC LIMIT 1 FOR SHARE"#,
            customer.0,
            support_type.0
        )
        .fetch_optional(&mut *conn)
        .await?;
        let session = match open {
            Some(session) => session,
            None => {
                usable_type(conn, account, support_type, "support_type_id").await?;
                crate::sessions::open_outbound_in(conn, account, support_type, customer).await?.id
            }
        };
        let files = match attachment {
            Some(staged) => vec![crate::attachments::copy_to_session(conn, staged, session, author).await?],
            None => Vec::new(),
        };
        let message = crate::conversation::post_agent_message(
            conn,
            session,
            author,
            body,
            &format!("blast:{id}"),
            files,
        )
        .await?
        .ok_or_else(|| Error::conflict("session_closed", "the session closed meanwhile"))?;
        // Online: a live chat token on an open session of theirs.
        let email_pending = sqlx::query_scalar!(
            r#"SELECT c.email IS NOT NULL AND NOT EXISTS (
                   SELECT 1 FROM customer_tokens t JOIN sessions s ON s.id = t.session_id
                   WHERE t.customer_id = c.id AND t.revoked_at IS NULL AND t.expires_at > now()
                     AND s.status IN ('queued', 'active')) AS "email_pending!"
               FROM customers c WHERE c.id = $1"#,
            customer.0
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok((session, message.id, email_pending))
    }
}
