//! Reading reports: from rollups when they can answer, else from facts,
//! both reduced to the same [`Tally`]; the drill-down behind a figure; the
//! per-session export.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::{
    AgentFigures, Count, CountedSession, DrillDown, Grouping, Period, ReasonName, Report, ReportFilter,
    ReportSource, Tally, TypeFigures,
    facts::{Anchor, Fact, contributions},
    parse_zone,
};
use crate::{
    Result,
    actor::Actor,
    scope::Scope,
    sessions::{Page, page_limit, paginate},
    types::{AccountId, AgentId, ReasonId, SessionId, SupportTypeId},
};

/// Local midnight of `day` in `tz`, as UTC (the first instant of the day
/// when a DST gap swallows midnight).
pub(super) fn midnight(tz: chrono_tz::Tz, day: NaiveDate) -> DateTime<Utc> {
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.with_timezone(&Utc),
        None => tz
            .from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
            .map_or_else(|| Utc.from_utc_datetime(&naive), |t| t.with_timezone(&Utc)),
    }
}

/// One period of the series: its instants and the days it covers.
struct Slot {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    first_day: NaiveDate,
    last_day: NaiveDate,
    label: String,
}

fn slots(filter: &ReportFilter, tz: chrono_tz::Tz) -> Vec<Slot> {
    let mut out = Vec::new();
    let mut day = filter.from;
    while day <= filter.to {
        match filter.group {
            Grouping::Day => {
                out.push(Slot {
                    start: midnight(tz, day),
                    end: midnight(tz, day + Duration::days(1)),
                    first_day: day,
                    last_day: day,
                    label: day.format("%Y-%m-%d").to_string(),
                });
                day += Duration::days(1);
            }
            Grouping::Week => {
                let monday = day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
                let last = (monday + Duration::days(6)).min(filter.to);
                out.push(Slot {
                    start: midnight(tz, day),
                    end: midnight(tz, last + Duration::days(1)),
                    first_day: day,
                    last_day: last,
                    label: format!("Week of {}", monday.format("%Y-%m-%d")),
                });
                day = last + Duration::days(1);
            }
            Grouping::Hour => {
                let (start, end) = (midnight(tz, day), midnight(tz, day + Duration::days(1)));
                let mut t = start;
                while t < end {
                    let next = t + Duration::hours(1);
                    out.push(Slot {
                        start: t,
                        end: next,
                        first_day: day,
                        last_day: day,
                        label: t.with_timezone(&tz).format("%m-%d %H:00").to_string(),
                    });
                    t = next;
                }
                day += Duration::days(1);
            }
        }
    }
    out
}

/// The sums a report is read from.
#[derive(Default)]
struct Tallies {
    series: Vec<Tally>,
    previous: Tally,
    agents: BTreeMap<Uuid, Tally>,
    types: BTreeMap<Uuid, Tally>,
}

/// A report over `filter`, for a reader who counts whole accounts (the
/// [scope rule](Scope::whole_accounts)).
/// Who may read a report and in which zone its days are counted: the
/// filter checked, its account the one the caller's scope allows (whole
/// accounts only), and the zone (the filter's, else the account's, else UTC).
pub(super) struct Reading {
    pub account: Option<AccountId>,
    pub account_zone: Option<String>,
    pub zone_name: String,
    pub tz: chrono_tz::Tz,
}

pub(super) async fn reading(pool: &PgPool, actor: &Actor, filter: &mut ReportFilter) -> Result<Reading> {
    filter.validate()?;
    let scope = Scope::load(pool, actor).await?;
    let account = scope.whole_accounts(filter.account_id)?;
    // The report says which account it covers.
    filter.account_id = account;
    let account_zone = match account {
        Some(a) => Some(
            sqlx::query_scalar!("SELECT time_zone FROM accounts WHERE id = $1", a.0)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| crate::Error::not_found("account"))?,
        ),
        None => None,
    };
    let zone_name = filter.time_zone.clone().or_else(|| account_zone.clone()).unwrap_or_else(|| "UTC".into());
    let tz = parse_zone(&zone_name)?;
    Ok(Reading { account, account_zone, zone_name, tz })
}

