//! The OpenAI-compatible text provider: chat completions on any server that
//! speaks that API (a hosted one, vLLM, llama.cpp's server, Ollama).
//!
//! On when `LLM_BASE_URL` and `LLM_MODEL` are set ([`LlmConfig::from_env`]).
//! Each answer:
//! 1. retrieves the type's best sources with the built-in provider
//!    ([`assist::retrieve`], same account and type only);
//! 2. builds the prompt ([`prompt`]): the type's instructions, those sources,
//!    and the conversation, trimmed to a token budget (oldest turns first);
//! 3. asks for JSON `{"reply", "action": "answer"|"handoff"|"clarify",
//!    "confidence"}` and validates it ([`parse_reply`]); output that is not
//!    that JSON becomes a low-confidence answer (confidence 0), never an error;
//! 4. calls with a timeout per attempt, retries timeouts, 429 and 5xx with
//!    exponential backoff and full jitter inside an overall deadline, and
//!    keeps a circuit breaker ([`Breaker`]): after
//!    [`LlmConfig::breaker_failures`] failed answers in a row the model is not
//!    called for [`LlmConfig::breaker_cooldown`], then one trial call decides;
//! 5. when the model fails or the circuit is open, answers with the built-in
//!    provider from the sources already retrieved, marked
//!    [`Answer::fallback`], so the chat never waits on a broken model.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;

use crate::{
    Error, Result,
    assist::{self, Action, Answer, BoxFuture, Candidate, Context, Method, TextProvider},
    types::SenderKind,
};

/// How to reach the model, and how patient to be with it.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// The API root, e.g. `http://127.0.0.1:8080/v1`; `/chat/completions` is added.
    pub base_url: String,
    pub model: String,
    /// Sent as `Authorization: Bearer …` when set.
    pub api_key: Option<String>,
    /// One attempt's limit (`LLM_TIMEOUT_MS`, default 8,000).
    pub timeout: Duration,
    /// All attempts together, backoff included (`LLM_DEADLINE_MS`, default 15,000).
    pub deadline: Duration,
    /// Attempts after the first (`LLM_RETRIES`, default 2).
    pub retries: u32,
    /// The first backoff; it doubles per retry, with full jitter.
    pub backoff: Duration,
    /// The prompt's budget in tokens, estimated at 4 characters a token
    /// (`LLM_PROMPT_TOKENS`, default 3,000).
    pub prompt_tokens: usize,
    /// The reply's limit in tokens (`max_tokens`).
    pub max_tokens: u32,
    /// Failed answers in a row that open the circuit.
    pub breaker_failures: u32,
    /// How long an open circuit stays open.
    pub breaker_cooldown: Duration,
}

impl LlmConfig {
    /// The defaults for a model at `base_url`.
    pub fn new(base_url: &str, model: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            model: model.to_owned(),
            api_key: None,
            timeout: Duration::from_millis(8_000),
            deadline: Duration::from_millis(15_000),
            retries: 2,
            backoff: Duration::from_millis(200),
            prompt_tokens: 3_000,
            max_tokens: 400,
            breaker_failures: 5,
            breaker_cooldown: Duration::from_secs(30),
        }
    }

    /// From `LLM_BASE_URL`, `LLM_MODEL`, `LLM_API_KEY` and the optional
    /// `LLM_TIMEOUT_MS`, `LLM_DEADLINE_MS`, `LLM_RETRIES`, `LLM_PROMPT_TOKENS`.
    /// `None` when neither of the first two is set; an error naming the
    /// variable when only one is, or when a value is not usable.
    pub fn from_env() -> Result<Option<Self>> {
        Self::from_vars(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Option<Self>> {
        let (base, model) = match (var("LLM_BASE_URL"), var("LLM_MODEL")) {
            (None, None) => return Ok(None),
            (Some(b), Some(m)) => (b, m),
            (Some(_), None) => {
                return Err(Error::invalid("LLM_MODEL", "LLM_BASE_URL is set, so name the model too"));
            }
            (None, Some(_)) => {
                return Err(Error::invalid("LLM_BASE_URL", "LLM_MODEL is set, so give the API's URL too"));
            }
        };
        let url = url::Url::parse(&base)
            .map_err(|e| Error::invalid("LLM_BASE_URL", format!("{base:?} is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid("LLM_BASE_URL", "must be an http or https URL"));
        }
        let mut cfg = Self::new(&base, &model);
        cfg.api_key = var("LLM_API_KEY");
        let number =
            |name: &str, default: u64, range: std::ops::RangeInclusive<u64>| -> Result<u64> {
                match var(name) {
                    None => Ok(default),
                    Some(v) => v.trim().parse::<u64>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                        Error::invalid(name, format!("{v:?} is not a whole number in {range:?}"))
                    }),
                }
            };
        cfg.timeout = Duration::from_millis(number("LLM_TIMEOUT_MS", 8_000, 100..=120_000)?);
        cfg.deadline = Duration::from_millis(number("LLM_DEADLINE_MS", 15_000, 100..=300_000)?);
        cfg.retries = number("LLM_RETRIES", 2, 0..=10)? as u32;
        cfg.prompt_tokens = number("LLM_PROMPT_TOKENS", 3_000, 200..=200_000)? as usize;
        Ok(Some(cfg))
    }
}

/// The circuit breaker's state.
#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One trial call is out; the others fall back until it returns.
    HalfOpen,
}

