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
//! Every step is backed by an index. Canned replies are matched and counted
//! with their GIN index (`canned_responses_search`). Past answers grow with
//! every resolved session, so their corpus size and each word's document
//! frequency are read from term statistics that triggers keep
//! (`past_answer_terms`, `past_answer_corpus`), and only the documents of
//! the question's rarest words are scored, at most [`CANDIDATES`] of them
//! ([`candidate_terms`], read as [`newest_to_read`] says); each is still
//! scored on all of the question's words.
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
/// At most this many past answers are scored for one question, see
/// [`candidate_terms`].
pub const CANDIDATES: i64 = 500;

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

/// One term of a question: its `tsquery` text (`'deduct':*`), how many
/// documents of the type's corpus contain it, and its BM25 inverse document
/// frequency.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub txt: String,
    pub df: i64,
    pub idf: f64,
}

impl Term {
    /// `idf = ln(1 + (N − df + 0.5) / (df + 0.5))` over a corpus of `N`
    /// documents. A prefix's `df` is the sum over the words it covers, which
    /// can count a document twice; it is capped at `N`.
    pub fn new(txt: String, df: i64, corpus: i64) -> Self {
        let n = corpus.max(0) as f64;
        let df = df.clamp(0, corpus.max(0));
        let idf = (1.0 + (n - df as f64 + 0.5) / (df as f64 + 0.5)).ln();
        Self { txt, df, idf }
    }
}

/// The terms whose documents are scored: the rarest first, while together
/// they match at most `cap` documents (and always the rarest one that
/// matches any; a word no document has costs nothing). A
/// document that shares only the question's common words with it is left
/// out once rarer words already name enough candidates: its score would be
/// low, and at a year of history a common word matches most of the corpus.
pub fn candidate_terms(terms: &[Term], cap: i64) -> Vec<&Term> {
    let mut by_rarity: Vec<&Term> = terms.iter().collect();
    by_rarity.sort_by(|a, b| a.df.cmp(&b.df).then_with(|| a.txt.cmp(&b.txt)));
    let mut matched = 0;
    let mut out = Vec::new();
    for t in by_rarity {
        if matched > 0 && matched + t.df > cap {
            break;
        }
        matched += t.df;
        out.push(t);
    }
    out
}

/// How many of the type's newest past answers to read for the candidates,
/// or 0 to read them through the GIN index. Only when even the rarest word
/// is in more than `cap` of the `corpus` documents (`matched`) does
/// reading the newest ones pay: the index reads all `matched` documents,
/// the newest `2 · cap · corpus / matched` answers hold about `2 · cap` of
/// them, and the walk is the shorter read where `matched² > cap · corpus`.
/// Either way at most `2 · √(cap · corpus)` rows are read (about 19,000 for
/// 500 candidates among 180,000 answers). Search reads a common word's
/// page by the same rule ([`crate::search::plan_read`]).
pub fn newest_to_read(matched: i64, corpus: i64, cap: i64) -> i64 {
    let (m, n, c) = (matched as f64, corpus as f64, cap as f64);
    if matched > cap && m * m > c * n { (2.0 * c * n / m).ceil() as i64 } else { 0 }
}

