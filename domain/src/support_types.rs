//! Support types (what a customer asks for, and how it is routed, timed and
//! escalated) and their resolution reasons.
//!
//! A type belongs to one account; its slug is global because the customer
//! chat lives at `/chat/{slug}`. Types are archived, never deleted: archived
//! types accept no new sessions but keep their history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// The longest SLA a type may set: 30 days.
pub const MAX_SLA_SECS: i32 = 30 * 24 * 3600;

/// What a customer asks for, and how it is routed, timed and escalated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupportType {
    pub id: SupportTypeId,
    pub account_id: AccountId,
    pub slug: String,
    pub name: String,
    pub routing: Routing,
    /// Longest wait in the queue before the session escalates.
    pub queue_sla_secs: Option<i32>,
    /// Longest time an owner may take to reply before the session is requeued.
    pub first_response_sla_secs: Option<i32>,
    pub escalation_target_id: Option<SupportTypeId>,
    pub escalation_priority_bump: i32,
    /// How long a session waits for the customer's preferred agent.
    pub preferred_wait_secs: i32,
    /// The bot that takes sessions first under `bot_first` routing.
    pub bot_agent_id: Option<AgentId>,
    pub csat_enabled: bool,
    pub reason_required: bool,
    pub greeting: Option<String>,
    /// Business hours: `{"time_zone": "Europe/Berlin", "open": {"mon": ["09:00", "17:00"], "sat": null},
    /// "after_hours_message": "…"}`. Times are wall-clock times in `time_zone` (an IANA name; daylight
    /// saving is followed; default `UTC`). Days not listed are closed. The deprecated fixed
    /// `utc_offset_minutes` is still accepted (not together with `time_zone`) and stored as the
    /// equivalent `Etc/GMT±N` zone when it is a whole number of hours.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub business_hours: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
}

/// What the customer chat page may know about a type (no actor needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicSupportType {
    pub id: SupportTypeId,
    pub slug: String,
    pub name: String,
    pub greeting: Option<String>,
    pub csat_enabled: bool,
    pub archived: bool,
}

fn default_routing() -> Routing {
    Routing::RoundRobin
}

fn default_preferred_wait_secs() -> i32 {
    60
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSupportType {
    /// The owning account; only global admins (and the system) name one,
    /// everyone else creates in their own account.
    #[serde(default)]
    pub account_id: Option<AccountId>,
    /// Global; the customer chat lives at `/chat/{slug}`.
    pub slug: String,
    pub name: String,
    /// Default `round_robin`.
    #[serde(default = "default_routing")]
    pub routing: Routing,
    #[serde(default)]
    pub queue_sla_secs: Option<i32>,
    #[serde(default)]
    pub first_response_sla_secs: Option<i32>,
    #[serde(default)]
    pub escalation_target_id: Option<SupportTypeId>,
    /// Default 0.
    #[serde(default)]
    pub escalation_priority_bump: i32,
    /// Default 60.
    #[serde(default = "default_preferred_wait_secs")]
    pub preferred_wait_secs: i32,
    #[serde(default)]
    pub bot_agent_id: Option<AgentId>,
    /// Default true.
    #[serde(default = "yes")]
    pub csat_enabled: bool,
    /// Default true.
    #[serde(default = "yes")]
    pub reason_required: bool,
    #[serde(default)]
    pub greeting: Option<String>,
    /// Free-form, but a JSON object when present.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub business_hours: Option<serde_json::Value>,
}

impl Default for NewSupportType {
    /// The same defaults as deserializing `{}` plus a slug and a name.
    fn default() -> Self {
        Self {
            account_id: None,
            slug: String::new(),
            name: String::new(),
            routing: default_routing(),
            queue_sla_secs: None,
            first_response_sla_secs: None,
            escalation_target_id: None,
            escalation_priority_bump: 0,
            preferred_wait_secs: default_preferred_wait_secs(),
            bot_agent_id: None,
            csat_enabled: true,
            reason_required: true,
            greeting: None,
            business_hours: None,
        }
    }
}

/// A partial update: `None` leaves a field unchanged. Nullable fields are
/// cleared with their `clear_*` flag (setting and clearing the same field at
/// once is invalid); a blank `greeting` clears the greeting.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateSupportType {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub routing: Option<Routing>,
    pub queue_sla_secs: Option<i32>,
    pub clear_queue_sla: bool,
    pub first_response_sla_secs: Option<i32>,
    pub clear_first_response_sla: bool,
    pub escalation_target_id: Option<SupportTypeId>,
    pub clear_escalation_target: bool,
    pub escalation_priority_bump: Option<i32>,
    pub preferred_wait_secs: Option<i32>,
    pub bot_agent_id: Option<AgentId>,
    pub clear_bot_agent: bool,
    pub csat_enabled: Option<bool>,
    pub reason_required: Option<bool>,
    pub greeting: Option<String>,
    /// Business hours, as in `SupportType`.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub business_hours: Option<serde_json::Value>,
    pub clear_business_hours: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SupportTypeFilter {
    /// Global admins may narrow to one account; others always get their own.
    pub account_id: Option<AccountId>,
    pub include_archived: bool,
}

/// Why a session of a support type was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ResolutionReason {
    pub id: ReasonId,
    pub support_type_id: SupportTypeId,
    pub label: String,
    /// 1-based order among the type's reasons (archived ones included).
    pub position: i32,
    pub archived_at: Option<DateTime<Utc>>,
}

