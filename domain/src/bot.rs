//! The built-in bot: a support type's bot that answers on its own.
//!
//! A bot is an agent with role `bot`. Driven from outside (mode `external`,
//! the default), it uses the public API like any program. In mode `auto` the
//! `bot` consumer speaks for it: on the bot's assignment it greets, and on
//! each customer message it answers from the [text
//! provider](crate::assist::TextProvider), asks one clarifying question, or
//! hands the session to people. It sends through the same
//! [`send`](crate::conversation::send_in) and hands off through the same
//! [`hand_off`](crate::sessions::hand_off_in) as every bot, in the consumer's
//! transaction, so a person's takeover makes its next step a no-op (409
//! `not_owner` under the session lock) and a redelivered event does nothing
//! twice.
//!
//! **The rules** ([`before_answer`], [`after_answer`]), in order, on the
//! customer's messages since the bot last spoke, within the bot's context
//! (since the session was last reopened, so a reopened session is never
//! handed off again for an old reason):
//! 1. the customer asks for a person ([`asks_for_person`], in the type's
//!    language) → handoff `customer_request`;
//! 2. one of the type's handoff keywords appears → `keyword`;
//! 3. the bot already replied `turn_limit` times → `turn_limit`;
//! 4. the provider's answer is at or above the threshold → send it; the
//!    model asked to hand off → `policy`; the model asked a question → ask it;
//! 5. below the threshold → ask one clarifying question; below it again
//!    right after that question → `low_confidence`. When the preferred
//!    provider failed and its fallback is not confident → `provider_failure`.

use serde::{Deserialize, Serialize};

use crate::{
    Error, Result,
    assist::{Action, Answer},
    types::{HandoffReason, text_enum},
};

text_enum!(
    /// Who speaks for a type's bot.
    BotMode {
        /// A program outside, through the API (the default).
        External => "external",
        /// The built-in bot: the `bot` consumer answers from the text provider.
        Auto => "auto",
        /// The built-in bot decides as in `auto`, but what it would say
        /// waits as a draft until a person of the type sends (or edits, or
        /// discards) it. Handoffs happen at once: they send nothing.
        Drafts => "drafts",
    }
);

/// A reply the built-in bot drafted in mode `drafts`, waiting for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Draft {
    pub id: i64,
    pub session_id: crate::types::SessionId,
    pub bot_name: String,
    /// greeting, answer or clarify.
    pub kind: String,
    pub body: String,
    pub confidence: Option<f32>,
    pub method: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// What a person does with a draft.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum DraftDecision {
    /// Send it as the bot's message; `body`, when given, is the person's
    /// edited text.
    Send {
        #[serde(default)]
        body: Option<String>,
    },
    Discard,
}

/// How long a bot's answer may stand without a word from the customer
/// before the session counts as resolved by the bot ("assumed").
pub const ASSUMED_AFTER: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// How a support type's bot behaves (`GET`/`PUT /support-types/{id}/bot`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BotSettings {
    pub mode: BotMode,
    /// What the model is told about this type (up to 4,000 characters);
    /// only the OpenAI-compatible provider reads it.
    #[serde(default)]
    pub instructions: String,
    /// 0..1: the confidence a reply needs to be sent. Default 0.5.
    pub threshold: f32,
    /// 1..50: bot replies before it hands off unasked. Default 6.
    pub turn_limit: i16,
    /// Words or phrases (up to 50, each up to 100 characters) that send the
    /// session to a person at once; matched as whole words, any case.
    #[serde(default)]
    pub handoff_keywords: Vec<String>,
}

impl Default for BotSettings {
    fn default() -> Self {
        Self {
            mode: BotMode::External,
            instructions: String::new(),
            threshold: crate::assist::DEFAULT_THRESHOLD,
            turn_limit: 6,
            handoff_keywords: Vec::new(),
        }
    }
}

impl BotSettings {
    /// The settings as they will be stored, or the first field that is wrong.
    pub fn validated(mut self) -> Result<Self> {
        if !(0.0..=1.0).contains(&self.threshold) || self.threshold.is_nan() {
            return Err(Error::invalid("threshold", "must be between 0 and 1"));
        }
        if !(1..=50).contains(&self.turn_limit) {
            return Err(Error::invalid("turn_limit", "must be between 1 and 50"));
        }
        if self.instructions.chars().count() > 4000 {
            return Err(Error::invalid("instructions", "at most 4,000 characters"));
        }
        self.instructions = self.instructions.trim().to_owned();
        let mut keywords: Vec<String> = Vec::new();
        for k in &self.handoff_keywords {
            let k = k.trim().to_lowercase();
            if k.is_empty() {
                continue;
            }
            if k.chars().count() > 100 {
                return Err(Error::invalid(
                    "handoff_keywords",
                    format!("{k:?} is longer than 100 characters"),
                ));
            }
            if words(&k).is_empty() {
                return Err(Error::invalid("handoff_keywords", format!("{k:?} has no letters or digits")));
            }
            if !keywords.contains(&k) {
                keywords.push(k);
            }
        }
        if keywords.len() > 50 {
            return Err(Error::invalid("handoff_keywords", "at most 50 keywords"));
        }
        self.handoff_keywords = keywords;
        Ok(self)
    }
}

/// The words of a text, lower-cased: runs of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// Whether `phrase` appears in `text` as whole words, in any case
/// ("refund" in "Refund please", not in "refunded").
pub fn contains_phrase(text: &str, phrase: &str) -> bool {
    let (text, phrase) = (words(text), words(phrase));
    !phrase.is_empty() && text.windows(phrase.len()).any(|w| w == phrase.as_slice())
}

/// The words a customer uses to ask for a person, per text search
/// configuration (the type's `language`); English is always understood too.
fn person_words(language: &str) -> &'static [&'static str] {
    match language {
        "german" => &["mensch", "menschen", "mitarbeiter", "mitarbeiterin", "berater", "person"],
        "french" => &["humain", "personne", "conseiller", "conseillère", "agent"],
        "spanish" => &["humano", "persona", "agente", "asesor", "operador"],
        "italian" => &["umano", "persona", "operatore", "operatrice"],
        "portuguese" => &["humano", "pessoa", "atendente", "agente"],
        "dutch" => &["mens", "medewerker", "persoon"],
        _ => &[],
    }
}