pub async fn report(pool: &PgPool, actor: &Actor, mut filter: ReportFilter) -> Result<Report> {
    let Reading { account, account_zone, zone_name, tz } = reading(pool, actor, &mut filter).await?;
    // Rollups count days in the account's zone; anything finer, another
    // zone, or a tag (not a rollup dimension) is read from the facts.
    let rollups = filter.tag_id.is_none()
        && filter.group != Grouping::Hour
        && (filter.time_zone.is_none() || filter.time_zone == account_zone);
    let slots = slots(&filter, tz);
    let len = filter.to - filter.from + Duration::days(1);
    let prev_from = filter.from - len;
    let tallies = if rollups {
        from_rollups(pool, account, &filter, &slots, prev_from).await?
    } else {
        from_facts(pool, account, &filter, tz, &slots, midnight(tz, prev_from)).await?
    };

    let mut totals = Tally::default();
    for t in &tallies.series {
        totals.merge(t);
    }
    let series = slots
        .iter()
        .zip(&tallies.series)
        .map(|(s, t)| Period { start: s.start, end: s.end, label: s.label.clone(), figures: t.figures() })
        .collect();
    let totals = totals.figures();

    let agent_ids: Vec<Uuid> = tallies.agents.keys().copied().collect();
    let names = sqlx::query!(
        r#"SELECT id, display_name, role = 'bot' AS "is_bot!" FROM agents WHERE id = ANY($1)"#,
        &agent_ids
    )
    .fetch_all(pool)
    .await?;
    let names: BTreeMap<Uuid, (String, bool)> =
        names.into_iter().map(|r| (r.id, (r.display_name, r.is_bot))).collect();
    let mut agents: Vec<AgentFigures> = tallies
        .agents
        .iter()
        .map(|(id, t)| {
            let (name, is_bot) = names.get(id).cloned().unwrap_or_else(|| ("(removed)".into(), false));
            AgentFigures { agent_id: AgentId(*id), name, is_bot, figures: t.figures() }
        })
        .collect();
    agents.sort_by(|a, b| b.figures.resolved.cmp(&a.figures.resolved).then_with(|| a.name.cmp(&b.name)));

    let type_ids: Vec<Uuid> = tallies.types.keys().copied().collect();
    let type_names: BTreeMap<Uuid, String> =
        sqlx::query!("SELECT id, name FROM support_types WHERE id = ANY($1)", &type_ids)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.id, r.name))
            .collect();
    let mut support_types: Vec<TypeFigures> = tallies
        .types
        .iter()
        .map(|(id, t)| TypeFigures {
            support_type_id: SupportTypeId(*id),
            name: type_names.get(id).cloned().unwrap_or_else(|| "(removed)".into()),
            figures: t.figures(),
        })
        .collect();
    support_types.sort_by(|a, b| b.figures.opened.cmp(&a.figures.opened).then_with(|| a.name.cmp(&b.name)));

    let reason_ids: Vec<Uuid> = support_types
        .iter()
        .flat_map(|t| t.figures.reasons.keys().map(|r| r.0))
        .chain(totals.reasons.keys().map(|r| r.0))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let reasons = sqlx::query_as!(
        ReasonName,
        r#"SELECT id AS "id: ReasonId", support_type_id AS "support_type_id: SupportTypeId", label,
                  archived_at IS NOT NULL AS "archived!"
             FROM resolution_reasons WHERE id = ANY($1) ORDER BY support_type_id, position, label"#,
        &reason_ids
    )
    .fetch_all(pool)
    .await?;

    Ok(Report {
        filter,
        time_zone: zone_name,
        source: if rollups { ReportSource::Rollups } else { ReportSource::Facts },
        totals,
        previous: tallies.previous.figures(),
        series,
        agents,
        support_types,
        reasons,
    })
}