/// A type with how busy it is right now, for the admin console's list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupportTypeLoad {
    pub support_type: SupportType,
    /// Queued sessions of the type, within the caller's scope.
    pub waiting_now: i64,
    /// Humans of the type's account who serve it and are online (bots are
    /// not counted: a bot-first type's bot is its routing).
    pub agents_online: i64,
}

/// Something an admin picks in the support type editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorChoice {
    pub id: uuid::Uuid,
    pub name: String,
    pub account_id: AccountId,
}

/// What the support type editor offers: the accounts a type may belong to,
/// the types it may escalate to (active ones; the domain still checks the
/// account) and the bots that may take its sessions first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditorChoices {
    pub accounts: Vec<EditorChoice>,
    pub support_types: Vec<EditorChoice>,
    pub bots: Vec<EditorChoice>,
}

/// Moves `item` to the 1-based `position` of `order` (clamped to its end);
/// the others keep their order. How a reason moves among its type's
/// reasons, here so that the console's optimistic order is the domain's.
pub fn move_to<T: PartialEq>(order: &mut Vec<T>, item: T, position: i32) {
    order.retain(|x| *x != item);
    let index = usize::try_from(position - 1).unwrap_or(0).min(order.len());
    order.insert(index, item);
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
        text::{optional_text, required_text, validate_slug},
    };
    use serde_json::json;
    use sqlx::{PgConnection, PgPool};

    /// `query_as!` for [`SupportType`]: its columns (citext cast to text)
    /// between `$before` and `$after`.
    macro_rules! type_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                SupportType,
                $before
                    + r#"id AS "id: SupportTypeId", account_id AS "account_id: AccountId",
                         slug::text AS "slug!", name, routing AS "routing: Routing", queue_sla_secs,
                         first_response_sla_secs,
                         escalation_target_id AS "escalation_target_id: SupportTypeId",
                         escalation_priority_bump, preferred_wait_secs,
                         bot_agent_id AS "bot_agent_id: AgentId", csat_enabled, reason_required, greeting,
                         business_hours, created_at, archived_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    /// `query_as!` for [`ResolutionReason`]: its columns between `$before` and `$after`.
    macro_rules! reason_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                ResolutionReason,
                $before
                    + r#"id AS "id: ReasonId", support_type_id AS "support_type_id: SupportTypeId", label,
                         position, archived_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    /// Readers of an account's configuration: its agents, its admins, global
    /// admins and the system. Outside the account the thing is "not found";
    /// customers are told to use the public views.
    pub(crate) fn require_reader(actor: &Actor, account: AccountId, entity: &str) -> Result<()> {
        if !actor.in_account(account) {
            Err(Error::not_found(entity))
        } else if matches!(actor, Actor::Customer(_)) {
            Err(Error::forbidden(format!("customers cannot read {entity} configuration")))
        } else {
            Ok(())
        }
    }

    /// The account a listing covers: `None` (all) or the requested one for
    /// global callers, the caller's own otherwise.
    pub(crate) fn list_scope(actor: &Actor, requested: Option<AccountId>) -> Result<Option<AccountId>> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers cannot list configuration"));
        }
        if actor.is_global() {
            return Ok(requested);
        }
        let own = actor.agent().and_then(|a| a.account_id).ok_or_else(|| Error::not_found("account"))?;
        if requested.is_some_and(|r| r != own) {
            return Err(Error::not_found("account"));
        }
        Ok(Some(own))
    }

    /// Maps the unique violation of `constraint` to a conflict; anything else
    /// goes through the generic mapping.
    pub(crate) fn unique_conflict(err: sqlx::Error, constraint: &str, code: &str, message: &str) -> Error {
        let hit = err
            .as_database_error()
            .is_some_and(|e| e.code().as_deref() == Some("23505") && e.constraint() == Some(constraint));
        if hit { Error::conflict(code, message) } else { err.into() }
    }

    /// Checks that `id` is a support type of `account` (any state), for
    /// references from other configuration. Reported as invalid `field`.
    pub(crate) async fn require_type_in_account(
        conn: &mut PgConnection,
        account: AccountId,
        id: SupportTypeId,
        field: &str,
    ) -> Result<()> {
        let found = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM support_types WHERE id = $1 AND account_id = $2) AS "found!""#,
            id.0,
            account.0
        )
        .fetch_one(conn)
        .await?;
        if found { Ok(()) } else { Err(Error::invalid(field, "no such support type in this account")) }
    }

    async fn load(conn: &mut PgConnection, id: SupportTypeId, for_update: bool) -> Result<SupportType> {
        let ty = if for_update {
            type_query!("SELECT ", " FROM support_types WHERE id = $1 FOR NO KEY UPDATE", id.0)
                .fetch_optional(conn)
                .await?
        } else {
            type_query!("SELECT ", " FROM support_types WHERE id = $1", id.0).fetch_optional(conn).await?
        };
        ty.ok_or_else(|| Error::not_found("support type"))
    }

    /// The effective values of a type being created or updated.
    struct Draft {
        slug: String,
        name: String,
        routing: Routing,
        queue_sla_secs: Option<i32>,
        first_response_sla_secs: Option<i32>,
        escalation_target_id: Option<SupportTypeId>,
        escalation_priority_bump: i32,
        preferred_wait_secs: i32,
        bot_agent_id: Option<AgentId>,
        csat_enabled: bool,
        reason_required: bool,
        greeting: Option<String>,
        business_hours: Option<serde_json::Value>,
    }

    fn check_sla(field: &str, value: Option<i32>) -> Result<()> {
        match value {
            Some(v) if v <= 0 => Err(Error::invalid(field, "must be a positive number of seconds")),
            Some(v) if v > MAX_SLA_SECS => {
                Err(Error::invalid(field, format!("must be at most {MAX_SLA_SECS} seconds (30 days)")))
            }
            _ => Ok(()),
        }
    }

    /// Validates and normalizes a draft of a type of `account` (`this` is the
    /// type itself when updating).
    async fn validate(
        conn: &mut PgConnection,
        account: AccountId,
        this: Option<SupportTypeId>,
        mut d: Draft,
    ) -> Result<Draft> {
        d.slug = d.slug.trim().to_owned();
        validate_slug("slug", &d.slug)?;
        d.name = required_text("name", &d.name, 120)?;
        check_sla("queue_sla_secs", d.queue_sla_secs)?;
        check_sla("first_response_sla_secs", d.first_response_sla_secs)?;
        if !(0..=100).contains(&d.escalation_priority_bump) {
            return Err(Error::invalid("escalation_priority_bump", "must be between 0 and 100"));
        }
        if !(0..=86_400).contains(&d.preferred_wait_secs) {
            return Err(Error::invalid("preferred_wait_secs", "must be between 0 and 86400 seconds"));
        }
        d.greeting = optional_text("greeting", d.greeting.as_deref(), 2000)?;
        match &d.business_hours {
            None => {}
            Some(value @ serde_json::Value::Object(_)) => {
                // Stored normalised (a time zone in place of an old offset).
                let hours = crate::business_hours::BusinessHours::parse(value)
                    .map_err(|why| Error::invalid("business_hours", why))?;
                d.business_hours = Some(serde_json::to_value(hours).map_err(|e| {
                    Error::internal("business_hours", format!("cannot serialise business hours: {e}"))
                })?);
            }
            Some(serde_json::Value::Null) => d.business_hours = None,
            Some(_) => return Err(Error::invalid("business_hours", "must be a JSON object")),
        }
        if d.routing == Routing::BotFirst && d.bot_agent_id.is_none() {
            return Err(Error::invalid(
                "bot_agent_id",
                "bot_first routing needs the bot that takes sessions first",
            ));
        }
        if let Some(target) = d.escalation_target_id {
            if Some(target) == this {
                return Err(Error::invalid(
                    "escalation_target_id",
                    "a support type cannot escalate to itself",
                ));
            }
            // FOR SHARE: an archive of the target waits for this change (and
            // then refuses), or this waits for the archive (and refuses).
            let row = sqlx::query!(
                r#"SELECT account_id AS "account_id: AccountId", archived_at FROM support_types
                   WHERE id = $1 FOR SHARE"#,
                target.0
            )
            .fetch_optional(&mut *conn)
            .await?
            .filter(|t| t.account_id == account)
            .ok_or_else(|| Error::invalid("escalation_target_id", "no such support type in this account"))?;
            if row.archived_at.is_some() {
                return Err(Error::invalid("escalation_target_id", "that support type is archived"));
            }
        }
        if let Some(bot) = d.bot_agent_id {
            let row = sqlx::query!(
                r#"SELECT account_id AS "account_id: AccountId", role AS "role: Role", deactivated_at
                   FROM agents WHERE id = $1"#,
                bot.0
            )
            .fetch_optional(&mut *conn)
            .await?
            .filter(|a| a.account_id == Some(account))
            .ok_or_else(|| Error::invalid("bot_agent_id", "no such agent in this account"))?;
            if row.role != Role::Bot {
                return Err(Error::invalid("bot_agent_id", "that agent is not a bot"));
            }
            if row.deactivated_at.is_some() {
                return Err(Error::invalid("bot_agent_id", "that bot is deactivated"));
            }
        }
        Ok(d)
    }

    fn slug_conflict(err: sqlx::Error) -> Error {
        unique_conflict(
            err,
            "support_types_slug_key",
            "slug_taken",
            "another support type already uses that slug",
        )
    }

    async fn changed(
        conn: &mut PgConnection,
        account: AccountId,
        entity: &str,
        id: impl Serialize,
        action: &str,
    ) -> Result<()> {
        outbox::record(
            conn,
            topic::CONFIG_CHANGED,
            Some(account),
            None,
            json!({ "entity": entity, "id": id, "action": action }),
        )
        .await
    }

    pub async fn create(pool: &PgPool, actor: &Actor, input: NewSupportType) -> Result<SupportType> {
        let account = actor.target_account(input.account_id)?;
        actor.require_admin_of(account, "support type")?;
        let mut tx = pool.begin().await?;
        let d = Draft {
            slug: input.slug,
            name: input.name,
            routing: input.routing,
            queue_sla_secs: input.queue_sla_secs,
            first_response_sla_secs: input.first_response_sla_secs,
            escalation_target_id: input.escalation_target_id,
            escalation_priority_bump: input.escalation_priority_bump,
            preferred_wait_secs: input.preferred_wait_secs,
            bot_agent_id: input.bot_agent_id,
            csat_enabled: input.csat_enabled,
            reason_required: input.reason_required,
            greeting: input.greeting,
            business_hours: input.business_hours,
        };
        let d = validate(&mut tx, account, None, d).await?;
        let ty = type_query!(
            "INSERT INTO support_types (account_id, slug, name, routing, queue_sla_secs, first_response_sla_secs,
                 escalation_target_id, escalation_priority_bump, preferred_wait_secs, bot_agent_id, csat_enabled,
                 reason_required, greeting, business_hours)
             VALUES ($1, $2::text::citext, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
             RETURNING ",
            "",
            account.0,
            &d.slug,
            &d.name,
            d.routing.as_str(),
            d.queue_sla_secs,
            d.first_response_sla_secs,
            d.escalation_target_id.map(|t| t.0),
            d.escalation_priority_bump,
            d.preferred_wait_secs,
            d.bot_agent_id.map(|b| b.0),
            d.csat_enabled,
            d.reason_required,
            d.greeting.as_deref(),
            d.business_hours.as_ref()
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(slug_conflict)?;
        changed(&mut tx, account, "support_type", ty.id, "created").await?;
        tx.commit().await?;
        Ok(ty)
    }

    /// `None` keeps `current`; `clear` empties it; both at once is invalid.
    fn patch<T>(field: &str, current: Option<T>, new: Option<T>, clear: bool) -> Result<Option<T>> {
        match (new, clear) {
            (Some(_), true) => Err(Error::invalid(field, "set it or clear it, not both")),
            (_, true) => Ok(None),
            (Some(v), false) => Ok(Some(v)),
            (None, false) => Ok(current),
        }
    }

    pub async fn update(
        pool: &PgPool,
        actor: &Actor,
        id: SupportTypeId,
        input: UpdateSupportType,
    ) -> Result<SupportType> {
        let mut tx = pool.begin().await?;
        let cur = load(&mut tx, id, true).await?;
        require_reader(actor, cur.account_id, "support type")?;
        actor.require_admin_of(cur.account_id, "support type")?;
        let d = Draft {
            slug: input.slug.unwrap_or(cur.slug),
            name: input.name.unwrap_or(cur.name),
            routing: input.routing.unwrap_or(cur.routing),
            queue_sla_secs: patch(
                "queue_sla_secs",
                cur.queue_sla_secs,
                input.queue_sla_secs,
                input.clear_queue_sla,
            )?,
            first_response_sla_secs: patch(
                "first_response_sla_secs",
                cur.first_response_sla_secs,
                input.first_response_sla_secs,
                input.clear_first_response_sla,
            )?,
            escalation_target_id: patch(
                "escalation_target_id",
                cur.escalation_target_id,
                input.escalation_target_id,
                input.clear_escalation_target,
            )?,
            escalation_priority_bump: input.escalation_priority_bump.unwrap_or(cur.escalation_priority_bump),
            preferred_wait_secs: input.preferred_wait_secs.unwrap_or(cur.preferred_wait_secs),
            bot_agent_id: patch("bot_agent_id", cur.bot_agent_id, input.bot_agent_id, input.clear_bot_agent)?,
            csat_enabled: input.csat_enabled.unwrap_or(cur.csat_enabled),
            reason_required: input.reason_required.unwrap_or(cur.reason_required),
            greeting: input.greeting.or(cur.greeting),
            business_hours: patch(
                "business_hours",
                cur.business_hours,
                input.business_hours,
                input.clear_business_hours,
            )?,
        };
        let d = validate(&mut tx, cur.account_id, Some(id), d).await?;
        let ty = type_query!(
            "UPDATE support_types SET slug = $2::text::citext, name = $3, routing = $4, queue_sla_secs = $5,
                 first_response_sla_secs = $6, escalation_target_id = $7, escalation_priority_bump = $8,
                 preferred_wait_secs = $9, bot_agent_id = $10, csat_enabled = $11, reason_required = $12,
                 greeting = $13, business_hours = $14
             WHERE id = $1
             RETURNING ",
            "",
            id.0,
            &d.slug,
            &d.name,
            d.routing.as_str(),
            d.queue_sla_secs,
            d.first_response_sla_secs,
            d.escalation_target_id.map(|t| t.0),
            d.escalation_priority_bump,
            d.preferred_wait_secs,
            d.bot_agent_id.map(|b| b.0),
            d.csat_enabled,
            d.reason_required,
            d.greeting.as_deref(),
            d.business_hours.as_ref()
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(slug_conflict)?;
        changed(&mut tx, ty.account_id, "support_type", ty.id, "updated").await?;
        tx.commit().await?;
        Ok(ty)
    }

    async fn set_archived(
        pool: &PgPool,
        actor: &Actor,
        id: SupportTypeId,
        archived: bool,
    ) -> Result<SupportType> {
        let mut tx = pool.begin().await?;
        let cur = load(&mut tx, id, true).await?;
        require_reader(actor, cur.account_id, "support type")?;
        actor.require_admin_of(cur.account_id, "support type")?;
        if cur.archived_at.is_some() == archived {
            return Ok(cur);
        }
        require_escalation_paths_stay_active(&mut tx, &cur, archived).await?;
        let ty = type_query!(
            "UPDATE support_types SET archived_at = CASE WHEN $2 THEN now() END WHERE id = $1 RETURNING ",
            "",
            id.0,
            archived
        )
        .fetch_one(&mut *tx)
        .await?;
        let action = if archived { "archived" } else { "restored" };
        changed(&mut tx, ty.account_id, "support_type", ty.id, action).await?;
        tx.commit().await?;
        Ok(ty)
    }

    /// The rule: an active type escalates only to an active type. So a type
    /// that active types escalate to cannot be archived (409 naming them:
    /// the admin decides where they escalate instead; nothing changes
    /// behind their back), and a type cannot be restored while its own
    /// target is archived. Both sides lock the rows they read, so a
    /// concurrent archive and re-targeting cannot both pass.
    async fn require_escalation_paths_stay_active(
        conn: &mut PgConnection,
        ty: &SupportType,
        archiving: bool,
    ) -> Result<()> {
        if archiving {
            let sources = sqlx::query_scalar!(
                "SELECT name FROM support_types
                 WHERE escalation_target_id = $1 AND archived_at IS NULL AND id <> $1
                 ORDER BY name FOR SHARE",
                ty.id.0
            )
            .fetch_all(&mut *conn)
            .await?;
            if !sources.is_empty() {
                return Err(Error::conflict(
                    "escalation_target_in_use",
                    format!(
                        "{} escalate{} to this type; give {} another escalation target first",
                        sources.join(", "),
                        if sources.len() == 1 { "s" } else { "" },
                        if sources.len() == 1 { "it" } else { "them" },
                    ),
                ));
            }
        } else if let Some(target) = ty.escalation_target_id {
            let target =
                sqlx::query!("SELECT name, archived_at FROM support_types WHERE id = $1 FOR SHARE", target.0)
                    .fetch_one(&mut *conn)
                    .await?;
            if target.archived_at.is_some() {
                return Err(Error::conflict(
                    "escalation_target_archived",
                    format!(
                        "this type escalates to {}, which is archived; restore it or change the target first",
                        target.name
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Archives a type: it accepts no new sessions; open ones are unaffected.
    /// Archiving an archived type changes nothing.
    pub async fn archive(pool: &PgPool, actor: &Actor, id: SupportTypeId) -> Result<SupportType> {
        set_archived(pool, actor, id, true).await
    }

    /// Takes a type out of the archive.
    pub async fn restore(pool: &PgPool, actor: &Actor, id: SupportTypeId) -> Result<SupportType> {
        set_archived(pool, actor, id, false).await
    }

    /// A type's full configuration, for anyone working in its account.
    pub async fn get(pool: &PgPool, actor: &Actor, id: SupportTypeId) -> Result<SupportType> {
        let mut conn = pool.acquire().await?;
        let ty = load(&mut conn, id, false).await?;
        require_reader(actor, ty.account_id, "support type")?;
        Ok(ty)
    }

    /// What the customer chat page shows for `/chat/{slug}`; no caller needed.
    pub async fn get_by_slug_public(pool: &PgPool, slug: &str) -> Result<Option<PublicSupportType>> {
        let slug = slug.trim();
        if validate_slug("slug", slug).is_err() {
            return Ok(None);
        }
        let row = sqlx::query!(
            r#"SELECT id AS "id: SupportTypeId", slug::text AS "slug!", name, greeting, csat_enabled,
                      archived_at IS NOT NULL AS "archived!"
               FROM support_types WHERE slug = $1::text::citext"#,
            slug
        )
        .fetch_optional(pool)
        .await?;
        Ok(row.map(|r| PublicSupportType {
            id: r.id,
            slug: r.slug,
            name: r.name,
            greeting: r.greeting,
            csat_enabled: r.csat_enabled,
            archived: r.archived,
        }))
    }

    /// Types by name. Global callers see every account (or the one they
    /// filter on); others see their own account's.
    pub async fn list(pool: &PgPool, actor: &Actor, filter: SupportTypeFilter) -> Result<Vec<SupportType>> {
        let account = list_scope(actor, filter.account_id)?;
        Ok(type_query!(
            "SELECT ",
            " FROM support_types
             WHERE ($1::uuid IS NULL OR account_id = $1) AND ($2 OR archived_at IS NULL)
             ORDER BY name, id",
            account.map(|a| a.0),
            filter.include_archived
        )
        .fetch_all(pool)
        .await?)
    }

    /// The type's account, with the type's row locked against concurrent
    /// reason changes (but not against sessions referencing it).
    async fn reason_scope(
        conn: &mut PgConnection,
        actor: &Actor,
        type_id: SupportTypeId,
        write: bool,
    ) -> Result<AccountId> {
        let account = if write {
            sqlx::query_scalar!(
                r#"SELECT account_id AS "account_id: AccountId" FROM support_types
                   WHERE id = $1 FOR NO KEY UPDATE"#,
                type_id.0
            )
            .fetch_optional(&mut *conn)
            .await?
        } else {
            sqlx::query_scalar!(
                r#"SELECT account_id AS "account_id: AccountId" FROM support_types WHERE id = $1"#,
                type_id.0
            )
            .fetch_optional(&mut *conn)
            .await?
        }
        .ok_or_else(|| Error::not_found("support type"))?;
        require_reader(actor, account, "support type")?;
        if write {
            actor.require_admin_of(account, "resolution reasons")?;
        }
        Ok(account)
    }

    pub async fn list_reasons(
        pool: &PgPool,
        actor: &Actor,
        type_id: SupportTypeId,
        include_archived: bool,
    ) -> Result<Vec<ResolutionReason>> {
        let mut conn = pool.acquire().await?;
        reason_scope(&mut conn, actor, type_id, false).await?;
        Ok(reason_query!(
            "SELECT ",
            " FROM resolution_reasons WHERE support_type_id = $1 AND ($2 OR archived_at IS NULL)
             ORDER BY position, label, id",
            type_id.0,
            include_archived
        )
        .fetch_all(&mut *conn)
        .await?)
    }

    /// Fails when the type already has a reason with this label (ignoring
    /// case), archived or not.
    async fn require_unique_label(
        conn: &mut PgConnection,
        type_id: SupportTypeId,
        label: &str,
        except: Option<ReasonId>,
    ) -> Result<()> {
        let existing = sqlx::query!(
            "SELECT archived_at FROM resolution_reasons
             WHERE support_type_id = $1 AND lower(label) = lower($2) AND ($3::uuid IS NULL OR id <> $3)",
            type_id.0,
            label,
            except.map(|e| e.0)
        )
        .fetch_optional(conn)
        .await?;
        match existing {
            None => Ok(()),
            Some(r) if r.archived_at.is_some() => Err(Error::conflict(
                "reason_exists",
                format!("an archived reason is labelled {label:?}; restore it instead"),
            )),
            Some(_) => {
                Err(Error::conflict("reason_exists", format!("a reason is already labelled {label:?}")))
            }
        }
    }

    fn label_conflict(err: sqlx::Error) -> Error {
        unique_conflict(
            err,
            "resolution_reasons_support_type_id_label_key",
            "reason_exists",
            "a reason already has that label",
        )
    }

    /// Adds a reason at the end of the type's list.
    pub async fn create_reason(
        pool: &PgPool,
        actor: &Actor,
        type_id: SupportTypeId,
        label: &str,
    ) -> Result<ResolutionReason> {
        let label = required_text("label", label, 120)?;
        let mut tx = pool.begin().await?;
        let account = reason_scope(&mut tx, actor, type_id, true).await?;
        require_unique_label(&mut tx, type_id, &label, None).await?;
        let reason = reason_query!(
            "INSERT INTO resolution_reasons (support_type_id, label, position)
             VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM resolution_reasons
                              WHERE support_type_id = $1))
             RETURNING ",
            "",
            type_id.0,
            &label
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(label_conflict)?;
        changed(&mut tx, account, "resolution_reason", reason.id, "created").await?;
        tx.commit().await?;
        Ok(reason)
    }

    /// Relabels, moves and/or (un)archives a reason. `position` is the
    /// 1-based place in the type's list (clamped to its length); the others
    /// shift and the list is renumbered 1..n.
    pub async fn update_reason(
        pool: &PgPool,
        actor: &Actor,
        type_id: SupportTypeId,
        reason_id: ReasonId,
        label: Option<&str>,
        position: Option<i32>,
        archived: Option<bool>,
    ) -> Result<ResolutionReason> {
        let label = label.map(|l| required_text("label", l, 120)).transpose()?;
        if position.is_some_and(|p| p < 1) {
            return Err(Error::invalid("position", "positions start at 1"));
        }
        let mut tx = pool.begin().await?;
        let account = reason_scope(&mut tx, actor, type_id, true).await?;
        let current = reason_query!(
            "SELECT ",
            " FROM resolution_reasons WHERE id = $1 AND support_type_id = $2",
            reason_id.0,
            type_id.0
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("resolution reason"))?;
        if label.is_none() && position.is_none() && archived.is_none() {
            return Ok(current);
        }
        if let Some(label) = &label {
            require_unique_label(&mut tx, type_id, label, Some(reason_id)).await?;
        }
        if let Some(position) = position {
            let mut order: Vec<uuid::Uuid> = sqlx::query_scalar!(
                "SELECT id FROM resolution_reasons WHERE support_type_id = $1 ORDER BY position, label, id",
                type_id.0
            )
            .fetch_all(&mut *tx)
            .await?;
            move_to(&mut order, reason_id.0, position);
            let positions: Vec<i32> = (1..).take(order.len()).collect();
            sqlx::query!(
                "UPDATE resolution_reasons r SET position = v.position
                 FROM unnest($1::uuid[], $2::int4[]) AS v(id, position)
                 WHERE r.id = v.id AND r.position <> v.position",
                &order,
                &positions
            )
            .execute(&mut *tx)
            .await?;
        }
        let reason = reason_query!(
            "UPDATE resolution_reasons
             SET label = COALESCE($2, label),
                 archived_at = CASE WHEN $3::boolean IS NULL THEN archived_at
                                    WHEN $3 THEN COALESCE(archived_at, now()) END
             WHERE id = $1 RETURNING ",
            "",
            reason_id.0,
            label.as_deref(),
            archived
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(label_conflict)?;
        changed(&mut tx, account, "resolution_reason", reason.id, "updated").await?;
        tx.commit().await?;
        Ok(reason)
    }

    /// The account an admin console view covers: `None` (every account, for
    /// global callers) or one account, which the caller must administer.
    fn admin_view(actor: &Actor, requested: Option<AccountId>, what: &str) -> Result<Option<AccountId>> {
        let account = list_scope(actor, requested)?;
        if let Some(account) = account
            && !actor.is_admin_of(account)
        {
            return Err(Error::forbidden(format!("only admins see {what}")));
        }
        Ok(account)
    }

    /// The admin console's list: types by name, each with its waiting
    /// sessions (counted through the caller's [`Scope`](crate::scope::Scope))
    /// and the humans online who serve it. Admins only.
    pub async fn list_with_load(
        pool: &PgPool,
        actor: &Actor,
        filter: SupportTypeFilter,
    ) -> Result<Vec<SupportTypeLoad>> {
        let account = admin_view(actor, filter.account_id, "the support types' load")?;
        let mut conn = pool.acquire().await?;
        let scope = crate::scope::Scope::of(&mut conn, actor).await?;
        let types = type_query!(
            "SELECT ",
            " FROM support_types WHERE ($1::uuid IS NULL OR account_id = $1) AND ($2 OR archived_at IS NULL)
              ORDER BY name, id",
            account.map(|a| a.0),
            filter.include_archived
        )
        .fetch_all(&mut *conn)
        .await?;
        // Runtime-checked: the count embeds the scope's predicate (QueryBuilder).
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT s.support_type_id, count(*) FROM sessions s WHERE s.status = 'queued'",
        );
        scope.push_sql(&mut q);
        q.push(" GROUP BY s.support_type_id");
        let waiting: std::collections::HashMap<SupportTypeId, i64> =
            q.build_query_as::<(SupportTypeId, i64)>().fetch_all(&mut *conn).await?.into_iter().collect();
        let online: std::collections::HashMap<SupportTypeId, i64> = sqlx::query!(
            r#"SELECT k.support_type_id AS "support_type_id: SupportTypeId", count(*) AS "online!"
               FROM agents a JOIN agent_skills k ON k.agent_id = a.id
               JOIN support_types t ON t.id = k.support_type_id
               WHERE a.account_id = t.account_id AND a.presence = 'online' AND a.deactivated_at IS NULL
                 AND a.role <> 'bot' AND ($1::uuid IS NULL OR t.account_id = $1)
               GROUP BY k.support_type_id"#,
            account.map(|a| a.0)
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.support_type_id, r.online))
        .collect();
        // The agents figure is account-wide: only for callers whose scope
        // covers the type's whole account (admin_view made sure; this keeps
        // the figure honest should that rule ever widen).
        Ok(types
            .into_iter()
            .map(|t| SupportTypeLoad {
                waiting_now: waiting.get(&t.id).copied().unwrap_or(0),
                agents_online: if scope.covers_account(t.account_id) {
                    online.get(&t.id).copied().unwrap_or(0)
                } else {
                    0
                },
                support_type: t,
            })
            .collect())
    }

    /// The choices of the support type editor for `account` (every account,
    /// for a global caller who names none). Admins only.
    pub async fn editor_choices(
        pool: &PgPool,
        actor: &Actor,
        account: Option<AccountId>,
    ) -> Result<EditorChoices> {
        let account = admin_view(actor, account, "the support type editor")?;
        let mut conn = pool.acquire().await?;
        let accounts = sqlx::query_as!(
            EditorChoice,
            r#"SELECT id, name, id AS "account_id: AccountId" FROM accounts
               WHERE ($1::uuid IS NULL OR id = $1) ORDER BY name, id"#,
            account.map(|a| a.0)
        )
        .fetch_all(&mut *conn)
        .await?;
        let support_types = sqlx::query_as!(
            EditorChoice,
            r#"SELECT id, name, account_id AS "account_id: AccountId" FROM support_types
               WHERE ($1::uuid IS NULL OR account_id = $1) AND archived_at IS NULL ORDER BY name, id"#,
            account.map(|a| a.0)
        )
        .fetch_all(&mut *conn)
        .await?;
        let bots = sqlx::query_as!(
            EditorChoice,
            r#"SELECT id, display_name AS name, account_id AS "account_id!: AccountId" FROM agents
               WHERE ($1::uuid IS NULL OR account_id = $1) AND account_id IS NOT NULL AND role = 'bot'
                 AND deactivated_at IS NULL
               ORDER BY display_name, id"#,
            account.map(|a| a.0)
        )
        .fetch_all(&mut *conn)
        .await?;
        Ok(EditorChoices { accounts, support_types, bots })
    }
}

#[cfg(test)]
mod move_to_tests {
    use super::move_to;

    #[test]
    fn an_item_lands_at_its_position_and_the_rest_keep_their_order() {
        let moved = |position| {
            let mut order = vec!['a', 'b', 'c', 'd'];
            move_to(&mut order, 'b', position);
            order.into_iter().collect::<String>()
        };
        assert_eq!(moved(1), "bacd");
        assert_eq!(moved(2), "abcd");
        assert_eq!(moved(3), "acbd");
        assert_eq!(moved(4), "acdb");
        // Past the end is the end; before the start is the start.
        assert_eq!(moved(99), "acdb");
        assert_eq!(moved(0), "bacd");
    }
}
