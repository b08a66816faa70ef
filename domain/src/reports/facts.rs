//! Per-session facts, their contributions, and the rollups they sum to.
//!
//! [`refresh`] is the one writer of `report_facts` and `report_rollups`: it
//! takes the sessions' stored facts out (deleting them, which locks them),
//! computes the new ones from the sessions' history ([`compute`]), adds
//! `new − old` contributions to the rollups and stores the new facts, in
//! the caller's transaction. Running it twice, or for an event out of order,
//! changes nothing the second time, so the consumer is idempotent by
//! construction, and the `processed` row makes it exactly-once besides.
//! Two refreshes of one session serialise on the fact row; if neither had a
//! row, the second insert violates the primary key and its transaction
//! (rollup sums included) rolls back, to be retried.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Sums, histogram, metric};
use crate::{
    Result,
    types::{AccountId, AgentId, SessionId, SupportTypeId},
};

/// What the reports know of one session. Field names are the columns of
/// `report_facts` (the rows travel as JSON both ways).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    pub session_id: SessionId,
    pub account_id: AccountId,
    pub support_type_id: SupportTypeId,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub first_assigned_at: Option<DateTime<Utc>>,
    pub first_agent_id: Option<AgentId>,
    pub human_start_at: Option<DateTime<Utc>>,
    pub frt_at: Option<DateTime<Utc>>,
    pub frt_agent_id: Option<AgentId>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by_id: Option<AgentId>,
    pub reason_id: Option<Uuid>,
    pub handle_ms: Option<i64>,
    pub reopen_count: i32,
    pub bot_involved: bool,
    pub human_involved: bool,
    pub handoff_reasons: Vec<String>,
    pub csat: Option<i16>,
    pub queue_sla_secs: Option<i32>,
    pub frt_sla_secs: Option<i32>,
    pub tag_ids: Vec<Uuid>,
    pub time_zone: String,
    /// The type's business hours when the fact was computed (their
    /// document, see [`crate::business_hours`]); `None` for types open
    /// around the clock.
    #[serde(default)]
    pub business_hours: Option<serde_json::Value>,
}

/// The moment a contribution belongs to, and whom it is credited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The session's creation, credited to its first assignee.
    Created,
    /// The first human reply, credited to its writer.
    FirstResponse,
    /// The last resolution, credited to the resolver.
    Resolved,
}

impl Anchor {
    /// The `report_facts` columns of the moment and the agent: what a
    /// drill-down filters on.
    pub fn columns(self) -> (&'static str, &'static str) {
        match self {
            Self::Created => ("f.created_at", "f.first_agent_id"),
            Self::FirstResponse => ("f.frt_at", "f.frt_agent_id"),
            Self::Resolved => ("f.resolved_at", "f.resolved_by_id"),
        }
    }
}

impl Fact {
    /// The same as [`Anchor::columns`], in memory.
    pub fn anchor(&self, anchor: Anchor) -> Option<(DateTime<Utc>, Option<AgentId>)> {
        match anchor {
            Anchor::Created => Some((self.created_at, self.first_agent_id)),
            Anchor::FirstResponse => self.frt_at.map(|at| (at, self.frt_agent_id)),
            Anchor::Resolved => (self.status == "resolved")
                .then_some(self.resolved_at)
                .flatten()
                .map(|at| (at, self.resolved_by_id)),
        }
    }
}

/// One contribution of a fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    pub at: DateTime<Utc>,
    pub support_type_id: SupportTypeId,
    pub agent_id: Option<AgentId>,
    pub metric: String,
    pub bucket: i16,
    pub n: i64,
    pub total: i64,
}

fn ms_between(a: DateTime<Utc>, b: DateTime<Utc>) -> i64 {
    (b - a).num_milliseconds().max(0)
}