/// The `tsquery` text that matches any of `terms`.
pub fn any_of<'a>(terms: impl IntoIterator<Item = &'a Term>) -> String {
    terms.into_iter().map(|t| t.txt.as_str()).collect::<Vec<_>>().join(" | ")
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
        // The question's terms with their document frequencies: canned
        // replies are counted (an account has a few hundred), past answers
        // are read from their term statistics (migration 0026).
        let terms = sqlx::query!(
            r#"WITH ty AS (SELECT language FROM support_types WHERE id = $2 AND account_id = $1),
             words AS (
                 SELECT DISTINCT lexeme COLLATE "C" AS lexeme, length(lexeme) >= $4 AS prefix
                 FROM ty, unnest(to_tsvector(ty.language, $3)) AS t(lexeme, positions, weights)
                 WHERE strpos(lexeme, E'\\') = 0),
             terms AS (
                 SELECT lexeme, prefix, quote_literal(lexeme) || CASE WHEN prefix THEN ':*' ELSE '' END AS txt
                 FROM words),
             canned AS (
                 SELECT c.search FROM canned_responses c
                 WHERE c.account_id = $1 AND (c.support_type_id = $2 OR c.support_type_id IS NULL))
             SELECT t.txt AS "txt!",
                    (SELECT count(*) FROM canned c WHERE c.search @@ to_tsquery('simple', t.txt))
                    + coalesce((SELECT sum(p.docs) FROM past_answer_terms p
                                WHERE p.support_type_id = $2 AND p.lexeme >= t.lexeme
                                  AND p.lexeme <= t.lexeme || CASE WHEN t.prefix THEN chr(1114111) ELSE '' END),
                               0)::bigint AS "df!",
                    (SELECT count(*) FROM canned)
                    + coalesce((SELECT docs FROM past_answer_corpus WHERE support_type_id = $2), 0) AS "corpus!"
             FROM terms t ORDER BY t.lexeme"#,
            account.0,
            support_type.0,
            &question,
            PREFIX_MIN_LEN as i32
        )
        .fetch_all(&mut *conn)
        .await?;
        let Some(corpus) = terms.first().map(|t| t.corpus) else { return Ok(Vec::new()) };
        let terms: Vec<Term> = terms.into_iter().map(|t| Term::new(t.txt, t.df, corpus)).collect();
        let (texts, idfs): (Vec<String>, Vec<f64>) = terms.iter().map(|t| (t.txt.clone(), t.idf)).unzip();
        let total_idf: f64 = idfs.iter().sum();
        let candidates = candidate_terms(&terms, CANDIDATES);
        let rows = sqlx::query!(
            r#"WITH idf AS MATERIALIZED (SELECT to_tsquery('simple', u.txt) AS q, u.idf
                                         FROM unnest($3::text[], $4::float8[]) AS u(txt, idf)),
             docs AS (
                 SELECT 'canned' AS kind, c.id AS canned_id, NULL::bigint AS past_id, NULL::uuid AS session_id,
                        NULL::bigint AS message_id, c.title, c.body, c.search
                 FROM canned_responses c
                 WHERE c.account_id = $1 AND (c.support_type_id = $2 OR c.support_type_id IS NULL)
                   AND c.search @@ to_tsquery('simple', $5)
                 UNION ALL
                 -- The candidates through the GIN index (`+ 0`: sorted here, never by
                 -- walking an index in id order, which the planner's poor estimates
                 -- for prefixes can favour) ...
                 (SELECT 'past', NULL, p.id, p.session_id, p.answer_message_id, p.question, p.answer, p.search
                  FROM past_answers p
                  WHERE $13::bigint = 0 AND p.support_type_id = $2 AND p.account_id = $1
                    AND p.search @@ to_tsquery('simple', $6)
                  ORDER BY p.id + 0 DESC LIMIT $7)
                 UNION ALL
                 -- ... or those among the type's newest answers, as many as newest_to_read says.
                 (SELECT 'past', NULL, p.id, p.session_id, p.answer_message_id, p.question, p.answer, p.search
                  FROM (SELECT * FROM past_answers p
                        WHERE $13 > 0 AND p.support_type_id = $2 AND p.account_id = $1
                        ORDER BY p.id DESC LIMIT $13) p
                  WHERE p.search @@ to_tsquery('simple', $6)
                  LIMIT $7)),
             scored AS (
                 SELECT d.kind, d.canned_id, d.past_id, d.session_id, d.message_id, d.title, d.body, s.bm25,
                        s.matched_idf
                 FROM (SELECT d.*, ts_filter(d.search, '{a}') AS title_v, ts_filter(d.search, '{b}') AS body_v
                       FROM docs d) d,
                 LATERAL (SELECT sum(i.idf * ((CASE WHEN d.title_v @@ i.q THEN $8::float8 ELSE 0 END)
                                            + (CASE WHEN d.body_v @@ i.q THEN 1 ELSE 0 END))) AS bm25,
                                 sum(i.idf) AS matched_idf
                          FROM idf i WHERE d.search @@ i.q) s)
             SELECT kind AS "kind!", canned_id, past_id, session_id, message_id, title AS "title!", body AS "body!",
                    (bm25 + $9::float8 * similarity(title, $10))::float8 AS "score!",
                    (matched_idf / NULLIF($11::float8, 0))::float8 AS "coverage!"
             FROM scored ORDER BY 8 DESC, canned_id, past_id LIMIT $12"#,
            account.0,
            support_type.0,
            &texts,
            &idfs,
            any_of(&terms),
            any_of(candidates.iter().copied()),
            CANDIDATES,
            TITLE_WEIGHT,
            TRIGRAM_WEIGHT,
            &question,
            total_idf,
            limit,
            newest_to_read(candidates.iter().map(|t| t.df).sum(), corpus, CANDIDATES)
        )
        .fetch_all(&mut *conn)
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
        let mut out: Vec<Suggestion> = ranked
            .iter()
            .enumerate()
            .map(|(i, c)| {
                // The best one carries the calibrated confidence; the
                // others are scaled by their score against it.
                let conf = if i == 0 {
                    top_confidence
                } else {
                    (f64::from(top_confidence) * c.score / ranked[0].score.max(f64::EPSILON)) as f32
                };
                Suggestion {
                    id: 0,
                    rank: i as i16 + 1,
                    title: c.title.clone(),
                    body: c.body.clone(),
                    confidence: conf.clamp(0.0, 1.0),
                    score: c.score,
                    method: Method::Retrieval,
                    sources: vec![c.source.clone()],
                }
            })
            .collect();
        // Logged for their outcome, in one statement.
        let sources = out
            .iter()
            .map(|s| serde_json::to_value(&s.sources))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::internal("suggestion sources", e))?;
        let ids = sqlx::query!(
            "INSERT INTO suggestions (session_id, agent_id, message_id, rank, body, confidence, method, sources)
             SELECT $1, $2, $3, t.rank, t.body, t.confidence, $4, t.sources
               FROM unnest($5::int2[], $6::text[], $7::real[], $8::jsonb[]) AS t(rank, body, confidence, sources)
             RETURNING id, rank",
            id.0,
            agent.id.0,
            last_customer,
            Method::Retrieval.as_str(),
            &out.iter().map(|s| s.rank).collect::<Vec<_>>(),
            &out.iter().map(|s| s.body.clone()).collect::<Vec<_>>(),
            &out.iter().map(|s| s.confidence).collect::<Vec<_>>(),
            &sources,
        )
        .fetch_all(&mut *tx)
        .await?;
        for row in ids {
            if let Some(s) = out.iter_mut().find(|s| s.rank == row.rank) {
                s.id = row.id;
            }
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

    /// Takes the question and answer pairs of resolved sessions into their
    /// types' past answers: each human agent reply that directly follows a
    /// customer message. Idempotent; sessions that are not resolved are
    /// left for later. Bots' replies are not taken: only what a person
    /// answered teaches the next answer. Called when a session is resolved
    /// (automated chat consumer) and for each batch of an import.
    pub async fn harvest(conn: &mut PgConnection, ids: &[SessionId]) -> Result<u64> {
        let ids: Vec<uuid::Uuid> = ids.iter().map(|id| id.0).collect();
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
             WHERE s.id = ANY($1) AND s.status = 'resolved'
             ORDER BY m.id
             ON CONFLICT (answer_message_id) DO NOTHING",
            &ids
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

#[cfg(test)]
mod tests {
    use super::*;

    fn term(txt: &str, df: i64) -> Term {
        Term::new(txt.into(), df, 10_000)
    }

    #[test]
    fn a_rare_term_weighs_more_and_a_prefix_counted_twice_stays_within_the_corpus() {
        assert!(term("'vat'", 3).idf > term("'invoic':*", 900).idf);
        assert!(term("'hello'", 9_999).idf > 0.0);
        let over = Term::new("'deduct':*".into(), 15_000, 10_000);
        assert_eq!(over.df, 10_000);
        assert!(over.idf.is_finite() && over.idf > 0.0, "{}", over.idf);
    }

    #[test]
    fn candidates_come_from_the_rarest_terms_up_to_the_cap() {
        let terms =
            [term("'hello'", 9_000), term("'vat'", 40), term("'invoic':*", 700), term("'wrong'", 400)];
        let names = |cap| candidate_terms(&terms, cap).iter().map(|t| t.txt.as_str()).collect::<Vec<_>>();
        assert_eq!(names(1_000), ["'vat'", "'wrong'"]);
        assert_eq!(names(100_000), ["'vat'", "'wrong'", "'invoic':*", "'hello'"]);
        // However common, the rarest term is always searched, and a word
        // that nothing contains does not count as it.
        assert_eq!(names(10), ["'vat'"]);
        let unknown = [term("'x9y'", 0), term("'hello'", 9_000), term("'invoic':*", 700)];
        let names = candidate_terms(&unknown, 500).iter().map(|t| t.txt.as_str()).collect::<Vec<_>>();
        assert_eq!(names, ["'x9y'", "'invoic':*"]);
        assert_eq!(any_of(candidate_terms(&terms, 1_000)), "'vat' | 'wrong'");
        assert!(candidate_terms(&[], 10).is_empty());
    }

    #[test]
    fn a_common_word_is_read_newest_first_and_a_rarer_one_through_its_index() {
        // 500 candidates of 180,000 answers: the walk wins above √(9·10⁷) ≈ 9,487.
        assert_eq!(newest_to_read(400, 180_000, 500), 0, "all of them fit");
        assert_eq!(newest_to_read(9_000, 180_000, 500), 0);
        assert_eq!(newest_to_read(10_000, 180_000, 500), 18_000);
        assert_eq!(newest_to_read(180_000, 180_000, 500), 1_000);
    }
}
