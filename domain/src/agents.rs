//! Agents: humans and bots who work sessions, and the admins and supervisors
//! who run them. Create, update (limits, role, deactivation), presence,
//! heartbeat, skills, list.
//!
//! Humans may have an argon2id password hash (see [`password`]); bots never
//! do and authenticate with API tokens ([`crate::tokens`]). The hash is never
//! part of [`Agent`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// A human agent, supervisor, admin or bot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    pub id: AgentId,
    /// `None` only for global admins.
    pub account_id: Option<AccountId>,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub max_concurrent: i32,
    /// Open assignments; maintained by the database.
    pub active_count: i32,
    pub presence: Presence,
    pub presence_reason: Option<String>,
    pub presence_changed_at: DateTime<Utc>,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    pub last_assigned_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub deactivated_at: Option<DateTime<Utc>>,
    /// E-mail about the agent's own assignments (when e-mail is configured).
    pub email_notifications: bool,
}

impl Agent {
    pub fn is_active(&self) -> bool {
        self.deactivated_at.is_none()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAgent {
    /// The account; defaults to the caller's. `None` from a global caller
    /// creates a global admin.
    #[serde(default)]
    pub account_id: Option<AccountId>,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// 0 to 1000; default 5 (`DEFAULT_MAX_CONCURRENT`).
    #[serde(default)]
    pub max_concurrent: Option<i32>,
    /// Humans only, at least 12 characters (`MIN_PASSWORD_CHARS`).
    #[serde(default)]
    pub password: Option<String>,
}

/// Absent fields are left unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateAgent {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    pub max_concurrent: Option<i32>,
    /// `true` deactivates (and sets the agent offline); `false` reactivates.
    pub deactivated: Option<bool>,
    /// E-mail about their assignments. The agent may change this one
    /// themself.
    pub email_notifications: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentFilter {
    /// Global callers only; others always see their own account.
    pub account_id: Option<AccountId>,
    pub role: Option<Role>,
    pub presence: Option<Presence>,
}

/// A support type an agent serves, with an optional tier (1-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Skill {
    pub support_type_id: SupportTypeId,
    /// 1 to 9.
    #[serde(default)]
    pub tier: Option<i16>,
}

/// An agent with the support types they serve: a row of the admin
/// console's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RosterEntry {
    pub agent: Agent,
    pub skills: Vec<Skill>,
}

pub const DEFAULT_MAX_CONCURRENT: i32 = 5;
pub const MAX_CONCURRENT_LIMIT: i32 = 1000;
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Bounds the work one login or create can ask of the hasher.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Checks a per-agent session limit (0 pauses assignment without going offline).
pub fn validate_max_concurrent(value: i32) -> crate::Result<i32> {
    if (0..=MAX_CONCURRENT_LIMIT).contains(&value) {
        Ok(value)
    } else {
        Err(crate::Error::invalid("max_concurrent", format!("must be between 0 and {MAX_CONCURRENT_LIMIT}")))
    }
}

/// Checks a new password's length (in characters).
pub fn validate_password(password: &str) -> crate::Result<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        Err(crate::Error::invalid("password", format!("must be at least {MIN_PASSWORD_CHARS} characters")))
    } else if n > MAX_PASSWORD_CHARS {
        Err(crate::Error::invalid("password", format!("must be at most {MAX_PASSWORD_CHARS} characters")))
    } else {
        Ok(())
    }
}

/// Argon2id password hashing (m = 46 MiB, t = 1, p = 1: the OWASP minimum).
///
/// [`hash`] and [`verify`] are CPU-bound and block for tens of milliseconds
/// (much more in debug builds); async callers use [`hash_async`] and
/// [`verify_async`], which run them on the blocking pool and allow only a few
/// at a time so that a burst of logins cannot starve the server.
#[cfg(feature = "server")]
pub mod password {
    use argon2::{
        Algorithm, Argon2, Params, Version,
        password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    };
    use tokio::sync::Semaphore;

    use crate::{Error, Result};