#[derive(sqlx::FromRow)]
struct RollupRow {
    day: NaiveDate,
    key: Uuid,
    metric: String,
    n: i64,
    total: i64,
    lo: i16,
    counts: Vec<i64>,
    parts: sqlx::types::Json<BTreeMap<String, i64>>,
}

impl RollupRow {
    /// Adds the row's sums to `into`.
    fn add_to(&self, into: &mut Tally) {
        into.sums(&self.metric).add_stored(self.n, self.total, self.lo, &self.counts, &self.parts);
    }
}

/// The rollup rows of one level (one row per day, key and metric, see
/// migration 0022); `key` is the agent or type the level groups by (nil
/// for the account).
async fn rollup_rows(
    pool: &PgPool,
    account: Option<AccountId>,
    level: Level,
    filter: &ReportFilter,
    from: NaiveDate,
) -> Result<Vec<RollupRow>> {
    let nil = Uuid::nil();
    let type_id = filter.support_type_id.map(|t| t.0);
    let agent_id = filter.agent_id.map(|a| a.0);
    // Runtime-built: each level pins the two key columns differently, and
    // only as equalities, so that the primary key serves every level.
    let key = match level {
        Level::Account => "'00000000-0000-0000-0000-000000000000'::uuid",
        Level::Agents => "r.agent_id",
        Level::Types => "r.support_type_id",
    };
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "SELECT r.day, {key} AS key, r.metric, r.n, r.total, r.lo, r.counts, r.parts
           FROM report_rollups r WHERE "
    ));
    // The series reads days; the per-agent and per-type sums read the full
    // calendar months of the range and the days at either end.
    match (level, full_months(from, filter.to)) {
        (Level::Agents | Level::Types, Some((first, last))) => {
            let after_last = last.checked_add_months(chrono::Months::new(1)).unwrap_or(last);
            // Three plain ranges, each with its grain, so that every arm of
            // the OR is an index range of its own (a day range nested in an
            // OR is no index bound: the scan matched every day of every agent).
            q.push("((r.grain = 'd' AND r.day BETWEEN ")
                .push_bind(from)
                .push(" AND ")
                .push_bind(first - Duration::days(1))
                .push(") OR (r.grain = 'd' AND r.day BETWEEN ")
                .push_bind(after_last)
                .push(" AND ")
                .push_bind(filter.to)
                .push(") OR (r.grain = 'm' AND r.day BETWEEN ")
                .push_bind(first)
                .push(" AND ")
                .push_bind(last)
                .push("))");
        }
        _ => {
            q.push("r.grain = 'd' AND r.day BETWEEN ").push_bind(from).push(" AND ").push_bind(filter.to);
        }
    }
    if let Some(a) = account {
        q.push(" AND r.account_id = ").push_bind(a.0);
    }
    // "Every type" and "every agent" name the account's ones, so that the
    // primary key is probed per type or agent rather than scanned.
    match (level, type_id) {
        (Level::Types, None) => q
            .push(" AND r.support_type_id = ANY(ARRAY(SELECT id FROM support_types WHERE ")
            .push_bind(account.map(|a| a.0))
            .push("::uuid IS NULL OR account_id = ")
            .push_bind(account.map(|a| a.0))
            .push("))"),
        (_, t) => q.push(" AND r.support_type_id = ").push_bind(t.unwrap_or(nil)),
    };
    match (level, agent_id) {
        (Level::Agents, None) => q
            .push(" AND r.agent_id = ANY(ARRAY(SELECT id FROM agents WHERE ")
            .push_bind(account.map(|a| a.0))
            .push("::uuid IS NULL OR account_id = ")
            .push_bind(account.map(|a| a.0))
            .push("))"),
        (_, a) => q.push(" AND r.agent_id = ").push_bind(a.unwrap_or(nil)),
    };
    Ok(q.build_query_as::<RollupRow>().fetch_all(pool).await?)
}

