//! What the bots did: how many sessions they took part in, how many they
//! resolved (confirmed by the customer or assumed from their silence, less
//! those reopened since), why they handed off and how soon, and what people
//! did with the replies they suggested or drafted.
//!
//! Read straight from the records the bots leave (assignments, handoffs,
//! `bot_resolutions`, suggestions, drafts) over the report's days, for the
//! whole accounts the caller may read, like every report. Each figure's
//! formula is in [`formula`]; the reports page prints it beside the figure.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{ReportFilter, Summary};

/// How each figure is computed, in words: shown beside it.
pub mod formula {
    pub const INVOLVED: &str =
        "Sessions a bot was assigned to in the period, each counted once however often it had one.";
    pub const CONFIRMED: &str =
        "Sessions a bot resolved in the period because the customer pressed \u{201c}That helped\u{201d}.";
    pub const ASSUMED: &str = "Sessions a bot resolved in the period because the customer wrote nothing for 24 h \
         after the bot's answer (not after a question it asked).";
    pub const DEDUCTED: &str =
        "Of the confirmed and assumed resolutions, those whose session was reopened afterwards: taken back.";
    pub const RESOLUTION_RATE: &str = "(confirmed + assumed \u{2212} reopened) \u{f7} sessions with a bot.";
    pub const HANDOFFS: &str = "Handoffs from a bot to people in the period, by reason (takeover: a person \
         replied in the bot's session).";
    pub const TIME_TO_HANDOFF: &str = "From the start of the bot's assignment to its handoff, per handoff: \
         p50 and p90 (percentile_cont, exact) and the mean.";
    pub const SUGGESTION_ACCEPTANCE: &str = "(accepted + edited) \u{f7} suggestions shown to agents in the \
         period; edited means the agent changed the text before sending.";
    pub const DRAFTS: &str = "Replies bots in mode drafts wrote in the period: sent (of which a person \
         edited some first), discarded, expired (the bot's assignment ended before anyone decided), or still \
         waiting.";
}

/// People's use of the replies suggested to them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SuggestionFigures {
    pub shown: i64,
    pub accepted: i64,
    pub edited: i64,
    pub dismissed: i64,
    /// (accepted + edited) / shown.
    pub acceptance_rate: Option<f64>,
}

/// Drafts of bots in mode `drafts`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DraftFigures {
    pub drafted: i64,
    pub sent: i64,
    /// Of `sent`, after a person changed the text.
    pub edited: i64,
    pub discarded: i64,
    /// The bot's assignment ended before anyone decided.
    pub expired: i64,
    pub waiting: i64,
}

/// What the bots did in a report's period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotReport {
    pub filter: ReportFilter,
    pub time_zone: String,
    pub involved: i64,
    pub confirmed: i64,
    pub assumed: i64,
    /// Confirmed or assumed resolutions whose session was reopened since.
    pub deducted: i64,
    pub resolution_rate: Option<f64>,
    /// Handoffs by reason.
    pub handoffs: BTreeMap<String, i64>,
    pub time_to_handoff: Summary,
    pub suggestions: SuggestionFigures,
    pub drafts: DraftFigures,
}

impl BotReport {
    /// (confirmed + assumed − deducted) / involved.
    pub fn rate(involved: i64, confirmed: i64, assumed: i64, deducted: i64) -> Option<f64> {
        (involved > 0).then(|| (confirmed + assumed - deducted).max(0) as f64 / involved as f64)
    }

    pub fn handoffs_total(&self) -> i64 {
        self.handoffs.values().sum()
    }
}

impl SuggestionFigures {
    pub fn new(shown: i64, accepted: i64, edited: i64, dismissed: i64) -> Self {
        let acceptance_rate = (shown > 0).then(|| (accepted + edited) as f64 / shown as f64);
        Self { shown, accepted, edited, dismissed, acceptance_rate }
    }
}

#[cfg(feature = "server")]
pub use server::bots;

#[cfg(feature = "server")]
mod server {
    use sqlx::PgPool;

    use super::*;
    use crate::{
        Result,
        actor::Actor,
        reports::query::{Reading, midnight, reading},
    };

