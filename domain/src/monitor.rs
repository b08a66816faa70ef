//! The live queue monitor: what a supervisor watches through a shift. Per
//! support type, who waits and for how long, how many SLA breaches the last
//! hour had, and who is there to serve; every agent's presence and load;
//! the sessions that have waited longest.
//!
//! Who may watch: those whose [scope](crate::scope) covers whole accounts
//! (admins and supervisors of an account, global admins), through
//! [`Scope::whole_accounts`](crate::scope::Scope::whole_accounts), the rule
//! the reports use. The waiting sessions are listed through the scope's own
//! SQL predicate, like every other list of sessions.
//!
//! The monitor is a snapshot: the page takes a new one when the live link
//! says a session or an agent changed, so it never polls.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::*;

/// How many of the longest-waiting sessions the monitor lists.
pub const OLDEST_LISTED: i64 = 50;

/// One support type's line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TypeLine {
    pub id: SupportTypeId,
    pub account_id: AccountId,
    pub name: String,
    /// Queued sessions now.
    pub waiting: i64,
    /// When the longest-waiting of them was queued.
    pub oldest_queued_at: Option<DateTime<Utc>>,
    pub queue_sla_secs: Option<i32>,
    /// Sessions whose wait passed the queue SLA in the last hour: those
    /// still queued whose SLA moment fell in the hour, and those assigned in
    /// the hour after waiting longer than the SLA.
    pub queue_breaches_hour: i64,
    /// Assignments that ended in the last hour because the owner did not
    /// reply within the first-response SLA.
    pub first_response_breaches_hour: i64,
    /// People (not bots) who serve the type, by presence.
    pub online: i64,
    pub away: i64,
    pub offline: i64,
}

/// An agent's presence and load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentLine {
    pub id: AgentId,
    pub account_id: Option<AccountId>,
    pub name: String,
    pub role: Role,
    pub presence: Presence,
    pub presence_reason: Option<String>,
    /// Sessions they own now, and their limit.
    pub active: i32,
    pub limit: i32,
    /// The types they serve.
    pub serves: Vec<SupportTypeId>,
}

/// A session waiting in a queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WaitingSession {
    pub id: SessionId,
    pub support_type_id: SupportTypeId,
    pub support_type: String,
    pub customer_name: Option<String>,
    pub priority: i32,
    pub queued_at: DateTime<Utc>,
}

/// A chat a bot has now: what a supervisor watches to see the bots work
/// (and to step in: the link opens it in the workspace, live).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotChat {
    pub id: SessionId,
    pub support_type: String,
    pub bot_name: String,
    pub customer_name: Option<String>,
    /// When the bot got it.
    pub assigned_at: Option<DateTime<Utc>>,
    pub messages: i64,
    pub last_message_at: Option<DateTime<Utc>>,
    /// Replies the bot drafted (mode `drafts`) that wait for a person.
    pub drafts_waiting: i64,
}

/// How many of the bots' chats the monitor lists (those with drafts
/// waiting first, then the longest-running).
pub const BOT_CHATS_LISTED: i64 = 50;

/// The whole view at one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Monitor {
    /// The database's clock when the snapshot was taken: waits are counted
    /// from here, so a browser with a wrong clock still shows true waits.
    pub at: DateTime<Utc>,
    pub types: Vec<TypeLine>,
    pub agents: Vec<AgentLine>,
    /// The longest-waiting sessions first, at most [`OLDEST_LISTED`].
    pub oldest: Vec<WaitingSession>,
    pub waiting_total: i64,
    /// The chats bots have now, at most [`BOT_CHATS_LISTED`].
    pub bot_chats: Vec<BotChat>,
    /// All of them.
    pub bot_chats_total: i64,
}

/// Whether a wait of `waited_secs` is past a queue SLA (a type without one
/// is never past it). The page asks this of the wait as it ticks.
pub fn past_sla(waited_secs: i64, sla_secs: Option<i32>) -> bool {
    sla_secs.is_some_and(|sla| waited_secs > i64::from(sla))
}

