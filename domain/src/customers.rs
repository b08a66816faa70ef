//! Customers: the people who open sessions. Created by `sessions::open`;
//! looked up by the agents of their account, who may set a preferred agent.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// A person who opens sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Customer {
    pub id: CustomerId,
    pub account_id: AccountId,
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_ref: Option<String>,
    /// Tried first by the assignment engine when eligible.
    pub preferred_agent_id: Option<AgentId>,
    pub created_at: DateTime<Utc>,
    /// Set once the customer's data is erased: the row then names nobody.
    pub erased_at: Option<DateTime<Utc>>,
}

/// What erasing a customer's data did. The sessions stay, with their times,
/// so that the reports counted from them stay true; nothing in them names
/// or quotes the customer any more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Erasure {
    pub customer_id: CustomerId,
    pub erased_at: DateTime<Utc>,
    /// The customer's sessions, whose transcripts were blanked.
    pub sessions: i64,
    /// Messages and internal notes whose text was replaced by [`ERASED`].
    pub messages: i64,
    pub notes: i64,
    /// Attachments removed, rows and files (with their thumbnails).
    pub attachments: i64,
    /// E-mails about the customer's sessions, or to them, removed from the
    /// mail log (unsent ones are not sent).
    pub emails: i64,
}

/// What an erased message or note says instead.
pub const ERASED: &str = "[erased]";

/// The event written when a customer's data is erased, so that webhook
/// subscribers can erase their copies.
pub use crate::outbox::topic::CUSTOMER_ERASED;

