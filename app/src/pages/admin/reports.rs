//! `/admin/reports`: charts that tell the truth, for admins and supervisors.
//!
//! The URL holds the filters (a plain GET form, so a report is shared by
//! link and works without JavaScript). The report's body, charts included,
//! is rendered on the server ([`report_html`]) and arrives as HTML: chart
//! code never reaches the WASM bundle. `/admin/reports/sessions` lists the
//! sessions behind a bar or a point.

use domain::{reports::CountedSession, sessions::Page};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_location;

use super::{AdminFrame, Section, page_error};
use crate::{AppError, pages::agent::ListSkeleton};

/// The report for the URL query `query`, rendered to HTML.
#[server(endpoint = "admin/report")]
pub async fn report_html(query: String) -> Result<String, AppError> {
    let (pool, actor) = crate::ssr::caller().await?;
    Ok(body::render(&pool, &actor, &query).await?)
}

/// The sessions behind one figure (the drill-down's URL query).
#[server(endpoint = "admin/report-sessions")]
pub async fn report_sessions(query: String) -> Result<Page<CountedSession>, AppError> {
    let (pool, actor) = crate::ssr::caller().await?;
    Ok(body::sessions(&pool, &actor, &query).await?)
}

fn query_string() -> Memo<String> {
    let location = use_location();
    Memo::new(move |_| location.search.get().trim_start_matches('?').to_owned())
}

/// After a session event, how long the page waits before it asks again
/// (the reports consumer has counted the event by then), and so the most
/// often it asks.
const LIVE_DELAY: std::time::Duration = std::time::Duration::from_secs(2);

/// `/admin/reports`. Live: every session or CSAT event of the reader's
/// accounts that reaches the page over the WebSocket re-renders the report
/// (at most once per [`LIVE_DELAY`]), so today's figures move by themselves.
#[component]
pub fn ReportsPage() -> impl IntoView {
    let query = query_string();
    let html = Resource::new(move || query.get(), report_html);
    let pending = StoredValue::new(false);
    let link = crate::live::connect(None, move |frame| {
        use domain::live::ServerFrame;
        if !matches!(frame, ServerFrame::Session { .. } | ServerFrame::CsatSubmitted { .. }) {
            return;
        }
        if !pending.get_value() {
            pending.set_value(true);
            set_timeout(
                move || {
                    pending.set_value(false);
                    html.refetch();
                },
                LIVE_DELAY,
            );
        }
    });
    let live = move || link.state.get().label();
    view! {
        <Title text="Reports"/>
        <AdminFrame path="/admin/reports" section=Section::Reports title="Reports".to_owned()>
            <p class="-mt-4 mb-2 text-xs text-slate-500" aria-live="polite" data-testid="report-live">
                {move || format!("Live updates: {}", live())}
            </p>
            <Transition fallback=ListSkeleton>
                {move || html.get().map(|r| match r {
                    Ok(html) => view! { <div data-testid="report" inner_html=html></div> }.into_any(),
                    Err(e) => page_error("the report", e),
                })}
            </Transition>
        </AdminFrame>
    }
}

/// `/admin/reports/sessions`: what a bar counts.
#[component]
pub fn ReportSessionsPage() -> impl IntoView {
    let query = query_string();
    let page = Resource::new(move || query.get(), report_sessions);
    view! {
        <Title text="Sessions behind a figure"/>
        <AdminFrame path="/admin/reports/sessions" section=Section::Reports title="Sessions behind a figure".to_owned()>
            <p class="text-sm text-slate-600">
                "The sessions this figure counts, in the order it counts them. "
                <a href="/admin/reports" class="text-indigo-700 underline hover:no-underline">"Back to the reports"</a>
            </p>
            <div class="mt-4">
                <Transition fallback=ListSkeleton>
                    {move || page.get().map(|r| match r {
                        Ok(p) => counted_table(p).into_any(),
                        Err(e) => page_error("these sessions", e),
                    })}
                </Transition>
            </div>
        </AdminFrame>
    }
}