impl Monitor {
    /// Whether a type's longest wait is past its queue SLA at `at`.
    pub fn over_sla(line: &TypeLine, at: DateTime<Utc>) -> bool {
        line.oldest_queued_at.is_some_and(|since| past_sla((at - since).num_seconds(), line.queue_sla_secs))
    }
}

/// The people of `agents` who serve `type_id`, counted by presence
/// (online, away, offline). Bots are not counted: a bot-first type's bot is
/// its routing, not its staff.
pub fn staffing(agents: &[AgentLine], type_id: SupportTypeId) -> (i64, i64, i64) {
    agents.iter().filter(|a| a.role != Role::Bot && a.serves.contains(&type_id)).fold(
        (0, 0, 0),
        |(on, away, off), a| match a.presence {
            Presence::Online => (on + 1, away, off),
            Presence::Away => (on, away + 1, off),
            Presence::Offline => (on, away, off + 1),
        },
    )
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use std::collections::HashMap;

    use super::*;
    use crate::{Result, actor::Actor, scope::Scope};
    use sqlx::PgPool;

    /// The monitor's sessions: of `account` when given, and always within
    /// the caller's scope (the one rule's SQL).
    fn narrow(q: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, account: Option<AccountId>, scope: &Scope) {
        if let Some(account) = account {
            q.push(" AND s.account_id = ").push_bind(account);
        }
        scope.push_sql(q);
    }

    /// The monitor of `account` (a global admin may leave it out: every
    /// account). Admins and supervisors; agents, bots and customers are
    /// refused, and an account outside the caller's scope is "not found".
    pub async fn snapshot(pool: &PgPool, actor: &Actor, account: Option<AccountId>) -> Result<Monitor> {
        let mut conn = pool.acquire().await?;
        let scope = Scope::of(&mut conn, actor).await?;
        let account = scope.whole_accounts(account).map_err(|e| match e {
            crate::Error::Forbidden { .. } => {
                crate::Error::forbidden("the queue monitor is for admins and supervisors")
            }
            other => other,
        })?;
        let account_id = account.map(|a| a.0);
        let at = sqlx::query_scalar!(r#"SELECT now() AS "now!""#).fetch_one(&mut *conn).await?;

        let types = sqlx::query!(
            r#"SELECT t.id AS "id: SupportTypeId", t.account_id AS "account_id: AccountId", t.name,
                      t.queue_sla_secs, t.first_response_sla_secs
               FROM support_types t
               WHERE ($1::uuid IS NULL OR t.account_id = $1) AND t.archived_at IS NULL
               ORDER BY t.name, t.id"#,
            account_id
        )
        .fetch_all(&mut *conn)
        .await?;
        let type_ids: Vec<uuid::Uuid> = types.iter().map(|t| t.id.0).collect();

        // Runtime-checked: the predicate is the scope's (QueryBuilder).
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT s.support_type_id, count(*), min(s.queued_at) FROM sessions s WHERE s.status = 'queued'",
        );
        scope.push_sql(&mut q);
        q.push(" AND s.support_type_id = ANY(")
            .push_bind(type_ids.clone())
            .push(") GROUP BY s.support_type_id");
        let waiting: HashMap<SupportTypeId, (i64, Option<DateTime<Utc>>)> = q
            .build_query_as::<(SupportTypeId, i64, Option<DateTime<Utc>>)>()
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|(t, n, oldest)| (t, (n, oldest)))
            .collect();

        // Queue SLA breaches of the hour: still waiting past the SLA moment,
        // which fell in the hour; or assigned in the hour after a longer wait.
        // Runtime-checked, like every query here that takes the scope's predicate.
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT s.support_type_id, count(*) FROM sessions s JOIN support_types t ON t.id = s.support_type_id
             WHERE t.queue_sla_secs IS NOT NULL AND s.support_type_id = ANY(",
        );
        q.push_bind(type_ids.clone()).push(
            ") AND ((s.status = 'queued'
                     AND s.queued_at + make_interval(secs => t.queue_sla_secs) BETWEEN now() - interval '1 hour' AND now())
                 OR (s.assigned_at > now() - interval '1 hour'
                     AND s.assigned_at > s.queued_at + make_interval(secs => t.queue_sla_secs)))",
        );
        scope.push_sql(&mut q);
        q.push(" GROUP BY s.support_type_id");
        let queue_breaches: HashMap<SupportTypeId, i64> =
            q.build_query_as::<(SupportTypeId, i64)>().fetch_all(&mut *conn).await?.into_iter().collect();

        // Runtime-checked: the scope's predicate (QueryBuilder).
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT s.support_type_id, count(*) FROM assignments a JOIN sessions s ON s.id = a.session_id
             WHERE a.end_reason = 'sla' AND a.ended_at > now() - interval '1 hour' AND s.support_type_id = ANY(",
        );
        q.push_bind(type_ids).push(")");
        scope.push_sql(&mut q);
        q.push(" GROUP BY s.support_type_id");
        let frt_breaches: HashMap<SupportTypeId, i64> =
            q.build_query_as::<(SupportTypeId, i64)>().fetch_all(&mut *conn).await?.into_iter().collect();

        let mut agents: Vec<AgentLine> = sqlx::query!(
            r#"SELECT a.id AS "id: AgentId", a.account_id AS "account_id: AccountId", a.display_name,
                      a.role AS "role: Role", a.presence AS "presence: Presence", a.presence_reason,
                      a.active_count, a.max_concurrent,
                      coalesce(array_agg(k.support_type_id) FILTER (WHERE k.support_type_id IS NOT NULL),
                               '{}') AS "serves!: Vec<uuid::Uuid>"
               FROM agents a LEFT JOIN agent_skills k ON k.agent_id = a.id
               WHERE a.deactivated_at IS NULL AND a.account_id IS NOT NULL
                 AND ($1::uuid IS NULL OR a.account_id = $1)
               GROUP BY a.id
               ORDER BY a.presence = 'offline', a.display_name, a.id"#,
            account_id
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| AgentLine {
            id: r.id,
            account_id: r.account_id,
            name: r.display_name,
            role: r.role,
            presence: r.presence,
            presence_reason: r.presence_reason,
            active: r.active_count,
            limit: r.max_concurrent,
            serves: r.serves.into_iter().map(SupportTypeId).collect(),
        })
        .collect();
        // A bot serves the types whose bot it is.
        for t in sqlx::query!(
            r#"SELECT id AS "id: SupportTypeId", bot_agent_id AS "bot!: AgentId" FROM support_types
               WHERE bot_agent_id IS NOT NULL AND ($1::uuid IS NULL OR account_id = $1)"#,
            account_id
        )
        .fetch_all(&mut *conn)
        .await?
        {
            if let Some(bot) = agents.iter_mut().find(|a| a.id == t.bot)
                && !bot.serves.contains(&t.id)
            {
                bot.serves.push(t.id);
            }
        }

        let types = types
            .into_iter()
            .map(|t| {
                let (waiting, oldest_queued_at) = waiting.get(&t.id).copied().unwrap_or((0, None));
                let (online, away, offline) = staffing(&agents, t.id);
                TypeLine {
                    waiting,
                    oldest_queued_at,
                    queue_sla_secs: t.queue_sla_secs,
                    queue_breaches_hour: queue_breaches.get(&t.id).copied().unwrap_or(0),
                    first_response_breaches_hour: frt_breaches.get(&t.id).copied().unwrap_or(0),
                    online,
                    away,
                    offline,
                    id: t.id,
                    account_id: t.account_id,
                    name: t.name,
                }
            })
            .collect::<Vec<_>>();
        let waiting_total = types.iter().map(|t| t.waiting).sum();

        // Runtime-checked: the scope's predicate (QueryBuilder).
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT s.id, s.support_type_id, t.name, c.name, s.priority, s.queued_at
             FROM sessions s JOIN support_types t ON t.id = s.support_type_id
             JOIN customers c ON c.id = s.customer_id
             WHERE s.status = 'queued'",
        );
        narrow(&mut q, account, &scope);
        q.push(" ORDER BY s.queued_at, s.id LIMIT ").push_bind(OLDEST_LISTED);
        let oldest =
            q.build_query_as::<(SessionId, SupportTypeId, String, Option<String>, i32, DateTime<Utc>)>()
                .fetch_all(&mut *conn)
                .await?
                .into_iter()
                .map(|(id, support_type_id, support_type, customer_name, priority, queued_at)| {
                    WaitingSession { id, support_type_id, support_type, customer_name, priority, queued_at }
                })
                .collect();

        // Runtime-checked: the scope's predicate (QueryBuilder).
        let mut q = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "SELECT s.id, t.name, a.display_name, c.name, s.assigned_at,
                    (SELECT count(*) FROM messages m WHERE m.session_id = s.id),
                    (SELECT max(m.created_at) FROM messages m WHERE m.session_id = s.id),
                    (SELECT count(*) FROM bot_drafts d WHERE d.session_id = s.id AND d.status = 'pending'
                       AND d.bot_id = s.owner_id),
                    count(*) OVER ()
             FROM sessions s JOIN agents a ON a.id = s.owner_id AND a.role = 'bot'
             JOIN support_types t ON t.id = s.support_type_id
             JOIN customers c ON c.id = s.customer_id
             WHERE s.status = 'active'",
        );
        narrow(&mut q, account, &scope);
        q.push(" ORDER BY 8 DESC, s.assigned_at, s.id LIMIT ").push_bind(BOT_CHATS_LISTED);
        type Row = (
            SessionId,
            String,
            String,
            Option<String>,
            Option<DateTime<Utc>>,
            i64,
            Option<DateTime<Utc>>,
            i64,
            i64,
        );
        let rows = q.build_query_as::<Row>().fetch_all(&mut *conn).await?;
        let bot_chats_total = rows.first().map_or(0, |r| r.8);
        let bot_chats = rows
            .into_iter()
            .map(|(id, support_type, bot_name, customer_name, assigned_at, messages, last, drafts, _)| {
                BotChat {
                    id,
                    support_type,
                    bot_name,
                    customer_name,
                    assigned_at,
                    messages,
                    last_message_at: last,
                    drafts_waiting: drafts,
                }
            })
            .collect();
        Ok(Monitor { at, types, agents, oldest, waiting_total, bot_chats, bot_chats_total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(role: Role, presence: Presence, serves: &[SupportTypeId]) -> AgentLine {
        AgentLine {
            id: AgentId(uuid::Uuid::new_v4()),
            account_id: None,
            name: "a".into(),
            role,
            presence,
            presence_reason: None,
            active: 0,
            limit: 3,
            serves: serves.to_vec(),
        }
    }

    #[test]
    fn staffing_counts_people_who_serve_the_type_by_presence() {
        let (t, other) = (SupportTypeId(uuid::Uuid::new_v4()), SupportTypeId(uuid::Uuid::new_v4()));
        let agents = vec![
            agent(Role::Agent, Presence::Online, &[t]),
            agent(Role::Supervisor, Presence::Away, &[t, other]),
            agent(Role::Agent, Presence::Offline, &[t]),
            agent(Role::Agent, Presence::Online, &[other]),
            agent(Role::Bot, Presence::Online, &[t]),
        ];
        assert_eq!(staffing(&agents, t), (1, 1, 1));
        assert_eq!(staffing(&agents, other), (1, 1, 0));
    }

    #[test]
    fn a_line_is_over_its_sla_only_past_it() {
        let at = Utc::now();
        let mut line = TypeLine {
            id: SupportTypeId(uuid::Uuid::new_v4()),
            account_id: AccountId(uuid::Uuid::new_v4()),
            name: "Billing".into(),
            waiting: 1,
            oldest_queued_at: Some(at - chrono::Duration::seconds(90)),
            queue_sla_secs: Some(60),
            queue_breaches_hour: 0,
            first_response_breaches_hour: 0,
            online: 0,
            away: 0,
            offline: 0,
        };
        assert!(Monitor::over_sla(&line, at));
        line.queue_sla_secs = Some(120);
        assert!(!Monitor::over_sla(&line, at));
        line.queue_sla_secs = None;
        assert!(!Monitor::over_sla(&line, at));
    }
}