/// The first and last calendar months that lie wholly in `[from, to]`.
fn full_months(from: NaiveDate, to: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let first = if from.day() == 1 {
        from
    } else {
        super::facts::month_of(from).checked_add_months(chrono::Months::new(1))?
    };
    let after_to = to + Duration::days(1);
    let last = super::facts::month_of(after_to).checked_sub_months(chrono::Months::new(1))?;
    (first <= last).then_some((first, last))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Account,
    Agents,
    Types,
}

async fn from_rollups(
    pool: &PgPool,
    account: Option<AccountId>,
    filter: &ReportFilter,
    slots: &[Slot],
    prev_from: NaiveDate,
) -> Result<Tallies> {
    let mut t = Tallies { series: vec![Tally::default(); slots.len()], ..Tallies::default() };
    // Three independent reads, each on a connection of its own.
    let (days, agents, types) = tokio::try_join!(
        rollup_rows(pool, account, Level::Account, filter, prev_from),
        rollup_rows(pool, account, Level::Agents, filter, filter.from),
        rollup_rows(pool, account, Level::Types, filter, filter.from),
    )?;
    for row in days {
        if row.day < filter.from {
            row.add_to(&mut t.previous);
        } else if let Some(i) = slots.iter().position(|s| s.first_day <= row.day && row.day <= s.last_day) {
            row.add_to(&mut t.series[i]);
        }
    }
    for (rows, into) in [(agents, &mut t.agents), (types, &mut t.types)] {
        for row in rows {
            row.add_to(into.entry(row.key).or_default());
        }
    }
    Ok(t)
}

async fn from_facts(
    pool: &PgPool,
    account: Option<AccountId>,
    filter: &ReportFilter,
    tz: chrono_tz::Tz,
    slots: &[Slot],
    lo: DateTime<Utc>,
) -> Result<Tallies> {
    let start = midnight(tz, filter.from);
    let hi = midnight(tz, filter.to + Duration::days(1));
    let mut tx = pool.begin().await?;
    // A plan for these values: a generic plan (PostgreSQL's choice after
    // five runs of a prepared statement) cannot use the index behind
    // "the account, if any" and scans every account's facts.
    // Runtime-checked: a utility statement with no parameters and no
    // columns, like the search's.
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan").execute(&mut *tx).await?;
    // Columns, not `to_jsonb(f)`: turning 11,000 rows into JSON cost the
    // database 100 ms more than reading them (an hour-by-hour day over 1M
    // sessions). A tag is tested on the rows the time ranges found: with
    // `@>` the planner read the tag's whole GIN posting list (every tagged
    // session of 90 days, 508 ms) instead of one week's rows (77 ms).
    let facts: Vec<Fact> = sqlx::query_as!(
        Fact,
        r#"SELECT f.session_id AS "session_id: SessionId", f.account_id AS "account_id: AccountId",
                  f.support_type_id AS "support_type_id: SupportTypeId", f.status, f.created_at,
                  f.first_assigned_at, f.first_agent_id AS "first_agent_id: AgentId", f.human_start_at,
                  f.frt_at, f.frt_agent_id AS "frt_agent_id: AgentId", f.resolved_at,
                  f.resolved_by_id AS "resolved_by_id: AgentId", f.reason_id, f.handle_ms, f.reopen_count,
                  f.bot_involved, f.human_involved, f.handoff_reasons, f.csat, f.queue_sla_secs, f.frt_sla_secs,
                  f.tag_ids, f.time_zone, f.business_hours
             FROM report_facts f
            WHERE ($1::uuid IS NULL OR f.account_id = $1)
              AND ($2::uuid IS NULL OR $2 = ANY(f.tag_ids))
              AND ((f.created_at >= $3 AND f.created_at < $4)
                   OR (f.resolved_at >= $3 AND f.resolved_at < $4)
                   OR (f.frt_at >= $3 AND f.frt_at < $4))"#,
        account.map(|a| a.0),
        filter.tag_id.map(|t| t.0),
        lo,
        hi
    )
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let mut t = Tallies { series: vec![Tally::default(); slots.len()], ..Tallies::default() };
    let type_ok = |c: SupportTypeId| filter.support_type_id.is_none_or(|t| t == c);
    let agent_ok = |a: Option<AgentId>| filter.agent_id.is_none_or(|want| a == Some(want));
    for f in &facts {
        for c in contributions(f) {
            if c.at < lo || c.at >= hi || !type_ok(c.support_type_id) {
                continue;
            }
            if c.at < start {
                if agent_ok(c.agent_id) {
                    t.previous.add(&c.metric, c.bucket, c.n, c.total);
                }
                continue;
            }
            if agent_ok(c.agent_id) {
                let i = slots.partition_point(|s| s.end <= c.at);
                if let Some(tally) = t.series.get_mut(i) {
                    tally.add(&c.metric, c.bucket, c.n, c.total);
                }
                t.types.entry(c.support_type_id.0).or_default().add(&c.metric, c.bucket, c.n, c.total);
            }
            if let Some(a) = c.agent_id.filter(|a| agent_ok(Some(*a))) {
                t.agents.entry(a.0).or_default().add(&c.metric, c.bucket, c.n, c.total);
            }
        }
    }
    Ok(t)
}

