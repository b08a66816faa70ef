//! Answers for bots and agents: the text provider interface, the built-in
//! retrieval provider, suggested replies and their outcome log.
//!
//! **Retrieval** (the built-in provider, no network) searches the type's
//! canned replies (and the account's type-less ones) and the question and
//! answer pairs of its past resolved sessions ([`harvest`]), never another
//! account's or another type's. Customers do not type the words of the stored
//! answer, so an all-terms query (`websearch_to_tsquery`) matches almost
//! nothing. Instead:
//! - the customer's text is reduced to lexemes in the type's language
//!   (stemming, stop words), and each lexeme of 4+ letters is matched as a
//!   prefix (`deduct:*` finds "deductible");
//! - a document matches on **any** lexeme; each matching lexeme scores its
//!   BM25 inverse document frequency over the type's corpus, times 1.5 where it
//!   is in the title or question (weight A, [`TITLE_WEIGHT`]) plus 1 where it is in the body
//!   (weight B); common words therefore count for little;
//! - trigram similarity (`pg_trgm`) of the title to the customer's text adds
//!   up to [`TRIGRAM_WEIGHT`], which rewards near-verbatim questions.
//!
//! Every step is backed by a GIN index (`canned_responses_search`,
//! `past_answers_search`).
//!
//! **Confidence** is calibrated from the ranking, see [`confidence`].

use serde::{Deserialize, Serialize};

use crate::types::{CannedResponseId, SessionId, text_enum};

/// The weight of the title's trigram similarity (0..1) in the score.
pub const TRIGRAM_WEIGHT: f64 = 1.5;
/// The weight of a lexeme found in the title or question; the body's is 1.
pub const TITLE_WEIGHT: f64 = 1.5;
/// Lexemes at least this long are matched as prefixes.
pub const PREFIX_MIN_LEN: usize = 4;
/// How many suggestions an agent sees.
pub const SUGGESTIONS: i64 = 3;

/// Where an answer came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Source {
    CannedResponse {
        id: CannedResponseId,
    },
    /// An agent's reply in a past resolved session of the same type.
    PastAnswer {
        id: i64,
        session_id: SessionId,
        message_id: i64,
    },
}

text_enum!(
    /// How an answer was produced.
    Method { Retrieval => "retrieval", Llm => "llm" }
);

text_enum!(
    /// What the agent did with a suggestion.
    Outcome {
        /// Sent as it was.
        Accepted => "accepted",
        /// Inserted and changed before sending.
        Edited => "edited",
        Dismissed => "dismissed",
    }
);

text_enum!(
    /// What the provider proposes to do with its text.
    Action {
        /// Send it as the answer.
        Answer => "answer",
        /// The question needs a person (the model's call, from its instructions).
        Handoff => "handoff",
        /// The text is a question back to the customer.
        Clarify => "clarify",
    }
);

/// A provider's typed output: one answer, or none with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// `None` means "no confident answer"; `reason` says why.
    pub text: Option<String>,
    /// 0..1, see [`confidence`].
    pub confidence: f32,
    pub sources: Vec<Source>,
    pub method: Method,
    pub reason: Option<String>,
    pub action: Action,
    /// Set when the preferred provider failed and this answer comes from
    /// the built-in one: what went wrong.
    pub fallback: Option<String>,
}

/// A suggested reply shown to an agent above the composer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suggestion {
    /// Pass back with the outcome.
    pub id: i64,
    /// 1 is the best.
    pub rank: i16,
    /// The title of the canned reply, or the customer question it answered.
    pub title: String,
    pub body: String,
    pub confidence: f32,
    pub score: f64,
    pub method: Method,
    pub sources: Vec<Source>,
}

/// One ranked document of a retrieval.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub source: Source,
    pub title: String,
    pub body: String,
    pub score: f64,
    /// The share of the query's total IDF that this document matched (0..1).
    pub coverage: f64,
}

