//! The assignment engine. A queued session goes to an eligible agent by its
//! type's strategy:
//!
//! - **round robin**: the eligible agent least recently assigned;
//! - **least loaded**: the lowest active/limit ratio, ties to the least
//!   recently assigned;
//! - **preferred agent** (before either): the customer's preferred agent if
//!   eligible; otherwise the session waits up to the type's bound, then falls
//!   back;
//! - **bot first**: the type's bot takes the session first; after a handoff
//!   (or if the bot is unavailable) humans get it by round robin;
//! - **manual**: never auto-assigned; agents pick from the queue.
//!
//! Eligible means online, active, serving the type, under the limit, and not
//! the agent the session was just taken from. Rows are locked with
//! `FOR UPDATE SKIP LOCKED`, so parallel engines (one per node) never block
//! each other or double-assign; the database constraints have the last word.
//!
//! [`run`] wakes on the database's `switchboard_assignment` notifications
//! (session queued, agent online, capacity freed, skill added) and sweeps
//! periodically as the safety net, also running the SLA timers.

use std::time::Duration;

use sqlx::{PgConnection, PgPool, postgres::PgListener};
use tokio_util::sync::CancellationToken;

use crate::{
    Result, eligibility,
    sessions::{self, Lock},
    types::*,
};

pub const CHANNEL: &str = "switchboard_assignment";

/// Tries to assign one queued session. `None` when it stays queued (manual
/// routing, nobody eligible, waiting for the preferred agent, or another
/// engine holds it).
pub async fn assign_one(pool: &PgPool, id: SessionId) -> Result<Option<AgentId>> {
    let mut tx = pool.begin().await?;
    let given = assign_in(&mut tx, id, &mut Exhausted::default()).await?;
    tx.commit().await?;
    Ok(given.and_then(|s| s.owner_id))
}

/// Assigns a session that is being opened, inside the opening transaction,
/// when an agent can take it now: the open and the assignment then cost one
/// transaction, like the raw transaction the benchmark compares with.
///
/// The rule that keeps the queue fair: a new session is assigned at open
/// only when no other session of its support type is queued. Otherwise it
/// joins the queue and the engine serves the queue in order, so an opening
/// customer never overtakes one who is already waiting for the same type.
/// (The check reads the `sessions_queue` index: O(1).)
///
/// Returns the session as assigned, or `None` when it stays queued.
pub(crate) async fn assign_at_open(
    conn: &mut PgConnection,
    session: &sessions::Session,
) -> Result<Option<sessions::Session>> {
    let others_waiting = sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM sessions
                          WHERE support_type_id = $1 AND status = 'queued' AND id <> $2) AS "waiting!""#,
        session.support_type_id.0,
        session.id.0
    )
    .fetch_one(&mut *conn)
    .await?;
    if others_waiting {
        return Ok(None);
    }
    assign_in(conn, session.id, &mut Exhausted::default()).await
}

/// The (support type, tier) pairs for which the human pick already found
/// nobody during this pass. A later session with the same pair cannot find
/// anybody either (the rule depends only on those and the account, and the
/// pass only adds load; capacity freed by others meanwhile notifies the
/// engine again), so the pass skips its query: a freed slot costs one
/// assignment, not one failed query per queued session.
#[derive(Default)]
pub(crate) struct Exhausted(std::collections::HashSet<(SupportTypeId, Option<i16>)>);