impl Count {
    /// The anchor of what this count counts ([`contributions`] uses the
    /// same anchors).
    pub fn anchor(self) -> Anchor {
        match self {
            Self::Opened | Self::Abandoned => Anchor::Created,
            Self::FirstResponse => Anchor::FirstResponse,
            Self::Resolved | Self::Reason | Self::Handoff | Self::BotOnly => Anchor::Resolved,
        }
    }
}

/// The sessions a figure counts, in the order it counts them, by cursor.
pub async fn sessions_behind(
    pool: &PgPool,
    actor: &Actor,
    d: &DrillDown,
    cursor: Option<&str>,
    limit: Option<i64>,
) -> Result<Page<CountedSession>> {
    let limit = page_limit(limit)?;
    if d.end <= d.start {
        return Err(crate::Error::invalid("end", "the end is not after the start"));
    }
    if d.count == Count::Reason && d.reason_id.is_none() {
        return Err(crate::Error::invalid("reason_id", "count=reason needs a reason"));
    }
    let after = cursor
        .map(|c| {
            c.split_once('_')
                .and_then(|(t, id)| {
                    Some((
                        DateTime::parse_from_rfc3339(t).ok()?.with_timezone(&Utc),
                        id.parse::<Uuid>().ok()?,
                    ))
                })
                .ok_or_else(|| crate::Error::invalid("cursor", "not a cursor returned by this API"))
        })
        .transpose()?;
    let scope = Scope::load(pool, actor).await?;
    let account = scope.whole_accounts(d.account_id)?;
    let (at, agent) = d.count.anchor().columns();
    // Runtime-built: the anchor decides the columns, and only the filters
    // present are added.
    let mut q = QueryBuilder::<Postgres>::new(format!(
        "SELECT f.session_id AS id, f.account_id, {at} AS at, f.created_at, f.status, st.name AS support_type,
                c.name AS customer_name, g.display_name AS agent_name
           FROM report_facts f
           JOIN sessions s ON s.id = f.session_id
           JOIN support_types st ON st.id = f.support_type_id
           JOIN customers c ON c.id = s.customer_id
           LEFT JOIN agents g ON g.id = {agent}
          WHERE {at} >= "
    ));
    q.push_bind(d.start).push(format!(" AND {at} < ")).push_bind(d.end);
    scope.push_sql(&mut q);
    if let Some(a) = account {
        q.push(" AND f.account_id = ").push_bind(a.0);
    }
    if let Some(t) = d.support_type_id {
        q.push(" AND f.support_type_id = ").push_bind(t.0);
    }
    if let Some(a) = d.agent_id {
        q.push(format!(" AND {agent} = ")).push_bind(a.0);
    }
    if let Some(t) = d.tag_id {
        q.push(" AND ").push_bind(t.0).push(" = ANY(f.tag_ids)");
    }
    match d.count {
        Count::Opened => {}
        Count::Abandoned => {
            q.push(" AND f.status = 'abandoned'");
        }
        Count::FirstResponse => {
            q.push(" AND f.human_start_at IS NOT NULL");
        }
        Count::Resolved => {
            q.push(" AND f.status = 'resolved'");
        }
        Count::Reason => {
            q.push(" AND f.status = 'resolved' AND f.reason_id = ").push_bind(d.reason_id.map(|r| r.0));
        }
        Count::Handoff => {
            q.push(" AND f.status = 'resolved' AND cardinality(f.handoff_reasons) > 0");
        }
        Count::BotOnly => {
            q.push(" AND f.status = 'resolved' AND f.bot_involved AND NOT f.human_involved");
        }
    }
    if let Some((t, id)) = after {
        q.push(format!(" AND ({at}, f.session_id) > (")).push_bind(t).push(", ").push_bind(id).push(")");
    }
    q.push(format!(" ORDER BY {at}, f.session_id LIMIT ")).push_bind(limit + 1);
    let rows = q.build_query_as::<CountedSession>().fetch_all(pool).await?;
    Ok(paginate(rows, limit, |r| format!("{}_{}", r.at.to_rfc3339(), r.id)))
}

