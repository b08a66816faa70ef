//! Accounts: the enterprise clients that scope support types, agents and
//! customers. Only global admins (and the system) create them; everyone else
//! sees their own account only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct Account {
    pub id: AccountId,
    pub slug: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewAccount {
    pub slug: String,
    pub name: String,
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        outbox::{self, topic},
        text::{required_text, validate_slug},
    };
    use serde_json::json;
    use sqlx::PgPool;

    /// Creates an account. Global admins and the system only.
    pub async fn create(pool: &PgPool, actor: &Actor, new: NewAccount) -> Result<Account> {
        if !actor.is_global() {
            return Err(Error::forbidden("only a global admin may create accounts"));
        }
        let slug = new.slug.trim();
        validate_slug("slug", slug)?;
        let name = required_text("name", &new.name, 200)?;

        let mut tx = pool.begin().await?;
        let account = sqlx::query_as::<_, Account>(
            "INSERT INTO accounts (slug, name) VALUES ($1::text::citext, $2)
             ON CONFLICT (slug) DO NOTHING
             RETURNING id, slug::text AS slug, name, created_at",
        )
        .bind(slug)
        .bind(&name)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            Error::conflict("slug_taken", format!("an account with slug {slug:?} already exists"))
        })?;
        crate::agents::audit(
            &mut tx,
            Some(account.id),
            actor,
            "account.created",
            &account.id.to_string(),
            json!({ "slug": account.slug, "name": account.name }),
        )
        .await?;
        outbox::record(
            &mut tx,
            topic::CONFIG_CHANGED,
            Some(account.id),
            None,
            json!({ "entity": "account", "action": "created", "account_id": account.id,
                    "slug": account.slug, "by": actor.agent_id() }),
        )
        .await?;
        tx.commit().await?;
        Ok(account)
    }

    /// The accounts the caller may see: all of them for global callers,
    /// otherwise the caller's own.
    pub async fn list(pool: &PgPool, actor: &Actor) -> Result<Vec<Account>> {
        let own = match actor {
            _ if actor.is_global() => None,
            Actor::Agent(a) => match a.account_id {
                Some(own) => Some(own),
                // An admin without an account is global (handled above); any
                // other agent without one sees nothing.
                None => return Ok(Vec::new()),
            },
            Actor::Customer(c) => Some(c.account_id),
            Actor::System => None,
        };
        let rows = sqlx::query_as::<_, Account>(
            "SELECT id, slug::text AS slug, name, created_at FROM accounts
             WHERE ($1::uuid IS NULL OR id = $1)
             ORDER BY name, id",
        )
        .bind(own)
        .fetch_all(pool)
        .await?;
        Ok(rows)
    }

    /// One account, if the caller may see it; otherwise "not found".
    pub async fn get(pool: &PgPool, actor: &Actor, id: AccountId) -> Result<Account> {
        if !actor.in_account(id) {
            return Err(Error::not_found("account"));
        }
        sqlx::query_as::<_, Account>(
            "SELECT id, slug::text AS slug, name, created_at FROM accounts WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("account"))
    }
}