/// A circuit breaker: closed while the model answers; open (no calls) for
/// the cooldown after `failures` failed answers in a row; then half open,
/// where one trial call closes it again or reopens it.
#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
    failures: u32,
    cooldown: Duration,
}

impl Breaker {
    pub fn new(failures: u32, cooldown: Duration) -> Self {
        Self { state: Mutex::new(State::Closed { failures: 0 }), failures: failures.max(1), cooldown }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether a call may go out now (in half open, only the one trial).
    pub fn allow(&self, now: Instant) -> bool {
        let mut state = self.lock();
        match *state {
            State::Closed { .. } => true,
            State::Open { until } if now >= until => {
                *state = State::HalfOpen;
                true
            }
            State::Open { .. } | State::HalfOpen => false,
        }
    }

    pub fn success(&self) {
        *self.lock() = State::Closed { failures: 0 };
    }

    pub fn failure(&self, now: Instant) {
        let mut state = self.lock();
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.failures => {
                State::Closed { failures: failures + 1 }
            }
            _ => State::Open { until: now + self.cooldown },
        };
    }

    pub fn is_open(&self) -> bool {
        !matches!(*self.lock(), State::Closed { .. })
    }
}

/// One chat message of the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: String,
    pub content: String,
}

fn chat(role: &str, content: String) -> ChatMessage {
    ChatMessage { role: role.to_owned(), content }
}

/// The estimated tokens of a text: 4 characters a token, rounded up.
pub fn tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// The prompt: a system message with the rules, the type's instructions and
/// the sources; then the conversation as user (customer) and assistant (bot
/// or agent) turns, oldest dropped first until the whole fits `budget`
/// tokens. The customer's latest question always stays; sources are cut to
/// 1,200 characters each and dropped from the last while they do not fit.
pub fn prompt(ctx: &Context, sources: &[Candidate], budget: usize) -> Vec<ChatMessage> {
    let mut system = format!(
        "You are {bot}, the support assistant for \"{ty}\". Answer the customer only from the sources \
         below; never invent facts, prices or promises. Reply with one JSON object and nothing else: \
         {{\"reply\": string, \"action\": \"answer\" | \"handoff\" | \"clarify\", \"confidence\": number \
         from 0 to 1}}. Use \"answer\" when the sources answer the question, \"clarify\" to ask one short \
         question when the question is unclear, and \"handoff\" when a person must help (the sources do \
         not cover it, or the instructions say so). \"confidence\" is how sure you are that the reply is \
         correct and complete.",
        bot = if ctx.bot_name.is_empty() { "the assistant" } else { &ctx.bot_name },
        ty = ctx.support_type,
    );
    if !ctx.instructions.trim().is_empty() {
        system.push_str("\n\nInstructions for this support type:\n");
        system.push_str(ctx.instructions.trim());
    }
    let question = ctx.question.trim().to_owned();
    let mut kept_sources: Vec<String> = sources
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let body: String = c.body.chars().take(1_200).collect();
            format!("[{}] {}\n{}", i + 1, c.title, body)
        })
        .collect();
    let fixed = tokens(&system) + tokens(&question) + 40;
    while !kept_sources.is_empty()
        && fixed + kept_sources.iter().map(|s| tokens(s)).sum::<usize>() > budget / 2
    {
        kept_sources.pop();
    }
    if kept_sources.is_empty() {
        system.push_str("\n\nSources: none match this question.");
    } else {
        system.push_str("\n\nSources:\n");
        system.push_str(&kept_sources.join("\n\n"));
    }
    // The conversation before the question (the caller leaves the
    // question's own messages out: they are sent last, as one).
    let mut turns: Vec<ChatMessage> = ctx
        .history
        .iter()
        .filter(|(kind, body)| *kind != SenderKind::System && !body.trim().is_empty())
        .map(|(kind, body)| {
            let role = if *kind == SenderKind::Customer { "user" } else { "assistant" };
            chat(role, body.chars().take(2_000).collect())
        })
        .collect();
    let mut used = tokens(&system) + tokens(&question) + 8;
    let mut start = turns.len();
    while start > 0 && used + tokens(&turns[start - 1].content) + 4 <= budget {
        used += tokens(&turns[start - 1].content) + 4;
        start -= 1;
    }
    let mut messages = vec![chat("system", system)];
    messages.extend(turns.drain(start..));
    messages.push(chat("user", question));
    messages
}