/// One row of the per-session export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct ExportRow {
    pub session_id: Uuid,
    pub account: String,
    pub support_type: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub wait_secs: Option<f64>,
    pub first_response_secs: Option<f64>,
    pub first_response_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution_secs: Option<f64>,
    pub resolved_by: Option<String>,
    pub reason: Option<String>,
    pub reopen_count: i32,
    pub csat: Option<i16>,
    pub bot_involved: bool,
    pub bot_only: bool,
    pub handoffs: String,
    pub tags: String,
}

impl ExportRow {
    pub const HEADER: [&'static str; 18] = [
        "session_id",
        "account",
        "support_type",
        "status",
        "created_at",
        "wait_secs",
        "first_response_secs",
        "first_response_by",
        "resolved_at",
        "resolution_secs",
        "resolved_by",
        "reason",
        "reopen_count",
        "csat",
        "bot_involved",
        "bot_only",
        "handoffs",
        "tags",
    ];

    /// The row's cells, in [`Self::HEADER`]'s order.
    pub fn cells(&self) -> [String; 18] {
        let t = |v: &Option<DateTime<Utc>>| v.map(|t| t.to_rfc3339()).unwrap_or_default();
        let secs = |v: Option<f64>| v.map(|s| format!("{s:.1}")).unwrap_or_default();
        [
            self.session_id.to_string(),
            self.account.clone(),
            self.support_type.clone(),
            self.status.clone(),
            self.created_at.to_rfc3339(),
            secs(self.wait_secs),
            secs(self.first_response_secs),
            self.first_response_by.clone().unwrap_or_default(),
            t(&self.resolved_at),
            secs(self.resolution_secs),
            self.resolved_by.clone().unwrap_or_default(),
            self.reason.clone().unwrap_or_default(),
            self.reopen_count.to_string(),
            self.csat.map(|c| c.to_string()).unwrap_or_default(),
            self.bot_involved.to_string(),
            self.bot_only.to_string(),
            self.handoffs.clone(),
            self.tags.clone(),
        ]
    }
}