/// Everything a fact counts, each at its [`Anchor`] (see the module docs
/// of [`crate::reports`] for the definitions).
pub fn contributions(f: &Fact) -> Vec<Contribution> {
    let mut out = Vec::new();
    let mut push = |anchor: Anchor, metric: &str, value: Option<i64>| {
        if let Some((at, agent_id)) = f.anchor(anchor) {
            let (bucket, total) = match value {
                Some(ms) => (histogram::bucket_of(ms), ms),
                None => (metric::COUNT, 0),
            };
            out.push(Contribution {
                at,
                support_type_id: f.support_type_id,
                agent_id,
                metric: metric.to_owned(),
                bucket,
                n: 1,
                total,
            });
        }
    };
    // Durations are also counted in business hours, for types that have them.
    let hours = f.business_hours.as_ref().and_then(|v| crate::business_hours::BusinessHours::parse(v).ok());
    let open_ms = |a: DateTime<Utc>, b: DateTime<Utc>| hours.as_ref().map(|h| h.open_ms_between(a, b));
    push(Anchor::Created, metric::OPENED, None);
    if f.status == "abandoned" {
        push(Anchor::Created, metric::ABANDONED, None);
    }
    if let Some(assigned) = f.first_assigned_at {
        let wait = ms_between(f.created_at, assigned);
        push(Anchor::Created, metric::WAIT, Some(wait));
        if let Some(ms) = open_ms(f.created_at, assigned) {
            push(Anchor::Created, metric::WAIT_BH, Some(ms));
        }
        if let Some(sla) = f.queue_sla_secs {
            let m =
                if wait <= i64::from(sla) * 1000 { metric::QUEUE_SLA_MET } else { metric::QUEUE_SLA_MISSED };
            push(Anchor::Created, m, None);
        }
    }
    if let (Some(start), Some(reply)) = (f.human_start_at, f.frt_at) {
        let frt = ms_between(start, reply);
        push(Anchor::FirstResponse, metric::FRT, Some(frt));
        if let Some(ms) = open_ms(start, reply) {
            push(Anchor::FirstResponse, metric::FRT_BH, Some(ms));
        }
        if let Some(sla) = f.frt_sla_secs {
            let m = if frt <= i64::from(sla) * 1000 { metric::FRT_SLA_MET } else { metric::FRT_SLA_MISSED };
            push(Anchor::FirstResponse, m, None);
        }
    }
    if let Some(resolved) = f.resolved_at.filter(|_| f.status == "resolved") {
        push(Anchor::Resolved, metric::RESOLVED, None);
        push(Anchor::Resolved, metric::RESOLUTION, Some(ms_between(f.created_at, resolved)));
        if let Some(ms) = open_ms(f.created_at, resolved) {
            push(Anchor::Resolved, metric::RESOLUTION_BH, Some(ms));
        }
        if let Some(handle) = f.handle_ms {
            push(Anchor::Resolved, metric::HANDLE, Some(handle.max(0)));
        }
        for _ in 0..f.reopen_count {
            push(Anchor::Resolved, metric::REOPENED, None);
        }
        if let Some(reason) = f.reason_id {
            push(Anchor::Resolved, &format!("{}{reason}", metric::REASON_PREFIX), None);
        }
        if f.bot_involved {
            push(Anchor::Resolved, metric::BOT_INVOLVED, None);
            if !f.human_involved {
                push(Anchor::Resolved, metric::BOT_ONLY, None);
            }
        }
        if !f.handoff_reasons.is_empty() {
            push(Anchor::Resolved, metric::HANDED_OFF, None);
        }
        for reason in &f.handoff_reasons {
            push(Anchor::Resolved, &format!("{}{reason}", metric::HANDOFF_PREFIX), None);
        }
        if let Some(score) = f.csat {
            // The bucket is the score itself; total sums the scores.
            push(Anchor::Resolved, metric::CSAT, None);
            if let Some(last) = out.last_mut() {
                last.bucket = score;
                last.total = i64::from(score);
            }
        }
    }
    out
}

/// A rollup row's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    account_id: Uuid,
    support_type_id: Uuid,
    agent_id: Uuid,
    /// `d` for a day, `m` for the calendar month that starts on `day`.
    grain: i8,
    day: NaiveDate,
    /// The metric as the row names it ([`metric::split`]).
    metric: String,
}