/// The model's reply, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub text: String,
    pub action: Action,
    pub confidence: f32,
}

/// Reads the model's content as the JSON the prompt asks for (a fenced
/// ```json block is accepted too). `Err` names what is wrong with it.
pub fn parse_reply(content: &str) -> std::result::Result<Reply, String> {
    let trimmed = content.trim();
    let json_text = match (trimmed.find('{'), trimmed.rfind('}')) {
        (Some(a), Some(b)) if a < b => &trimmed[a..=b],
        _ => return Err("the model's output has no JSON object".into()),
    };
    #[derive(Deserialize)]
    struct Raw {
        reply: serde_json::Value,
        action: serde_json::Value,
        confidence: serde_json::Value,
    }
    let raw: Raw =
        serde_json::from_str(json_text).map_err(|e| format!("the model's JSON is not valid: {e}"))?;
    let text = raw.reply.as_str().map(str::trim).unwrap_or_default().to_owned();
    if text.is_empty() {
        return Err("the model's \"reply\" is not a non-empty string".into());
    }
    if text.chars().count() > 4_000 {
        return Err("the model's \"reply\" is longer than 4,000 characters".into());
    }
    let action =
        raw.action.as_str().and_then(|a| a.trim().to_lowercase().parse::<Action>().ok()).ok_or_else(
            || format!("the model's \"action\" {} is not answer, handoff or clarify", raw.action),
        )?;
    let confidence = raw.confidence.as_f64().filter(|c| (0.0..=1.0).contains(c)).ok_or_else(|| {
        format!("the model's \"confidence\" {} is not a number from 0 to 1", raw.confidence)
    })?;
    Ok(Reply { text, action, confidence: confidence as f32 })
}

/// Why one call did not give content.
#[derive(Debug)]
enum CallError {
    /// Worth another attempt: a timeout, a refused connection, 429, 5xx.
    Transient(String),
    /// Another attempt would fail the same way: 4xx, a body that is not a
    /// chat completion.
    Fatal(String),
}

/// The OpenAI-compatible provider. Share one per process: it holds the
/// HTTP client's connections and the circuit breaker.
pub struct OpenAiCompatible {
    cfg: LlmConfig,
    client: reqwest::Client,
    breaker: Breaker,
}

impl OpenAiCompatible {
    pub fn new(cfg: LlmConfig) -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .build()
            .unwrap_or_default();
        let breaker = Breaker::new(cfg.breaker_failures, cfg.breaker_cooldown);
        Self { cfg, client, breaker }
    }

    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.cfg.base_url)
    }

    async fn call_once(
        &self,
        body: &serde_json::Value,
        limit: Duration,
    ) -> std::result::Result<String, CallError> {
        let mut request = self.client.post(self.endpoint()).json(body).timeout(limit);
        if let Some(key) = &self.cfg.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.map_err(|e| {
            CallError::Transient(if e.is_timeout() {
                "the model timed out".into()
            } else {
                format!("the model is unreachable: {e}")
            })
        })?;
        let status = response.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(CallError::Transient(format!("the model answered HTTP {status}")));
        }
        if !status.is_success() {
            let text: String = response.text().await.unwrap_or_default().chars().take(200).collect();
            return Err(CallError::Fatal(format!("the model refused the request: HTTP {status} {text}")));
        }
        let value: serde_json::Value = response.json().await.map_err(|e| {
            if e.is_timeout() {
                CallError::Transient("the model timed out".into())
            } else {
                CallError::Fatal(format!("the model's response is not JSON: {e}"))
            }
        })?;
        value
            .pointer("/choices/0/message/content")
            .and_then(|c| c.as_str())
            .map(str::to_owned)
            .ok_or_else(|| CallError::Fatal("the model's response has no choices[0].message.content".into()))
    }

    /// The content of one completion, with retries inside the deadline.
    async fn complete(&self, messages: &[ChatMessage]) -> std::result::Result<String, String> {
        let body = json!({
            "model": self.cfg.model,
            "messages": messages,
            "temperature": 0.2,
            "max_tokens": self.cfg.max_tokens,
            "response_format": { "type": "json_object" },
        });
        let started = Instant::now();
        let mut last = String::new();
        for attempt in 0..=self.cfg.retries {
            let left = self.cfg.deadline.saturating_sub(started.elapsed());
            if left.is_zero() {
                break;
            }
            match self.call_once(&body, self.cfg.timeout.min(left)).await {
                Ok(content) => return Ok(content),
                Err(CallError::Fatal(why)) => return Err(why),
                Err(CallError::Transient(why)) => last = why,
            }
            if attempt < self.cfg.retries {
                // Full jitter: a random wait up to the doubled backoff.
                let cap = self.cfg.backoff.saturating_mul(1 << attempt.min(16));
                let wait = cap.mul_f64(rand::random::<f64>());
                if wait >= self.cfg.deadline.saturating_sub(started.elapsed()) {
                    break;
                }
                tokio::time::sleep(wait).await;
            }
        }
        Err(format!(
            "{last} (after {} attempts in {} ms)",
            self.cfg.retries + 1,
            started.elapsed().as_millis()
        ))
    }
}