    /// Memory cost in KiB (46 MiB).
    pub const M_COST_KIB: u32 = 47_104;
    pub const T_COST: u32 = 1;
    pub const P_COST: u32 = 1;

    /// At most this many hashes run at once (each holds 46 MiB).
    static HASHING: Semaphore = Semaphore::const_new(4);

    fn hasher() -> Result<Argon2<'static>> {
        let params =
            Params::new(M_COST_KIB, T_COST, P_COST, None).map_err(|e| Error::internal("argon2 params", e))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes `password` into a PHC string with a fresh random salt. Blocking.
    pub fn hash(password: &str) -> Result<String> {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let hash = hasher()?
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| Error::internal("argon2 hash", e))?;
        Ok(hash.to_string())
    }

    /// Whether `password` matches the PHC string `hash`. A malformed hash
    /// never matches. Blocking.
    pub fn verify(password: &str, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        // The parameters come from the PHC string, so old hashes still verify
        // after the defaults change.
        Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok()
    }

    /// [`hash`] on the blocking pool, a few at a time.
    pub async fn hash_async(password: String) -> Result<String> {
        let permit = HASHING.acquire().await.map_err(|e| Error::internal("password semaphore", e))?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash(&password)
        })
        .await
        .map_err(|e| Error::internal("password hashing task", e))?
    }

    /// [`verify`] on the blocking pool, a few at a time. A failure to run
    /// the check counts as a mismatch.
    pub async fn verify_async(password: String, hash: String) -> bool {
        let Ok(permit) = HASHING.acquire().await else {
            return false;
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            verify(&password, &hash)
        })
        .await
        .unwrap_or(false)
    }
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
        text::{required_text, validate_email},
    };
    use serde_json::json;
    use sqlx::{PgConnection, PgPool};

    /// `query_as!` for [`Agent`]: its columns (never the password hash)
    /// between `$before` and `$after`.
    macro_rules! agent_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                Agent,
                $before
                    + r#"id AS "id: AgentId", account_id AS "account_id: AccountId", email::text AS "email!",
                         display_name, role AS "role: Role", max_concurrent, active_count,
                         presence AS "presence: Presence", presence_reason, presence_changed_at,
                         last_heartbeat_at, last_assigned_at, created_at, deactivated_at,
                         email_notifications"#
                    + $after
                $(, $arg)*
            )
        };
    }

    /// Writes an audit-log row inside the caller's transaction.
    pub(crate) async fn audit(
        conn: &mut PgConnection,
        account: Option<AccountId>,
        actor: &Actor,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> Result<()> {
        sqlx::query!(
            "INSERT INTO audit_log (account_id, actor_id, action, target, details) VALUES ($1, $2, $3, $4, $5)",
            account.map(|a| a.0),
            actor.agent_id().map(|a| a.0),
            action,
            target,
            details
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Whether `actor` may know that `agent` exists: global callers see
    /// every agent, others the agents of their own account. Customers see
    /// none.
    pub(crate) fn can_see(actor: &Actor, account: Option<AccountId>) -> bool {
        match actor {
            Actor::Customer(_) => false,
            _ => account.map_or(actor.is_global(), |acc| actor.in_account(acc)),
        }
    }

    /// Whether `actor` administers the agent's account (for a global admin
    /// agent: whether the actor is global).
    pub(crate) fn administers(actor: &Actor, account: Option<AccountId>) -> bool {
        account.map_or(actor.is_global(), |acc| actor.is_admin_of(acc))
    }

    pub(crate) async fn load(conn: &mut PgConnection, id: AgentId, for_update: bool) -> Result<Agent> {
        let agent = if for_update {
            agent_query!("SELECT ", " FROM agents WHERE id = $1 FOR UPDATE", id.0)
                .fetch_optional(conn)
                .await?
        } else {
            agent_query!("SELECT ", " FROM agents WHERE id = $1", id.0).fetch_optional(conn).await?
        };
        agent.ok_or_else(|| Error::not_found("agent"))
    }

    /// Loads an agent the actor may see, or "not found".
    async fn visible(conn: &mut PgConnection, actor: &Actor, id: AgentId, for_update: bool) -> Result<Agent> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers cannot look up agents"));
        }
        let agent = load(conn, id, for_update).await?;
        if can_see(actor, agent.account_id) { Ok(agent) } else { Err(Error::not_found("agent")) }
    }

    /// Loads an agent whose account the actor administers: "not found"
    /// outside the actor's scope, "forbidden" for non-admins inside it.
    async fn administered(
        conn: &mut PgConnection,
        actor: &Actor,
        id: AgentId,
        for_update: bool,
    ) -> Result<Agent> {
        let agent = visible(conn, actor, id, for_update).await?;
        if administers(actor, agent.account_id) {
            Ok(agent)
        } else {
            Err(Error::forbidden("only an admin of the agent's account may do this"))
        }
    }

    /// Creates an agent. Admins create agents in their account; a global
    /// caller names the account, or creates a global admin by naming none.
    pub async fn create(pool: &PgPool, actor: &Actor, new: NewAgent) -> Result<Agent> {
        create_with_skills(pool, actor, new, Vec::new()).await.map(|(agent, _)| agent)
    }

    /// Creates an agent who serves `skills` from the start: both or neither
    /// (the admin console's form; the rules are [`set_skills`]'s).
    pub async fn create_with_skills(
        pool: &PgPool,
        actor: &Actor,
        new: NewAgent,
        skills: Vec<Skill>,
    ) -> Result<(Agent, Vec<Skill>)> {
        check_skills(&skills)?;
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers cannot create agents"));
        }
        let account = if new.account_id.is_none() && actor.is_global() {
            if new.role != Role::Admin {
                return Err(Error::invalid("account_id", "only admins can be global; name the account"));
            }
            None
        } else {
            let account = actor.target_account(new.account_id)?;
            actor.require_admin_of(account, "agents")?;
            Some(account)
        };
        let email = new.email.trim().to_owned();
        validate_email("email", &email)?;
        let display_name = required_text("display_name", &new.display_name, 120)?;
        let max_concurrent = validate_max_concurrent(new.max_concurrent.unwrap_or(DEFAULT_MAX_CONCURRENT))?;
        let password_hash = match new.password {
            Some(_) if new.role == Role::Bot => {
                return Err(Error::invalid("password", "bots sign in with API tokens, not passwords"));
            }
            Some(pw) => {
                validate_password(&pw)?;
                // Hashed before the transaction: no connection is held while
                // the CPU works.
                Some(password::hash_async(pw).await?)
            }
            None => None,
        };

        let mut tx = pool.begin().await?;
        if let Some(account) = account {
            let exists = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM accounts WHERE id = $1) AS "exists!""#,
                account.0
            )
            .fetch_one(&mut *tx)
            .await?;
            if !exists {
                return Err(Error::not_found("account"));
            }
        }
        let agent = agent_query!(
            "INSERT INTO agents (account_id, email, display_name, role, max_concurrent, password_hash)
             VALUES ($1, $2::text::citext, $3, $4, $5, $6)
             ON CONFLICT (email) DO NOTHING
             RETURNING ",
            "",
            account.map(|a| a.0),
            &email,
            &display_name,
            new.role.as_str(),
            max_concurrent,
            password_hash
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::conflict("email_taken", "an agent with that e-mail address already exists"))?;
        let skills = match account {
            Some(account) if !skills.is_empty() => write_skills(&mut tx, account, agent.id, &skills).await?,
            Some(_) => Vec::new(),
            None if skills.is_empty() => Vec::new(),
            None => return Err(no_account_no_skills()),
        };
        audit(
            &mut tx,
            account,
            actor,
            "agent.created",
            &agent.id.to_string(),
            json!({ "email": agent.email, "role": agent.role, "max_concurrent": agent.max_concurrent }),
        )
        .await?;
        outbox::record(
            &mut tx,
            topic::AGENT_CREATED,
            account,
            None,
            json!({ "agent_id": agent.id, "account_id": account, "display_name": agent.display_name,
                    "role": agent.role, "max_concurrent": agent.max_concurrent, "skills": skills,
                    "by": actor.agent_id() }),
        )
        .await?;
        tx.commit().await?;
        Ok((agent, skills))
    }

    /// The agent with this e-mail address, if the caller may see it.
    pub async fn find_by_email(pool: &PgPool, actor: &Actor, email: &str) -> Result<Agent> {
        let id = sqlx::query_scalar!(
            r#"SELECT id AS "id: AgentId" FROM agents WHERE email = $1::text::citext"#,
            email.trim()
        )
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("agent"))?;
        get(pool, actor, id).await
    }

    /// One agent the caller may see.
    pub async fn get(pool: &PgPool, actor: &Actor, id: AgentId) -> Result<Agent> {
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, false).await
    }

    /// The agents the caller may see, by display name. Deactivated agents are
    /// included (see [`Agent::deactivated_at`]).
    pub async fn list(pool: &PgPool, actor: &Actor, filter: AgentFilter) -> Result<Vec<Agent>> {
        let account = match actor {
            Actor::Customer(_) => return Err(Error::forbidden("customers cannot list agents")),
            _ if actor.is_global() => filter.account_id,
            Actor::Agent(a) => match a.account_id {
                Some(own) if filter.account_id.is_none_or(|f| f == own) => Some(own),
                Some(_) => return Err(Error::not_found("account")),
                None => return Ok(Vec::new()),
            },
            Actor::System => filter.account_id,
        };
        let rows = agent_query!(
            "SELECT ",
            " FROM agents
             WHERE ($1::uuid IS NULL OR account_id = $1)
               AND ($2::text IS NULL OR role = $2)
               AND ($3::text IS NULL OR presence = $3)
             ORDER BY display_name, id",
            account.map(|a| a.0),
            filter.role.map(Role::as_str),
            filter.presence.map(Presence::as_str)
        )
        .fetch_all(pool)
        .await?;
        Ok(rows)
    }

    /// The admin console's list: every agent the caller administers (their
    /// account's; every account's for a global admin), deactivated ones
    /// too, each with their skills. Admins only.
    pub async fn roster(pool: &PgPool, actor: &Actor) -> Result<Vec<RosterEntry>> {
        match actor {
            Actor::Customer(_) => return Err(Error::forbidden("customers cannot list agents")),
            Actor::Agent(a) => {
                if let Some(own) = a.account_id {
                    actor.require_admin_of(own, "the agents' settings")?;
                }
            }
            Actor::System => {}
        }
        let agents = list(pool, actor, AgentFilter::default()).await?;
        let ids: Vec<uuid::Uuid> = agents.iter().map(|a| a.id.0).collect();
        let mut skills: std::collections::HashMap<AgentId, Vec<Skill>> = std::collections::HashMap::new();
        for row in sqlx::query!(
            r#"SELECT agent_id AS "agent_id: AgentId", support_type_id AS "support_type_id: SupportTypeId", tier
               FROM agent_skills WHERE agent_id = ANY($1) ORDER BY agent_id, support_type_id"#,
            &ids
        )
        .fetch_all(pool)
        .await?
        {
            skills
                .entry(row.agent_id)
                .or_default()
                .push(Skill { support_type_id: row.support_type_id, tier: row.tier });
        }
        Ok(agents
            .into_iter()
            .map(|agent| RosterEntry { skills: skills.remove(&agent.id).unwrap_or_default(), agent })
            .collect())
    }

    /// One agent whose account the caller administers: "not found" outside
    /// the caller's account, "forbidden" to the account's non-admins.
    pub async fn get_administered(pool: &PgPool, actor: &Actor, id: AgentId) -> Result<Agent> {
        let mut conn = pool.acquire().await?;
        administered(&mut conn, actor, id, false).await
    }

    /// Changes an agent's name, role, limit or activation. Admins of the
    /// agent's account only.
    pub async fn update(pool: &PgPool, actor: &Actor, id: AgentId, changes: UpdateAgent) -> Result<Agent> {
        let display_name =
            changes.display_name.as_deref().map(|n| required_text("display_name", n, 120)).transpose()?;
        let max_concurrent = changes.max_concurrent.map(validate_max_concurrent).transpose()?;
        if changes.deactivated == Some(true) && actor.agent_id() == Some(id) {
            return Err(Error::invalid("deactivated", "you cannot deactivate yourself"));
        }

        let mut tx = pool.begin().await?;
        // Agents choose their own e-mail notifications; everything else is
        // for admins.
        let own_preference = actor.agent_id() == Some(id)
            && changes.email_notifications.is_some()
            && changes
                == UpdateAgent { email_notifications: changes.email_notifications, ..Default::default() };
        let current = if own_preference {
            visible(&mut tx, actor, id, true).await?
        } else {
            administered(&mut tx, actor, id, true).await?
        };
        let role = changes.role.unwrap_or(current.role);
        if current.account_id.is_none() && role != Role::Admin {
            return Err(Error::invalid("role", "a global admin has no account and must stay an admin"));
        }
        if role == Role::Bot && current.role != Role::Bot {
            let has_password = sqlx::query_scalar!(
                r#"SELECT password_hash IS NOT NULL AS "has!" FROM agents WHERE id = $1"#,
                id.0
            )
            .fetch_one(&mut *tx)
            .await?;
            if has_password {
                return Err(Error::invalid("role", "an agent with a password cannot become a bot"));
            }
        }
        let max_concurrent = max_concurrent.unwrap_or(current.max_concurrent);
        if max_concurrent < current.active_count {
            return Err(limit_below_load(current.active_count));
        }
        let deactivated = changes.deactivated.unwrap_or(current.deactivated_at.is_some());

        let updated = agent_query!(
            "UPDATE agents SET display_name = $2, role = $3, max_concurrent = $4,
                deactivated_at = CASE WHEN $5 THEN COALESCE(deactivated_at, now()) END,
                presence = CASE WHEN $5 THEN 'offline' ELSE presence END,
                presence_reason = CASE WHEN $5 AND presence <> 'offline' THEN NULL ELSE presence_reason END,
                presence_changed_at = CASE WHEN $5 AND presence <> 'offline' THEN now() ELSE presence_changed_at END,
                email_notifications = coalesce($6, email_notifications)
             WHERE id = $1
             RETURNING ",
            "",
            id.0,
            display_name.as_deref().unwrap_or(&current.display_name),
            role.as_str(),
            max_concurrent,
            deactivated,
            changes.email_notifications
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match e.as_database_error().and_then(|d| d.constraint()) {
            Some("agents_within_limit") => limit_below_load(current.active_count),
            _ => e.into(),
        })?;

        if updated.role != current.role {
            audit(
                &mut tx,
                current.account_id,
                actor,
                "agent.role_changed",
                &id.to_string(),
                json!({ "old": current.role, "new": updated.role }),
            )
            .await?;
        }
        if updated.deactivated_at.is_some() != current.deactivated_at.is_some() {
            let action =
                if updated.deactivated_at.is_some() { "agent.deactivated" } else { "agent.reactivated" };
            audit(&mut tx, current.account_id, actor, action, &id.to_string(), json!({})).await?;
        }
        outbox::record(
            &mut tx,
            topic::AGENT_UPDATED,
            current.account_id,
            None,
            json!({ "agent_id": id, "account_id": current.account_id, "display_name": updated.display_name,
                    "role": updated.role, "max_concurrent": updated.max_concurrent,
                    "deactivated": updated.deactivated_at.is_some(), "by": actor.agent_id() }),
        )
        .await?;
        if updated.presence != current.presence {
            presence_event(&mut tx, actor, &current, &updated).await?;
        }
        tx.commit().await?;
        Ok(updated)
    }

    /// The rules a set of skills keeps on its own: each type once, tiers 1 to 9.
    fn check_skills(skills: &[Skill]) -> Result<()> {
        let mut ids: Vec<uuid::Uuid> = skills.iter().map(|s| s.support_type_id.0).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.len() != skills.len() {
            return Err(Error::invalid("skills", "a support type is listed twice"));
        }
        if skills.iter().any(|s| s.tier.is_some_and(|t| !(1..=9).contains(&t))) {
            return Err(Error::invalid("skills", "a tier is between 1 and 9"));
        }
        Ok(())
    }

    fn no_account_no_skills() -> Error {
        Error::invalid("skills", "a global admin has no account, so serves no support types")
    }

    /// Adds `skills` (checked by [`check_skills`]) to an agent of `account`
    /// who has none, inside the caller's transaction; every type must be
    /// the account's. Returns what is stored.
    async fn write_skills(
        tx: &mut PgConnection,
        account: AccountId,
        id: AgentId,
        skills: &[Skill],
    ) -> Result<Vec<Skill>> {
        let types: Vec<uuid::Uuid> = skills.iter().map(|s| s.support_type_id.0).collect();
        let found = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM support_types WHERE account_id = $1 AND id = ANY($2)"#,
            account.0,
            &types
        )
        .fetch_one(&mut *tx)
        .await?;
        if found != types.len() as i64 {
            return Err(Error::invalid("skills", "every support type must exist in the agent's account"));
        }
        let tiers: Vec<Option<i16>> = skills.iter().map(|s| s.tier).collect();
        sqlx::query!(
            "INSERT INTO agent_skills (agent_id, support_type_id, tier)
             SELECT $1, t.id, t.tier FROM UNNEST($2::uuid[], $3::int2[]) AS t (id, tier)",
            id.0,
            &types,
            // An int2[] with NULLs: the macro's check knows only `&[i16]`.
            &tiers as &[Option<i16>]
        )
        .execute(&mut *tx)
        .await?;
        Ok(sqlx::query_as!(
            Skill,
            r#"SELECT support_type_id AS "support_type_id: SupportTypeId", tier FROM agent_skills
               WHERE agent_id = $1 ORDER BY support_type_id"#,
            id.0
        )
        .fetch_all(&mut *tx)
        .await?)
    }

    fn limit_below_load(active: i32) -> Error {
        Error::conflict(
            "limit_below_load",
            format!("the agent has {active} active sessions; the limit cannot go below that"),
        )
    }

    async fn presence_event(conn: &mut PgConnection, actor: &Actor, old: &Agent, new: &Agent) -> Result<()> {
        outbox::record(
            conn,
            topic::AGENT_PRESENCE,
            new.account_id,
            None,
            json!({ "agent_id": new.id, "account_id": new.account_id, "old": old.presence, "new": new.presence,
                    "reason": new.presence_reason, "at": new.presence_changed_at, "by": actor.agent_id() }),
        )
        .await
    }

    /// Heartbeat loss: agents who are online, have sent heartbeats, and sent
    /// none within their account's grace period become away (reason "no
    /// heartbeat"), each with its `agent.presence_changed` event. Run by the
    /// periodic sweep. Returns how many changed.
    pub async fn expire_stale_presence(pool: &PgPool) -> Result<u64> {
        let mut tx = pool.begin().await?;
        let changed = sqlx::query!(
            r#"UPDATE agents a SET presence = 'away', presence_reason = 'no heartbeat',
               presence_changed_at = now()
               FROM accounts c
               WHERE a.account_id = c.id AND a.presence = 'online' AND a.last_heartbeat_at IS NOT NULL
                 AND a.last_heartbeat_at < now() - make_interval(secs => c.presence_grace_secs)
               RETURNING a.id AS "id: AgentId", a.account_id AS "account_id: AccountId",
                         a.presence_changed_at"#
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in &changed {
            outbox::record(
                &mut tx,
                topic::AGENT_PRESENCE,
                row.account_id,
                None,
                json!({ "agent_id": row.id, "account_id": row.account_id, "old": Presence::Online,
                        "new": Presence::Away, "reason": "no heartbeat", "at": row.presence_changed_at,
                        "by": null }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(changed.len() as u64)
    }

    /// Sets an agent's presence. The agent themself, a supervisor or admin
    /// of their account, or the system. A deactivated agent can only be
    /// offline.
    pub async fn set_presence(
        pool: &PgPool,
        actor: &Actor,
        id: AgentId,
        presence: Presence,
        reason: Option<String>,
    ) -> Result<Agent> {
        let reason = crate::text::optional_text("reason", reason.as_deref(), 200)?;
        // A reason says why someone is away; online and offline carry none.
        let reason = reason.filter(|_| presence == Presence::Away);
        let mut tx = pool.begin().await?;
        let current = visible(&mut tx, actor, id, true).await?;
        let allowed = actor.agent_id() == Some(id)
            || current.account_id.map_or(actor.is_global(), |acc| actor.supervises(acc));
        if !allowed {
            return Err(Error::forbidden(
                "only the agent themself or a supervisor may change their presence",
            ));
        }
        if current.deactivated_at.is_some() && presence != Presence::Offline {
            return Err(Error::conflict("agent_deactivated", "a deactivated agent cannot go online or away"));
        }
        if current.presence == presence && current.presence_reason == reason {
            return Ok(current);
        }
        let updated = agent_query!(
            "UPDATE agents SET presence = $2, presence_reason = $3,
                presence_changed_at = CASE WHEN presence <> $2 THEN now() ELSE presence_changed_at END,
                -- Going online counts as a sign of life: an old heartbeat must
                -- not send the agent away again before their client's first one.
                last_heartbeat_at = CASE WHEN $2 = 'online' THEN now() ELSE last_heartbeat_at END
             WHERE id = $1
             RETURNING ",
            "",
            id.0,
            presence.as_str(),
            reason.as_deref()
        )
        .fetch_one(&mut *tx)
        .await?;
        if updated.presence != current.presence {
            presence_event(&mut tx, actor, &current, &updated).await?;
        } else {
            outbox::record(
                &mut tx,
                topic::AGENT_UPDATED,
                updated.account_id,
                None,
                json!({ "agent_id": id, "account_id": updated.account_id, "presence": updated.presence,
                        "presence_reason": updated.presence_reason, "by": actor.agent_id() }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(updated)
    }

    /// Records that the agent's client is alive. The agent themself or the
    /// system only; no event (the presence consumer reads the column).
    pub async fn heartbeat(pool: &PgPool, actor: &Actor, id: AgentId) -> Result<()> {
        if actor.agent_id() != Some(id) && !actor.is_system() {
            return Err(Error::forbidden("only the agent themself sends their heartbeat"));
        }
        let updated = sqlx::query!("UPDATE agents SET last_heartbeat_at = now() WHERE id = $1", id.0)
            .execute(pool)
            .await?
            .rows_affected();
        if updated == 0 { Err(Error::not_found("agent")) } else { Ok(()) }
    }

    /// The support types an agent serves. Anyone who may see the agent.
    pub async fn skills(pool: &PgPool, actor: &Actor, id: AgentId) -> Result<Vec<Skill>> {
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, false).await?;
        let rows = sqlx::query_as!(
            Skill,
            r#"SELECT support_type_id AS "support_type_id: SupportTypeId", tier FROM agent_skills
               WHERE agent_id = $1 ORDER BY support_type_id"#,
            id.0
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(rows)
    }

    /// Replaces the set of support types an agent serves. Admins of the
    /// agent's account only; every type must belong to that account.
    pub async fn set_skills(
        pool: &PgPool,
        actor: &Actor,
        id: AgentId,
        skills: Vec<Skill>,
    ) -> Result<Vec<Skill>> {
        check_skills(&skills)?;
        let mut tx = pool.begin().await?;
        let agent = administered(&mut tx, actor, id, true).await?;
        let Some(account) = agent.account_id else {
            return Err(no_account_no_skills());
        };
        sqlx::query!("DELETE FROM agent_skills WHERE agent_id = $1", id.0).execute(&mut *tx).await?;
        let stored = write_skills(&mut tx, account, id, &skills).await?;
        outbox::record(
            &mut tx,
            topic::AGENT_UPDATED,
            Some(account),
            None,
            json!({ "agent_id": id, "account_id": account, "skills": stored, "by": actor.agent_id() }),
        )
        .await?;
        tx.commit().await?;
        Ok(stored)
    }
}
