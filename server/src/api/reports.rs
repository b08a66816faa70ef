//! `/reports`: the figures of a date range, the sessions behind a figure,
//! and CSV exports, for admins and supervisors (the scope rule's
//! whole-account readers).

use axum::{
    Json,
    body::Body,
    extract::State,
    http::{HeaderValue, header},
    response::Response,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use domain::{
    actor::Actor,
    reports::{self, Count, CountedSession, DrillDown, ExportRow, Report, ReportParams},
    sessions::Page,
    types::{AccountId, AgentId, ReasonId, SupportTypeId, TagId},
};
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;
use uuid::Uuid;

use super::{ApiActor, ApiError, ApiQuery, error::ErrorBody};

/// A report: totals, the series, per agent and per type, each duration as
/// n, mean, p50 and p90 (milliseconds). The days are counted in the
/// account's time zone unless `time_zone` names another.
#[utoipa::path(get, path = "/api/v1/reports", tag = "reports", params(ReportParams),
    responses((status = 200, body = Report), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn report(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> Result<Json<Report>, ApiError> {
    Ok(Json(reports::report(&pool, &actor, q.into_filter(Utc::now().date_naive())).await?))
}

/// What the bots did over the report's days: sessions with a bot, their
/// confirmed and assumed resolutions (less those reopened since), handoffs
/// by reason and the time to them, suggestion acceptance and drafts. Each
/// figure's formula is in the field's description on the reports page.
#[utoipa::path(get, path = "/api/v1/reports/bots", tag = "reports", params(ReportParams),
    responses((status = 200, body = domain::reports::bots::BotReport), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn bots(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> Result<Json<domain::reports::bots::BotReport>, ApiError> {
    Ok(Json(domain::reports::bots::bots(&pool, &actor, q.into_filter(Utc::now().date_naive())).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DrillQuery {
    /// What the figure counts: opened, abandoned, resolved, first_response,
    /// reason, handoff or bot_only.
    #[param(value_type = String)]
    pub count: Count,
    /// The figure's period (a series point's `start` and `end`).
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[param(value_type = Option<Uuid>)]
    pub account_id: Option<AccountId>,
    #[param(value_type = Option<Uuid>)]
    pub support_type_id: Option<SupportTypeId>,
    #[param(value_type = Option<Uuid>)]
    pub agent_id: Option<AgentId>,
    #[param(value_type = Option<Uuid>)]
    pub tag_id: Option<TagId>,
    #[param(value_type = Option<Uuid>)]
    pub reason_id: Option<ReasonId>,
    pub cursor: Option<String>,
    pub limit: Option<i64>,
}

/// The sessions one figure counts, in the order it counts them: what a bar
/// of the reports page links to.
#[utoipa::path(get, path = "/api/v1/reports/sessions", tag = "reports", params(DrillQuery),
    responses((status = 200, body = domain::sessions::Page<domain::reports::CountedSession>),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn sessions(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<DrillQuery>,
) -> Result<Json<Page<CountedSession>>, ApiError> {
    let d = DrillDown {
        count: q.count,
        start: q.start,
        end: q.end,
        account_id: q.account_id,
        support_type_id: q.support_type_id,
        agent_id: q.agent_id,
        tag_id: q.tag_id,
        reason_id: q.reason_id,
    };
    Ok(Json(reports::sessions_behind(&pool, &actor, &d, q.cursor.as_deref(), q.limit).await?))
}

fn csv_line<I, T>(cells: I) -> Result<Bytes, domain::Error>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cells).map_err(|e| domain::Error::internal("a CSV row", e))?;
    w.into_inner().map(Bytes::from).map_err(|e| domain::Error::internal("a CSV row", e))
}

fn csv_response(name: &str, body: Body) -> Response {
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// The report's table as CSV, one row per period and a total row: the
/// same cells as the page's table (UTF-8, no HTML entities).
#[utoipa::path(get, path = "/api/v1/reports/export.csv", tag = "reports", params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_periods(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let r = reports::report(&pool, &actor, q.into_filter(Utc::now().date_naive())).await?;
    let mut out = Vec::new();
    let header: Vec<&str> = reports::table_row("", &r.totals).into_iter().map(|(k, _)| k).collect();
    out.extend_from_slice(&csv_line(header)?);
    for p in &r.series {
        out.extend_from_slice(&csv_line(
            reports::table_row(&p.label, &p.figures).into_iter().map(|(_, v)| v),
        )?);
    }
    out.extend_from_slice(&csv_line(reports::table_row("Total", &r.totals).into_iter().map(|(_, v)| v))?);
    let name = format!("report-{}-{}.csv", r.filter.from, r.filter.to);
    Ok(csv_response(&name, Body::from(out)))
}

/// Every session created in the range, one row each, streamed page by page
/// so that a large range is never held in memory.
#[utoipa::path(get, path = "/api/v1/reports/sessions.csv", tag = "reports", params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_sessions(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    const PAGE: i64 = 1000;
    let filter = q.into_filter(Utc::now().date_naive());
    // The first page before the response starts, so that a refusal or a bad
    // filter is a proper 4xx rather than a broken download.
    let (first, next) = reports::export_sessions(&pool, &actor, &filter, None, PAGE).await?;
    let name = format!("sessions-{}-{}.csv", filter.from, filter.to);
    let head = csv_line(ExportRow::HEADER)?;
    let rows = encode(&first)?;
    struct State {
        pool: PgPool,
        actor: Actor,
        filter: domain::reports::ReportFilter,
        next: Option<(DateTime<Utc>, Uuid)>,
    }
    let rest = futures_util::stream::unfold(Some(State { pool, actor, filter, next }), |state| async move {
        let mut st = state?;
        let after = st.next?;
        match reports::export_sessions(&st.pool, &st.actor, &st.filter, Some(after), PAGE).await {
            Ok((rows, next)) => {
                st.next = next;
                Some((encode(&rows).map_err(std::io::Error::other), Some(st)))
            }
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
        }
    });
    let start = futures_util::stream::iter([Ok::<Bytes, std::io::Error>(head), Ok(rows)]);
    Ok(csv_response(&name, Body::from_stream(futures_util::StreamExt::chain(start, rest))))
}

fn encode(rows: &[ExportRow]) -> Result<Bytes, domain::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(r.cells()).map_err(|e| domain::Error::internal("a CSV row", e))?;
    }
    w.into_inner().map(Bytes::from).map_err(|e| domain::Error::internal("a CSV row", e))
}

/// The live queue monitor's snapshot: per support type, waiting now, the
/// longest wait, SLA breaches in the last hour and staffing; every agent's
/// presence and load; the longest-waiting sessions. Admins and supervisors
/// (a global admin may leave out `account_id`: every account).
#[utoipa::path(get, path = "/api/v1/monitor", tag = "reports", params(super::AccountQuery),
    responses((status = 200, body = domain::monitor::Monitor), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn monitor(
    State(pool): State<PgPool>,
    ApiActor(actor): ApiActor,
    ApiQuery(q): ApiQuery<super::AccountQuery>,
) -> Result<Json<domain::monitor::Monitor>, ApiError> {
    Ok(Json(domain::monitor::snapshot(&pool, &actor, q.account_id).await?))
}