impl TextProvider for OpenAiCompatible {
    fn answer<'a>(&'a self, conn: &'a mut PgConnection, ctx: &'a Context) -> BoxFuture<'a, Result<Answer>> {
        Box::pin(async move {
            let ranked =
                assist::retrieve(conn, ctx.account_id, ctx.support_type_id, &ctx.question, 3).await?;
            let sources: Vec<_> = ranked.iter().map(|c| c.source.clone()).collect();
            let fallback = |why: String| Answer { fallback: Some(why), ..assist::best_of(ranked.clone()) };
            if !self.breaker.allow(Instant::now()) {
                return Ok(fallback("the model's circuit is open after repeated failures".into()));
            }
            let messages = prompt(ctx, &ranked, self.cfg.prompt_tokens);
            match self.complete(&messages).await {
                Err(why) => {
                    self.breaker.failure(Instant::now());
                    tracing::warn!(error = %why, "the model failed; answering from retrieval");
                    Ok(fallback(why))
                }
                Ok(content) => {
                    self.breaker.success();
                    Ok(match parse_reply(&content) {
                        Ok(reply) => Answer {
                            text: Some(reply.text),
                            confidence: reply.confidence,
                            sources,
                            method: Method::Llm,
                            reason: None,
                            action: reply.action,
                            fallback: None,
                        },
                        // The model answered, but not as asked: low confidence, not a failure.
                        Err(why) => Answer {
                            text: None,
                            confidence: 0.0,
                            sources,
                            method: Method::Llm,
                            reason: Some(why),
                            action: Action::Answer,
                            fallback: None,
                        },
                    })
                }
            }
        })
    }
}

