//! Support sessions and their lifecycle: open, get, list, assign, reassign
//! (the handoff call), escalate, resolve, reopen, abandon.
//!
//! ```text
//!            assign                resolve
//!  queued ───────────▶ active ─────────────▶ resolved
//!    ▲  ▲                │  reassign(queue/type)   │
//!    │  └────────────────┘                         │ reopen
//!    │                                             ▼
//!    └──────────────────────────────────────── (queued)
//!  queued|active ── abandon ──▶ abandoned ── reopen ──▶ queued
//! ```

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// A support session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Session {
    pub id: SessionId,
    pub account_id: AccountId,
    pub support_type_id: SupportTypeId,
    pub customer_id: CustomerId,
    pub owner_id: Option<AgentId>,
    pub previous_owner_id: Option<AgentId>,
    pub status: SessionStatus,
    pub priority: i32,
    pub tier: Option<i16>,
    pub project_ref: Option<String>,
    pub created_at: DateTime<Utc>,
    pub queued_at: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by_id: Option<AgentId>,
    pub resolution_reason_id: Option<ReasonId>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub escalation_count: i32,
    pub updated_at: DateTime<Utc>,
}

impl Session {
    /// What the [scope rule](crate::scope) looks at.
    pub fn facts(&self) -> crate::scope::SessionFacts {
        crate::scope::SessionFacts {
            id: self.id,
            account_id: self.account_id,
            support_type_id: self.support_type_id,
            owner_id: self.owner_id,
        }
    }
}

/// A session as its customer sees it: what they are waiting for and who
/// is helping them by name, never an agent's internal id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerSession {
    pub id: SessionId,
    pub customer_id: CustomerId,
    pub support_type_id: SupportTypeId,
    /// The support type's name.
    pub support_type: String,
    pub status: SessionStatus,
    /// The display name of the agent or bot who has the session now.
    pub agent_name: Option<String>,
    /// A bot has the session now: the chat page says so and offers "Talk to
    /// a person" (`POST /sessions/{id}/request-person`).
    pub with_bot: bool,
    pub created_at: DateTime<Utc>,
    pub queued_at: DateTime<Utc>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Who the session is for. With an `external_ref` the customer is looked up
/// (and updated) in the type's account; otherwise a new customer is created.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerInput {
    pub name: Option<String>,
    pub email: Option<String>,
    pub external_ref: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OpenSession {
    /// The support type, by slug.
    pub support_type: String,
    #[serde(default)]
    pub customer: CustomerInput,
    /// The customer's first message, if any.
    pub message: Option<String>,
    pub project_ref: Option<String>,
    /// 0 to 1000; default 0.
    #[serde(default)]
    pub priority: i32,
}

/// Where `reassign` sends a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReassignTarget {
    /// To this agent, who must serve the session's type, be online and have room.
    Agent { agent_id: AgentId },
    /// Into this support type's queue (same account).
    SupportType { support_type_id: SupportTypeId },
    /// Back into the current type's queue, for the engine to route.
    Queue,
}

/// Why a caller moves a session with `reassign`: any assignment reason
/// except `auto`, which is the engine's own. (`reassign` itself refuses
/// `auto` from every other caller too.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ReassignReason {
    Manual,
    Transfer,
    Escalation,
    Handoff,
    Away,
    Sla,
}

impl From<ReassignReason> for AssignReason {
    fn from(reason: ReassignReason) -> Self {
        match reason {
            ReassignReason::Manual => Self::Manual,
            ReassignReason::Transfer => Self::Transfer,
            ReassignReason::Escalation => Self::Escalation,
            ReassignReason::Handoff => Self::Handoff,
            ReassignReason::Away => Self::Away,
            ReassignReason::Sla => Self::Sla,
        }
    }
}

/// Why a bot hands a session over: the typed reason and a short summary for
/// the person who takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HandoffNote {
    pub reason: HandoffReason,
    /// Up to 500 characters: what the customer needs, for the next agent.
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionFilter {
    pub status: Option<SessionStatus>,
    pub support_type_id: Option<SupportTypeId>,
    pub owner_id: Option<AgentId>,
    pub account_id: Option<AccountId>,
    pub customer_id: Option<CustomerId>,
    /// Only the waiting queue: the queued sessions in the caller's scope.
    #[serde(default)]
    pub queue: bool,
}

/// One page of a list, newest first, with the cursor for the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

pub const MAX_PAGE: i64 = 200;

pub fn page_limit(limit: Option<i64>) -> crate::Result<i64> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(crate::Error::invalid("limit", format!("must be between 1 and {MAX_PAGE}"))),
    }
}

/// The hot queries, shared with the query-plan test so that it checks the
/// very SQL the code runs. Each appends to a query over `sessions s` (the
/// caller chooses the columns), with the caller's scope as a predicate.
#[cfg(feature = "server")]
pub mod sql {
    use super::*;
    use crate::scope::Scope;
    use sqlx::{Postgres, QueryBuilder};

    /// `agent`'s active sessions within `scope`, oldest assignment first.
    pub fn push_inbox(q: &mut QueryBuilder<'_, Postgres>, scope: &Scope, agent: AgentId) {
        q.push(" AND s.owner_id = ").push_bind(agent).push(" AND s.status = 'active'");
        scope.push_sql(q);
        q.push(" ORDER BY s.assigned_at, s.id");
    }