fn counted_table(page: Page<CountedSession>) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <p class="text-sm text-slate-500">"No session is counted here."</p> }.into_any();
    }
    let more = page.next_cursor.is_some();
    view! {
        <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
            <table class="min-w-full text-sm" data-testid="counted-sessions">
                <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                    <tr>
                        <th scope="col" class="px-4 py-2">"Counted at"</th>
                        <th scope="col" class="px-4 py-2">"Customer"</th>
                        <th scope="col" class="px-4 py-2">"Support type"</th>
                        <th scope="col" class="px-4 py-2">"Status"</th>
                        <th scope="col" class="px-4 py-2">"Credited to"</th>
                    </tr>
                </thead>
                <tbody class="divide-y divide-slate-100">
                    {page.items.into_iter().map(|s| view! {
                        <tr>
                            <td class="whitespace-nowrap px-4 py-2 text-slate-600">
                                <a href=format!("/agent/sessions/{}", s.id) class="text-indigo-700 hover:underline">
                                    {s.at.format("%Y-%m-%d %H:%M").to_string()}
                                </a>
                            </td>
                            <td class="px-4 py-2">{s.customer_name.unwrap_or_else(|| "Anonymous".into())}</td>
                            <td class="px-4 py-2">{s.support_type}</td>
                            <td class="px-4 py-2">{s.status}</td>
                            <td class="px-4 py-2">{s.agent_name.unwrap_or_else(|| "–".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {more.then(|| view! { <p class="mt-2 text-sm text-slate-500">"The first 200 are shown; narrow the period to see the rest."</p> })}
    }
    .into_any()
}

/// The server side: the report's body as HTML.
#[cfg(feature = "ssr")]
mod body {
    use chrono::Utc;
    use domain::{
        actor::Actor,
        reports::{
            self, Count, DrillDown, Figures, Grouping, Report, ReportParams, ReportSource, Summary, change,
            histogram, human_duration,
        },
        sessions::Page,
        support_types::SupportTypeFilter,
    };
    use leptos::prelude::*;
    use serde::Serialize;
    use sqlx::PgPool;

    use crate::components::charts::{BarChart, HBarChart, LineChart, Series};

    fn parse<T: serde::de::DeserializeOwned>(query: &str) -> domain::Result<T> {
        serde_urlencoded::from_str(query).map_err(|e| {
            // serde names the field in its message ("unknown variant `x` … for `group`").
            domain::Error::invalid("query", e.to_string())
        })
    }

    pub async fn sessions(pool: &PgPool, actor: &Actor, query: &str) -> domain::Result<Page<CountedSession>> {
        #[derive(serde::Deserialize)]
        struct Q {
            #[serde(flatten)]
            d: DrillDown,
        }
        let q: Q = parse(query)?;
        reports::sessions_behind(pool, actor, &q.d, None, Some(200)).await
    }
    use domain::reports::CountedSession;

    #[derive(Serialize)]
    struct Drill<'a> {
        count: Count,
        start: String,
        end: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        account_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        support_type_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        agent_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tag_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason_id: Option<&'a str>,
    }

    fn drill(
        r: &Report,
        count: Count,
        start: chrono::DateTime<Utc>,
        end: chrono::DateTime<Utc>,
        reason: Option<&str>,
    ) -> String {
        let f = &r.filter;
        let q = Drill {
            count,
            start: start.to_rfc3339(),
            end: end.to_rfc3339(),
            account_id: f.account_id.map(|a| a.to_string()),
            support_type_id: f.support_type_id.map(|t| t.to_string()),
            agent_id: f.agent_id.map(|a| a.to_string()),
            tag_id: f.tag_id.map(|t| t.to_string()),
            reason_id: reason,
        };
        format!("/admin/reports/sessions?{}", serde_urlencoded::to_string(&q).unwrap_or_default())
    }

    fn secs(ms: f64) -> String {
        human_duration(ms)
    }
    fn count(v: f64) -> String {
        format!("{v:.0}")
    }
    fn pct(r: Option<f64>) -> String {
        r.map(|r| format!("{:.0}%", r * 100.0)).unwrap_or_else(|| "–".into())
    }

    /// "Median wait fell 18% against the previous 30 days (2.1 min, was 2.6 min)."
    fn takeaway(
        what: &str,
        now: Option<f64>,
        before: Option<f64>,
        fmt: fn(f64) -> String,
        days: i64,
    ) -> String {
        match (now, change(now, before)) {
            (None, _) => format!("No {what} in this period."),
            (Some(v), None) => format!("{}: {} (no earlier data to compare).", capital(what), fmt(v)),
            (Some(v), Some(c)) if c.abs() < 0.005 => {
                format!("{} held at {} against the previous {days} days.", capital(what), fmt(v))
            }
            (Some(v), Some(c)) => format!(
                "{} {} {:.0}% against the previous {days} days ({}, was {}).",
                capital(what),
                if c < 0.0 { "fell" } else { "rose" },
                c.abs() * 100.0,
                fmt(v),
                before.map(fmt).unwrap_or_default()
            ),
        }
    }

    fn capital(s: &str) -> String {
        let mut c = s.chars();
        c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
    }

    fn summary_line(s: &Summary) -> String {
        match (s.p50_ms, s.p90_ms, s.mean_ms) {
            (Some(p50), Some(p90), Some(mean)) => {
                format!("p50 {} · p90 {} · mean {} · n {}", secs(p50), secs(p90), secs(mean), s.n)
            }
            _ => "no data".into(),
        }
    }

    pub async fn render(pool: &PgPool, actor: &Actor, query: &str) -> domain::Result<String> {
        let params: ReportParams = parse(query)?;
        let filter = params.into_filter(Utc::now().date_naive());
        let report = reports::report(pool, actor, filter.clone()).await?;
        let bots = reports::bots::bots(pool, actor, filter).await?;
        let account = report.filter.account_id;
        let types = domain::support_types::list(
            pool,
            actor,
            SupportTypeFilter { account_id: account, ..Default::default() },
        )
        .await?;
        let agents = domain::agents::list(
            pool,
            actor,
            domain::agents::AgentFilter { account_id: account, ..Default::default() },
        )
        .await?;
        let tags = domain::config::list_tags(pool, actor, account).await?;
        let options = Options {
            types: types.into_iter().map(|t| (t.id.to_string(), t.name)).collect(),
            agents: agents.into_iter().map(|a| (a.id.to_string(), a.display_name)).collect(),
            tags: tags.into_iter().map(|t| (t.id.to_string(), t.name)).collect(),
        };
        Ok(view! { <ReportBody report options/> <BotFigures bots/> }.to_html())
    }

    /// What the bots did, each figure beside its formula.
    #[component]
    fn BotFigures(bots: reports::bots::BotReport) -> impl IntoView {
        use reports::bots::formula;
        let b = &bots;
        let outcomes: Vec<(String, f64, Option<String>)> = vec![
            ("confirmed (\u{201c}That helped\u{201d})".into(), b.confirmed as f64, None),
            ("assumed (quiet 24 h)".into(), b.assumed as f64, None),
            ("reopened since (deducted)".into(), b.deducted as f64, None),
        ];
        let pair = |s: &Summary| {
            format!(
                "{} / {} (n {})",
                s.p50_ms.map(secs).unwrap_or_else(|| "–".into()),
                s.p90_ms.map(secs).unwrap_or_else(|| "–".into()),
                s.n
            )
        };
        let sg = &b.suggestions;
        let dr = &b.drafts;
        let rows: Vec<(&str, String, &str)> = vec![
            ("Sessions with a bot", b.involved.to_string(), formula::INVOLVED),
            ("Confirmed resolutions", b.confirmed.to_string(), formula::CONFIRMED),
            ("Assumed resolutions", b.assumed.to_string(), formula::ASSUMED),
            ("Reopened since (deducted)", b.deducted.to_string(), formula::DEDUCTED),
            ("Bot resolution rate", pct(b.resolution_rate), formula::RESOLUTION_RATE),
            ("Handoffs", b.handoffs_total().to_string(), formula::HANDOFFS),
            ("Time to handoff p50 / p90", pair(&b.time_to_handoff), formula::TIME_TO_HANDOFF),
            (
                "Suggestion acceptance",
                format!(
                    "{} ({} accepted, {} edited, {} dismissed of {} shown)",
                    pct(sg.acceptance_rate),
                    sg.accepted,
                    sg.edited,
                    sg.dismissed,
                    sg.shown
                ),
                formula::SUGGESTION_ACCEPTANCE,
            ),
            (
                "Drafts",
                format!(
                    "{} drafted: {} sent ({} edited), {} discarded, {} expired, {} waiting",
                    dr.drafted, dr.sent, dr.edited, dr.discarded, dr.expired, dr.waiting
                ),
                formula::DRAFTS,
            ),
        ];
        let takeaway = format!(
            "Bots resolved {} of the {} sessions they took part in ({}); {} reopened since.",
            (b.confirmed + b.assumed - b.deducted).max(0),
            b.involved,
            pct(b.resolution_rate),
            b.deducted
        );
        view! {
            <section aria-labelledby="bots-heading" class="mt-8" data-testid="report-bots">
                <h2 id="bots-heading" class="text-base font-semibold">"Bots"</h2>
                <p class="mt-1 text-sm text-slate-600">"What the bots did in the period, each figure with how it is counted. A tag filter does not narrow these."</p>
                <div class="mt-3 grid gap-4 lg:grid-cols-2">
                    <HBarChart id="bot-outcomes".into() title="Bots: resolutions".into()
                        takeaway=takeaway
                        desc="Sessions bots resolved in the period, by how the resolution is known.".into()
                        definition=formula::RESOLUTION_RATE.into()
                        bars=outcomes fmt=count/>
                    <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white">
                        <table class="min-w-full text-sm" data-testid="report-bot-figures">
                            <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                                <tr>
                                    <th scope="col" class="px-4 py-2">"Figure"</th>
                                    <th scope="col" class="px-4 py-2">"Value"</th>
                                    <th scope="col" class="px-4 py-2">"How it is counted"</th>
                                </tr>
                            </thead>
                            <tbody class="divide-y divide-slate-100">
                                {rows.into_iter().map(|(name, value, how)| view! {
                                    <tr>
                                        <th scope="row" class="px-4 py-2 text-left font-medium text-slate-900">{name}</th>
                                        <td class="px-4 py-2 tabular-nums">{value}</td>
                                        <td class="px-4 py-2 text-xs text-slate-600">{how}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                </div>
            </section>
        }
    }

    struct Options {
        types: Vec<(String, String)>,
        agents: Vec<(String, String)>,
        tags: Vec<(String, String)>,
    }

    fn select(
        name: &'static str,
        label: &'static str,
        any: &'static str,
        options: Vec<(String, String)>,
        current: Option<String>,
    ) -> impl IntoView {
        let id = format!("report-{name}");
        view! {
            <div>
                <label for=id.clone() class="block text-xs font-medium text-slate-600">{label}</label>
                <select id=id name=name class="mt-1 w-full rounded-lg border border-slate-300 bg-white px-2 py-1.5 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    <option value="">{any}</option>
                    {options.into_iter().map(|(v, l)| {
                        let selected = current.as_deref() == Some(v.as_str());
                        view! { <option value=v selected=selected>{l}</option> }
                    }).collect_view()}
                </select>
            </div>
        }
    }

    fn kpi(label: &'static str, value: String, detail: String) -> impl IntoView {
        view! {
            <div class="rounded-xl border border-slate-200 bg-white p-3">
                <dt class="text-xs font-medium text-slate-500">{label}</dt>
                <dd class="mt-1 text-lg font-semibold tabular-nums text-slate-900">{value}</dd>
                <dd class="text-xs text-slate-500">{detail}</dd>
            </div>
        }
    }

    #[component]
    fn ReportBody(report: Report, options: Options) -> impl IntoView {
        let f = report.filter.clone();
        let t = report.totals.clone();
        let p = report.previous.clone();
        let days = (f.to - f.from).num_days() + 1;
        let query = serde_urlencoded::to_string(ReportParams::of(&f)).unwrap_or_default();
        let labels: Vec<String> = report.series.iter().map(|s| s.label.clone()).collect();
        let per =
            |g: fn(&Figures) -> Option<f64>| report.series.iter().map(|s| g(&s.figures)).collect::<Vec<_>>();
        let links = |c: Count| {
            report.series.iter().map(|s| Some(drill(&report, c, s.start, s.end, None))).collect::<Vec<_>>()
        };
        let no_links = vec![None; report.series.len()];
        let (range_start, range_end) = (
            report.series.first().map(|s| s.start).unwrap_or_else(Utc::now),
            report.series.last().map(|s| s.end).unwrap_or_else(Utc::now),
        );
        let volume = vec![
            Series {
                name: "Opened".into(),
                values: per(|f| Some(f.opened as f64)),
                links: links(Count::Opened),
            },
            Series {
                name: "Resolved".into(),
                values: per(|f| Some(f.resolved as f64)),
                links: links(Count::Resolved),
            },
            Series {
                name: "Abandoned".into(),
                values: per(|f| Some(f.abandoned as f64)),
                links: links(Count::Abandoned),
            },
        ];
        let duration_series = |g: fn(&Figures) -> &Summary, c: Option<Count>| {
            let l = match c {
                Some(c) => links(c),
                None => no_links.clone(),
            };
            vec![
                Series {
                    name: "p50".into(),
                    values: per_summary(&report, g, |s| s.p50_ms),
                    links: l.clone(),
                },
                Series { name: "p90".into(), values: per_summary(&report, g, |s| s.p90_ms), links: l },
            ]
        };
        let reasons: Vec<(String, f64, Option<String>)> = report
            .support_types
            .iter()
            .flat_map(|ty| {
                let r = &report;
                ty.figures.reasons.iter().map(move |(id, n)| {
                    let label = r
                        .reasons
                        .iter()
                        .find(|x| x.id == *id)
                        .map(|x| {
                            format!(
                                "{} · {}{}",
                                ty.name,
                                x.label,
                                if x.archived { " (archived)" } else { "" }
                            )
                        })
                        .unwrap_or_else(|| format!("{} · (removed reason)", ty.name));
                    let mut d = drill(r, Count::Reason, range_start, range_end, Some(&id.to_string()));
                    if r.filter.support_type_id.is_none() {
                        d.push_str(&format!("&support_type_id={}", ty.support_type_id));
                    }
                    (label, *n as f64, Some(d))
                })
            })
            .collect();
        let mut reasons = reasons;
        reasons.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let top_reason = reasons.first().map(|r| r.0.clone());
        let more_reasons = reasons.len().saturating_sub(MAX_REASON_BARS);
        reasons.truncate(MAX_REASON_BARS);
        let csat_bars: Vec<(String, f64, Option<String>)> =
            (1..=5).map(|s| (format!("{s} of 5"), t.csat.distribution[s - 1] as f64, None)).collect();
        let handoffs: Vec<(String, f64, Option<String>)> =
            t.handoffs.iter().map(|(r, n)| (r.replace('_', " "), *n as f64, None)).collect();
        let bins = wait_bins(&t);
        let source_line = format!(
            "Days are counted in {}{}. {}",
            report.time_zone,
            if f.time_zone.is_none() { " (the account's time zone)" } else { "" },
            match report.source {
                ReportSource::Rollups => "Read from the daily rollups.",
                ReportSource::Facts =>
                    "Computed from the sessions' facts (a tag, hours or another time zone).",
            }
        );
        let today = Utc::now().date_naive();
        let preset = |d: i64| {
            let q = ReportParams {
                from: Some(today - chrono::Duration::days(d - 1)),
                to: Some(today),
                ..ReportParams::of(&f)
            };
            format!("/admin/reports?{}", serde_urlencoded::to_string(q).unwrap_or_default())
        };
        let table_rows: Vec<Vec<(&'static str, String)>> = report
            .series
            .iter()
            .map(|s| reports::table_row(&s.label, &s.figures))
            .chain([reports::table_row("Total", &t)])
            .collect();
        let header: Vec<&'static str> = reports::table_row("", &t).into_iter().map(|(k, _)| k).collect();
        view! {
            <form method="get" action="/admin/reports" class="grid grid-cols-2 gap-3 rounded-xl border border-slate-200 bg-white p-4 sm:grid-cols-4 lg:grid-cols-8" aria-label="Report filters">
                <div>
                    <label for="report-from" class="block text-xs font-medium text-slate-600">"From"</label>
                    <input id="report-from" type="date" name="from" value=f.from.to_string() class="mt-1 w-full rounded-lg border border-slate-300 px-2 py-1 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                </div>
                <div>
                    <label for="report-to" class="block text-xs font-medium text-slate-600">"To"</label>
                    <input id="report-to" type="date" name="to" value=f.to.to_string() class="mt-1 w-full rounded-lg border border-slate-300 px-2 py-1 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                </div>
                {select("group", "Group by", "Day", vec![("hour".into(), "Hour".into()), ("week".into(), "Week".into())],
                    (f.group != Grouping::Day).then(|| f.group.as_str().to_owned()))}
                {select("support_type_id", "Support type", "All types", options.types, f.support_type_id.map(|x| x.to_string()))}
                {select("agent_id", "Agent", "All agents", options.agents, f.agent_id.map(|x| x.to_string()))}
                {select("tag_id", "Tag", "Any tag", options.tags, f.tag_id.map(|x| x.to_string()))}
                <div>
                    <label for="report-tz" class="block text-xs font-medium text-slate-600">"Time zone"</label>
                    <input id="report-tz" name="time_zone" value=f.time_zone.clone().unwrap_or_default() placeholder=report.time_zone.clone()
                        class="mt-1 w-full rounded-lg border border-slate-300 px-2 py-1 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"/>
                </div>
                {f.account_id.map(|a| view! { <input type="hidden" name="account_id" value=a.to_string()/> })}
                <div class="flex items-end">
                    <button type="submit" class="w-full rounded-lg bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white hover:bg-indigo-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2">"Apply"</button>
                </div>
            </form>
            <div class="mt-3 flex flex-wrap items-center justify-between gap-2 text-sm">
                <nav aria-label="Date presets" class="flex flex-wrap gap-2">
                    <a href=preset(1) class="rounded-lg border border-slate-300 px-2 py-1 hover:bg-slate-50">"Today"</a>
                    <a href=preset(7) class="rounded-lg border border-slate-300 px-2 py-1 hover:bg-slate-50">"Last 7 days"</a>
                    <a href=preset(30) class="rounded-lg border border-slate-300 px-2 py-1 hover:bg-slate-50">"Last 30 days"</a>
                    <a href=preset(90) class="rounded-lg border border-slate-300 px-2 py-1 hover:bg-slate-50">"Last 90 days"</a>
                </nav>
                <div class="flex flex-wrap gap-3">
                    <a href=format!("/api/v1/reports/export.csv?{query}") class="text-indigo-700 hover:underline" download="">"Download the table (CSV)"</a>
                    <a href=format!("/api/v1/reports/sessions.csv?{query}") class="text-indigo-700 hover:underline" download="">"Download every session (CSV)"</a>
                </div>
            </div>
            <p class="mt-2 text-xs text-slate-500" data-testid="report-source">{source_line}</p>

            <dl class="mt-4 grid grid-cols-2 gap-3 sm:grid-cols-3 lg:grid-cols-6">
                {kpi("Opened", t.opened.to_string(), format!("{} abandoned ({})", t.abandoned, pct(t.abandonment_rate)))}
                {kpi("Resolved", t.resolved.to_string(), format!("{} reopened", t.reopened))}
                {kpi("Wait, median", t.wait.p50_ms.map(secs).unwrap_or_else(|| "–".into()), format!("p90 {}", t.wait.p90_ms.map(secs).unwrap_or_else(|| "–".into())))}
                {kpi("First response, median", t.first_response.p50_ms.map(secs).unwrap_or_else(|| "–".into()), format!("p90 {}", t.first_response.p90_ms.map(secs).unwrap_or_else(|| "–".into())))}
                {kpi("Queue SLA met", pct(t.queue_sla.ratio()), format!("{} of {}", t.queue_sla.met, t.queue_sla.total))}
                {kpi("CSAT", t.csat.mean.map(|m| format!("{m:.2}")).unwrap_or_else(|| "–".into()), format!("{} responses ({} of resolved)", t.csat.n, pct(t.csat.response_rate)))}
            </dl>

            {business_hours(&t)}

            <div class="mt-6 grid gap-4 lg:grid-cols-2">
                <BarChart id="volume".into() title="Sessions opened, resolved and abandoned".into()
                    takeaway=takeaway("sessions opened", Some(t.opened as f64), (p.opened > 0).then_some(p.opened as f64), count, days)
                    desc=format!("{} opened, {} resolved and {} abandoned, per {}.", t.opened, t.resolved, t.abandoned, f.group.as_str())
                    definition="Opened and abandoned count at the session's creation; resolved at its last resolution, so a reopened session counts once. Each bar lists its sessions.".into()
                    labels=labels.clone() series=volume fmt=count/>
                <LineChart id="wait".into() title="Wait time".into()
                    takeaway=takeaway("median wait", t.wait.p50_ms, p.wait.p50_ms, secs, days)
                    desc=format!("Wait per {}: {}.", f.group.as_str(), summary_line(&t.wait))
                    definition="From the session's creation to its first assignment, to a person or a bot. Percentiles from log-spaced histograms, within 4.8% of the exact value.".into()
                    labels=labels.clone() series=duration_series(|f| &f.wait, Some(Count::Opened)) fmt=secs/>
                <LineChart id="first-response".into() title="Human first response time".into()
                    takeaway=takeaway("median human first response", t.first_response.p50_ms, p.first_response.p50_ms, secs, days)
                    desc=format!("Human first response per {}: {}.", f.group.as_str(), summary_line(&t.first_response))
                    definition="From the moment a person first owns the session (after any bot) to the first reply by a person, credited to whoever replied. A bot's time never counts.".into()
                    labels=labels.clone() series=duration_series(|f| &f.first_response, Some(Count::FirstResponse)) fmt=secs/>
                <LineChart id="resolution".into() title="Resolution time".into()
                    takeaway=takeaway("median resolution time", t.resolution.p50_ms, p.resolution.p50_ms, secs, days)
                    desc=format!("Resolution time per {}: {}.", f.group.as_str(), summary_line(&t.resolution))
                    definition="From creation to the last resolution; reopens are counted as their own figure.".into()
                    labels=labels.clone() series=duration_series(|f| &f.resolution, Some(Count::Resolved)) fmt=secs/>
                <HBarChart id="wait-distribution".into() title="How long customers waited".into()
                    takeaway=format!("{} of sessions waited under a minute.", pct(bins.first_minute))
                    desc="The number of sessions per band of waiting time.".into()
                    definition="The same waits as the wait chart, in bands.".into()
                    bars=bins.bars fmt=count/>
                <HBarChart id="reasons".into() title="Resolution reasons".into()
                    takeaway=top_reason.map(|r| format!("The most common reason: {r}.")).unwrap_or_else(|| "No session was resolved with a reason in this period.".into())
                    desc="Sessions resolved per support type and reason.".into()
                    definition=format!("The reason chosen at the last resolution; archived reasons stay on old sessions. Each bar lists its sessions.{}",
                        if more_reasons > 0 { format!(" The {MAX_REASON_BARS} most common are drawn; {more_reasons} more are in the CSV of every session.") } else { String::new() })
                    bars=reasons fmt=count/>
                <HBarChart id="csat".into() title="Customer satisfaction".into()
                    takeaway=takeaway("average CSAT", t.csat.mean, p.csat.mean, |v| format!("{v:.2}"), days)
                    desc=format!("{} ratings; response rate {}.", t.csat.n, pct(t.csat.response_rate))
                    definition="Ratings of the sessions resolved in the period, 1 (worst) to 5; the response rate is ratings per resolved session.".into()
                    bars=csat_bars fmt=count/>
                <HBarChart id="handoffs".into() title="Bots: handoffs by reason".into()
                    takeaway=format!("Bots took part in {} resolved sessions, {} without a person (containment {}); {} were handed to a person.",
                        t.bot_involved, t.bot_only, pct((t.bot_involved > 0).then(|| t.bot_only as f64 / t.bot_involved as f64)), t.handed_off)
                    desc="Handoffs from a bot to a person, per reason, for the sessions resolved in the period.".into()
                    definition="Containment is bot-only resolutions per resolution a bot took part in; a person taking over counts as the handoff reason \"takeover\".".into()
                    bars=handoffs fmt=count/>
            </div>

            <section aria-labelledby="agents-heading" class="mt-8">
                <h2 id="agents-heading" class="text-base font-semibold">"Per agent"</h2>
                <div class="mt-2 overflow-x-auto rounded-xl border border-slate-200 bg-white">
                    <table class="min-w-full text-sm" data-testid="report-agents">
                        <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                            <tr>
                                <th scope="col" class="px-4 py-2">"Agent"</th>
                                <th scope="col" class="px-4 py-2">"Handled"</th>
                                <th scope="col" class="px-4 py-2">"Handle time p50 / p90"</th>
                                <th scope="col" class="px-4 py-2">"First response p50 / p90 (n)"</th>
                                <th scope="col" class="px-4 py-2">"CSAT (n)"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {report.agents.iter().map(|a| {
                                let fg = &a.figures;
                                let pair = |s: &Summary| format!("{} / {}", s.p50_ms.map(secs).unwrap_or_else(|| "–".into()), s.p90_ms.map(secs).unwrap_or_else(|| "–".into()));
                                view! {
                                    <tr>
                                        <td class="px-4 py-2">{a.name.clone()}{a.is_bot.then_some(" (bot)")}</td>
                                        <td class="px-4 py-2 tabular-nums">{fg.resolved}</td>
                                        <td class="px-4 py-2 tabular-nums">{pair(&fg.handle)}</td>
                                        <td class="px-4 py-2 tabular-nums">{format!("{} ({})", pair(&fg.first_response), fg.first_response.n)}</td>
                                        <td class="px-4 py-2 tabular-nums">{format!("{} ({})", fg.csat.mean.map(|m| format!("{m:.2}")).unwrap_or_else(|| "–".into()), fg.csat.n)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                    {report.agents.is_empty().then(|| view! { <p class="px-4 py-3 text-sm text-slate-500">"No agent handled a session in this period."</p> })}
                </div>
            </section>

            <section aria-labelledby="types-heading" class="mt-8">
                <h2 id="types-heading" class="text-base font-semibold">"Per support type"</h2>
                <div class="mt-2 overflow-x-auto rounded-xl border border-slate-200 bg-white">
                    <table class="min-w-full text-sm" data-testid="report-types">
                        <thead class="bg-slate-50 text-left text-xs uppercase tracking-wide text-slate-500">
                            <tr>
                                <th scope="col" class="px-4 py-2">"Support type"</th>
                                <th scope="col" class="px-4 py-2">"Opened"</th>
                                <th scope="col" class="px-4 py-2">"Resolved"</th>
                                <th scope="col" class="px-4 py-2">"Wait p50 / p90"</th>
                                <th scope="col" class="px-4 py-2">"Queue SLA"</th>
                                <th scope="col" class="px-4 py-2">"First-response SLA"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {report.support_types.iter().map(|ty| {
                                let fg = &ty.figures;
                                view! {
                                    <tr>
                                        <td class="px-4 py-2">{ty.name.clone()}</td>
                                        <td class="px-4 py-2 tabular-nums">{fg.opened}</td>
                                        <td class="px-4 py-2 tabular-nums">{fg.resolved}</td>
                                        <td class="px-4 py-2 tabular-nums">{format!("{} / {}", fg.wait.p50_ms.map(secs).unwrap_or_else(|| "–".into()), fg.wait.p90_ms.map(secs).unwrap_or_else(|| "–".into()))}</td>
                                        <td class="px-4 py-2 tabular-nums">{format!("{} ({} of {})", pct(fg.queue_sla.ratio()), fg.queue_sla.met, fg.queue_sla.total)}</td>
                                        <td class="px-4 py-2 tabular-nums">{format!("{} ({} of {})", pct(fg.first_response_sla.ratio()), fg.first_response_sla.met, fg.first_response_sla.total)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </section>

            <details class="mt-8 rounded-xl border border-slate-200 bg-white p-4 text-sm">
                <summary class="cursor-pointer font-medium text-indigo-700 focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500">
                    "Every figure per period (the CSV's rows)"
                </summary>
                <div class="mt-2 overflow-x-auto">
                    <table class="min-w-full text-xs" data-testid="report-table">
                        <thead class="text-left text-slate-500">
                            <tr>{header.into_iter().map(|h| view! { <th scope="col" class="px-2 py-1 font-medium">{h}</th> }).collect_view()}</tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {table_rows.into_iter().map(|r| view! {
                                <tr>{r.into_iter().map(|(_, v)| view! { <td class="px-2 py-1 tabular-nums">{v}</td> }).collect_view()}</tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        }
    }

    /// Wall-clock durations beside the same durations counted in business
    /// hours, when the range has sessions of types with business hours.
    fn business_hours(t: &Figures) -> Option<impl IntoView + use<>> {
        let bh = &t.business_hours;
        if bh.wait.n + bh.first_response.n + bh.resolution.n == 0 {
            return None;
        }
        let cell = |s: &Summary| match (s.p50_ms, s.p90_ms) {
            (Some(p50), Some(p90)) => format!("p50 {} · p90 {} (n {})", secs(p50), secs(p90), s.n),
            _ => "–".to_owned(),
        };
        let rows = [
            ("Wait", cell(&t.wait), cell(&bh.wait)),
            ("Human first response", cell(&t.first_response), cell(&bh.first_response)),
            ("Resolution", cell(&t.resolution), cell(&bh.resolution)),
        ];
        Some(view! {
            <section aria-labelledby="bh-heading" class="mt-6 rounded-xl border border-slate-200 bg-white p-4" data-testid="business-hours">
                <h2 id="bh-heading" class="text-sm font-semibold text-slate-900">"In business hours"</h2>
                <p class="mt-1 text-xs text-slate-500">
                    "The same durations counting only the hours the session's support type was open, for the types that have business hours (n says how many sessions); wall-clock values count every session."
                </p>
                <div class="mt-2 overflow-x-auto">
                    <table class="min-w-full text-sm">
                        <thead class="text-left text-xs uppercase tracking-wide text-slate-500">
                            <tr>
                                <th scope="col" class="px-2 py-1">"Duration"</th>
                                <th scope="col" class="px-2 py-1">"Wall clock"</th>
                                <th scope="col" class="px-2 py-1">"Business hours"</th>
                            </tr>
                        </thead>
                        <tbody class="divide-y divide-slate-100">
                            {rows.into_iter().map(|(label, wall, open)| view! {
                                <tr>
                                    <th scope="row" class="px-2 py-1 text-left font-medium">{label}</th>
                                    <td class="px-2 py-1 tabular-nums">{wall}</td>
                                    <td class="px-2 py-1 tabular-nums">{open}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </section>
        })
    }

    /// The reasons chart draws the most common ones.
    const MAX_REASON_BARS: usize = 15;

    fn per_summary(
        r: &Report,
        g: fn(&Figures) -> &Summary,
        pick: fn(&Summary) -> Option<f64>,
    ) -> Vec<Option<f64>> {
        r.series.iter().map(|s| pick(g(&s.figures))).collect()
    }

    struct Bins {
        bars: Vec<(String, f64, Option<String>)>,
        first_minute: Option<f64>,
    }

    /// The wait histogram in readable bands (each bucket falls in the band
    /// of its lower bound).
    fn wait_bins(t: &Figures) -> Bins {
        const BANDS: [(&str, f64); 8] = [
            ("under 30 s", 30_000.0),
            ("30 s – 1 min", 60_000.0),
            ("1 – 2 min", 120_000.0),
            ("2 – 5 min", 300_000.0),
            ("5 – 10 min", 600_000.0),
            ("10 – 30 min", 1_800_000.0),
            ("30 – 60 min", 3_600_000.0),
            ("over 1 h", f64::INFINITY),
        ];
        let mut counts = [0i64; 8];
        for (b, n) in &t.wait_histogram {
            let lo = histogram::lower_bound(*b);
            let i = BANDS.iter().position(|(_, hi)| lo < *hi).unwrap_or(7);
            counts[i] += n;
        }
        let total: i64 = counts.iter().sum();
        Bins {
            bars: BANDS.iter().zip(counts).map(|((l, _), n)| ((*l).to_owned(), n as f64, None)).collect(),
            first_minute: (total > 0).then(|| (counts[0] + counts[1]) as f64 / total as f64),
        }
    }
}
