//! `faq-bot`: an example Switchboard bot, and the living proof that bots need
//! no private API. It uses the public `/api/v1` and the WebSocket `/ws` with
//! its bot token, and links no crate of the Switchboard workspace.
//!
//! It greets each chat it is given, answers from a small FAQ file (JSON
//! lines `{"q": …, "a": …}`), and hands the chat to people (`reassign` with
//! reason `handoff`) when the customer asks for a person or when no FAQ entry
//! matches well enough.
//!
//! Configuration (environment):
//! - `SWITCHBOARD_URL`: the server, e.g. `http://127.0.0.1:3000`;
//! - `SWITCHBOARD_TOKEN`: the bot's API token (`sb_…`; admin console, the
//!   bot's page, or `switchboard create-token --agent bot@…`);
//! - `FAQ_FILE`: the FAQ, one JSON object a line;
//! - `FAQ_THRESHOLD` (optional, default 0.3): the least word overlap that
//!   counts as an answer;
//! - `FAQ_BOT_VERBOSE=1` (optional): print every WebSocket frame.

use std::{collections::HashSet, time::Duration};

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message as Frame, client::IntoClientRequest, http::HeaderValue};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// One FAQ entry.
#[derive(Debug, Clone, Deserialize)]
struct Entry {
    q: String,
    a: String,
}

/// What the bot knows: its API, its id, its FAQ.
struct Bot {
    http: reqwest::Client,
    base: String,
    token: String,
    me: String,
    faq: Vec<Entry>,
    threshold: f64,
    /// `FAQ_BOT_VERBOSE=1`: print every frame (for bot builders).
    verbose: bool,
}

/// Words that carry no meaning for matching.
const STOP: &[&str] = &[
    "a", "an", "and", "are", "can", "do", "does", "for", "how", "i", "in", "is", "it", "my", "of", "on",
    "or", "the", "to", "what", "when", "where", "which", "who", "why", "with", "you", "your", "me", "we",
    "our",
];

/// Words that ask for a person.
const PERSON: &[&str] = &["human", "person", "agent", "someone", "representative", "operator"];

fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !STOP.contains(&w.as_str()))
        .collect()
}