/// The grain of a day's rows and of a month's.
pub const DAY: i8 = b'd' as i8;
pub const MONTH: i8 = b'm' as i8;

/// The first day of `day`'s month.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// Adds `sign` × the fact's contributions to `into`, at the four levels,
/// per day and per month.
fn tally(f: &Fact, sign: i64, into: &mut HashMap<Key, Sums>) {
    let zone = f.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
    for c in contributions(f) {
        let day = c.at.with_timezone(&zone).date_naive();
        let agent = c.agent_id.map(|a| a.0);
        let (name, part) = metric::split(&c.metric);
        let levels = [
            (c.support_type_id.0, agent),
            (c.support_type_id.0, Some(Uuid::nil())),
            (Uuid::nil(), agent),
            (Uuid::nil(), Some(Uuid::nil())),
        ];
        for (support_type_id, agent_id) in levels {
            let Some(agent_id) = agent_id else { continue };
            for (grain, day) in [(DAY, day), (MONTH, month_of(day))] {
                let key = Key {
                    account_id: f.account_id.0,
                    support_type_id,
                    agent_id,
                    grain,
                    day,
                    metric: name.to_owned(),
                };
                into.entry(key).or_default().add(c.bucket, part, sign * c.n, sign * c.total);
            }
        }
    }
}

/// The facts of `sessions` as their history says now.
pub async fn compute(conn: &mut PgConnection, sessions: &[SessionId]) -> Result<Vec<Fact>> {
    let ids: Vec<Uuid> = sessions.iter().map(|s| s.0).collect();
    let rows = sqlx::query_scalar!(
        r#"SELECT to_jsonb(x) AS "fact!" FROM (
             SELECT s.id AS session_id, s.account_id, s.support_type_id, s.status, s.created_at,
                    fa.started_at AS first_assigned_at, fa.agent_id AS first_agent_id,
                    (SELECT min(x.started_at) FROM assignments x JOIN agents g ON g.id = x.agent_id
                      WHERE x.session_id = s.id AND g.role <> 'bot') AS human_start_at,
                    fr.created_at AS frt_at, fr.sender_agent_id AS frt_agent_id,
                    s.resolved_at, s.resolved_by_id, s.resolution_reason_id AS reason_id,
                    (SELECT (sum(extract(epoch FROM x.ended_at - x.started_at)) * 1000)::bigint
                       FROM assignments x
                      WHERE x.session_id = s.id AND x.agent_id = s.resolved_by_id AND x.ended_at IS NOT NULL)
                      AS handle_ms,
                    s.reopen_count,
                    EXISTS (SELECT 1 FROM assignments x JOIN agents g ON g.id = x.agent_id
                             WHERE x.session_id = s.id AND g.role = 'bot') AS bot_involved,
                    EXISTS (SELECT 1 FROM assignments x JOIN agents g ON g.id = x.agent_id
                             WHERE x.session_id = s.id AND g.role <> 'bot') AS human_involved,
                    ARRAY(SELECT h.reason FROM handoffs h WHERE h.session_id = s.id ORDER BY h.id) AS handoff_reasons,
                    c.score AS csat,
                    st.queue_sla_secs, st.first_response_sla_secs AS frt_sla_secs,
                    ARRAY(SELECT t.tag_id FROM session_tags t WHERE t.session_id = s.id ORDER BY t.tag_id) AS tag_ids,
                    a.time_zone, st.business_hours
               FROM sessions s
               JOIN accounts a ON a.id = s.account_id
               JOIN support_types st ON st.id = s.support_type_id
               LEFT JOIN LATERAL (SELECT x.started_at, x.agent_id FROM assignments x
                                   WHERE x.session_id = s.id ORDER BY x.id LIMIT 1) fa ON true
               LEFT JOIN LATERAL (SELECT m.created_at, m.sender_agent_id FROM messages m
                                   WHERE m.session_id = s.id AND m.sender_kind = 'agent'
                                   ORDER BY m.id LIMIT 1) fr ON true
               LEFT JOIN csat c ON c.session_id = s.id
              WHERE s.id = ANY($1)) x"#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|v| serde_json::from_value(v).map_err(|e| crate::Error::internal("a report fact", e)))
        .collect()
}