/// The confidence of the best candidate, from the ranking alone:
///
/// `confidence = 0.6 · coverage₁ + 0.4 · margin`, with
/// `coverage₁` the share of the query's IDF mass that the top document
/// matches, and `margin = (score₁ − score₂) / score₁` (1 when there is no
/// runner-up). A top answer that covers the question's rare words and
/// stands clear of the next one scores high; a tie between two partial
/// matches scores low. `bench/` reports the top-1 accuracy above and below
/// the default threshold, which is how the weights were chosen.
pub fn confidence(ranked: &[Candidate]) -> f32 {
    let Some(top) = ranked.first() else { return 0.0 };
    let margin = match ranked.get(1) {
        Some(next) if top.score > 0.0 => ((top.score - next.score) / top.score).clamp(0.0, 1.0),
        Some(_) => 0.0,
        None => 1.0,
    };
    (0.6 * top.coverage.clamp(0.0, 1.0) + 0.4 * margin) as f32
}

/// The default confidence a bot needs to answer on its own.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// The text a suggestion answers: the customer's messages since the last
/// reply of anyone else (oldest first), at most the last three.
pub fn question_of(history_newest_first: &[(crate::types::SenderKind, String)]) -> String {
    let mut parts: Vec<&str> = history_newest_first
        .iter()
        .take_while(|(kind, _)| *kind == crate::types::SenderKind::Customer)
        .take(3)
        .map(|(_, body)| body.as_str())
        .filter(|b| !b.trim().is_empty())
        .collect();
    parts.reverse();
    parts.join("\n")
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Error, Result,
        actor::Actor,
        sessions::{Lock, visible},
        types::{AccountId, AgentId, SenderKind, SupportTypeId},
    };
    use sqlx::{PgConnection, PgPool};
    use std::{future::Future, pin::Pin};

    /// What a provider answers: the question, in a type of an account.
    #[derive(Debug, Clone)]
    pub struct Context {
        pub account_id: AccountId,
        pub support_type_id: SupportTypeId,
        pub question: String,
        /// The conversation before the question (the bot's context), oldest
        /// first, without the question's own messages.
        pub history: Vec<(SenderKind, String)>,
        /// The type's instructions for the model.
        pub instructions: String,
        /// The type's name.
        pub support_type: String,
        /// The bot's display name.
        pub bot_name: String,
    }

    impl Context {
        /// A bare question, with no history or instructions.
        pub fn question(account_id: AccountId, support_type_id: SupportTypeId, question: &str) -> Self {
            Self {
                account_id,
                support_type_id,
                question: question.to_owned(),
                history: Vec::new(),
                instructions: String::new(),
                support_type: String::new(),
                bot_name: String::new(),
            }
        }
    }

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// A source of answers. Implementations return typed output and never
    /// fail the chat: an error is the caller's cue to fall back.
    pub trait TextProvider: Send + Sync {
        fn answer<'a>(
            &'a self,
            conn: &'a mut PgConnection,
            ctx: &'a Context,
        ) -> BoxFuture<'a, Result<Answer>>;
    }

    /// The built-in provider: [`retrieve`] and [`confidence`].
    pub struct Retrieval;

    impl TextProvider for Retrieval {
        fn answer<'a>(
            &'a self,
            conn: &'a mut PgConnection,
            ctx: &'a Context,
        ) -> BoxFuture<'a, Result<Answer>> {
            Box::pin(async move {
                let ranked = retrieve(conn, ctx.account_id, ctx.support_type_id, &ctx.question, 5).await?;
                Ok(best_of(ranked))
            })
        }
    }

    /// The built-in provider's answer from a ranking: the best document,
    /// with the confidence of the ranking.
    pub fn best_of(ranked: Vec<Candidate>) -> Answer {
        let confidence = confidence(&ranked);
        match ranked.into_iter().next() {
            Some(top) => Answer {
                text: Some(top.body),
                confidence,
                sources: vec![top.source],
                method: Method::Retrieval,
                reason: None,
                action: Action::Answer,
                fallback: None,
            },
            None => Answer {
                text: None,
                confidence: 0.0,
                sources: Vec::new(),
                method: Method::Retrieval,
                reason: Some("nothing in the canned replies or past answers matches the question".into()),
                action: Action::Answer,
                fallback: None,
            },
        }
    }

    /// The best `limit` documents of the type's corpus for `question`, best
    /// first (see the [module](self) for the scoring). Empty when the
    /// question has no searchable words.
    pub async fn retrieve(
        conn: &mut PgConnection,
        account: AccountId,
        support_type: SupportTypeId,
        question: &str,
        limit: i64,
    ) -> Result<Vec<Candidate>> {
        let question: String = question.chars().take(2000).collect();
        let rows = sqlx::query!(
            r#"WITH ty AS (SELECT language FROM support_types WHERE id = $2 AND account_id = $1),
             words AS (
                 SELECT quote_literal(lexeme) || CASE WHEN length(lexeme) >= $4 THEN ':*' ELSE '' END AS txt
                 FROM ty, unnest(to_tsvector(ty.language, $3)) AS t(lexeme, positions, weights)
                 WHERE strpos(lexeme, E'\\') = 0),
             terms AS (SELECT to_tsquery('simple', txt) AS q FROM words),
             anyq AS (SELECT to_tsquery('simple', string_agg(txt, ' | ')) AS q FROM words),
             corpus AS (
                 SELECT (SELECT count(*) FROM canned_responses c
                         WHERE c.account_id = $1 AND (c.support_type_id = $2 OR c.support_type_id IS NULL))
                      + (SELECT count(*) FROM past_answers p WHERE p.support_type_id = $2 AND p.account_id = $1)
                        AS n),
             idf AS (
                 SELECT t.q, ln(1 + (corpus.n - df.df + 0.5) / (df.df + 0.5)) AS idf
                 FROM terms t, corpus,
                 LATERAL (SELECT (SELECT count(*) FROM canned_responses c
                                  WHERE c.account_id = $1 AND (c.support_type_id = $2 OR c.support_type_id IS NULL)
                                    AND c.search @@ t.q)
                               + (SELECT count(*) FROM past_answers p
                                  WHERE p.support_type_id = $2 AND p.account_id = $1 AND p.search @@ t.q)
                                 AS df) df),
             docs AS (
                 SELECT 'canned' AS kind, c.id AS canned_id, NULL::bigint AS past_id, NULL::uuid AS session_id,
                        NULL::bigint AS message_id, c.title, c.body, c.search
                 FROM canned_responses c, anyq
                 WHERE c.account_id = $1 AND (c.support_type_id = $2 OR c.support_type_id IS NULL)
                   AND c.search @@ anyq.q
                 UNION ALL
                 SELECT 'past', NULL, p.id, p.session_id, p.answer_message_id, p.question, p.answer, p.search
                 FROM past_answers p, anyq
                 WHERE p.support_type_id = $2 AND p.account_id = $1 AND p.search @@ anyq.q),
             scored AS (
                 SELECT d.kind, d.canned_id, d.past_id, d.session_id, d.message_id, d.title, d.body,
                        sum(i.idf * ((CASE WHEN ts_filter(d.search, '{a}') @@ i.q THEN $7::float8 ELSE 0 END)
                                   + (CASE WHEN ts_filter(d.search, '{b}') @@ i.q THEN 1 ELSE 0 END))) AS bm25,
                        sum(i.idf) AS matched_idf
                 FROM docs d JOIN idf i ON d.search @@ i.q
                 GROUP BY 1, 2, 3, 4, 5, 6, 7)
             SELECT kind AS "kind!", canned_id, past_id, session_id, message_id, title AS "title!", body AS "body!",
                    (bm25 + $5::float8 * similarity(title, $3))::float8 AS "score!",
                    (matched_idf / NULLIF((SELECT sum(idf) FROM idf), 0))::float8 AS "coverage!"
             FROM scored ORDER BY 8 DESC, canned_id, past_id LIMIT $6"#,
            account.0,
            support_type.0,
            &question,
            PREFIX_MIN_LEN as i32,
            TRIGRAM_WEIGHT,
            limit,
            TITLE_WEIGHT
        )
        .fetch_all(conn)
        .await?;
        rows.into_iter()
            .map(|r| {
                let source = match (r.canned_id, r.past_id, r.session_id, r.message_id) {
                    (Some(id), ..) => Source::CannedResponse { id: CannedResponseId(id) },
                    (None, Some(id), Some(session), Some(message_id)) => {
                        Source::PastAnswer { id, session_id: SessionId(session), message_id }
                    }
                    _ => {
                        return Err(Error::internal("retrieve", format!("a {} row without its ids", r.kind)));
                    }
                };
                Ok(Candidate { source, title: r.title, body: r.body, score: r.score, coverage: r.coverage })
            })
            .collect()
    }

    /// Suggested replies for the session's latest customer messages, logged
    /// so that their outcome can be recorded. Agents (and bots) who may see
    /// the session; the answers come from its own account and type only.
    pub async fn suggestions(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<Vec<Suggestion>> {
        let agent = actor.agent().ok_or_else(|| Error::forbidden("suggestions are for agents"))?;
        let mut tx = pool.begin().await?;
        let session = visible(&mut tx, actor, id, Lock::None).await?;
        let recent = sqlx::query!(
            r#"SELECT id, sender_kind AS "kind: SenderKind", body FROM messages
               WHERE session_id = $1 ORDER BY id DESC LIMIT 10"#,
            id.0
        )
        .fetch_all(&mut *tx)
        .await?;
        let last_customer = recent.first().filter(|m| m.kind == SenderKind::Customer).map(|m| m.id);
        let history: Vec<(SenderKind, String)> = recent.into_iter().map(|m| (m.kind, m.body)).collect();
        let question = question_of(&history);
        if question.is_empty() {
            return Ok(Vec::new());
        }
        let ranked =
            retrieve(&mut tx, session.account_id, session.support_type_id, &question, SUGGESTIONS).await?;
        let top_confidence = confidence(&ranked);
        let mut out = Vec::with_capacity(ranked.len());
        for (i, c) in ranked.iter().enumerate() {
            // The best one carries the calibrated confidence; the others
            // are scaled by their score against it.
            let conf = if i == 0 {
                top_confidence
            } else {
                (f64::from(top_confidence) * c.score / ranked[0].score.max(f64::EPSILON)) as f32
            };
            let sources = vec![c.source.clone()];
            let rank = i as i16 + 1;
            let sid = sqlx::query_scalar!(
                "INSERT INTO suggestions (session_id, agent_id, message_id, rank, body, confidence, method, sources)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                id.0,
                agent.id.0,
                last_customer,
                rank,
                &c.body,
                conf.clamp(0.0, 1.0),
                Method::Retrieval.as_str(),
                serde_json::to_value(&sources).map_err(|e| Error::internal("suggestion sources", e))?
            )
            .fetch_one(&mut *tx)
            .await?;
            out.push(Suggestion {
                id: sid,
                rank,
                title: c.title.clone(),
                body: c.body.clone(),
                confidence: conf.clamp(0.0, 1.0),
                score: c.score,
                method: Method::Retrieval,
                sources,
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    /// Records what the agent did with a suggestion: once, by the agent it
    /// was shown to.
    pub async fn record_outcome(
        pool: &PgPool,
        actor: &Actor,
        session: SessionId,
        suggestion: i64,
        outcome: Outcome,
    ) -> Result<()> {
        let agent = actor.agent().ok_or_else(|| Error::forbidden("suggestions are for agents"))?;
        let mut tx = pool.begin().await?;
        visible(&mut tx, actor, session, Lock::None).await?;
        let row = sqlx::query!(
            "SELECT agent_id, outcome FROM suggestions WHERE id = $1 AND session_id = $2 FOR UPDATE",
            suggestion,
            session.0
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("suggestion"))?;
        if row.agent_id != agent.id.0 {
            return Err(Error::forbidden("that suggestion was shown to another agent"));
        }
        if let Some(done) = row.outcome {
            return Err(Error::conflict("outcome_recorded", format!("that suggestion was already {done}")));
        }
        sqlx::query!(
            "UPDATE suggestions SET outcome = $2, outcome_at = now() WHERE id = $1",
            suggestion,
            outcome.as_str()
        )
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the question and answer pairs of a resolved session into its
    /// type's past answers: each human agent reply that directly follows a
    /// customer message. Idempotent. Bots' replies are not taken: only what
    /// a person answered teaches the next answer.
    pub async fn harvest(conn: &mut PgConnection, id: SessionId) -> Result<u64> {
        let done = sqlx::query!(
            "INSERT INTO past_answers
                 (account_id, support_type_id, session_id, question_message_id, answer_message_id, language,
                  question, answer)
             SELECT s.account_id, s.support_type_id, s.id, q.id, m.id, t.language, q.body, m.body
             FROM sessions s
             JOIN support_types t ON t.id = s.support_type_id
             JOIN messages m ON m.session_id = s.id AND m.sender_kind = 'agent' AND btrim(m.body) <> ''
             JOIN LATERAL (SELECT c.id, c.body, c.sender_kind FROM messages c
                           WHERE c.session_id = s.id AND c.id < m.id AND c.sender_kind <> 'system'
                           ORDER BY c.id DESC LIMIT 1) q ON q.sender_kind = 'customer' AND btrim(q.body) <> ''
             WHERE s.id = $1 AND s.status = 'resolved'
             ON CONFLICT (answer_message_id) DO NOTHING",
            id.0
        )
        .execute(conn)
        .await?;
        Ok(done.rows_affected())
    }

    /// What the people around a handed-off session need to know: who owns
    /// it now, its place in line, and the people online who serve its type.
    #[derive(Debug, Clone, PartialEq)]
    pub struct HandoffContext {
        /// The human who owns it now, with their display name.
        pub owner: Option<(AgentId, String)>,
        /// 1-based, in queue order, while it waits.
        pub position: Option<i64>,
        /// Online humans with a skill for the session's type (any load).
        pub online: Vec<AgentId>,
        pub support_type: String,
    }

    /// The [`HandoffContext`] of a session, in the caller's transaction.
    pub async fn handoff_context(conn: &mut PgConnection, id: SessionId) -> Result<HandoffContext> {
        let row = sqlx::query!(
            r#"SELECT s.status, s.owner_id, o.display_name AS "owner_name?", o.role AS "owner_role?",
                      s.support_type_id, t.name AS support_type
               FROM sessions s JOIN support_types t ON t.id = s.support_type_id
               LEFT JOIN agents o ON o.id = s.owner_id
               WHERE s.id = $1"#,
            id.0
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::not_found("session"))?;
        // Runtime-checked: the queue order is the shared rule's SQL, joined with concat!.
        let position: Option<i64> = if row.status == "queued" {
            sqlx::query_scalar(concat!(
                "SELECT position FROM (SELECT s.id, row_number() OVER (ORDER BY ",
                crate::queue_order_sql!(),
                ") AS position FROM sessions s WHERE s.status = 'queued' AND s.support_type_id = $1) line
                 WHERE id = $2"
            ))
            .bind(row.support_type_id)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
        } else {
            None
        };
        let online = sqlx::query_scalar!(
            r#"SELECT a.id AS "id: AgentId" FROM agents a
               JOIN agent_skills k ON k.agent_id = a.id
               JOIN sessions s ON s.support_type_id = k.support_type_id AND s.account_id = a.account_id
               WHERE s.id = $1 AND a.presence = 'online' AND a.deactivated_at IS NULL AND a.role <> 'bot'
               ORDER BY a.id"#,
            id.0
        )
        .fetch_all(&mut *conn)
        .await?;
        let owner = match (row.owner_id, row.owner_name, row.owner_role.as_deref()) {
            (Some(id), Some(name), Some(role)) if role != "bot" => Some((AgentId(id), name)),
            _ => None,
        };
        Ok(HandoffContext { owner, position, online, support_type: row.support_type })
    }
}