/// The best entry for a question and its score: the share of the entry's
/// question words that the customer used (0..1).
fn best<'a>(faq: &'a [Entry], question: &str) -> Option<(&'a Entry, f64)> {
    let asked = words(question);
    faq.iter()
        .map(|e| {
            let known = words(&e.q);
            let shared = known.intersection(&asked).count() as f64;
            (e, if known.is_empty() { 0.0 } else { shared / known.len() as f64 })
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

fn asks_for_person(text: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric()).any(|w| PERSON.contains(&w.to_lowercase().as_str()))
}

/// What the bot does with the customer's waiting messages.
#[derive(Debug, PartialEq)]
enum Step {
    Answer(String),
    HandOff { reason: &'static str, summary: String },
}

impl Bot {
    fn decide(&self, question: &str) -> Step {
        let summary = |why: &str| {
            let asked: String = question.chars().take(200).collect();
            format!("{why} The customer wrote: \u{201c}{asked}\u{201d}")
        };
        if asks_for_person(question) {
            return Step::HandOff {
                reason: "customer_request",
                summary: summary("The customer asked for a person."),
            };
        }
        match best(&self.faq, question) {
            Some((entry, score)) if score >= self.threshold => Step::Answer(entry.a.clone()),
            _ => Step::HandOff { reason: "low_confidence", summary: summary("No FAQ entry matches.") },
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    async fn get(&self, path: &str) -> Result<Value, Error> {
        let res = self.http.get(self.url(path)).bearer_auth(&self.token).send().await?;
        let status = res.status();
        let body: Value = res.json().await?;
        if !status.is_success() {
            return Err(format!("GET {path}: {status} {body}").into());
        }
        Ok(body)
    }

    /// POSTs `body`; `Ok(None)` when the session is no longer the bot's
    /// (409 `not_owner`, or 403/404 once it moved): a person has it.
    async fn post(&self, path: &str, body: Value) -> Result<Option<Value>, Error> {
        let res = self.http.post(self.url(path)).bearer_auth(&self.token).json(&body).send().await?;
        let status = res.status();
        let answer: Value = res.json().await.unwrap_or(Value::Null);
        match status.as_u16() {
            200..=299 => Ok(Some(answer)),
            403 | 404 => Ok(None),
            409 if matches!(answer["error"]["code"].as_str(), Some("not_owner" | "session_closed")) => {
                Ok(None)
            }
            _ => Err(format!("POST {path}: {status} {answer}").into()),
        }
    }

    /// Greets a chat the first time, then answers what the customer wrote
    /// since the bot (or anyone) last spoke.
    async fn serve(&self, session: &str) -> Result<(), Error> {
        let page = self.get(&format!("/sessions/{session}/messages?limit=50")).await?;
        let mut messages: Vec<Value> = page["items"].as_array().cloned().unwrap_or_default();
        messages.sort_by_key(|m| m["id"].as_i64().unwrap_or(0));
        let mine = |m: &Value| m["sender_agent_id"].as_str() == Some(self.me.as_str());
        if !messages.iter().any(mine) {
            let hello = json!({
                "body": "Hi! I'm the FAQ bot. I can answer common questions; write \u{201c}person\u{201d} at any time to reach our team.",
                "client_message_id": format!("faq-bot:greeting:{session}"),
            });
            if self.post(&format!("/sessions/{session}/messages"), hello).await?.is_none() {
                return Ok(());
            }
        }
        let waiting: Vec<&Value> = messages
            .iter()
            .rev()
            .filter(|m| m["sender_kind"] != "system")
            .take_while(|m| m["sender_kind"] == "customer")
            .collect();
        let Some(newest) = waiting.first().and_then(|m| m["id"].as_i64()) else { return Ok(()) };
        let question: Vec<&str> = waiting.iter().rev().filter_map(|m| m["body"].as_str()).collect();
        match self.decide(&question.join("\n")) {
            Step::Answer(text) => {
                let reply = json!({ "body": text, "client_message_id": format!("faq-bot:{newest}") });
                self.post(&format!("/sessions/{session}/messages"), reply).await?;
            }
            Step::HandOff { reason, summary } => {
                let handoff = json!({
                    "target": { "kind": "queue" },
                    "reason": "handoff",
                    "handoff": { "reason": reason, "summary": summary },
                });
                self.post(&format!("/sessions/{session}/reassign"), handoff).await?;
            }
        }
        Ok(())
    }

    /// The chats the bot has now.
    async fn my_sessions(&self) -> Result<Vec<String>, Error> {
        let page = self.get(&format!("/sessions?owner_id={}&status=active&limit=200", self.me)).await?;
        Ok(page["items"]
            .as_array()
            .map(|items| items.iter().filter_map(|s| s["id"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    /// One connection: hello, then frames until it drops. Returns the last
    /// event id applied, for the next hello's replay.
    async fn connect(&self, after: i64) -> Result<i64, Error> {
        let ws_url = format!("{}/ws", self.base.replacen("http", "ws", 1));
        let mut request = ws_url.into_client_request()?;
        request
            .headers_mut()
            .insert("authorization", HeaderValue::from_str(&format!("Bearer {}", self.token))?);
        let (socket, _) = tokio_tungstenite::connect_async(request).await?;
        let (mut tx, mut rx) = socket.split();
        tx.send(Frame::text(json!({ "type": "hello", "after": after }).to_string())).await?;
        let mut last = after;
        let mut subscribed: HashSet<String> = HashSet::new();
        let mut ping = tokio::time::interval(Duration::from_secs(15));
        // A safety net: every few seconds, look at the chats the bot has, so a
        // frame it never got (a resync, a race at connect) costs seconds, not
        // a customer left waiting. Serving a chat twice does nothing twice.
        let mut sweep = tokio::time::interval(Duration::from_secs(5));
        loop {
            // The chats to look at now.
            let look: Vec<String> = tokio::select! {
                _ = ping.tick() => {
                    tx.send(Frame::text(r#"{"type":"ping"}"#)).await?;
                    continue;
                }
                _ = sweep.tick() => self.my_sessions().await?,
                frame = rx.next() => {
                    let Some(frame) = frame else { return Ok(last) };
                    let Frame::Text(text) = frame? else { continue };
                    let frame: Value = serde_json::from_str(&text)?;
                    if self.verbose {
                        eprintln!("faq-bot: frame {frame}");
                    }
                    if let Some(id) = frame["event_id"].as_i64() {
                        last = last.max(id);
                    }
                    match frame["type"].as_str() {
                        // Connected (again): whatever happened meanwhile.
                        Some("welcome") => self.my_sessions().await?,
                        Some("session") => {
                            let s = &frame["session"];
                            if s["owner_id"].as_str() == Some(self.me.as_str()) && s["status"] == "active" {
                                vec![s["id"].as_str().unwrap_or_default().to_owned()]
                            } else {
                                Vec::new()
                            }
                        }
                        Some("message") if frame["message"]["sender_kind"] == "customer" => {
                            let id = frame["message"]["session_id"].as_str().unwrap_or_default().to_owned();
                            if subscribed.contains(&id) { vec![id] } else { Vec::new() }
                        }
                        _ => Vec::new(),
                    }
                }
            };
            for session in look.into_iter().filter(|s| !s.is_empty()) {
                if subscribed.insert(session.clone()) {
                    let sub = json!({ "type": "subscribe", "session_id": session });
                    tx.send(Frame::text(sub.to_string())).await?;
                }
                if let Err(err) = self.serve(&session).await {
                    eprintln!("faq-bot: session {session}: {err}");
                }
            }
        }
    }
}

fn env(name: &str) -> Result<String, Error> {
    std::env::var(name).map_err(|_| format!("set {name}").into())
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let base = env("SWITCHBOARD_URL")?.trim_end_matches('/').to_owned();
    let token = env("SWITCHBOARD_TOKEN")?;
    let path = env("FAQ_FILE")?;
    let faq: Vec<Entry> = std::fs::read_to_string(&path)
        .map_err(|e| format!("{path}: {e}"))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{path}: {e}"))?;
    let threshold = match std::env::var("FAQ_THRESHOLD") {
        Ok(t) => t.parse().map_err(|_| format!("FAQ_THRESHOLD {t:?} is not a number"))?,
        Err(_) => 0.3,
    };
    let http = reqwest::Client::builder().timeout(Duration::from_secs(15)).build()?;
    let me_url = format!("{base}/api/v1/auth/me");
    let me: Value = http.get(&me_url).bearer_auth(&token).send().await?.error_for_status()?.json().await?;
    if me["role"] != "bot" {
        return Err(format!("the token is not a bot's: {me}").into());
    }
    let me = me["id"].as_str().ok_or("auth/me has no id")?.to_owned();
    let verbose = std::env::var("FAQ_BOT_VERBOSE").is_ok_and(|v| v == "1");
    let bot = Bot { http, base, token, me, faq, threshold, verbose };
    eprintln!("faq-bot: {} FAQ entries, answering as {}", bot.faq.len(), bot.me);
    let mut after = 0;
    let mut backoff = Duration::from_millis(500);
    loop {
        match bot.connect(after).await {
            Ok(last) => {
                after = last;
                backoff = Duration::from_millis(500);
            }
            Err(err) => {
                eprintln!("faq-bot: connection: {err}; again in {backoff:?}");
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
        tokio::time::sleep(backoff).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bot(faq: &[(&str, &str)]) -> Bot {
        Bot {
            http: reqwest::Client::new(),
            base: String::new(),
            token: String::new(),
            me: String::new(),
            faq: faq.iter().map(|(q, a)| Entry { q: (*q).into(), a: (*a).into() }).collect(),
            threshold: 0.3,
            verbose: false,
        }
    }

    #[test]
    fn it_answers_asks_for_people_and_hands_off_what_it_does_not_know() {
        let b =
            bot(&[("How do I reset my password?", "Use Settings."), ("Where is my invoice?", "Billing.")]);
        assert_eq!(b.decide("I need to reset the password"), Step::Answer("Use Settings.".into()));
        assert!(matches!(
            b.decide("Can I talk to a human?"),
            Step::HandOff { reason: "customer_request", .. }
        ));
        assert!(matches!(
            b.decide("The blue widget wobbles"),
            Step::HandOff { reason: "low_confidence", .. }
        ));
    }
}