/// The event written when a customer's record changes.
pub use crate::outbox::topic::CUSTOMER_UPDATED;

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{Error, Result, actor::Actor, attachments, outbox};
    use serde_json::json;
    use sqlx::{PgConnection, PgPool};

    /// `query_as!` for [`Customer`]: its columns (citext cast to text)
    /// between `$before` and `$after`.
    macro_rules! customer_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                Customer,
                $before
                    + r#"id AS "id: CustomerId", account_id AS "account_id: AccountId", name,
                         email::text AS email, external_ref,
                         preferred_agent_id AS "preferred_agent_id: AgentId", created_at, erased_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    /// Loads a customer the actor may see: the agents of the customer's
    /// account (and global callers), or the customer themself.
    async fn visible(
        conn: &mut PgConnection,
        actor: &Actor,
        id: CustomerId,
        for_update: bool,
    ) -> Result<Customer> {
        if let Actor::Customer(c) = actor
            && c.customer_id != id
        {
            return Err(Error::not_found("customer"));
        }
        let customer = if for_update {
            customer_query!("SELECT ", " FROM customers WHERE id = $1 FOR UPDATE", id.0)
                .fetch_optional(&mut *conn)
                .await?
        } else {
            customer_query!("SELECT ", " FROM customers WHERE id = $1", id.0)
                .fetch_optional(&mut *conn)
                .await?
        }
        .filter(|c| actor.in_account(c.account_id))
        .ok_or_else(|| Error::not_found("customer"))?;
        // A customer is themself (checked above); for agents below account
        // level, a customer is visible through a session in their scope.
        let scope = crate::scope::Scope::of(&mut *conn, actor).await?;
        if !matches!(actor, Actor::Customer(_)) && !scope.covers_account(customer.account_id) {
            // Runtime-built: the scope's predicate is pushed by QueryBuilder.
            let mut q =
                sqlx::QueryBuilder::new("SELECT EXISTS (SELECT 1 FROM sessions s WHERE s.customer_id = ");
            q.push_bind(id);
            scope.push_sql(&mut q);
            q.push(")");
            if !q.build_query_scalar::<bool>().fetch_one(&mut *conn).await? {
                return Err(Error::not_found("customer"));
            }
        }
        Ok(customer)
    }

    pub async fn get(pool: &PgPool, actor: &Actor, id: CustomerId) -> Result<Customer> {
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, false).await
    }

    /// Sets (or with `None` clears) the agent the engine tries first for
    /// this customer. Supervisors and admins of the customer's account; the
    /// agent must be an active agent of that account.
    pub async fn set_preferred_agent(
        pool: &PgPool,
        actor: &Actor,
        id: CustomerId,
        agent_id: Option<AgentId>,
    ) -> Result<Customer> {
        let mut tx = pool.begin().await?;
        let current = visible(&mut tx, actor, id, true).await?;
        if !actor.supervises(current.account_id) {
            return Err(Error::forbidden("only a supervisor may set a customer's preferred agent"));
        }
        if let Some(agent_id) = agent_id {
            let ok = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM agents
                                  WHERE id = $1 AND account_id = $2 AND deactivated_at IS NULL) AS "ok!""#,
                agent_id.0,
                current.account_id.0
            )
            .fetch_one(&mut *tx)
            .await?;
            if !ok {
                return Err(Error::invalid(
                    "preferred_agent_id",
                    "no such active agent in the customer's account",
                ));
            }
        }
        if current.preferred_agent_id == agent_id {
            return Ok(current);
        }
        let updated = customer_query!(
            "UPDATE customers SET preferred_agent_id = $2 WHERE id = $1 RETURNING ",
            "",
            id.0,
            agent_id.map(|a| a.0)
        )
        .fetch_one(&mut *tx)
        .await?;
        outbox::record(
            &mut tx,
            CUSTOMER_UPDATED,
            Some(updated.account_id),
            None,
            json!({ "customer_id": id, "preferred_agent_id": agent_id,
                    "previous_preferred_agent_id": current.preferred_agent_id, "by": actor.agent_id() }),
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Erases a customer's data: an admin of the customer's account, once
    /// none of their sessions is open (queued or active: resolve them
    /// first). In one transaction:
    ///
    /// - the customer's name, address, external reference and preferred
    ///   agent are cleared and `erased_at` set (a CHECK keeps an erased row
    ///   nameless), and their chat tokens deleted;
    /// - in their sessions, every message and note says [`ERASED`], CSAT
    ///   comments, handoff summaries and project references are cleared,
    ///   agents' alerts say [`ERASED`], and the bot's suggestions and the
    ///   past answers learnt from them are deleted;
    /// - their attachments' rows go and their files and thumbnails are
    ///   queued for deletion (deleted right after commit, and retried by the
    ///   hourly sweep while the store refuses);
    /// - the mail about their sessions or to them is deleted (unsent mail is
    ///   not sent), and the published events and webhook deliveries of their
    ///   sessions keep their envelope but not their content;
    /// - an audit row and a `customer.erased` event record it.
    ///
    /// The sessions stay, with their times, status and owners, so reports
    /// stay true. Erasing again is harmless and counts nothing new.
    pub async fn erase(
        pool: &PgPool,
        files: &attachments::Files,
        actor: &Actor,
        id: CustomerId,
    ) -> Result<Erasure> {
        let mut tx = pool.begin().await?;
        let customer = visible(&mut tx, actor, id, true).await?;
        if !actor.is_admin_of(customer.account_id) {
            return Err(Error::forbidden("only an admin may erase a customer's data"));
        }
        // Locked, so that no session of theirs changes state meanwhile.
        let sessions = sqlx::query!(
            "SELECT id, status FROM sessions WHERE customer_id = $1 ORDER BY id FOR UPDATE",
            id.0
        )
        .fetch_all(&mut *tx)
        .await?;
        let open = sessions.iter().filter(|s| matches!(s.status.as_str(), "queued" | "active")).count();
        if open > 0 {
            return Err(Error::conflict(
                "customer_has_open_sessions",
                format!(
                    "the customer has {open} open session{}; resolve {} before erasing their data",
                    if open == 1 { "" } else { "s" },
                    if open == 1 { "it" } else { "them" }
                ),
            ));
        }
        let ids: Vec<uuid::Uuid> = sessions.iter().map(|s| s.id).collect();
        let as_text: Vec<String> = ids.iter().map(uuid::Uuid::to_string).collect();

        let messages = sqlx::query!(
            "UPDATE messages SET body = $2 WHERE session_id = ANY($1) AND body <> $2",
            &ids,
            ERASED
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        let notes = sqlx::query!(
            "UPDATE notes SET body = $2 WHERE session_id = ANY($1) AND body <> $2",
            &ids,
            ERASED
        )
        .execute(&mut *tx)
        .await?
        .rows_affected() as i64;
        sqlx::query!(
            "UPDATE csat SET comment = NULL WHERE session_id = ANY($1) AND comment IS NOT NULL",
            &ids
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("UPDATE handoffs SET summary = '' WHERE session_id = ANY($1) AND summary <> ''", &ids)
            .execute(&mut *tx)
            .await?;
        sqlx::query!(
            "UPDATE notifications SET body = $2 WHERE session_id = ANY($1) AND body <> $2",
            &ids,
            ERASED
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("DELETE FROM suggestions WHERE session_id = ANY($1)", &ids).execute(&mut *tx).await?;
        sqlx::query!("DELETE FROM past_answers WHERE session_id = ANY($1)", &ids).execute(&mut *tx).await?;
        sqlx::query!(
            "UPDATE sessions SET project_ref = NULL WHERE id = ANY($1) AND project_ref IS NOT NULL",
            &ids
        )
        .execute(&mut *tx)
        .await?;
        let attachments = attachments::remove_of_sessions(&mut tx, &ids).await?;
        let emails =
            sqlx::query!("DELETE FROM mail_log WHERE session_id = ANY($1) OR customer_id = $2", &ids, id.0)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
        // Events: the published ones of their sessions, what failed to
        // process, and what webhooks carry. Events not yet published (the
        // relay publishes within a second of commit) keep their payload,
        // which the consumers need.
        sqlx::query!(
            r#"UPDATE dead_letters SET payload = '{"erased": true}'
               WHERE payload <> '{"erased": true}'
                 AND (payload->>'session_id' = ANY($2)
                      OR event_id IN (SELECT event_id FROM outbox WHERE session_id = ANY($1)))"#,
            &ids,
            &as_text
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            r#"UPDATE outbox SET payload = '{"erased": true}'
               WHERE session_id = ANY($1) AND published_at IS NOT NULL AND payload <> '{"erased": true}'"#,
            &ids
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!(
            r#"UPDATE webhook_deliveries SET payload = jsonb_set(payload, '{payload}', '{"erased": true}')
               WHERE payload->>'session_id' = ANY($1) AND payload->'payload' <> '{"erased": true}'"#,
            &as_text
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query!("DELETE FROM customer_tokens WHERE customer_id = $1", id.0).execute(&mut *tx).await?;
        let erased_at = sqlx::query_scalar!(
            "UPDATE customers SET name = NULL, email = NULL, external_ref = NULL, preferred_agent_id = NULL,
                                  erased_at = coalesce(erased_at, now())
             WHERE id = $1 RETURNING erased_at AS \"erased_at!\"",
            id.0
        )
        .fetch_one(&mut *tx)
        .await?;
        let erasure = Erasure {
            customer_id: id,
            erased_at,
            sessions: ids.len() as i64,
            messages,
            notes,
            attachments,
            emails,
        };
        let counts = json!({ "sessions": erasure.sessions, "messages": messages, "notes": notes,
                             "attachments": attachments, "emails": emails });
        crate::agents::audit(
            &mut tx,
            Some(customer.account_id),
            actor,
            "customer.erased",
            &id.to_string(),
            counts.clone(),
        )
        .await?;
        outbox::record(
            &mut tx,
            CUSTOMER_ERASED,
            Some(customer.account_id),
            None,
            json!({ "customer_id": id, "by": actor.agent_id(), "counts": counts }),
        )
        .await?;
        tx.commit().await?;
        // The files go now; a store that refuses is retried by the sweep.
        if let Err(e) = attachments::drain_deletions(pool, files).await {
            tracing::warn!(customer = %id, error = %e, "erased files stay queued for deletion");
        }
        Ok(erasure)
    }
}