const ENGLISH_PERSON_WORDS: &[&str] = &[
    "human",
    "person",
    "agent",
    "representative",
    "operator",
    "real people",
    "someone real",
    "talk to someone",
    "speak to someone",
];

/// Whether the customer asks for a person: one of the words of the type's
/// language (or English) as a whole word.
pub fn asks_for_person(language: &str, text: &str) -> bool {
    ENGLISH_PERSON_WORDS.iter().chain(person_words(language)).any(|w| contains_phrase(text, w))
}

/// What the bot knows before it asks the provider.
#[derive(Debug, Clone, PartialEq)]
pub struct Situation<'a> {
    pub settings: &'a BotSettings,
    /// The type's text search configuration (`english`, `german`, …).
    pub language: &'a str,
    /// The customer's messages since the bot last spoke, oldest first.
    pub question: &'a str,
    /// The bot's replies (answers and questions) in its context.
    pub replies: usize,
    /// The bot's last reply in its context was a clarifying question.
    pub just_asked: bool,
}

/// What the bot does next.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send the answer.
    Reply(Answer),
    /// Ask the customer to say more (the model's question, or the fixed one).
    Clarify { text: String, answer: Answer },
    /// Hand the session to people.
    HandOff { reason: HandoffReason, summary: String },
}

/// Rules 1–3: reasons to hand off without asking the provider.
pub fn before_answer(s: &Situation) -> Option<Step> {
    let hand_off = |reason, why: String| Some(Step::HandOff { reason, summary: summary(s.question, &why) });
    if asks_for_person(s.language, s.question) {
        return hand_off(HandoffReason::CustomerRequest, "The customer asked for a person.".into());
    }
    if let Some(k) = s.settings.handoff_keywords.iter().find(|k| contains_phrase(s.question, k)) {
        return hand_off(HandoffReason::Keyword, format!("The customer wrote \u{201c}{k}\u{201d}."));
    }
    if s.replies >= s.settings.turn_limit.max(1) as usize {
        return hand_off(
            HandoffReason::TurnLimit,
            format!("The bot replied {} times without resolving it.", s.replies),
        );
    }
    None
}

/// Rules 4–5: what to do with the provider's answer.
pub fn after_answer(s: &Situation, answer: Answer) -> Step {
    let confident = answer.text.is_some() && answer.confidence >= s.settings.threshold;
    let why_low = || {
        let mut why = format!(
            "Best answer {:.2} ({}) below the threshold {:.2}",
            answer.confidence, answer.method, s.settings.threshold
        );
        if let Some(reason) = &answer.reason {
            why.push_str(&format!(": {reason}"));
        }
        why.push('.');
        why
    };
    match answer.action {
        Action::Handoff => {
            let why = answer.reason.clone().unwrap_or_else(|| "The model asked for a person.".into());
            return Step::HandOff { reason: HandoffReason::Policy, summary: summary(s.question, &why) };
        }
        Action::Answer if confident => return Step::Reply(answer),
        Action::Clarify if !s.just_asked && answer.text.is_some() => {
            let text = answer.text.clone().unwrap_or_default();
            return Step::Clarify { text, answer };
        }
        _ => {}
    }
    if let Some(failure) = &answer.fallback {
        let why = format!("The model failed ({failure}); {}", why_low());
        return Step::HandOff { reason: HandoffReason::ProviderFailure, summary: summary(s.question, &why) };
    }
    if s.just_asked {
        return Step::HandOff {
            reason: HandoffReason::LowConfidence,
            summary: summary(s.question, &why_low()),
        };
    }
    Step::Clarify { text: CLARIFY.to_owned(), answer }
}

/// The bot's clarifying question when the provider has none of its own.
pub const CLARIFY: &str = "I'm not sure I understood. Could you say a bit more, in other words \
     (what you were trying to do, and what happened)? If you'd rather talk to a person, press \
     \u{201c}Talk to a person\u{201d}.";

/// The note for the person who takes the session over: what the customer
/// asked and why the bot handed off (at most 500 characters).
pub fn summary(question: &str, why: &str) -> String {
    let asked: String = question.split_whitespace().collect::<Vec<_>>().join(" ");
    let asked = if asked.chars().count() > 240 {
        format!("{}\u{2026}", asked.chars().take(240).collect::<String>())
    } else {
        asked
    };
    let text =
        if asked.is_empty() { why.to_owned() } else { format!("{why} Customer: \u{201c}{asked}\u{201d}") };
    text.chars().take(500).collect()
}