/// Assigns queued session `id` inside the caller's transaction, by its
/// type's strategy. Returns the assigned session, or `None` when it stays
/// queued.
async fn assign_in(
    conn: &mut PgConnection,
    id: SessionId,
    exhausted: &mut Exhausted,
) -> Result<Option<sessions::Session>> {
    let row = sqlx::query!(
        r#"SELECT s.support_type_id, s.account_id, s.previous_owner_id, s.tier,
                  s.queued_at + make_interval(secs => t.preferred_wait_secs) > now() AS "within_preferred_wait!",
                  t.routing AS "routing: Routing", t.bot_agent_id, c.preferred_agent_id
           FROM sessions s
           JOIN support_types t ON t.id = s.support_type_id
           JOIN customers c ON c.id = s.customer_id
           WHERE s.id = $1 AND s.status = 'queued'
           FOR UPDATE OF s SKIP LOCKED"#,
        id.0
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let type_id = SupportTypeId(row.support_type_id);
    let previous = row.previous_owner_id.map(AgentId);

    let mut pick = None;
    if row.routing == Routing::Manual {
        return Ok(None);
    }
    let session = sessions::load(&mut *conn, id, Lock::None).await?;
    if row.routing == Routing::BotFirst
        && let Some(bot) = row.bot_agent_id.map(AgentId)
        && !has_had(&mut *conn, id, bot).await?
    {
        pick = eligibility::lock_if_can_take(&mut *conn, &session, bot).await?;
    }
    if pick.is_none()
        && let Some(preferred) = row.preferred_agent_id.map(AgentId)
        && Some(preferred) != previous
    {
        pick = eligibility::lock_if_can_take(&mut *conn, &session, preferred).await?;
        if pick.is_none() && row.within_preferred_wait {
            return Ok(None);
        }
    }
    let key = (type_id, row.tier);
    if pick.is_none() && !exhausted.0.contains(&key) {
        // Runtime-checked: the SQL embeds the shared rule macro with concat!, which query! cannot take.
        pick = sqlx::query_scalar::<_, AgentId>(sql::NEXT_AGENT)
            .bind(type_id)
            .bind(row.tier)
            .bind(row.account_id)
            .bind(previous)
            .bind(row.routing == Routing::LeastLoaded)
            .fetch_optional(&mut *conn)
            .await?;
        // Skipping the previous owner narrows this session's pick only.
        if pick.is_none() && previous.is_none() {
            exhausted.0.insert(key);
        }
    }
    let Some(agent) = pick else { return Ok(None) };
    let given = sessions::give(&mut *conn, &session, agent, AssignReason::Auto, None).await?;
    tracing::debug!(session = %id, agent = %agent, "assigned");
    Ok(Some(given))
}

async fn has_had(conn: &mut PgConnection, session: SessionId, agent: AgentId) -> Result<bool> {
    Ok(sqlx::query_scalar!(
        r#"SELECT EXISTS (SELECT 1 FROM assignments WHERE session_id = $1 AND agent_id = $2) AS "had!""#,
        session.0,
        agent.0
    )
    .fetch_one(conn)
    .await?)
}

/// The hot queries, shared with the query-plan test.
pub mod sql {
    /// The next human who can take a session ([the rule](crate::eligibility)
    /// with `$1` type, `$2` tier, `$3` account), skipping `$4` (the agent it
    /// was just taken from); `$5` least loaded, else round robin.
    pub const NEXT_AGENT: &str = concat!(
        "SELECT a.id FROM agents a
         WHERE a.role <> 'bot' AND a.id IS DISTINCT FROM $4 AND ",
        crate::can_take_sql!("$1", "$2::smallint", "$3"),
        " ORDER BY CASE WHEN $5 THEN a.active_count::float8 / a.max_concurrent ELSE 0 END,
                  a.last_assigned_at NULLS FIRST, a.id
         LIMIT 1
         FOR UPDATE OF a SKIP LOCKED"
    );
}

/// Assigns every queued session that can be assigned now, highest priority
/// and longest waiting first. Returns how many were assigned.
///
/// It reads up to [`BATCH`] queued sessions that somebody can take now (one
/// statement), then assigns them one short transaction each, so an agent's
/// row is locked only while its own assignment commits: a resolve or a
/// heartbeat of that agent never waits for the rest of the pass. (A first
/// version ran a whole round in one transaction; the outside benchmark
/// showed resolves and heartbeats queueing for seconds behind it.) Once the
/// human pick finds nobody for a (type, tier), the pass skips that pair's
/// other sessions ([`Exhausted`]): capacity freed meanwhile sends its own
/// notification, which starts the next pass.
pub async fn run_pass(pool: &PgPool) -> Result<usize> {
    let mut total = 0;
    loop {
        // Only sessions that someone can take right now, by the rule. The
        // rule is asked once per (type, tier) waiting, not once per queued
        // session: a type that nobody serves with thousands waiting (say,
        // overnight) must not make every pass cost the length of its queue
        // (the outside benchmark measured 1-2 s per pass with 5,000 such).
        // Runtime-checked: the SQL embeds the shared rule macro with concat!, which query! cannot take.
        let candidates = sqlx::query_scalar::<_, SessionId>(concat!(
            "WITH waiting AS MATERIALIZED (
                 SELECT DISTINCT s.support_type_id, s.tier, s.account_id FROM sessions s WHERE s.status = 'queued'),
             servable AS MATERIALIZED (
                 SELECT w.support_type_id, w.tier, w.account_id FROM waiting w
                 JOIN support_types t ON t.id = w.support_type_id
                 WHERE t.routing <> 'manual'
                   AND EXISTS (SELECT 1 FROM agents a WHERE ",
            crate::can_take_sql!("w.support_type_id", "w.tier", "w.account_id"),
            "))
             SELECT s.id FROM sessions s
             JOIN servable v ON v.support_type_id = s.support_type_id AND v.account_id = s.account_id
                            AND v.tier IS NOT DISTINCT FROM s.tier
             WHERE s.status = 'queued'
             ORDER BY ",
            crate::queue_order_sql!(),
            " LIMIT $1"
        ))
        .bind(BATCH)
        .fetch_all(pool)
        .await?;
        let mut assigned = 0;
        let mut exhausted = Exhausted::default();
        for id in &candidates {
            let mut tx = pool.begin().await?;
            if assign_in(&mut tx, *id, &mut exhausted).await?.is_some() {
                tx.commit().await?;
                assigned += 1;
            }
        }
        total += assigned;
        if assigned == 0 || (candidates.len() as i64) < BATCH {
            return Ok(total);
        }
    }
}

/// How many queued sessions one round of [`run_pass`] reads and tries.
pub const BATCH: i64 = 50;

/// Runs the engine until `shutdown`: a pass on every notification and every
/// `sweep` interval (which also runs the SLA timers). Errors are logged and the
/// loop goes on; a lost listener connection is re-established with backoff.
pub async fn run(pool: PgPool, sweep: Duration, shutdown: CancellationToken) {
    run_observed(pool, sweep, shutdown, |_| {}).await
}

/// [`run`], telling `on_pass` how long each assignment pass took (the
/// server's metrics).
pub async fn run_observed(
    pool: PgPool,
    sweep: Duration,
    shutdown: CancellationToken,
    on_pass: impl Fn(Duration) + Send,
) {
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_cancelled() {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(mut l) => match l.listen(CHANNEL).await {
                Ok(()) => l,
                Err(err) => {
                    tracing::warn!(error = %err, "engine cannot LISTEN; retrying");
                    sleep_or_stop(&shutdown, &mut backoff).await;
                    continue;
                }
            },
            Err(err) => {
                tracing::warn!(error = %err, "engine cannot connect; retrying");
                sleep_or_stop(&shutdown, &mut backoff).await;
                continue;
            }
        };
        backoff = Duration::from_millis(100);
        let mut sweep_timer = tokio::time::interval(sweep);
        sweep_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let swept = tokio::select! {
                () = shutdown.cancelled() => return,
                _ = sweep_timer.tick() => true,
                n = listener.recv() => match n {
                    Ok(_) => {
                        // Coalesce a burst of notifications into one pass.
                        while listener.next_buffered().is_some() {}
                        false
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "engine listener lost; reconnecting");
                        break;
                    }
                },
            };
            if swept && let Err(err) = crate::sla::run_due(&pool).await {
                tracing::error!(error = %err, "SLA sweep failed");
            }
            if swept && let Err(err) = crate::agents::expire_stale_presence(&pool).await {
                tracing::error!(error = %err, "presence sweep failed");
            }
            let started = tokio::time::Instant::now();
            let pass = run_pass(&pool).await;
            on_pass(started.elapsed());
            if let Err(err) = pass {
                tracing::error!(error = %err, "assignment pass failed");
            }
        }
    }
}

async fn sleep_or_stop(shutdown: &CancellationToken, backoff: &mut Duration) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(*backoff) => {}
    }
    *backoff = (*backoff * 2).min(Duration::from_secs(10));
}
