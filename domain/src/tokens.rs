//! API bearer tokens, for bots and integrations. A token is `sb_` followed by
//! 32 random bytes in unpadded base64url. It is shown once, at creation; only
//! its SHA-256 is stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// An API token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    pub id: TokenId,
    pub agent_id: AgentId,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Every token starts with this, so that leaked tokens are recognisable
/// (secret scanners) and other bearer strings are rejected without a query.
pub const TOKEN_PREFIX: &str = "sb_";
/// Random bytes per token.
pub const TOKEN_BYTES: usize = 32;
/// `last_used_at` is written at most this often per token, so that a busy
/// bot does not turn every request into a row update.
pub const LAST_USED_RESOLUTION_SECS: i64 = 60;

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{Error, Result, actor::Actor, actor::AgentActor, agents::audit, text::optional_text};
    use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
    use rand::RngCore as _;
    use serde_json::json;
    use sha2::{Digest as _, Sha256};
    use sqlx::{PgConnection, PgPool};

    /// `query_as!` for [`ApiToken`]: its columns (never the hash) between
    /// `$before` and `$after`.
    macro_rules! token_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                ApiToken,
                $before
                    + r#"id AS "id: TokenId", agent_id AS "agent_id: AgentId", label, created_at,
                         last_used_at, revoked_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    /// Unpadded base64url of 32 bytes.
    const ENCODED_LEN: usize = (TOKEN_BYTES * 4).div_ceil(3);

    fn digest(token: &str) -> Vec<u8> {
        Sha256::digest(token.as_bytes()).to_vec()
    }

    fn generate() -> String {
        let mut bytes = [0u8; TOKEN_BYTES];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The account of an agent whose tokens `actor` manages: admins of the
    /// agent's account, the agent themself when `self_ok`, and the system.
    /// Outside the actor's scope the agent is "not found".
    async fn managed_agent(
        conn: &mut PgConnection,
        actor: &Actor,
        agent_id: AgentId,
        self_ok: bool,
    ) -> Result<(Option<AccountId>, bool)> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers have no API tokens"));
        }
        let agent = sqlx::query!(
            r#"SELECT account_id AS "account_id: AccountId", deactivated_at IS NOT NULL AS "deactivated!"
               FROM agents WHERE id = $1"#,
            agent_id.0
        )
        .fetch_optional(&mut *conn)
        .await?
        .filter(|a| crate::agents::can_see(actor, a.account_id))
        .ok_or_else(|| Error::not_found("agent"))?;
        let admin = agent.account_id.map_or(actor.is_global(), |acc| actor.is_admin_of(acc));
        if admin || (self_ok && actor.agent_id() == Some(agent_id)) {
            Ok((agent.account_id, agent.deactivated))
        } else {
            Err(Error::forbidden("only an admin of the agent's account manages its API tokens"))
        }
    }

    /// Creates a token for an agent and returns it with its secret, which is
    /// not stored and cannot be shown again. Admins of the agent's account
    /// and the system.
    pub async fn create(
        pool: &PgPool,
        actor: &Actor,
        agent_id: AgentId,
        label: &str,
    ) -> Result<(ApiToken, String)> {
        let label = optional_text("label", Some(label), 100)?.unwrap_or_default();
        let mut tx = pool.begin().await?;
        let (account, deactivated) = managed_agent(&mut tx, actor, agent_id, false).await?;
        if deactivated {
            return Err(Error::conflict("agent_deactivated", "the agent is deactivated"));
        }
        let secret = generate();
        let token = token_query!(
            "INSERT INTO api_tokens (agent_id, token_hash, label) VALUES ($1, $2, $3) RETURNING ",
            "",
            agent_id.0,
            digest(&secret),
            &label
        )
        .fetch_one(&mut *tx)
        .await?;
        audit(
            &mut tx,
            account,
            actor,
            "token.created",
            &token.id.to_string(),
            json!({ "agent_id": agent_id, "label": label }),
        )
        .await?;
        tx.commit().await?;
        Ok((token, secret))
    }

    /// The agent a bearer token belongs to, if the token is live and the agent
    /// active; `None` otherwise (callers answer 401 without saying why).
    pub async fn authenticate(pool: &PgPool, token: &str) -> Result<Option<AgentActor>> {
        let well_formed = token.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
            rest.len() == ENCODED_LEN
                && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        if !well_formed {
            return Ok(None);
        }
        let row = sqlx::query!(
            r#"WITH hit AS (
                   SELECT t.id AS token_id, t.last_used_at, a.id, a.account_id, a.role
                   FROM api_tokens t JOIN agents a ON a.id = t.agent_id
                   WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND a.deactivated_at IS NULL),
               touch AS (
                   UPDATE api_tokens SET last_used_at = now()
                   WHERE id IN (SELECT token_id FROM hit
                                WHERE last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2)))
               SELECT id AS "id!: AgentId", account_id AS "account_id: AccountId", role AS "role!: Role" FROM hit"#,
            digest(token),
            LAST_USED_RESOLUTION_SECS as f64
        )
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|r| AgentActor { id: r.id, account_id: r.account_id, role: r.role }))
    }

    /// Revokes a token. Admins of the agent's account, the agent themself, and
    /// the system. Revoking a revoked token changes nothing.
    pub async fn revoke(pool: &PgPool, actor: &Actor, token_id: TokenId) -> Result<ApiToken> {
        // Refused before any lookup, so a token's existence cannot be probed.
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers cannot manage API tokens"));
        }
        let mut tx = pool.begin().await?;
        let current = token_query!("SELECT ", " FROM api_tokens WHERE id = $1 FOR UPDATE", token_id.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| Error::not_found("token"))?;
        let (account, _) = managed_agent(&mut tx, actor, current.agent_id, true)
            .await
            .map_err(|e| if e.code() == "not_found" { Error::not_found("token") } else { e })?;
        if current.revoked_at.is_some() {
            return Ok(current);
        }
        let token =
            token_query!("UPDATE api_tokens SET revoked_at = now() WHERE id = $1 RETURNING ", "", token_id.0)
                .fetch_one(&mut *tx)
                .await?;
        audit(
            &mut tx,
            account,
            actor,
            "token.revoked",
            &token_id.to_string(),
            json!({ "agent_id": token.agent_id, "label": token.label }),
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// An agent's tokens (never their secrets), newest first. Admins of the
    /// agent's account, the agent themself, and the system.
    pub async fn list(pool: &PgPool, actor: &Actor, agent_id: AgentId) -> Result<Vec<ApiToken>> {
        let mut conn = pool.acquire().await?;
        managed_agent(&mut conn, actor, agent_id, true).await?;
        let rows = token_query!(
            "SELECT ",
            " FROM api_tokens WHERE agent_id = $1 ORDER BY created_at DESC, id",
            agent_id.0
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn tokens_are_prefixed_unpadded_base64url_of_32_bytes() {
            assert_eq!(ENCODED_LEN, 43);
            let token = generate();
            let rest = token.strip_prefix(TOKEN_PREFIX).expect("prefix");
            assert_eq!(rest.len(), ENCODED_LEN);
            assert_eq!(URL_SAFE_NO_PAD.decode(rest).expect("base64url").len(), TOKEN_BYTES);
            assert_ne!(generate(), token);
            assert_eq!(digest(&token).len(), 32);
        }
    }
}
