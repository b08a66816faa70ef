//! The reports consumer keeps the rollups equal to the sessions' history:
//! each event recomputes the session's fact, a replayed event (even one that
//! bypasses `processed`) changes nothing, and the result equals a rebuild.

mod common;

use chrono::Utc;
use consumers::{Handler, handlers::reports::Reports, process};
use domain::{
    actor::{Actor, AgentActor, CustomerActor},
    conversation::{self, SendMessage},
    csat::{self, SubmitCsat},
    outbox::{self, Event},
    reports::{self, Grouping, ReportFilter, facts},
    sessions::{self, OpenSession},
    types::*,
};
use sqlx::PgPool;

/// Every rollup row that counts something (migration 0022's rows are
/// canonical, so equal sums are equal rows).
async fn rollups(pool: &PgPool) -> Vec<String> {
    // Each row as one line of text: equal rows, equal lines.
    sqlx::query_scalar!(
        r#"SELECT concat_ws(' ', account_id, support_type_id, agent_id, grain, day, metric, n, total, lo, counts,
                            parts) AS "row!"
             FROM report_rollups WHERE n <> 0 OR total <> 0 OR parts <> '{}'
            ORDER BY account_id, support_type_id, agent_id, grain, day, metric"#
    )
    .fetch_all(pool)
    .await
    .expect("rollups")
}

fn today() -> ReportFilter {
    let mut f = ReportFilter::last_days(Utc::now().date_naive(), 2);
    f.group = Grouping::Day;
    f
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn every_session_event_keeps_the_rollups_equal_to_a_rebuild(pool: PgPool) {
    let account: AccountId =
        sqlx::query_scalar("INSERT INTO accounts (slug, name) VALUES ('acme', 'Acme') RETURNING id")
            .fetch_one(&pool)
            .await
            .expect("account");
    let ty: SupportTypeId = sqlx::query_scalar(
        "INSERT INTO support_types (account_id, slug, name, reason_required) VALUES ($1, 'help', 'Help', false) RETURNING id",
    )
    .bind(account)
    .fetch_one(&pool)
    .await
    .expect("type");
    let agent: AgentId = sqlx::query_scalar(
        "INSERT INTO agents (account_id, email, display_name, role, presence) VALUES ($1, 'a@acme.test', 'Ada', 'agent', 'online') RETURNING id",
    )
    .bind(account)
    .fetch_one(&pool)
    .await
    .expect("agent");
    sqlx::query("INSERT INTO agent_skills (agent_id, support_type_id) VALUES ($1, $2)")
        .bind(agent)
        .bind(ty)
        .execute(&pool)
        .await
        .expect("skill");
    let me = Actor::Agent(AgentActor { id: agent, account_id: Some(account), role: Role::Agent });

    let (s, _) = sessions::open(
        &pool,
        &Actor::System,
        OpenSession {
            support_type: "help".into(),
            message: Some("My invoice is wrong".into()),
            ..Default::default()
        },
    )
    .await
    .expect("open");
    assert_eq!(common::owner_now(&pool, &s).await, Some(agent));
    conversation::send(&pool, &me, s.id, SendMessage { body: "Let me look".into(), ..Default::default() })
        .await
        .expect("reply");
    conversation::send(&pool, &me, s.id, SendMessage { body: "Fixed it".into(), ..Default::default() })
        .await
        .expect("second reply");
    sessions::resolve(&pool, &me, s.id, None).await.expect("resolve");
    let cust =
        Actor::Customer(CustomerActor { customer_id: s.customer_id, session_id: s.id, account_id: account });
    csat::submit(&pool, &cust, s.id, SubmitCsat { score: 4, comment: None }).await.expect("csat");

    let events: Vec<Event> = outbox::since(&pool, 0, 1000).await.expect("events");
    let handler = Reports;
    for e in
        events.iter().filter(|e| handler.bindings().iter().any(|b| consumers::topic_matches(b, &e.topic)))
    {
        process(&pool, &handler, e, None).await.expect("reports consumer");
    }
    let after_once = rollups(&pool).await;
    let r = reports::report(&pool, &Actor::System, today()).await.expect("report");
    let t = &r.totals;
    assert_eq!((t.opened, t.resolved, t.first_response.n, t.csat.n), (1, 1, 1, 1));
    assert_eq!(t.csat.distribution, [0, 0, 0, 1, 0]);
    assert_eq!(r.agents.len(), 1);
    assert_eq!(r.agents[0].figures.resolved, 1);

    // Replays, even past the processed table, change nothing.
    for e in &events {
        let mut tx = pool.begin().await.expect("tx");
        handler.handle(&mut tx, e).await.expect("replay");
        tx.commit().await.expect("commit");
    }
    assert_eq!(rollups(&pool).await, after_once);
    facts::rebuild(&pool, None, |_, _| {}).await.expect("rebuild");
    assert_eq!(rollups(&pool).await, after_once, "the consumer's rollups equal a rebuild");
}