/// A page of the per-session export: the sessions created in the filter's
/// range (in its zone), oldest first, after `after`; with an agent, the
/// sessions that agent was credited with in any way. Callers stream pages,
/// so a large range is never held in memory.
pub async fn export_sessions(
    pool: &PgPool,
    actor: &Actor,
    filter: &ReportFilter,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<(Vec<ExportRow>, Option<(DateTime<Utc>, Uuid)>)> {
    filter.validate()?;
    let scope = Scope::load(pool, actor).await?;
    let account = scope.whole_accounts(filter.account_id)?;
    let zone = match (&filter.time_zone, account) {
        (Some(z), _) => z.clone(),
        (None, Some(a)) => sqlx::query_scalar!("SELECT time_zone FROM accounts WHERE id = $1", a.0)
            .fetch_optional(pool)
            .await?
            .unwrap_or_else(|| "UTC".into()),
        (None, None) => "UTC".into(),
    };
    let tz = parse_zone(&zone)?;
    let (start, end) = (midnight(tz, filter.from), midnight(tz, filter.to + Duration::days(1)));
    let (after_t, after_id) = after.unwrap_or((start - Duration::microseconds(1), Uuid::nil()));
    let rows = sqlx::query_as!(
        ExportRow,
        r#"SELECT f.session_id, a.name AS account, st.name AS support_type, f.status, f.created_at,
                  extract(epoch FROM f.first_assigned_at - f.created_at)::float8 AS wait_secs,
                  extract(epoch FROM f.frt_at - f.human_start_at)::float8 AS first_response_secs,
                  fr.display_name AS "first_response_by?",
                  f.resolved_at,
                  extract(epoch FROM f.resolved_at - f.created_at)::float8 AS resolution_secs,
                  rb.display_name AS "resolved_by?",
                  rr.label AS "reason?",
                  f.reopen_count, f.csat, f.bot_involved,
                  (f.bot_involved AND NOT f.human_involved AND f.status = 'resolved') AS "bot_only!",
                  array_to_string(f.handoff_reasons, ' ') AS "handoffs!",
                  coalesce((SELECT string_agg(t.name::text, ' ' ORDER BY t.name) FROM tags t WHERE t.id = ANY(f.tag_ids)), '')
                    AS "tags!"
             FROM report_facts f
             JOIN accounts a ON a.id = f.account_id
             JOIN support_types st ON st.id = f.support_type_id
             LEFT JOIN agents fr ON fr.id = f.frt_agent_id
             LEFT JOIN agents rb ON rb.id = f.resolved_by_id
             LEFT JOIN resolution_reasons rr ON rr.id = f.reason_id
            WHERE ($1::uuid IS NULL OR f.account_id = $1)
              AND ($2::uuid IS NULL OR f.support_type_id = $2)
              AND ($3::uuid IS NULL OR $3 = ANY(f.tag_ids))
              AND ($8::uuid IS NULL OR $8 IN (f.first_agent_id, f.frt_agent_id, f.resolved_by_id))
              AND f.created_at < $4
              AND (f.created_at, f.session_id) > ($5, $6)
            ORDER BY f.created_at, f.session_id
            LIMIT $7"#,
        account.map(|a| a.0),
        filter.support_type_id.map(|t| t.0),
        filter.tag_id.map(|t| t.0),
        end,
        after_t,
        after_id,
        limit,
        filter.agent_id.map(|a| a.0)
    )
    .fetch_all(pool)
    .await?;
    let next =
        (rows.len() as i64 == limit).then(|| rows.last().map(|r| (r.created_at, r.session_id))).flatten();
    Ok((rows, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("a date")
    }

    #[test]
    fn full_months_are_the_calendar_months_inside_the_range() {
        assert_eq!(full_months(d(2026, 9, 4), d(2026, 12, 2)), Some((d(2026, 10, 1), d(2026, 11, 1))));
        assert_eq!(full_months(d(2026, 10, 1), d(2026, 10, 31)), Some((d(2026, 10, 1), d(2026, 10, 1))));
        assert_eq!(full_months(d(2026, 10, 2), d(2026, 10, 31)), None);
        assert_eq!(full_months(d(2026, 11, 9), d(2026, 11, 11)), None);
        assert_eq!(full_months(d(2026, 12, 1), d(2027, 2, 28)), Some((d(2026, 12, 1), d(2027, 2, 1))));
    }
}
