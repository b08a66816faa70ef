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
}

/// The event written when a customer's record changes.
pub use crate::outbox::topic::CUSTOMER_UPDATED;

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{Error, Result, actor::Actor, outbox};
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
                         preferred_agent_id AS "preferred_agent_id: AgentId", created_at"#
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
}