    /// The bots' report over the filter's days (account, support type and
    /// agent, here a bot, narrow it; a tag does not). Whole-account readers,
    /// as every report.
    pub async fn bots(pool: &PgPool, actor: &Actor, mut filter: ReportFilter) -> Result<BotReport> {
        let Reading { account, zone_name, tz, .. } = reading(pool, actor, &mut filter).await?;
        let (from, to) = (midnight(tz, filter.from), midnight(tz, filter.to + chrono::Duration::days(1)));
        let account = account.map(|a| a.0);
        let ty = filter.support_type_id.map(|t| t.0);
        let bot = filter.agent_id.map(|a| a.0);

        let involved = sqlx::query_scalar!(
            r#"SELECT count(DISTINCT a.session_id) AS "n!" FROM assignments a
               JOIN agents g ON g.id = a.agent_id AND g.role = 'bot'
               JOIN sessions s ON s.id = a.session_id
               WHERE a.started_at >= $1 AND a.started_at < $2
                 AND ($3::uuid IS NULL OR s.account_id = $3) AND ($4::uuid IS NULL OR s.support_type_id = $4)
                 AND ($5::uuid IS NULL OR a.agent_id = $5)"#,
            from,
            to,
            account,
            ty,
            bot
        )
        .fetch_one(pool)
        .await?;

        let (mut confirmed, mut assumed, mut deducted) = (0, 0, 0);
        for r in sqlx::query!(
            r#"SELECT r.kind, count(*) AS "n!", count(*) FILTER (WHERE s.reopened_at > r.resolved_at) AS "reopened!"
               FROM bot_resolutions r JOIN sessions s ON s.id = r.session_id
               WHERE r.resolved_at >= $1 AND r.resolved_at < $2
                 AND ($3::uuid IS NULL OR r.account_id = $3) AND ($4::uuid IS NULL OR r.support_type_id = $4)
                 AND ($5::uuid IS NULL OR r.bot_id = $5)
               GROUP BY r.kind"#,
            from,
            to,
            account,
            ty,
            bot
        )
        .fetch_all(pool)
        .await?
        {
            match r.kind.as_str() {
                "confirmed" => confirmed = r.n,
                _ => assumed += r.n,
            }
            deducted += r.reopened;
        }

        // Each handoff with the time since its bot's assignment began.
        let handoffs: BTreeMap<String, i64> = sqlx::query!(
            r#"SELECT h.reason, count(*) AS "n!" FROM handoffs h JOIN sessions s ON s.id = h.session_id
               WHERE h.created_at >= $1 AND h.created_at < $2
                 AND ($3::uuid IS NULL OR h.account_id = $3) AND ($4::uuid IS NULL OR s.support_type_id = $4)
                 AND ($5::uuid IS NULL OR h.from_agent_id = $5)
               GROUP BY h.reason"#,
            from,
            to,
            account,
            ty,
            bot
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.reason, r.n))
        .collect();
        let t = sqlx::query!(
            r#"WITH d AS (
                 SELECT extract(epoch FROM h.created_at - st.started_at)::float8 * 1000 AS ms
                 FROM handoffs h JOIN sessions s ON s.id = h.session_id
                 JOIN LATERAL (SELECT max(a.started_at) AS started_at FROM assignments a
                               WHERE a.session_id = h.session_id AND a.agent_id = h.from_agent_id
                                 AND a.started_at <= h.created_at) st ON st.started_at IS NOT NULL
                 WHERE h.created_at >= $1 AND h.created_at < $2
                   AND ($3::uuid IS NULL OR h.account_id = $3) AND ($4::uuid IS NULL OR s.support_type_id = $4)
                   AND ($5::uuid IS NULL OR h.from_agent_id = $5))
               SELECT count(*) AS "n!", avg(ms) AS mean,
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50,
                      percentile_cont(0.9) WITHIN GROUP (ORDER BY ms) AS p90
               FROM d"#,
            from,
            to,
            account,
            ty,
            bot
        )
        .fetch_one(pool)
        .await?;
        let time_to_handoff = Summary { n: t.n, mean_ms: t.mean, p50_ms: t.p50, p90_ms: t.p90 };

        // Suggestions are shown to people, so `agent_id` (a bot) does not narrow them.
        let sg = sqlx::query!(
            r#"SELECT count(*) AS "shown!",
                      count(*) FILTER (WHERE g.outcome = 'accepted') AS "accepted!",
                      count(*) FILTER (WHERE g.outcome = 'edited') AS "edited!",
                      count(*) FILTER (WHERE g.outcome = 'dismissed') AS "dismissed!"
               FROM suggestions g JOIN sessions s ON s.id = g.session_id
               WHERE g.created_at >= $1 AND g.created_at < $2
                 AND ($3::uuid IS NULL OR s.account_id = $3) AND ($4::uuid IS NULL OR s.support_type_id = $4)"#,
            from,
            to,
            account,
            ty
        )
        .fetch_one(pool)
        .await?;
        let suggestions = SuggestionFigures::new(sg.shown, sg.accepted, sg.edited, sg.dismissed);

        let dr = sqlx::query!(
            r#"SELECT count(*) AS "drafted!",
                      count(*) FILTER (WHERE d.status = 'sent') AS "sent!",
                      count(*) FILTER (WHERE d.status = 'sent' AND d.edited) AS "edited!",
                      count(*) FILTER (WHERE d.status = 'discarded') AS "discarded!",
                      count(*) FILTER (WHERE d.status = 'expired') AS "expired!",
                      count(*) FILTER (WHERE d.status = 'pending') AS "waiting!"
               FROM bot_drafts d JOIN sessions s ON s.id = d.session_id
               WHERE d.created_at >= $1 AND d.created_at < $2
                 AND ($3::uuid IS NULL OR d.account_id = $3) AND ($4::uuid IS NULL OR s.support_type_id = $4)
                 AND ($5::uuid IS NULL OR d.bot_id = $5)"#,
            from,
            to,
            account,
            ty,
            bot
        )
        .fetch_one(pool)
        .await?;
        let drafts = DraftFigures {
            drafted: dr.drafted,
            sent: dr.sent,
            edited: dr.edited,
            discarded: dr.discarded,
            expired: dr.expired,
            waiting: dr.waiting,
        };

        Ok(BotReport {
            filter,
            time_zone: zone_name,
            involved,
            confirmed,
            assumed,
            deducted,
            resolution_rate: BotReport::rate(involved, confirmed, assumed, deducted),
            handoffs,
            time_to_handoff,
            suggestions,
            drafts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_follow_their_formulas() {
        assert_eq!(BotReport::rate(0, 0, 0, 0), None);
        assert_eq!(BotReport::rate(10, 3, 2, 1), Some(0.4));
        // More reopened than resolved never makes a negative rate.
        assert_eq!(BotReport::rate(4, 0, 0, 1), Some(0.0));
        let s = SuggestionFigures::new(8, 3, 1, 2);
        assert_eq!(s.acceptance_rate, Some(0.5));
        assert_eq!(SuggestionFigures::new(0, 0, 0, 0).acceptance_rate, None);
    }
}
