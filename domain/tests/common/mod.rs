//! Fixtures for the session-core tests: plain SQL, so that they do not depend
//! on the operations under test.
#![allow(dead_code)]

use domain::{
    actor::{Actor, AgentActor},
    engine,
    sessions::{self, OpenSession, Session},
    types::*,
};
use sqlx::PgPool;

pub async fn account(pool: &PgPool, slug: &str) -> AccountId {
    sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ($1, $1) RETURNING id")
        .bind(slug)
        .fetch_one(pool)
        .await
        .expect("account")
}

pub async fn support_type(pool: &PgPool, account: AccountId, slug: &str, routing: Routing) -> SupportTypeId {
    sqlx::query_scalar(
        "INSERT INTO support_types (account_id, slug, name, routing, reason_required, bot_agent_id)
         VALUES ($1, $2, $2, $3, false, NULL) RETURNING id",
    )
    .bind(account)
    .bind(slug)
    .bind(if routing == Routing::BotFirst { Routing::RoundRobin } else { routing })
    .fetch_one(pool)
    .await
    .expect("support type")
}

pub async fn bot_first(pool: &PgPool, ty: SupportTypeId, bot: AgentId) {
    sqlx::query("UPDATE support_types SET routing = 'bot_first', bot_agent_id = $2 WHERE id = $1")
        .bind(ty)
        .bind(bot)
        .execute(pool)
        .await
        .expect("bot first");
}

pub async fn agent(
    pool: &PgPool,
    account: AccountId,
    email: &str,
    role: Role,
    limit: i32,
    online: bool,
    skills: &[SupportTypeId],
) -> AgentId {
    let id: AgentId = sqlx::query_scalar(
        "INSERT INTO agents (account_id, email, display_name, role, max_concurrent, presence)
         VALUES ($1, $2, $2, $3, $4, $5) RETURNING id",
    )
    .bind(account)
    .bind(email)
    .bind(role)
    .bind(limit)
    .bind(if online { "online" } else { "offline" })
    .fetch_one(pool)
    .await
    .expect("agent");
    for ty in skills {
        sqlx::query("INSERT INTO agent_skills (agent_id, support_type_id) VALUES ($1, $2)")
            .bind(id)
            .bind(ty)
            .execute(pool)
            .await
            .expect("skill");
    }
    id
}

pub fn as_agent(id: AgentId, account: AccountId, role: Role) -> Actor {
    Actor::Agent(AgentActor { id, account_id: Some(account), role })
}

pub async fn open(pool: &PgPool, slug: &str) -> Session {
    sessions::open(pool, &Actor::System, OpenSession { support_type: slug.into(), ..Default::default() })
        .await
        .expect("open session")
        .0
}

/// Who took a just-opened session: the open itself when somebody was free
/// (`engine::assign_at_open`), else the engine now.
pub async fn owner_now(pool: &PgPool, s: &Session) -> Option<AgentId> {
    match s.owner_id {
        Some(owner) => Some(owner),
        None => engine::assign_one(pool, s.id).await.expect("engine"),
    }
}

pub async fn set_online(pool: &PgPool, agent: AgentId, online: bool) {
    sqlx::query("UPDATE agents SET presence = $2 WHERE id = $1")
        .bind(agent)
        .bind(if online { "online" } else { "offline" })
        .execute(pool)
        .await
        .expect("presence");
}

pub async fn outbox_topics(pool: &PgPool, session: SessionId) -> Vec<String> {
    sqlx::query_scalar("SELECT topic FROM outbox WHERE session_id = $1 ORDER BY id")
        .bind(session)
        .fetch_all(pool)
        .await
        .expect("outbox")
}

pub async fn reason(pool: &PgPool, ty: SupportTypeId, label: &str) -> ReasonId {
    sqlx::query_scalar("INSERT INTO resolution_reasons (support_type_id, label) VALUES ($1, $2) RETURNING id")
        .bind(ty)
        .bind(label)
        .fetch_one(pool)
        .await
        .expect("reason")
}

/// A connection of its own, outside the pool, for counting what one
/// transaction reads: PostgreSQL keeps a backend's table counters pending
/// for up to a second after each transaction, and `pg_stat_xact_*` shows
/// those too, so a pooled connection can report its previous work as well.
pub async fn counting_connection(pool: &PgPool) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect_with(&pool.connect_options()).await.expect("a connection of its own")
}
