//! Reports that tell the truth: percentiles from rollups within the stated
//! error of PostgreSQL's exact `percentile_cont`, the same figures from
//! rollups and from facts, a human first response that excludes the bot's
//! time, a reopened session counted once, refreshes that are idempotent and
//! equal a rebuild, drill-downs that list exactly what a bar counts, and
//! readers confined to the accounts they supervise.

mod common;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::*;
use domain::{
    Error,
    actor::Actor,
    conversation::{self, SendMessage},
    reports::{
        self, Count, DrillDown, Grouping, ReportFilter, ReportSource, facts, histogram::RELATIVE_ERROR,
    },
    sessions::{self, HandoffNote, ReassignTarget},
    types::*,
};
use sqlx::PgPool;

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 10).expect("fixture")
}

fn at(hour: u32, minutes: i64) -> DateTime<Utc> {
    Utc.from_utc_datetime(&day().and_hms_opt(hour, 0, 0).expect("fixture")) + Duration::minutes(minutes)
}

fn filter() -> ReportFilter {
    ReportFilter {
        from: day() - Duration::days(1),
        to: day() + Duration::days(1),
        group: Grouping::Day,
        account_id: None,
        support_type_id: None,
        agent_id: None,
        tag_id: None,
        time_zone: None,
    }
}

fn within(estimate: Option<f64>, exact: f64, what: &str) {
    let est = estimate.unwrap_or_else(|| panic!("{what}: no estimate"));
    let err = if exact == 0.0 { est } else { (est - exact).abs() / exact };
    assert!(err <= RELATIVE_ERROR + 1e-9, "{what}: {est} against exact {exact} (error {err:.4})");
}

fn say(body: &str) -> SendMessage {
    SendMessage { body: body.into(), ..Default::default() }
}

/// Moves a session's history to known instants (fixture SQL): created,
/// assigned `wait_ms` later, first reply `frt_ms` after that, resolved
/// `handle` minutes after assignment.
async fn set_times(
    pool: &PgPool,
    s: SessionId,
    created: DateTime<Utc>,
    wait_ms: i64,
    frt_ms: i64,
    handle: i64,
) {
    let assigned = created + Duration::milliseconds(wait_ms);
    let replied = assigned + Duration::milliseconds(frt_ms);
    let resolved = assigned + Duration::minutes(handle);
    sqlx::query!(
        "UPDATE sessions SET created_at = $2, queued_at = $2, resolved_at = $3 WHERE id = $1",
        s.0,
        created,
        resolved
    )
    .execute(pool)
    .await
    .expect("session times");
    sqlx::query!(
        "UPDATE assignments SET started_at = $2, ended_at = $3 WHERE session_id = $1",
        s.0,
        assigned,
        resolved
    )
    .execute(pool)
    .await
    .expect("assignment times");
    sqlx::query!(
        "UPDATE messages SET created_at = $2 WHERE session_id = $1 AND sender_kind = 'agent'",
        s.0,
        replied
    )
    .execute(pool)
    .await
    .expect("message times");
}

/// What the reports consumer does on each of the session's events.
async fn refresh(pool: &PgPool, s: SessionId) {
    let mut tx = pool.begin().await.expect("tx");
    facts::refresh(&mut tx, &[s]).await.expect("refresh");
    tx.commit().await.expect("commit");
}

async fn exact(pool: &PgPool, sql: &str) -> (f64, f64, i64) {
    sqlx::query_as(sql).fetch_one(pool).await.expect("exact percentiles")
}

struct World {
    acc: AccountId,
    billing: SupportTypeId,
    agents: [AgentId; 2],
    reasons: [ReasonId; 2],
}

