//! An account with a bot-first type ("help"), its bot Penny and a person,
//! Hana, who serves the type: the world of the bot and handoff tests.
#![allow(dead_code)]

use domain::types::{AccountId, AgentId, SupportTypeId};
use sqlx::PgPool;

pub struct BotWorld {
    pub account: AccountId,
    pub ty: SupportTypeId,
    pub bot: AgentId,
    pub human: AgentId,
}

pub async fn bot_world(pool: &PgPool, human_online: bool) -> BotWorld {
    let account = sqlx::query_scalar!(
        r#"INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id AS "id: AccountId""#
    )
    .fetch_one(pool)
    .await
    .expect("account");
    let bot = sqlx::query_scalar!(
        r#"INSERT INTO agents (account_id, email, display_name, role, presence, max_concurrent)
           VALUES ($1, 'bot@acme.test', 'Penny', 'bot', 'online', 100) RETURNING id AS "id: AgentId""#,
        account as AccountId,
    )
    .fetch_one(pool)
    .await
    .expect("bot");
    let ty = sqlx::query_scalar!(
        r#"INSERT INTO support_types (account_id, slug, name, routing, bot_agent_id, reason_required)
           VALUES ($1, 'help', 'Help desk', 'bot_first', $2, false) RETURNING id AS "id: SupportTypeId""#,
        account as AccountId,
        bot as AgentId,
    )
    .fetch_one(pool)
    .await
    .expect("type");
    let human = sqlx::query_scalar!(
        r#"INSERT INTO agents (account_id, email, display_name, role, presence)
           VALUES ($1, 'hana@acme.test', 'Hana', 'agent', $2) RETURNING id AS "id: AgentId""#,
        account as AccountId,
        if human_online { "online" } else { "offline" },
    )
    .fetch_one(pool)
    .await
    .expect("agent");
    sqlx::query!(
        "INSERT INTO agent_skills (agent_id, support_type_id) VALUES ($1, $2)",
        human as AgentId,
        ty as SupportTypeId,
    )
    .execute(pool)
    .await
    .expect("skill");
    BotWorld { account, ty, bot, human }
}