/// The provider this process answers with: the OpenAI-compatible one when
/// it is configured, else the built-in retrieval.
pub fn provider_from_env() -> Result<std::sync::Arc<dyn TextProvider>> {
    Ok(match LlmConfig::from_env()? {
        Some(cfg) => {
            tracing::info!(base_url = %cfg.base_url, model = %cfg.model, "bot answers from an OpenAI-compatible model");
            std::sync::Arc::new(OpenAiCompatible::new(cfg))
        }
        None => std::sync::Arc::new(assist::Retrieval),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        assist::Source,
        types::{AccountId, CannedResponseId, SupportTypeId},
    };

    #[test]
    fn replies_are_validated() {
        let ok = parse_reply(r#"{"reply": "Reset it in Settings.", "action": "answer", "confidence": 0.8}"#);
        assert_eq!(
            ok,
            Ok(Reply { text: "Reset it in Settings.".into(), action: Action::Answer, confidence: 0.8 })
        );
        let fenced = parse_reply(
            "```json\n{\"reply\": \"Which order?\", \"action\": \"clarify\", \"confidence\": 0.3}\n```",
        );
        assert_eq!(fenced.map(|r| r.action), Ok(Action::Clarify));
        for bad in [
            "Sure! Reset it in Settings.",
            r#"{"reply": "x", "action": "answer"}"#,
            r#"{"reply": "", "action": "answer", "confidence": 0.9}"#,
            r#"{"reply": "x", "action": "escalate", "confidence": 0.9}"#,
            r#"{"reply": "x", "action": "answer", "confidence": 1.7}"#,
            r#"{"reply": "x", "action": "answer", "confidence": "high"}"#,
            r#"{"reply": "x", "action": "answer", "confidence": 0.9"#,
        ] {
            assert!(parse_reply(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_breaker_opens_after_failures_and_lets_one_trial_through() {
        let t0 = Instant::now();
        let b = Breaker::new(3, Duration::from_secs(30));
        for _ in 0..2 {
            assert!(b.allow(t0));
            b.failure(t0);
        }
        assert!(!b.is_open());
        b.success();
        for _ in 0..3 {
            assert!(b.allow(t0));
            b.failure(t0);
        }
        assert!(b.is_open() && !b.allow(t0 + Duration::from_secs(29)));
        let later = t0 + Duration::from_secs(30);
        assert!(b.allow(later), "the trial call");
        assert!(!b.allow(later), "only one trial at a time");
        b.failure(later);
        assert!(!b.allow(later + Duration::from_secs(1)), "a failed trial reopens it");
        let much_later = later + Duration::from_secs(31);
        assert!(b.allow(much_later));
        b.success();
        assert!(!b.is_open() && b.allow(much_later));
    }

    fn ctx(history: Vec<(SenderKind, String)>, question: &str) -> Context {
        Context {
            history,
            instructions: "Never promise refunds.".into(),
            support_type: "Billing".into(),
            bot_name: "Penny".into(),
            ..Context::question(AccountId(uuid::Uuid::nil()), SupportTypeId(uuid::Uuid::nil()), question)
        }
    }

    fn source(title: &str, body: &str) -> Candidate {
        Candidate {
            source: Source::CannedResponse { id: CannedResponseId(uuid::Uuid::nil()) },
            title: title.into(),
            body: body.into(),
            score: 1.0,
            coverage: 1.0,
        }
    }

    #[test]
    fn the_prompt_has_rules_instructions_sources_and_the_conversation_in_order() {
        let history = vec![
            (SenderKind::System, "Welcome!".to_owned()),
            (SenderKind::Customer, "hello".to_owned()),
            (SenderKind::Bot, "Hi, how can I help?".to_owned()),
        ];
        let messages = prompt(
            &ctx(history, "my invoice is wrong"),
            &[source("Invoices", "Edit it under Billing.")],
            3_000,
        );
        let roles: Vec<&str> = messages.iter().map(|m| m.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "user"]);
        let system = &messages[0].content;
        assert!(
            system.contains("Penny") && system.contains("\"Billing\"") && system.contains("JSON"),
            "{system}"
        );
        assert!(
            system.contains("Never promise refunds.")
                && system.contains("[1] Invoices\nEdit it under Billing.")
        );
        assert_eq!(messages[3].content, "my invoice is wrong");
    }

    #[test]
    fn the_prompt_keeps_to_its_budget_dropping_the_oldest_turns_first() {
        let long = "word ".repeat(200); // 250 tokens
        let mut history = Vec::new();
        for i in 0..20 {
            history.push((SenderKind::Customer, format!("question {i} {long}")));
            history.push((SenderKind::Bot, format!("answer {i} {long}")));
        }
        let budget = 2_000;
        let messages = prompt(&ctx(history, "and now?"), &[source("A", &"text ".repeat(1_000))], budget);
        let total: usize = messages.iter().map(|m| tokens(&m.content) + 4).sum();
        assert!(total <= budget + 40, "{total} tokens");
        assert_eq!(messages.last().map(|m| m.content.as_str()), Some("and now?"));
        assert!(messages[messages.len() - 2].content.starts_with("answer 19"), "the newest turns stay");
        assert!(!messages.iter().any(|m| m.content.starts_with("question 0 ")), "the oldest go first");
    }

    #[test]
    fn configuration_names_the_variable_that_is_wrong() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        assert_eq!(LlmConfig::from_vars(vars(&[])), Ok(None));
        let cfg =
            LlmConfig::from_vars(vars(&[("LLM_BASE_URL", "http://127.0.0.1:8080/v1/"), ("LLM_MODEL", "m")]))
                .expect("valid")
                .expect("configured");
        assert_eq!(cfg.base_url, "http://127.0.0.1:8080/v1");
        let err = |pairs| LlmConfig::from_vars(vars(pairs)).expect_err("invalid").to_string();
        assert!(err(&[("LLM_BASE_URL", "http://x")]).contains("LLM_MODEL"));
        assert!(err(&[("LLM_BASE_URL", "ftp://x"), ("LLM_MODEL", "m")]).contains("LLM_BASE_URL"));
        assert!(
            err(&[("LLM_BASE_URL", "http://x"), ("LLM_MODEL", "m"), ("LLM_TIMEOUT_MS", "soon")])
                .contains("LLM_TIMEOUT_MS")
        );
    }
}