/// 100 resolved sessions over two types and two agents, with known waits,
/// first responses and handle times.
async fn hundred_sessions(pool: &PgPool) -> World {
    let acc = account(pool, "acme").await;
    let billing = support_type(pool, acc, "billing", Routing::RoundRobin).await;
    let tech = support_type(pool, acc, "tech", Routing::RoundRobin).await;
    sqlx::query!(
        "UPDATE support_types SET queue_sla_secs = 300, first_response_sla_secs = 60 WHERE id = $1",
        billing.0
    )
    .execute(pool)
    .await
    .expect("SLA");
    let a1 = agent(pool, acc, "a1@acme.test", Role::Agent, 100, true, &[billing, tech]).await;
    let a2 = agent(pool, acc, "a2@acme.test", Role::Agent, 100, true, &[billing, tech]).await;
    let reasons = [reason(pool, billing, "Refunded").await, reason(pool, billing, "Explained").await];
    for i in 0..100i64 {
        let s = open(pool, if i % 2 == 0 { "billing" } else { "tech" }).await;
        let owner = owner_now(pool, &s).await.expect("an agent is free");
        let me = as_agent(owner, acc, Role::Agent);
        conversation::send(pool, &me, s.id, say("Hello, how can I help?")).await.expect("reply");
        let why = (i % 2 == 0).then(|| reasons[(i / 2 % 2) as usize]);
        sessions::resolve(pool, &me, s.id, why).await.expect("resolve");
        let wait_ms = (i * 7919 % 1800) * 1000 + i % 3 * 137;
        let frt_ms = (i * 104_729 % 240) * 1000 + 250;
        set_times(pool, s.id, at(8, i * 5), wait_ms, frt_ms, 10 + i % 50).await;
    }
    World { acc, billing, agents: [a1, a2], reasons }
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn rollup_percentiles_are_within_the_stated_error_of_percentile_cont(pool: PgPool) {
    let w = hundred_sessions(&pool).await;
    facts::rebuild(&pool, None, |_, _| {}).await.expect("rebuild");
    let report = reports::report(&pool, &Actor::System, filter()).await.expect("report");
    assert_eq!(report.source, ReportSource::Rollups);
    let t = &report.totals;
    assert_eq!((t.opened, t.resolved, t.abandoned), (100, 100, 0));

    let (p50, p90, n) = exact(
        &pool,
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY w), percentile_cont(0.9) WITHIN GROUP (ORDER BY w), count(*)
           FROM (SELECT extract(epoch FROM a.started_at - s.created_at)::float8 * 1000 AS w
                   FROM sessions s JOIN assignments a ON a.session_id = s.id) x",
    )
    .await;
    assert_eq!(t.wait.n, n);
    within(t.wait.p50_ms, p50, "wait p50");
    within(t.wait.p90_ms, p90, "wait p90");
    let mean: f64 = sqlx::query_scalar(
        "SELECT avg(extract(epoch FROM a.started_at - s.created_at)::float8 * 1000)
           FROM sessions s JOIN assignments a ON a.session_id = s.id",
    )
    .fetch_one(&pool)
    .await
    .expect("mean");
    assert!((t.wait.mean_ms.expect("mean") - mean).abs() < 1e-6, "the mean is exact");

    let (p50, p90, n) = exact(
        &pool,
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY f), percentile_cont(0.9) WITHIN GROUP (ORDER BY f), count(*)
           FROM (SELECT extract(epoch FROM m.created_at - a.started_at)::float8 * 1000 AS f
                   FROM sessions s JOIN assignments a ON a.session_id = s.id
                   JOIN messages m ON m.session_id = s.id AND m.sender_kind = 'agent') x",
    )
    .await;
    assert_eq!(t.first_response.n, n);
    within(t.first_response.p50_ms, p50, "first response p50");
    within(t.first_response.p90_ms, p90, "first response p90");

    let (p50, p90, _) = exact(
        &pool,
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY r), percentile_cont(0.9) WITHIN GROUP (ORDER BY r), count(*)
           FROM (SELECT extract(epoch FROM resolved_at - created_at)::float8 * 1000 AS r FROM sessions) x",
    )
    .await;
    within(t.resolution.p50_ms, p50, "resolution p50");
    within(t.resolution.p90_ms, p90, "resolution p90");

    // The billing type's queue SLA (300 s), against the same waits.
    let met: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sessions s JOIN assignments a ON a.session_id = s.id
          WHERE s.support_type_id = $1 AND a.started_at - s.created_at <= interval '300 seconds'",
    )
    .bind(w.billing)
    .fetch_one(&pool)
    .await
    .expect("SLA met");
    let billing = report.support_types.iter().find(|t| t.support_type_id == w.billing).expect("billing row");
    assert_eq!(billing.figures.queue_sla.total, 50);
    assert_eq!(billing.figures.queue_sla.met, met);
    assert_eq!(t.queue_sla.total, 50, "only the type with a queue SLA counts");
    assert_eq!(billing.figures.reasons.get(&w.reasons[0]), Some(&25));
    assert_eq!(billing.figures.reasons.get(&w.reasons[1]), Some(&25));
    assert_eq!(report.reasons.len(), 2);

    // Per agent: every resolution is credited once.
    let credited: i64 = report.agents.iter().map(|a| a.figures.resolved).sum();
    assert_eq!(credited, 100);
    assert!(report.agents.iter().all(|a| w.agents.contains(&a.agent_id)));

    // The series sums to the totals; the other days are empty.
    assert_eq!(report.series.len(), 3);
    assert_eq!(report.series[1].figures.opened, 100);
    assert_eq!(report.series[0].figures.opened + report.series[2].figures.opened, 0);

    // Another zone is read from the facts: the same contributions, the
    // same figures (every session is on the same day in both zones).
    let other = reports::report(
        &pool,
        &Actor::System,
        ReportFilter { time_zone: Some("Europe/Stockholm".into()), ..filter() },
    )
    .await
    .expect("report in another zone");
    assert_eq!(other.source, ReportSource::Facts);
    assert_eq!(other.totals, report.totals);
    assert_eq!(other.agents, report.agents);
    assert_eq!(other.support_types, report.support_types);

    // A filter on one agent: the rollups' agent level equals the facts.
    let one = ReportFilter { agent_id: Some(w.agents[0]), ..filter() };
    let from_rollups = reports::report(&pool, &Actor::System, one.clone()).await.expect("agent report");
    let from_facts =
        reports::report(&pool, &Actor::System, ReportFilter { time_zone: Some("Etc/GMT-1".into()), ..one })
            .await
            .expect("agent report from facts");
    assert_eq!(from_rollups.totals, from_facts.totals);
    assert!(from_rollups.totals.resolved > 0 && from_rollups.totals.resolved < 100);

    // A range with a whole month inside: the per-agent and per-type sums
    // read November's month rows and the days around it, and still equal
    // the facts.
    let long = ReportFilter {
        from: NaiveDate::from_ymd_opt(2026, 10, 20).expect("a date"),
        to: NaiveDate::from_ymd_opt(2026, 12, 5).expect("a date"),
        ..filter()
    };
    let months = reports::report(&pool, &Actor::System, long.clone()).await.expect("long report");
    assert_eq!(months.source, ReportSource::Rollups);
    let facts_long = reports::report(
        &pool,
        &Actor::System,
        ReportFilter { time_zone: Some("Europe/Stockholm".into()), ..long },
    )
    .await
    .expect("long report from facts");
    assert_eq!(months.totals, facts_long.totals);
    assert_eq!(months.agents, facts_long.agents);
    assert_eq!(months.support_types, facts_long.support_types);
    assert_eq!(months.agents.iter().map(|a| a.figures.resolved).sum::<i64>(), 100);
    let _ = w.acc;
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn refreshing_twice_changes_nothing_and_equals_a_rebuild(pool: PgPool) {
    let w = hundred_sessions(&pool).await;
    let ids: Vec<SessionId> =
        sqlx::query_scalar("SELECT id FROM sessions ORDER BY id").fetch_all(&pool).await.expect("ids");
    let snapshot = || async {
        // Each row as one line of text: equal rows, equal lines.
        sqlx::query_scalar!(
            r#"SELECT concat_ws(' ', account_id, support_type_id, agent_id, grain, day, metric, n, total, lo, counts,
                                parts) AS "row!"
                 FROM report_rollups WHERE n <> 0 OR total <> 0 OR parts <> '{}'
                ORDER BY account_id, support_type_id, agent_id, grain, day, metric"#
        )
        .fetch_all(&pool)
        .await
        .expect("rollups")
    };
    for chunk in ids.chunks(7) {
        let mut tx = pool.begin().await.expect("tx");
        facts::refresh(&mut tx, chunk).await.expect("refresh");
        tx.commit().await.expect("commit");
    }
    let first = snapshot().await;
    assert!(!first.is_empty());
    let mut tx = pool.begin().await.expect("tx");
    assert_eq!(facts::refresh(&mut tx, &ids).await.expect("again"), 0, "no fact changed");
    tx.commit().await.expect("commit");
    assert_eq!(snapshot().await, first, "a second refresh adds nothing");

    let mut seen = Vec::new();
    let rebuilt =
        facts::rebuild(&pool, Some(w.acc), |done, total| seen.push((done, total))).await.expect("rebuild");
    assert_eq!(rebuilt, 100);
    assert_eq!(seen.first(), Some(&(0, 100)));
    assert_eq!(seen.last(), Some(&(100, 100)));
    assert_eq!(snapshot().await, first, "incremental rollups equal a rebuild");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn drill_downs_list_exactly_the_sessions_a_figure_counts(pool: PgPool) {
    let w = hundred_sessions(&pool).await;
    facts::rebuild(&pool, None, |_, _| {}).await.expect("rebuild");
    let f = ReportFilter { group: Grouping::Hour, from: day(), to: day(), ..filter() };
    let report = reports::report(&pool, &Actor::System, f).await.expect("hourly report");
    assert_eq!(report.series.len(), 24);
    let mut listed = 0;
    for p in &report.series {
        for (count, expected) in [(Count::Opened, p.figures.opened), (Count::Resolved, p.figures.resolved)] {
            let d = DrillDown {
                count,
                start: p.start,
                end: p.end,
                account_id: None,
                support_type_id: None,
                agent_id: None,
                tag_id: None,
                reason_id: None,
            };
            let mut n = 0;
            let mut cursor = None;
            loop {
                let page = reports::sessions_behind(&pool, &Actor::System, &d, cursor.as_deref(), Some(7))
                    .await
                    .expect("drill-down");
                n += page.items.len() as i64;
                assert!(page.items.iter().all(|s| s.at >= p.start && s.at < p.end));
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            assert_eq!(n, expected, "{count} in {}", p.label);
            if count == Count::Opened {
                listed += n;
            }
        }
    }
    assert_eq!(listed, 100);
    let reason = DrillDown {
        count: Count::Reason,
        start: at(0, 0),
        end: at(0, 24 * 60),
        account_id: None,
        support_type_id: Some(w.billing),
        agent_id: None,
        tag_id: None,
        reason_id: Some(w.reasons[0]),
    };
    let page =
        reports::sessions_behind(&pool, &Actor::System, &reason, None, Some(200)).await.expect("reason");
    assert_eq!(page.items.len(), 25);
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn human_first_response_excludes_the_bots_time_and_reopens_count_once(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let ty = support_type(&pool, acc, "triage", Routing::RoundRobin).await;
    let bot = agent(&pool, acc, "bot@acme.test", Role::Bot, 100, true, &[]).await;
    bot_first(&pool, ty, bot).await;
    let human = agent(&pool, acc, "h@acme.test", Role::Agent, 5, true, &[ty]).await;
    let s = open(&pool, "triage").await;
    assert_eq!(owner_now(&pool, &s).await, Some(bot));
    let as_bot = as_agent(bot, acc, Role::Bot);
    conversation::send(&pool, &as_bot, s.id, say("I'm the assistant")).await.expect("bot speaks");
    let s = sessions::hand_off(
        &pool,
        &as_bot,
        s.id,
        ReassignTarget::Queue,
        HandoffNote { reason: HandoffReason::LowConfidence, summary: "needs a person".into() },
    )
    .await
    .expect("handoff");
    assert_eq!(owner_now(&pool, &s).await, Some(human));
    let me = as_agent(human, acc, Role::Agent);
    conversation::send(&pool, &me, s.id, say("Hi, I'm Hana")).await.expect("human replies");
    sessions::resolve(&pool, &me, s.id, None).await.expect("resolve");

    // The bot held it for 10 minutes; the human answered 30 s after taking it.
    let t0 = at(9, 0);
    sqlx::query!("UPDATE sessions SET created_at = $2 WHERE id = $1", s.id.0, t0)
        .execute(&pool)
        .await
        .expect("fixture");
    for (agent, start, end) in [
        (bot, t0 + Duration::seconds(5), t0 + Duration::minutes(10)),
        (human, t0 + Duration::minutes(10), t0 + Duration::minutes(20)),
    ] {
        sqlx::query!(
            "UPDATE assignments SET started_at = $3, ended_at = $4 WHERE session_id = $1 AND agent_id = $2",
            s.id.0,
            agent.0,
            start,
            end
        )
        .execute(&pool)
        .await
        .expect("fixture");
    }
    sqlx::query!(
        "UPDATE messages SET created_at = $2 WHERE session_id = $1 AND sender_kind = 'bot'",
        s.id.0,
        t0 + Duration::seconds(6)
    )
    .execute(&pool)
    .await
    .expect("fixture");
    sqlx::query!(
        "UPDATE messages SET created_at = $2 WHERE session_id = $1 AND sender_kind = 'agent'",
        s.id.0,
        t0 + Duration::minutes(10) + Duration::seconds(30)
    )
    .execute(&pool)
    .await
    .expect("fixture");
    sqlx::query!("UPDATE sessions SET resolved_at = $2 WHERE id = $1", s.id.0, t0 + Duration::minutes(20))
        .execute(&pool)
        .await
        .expect("fixture");
    refresh(&pool, s.id).await;

    let r = reports::report(&pool, &Actor::System, filter()).await.expect("report");
    let t = &r.totals;
    assert_eq!(t.first_response.n, 1);
    within(t.first_response.p50_ms, 30_000.0, "human first response");
    within(t.wait.p50_ms, 5_000.0, "the wait ends at the bot's assignment");
    assert_eq!((t.bot_involved, t.bot_only, t.handed_off), (1, 0, 1));
    assert_eq!(t.handoffs.get("low_confidence"), Some(&1));
    let hana = r.agents.iter().find(|a| a.agent_id == human).expect("the replier's row");
    assert_eq!((hana.figures.first_response.n, hana.figures.resolved), (1, 1));
    within(hana.figures.handle.p50_ms, 600_000.0, "handle time is the resolver's ownership");
    let bot_row = r.agents.iter().find(|a| a.agent_id == bot).expect("the bot's row");
    assert!(bot_row.is_bot);
    assert_eq!(
        (bot_row.figures.first_response.n, bot_row.figures.resolved, bot_row.figures.opened),
        (0, 0, 1)
    );

    // Reopened and resolved again: one resolution, one reopen, measured to
    // the last resolution.
    let sys = Actor::System;
    sessions::reopen(&pool, &sys, s.id).await.expect("reopen");
    refresh(&pool, s.id).await;
    let r = reports::report(&pool, &sys, filter()).await.expect("report");
    assert_eq!((r.totals.resolved, r.totals.reopened), (0, 0), "a reopened session is not resolved");
    sessions::assign(&pool, &me, s.id, None).await.expect("the human picks it up again");
    sessions::resolve(&pool, &me, s.id, None).await.expect("resolve again");
    sqlx::query!("UPDATE sessions SET resolved_at = $2 WHERE id = $1", s.id.0, t0 + Duration::hours(2))
        .execute(&pool)
        .await
        .expect("fixture");
    refresh(&pool, s.id).await;
    let r = reports::report(&pool, &sys, filter()).await.expect("report");
    assert_eq!((r.totals.opened, r.totals.resolved, r.totals.reopened), (1, 1, 1));
    within(r.totals.resolution.p50_ms, 7_200_000.0, "the last resolution counts");
}

#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn readers_count_only_the_accounts_they_supervise(pool: PgPool) {
    let w = hundred_sessions(&pool).await;
    facts::rebuild(&pool, None, |_, _| {}).await.expect("rebuild");
    let other = account(&pool, "globex").await;
    let other_admin = agent(&pool, other, "boss@globex.test", Role::Admin, 5, false, &[]).await;
    let other_admin = as_agent(other_admin, other, Role::Admin);
    let own = reports::report(&pool, &other_admin, filter()).await.expect("their own report");
    assert_eq!(own.totals.opened, 0, "another account's sessions are not counted");
    let err = reports::report(&pool, &other_admin, ReportFilter { account_id: Some(w.acc), ..filter() })
        .await
        .expect_err("asking for another account");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");

    let supervisor = agent(&pool, w.acc, "sup@acme.test", Role::Supervisor, 5, false, &[]).await;
    let r =
        reports::report(&pool, &as_agent(supervisor, w.acc, Role::Supervisor), filter()).await.expect("sup");
    assert_eq!(r.totals.opened, 100);

    let plain = as_agent(w.agents[0], w.acc, Role::Agent);
    let err = reports::report(&pool, &plain, filter()).await.expect_err("an agent");
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    let d = DrillDown {
        count: Count::Opened,
        start: at(0, 0),
        end: at(0, 24 * 60),
        account_id: None,
        support_type_id: None,
        agent_id: None,
        tag_id: None,
        reason_id: None,
    };
    let err =
        reports::sessions_behind(&pool, &plain, &d, None, None).await.expect_err("an agent drills down");
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    let page = reports::sessions_behind(&pool, &other_admin, &d, None, None).await.expect("theirs");
    assert!(page.items.is_empty());
}

/// A type with business hours reports its durations in open hours beside
/// the wall-clock ones; a type without them adds nothing there; rollups
/// and facts agree.
#[sqlx::test(migrator = "domain::db::MIGRATOR")]
async fn business_hours_durations_count_only_the_open_hours(pool: PgPool) {
    let acc = account(&pool, "acme").await;
    let billing = support_type(&pool, acc, "billing", Routing::RoundRobin).await;
    let tech = support_type(&pool, acc, "tech", Routing::RoundRobin).await;
    let weekdays: serde_json::Value = serde_json::json!({
        "time_zone": "UTC",
        "open": { "mon": ["09:00", "17:00"], "tue": ["09:00", "17:00"], "wed": ["09:00", "17:00"],
                  "thu": ["09:00", "17:00"], "fri": ["09:00", "17:00"] },
    });
    sqlx::query!("UPDATE support_types SET business_hours = $2 WHERE id = $1", billing.0, weekdays)
        .execute(&pool)
        .await
        .expect("hours");
    agent(&pool, acc, "a1@acme.test", Role::Agent, 10, true, &[billing, tech]).await;
    let hour = 3_600_000;
    for slug in ["billing", "tech"] {
        let s = open(&pool, slug).await;
        let owner = owner_now(&pool, &s).await.expect("free");
        let me = as_agent(owner, acc, Role::Agent);
        conversation::send(&pool, &me, s.id, say("Hello")).await.expect("reply");
        sessions::resolve(&pool, &me, s.id, None).await.expect("resolve");
        // Tuesday 16:00 → assigned Wednesday 10:00 (18 h; 2 h open), first
        // reply 30 min later, resolved at 11:00 (19 h; 3 h open).
        set_times(&pool, s.id, at(16, 0), 18 * hour, hour / 2, 60).await;
        refresh(&pool, s.id).await;
    }
    let actor = Actor::System;
    for group in [Grouping::Day, Grouping::Hour] {
        let report =
            reports::report(&pool, &actor, ReportFilter { group, ..filter() }).await.expect("report");
        let (t, bh) = (&report.totals, &report.totals.business_hours);
        let what = format!("{group:?} from {:?}", report.source);
        assert_eq!((t.wait.n, bh.wait.n, bh.first_response.n, bh.resolution.n), (2, 1, 1, 1), "{what}");
        within(t.wait.p50_ms, (18 * hour) as f64, &format!("{what}: wall-clock wait"));
        within(bh.wait.p50_ms, (2 * hour) as f64, &format!("{what}: business-hours wait"));
        within(
            bh.first_response.p50_ms,
            (hour / 2) as f64,
            &format!("{what}: business-hours first response"),
        );
        within(bh.resolution.p50_ms, (3 * hour) as f64, &format!("{what}: business-hours resolution"));
        let by_type: std::collections::BTreeMap<_, _> = report
            .support_types
            .iter()
            .map(|t| (t.support_type_id, t.figures.business_hours.wait.n))
            .collect();
        assert_eq!((by_type[&billing], by_type[&tech]), (1, 0), "{what}");
    }
    // The CSV's row carries them too.
    let report = reports::report(&pool, &actor, filter()).await.expect("report");
    let row = reports::table_row("total", &report.totals);
    let cell = |name: &str| row.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()).expect(name);
    assert_eq!(cell("wait_bh_n"), "1");
    let p50: f64 = cell("wait_bh_p50_s").parse().expect("seconds");
    assert!((p50 - 7200.0).abs() <= 7200.0 * RELATIVE_ERROR + 0.1, "{p50}");
}