/// Recomputes the sessions' facts and moves the difference into the
/// rollups, in `conn`'s transaction. Returns how many facts changed.
pub async fn refresh(conn: &mut PgConnection, sessions: &[SessionId]) -> Result<u64> {
    if sessions.is_empty() {
        return Ok(0);
    }
    let ids: Vec<Uuid> = sessions.iter().map(|s| s.0).collect();
    let old: Vec<Fact> = sqlx::query_scalar!(
        r#"DELETE FROM report_facts f WHERE f.session_id = ANY($1) RETURNING to_jsonb(f) AS "fact!""#,
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(serde_json::from_value)
    .collect::<std::result::Result<_, _>>()
    .map_err(|e| crate::Error::internal("a stored report fact", e))?;
    let new = compute(conn, sessions).await?;
    let mut deltas = HashMap::new();
    for f in &old {
        tally(f, -1, &mut deltas);
    }
    for f in &new {
        tally(f, 1, &mut deltas);
    }
    deltas.retain(|_, d| !d.is_zero());
    apply(conn, deltas).await?;
    let changed = new.iter().filter(|f| !old.contains(f)).count() as u64;
    sqlx::query!(
        "INSERT INTO report_facts SELECT * FROM jsonb_populate_recordset(NULL::report_facts, $1)",
        serde_json::to_value(&new).map_err(|e| crate::Error::internal("report facts as JSON", e))?
    )
    .execute(&mut *conn)
    .await?;
    Ok(changed)
}

async fn apply(conn: &mut PgConnection, deltas: HashMap<Key, Sums>) -> Result<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    let len = deltas.len();
    let (mut acc, mut typ, mut agent, mut day) =
        (Vec::with_capacity(len), Vec::with_capacity(len), Vec::with_capacity(len), Vec::with_capacity(len));
    let (mut grain, mut metric, mut n, mut total) =
        (Vec::with_capacity(len), Vec::with_capacity(len), Vec::with_capacity(len), Vec::with_capacity(len));
    let (mut lo, mut counts, mut parts) =
        (Vec::with_capacity(len), Vec::with_capacity(len), Vec::with_capacity(len));
    // Sorted, so that concurrent writers lock rollup rows in one order.
    let mut rows: Vec<_> = deltas.into_iter().collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, d) in rows {
        let (first, c) = d.trimmed_counts();
        lo.push(first);
        // Array and object literals, cast in SQL: unnest takes one
        // dimension, and each row's histogram has a length of its own.
        counts.push(format!("{{{}}}", c.iter().map(i64::to_string).collect::<Vec<_>>().join(",")));
        let nonzero: BTreeMap<&String, &i64> = d.parts.iter().filter(|(_, c)| **c != 0).collect();
        parts.push(
            serde_json::to_string(&nonzero).map_err(|e| crate::Error::internal("rollup parts as JSON", e))?,
        );
        acc.push(k.account_id);
        typ.push(k.support_type_id);
        agent.push(k.agent_id);
        grain.push(k.grain);
        day.push(k.day);
        metric.push(k.metric);
        n.push(d.n);
        total.push(d.total);
    }
    // The row functions keep each row canonical (migration 0022), so a
    // live refresh and a rebuild reach equal rows.
    sqlx::query!(
        r#"INSERT INTO report_rollups AS r
                (account_id, support_type_id, agent_id, grain, day, metric, n, total, lo, counts, parts)
         SELECT u.a, u.t, u.g, u.gr, u.d, u.m, u.n, u.total, u.lo, u.counts::bigint[], u.parts::jsonb
           FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::"char"[], $5::date[], $6::text[], $7::int8[],
                       $8::int8[], $9::int2[], $10::text[], $11::text[])
                AS u(a, t, g, gr, d, m, n, total, lo, counts, parts)
         ON CONFLICT (account_id, support_type_id, agent_id, grain, day, metric)
         DO UPDATE SET n = r.n + EXCLUDED.n, total = r.total + EXCLUDED.total,
                       (lo, counts) = (SELECT h.lo, h.counts
                                         FROM report_histogram_add(r.lo, r.counts, EXCLUDED.lo, EXCLUDED.counts) h),
                       parts = CASE WHEN EXCLUDED.parts = '{}' THEN r.parts
                                    ELSE report_parts_add(r.parts, EXCLUDED.parts) END"#,
        &acc,
        &typ,
        &agent,
        &grain,
        &day,
        &metric,
        &n,
        &total,
        &lo,
        &counts,
        &parts
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rebuilds the facts and rollups from scratch (of one account, or all),
/// in batches of sessions in creation order, calling `progress(done, total)`
/// after each. Live refreshes
/// may run meanwhile: each batch goes through [`refresh`].
pub async fn rebuild(
    pool: &PgPool,
    account: Option<AccountId>,
    mut progress: impl FnMut(u64, u64),
) -> Result<u64> {
    const BATCH: usize = 2000;
    let account = account.map(|a| a.0);
    let mut tx = pool.begin().await?;
    // Waits for live refreshes in flight, and holds the next ones off
    // until both tables are emptied together.
    sqlx::query!("LOCK TABLE report_facts, report_rollups IN EXCLUSIVE MODE").execute(&mut *tx).await?;
    sqlx::query!("DELETE FROM report_rollups WHERE $1::uuid IS NULL OR account_id = $1", account)
        .execute(&mut *tx)
        .await?;
    sqlx::query!("DELETE FROM report_facts WHERE $1::uuid IS NULL OR account_id = $1", account)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let total = sqlx::query_scalar!(
        r#"SELECT count(*) AS "n!" FROM sessions WHERE $1::uuid IS NULL OR account_id = $1"#,
        account
    )
    .fetch_one(pool)
    .await? as u64;
    let accounts: Vec<Uuid> = match account {
        Some(a) => vec![a],
        None => sqlx::query_scalar!("SELECT id FROM accounts ORDER BY id").fetch_all(pool).await?,
    };
    let mut done = 0u64;
    progress(0, total);
    for account in accounts {
        // In creation order, so that a batch's sessions share days and
        // rollup rows: its deltas fold into far fewer upserts.
        let ids: Vec<SessionId> = sqlx::query_scalar!(
            r#"SELECT id AS "id: SessionId" FROM sessions WHERE account_id = $1 ORDER BY created_at, id"#,
            account
        )
        .fetch_all(pool)
        .await?;
        for batch in ids.chunks(BATCH) {
            let mut attempt = 0;
            loop {
                let mut tx = pool.begin().await?;
                match refresh(&mut tx, batch).await {
                    Ok(_) => {
                        tx.commit().await?;
                        break;
                    }
                    // A live refresh of one of these sessions won the insert.
                    Err(e) if attempt < 5 => {
                        attempt += 1;
                        tracing::debug!(error = %e, attempt, "rollup rebuild batch retried");
                    }
                    Err(e) => return Err(e),
                }
            }
            done += batch.len() as u64;
            progress(done.min(total), total);
        }
    }
    // The tables were emptied and refilled faster than autovacuum notices:
    // with the old statistics the planner expects one row where a report
    // reads hundreds of thousands (measured over 1M sessions: the per-agent
    // read took 1,044 ms before, 405 ms after), and every upsert left the
    // row's old version behind (7.1M dead beside 0.9M live rows), which a
    // report's scan visits (the per-agent read: 208 ms before the vacuum,
    // 23 ms after). A fixed maintenance statement, no data in it; VACUUM
    // cannot run in a transaction, hence `raw_sql` on the pool.
    sqlx::raw_sql("VACUUM (ANALYZE) report_facts, report_rollups").execute(pool).await?;
    Ok(done)
}