/// The bot's greeting: it says it is a bot and how to reach a person,
/// shaped by the type and by whether the customer already asked something.
pub fn greeting(bot_name: &str, support_type: &str, has_question: bool) -> String {
    let next = if has_question { "Let me look at your question." } else { "What can I help you with?" };
    format!(
        "Hi, I'm {bot_name}, an automated assistant for {support_type}. I answer from our help articles \
         and past answers. To reach a person at any time, press \u{201c}Talk to a person\u{201d} or write \
         \u{201c}person\u{201d}. {next}"
    )
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        actor::{Actor, AgentActor},
        assist::{Context, TextProvider},
        conversation::{self, Message, SendMessage},
        notifications::{self, kind},
        outbox::{self, Event, topic},
        sessions::{self, HandoffNote, ReassignTarget},
        types::{AccountId, AgentId, Role, SenderKind, SessionId, SupportTypeId},
    };
    use serde_json::json;
    use sqlx::{PgConnection, PgPool};

    /// A type's bot settings (the defaults until an admin saves some).
    /// Admins of its account: the instructions may say what the business
    /// keeps from customers.
    pub async fn settings(pool: &PgPool, actor: &Actor, id: SupportTypeId) -> Result<BotSettings> {
        let mut conn = pool.acquire().await?;
        let account = type_account(&mut conn, id).await?;
        actor.require_admin_of(account, "support type")?;
        load(&mut conn, id).await
    }

    /// Saves a type's bot settings. Admins of its account.
    pub async fn update_settings(
        pool: &PgPool,
        actor: &Actor,
        id: SupportTypeId,
        input: BotSettings,
    ) -> Result<BotSettings> {
        let input = input.validated()?;
        let mut tx = pool.begin().await?;
        let account = type_account(&mut tx, id).await?;
        actor.require_admin_of(account, "support type")?;
        sqlx::query!(
            "INSERT INTO bot_settings (support_type_id, account_id, mode, instructions, threshold, turn_limit,
                                       handoff_keywords)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (support_type_id) DO UPDATE SET mode = $3, instructions = $4, threshold = $5,
                 turn_limit = $6, handoff_keywords = $7, updated_at = now()",
            id.0,
            account.0,
            input.mode.as_str(),
            &input.instructions,
            input.threshold,
            input.turn_limit,
            &input.handoff_keywords
        )
        .execute(&mut *tx)
        .await?;
        crate::agents::audit(
            &mut tx,
            Some(account),
            actor,
            "support_type.bot_updated",
            &id.to_string(),
            json!({ "mode": input.mode, "threshold": input.threshold, "turn_limit": input.turn_limit,
                    "handoff_keywords": input.handoff_keywords.len() }),
        )
        .await?;
        outbox::record(
            &mut tx,
            topic::CONFIG_CHANGED,
            Some(account),
            None,
            json!({ "entity": "bot_settings", "id": id, "action": "updated" }),
        )
        .await?;
        tx.commit().await?;
        Ok(input)
    }

    async fn type_account(conn: &mut PgConnection, id: SupportTypeId) -> Result<AccountId> {
        sqlx::query_scalar!(r#"SELECT account_id AS "a: AccountId" FROM support_types WHERE id = $1"#, id.0)
            .fetch_optional(conn)
            .await?
            .ok_or_else(|| Error::not_found("support type"))
    }

    async fn load(conn: &mut PgConnection, id: SupportTypeId) -> Result<BotSettings> {
        let row = sqlx::query!(
            r#"SELECT mode AS "mode: BotMode", instructions, threshold, turn_limit, handoff_keywords
               FROM bot_settings WHERE support_type_id = $1"#,
            id.0
        )
        .fetch_optional(conn)
        .await?;
        Ok(row.map_or_else(BotSettings::default, |r| BotSettings {
            mode: r.mode,
            instructions: r.instructions,
            threshold: r.threshold,
            turn_limit: r.turn_limit,
            handoff_keywords: r.handoff_keywords,
        }))
    }

    /// An open session that a built-in (`auto` or `drafts`) bot owns, with
    /// what the bot needs.
    struct BotSession {
        id: SessionId,
        account: AccountId,
        support_type_id: SupportTypeId,
        support_type: String,
        language: String,
        bot: AgentActor,
        bot_name: String,
        settings: BotSettings,
        /// The bot's context starts here (the last reopen).
        since: Option<chrono::DateTime<chrono::Utc>>,
    }

    impl BotSession {
        fn actor(&self) -> Actor {
            Actor::Agent(self.bot)
        }
    }

    /// The session, when an `auto` bot owns it now.
    async fn bot_session(conn: &mut PgConnection, id: SessionId) -> Result<Option<BotSession>> {
        let row = sqlx::query!(
            r#"SELECT s.account_id, s.support_type_id, t.name AS support_type, t.language::text AS "language!",
                      a.id AS bot_id, a.display_name AS bot_name, s.reopened_at
               FROM sessions s
               JOIN agents a ON a.id = s.owner_id AND a.role = 'bot' AND a.deactivated_at IS NULL
               JOIN support_types t ON t.id = s.support_type_id
               JOIN bot_settings b ON b.support_type_id = s.support_type_id AND b.mode IN ('auto', 'drafts')
               WHERE s.id = $1 AND s.status = 'active'"#,
            id.0
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let settings = load(conn, SupportTypeId(row.support_type_id)).await?;
        Ok(Some(BotSession {
            id,
            account: AccountId(row.account_id),
            support_type_id: SupportTypeId(row.support_type_id),
            support_type: row.support_type,
            language: row.language,
            bot: AgentActor {
                id: AgentId(row.bot_id),
                account_id: Some(AccountId(row.account_id)),
                role: Role::Bot,
            },
            bot_name: row.bot_name,
            settings,
            since: row.reopened_at,
        }))
    }

    /// Which of `events` [`on_event`] may act on, in one read for them
    /// all: an assignment to a bot, and a customer's message in a session
    /// a bot owns now. A session a bot takes later is answered from its
    /// assignment (the bot answers what waits), so a message dropped here
    /// is never lost to it.
    pub async fn may_act(conn: &mut PgConnection, events: &[&Event]) -> Result<Vec<bool>> {
        let (mut sessions, mut agents) = (Vec::new(), Vec::new());
        for e in events {
            let (session, agent) = match e.topic.as_str() {
                topic::SESSION_ASSIGNED => (
                    None,
                    e.payload
                        .get("agent_id")
                        .and_then(|a| a.as_str())
                        .and_then(|a| a.parse::<uuid::Uuid>().ok()),
                ),
                topic::MESSAGE_CREATED if e.from_customer() => (e.session_id.map(|s| s.0), None),
                _ => (None, None),
            };
            sessions.push(session);
            agents.push(agent);
        }
        let chosen = sqlx::query_scalar!(
            r#"SELECT e.i AS "i!" FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS e(session_id, agent_id, i)
                WHERE EXISTS (SELECT 1 FROM agents a WHERE a.id = e.agent_id AND a.role = 'bot')
                   OR EXISTS (SELECT 1 FROM sessions s JOIN agents a ON a.id = s.owner_id
                               WHERE s.id = e.session_id AND a.role = 'bot')"#,
            &sessions as &[Option<uuid::Uuid>],
            &agents as &[Option<uuid::Uuid>]
        )
        .fetch_all(&mut *conn)
        .await?;
        let mut keep = vec![false; events.len()];
        for i in chosen {
            keep[(i - 1) as usize] = true;
        }
        Ok(keep)
    }

    /// What the built-in bot does with an event (the `bot` consumer's
    /// effect), in the consumer's transaction:
    /// - `session.assigned` to an `auto` bot: greet, then answer what the
    ///   customer already wrote;
    /// - `message.created` from the customer of a session an `auto` bot
    ///   owns: answer, ask, or hand off (see the [module](self)).
    ///
    /// Anything else, or a session no `auto` bot owns, is left alone.
    pub async fn on_event(conn: &mut PgConnection, provider: &dyn TextProvider, event: &Event) -> Result<()> {
        let Some(id) = event.session_id else { return Ok(()) };
        match event.topic.as_str() {
            topic::SESSION_ASSIGNED => {
                let Some(bs) = bot_session(conn, id).await? else { return Ok(()) };
                if event.payload.get("agent_id").and_then(|a| a.as_str()) != Some(&bs.bot.id.to_string()) {
                    return Ok(());
                }
                greet_and_respond(conn, provider, &bs, event).await
            }
            topic::MESSAGE_CREATED => {
                if !event.from_customer() {
                    return Ok(());
                }
                let Some(bs) = bot_session(conn, id).await? else { return Ok(()) };
                greet_and_respond(conn, provider, &bs, event).await
            }
            _ => Ok(()),
        }
    }

    /// Greets once per context (whichever event comes first: the first
    /// message's or the assignment's), then answers what waits, if anything
    /// (an earlier step may have answered this message with the one before).
    async fn greet_and_respond(
        conn: &mut PgConnection,
        provider: &dyn TextProvider,
        bs: &BotSession,
        event: &Event,
    ) -> Result<()> {
        // One step at a time per session, however the consumer runs its
        // deliveries: a second step waits here, then sees the first one's
        // reply and has nothing left to answer. People never take this lock,
        // so a takeover is not held up by a slow model.
        sqlx::query!(
            "SELECT pg_advisory_xact_lock(hashtextextended('bot:' || ($1::uuid)::text, 0))",
            bs.id.0
        )
        .execute(&mut *conn)
        .await?;
        let (asked, pending) = pending_question(conn, bs).await?;
        if !greeted(conn, bs).await? {
            let text = greeting(&bs.bot_name, &bs.support_type, !pending.is_empty());
            speak(conn, bs, event, "greeting", &text, None, None).await?;
        }
        let Some(&newest) = asked.last() else { return Ok(()) };
        respond(conn, provider, bs, event, &pending, newest).await
    }

    /// A message in the bot's context.
    struct Said {
        id: i64,
        kind: SenderKind,
        body: String,
        /// The bot's own greeting (it answers nothing).
        greeting: bool,
    }

    /// The session's messages in the bot's context, oldest first (the last 40).
    async fn context_messages(conn: &mut PgConnection, bs: &BotSession) -> Result<Vec<Said>> {
        let mut rows = sqlx::query!(
            r#"SELECT id, sender_kind AS "kind: SenderKind", body,
                      coalesce(sender_kind = 'bot' AND client_message_id LIKE 'bot:%:greeting', false) AS "greeting!"
               FROM messages
               WHERE session_id = $1 AND ($2::timestamptz IS NULL OR created_at >= $2)
               ORDER BY id DESC LIMIT 40"#,
            bs.id.0,
            bs.since
        )
        .fetch_all(conn)
        .await?;
        rows.reverse();
        Ok(rows
            .into_iter()
            .map(|r| Said { id: r.id, kind: r.kind, body: r.body, greeting: r.greeting })
            .collect())
    }

    /// The customer's messages since anyone last replied (system notices
    /// and the bot's greeting are no reply), at most the last three: their
    /// ids, and their text joined, oldest first. Empty when nothing waits.
    /// Messages up to `drafted` (a draft answered them) count as replied.
    fn pending(history: &[Said], drafted: Option<i64>) -> (Vec<i64>, String) {
        let mut waiting: Vec<&Said> = history
            .iter()
            .rev()
            .take_while(|m| drafted.is_none_or(|d| m.id > d))
            .filter(|m| m.kind != SenderKind::System && !m.greeting)
            .take_while(|m| m.kind == SenderKind::Customer)
            .filter(|m| !m.body.trim().is_empty())
            .take(3)
            .collect();
        waiting.reverse();
        let text = waiting.iter().map(|m| m.body.as_str()).collect::<Vec<_>>().join("\n");
        (waiting.iter().map(|m| m.id).collect(), text)
    }

    async fn pending_question(conn: &mut PgConnection, bs: &BotSession) -> Result<(Vec<i64>, String)> {
        let history = context_messages(conn, bs).await?;
        Ok(pending(&history, drafted_up_to(conn, bs).await?))
    }

    /// In mode `drafts`: the newest customer message a draft in the bot's
    /// context answered (sent, waiting or discarded alike).
    async fn drafted_up_to(conn: &mut PgConnection, bs: &BotSession) -> Result<Option<i64>> {
        if bs.settings.mode != BotMode::Drafts {
            return Ok(None);
        }
        Ok(sqlx::query_scalar!(
            "SELECT max(question_message_id) FROM bot_drafts WHERE session_id = $1
               AND ($2::timestamptz IS NULL OR created_at >= $2)",
            bs.id.0,
            bs.since
        )
        .fetch_one(conn)
        .await?)
    }

    async fn greeted(conn: &mut PgConnection, bs: &BotSession) -> Result<bool> {
        Ok(sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM bot_turns WHERE session_id = $1 AND kind = 'greeting'
                              AND ($2::timestamptz IS NULL OR created_at >= $2)) AS "greeted!""#,
            bs.id.0,
            bs.since
        )
        .fetch_one(conn)
        .await?)
    }

    /// The bot's replies in its context, and whether the last was a question.
    async fn replies(conn: &mut PgConnection, bs: &BotSession) -> Result<(usize, bool)> {
        let kinds = sqlx::query_scalar!(
            "SELECT kind FROM bot_turns WHERE session_id = $1 AND kind IN ('answer', 'clarify')
               AND ($2::timestamptz IS NULL OR created_at >= $2) ORDER BY id",
            bs.id.0,
            bs.since
        )
        .fetch_all(conn)
        .await?;
        Ok((kinds.len(), kinds.last().is_some_and(|k| k == "clarify")))
    }

    async fn respond(
        conn: &mut PgConnection,
        provider: &dyn TextProvider,
        bs: &BotSession,
        event: &Event,
        question: &str,
        newest: i64,
    ) -> Result<()> {
        let (replies, just_asked) = replies(conn, bs).await?;
        let situation =
            Situation { settings: &bs.settings, language: &bs.language, question, replies, just_asked };
        let step = match before_answer(&situation) {
            Some(step) => step,
            None => {
                // The history before the question: the question's own
                // messages go to the provider once, as the question.
                let history = context_messages(conn, bs).await?;
                let (asked, _) = pending(&history, drafted_up_to(conn, bs).await?);
                let history = history
                    .into_iter()
                    .filter(|m| !asked.contains(&m.id))
                    .map(|m| (m.kind, m.body))
                    .collect();
                let ctx = Context {
                    account_id: bs.account,
                    support_type_id: bs.support_type_id,
                    question: question.to_owned(),
                    history,
                    instructions: bs.settings.instructions.clone(),
                    support_type: bs.support_type.clone(),
                    bot_name: bs.bot_name.clone(),
                };
                let answer = match provider.answer(conn, &ctx).await {
                    Ok(answer) => answer,
                    // Retrieval is SQL in this transaction: a failure is the
                    // database's, and the event is retried.
                    Err(err) => return Err(err),
                };
                after_answer(&situation, answer)
            }
        };
        match step {
            Step::Reply(answer) => {
                let text = answer.text.clone().unwrap_or_default();
                speak(conn, bs, event, "answer", &text, Some(&answer), Some(newest)).await
            }
            Step::Clarify { text, answer } => {
                speak(conn, bs, event, "clarify", &text, Some(&answer), Some(newest)).await
            }
            Step::HandOff { reason, summary } => {
                let note = HandoffNote { reason, summary: summary.clone() };
                match sessions::hand_off_in(conn, &bs.actor(), bs.id, ReassignTarget::Queue, note).await {
                    Ok(_) => {}
                    // A person took it meanwhile (or it closed): nothing left
                    // to hand off. These are refused before any write, so the
                    // transaction is still good.
                    Err(err) if gone(&err) => return Ok(()),
                    Err(err) => return Err(err),
                }
                log_turn(conn, bs, event, "handoff", None, None, Some(reason.as_str())).await
            }
        }
    }

    /// Sends the bot's message (greeting, answer or question) and logs the
    /// step. A person who took the session meanwhile makes it a no-op.
    async fn speak(
        conn: &mut PgConnection,
        bs: &BotSession,
        event: &Event,
        kind: &str,
        text: &str,
        answer: Option<&Answer>,
        question: Option<i64>,
    ) -> Result<()> {
        if bs.settings.mode == BotMode::Drafts {
            return draft(conn, bs, event, kind, text, answer, question).await;
        }
        let input = SendMessage {
            body: text.chars().take(10_000).collect(),
            client_message_id: Some(format!("bot:{}:{kind}", event.event_id)),
            ..Default::default()
        };
        let message = match conversation::send_in(conn, &bs.actor(), bs.id, input).await {
            Ok(message) => message,
            Err(err) if gone(&err) => return Ok(()),
            Err(err) => return Err(err),
        };
        let note = answer.and_then(|a| a.fallback.as_deref());
        log_turn(conn, bs, event, kind, Some(message.id), answer, note).await
    }

    /// Mode `drafts`: keeps what the bot would say for a person to send,
    /// logs the step, tells the session's watchers (`bot.drafted`), and,
    /// when nothing else of the session waited, alerts the online people of
    /// the type. A redelivery drafts nothing twice.
    async fn draft(
        conn: &mut PgConnection,
        bs: &BotSession,
        event: &Event,
        kind: &str,
        text: &str,
        answer: Option<&Answer>,
        question: Option<i64>,
    ) -> Result<()> {
        let body: String = text.chars().take(10_000).collect();
        if body.trim().is_empty() {
            return Ok(());
        }
        let waiting = sqlx::query_scalar!(
            r#"SELECT count(*) AS "n!" FROM bot_drafts WHERE session_id = $1 AND status = 'pending'"#,
            bs.id.0
        )
        .fetch_one(&mut *conn)
        .await?;
        let sources = sources_of(answer)?;
        let id = sqlx::query_scalar!(
            "INSERT INTO bot_drafts (session_id, account_id, bot_id, kind, event_id, body, confidence, method, sources,
                                     question_message_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (event_id, kind) DO NOTHING RETURNING id",
            bs.id.0,
            bs.account.0,
            bs.bot.id.0,
            kind,
            event.event_id,
            &body,
            answer.map(|a| a.confidence.clamp(0.0, 1.0)),
            answer.map(|a| a.method.as_str()),
            sources,
            question
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(id) = id else { return Ok(()) };
        let note = answer.and_then(|a| a.fallback.as_deref());
        log_turn(conn, bs, event, kind, None, answer, note).await?;
        outbox::record(
            conn,
            topic::BOT_DRAFTED,
            Some(bs.account),
            Some(bs.id),
            json!({ "session_id": bs.id, "draft_id": id, "status": "pending" }),
        )
        .await?;
        if waiting == 0 {
            let ctx = crate::assist::handoff_context(conn, bs.id).await?;
            let alert = format!(
                "{} drafted a reply in a {} chat; it waits for a person to send it.",
                bs.bot_name, ctx.support_type
            );
            for agent in ctx.online {
                notifications::alert(conn, agent, kind::BOT_DRAFT, Some(bs.id), &alert).await?;
            }
        }
        Ok(())
    }

    /// The drafts that wait in a session while its bot owns it, oldest
    /// first. Agents and bots who see the session (the [scope](crate::scope)
    /// rule); customers are refused.
    pub async fn drafts(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<Vec<Draft>> {
        if matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("drafts are for the people who answer"));
        }
        let mut conn = pool.acquire().await?;
        sessions::visible(&mut conn, actor, id, sessions::Lock::None).await?;
        Ok(sqlx::query_as!(
            Draft,
            r#"SELECT d.id, d.session_id AS "session_id: SessionId", a.display_name AS bot_name, d.kind, d.body,
                      d.confidence, d.method, d.created_at
               FROM bot_drafts d
               JOIN sessions s ON s.id = d.session_id AND s.owner_id = d.bot_id AND s.status = 'active'
               JOIN agents a ON a.id = d.bot_id
               WHERE d.session_id = $1 AND d.status = 'pending'
               ORDER BY d.id"#,
            id.0
        )
        .fetch_all(&mut *conn)
        .await?)
    }

    fn require_person(actor: &Actor) -> Result<()> {
        match actor {
            Actor::Agent(a) if a.role != Role::Bot => Ok(()),
            Actor::System => Ok(()),
            _ => Err(Error::forbidden("only people decide on a bot's drafts")),
        }
    }

    /// A person sends (as written or edited) or discards a bot's draft. The
    /// message is the bot's, sent through the same
    /// [`send`](conversation::send_in) as every bot message, so it is refused
    /// (409 `not_owner`) once the bot no longer owns the session; the draft
    /// records who decided. A draft already decided, or expired because the
    /// bot's assignment ended, is 409 `draft_decided`.
    /// People who see the session; the message is `None` for a discard.
    pub async fn decide_draft(
        pool: &PgPool,
        actor: &Actor,
        draft_id: i64,
        decision: DraftDecision,
    ) -> Result<Option<Message>> {
        require_person(actor)?;
        let mut tx = pool.begin().await?;
        let session = sqlx::query_scalar!(
            r#"SELECT session_id AS "session_id: SessionId" FROM bot_drafts WHERE id = $1"#,
            draft_id
        )
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found("draft"))?;
        // The session first, then the draft: the order a takeover takes them
        // in (it expires the drafts under the session lock), so the two never
        // deadlock. Outside the caller's sight, the draft does not exist.
        sessions::visible(&mut tx, actor, session, sessions::Lock::Share)
            .await
            .map_err(|e| if matches!(e, Error::NotFound { .. }) { Error::not_found("draft") } else { e })?;
        let row = sqlx::query!(
            r#"SELECT session_id AS "session_id: SessionId", bot_id AS "bot_id: AgentId",
                      account_id AS "account_id: AccountId", status, body, kind
               FROM bot_drafts WHERE id = $1 FOR UPDATE"#,
            draft_id
        )
        .fetch_one(&mut *tx)
        .await?;
        match row.status.as_str() {
            "pending" => {}
            "expired" => {
                return Err(Error::conflict(
                    "draft_decided",
                    "the bot no longer has this chat, so its draft expired",
                ));
            }
            done => return Err(Error::conflict("draft_decided", format!("this draft was already {done}"))),
        }
        let decider = actor.agent_id().map(|a| a.0);
        let (status, message) = match decision {
            DraftDecision::Discard => ("discarded", None),
            DraftDecision::Send { body } => {
                let edited = body.as_deref().map(str::trim).filter(|b| *b != row.body.trim());
                let bot = Actor::Agent(AgentActor {
                    id: row.bot_id,
                    account_id: Some(row.account_id),
                    role: Role::Bot,
                });
                let input = SendMessage {
                    body: edited.unwrap_or(&row.body).to_owned(),
                    // Shaped like the bot's own ids, so a sent greeting is
                    // still known as one (it answers nothing).
                    client_message_id: Some(format!("bot:draft-{draft_id}:{}", row.kind)),
                    ..Default::default()
                };
                let message = conversation::send_in(&mut tx, &bot, row.session_id, input).await?;
                sqlx::query!("UPDATE bot_drafts SET edited = $2 WHERE id = $1", draft_id, edited.is_some())
                    .execute(&mut *tx)
                    .await?;
                ("sent", Some(message))
            }
        };
        sqlx::query!(
            "UPDATE bot_drafts SET status = $2, decided_by = $3, decided_at = now(), message_id = $4 WHERE id = $1",
            draft_id,
            status,
            decider,
            message.as_ref().map(|m| m.id)
        )
        .execute(&mut *tx)
        .await?;
        if let Some(m) = &message {
            sqlx::query!(
                "UPDATE bot_turns SET message_id = $2 WHERE message_id IS NULL AND kind <> 'handoff'
                   AND (event_id, kind) = (SELECT event_id, kind FROM bot_drafts WHERE id = $1)",
                draft_id,
                m.id
            )
            .execute(&mut *tx)
            .await?;
        }
        outbox::record(
            &mut tx,
            topic::BOT_DRAFTED,
            Some(row.account_id),
            Some(row.session_id),
            json!({ "session_id": row.session_id, "draft_id": draft_id, "status": status, "by": decider }),
        )
        .await?;
        tx.commit().await?;
        Ok(message)
    }

    /// The customer says the bot's answer helped ("That helped" on the chat
    /// page): the bot resolves the session, recorded as a `confirmed`
    /// resolution. Only while a bot owns the session and has answered in its
    /// context; otherwise 409 `no_bot_answer` (a person decides when their
    /// session is done).
    pub async fn helped(pool: &PgPool, actor: &Actor, id: SessionId) -> Result<()> {
        if !matches!(actor, Actor::Customer(_)) {
            return Err(Error::forbidden("only the session's customer says whether the bot helped"));
        }
        let mut tx = pool.begin().await?;
        let session = sessions::visible(&mut tx, actor, id, sessions::Lock::Update).await?;
        let bot = match session.owner_id {
            Some(owner)
                if session.status == crate::types::SessionStatus::Active
                    && conversation::is_bot(&mut tx, owner).await? =>
            {
                owner
            }
            _ => return Err(Error::conflict("no_bot_answer", "a person has this chat now")),
        };
        // Since the last reopen: an answer before it was already judged.
        let answered = sqlx::query_scalar!(
            r#"SELECT EXISTS (SELECT 1 FROM messages m JOIN sessions s ON s.id = m.session_id
                 WHERE m.session_id = $1 AND m.sender_kind = 'bot' AND m.sender_agent_id = $2
                   AND coalesce(m.client_message_id, '') NOT LIKE 'bot:%:greeting'
                   AND (s.reopened_at IS NULL OR m.created_at >= s.reopened_at)) AS "answered!""#,
            id.0,
            bot.0
        )
        .fetch_one(&mut *tx)
        .await?;
        if !answered {
            return Err(Error::conflict("no_bot_answer", "the assistant has not answered anything yet"));
        }
        resolve_by_bot(&mut tx, &session, bot, "confirmed").await?;
        tx.commit().await?;
        Ok(())
    }

    async fn resolve_by_bot(
        tx: &mut PgConnection,
        session: &sessions::Session,
        bot: AgentId,
        kind: &str,
    ) -> Result<()> {
        let actor =
            Actor::Agent(AgentActor { id: bot, account_id: Some(session.account_id), role: Role::Bot });
        sessions::resolve_in(tx, &actor, session.id, None, sessions::ReasonRule::BotOutcome).await?;
        sqlx::query!(
            "INSERT INTO bot_resolutions (session_id, account_id, support_type_id, bot_id, kind)
             VALUES ($1, $2, $3, $4, $5)",
            session.id.0,
            session.account_id.0,
            session.support_type_id.0,
            bot.0,
            kind
        )
        .execute(tx)
        .await?;
        Ok(())
    }

    /// Resolves, as `assumed`, the sessions a bot owns whose last word is the
    /// bot's answer (not its greeting or a question it asked) and older than
    /// `quiet`: the customer left without asking for more. Run by every
    /// node's maintenance loop; a session another node holds is skipped.
    /// Returns how many it resolved.
    pub async fn resolve_quiet(pool: &PgPool, quiet: std::time::Duration) -> Result<u64> {
        let quiet_secs = quiet.as_secs_f64();
        let candidates = sqlx::query_scalar!(
            r#"SELECT s.id AS "id: SessionId" FROM sessions s
               JOIN agents a ON a.id = s.owner_id AND a.role = 'bot'
               JOIN LATERAL (SELECT m.id, m.sender_kind, m.sender_agent_id, m.client_message_id, m.created_at
                             FROM messages m WHERE m.session_id = s.id AND m.sender_kind <> 'system'
                             ORDER BY m.id DESC LIMIT 1) last ON true
               WHERE s.status = 'active' AND last.sender_kind = 'bot' AND last.sender_agent_id = s.owner_id
                 AND last.created_at < now() - make_interval(secs => $1)
                 AND coalesce(last.client_message_id, '') NOT LIKE 'bot:%:greeting'
                 AND NOT EXISTS (SELECT 1 FROM bot_turns t WHERE t.message_id = last.id AND t.kind = 'clarify')
               ORDER BY s.id LIMIT 500"#,
            quiet_secs
        )
        .fetch_all(pool)
        .await?;
        let mut resolved = 0;
        for id in candidates {
            let mut tx = pool.begin().await?;
            // Skip a session another node (or a person) holds right now.
            let locked = sqlx::query_scalar!(
                r#"SELECT owner_id AS "owner: AgentId" FROM sessions WHERE id = $1 AND status = 'active'
                   FOR UPDATE SKIP LOCKED"#,
                id.0
            )
            .fetch_optional(&mut *tx)
            .await?;
            let Some(Some(bot)) = locked else { continue };
            let session = sessions::load(&mut tx, id, sessions::Lock::None).await?;
            // Re-check under the lock: still the bot's, still quiet.
            let still = sqlx::query_scalar!(
                r#"SELECT EXISTS (SELECT 1 FROM agents a WHERE a.id = $2 AND a.role = 'bot')
                   AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.session_id = $1 AND m.sender_kind <> 'system'
                                   AND m.created_at >= now() - make_interval(secs => $3)
                                   AND m.sender_kind = 'customer') AS "still!""#,
                id.0,
                bot.0,
                quiet_secs
            )
            .fetch_one(&mut *tx)
            .await?;
            if !still {
                continue;
            }
            resolve_by_bot(&mut tx, &session, bot, "assumed").await?;
            tx.commit().await?;
            resolved += 1;
        }
        Ok(resolved)
    }

    /// The refusals that mean the bot no longer has the session: a person
    /// took it, it moved out of the bot's sight, or it closed.
    fn gone(err: &Error) -> bool {
        match err {
            Error::Forbidden { .. } | Error::NotFound { .. } => true,
            Error::Conflict { code, .. } => code == "not_owner" || code == "session_closed",
            _ => false,
        }
    }

    /// An answer's sources as stored with a turn or a draft.
    fn sources_of(answer: Option<&Answer>) -> Result<serde_json::Value> {
        serde_json::to_value(answer.map(|a| a.sources.as_slice()).unwrap_or_default())
            .map_err(|e| Error::internal("bot step sources", e))
    }

    async fn log_turn(
        conn: &mut PgConnection,
        bs: &BotSession,
        event: &Event,
        kind: &str,
        message: Option<i64>,
        answer: Option<&Answer>,
        note: Option<&str>,
    ) -> Result<()> {
        let sources = sources_of(answer)?;
        let note: Option<String> = note.map(|n| n.chars().take(500).collect());
        sqlx::query!(
            "INSERT INTO bot_turns (session_id, account_id, bot_id, kind, event_id, message_id, confidence, method,
                                    sources, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
             ON CONFLICT (event_id, kind) DO NOTHING",
            bs.id.0,
            bs.account.0,
            bs.bot.id.0,
            kind,
            event.event_id,
            message,
            answer.map(|a| a.confidence.clamp(0.0, 1.0)),
            answer.map(|a| a.method.as_str()),
            sources,
            note
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assist::Method;

    fn answer(text: Option<&str>, confidence: f32, action: Action) -> Answer {
        Answer {
            text: text.map(str::to_owned),
            confidence,
            sources: Vec::new(),
            method: Method::Retrieval,
            reason: None,
            action,
            fallback: None,
        }
    }

    fn situation<'a>(settings: &'a BotSettings, question: &'a str) -> Situation<'a> {
        Situation { settings, language: "english", question, replies: 0, just_asked: false }
    }

    fn reason(step: Option<Step>) -> Option<HandoffReason> {
        match step {
            Some(Step::HandOff { reason, .. }) => Some(reason),
            _ => None,
        }
    }

    #[test]
    fn phrases_match_whole_words_in_any_case() {
        assert!(contains_phrase("Can I get a REFUND, please?", "refund"));
        assert!(!contains_phrase("It was refunded already", "refund"));
        assert!(contains_phrase("I want to cancel my order now", "cancel my order"));
        assert!(!contains_phrase("cancel the order", "cancel my order"));
        assert!(!contains_phrase("anything", ""));
    }

    #[test]
    fn customers_ask_for_a_person_in_their_language_or_english() {
        assert!(asks_for_person("english", "Can I talk to a human?"));
        assert!(asks_for_person("english", "AGENT please"));
        assert!(asks_for_person("german", "Ich möchte mit einem Menschen sprechen"));
        assert!(asks_for_person("german", "a real person please"));
        assert!(asks_for_person("french", "Je veux parler à un conseiller"));
        assert!(!asks_for_person("english", "How do I reset my password?"));
        assert!(!asks_for_person("english", "My personal details are wrong"));
    }

    #[test]
    fn the_rules_before_the_provider_come_in_order() {
        let settings =
            BotSettings { handoff_keywords: vec!["lawyer".into()], turn_limit: 3, ..Default::default() };
        let s = situation(&settings, "I want a human, or my lawyer calls");
        assert_eq!(reason(before_answer(&s)), Some(HandoffReason::CustomerRequest));
        let s = situation(&settings, "My lawyer will call you");
        assert_eq!(reason(before_answer(&s)), Some(HandoffReason::Keyword));
        let s = Situation { replies: 3, ..situation(&settings, "and the invoice?") };
        assert_eq!(reason(before_answer(&s)), Some(HandoffReason::TurnLimit));
        let s = Situation { replies: 2, ..situation(&settings, "and the invoice?") };
        assert_eq!(before_answer(&s), None);
    }

    #[test]
    fn below_the_threshold_the_bot_asks_once_then_hands_off() {
        let settings = BotSettings { threshold: 0.6, ..Default::default() };
        let s = situation(&settings, "the thing broke");
        let sure = answer(Some("Restart it."), 0.6, Action::Answer);
        assert!(matches!(after_answer(&s, sure), Step::Reply(_)));
        let unsure = answer(Some("Restart it."), 0.59, Action::Answer);
        match after_answer(&s, unsure.clone()) {
            Step::Clarify { text, .. } => assert_eq!(text, CLARIFY),
            other => panic!("expected a question, got {other:?}"),
        }
        let again = Situation { just_asked: true, replies: 1, ..s.clone() };
        match after_answer(&again, unsure) {
            Step::HandOff { reason, summary } => {
                assert_eq!(reason, HandoffReason::LowConfidence);
                assert!(summary.contains("0.59") && summary.contains("the thing broke"), "{summary}");
            }
            other => panic!("expected a handoff, got {other:?}"),
        }
        assert!(matches!(after_answer(&s, answer(None, 0.0, Action::Answer)), Step::Clarify { .. }));
    }

    #[test]
    fn the_models_own_actions_and_a_failed_provider() {
        let settings = BotSettings::default();
        let s = situation(&settings, "can you waive the fee?");
        let handoff = answer(Some("A person must decide that."), 0.9, Action::Handoff);
        assert_eq!(reason(Some(after_answer(&s, handoff))), Some(HandoffReason::Policy));
        match after_answer(&s, answer(Some("Which fee do you mean?"), 0.2, Action::Clarify)) {
            Step::Clarify { text, .. } => assert_eq!(text, "Which fee do you mean?"),
            other => panic!("expected the model's question, got {other:?}"),
        }
        let failed =
            Answer { fallback: Some("timed out".into()), ..answer(Some("Maybe"), 0.1, Action::Answer) };
        assert_eq!(reason(Some(after_answer(&s, failed))), Some(HandoffReason::ProviderFailure));
        let rescued =
            Answer { fallback: Some("timed out".into()), ..answer(Some("Yes."), 0.8, Action::Answer) };
        assert!(matches!(after_answer(&s, rescued), Step::Reply(_)));
    }

    #[test]
    fn settings_are_checked_and_keywords_normalised() {
        let ok = BotSettings {
            handoff_keywords: vec![" Lawyer ".into(), "lawyer".into(), "".into()],
            ..Default::default()
        }
        .validated()
        .expect("valid");
        assert_eq!(ok.handoff_keywords, ["lawyer"]);
        for bad in [
            BotSettings { threshold: 1.5, ..Default::default() },
            BotSettings { turn_limit: 0, ..Default::default() },
            BotSettings { handoff_keywords: vec!["!!".into()], ..Default::default() },
        ] {
            assert!(bad.validated().is_err());
        }
    }

    #[test]
    fn the_greeting_says_it_is_a_bot_and_how_to_reach_a_person() {
        let g = greeting("Acme Bot", "Billing", true);
        assert!(g.contains("Acme Bot") && g.contains("automated") && g.contains("Talk to a person"), "{g}");
        assert!(g.contains("Billing") && g.ends_with("Let me look at your question."), "{g}");
    }
}