    /// The queued sessions within `scope` (of one type, if given), in
    /// [queue order](crate::scope::queue_order), at most `limit`.
    pub fn push_queue(
        q: &mut QueryBuilder<'_, Postgres>,
        scope: &Scope,
        support_type: Option<SupportTypeId>,
        limit: i64,
    ) {
        q.push(" AND s.status = 'queued'");
        if let Some(t) = support_type {
            q.push(" AND s.support_type_id = ").push_bind(t);
        }
        scope.push_sql(q);
        q.push(concat!(" ORDER BY ", crate::queue_order_sql!(), " LIMIT ")).push_bind(limit);
    }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::scope::Scope;
    use crate::{
        Error, Result,
        actor::Actor,
        outbox::{self, topic},
        text::{optional_text, required_text},
    };
    use serde_json::json;
    use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

    /// How [`load`] locks the session row for the rest of the transaction.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Lock {
        None,
        /// Many may hold it (senders); it keeps the status from changing.
        Share,
        /// Exclusive: lifecycle changes.
        Update,
    }

    /// `query_as!` for [`Session`]: its columns between `$before` and `$after`.
    macro_rules! session_query {
        ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
            sqlx::query_as!(
                Session,
                $before
                    + r#"id AS "id: SessionId", account_id AS "account_id: AccountId",
                         support_type_id AS "support_type_id: SupportTypeId",
                         customer_id AS "customer_id: CustomerId", owner_id AS "owner_id: AgentId",
                         previous_owner_id AS "previous_owner_id: AgentId", status AS "status: SessionStatus",
                         priority, tier, project_ref, created_at, queued_at, assigned_at, first_response_at,
                         resolved_at, resolved_by_id AS "resolved_by_id: AgentId",
                         resolution_reason_id AS "resolution_reason_id: ReasonId", escalated_at,
                         escalation_count, updated_at"#
                    + $after
                $(, $arg)*
            )
        };
    }

    pub(crate) async fn load(conn: &mut PgConnection, id: SessionId, lock: Lock) -> Result<Session> {
        let session = match lock {
            Lock::None => {
                session_query!("SELECT ", " FROM sessions WHERE id = $1", id.0).fetch_optional(conn).await?
            }
            Lock::Share => {
                session_query!("SELECT ", " FROM sessions WHERE id = $1 FOR SHARE", id.0)
                    .fetch_optional(conn)
                    .await?
            }
            Lock::Update => {
                session_query!("SELECT ", " FROM sessions WHERE id = $1 FOR UPDATE", id.0)
                    .fetch_optional(conn)
                    .await?
            }
        };
        session.ok_or_else(|| Error::not_found("session"))
    }

    /// Whether `actor` may see `session`, by the one scope rule
    /// ([`crate::scope`]). Not seeing it means "not found".
    pub(crate) async fn can_see(conn: &mut PgConnection, actor: &Actor, session: &Session) -> Result<bool> {
        Ok(Scope::of(conn, actor).await?.sees(&session.facts()))
    }

    /// Loads a session the actor may see (locked when `lock`), or "not found".
    pub(crate) async fn visible(
        conn: &mut PgConnection,
        actor: &Actor,
        id: SessionId,
        lock: Lock,
    ) -> Result<Session> {
        let session = load(conn, id, lock).await?;
        if can_see(conn, actor, &session).await? { Ok(session) } else { Err(Error::not_found("session")) }
    }

    /// Owner, supervisors and admins of the account, and the system may act
    /// on an assigned session; others may only look.
    fn require_owner_or_supervisor(actor: &Actor, session: &Session, what: &str) -> Result<()> {
        if actor.supervises(session.account_id)
            || (actor.agent_id().is_some() && actor.agent_id() == session.owner_id)
        {
            Ok(())
        } else {
            Err(Error::forbidden(format!("only the session's owner or a supervisor may {what} it")))
        }
    }

    fn require_open(session: &Session) -> Result<()> {
        if session.status.is_open() {
            Ok(())
        } else {
            Err(Error::conflict("session_closed", format!("the session is {}", session.status)))
        }
    }

    /// A session, for agents (customers get [`get_for_customer`]).
    pub async fn get(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<Session> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers read their session with get_for_customer"));
        }
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, Lock::None).await
    }

    /// The session as its customer sees it ([`CustomerSession`]), names
    /// resolved in the same query.
    pub async fn get_for_customer(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<CustomerSession> {
        let mut conn = pool.acquire().await?;
        visible(&mut conn, actor, id, Lock::None).await?;
        Ok(sqlx::query_as!(
            CustomerSession,
            r#"SELECT s.id AS "id: SessionId", s.customer_id AS "customer_id: CustomerId",
                      s.support_type_id AS "support_type_id: SupportTypeId", t.name AS support_type,
                      s.status AS "status: SessionStatus", a.display_name AS "agent_name?",
                      (a.role = 'bot') IS TRUE AS "with_bot!",
                      s.created_at, s.queued_at, s.assigned_at, s.resolved_at
               FROM sessions s JOIN support_types t ON t.id = s.support_type_id
               LEFT JOIN agents a ON a.id = s.owner_id
               WHERE s.id = $1"#,
            id.0
        )
        .fetch_one(&mut *conn)
        .await?)
    }

    /// Opens a session for a customer. It is assigned in the same transaction
    /// when an agent can take it and nobody of its type is waiting
    /// ([`engine::assign_at_open`](crate::engine)); otherwise it is queued,
    /// and the engine is woken by the database (NOTIFY) when the transaction
    /// commits.
    pub async fn open(pool: &PgPool, actor: &Actor, input: OpenSession) -> Result<(Session, CustomerId)> {
        let mut tx = pool.begin().await?;
        let opened = open_in(&mut tx, actor, input).await?;
        tx.commit().await?;
        Ok(opened)
    }

    /// [`open`] inside the caller's transaction, for operations that write
    /// more in the same transaction (the customer chat token).
    pub(crate) async fn open_in(
        tx: &mut PgConnection,
        actor: &Actor,
        input: OpenSession,
    ) -> Result<(Session, CustomerId)> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("a customer session cannot open another session"));
        }
        let message = optional_text("message", input.message.as_deref(), 10_000)?;
        let project_ref = optional_text("project_ref", input.project_ref.as_deref(), 200)?;
        let name = optional_text("customer.name", input.customer.name.as_deref(), 200)?;
        let email = optional_text("customer.email", input.customer.email.as_deref(), 254)?;
        if let Some(e) = &email {
            crate::text::validate_email("customer.email", e)?;
        }
        let external_ref =
            optional_text("customer.external_ref", input.customer.external_ref.as_deref(), 200)?;
        if !(0..=1000).contains(&input.priority) {
            return Err(Error::invalid("priority", "must be between 0 and 1000"));
        }
        let slug = required_text("support_type", &input.support_type, 63)?;

        let ty = sqlx::query!(
            r#"SELECT id AS "id: SupportTypeId", account_id AS "account_id: AccountId", archived_at
               FROM support_types WHERE slug = $1::text::citext"#,
            slug
        )
        .fetch_optional(&mut *tx)
        .await?
        .filter(|t| actor.in_account(t.account_id))
        .ok_or_else(|| Error::invalid("support_type", format!("no support type {slug:?}")))?;
        if ty.archived_at.is_some() {
            return Err(Error::conflict(
                "support_type_archived",
                format!("support type {slug:?} is archived"),
            ));
        }

        let customer_id = match &external_ref {
            Some(ext) => {
                sqlx::query_scalar!(
                    r#"INSERT INTO customers (account_id, name, email, external_ref)
                       VALUES ($1, $2, $3::text::citext, $4)
                       ON CONFLICT (account_id, external_ref) DO UPDATE
                         SET name = COALESCE(EXCLUDED.name, customers.name),
                             email = COALESCE(EXCLUDED.email, customers.email)
                       RETURNING id AS "id: CustomerId""#,
                    ty.account_id.0,
                    name,
                    email,
                    ext
                )
                .fetch_one(&mut *tx)
                .await?
            }
            None => {
                sqlx::query_scalar!(
                    r#"INSERT INTO customers (account_id, name, email) VALUES ($1, $2, $3::text::citext)
                       RETURNING id AS "id: CustomerId""#,
                    ty.account_id.0,
                    name,
                    email
                )
                .fetch_one(&mut *tx)
                .await?
            }
        };

        let session = session_query!(
            "INSERT INTO sessions (account_id, support_type_id, customer_id, project_ref, priority)
             VALUES ($1, $2, $3, $4, $5) RETURNING ",
            "",
            ty.account_id.0,
            ty.id.0,
            customer_id.0,
            project_ref.as_deref(),
            input.priority
        )
        .fetch_one(&mut *tx)
        .await?;
        outbox::record(
            &mut *tx,
            topic::SESSION_OPENED,
            Some(session.account_id),
            Some(session.id),
            json!({ "session_id": session.id, "support_type_id": session.support_type_id,
                    "customer_id": customer_id, "project_ref": project_ref }),
        )
        .await?;
        if let Some(body) = message {
            crate::conversation::insert_message(
                &mut *tx,
                &session,
                SenderKind::Customer,
                None,
                &body,
                None,
                Vec::new(),
            )
            .await?;
        }
        // After the first message, so that whoever takes it (a bot greeting
        // it) sees the message with the assignment.
        let session = match crate::engine::assign_at_open(&mut *tx, &session).await? {
            Some(assigned) => assigned,
            None => session,
        };
        Ok((session, customer_id))
    }

    /// Opens a queued session of `support_type` for an existing customer of
    /// its account, inside the caller's transaction: an outbound session,
    /// started by the support side (a blast) rather than the customer. The
    /// caller checks that the type and customer belong together and that the
    /// type is not archived. Writes `session.opened` (with `outbound: true`).
    pub async fn open_outbound_in(
        tx: &mut PgConnection,
        account: AccountId,
        support_type: SupportTypeId,
        customer: CustomerId,
    ) -> Result<Session> {
        let session = session_query!(
            "INSERT INTO sessions (account_id, support_type_id, customer_id) VALUES ($1, $2, $3) RETURNING ",
            "",
            account.0,
            support_type.0,
            customer.0
        )
        .fetch_one(&mut *tx)
        .await?;
        outbox::record(
            &mut *tx,
            topic::SESSION_OPENED,
            Some(session.account_id),
            Some(session.id),
            json!({ "session_id": session.id, "support_type_id": session.support_type_id,
                    "customer_id": customer, "project_ref": null, "outbound": true }),
        )
        .await?;
        Ok(session)
    }

    /// Lists sessions the caller may see, newest first, by cursor. The SQL is
    /// built from the filters present, so every shape gets a plan that uses
    /// its index (no `$n IS NULL OR …` generic plans).
    pub async fn list(
        pool: &PgPool,
        actor: &Actor,
        filter: SessionFilter,
        cursor: Option<&str>,
        limit: Option<i64>,
    ) -> Result<Page<Session>> {
        let limit = page_limit(limit)?;
        let cursor = cursor.map(decode_cursor).transpose()?;
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers cannot list sessions"));
        }
        let scope = Scope::of(&mut *pool.acquire().await?, actor).await?;
        if let (Some(own), Some(asked)) = (scope.account(), filter.account_id)
            && own != asked
        {
            return Err(Error::not_found("account"));
        }
        if filter.queue && filter.status.is_some_and(|s| s != SessionStatus::Queued) {
            return Err(Error::invalid("status", "the queue holds queued sessions only"));
        }
        let status = if filter.queue { Some(SessionStatus::Queued) } else { filter.status };
        // Built from the filters present, so every shape gets a plan that
        // uses its index; the scope is one more predicate.
        let mut q = QueryBuilder::<Postgres>::new("SELECT s.* FROM sessions s WHERE true");
        scope.push_sql(&mut q);
        if let Some(a) = filter.account_id {
            q.push(" AND s.account_id = ").push_bind(a);
        }
        if let Some(st) = status {
            q.push(" AND s.status = ").push_bind(st);
        }
        if let Some(t) = filter.support_type_id {
            q.push(" AND s.support_type_id = ").push_bind(t);
        }
        if let Some(o) = filter.owner_id {
            q.push(" AND s.owner_id = ").push_bind(o);
        }
        if let Some(c) = filter.customer_id {
            q.push(" AND s.customer_id = ").push_bind(c);
        }
        if let Some((at, id)) = cursor {
            q.push(" AND (s.created_at, s.id) < (").push_bind(at).push(", ").push_bind(id).push(")");
        }
        q.push(" ORDER BY s.created_at DESC, s.id DESC LIMIT ").push_bind(limit + 1);
        let rows = q.build_query_as::<Session>().fetch_all(pool).await?;
        Ok(paginate(rows, limit, |s| encode_cursor(s.created_at, s.id.0)))
    }

    /// An agent's inbox: their active sessions, oldest assignment first. The
    /// agent themself or a supervisor of their account may read it.
    pub async fn inbox(pool: &PgPool, actor: &Actor, agent: AgentId) -> Result<Vec<Session>> {
        let mut conn = pool.acquire().await?;
        require_inbox_reader(&mut conn, actor, agent).await?;
        let scope = Scope::of(&mut conn, actor).await?;
        // Runtime-built: the shared inbox SQL and the scope's predicate are pushed by QueryBuilder.
        let mut q = QueryBuilder::new("SELECT s.* FROM sessions s WHERE true");
        sql::push_inbox(&mut q, &scope, agent);
        Ok(q.build_query_as::<Session>().fetch_all(&mut *conn).await?)
    }

    /// Whose inbox the caller may read: their own, or (supervisors) that of
    /// an agent of their account.
    pub(crate) async fn require_inbox_reader(
        conn: &mut PgConnection,
        actor: &Actor,
        agent: AgentId,
    ) -> Result<()> {
        if actor.agent_id() == Some(agent) {
            return Ok(());
        }
        let account = sqlx::query_scalar!("SELECT account_id FROM agents WHERE id = $1", agent.0)
            .fetch_optional(&mut *conn)
            .await?
            .flatten()
            .map(AccountId);
        if account.is_some_and(|a| actor.supervises(a)) { Ok(()) } else { Err(Error::not_found("agent")) }
    }

    /// The waiting queue in pick order: the queued sessions in the caller's
    /// scope (for an agent, of the types they serve; for a supervisor, of
    /// their account), optionally of one type.
    pub async fn queue(
        pool: &PgPool,
        actor: &Actor,
        support_type: Option<SupportTypeId>,
        limit: Option<i64>,
    ) -> Result<Vec<Session>> {
        let limit = page_limit(limit)?;
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("customers cannot read the queue"));
        }
        let mut conn = pool.acquire().await?;
        let scope = Scope::of(&mut conn, actor).await?;
        // Runtime-built: the shared queue SQL and the scope's predicate are pushed by QueryBuilder.
        let mut q = QueryBuilder::new("SELECT s.* FROM sessions s WHERE true");
        sql::push_queue(&mut q, &scope, support_type, limit);
        Ok(q.build_query_as::<Session>().fetch_all(&mut *conn).await?)
    }

    pub(crate) fn paginate<T>(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more { rows.last().map(cursor_of) } else { None };
        Page { items: rows, next_cursor }
    }

    pub(crate) fn encode_cursor(at: DateTime<Utc>, id: uuid::Uuid) -> String {
        format!("{}_{}", at.timestamp_micros(), id.simple())
    }

    pub(crate) fn decode_cursor(cursor: &str) -> Result<(DateTime<Utc>, uuid::Uuid)> {
        let bad = || Error::invalid("cursor", "not a cursor returned by this API");
        let (micros, id) = cursor.split_once('_').ok_or_else(bad)?;
        let at = DateTime::from_timestamp_micros(micros.parse().map_err(|_| bad())?).ok_or_else(bad)?;
        Ok((at, uuid::Uuid::parse_str(id).map_err(|_| bad())?))
    }

    /// Gives a queued session to an agent. Agents may pick for themselves from
    /// the queue of a type they serve (manual routing); supervisors may give
    /// it to any agent who serves the type.
    pub async fn assign(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        agent_id: Option<AgentId>,
    ) -> Result<Session> {
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, id, Lock::Update).await?;
        let agent_id =
            agent_id.or(actor.agent_id()).ok_or_else(|| Error::invalid("agent_id", "name the agent"))?;
        if Some(agent_id) != actor.agent_id() && !actor.supervises(session.account_id) {
            return Err(Error::forbidden("only a supervisor may assign a session to someone else"));
        }
        if session.status != SessionStatus::Queued {
            return Err(Error::conflict(
                "session_not_queued",
                format!("only a queued session can be assigned; this one is {}", session.status),
            ));
        }
        crate::eligibility::require_can_take(&mut tx, &session, agent_id).await?;
        let session = give(&mut tx, &session, agent_id, AssignReason::Manual, actor.agent_id()).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Makes `agent_id` the owner of a queued session: opens an assignment
    /// (the trigger counts it against the agent's limit) and activates the
    /// session. The caller holds the session's row lock.
    pub(crate) async fn give(
        conn: &mut PgConnection,
        session: &Session,
        agent_id: AgentId,
        reason: AssignReason,
        by: Option<AgentId>,
    ) -> Result<Session> {
        sqlx::query!(
            "INSERT INTO assignments (session_id, agent_id, reason, assigned_by) VALUES ($1, $2, $3, $4)",
            session.id.0,
            agent_id.0,
            reason.as_str(),
            by.map(|b| b.0)
        )
        .execute(&mut *conn)
        .await
        .map_err(capacity_error)?;
        sqlx::query!("UPDATE agents SET last_assigned_at = clock_timestamp() WHERE id = $1", agent_id.0)
            .execute(&mut *conn)
            .await?;
        let updated = session_query!(
            "UPDATE sessions SET status = 'active', owner_id = $2, assigned_at = now(), updated_at = now()
             WHERE id = $1 RETURNING ",
            "",
            session.id.0,
            agent_id.0
        )
        .fetch_one(&mut *conn)
        .await?;
        outbox::record(
            conn,
            topic::SESSION_ASSIGNED,
            Some(session.account_id),
            Some(session.id),
            json!({ "session_id": session.id, "agent_id": agent_id, "reason": reason,
                    "previous_owner_id": session.owner_id.or(session.previous_owner_id), "by": by }),
        )
        .await?;
        Ok(updated)
    }

    /// The limit CHECK is the last word on capacity; say so in domain terms.
    pub(crate) fn capacity_error(err: sqlx::Error) -> Error {
        match err.as_database_error().and_then(|e| e.constraint()) {
            Some("agents_within_limit") => {
                Error::conflict("agent_at_capacity", "the agent has no room for another session")
            }
            Some("assignments_one_open_per_session") => {
                Error::conflict("session_already_assigned", "the session already has an owner")
            }
            _ => err.into(),
        }
    }

    /// Ends the open assignment, if any, with `end_reason`. Drafts its bot
    /// left waiting expire with it: nobody can send them any more.
    pub(crate) async fn end_assignment(
        conn: &mut PgConnection,
        id: SessionId,
        end_reason: &str,
    ) -> Result<()> {
        sqlx::query!(
            "UPDATE assignments SET ended_at = clock_timestamp(), end_reason = $2
             WHERE session_id = $1 AND ended_at IS NULL",
            id.0,
            end_reason
        )
        .execute(&mut *conn)
        .await?;
        sqlx::query!(
            "UPDATE bot_drafts SET status = 'expired', decided_at = now() WHERE session_id = $1 AND status = 'pending'",
            id.0
        )
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Moves a session to an agent, a support type's queue, or back into its
    /// queue. This is the one handoff call: bot to human, human to human,
    /// away and SLA requeues all go through it.
    pub async fn reassign(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        target: ReassignTarget,
        reason: AssignReason,
    ) -> Result<Session> {
        reassign_noted(pool, actor, id, target, reason, None).await
    }

    /// A bot hands the session to people: [`reassign`] with reason
    /// `handoff`, its typed [`HandoffNote`] recorded, and a
    /// `session.handed_off` event so that someone is always told (the
    /// notifications and automated chat consumers).
    pub async fn hand_off(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        target: ReassignTarget,
        note: HandoffNote,
    ) -> Result<Session> {
        reassign_noted(pool, actor, id, target, AssignReason::Handoff, Some(note)).await
    }

    /// [`reassign`], with a [`HandoffNote`] when the reason is `handoff`
    /// (required from bots): the REST route's entry.
    pub async fn reassign_noted(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        target: ReassignTarget,
        reason: AssignReason,
        note: Option<HandoffNote>,
    ) -> Result<Session> {
        let summary = match &note {
            Some(n) => {
                crate::text::optional_text("handoff.summary", Some(&n.summary), 500)?.unwrap_or_default()
            }
            None => String::new(),
        };
        if note.is_some() && reason != AssignReason::Handoff {
            return Err(Error::invalid("handoff", "a handoff note goes with reason \"handoff\""));
        }
        if note.is_none()
            && reason == AssignReason::Handoff
            && actor.agent().is_some_and(|a| a.role == Role::Bot)
        {
            return Err(Error::invalid(
                "handoff",
                "a bot's handoff names its reason: customer_request, low_confidence, turn_limit, keyword, policy or provider_failure",
            ));
        }
        if reason == AssignReason::Auto {
            return Err(Error::invalid(
                "reason",
                "\"auto\" is the engine's own reason; use transfer, handoff, escalation, away, sla or manual",
            ));
        }
        let mut tx = pool.begin().await?;
        let updated =
            reassign_checked(&mut tx, actor, id, target, reason, note.map(|n| (n.reason, summary))).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// A bot's handoff inside the caller's transaction (the built-in bot's,
    /// in its consumer): [`hand_off`] under the same rules and lock.
    pub async fn hand_off_in(
        conn: &mut PgConnection,
        actor: &Actor,
        id: SessionId,
        target: ReassignTarget,
        note: HandoffNote,
    ) -> Result<Session> {
        let summary =
            crate::text::optional_text("handoff.summary", Some(&note.summary), 500)?.unwrap_or_default();
        reassign_checked(conn, actor, id, target, AssignReason::Handoff, Some((note.reason, summary))).await
    }

    async fn reassign_checked(
        tx: &mut PgConnection,
        actor: &Actor,
        id: SessionId,
        target: ReassignTarget,
        reason: AssignReason,
        note: Option<(HandoffReason, String)>,
    ) -> Result<Session> {
        let session = visible(tx, actor, id, Lock::Update).await?;
        require_open(&session)?;
        if session.status == SessionStatus::Active {
            require_owner_or_supervisor(actor, &session, "reassign")?;
        } else if !actor.supervises(session.account_id) && actor.agent().is_none_or(|a| a.role == Role::Bot) {
            return Err(Error::forbidden("customers and bots cannot move a queued session"));
        }
        let updated = move_session(tx, actor, &session, target, reason).await?;
        if let Some((note_reason, summary)) = &note {
            let from = session.owner_id.or(actor.agent_id()).ok_or_else(|| {
                Error::conflict("not_owner", "a handoff comes from the session's owner or an agent")
            })?;
            record_handoff(tx, &session, &updated, from, *note_reason, summary).await?;
        }
        // Supervisors moving other people's work is security-relevant.
        if let Some(agent) = actor.agent()
            && session.owner_id != Some(agent.id)
            && matches!(agent.role, Role::Supervisor | Role::Admin)
        {
            crate::agents::audit(
                tx,
                Some(session.account_id),
                actor,
                "session.reassigned_by_supervisor",
                &session.id.to_string(),
                json!({ "from_agent_id": session.owner_id, "target": target, "reason": reason }),
            )
            .await?;
        }
        Ok(updated)
    }

    /// Records a handoff and its event, in the caller's transaction.
    /// `before` is the session as the bot had it, `after` as it is now.
    pub(crate) async fn record_handoff(
        conn: &mut PgConnection,
        before: &Session,
        after: &Session,
        from: AgentId,
        reason: HandoffReason,
        summary: &str,
    ) -> Result<()> {
        let id = sqlx::query_scalar!(
            "INSERT INTO handoffs (session_id, account_id, from_agent_id, reason, summary)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            before.id.0,
            before.account_id.0,
            from.0,
            reason.as_str(),
            summary
        )
        .fetch_one(&mut *conn)
        .await?;
        outbox::record(
            conn,
            topic::SESSION_HANDED_OFF,
            Some(before.account_id),
            Some(before.id),
            json!({ "handoff_id": id, "session_id": before.id, "from_agent_id": from, "reason": reason,
                    "summary": summary, "support_type_id": after.support_type_id, "to_agent_id": after.owner_id,
                    "status": after.status }),
        )
        .await?;
        Ok(())
    }

    /// A person writes into a bot's session: they take it over, through the
    /// same move as `reassign` (eligibility checked), recorded as a
    /// `takeover` handoff. Runs in the caller's transaction with the session
    /// row locked, so the bot's next send sees it is no longer the owner.
    pub(crate) async fn take_over_from_bot(
        conn: &mut PgConnection,
        actor: &Actor,
        session: &Session,
        bot: AgentId,
    ) -> Result<Session> {
        let agent = actor.agent_id().ok_or_else(|| Error::forbidden("only agents take sessions over"))?;
        let taken = move_session(
            conn,
            actor,
            session,
            ReassignTarget::Agent { agent_id: agent },
            AssignReason::Handoff,
        )
        .await?;
        record_handoff(conn, session, &taken, bot, HandoffReason::Takeover, "").await?;
        Ok(taken)
    }

    pub(crate) async fn move_session(
        conn: &mut PgConnection,
        actor: &Actor,
        session: &Session,
        target: ReassignTarget,
        reason: AssignReason,
    ) -> Result<Session> {
        if let ReassignTarget::Agent { agent_id } = target {
            if session.owner_id == Some(agent_id) {
                return Err(Error::conflict("already_owner", "the session already belongs to that agent"));
            }
            crate::eligibility::require_can_take(conn, session, agent_id).await?;
        }
        let new_type = match target {
            ReassignTarget::SupportType { support_type_id } => {
                let ty = sqlx::query!(
                    "SELECT account_id, archived_at FROM support_types WHERE id = $1",
                    support_type_id.0
                )
                .fetch_optional(&mut *conn)
                .await?
                .filter(|t| t.account_id == session.account_id.0)
                .ok_or_else(|| Error::invalid("support_type_id", "no such support type in this account"))?;
                if ty.archived_at.is_some() {
                    return Err(Error::conflict("support_type_archived", "that support type is archived"));
                }
                support_type_id
            }
            _ => session.support_type_id,
        };
        end_assignment(conn, session.id, end_reason_for(reason)).await?;
        let queued = session_query!(
            "UPDATE sessions SET status = 'queued', owner_id = NULL,
                    previous_owner_id = COALESCE(owner_id, previous_owner_id),
                    support_type_id = $2, queued_at = now(), updated_at = now()
             WHERE id = $1 RETURNING ",
            "",
            session.id.0,
            new_type.0
        )
        .fetch_one(&mut *conn)
        .await?;
        outbox::record(
            conn,
            topic::SESSION_REASSIGNED,
            Some(session.account_id),
            Some(session.id),
            json!({ "session_id": session.id, "from_agent_id": session.owner_id, "target": target,
                    "reason": reason, "from_support_type_id": session.support_type_id,
                    "support_type_id": new_type, "by": actor.agent_id() }),
        )
        .await?;
        match target {
            ReassignTarget::Agent { agent_id } => {
                give(conn, &queued, agent_id, reason, actor.agent_id()).await
            }
            _ => Ok(queued),
        }
    }

    /// An agent went away or offline: their sessions that have no reply from
    /// them yet go back to the queue with reason `away` (answered ones stay,
    /// the conversation is under way). Runs in the caller's transaction (the
    /// presence consumer's). Returns the requeued sessions.
    pub async fn requeue_unanswered(conn: &mut PgConnection, agent: AgentId) -> Result<Vec<SessionId>> {
        let ids = sqlx::query_scalar!(
            r#"SELECT s.id AS "id: SessionId" FROM sessions s
               JOIN assignments a ON a.session_id = s.id AND a.ended_at IS NULL
               WHERE s.owner_id = $1 AND s.status = 'active' AND a.responded_at IS NULL
               ORDER BY s.id"#,
            agent.0
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut moved = Vec::new();
        for id in ids {
            let session = load(conn, id, Lock::Update).await?;
            // Re-checked under the lock: the agent may have replied meanwhile.
            if session.owner_id != Some(agent) || session.status != SessionStatus::Active {
                continue;
            }
            move_session(conn, &Actor::System, &session, ReassignTarget::Queue, AssignReason::Away).await?;
            moved.push(id);
        }
        Ok(moved)
    }

    fn end_reason_for(reason: AssignReason) -> &'static str {
        match reason {
            AssignReason::Auto | AssignReason::Manual | AssignReason::Transfer => "transfer",
            AssignReason::Escalation => "escalation",
            AssignReason::Handoff => "handoff",
            AssignReason::Away => "away",
            AssignReason::Sla => "sla",
        }
    }

    /// Escalates: moves the session to its type's escalation target (if set)
    /// and bumps its priority (if set). A type with neither has no escalation
    /// path, which is reported rather than silently ignored.
    pub async fn escalate(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<Session> {
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, id, Lock::Update).await?;
        require_open(&session)?;
        if session.status == SessionStatus::Active {
            require_owner_or_supervisor(actor, &session, "escalate")?;
        } else if !actor.supervises(session.account_id) {
            return Err(Error::forbidden("only a supervisor may escalate a queued session"));
        }
        let updated = escalate_locked(&mut tx, actor, &session).await?;
        tx.commit().await?;
        Ok(updated)
    }

    pub(crate) async fn escalate_locked(
        conn: &mut PgConnection,
        actor: &Actor,
        session: &Session,
    ) -> Result<Session> {
        let ty = sqlx::query!(
            r#"SELECT t.escalation_target_id, t.escalation_priority_bump, target.archived_at AS "target_archived_at?"
               FROM support_types t LEFT JOIN support_types target ON target.id = t.escalation_target_id
               WHERE t.id = $1"#,
            session.support_type_id.0
        )
        .fetch_one(&mut *conn)
        .await?;
        let target = ty.escalation_target_id.filter(|_| ty.target_archived_at.is_none()).map(SupportTypeId);
        if target.is_none() && ty.escalation_priority_bump == 0 {
            return Err(Error::conflict(
                "no_escalation_path",
                "this support type has no escalation target or priority bump configured",
            ));
        }
        if let Some(support_type_id) = target {
            move_session(
                conn,
                actor,
                session,
                ReassignTarget::SupportType { support_type_id },
                AssignReason::Escalation,
            )
            .await?;
        }
        let updated = session_query!(
            "UPDATE sessions SET priority = LEAST(priority + $2, 1000), escalated_at = now(),
                    escalation_count = escalation_count + 1, updated_at = now()
             WHERE id = $1 RETURNING ",
            "",
            session.id.0,
            ty.escalation_priority_bump
        )
        .fetch_one(&mut *conn)
        .await?;
        outbox::record(
            conn,
            topic::SESSION_ESCALATED,
            Some(session.account_id),
            Some(session.id),
            json!({ "session_id": session.id, "to_support_type_id": target, "priority": updated.priority,
                    "level": updated.escalation_count, "by": actor.agent_id() }),
        )
        .await?;
        Ok(updated)
    }

    /// Resolves a session. The reason must be one of the type's active
    /// reasons, and is required when the type says so.
    pub async fn resolve(
        pool: &PgPool,
        actor: &Actor,
        id: SessionId,
        reason_id: Option<ReasonId>,
    ) -> Result<Session> {
        let mut tx = pool.begin().await?;
        let updated = resolve_in(&mut tx, actor, id, reason_id, ReasonRule::AsTheTypeSays).await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Whether a resolution needs one of the type's reasons.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum ReasonRule {
        /// When the type requires one (every resolution by a person or API).
        AsTheTypeSays,
        /// Never: a bot's resolution on the customer's word or silence
        /// (`bot_resolutions` records why).
        BotOutcome,
    }

    /// [`resolve`] in the caller's transaction.
    pub(crate) async fn resolve_in(
        tx: &mut PgConnection,
        actor: &Actor,
        id: SessionId,
        reason_id: Option<ReasonId>,
        rule: ReasonRule,
    ) -> Result<Session> {
        let session = visible(&mut *tx, actor, id, Lock::Update).await?;
        require_open(&session)?;
        if session.status == SessionStatus::Active {
            require_owner_or_supervisor(actor, &session, "resolve")?;
        } else if !actor.supervises(session.account_id) {
            return Err(Error::forbidden("only a supervisor may resolve a session nobody has taken"));
        }
        let required = rule == ReasonRule::AsTheTypeSays
            && sqlx::query_scalar!(
                "SELECT reason_required FROM support_types WHERE id = $1",
                session.support_type_id.0
            )
            .fetch_one(&mut *tx)
            .await?;
        match reason_id {
            None if required => {
                return Err(Error::invalid("reason_id", "this support type requires a resolution reason"));
            }
            None => {}
            Some(reason) => {
                let ok = sqlx::query_scalar!(
                    r#"SELECT EXISTS (SELECT 1 FROM resolution_reasons
                        WHERE id = $1 AND support_type_id = $2 AND archived_at IS NULL) AS "ok!""#,
                    reason.0,
                    session.support_type_id.0
                )
                .fetch_one(&mut *tx)
                .await?;
                if !ok {
                    return Err(Error::invalid("reason_id", "not a resolution reason of this support type"));
                }
            }
        }
        end_assignment(&mut *tx, id, "resolved").await?;
        let updated = session_query!(
            "UPDATE sessions SET status = 'resolved', owner_id = NULL,
                    previous_owner_id = COALESCE(owner_id, previous_owner_id),
                    resolved_at = now(), resolved_by_id = $2, resolution_reason_id = $3, updated_at = now()
             WHERE id = $1 RETURNING ",
            "",
            id.0,
            actor.agent_id().map(|a| a.0),
            reason_id.map(|r| r.0)
        )
        .fetch_one(&mut *tx)
        .await?;
        outbox::record(
            &mut *tx,
            topic::SESSION_RESOLVED,
            Some(session.account_id),
            Some(id),
            json!({ "session_id": id, "agent_id": session.owner_id, "reason_id": reason_id, "by": actor.agent_id() }),
        )
        .await?;
        Ok(updated)
    }

    /// Puts a resolved or abandoned session back into its queue.
    pub async fn reopen(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<Session> {
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, id, Lock::Update).await?;
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("a customer cannot reopen a session"));
        }
        if session.status.is_open() {
            return Err(Error::conflict(
                "session_open",
                format!("the session is already {}", session.status),
            ));
        }
        let updated = session_query!(
            "UPDATE sessions SET status = 'queued', queued_at = now(), resolved_at = NULL, resolved_by_id = NULL,
                    resolution_reason_id = NULL, reopen_count = reopen_count + 1, reopened_at = now(),
                    updated_at = now()
             WHERE id = $1 RETURNING ",
            "",
            id.0
        )
        .fetch_one(&mut *tx)
        .await?;
        outbox::record(
            &mut tx,
            topic::SESSION_REOPENED,
            Some(session.account_id),
            Some(id),
            json!({ "session_id": id, "from_status": session.status, "by": actor.agent_id() }),
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }

    /// The customer asks for a person ("Talk to a person" on the chat page).
    /// While a bot owns the session, it goes to its type's queue with a
    /// `customer_request` handoff from that bot, as if the bot had called
    /// [`hand_off`]: the same move, record and event, so someone is told, and
    /// the bot's next send gets 409 `not_owner`. Otherwise nothing changes (a
    /// person has it or will take it), so a second click is harmless.
    pub async fn request_person(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<CustomerSession> {
        if !matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden(
                "only the session's customer asks for a person this way; bots hand off",
            ));
        }
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, id, Lock::Update).await?;
        require_open(&session)?;
        if let Some(owner) = session.owner_id
            && crate::conversation::is_bot(&mut tx, owner).await?
        {
            let queued =
                move_session(&mut tx, actor, &session, ReassignTarget::Queue, AssignReason::Handoff).await?;
            record_handoff(
                &mut tx,
                &session,
                &queued,
                owner,
                HandoffReason::CustomerRequest,
                "The customer pressed \u{201c}Talk to a person\u{201d}.",
            )
            .await?;
        }
        tx.commit().await?;
        get_for_customer(pool, actor, id).await
    }

    /// The customer left (or a supervisor closes a dead session) before it
    /// was resolved.
    pub async fn abandon(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<Session> {
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, id, Lock::Update).await?;
        require_open(&session)?;
        if !matches!(actor, Actor::Customer(_)) && !actor.supervises(session.account_id) {
            return Err(Error::forbidden("only the customer or a supervisor may abandon a session"));
        }
        end_assignment(&mut tx, id, "abandoned").await?;
        let updated = session_query!(
            "UPDATE sessions SET status = 'abandoned', owner_id = NULL,
                    previous_owner_id = COALESCE(owner_id, previous_owner_id), updated_at = now()
             WHERE id = $1 RETURNING ",
            "",
            id.0
        )
        .fetch_one(&mut *tx)
        .await?;
        outbox::record(
            &mut tx,
            topic::SESSION_ABANDONED,
            Some(session.account_id),
            Some(id),
            json!({ "session_id": id, "agent_id": session.owner_id, "by": actor.agent_id() }),
        )
        .await?;
        tx.commit().await?;
        Ok(updated)
    }
}
