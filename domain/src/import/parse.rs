//! The source formats, read into one shape: a [`Conversation`] per ticket,
//! chat or conversation, in file order. A record that cannot be read
//! becomes an [`Entry::Broken`] naming its index (or line) and the field,
//! in its place, so that positions (the resume checkpoint) stay stable and
//! the good records around it import.
//!
//! Field mappings per format are in the README ("Importing history").

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;

use super::{Format, Skip, SkipKind};
use crate::{Error, Result};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// The source's id of the person, namespaced by kind ("person:12").
    pub source_id: Option<String>,
    pub name: Option<String>,
    /// Lower-cased; `None` when absent or not an address.
    pub email: Option<String>,
    /// An id the customer has in the business's own systems.
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    Customer,
    Agent(Person),
    /// Activity lines and automated replies without an agent behind them.
    System,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    pub author: Author,
    /// Plain text, trimmed; empty only when the message carries files.
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// An internal note rather than a message the customer saw.
    pub note: bool,
    /// The files it carried in the source, in order.
    pub files: Vec<FileRef>,
}

/// A file a message carried in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// The name the source gives it ("attachment-2" when it gives none).
    pub name: String,
    /// The type the source declares: checked against the bytes, like any
    /// upload's.
    pub declared_type: Option<String>,
    pub source: FileSource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileSource {
    /// Fetched when the conversation is imported (through the SSRF guard).
    Url(String),
    /// Carried in the export itself: base64 data or a `data:` URL.
    Inline(Vec<u8>),
    /// Named but not obtainable; the reason is listed with the skipped files.
    Unavailable(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Resolved(DateTime<Utc>),
    /// Ended without an agent ever answering (chats).
    Abandoned,
    Open,
    /// Deleted or marked as spam in the source.
    Deleted,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// Unique within the source ("ticket:41", "chat:7").
    pub source_id: String,
    /// Where it is in the file, for messages: "tickets[3]", "line 7".
    pub record: String,
    /// The department, group or inbox, mapped to a support type.
    pub group: Option<String>,
    pub outcome: Outcome,
    pub created_at: DateTime<Utc>,
    pub customer: Person,
    pub assignee: Option<Person>,
    pub tags: Vec<String>,
    /// 1–5, with the customer's comment.
    pub csat: Option<(i16, Option<String>)>,
    /// Oldest first.
    pub messages: Vec<Msg>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    Conversation(Box<Conversation>),
    Broken(Skip),
}

/// Reads a whole file. A file that is not of `format` at all is an error
/// naming what is missing; a bad record inside a good file is an
/// [`Entry::Broken`].
pub fn parse(format: Format, bytes: &[u8]) -> Result<Vec<Entry>> {
    let entries = match format {
        Format::Deskpro => deskpro(&json_document(bytes, "DeskPro")?),
        Format::Zendesk => zendesk(&json_document(bytes, "Zendesk")?),
        Format::Chatwoot => chatwoot(&json_document(bytes, "Chatwoot")?),
        Format::Jsonl => jsonl(bytes),
        Format::Csv => csv_rows(bytes),
    }?;
    // Every record failing on the same field is a file of another format
    // (a Zendesk export read as DeskPro's has `tickets` too), not bad data.
    let first = entries.first().and_then(|e| match e {
        Entry::Broken(s) => s.field.clone().map(|f| (f, s.reason.clone())),
        Entry::Conversation(_) => None,
    });
    if let Some((field, reason)) = first
        && entries.iter().all(|e| matches!(e, Entry::Broken(s) if s.field.as_deref() == Some(field.as_str())))
    {
        return Err(Error::invalid(
            "file",
            format!(
                "does not read as {}: none of its {} records does ({reason}); is it another format?",
                format.label(),
                entries.len()
            ),
        ));
    }
    Ok(entries)
}

fn json_document(bytes: &[u8], what: &str) -> Result<Value> {
    serde_json::from_slice(bytes).map_err(|e| {
        Error::invalid(
            "file",
            format!("is not a {what} JSON export: {e} (line {}, column {})", e.line(), e.column()),
        )
    })
}

/// A record-level problem: the field and what is wrong with it.
struct Bad {
    field: String,
    message: String,
}

fn bad(field: &str, message: impl Into<String>) -> Bad {
    Bad { field: field.to_owned(), message: message.into() }
}

fn broken(record: String, source_id: Option<String>, b: Bad) -> Entry {
    Entry::Broken(Skip {
        record,
        source_id,
        kind: SkipKind::Invalid,
        reason: format!("{}: {}", b.field, b.message),
        field: Some(b.field),
    })
}

/// One JSON record as an entry: without a readable `id` it is broken;
/// otherwise `read` reads the rest (naming the field of any problem), and
/// the conversation gets its source id (`{kind}:{id}`) and record here.
fn entry(
    record: String,
    r: &Rec<'_>,
    kind: &str,
    read: impl FnOnce(&str) -> Result<Conversation, Bad>,
) -> Entry {
    let id = match r.id("id") {
        Ok(id) => id,
        Err(b) => return broken(record, None, b),
    };
    let source_id = format!("{kind}:{id}");
    match read(&id) {
        Ok(c) => Entry::Conversation(Box::new(Conversation { source_id, record, ..c })),
        Err(b) => broken(record, Some(source_id), b),
    }
}

/// Reading fields of one JSON record, with errors that name them.
struct Rec<'a>(&'a Value);

impl<'a> Rec<'a> {
    fn get(&self, path: &str) -> Option<&'a Value> {
        let mut v = self.0;
        for part in path.split('.') {
            v = v.get(part)?;
        }
        (!v.is_null()).then_some(v)
    }

    /// A string or number as text; blank means absent.
    fn text(&self, path: &str) -> Result<Option<String>, Bad> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(bad(path, "must be a string")),
        }
    }

    fn id(&self, path: &str) -> Result<String, Bad> {
        let id = self.text(path)?.ok_or_else(|| bad(path, "is missing"))?;
        if id.chars().count() > 150 {
            return Err(bad(path, "is longer than 150 characters"));
        }
        Ok(id)
    }

    fn time(&self, path: &str) -> Result<Option<DateTime<Utc>>, Bad> {
        match self.get(path) {
            None => Ok(None),
            Some(v) => parse_time(v).map(Some).ok_or_else(|| {
                bad(
                    path,
                    format!("{v} is not a date and time (RFC 3339, \"YYYY-MM-DD hh:mm:ss\" or Unix seconds)"),
                )
            }),
        }
    }

    fn required_time(&self, path: &str) -> Result<DateTime<Utc>, Bad> {
        self.time(path)?.ok_or_else(|| bad(path, "is missing"))
    }

    fn flag(&self, path: &str) -> Result<bool, Bad> {
        match self.get(path) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::Number(n)) => Ok(n.as_i64().unwrap_or(0) != 0),
            Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
                "" | "0" | "false" | "no" => Ok(false),
                "1" | "true" | "yes" => Ok(true),
                _ => Err(bad(path, format!("{s:?} is not true or false"))),
            },
            Some(_) => Err(bad(path, "must be true or false")),
        }
    }

    fn array(&self, path: &str) -> Result<&'a [Value], Bad> {
        match self.get(path) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(bad(path, "must be an array")),
        }
    }

    /// Labels or tags: an array of strings (or of objects with a name), or
    /// one string separated by commas or semicolons.
    fn tags(&self, path: &str) -> Result<Vec<String>, Bad> {
        match self.get(path) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(split_tags(s)),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, t)| match t {
                    Value::String(s) => Ok(s.trim().to_owned()),
                    Value::Object(_) => ["name", "label", "title"]
                        .iter()
                        .find_map(|f| Rec(t).text(f).ok().flatten())
                        .ok_or_else(|| bad(&format!("{path}[{i}]"), "has no name")),
                    _ => Err(bad(&format!("{path}[{i}]"), "must be a string")),
                })
                .filter(|t| !matches!(t, Ok(s) if s.is_empty()))
                .collect(),
            Some(_) => Err(bad(path, "must be an array of strings")),
        }
    }
}

/// The files of one message: its `attachments` (or `files`) array. Each
/// item is an object with a name (`file_name`, `filename`, `name`,
/// `title`), a URL (`content_url`, `download_url`, `data_url`, `file_url`,
/// `url`; a `data:` URL is inline) or base64 `data`, and an optional type
/// (`content_type`, `mime_type`); DeskPro nests the file in `blob`, and its
/// API v2 names attachments by id, resolved through `linked`. A file that
/// cannot be read never makes its conversation unreadable: it becomes
/// [`FileSource::Unavailable`] with the reason.
fn files(r: &Rec<'_>, path: &str, linked: &Linked) -> Vec<FileRef> {
    let items = match r.get(path).or_else(|| r.get("files")) {
        Some(Value::Array(items)) => items.as_slice(),
        _ => return Vec::new(),
    };
    items
        .iter()
        .enumerate()
        .map(|(k, item)| {
            let fallback = format!("attachment-{}", k + 1);
            let (item, blob) = match item {
                Value::Object(_) => (Some(item), None),
                v => match scalar(v).and_then(|id| linked.attachments.get(&id).map(|a| (id, a))) {
                    Some((_, a)) => (Some(a), None),
                    None => (None, scalar(v)),
                },
            };
            let Some(item) = item else {
                return FileRef {
                    name: fallback,
                    declared_type: None,
                    source: FileSource::Unavailable(format!(
                        "attachment {} is not described in the export",
                        blob.unwrap_or_default()
                    )),
                };
            };
            let nested = match item.get("blob") {
                Some(b @ Value::Object(_)) => Some(b),
                Some(v) => scalar(v).and_then(|id| linked.blobs.get(&id)),
                None => None,
            };
            let pick = |fields: &[&str]| {
                [Some(item), nested]
                    .into_iter()
                    .flatten()
                    .find_map(|v| fields.iter().find_map(|f| Rec(v).text(f).ok().flatten()))
            };
            let url = pick(&["content_url", "download_url", "data_url", "file_url", "url"]);
            let name = pick(&["file_name", "filename", "name", "title"])
                .or_else(|| url.as_deref().and_then(name_from_url))
                .unwrap_or(fallback);
            let declared_type = pick(&["content_type", "mime_type", "mimetype"]).filter(|t| t.contains('/'));
            let source = match (pick(&["data", "content_base64", "base64"]), url) {
                (Some(data), _) => decode_base64(&data),
                (None, Some(url)) if url.starts_with("data:") => data_url(&url),
                (None, Some(url)) => FileSource::Url(url),
                (None, None) => FileSource::Unavailable("the export gives no URL and no data for it".into()),
            };
            FileRef { name, declared_type, source }
        })
        .collect()
}

/// The last segment of an http(s) URL's path, decoded.
fn name_from_url(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
    let last = parsed.path_segments()?.next_back()?;
    Some(percent_encoding::percent_decode_str(last).decode_utf8_lossy().into_owned())
        .filter(|n| !n.is_empty())
}

fn decode_base64(data: &str) -> FileSource {
    use base64::Engine as _;
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(compact.as_bytes()) {
        Ok(bytes) if !bytes.is_empty() => FileSource::Inline(bytes),
        Ok(_) => FileSource::Unavailable("its data is empty".into()),
        Err(e) => FileSource::Unavailable(format!("its data is not base64 ({e})")),
    }
}

/// `data:[type][;base64],payload`.
fn data_url(url: &str) -> FileSource {
    let Some((head, payload)) = url["data:".len()..].split_once(',') else {
        return FileSource::Unavailable("its data: URL has no comma".into());
    };
    if head.ends_with(";base64") {
        decode_base64(payload)
    } else {
        let bytes: Vec<u8> = percent_encoding::percent_decode_str(payload).collect();
        if bytes.is_empty() {
            FileSource::Unavailable("its data: URL is empty".into())
        } else {
            FileSource::Inline(bytes)
        }
    }
}

/// DeskPro API v2's attachments and blobs by id (`linked.attachment`,
/// `linked.blob`, or the export's `attachments` and `blobs`); empty for
/// the other formats, whose messages carry their files inline.
#[derive(Default)]
struct Linked {
    attachments: HashMap<String, Value>,
    blobs: HashMap<String, Value>,
}

impl Linked {
    fn by_id(list: Option<&Value>) -> HashMap<String, Value> {
        let items: Vec<&Value> = match list {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(Value::Object(o)) => o.values().collect(),
            _ => Vec::new(),
        };
        items.into_iter().filter_map(|v| Rec(v).text("id").ok().flatten().map(|id| (id, v.clone()))).collect()
    }
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()).filter(|s| !s.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn split_tags(s: &str) -> Vec<String> {
    s.split([',', ';']).map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

/// RFC 3339, DeskPro's `2024-03-05T12:34:56+0000`, `YYYY-MM-DD hh:mm:ss`
/// (UTC), or Unix seconds (milliseconds when implausibly large).
pub fn parse_time(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::Number(n) => unix(n.as_f64()?),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            }
            for f in ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
                if let Ok(t) = DateTime::parse_from_str(s, f) {
                    return Some(t.with_timezone(&Utc));
                }
            }
            for f in
                ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            {
                if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
                    return Some(Utc.from_utc_datetime(&t));
                }
            }
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                return unix(s.parse().ok()?);
            }
            None
        }
        _ => None,
    }
}

fn unix(secs: f64) -> Option<DateTime<Utc>> {
    let secs = if secs > 1e11 { secs / 1000.0 } else { secs };
    if !(0.0..1e10).contains(&secs) {
        return None;
    }
    DateTime::from_timestamp_millis((secs * 1000.0) as i64)
}

/// Untrusted HTML to plain text: html5ever parses it, markup is dropped
/// (scripts and styles with their content), entities are decoded, and
/// links are kept as text with their targets as footnotes.
pub fn html_to_text(html: &str) -> String {
    let text = html2text::config::plain_no_decorate()
        .link_footnotes(true)
        .string_from_read(html.as_bytes(), 10_000)
        .unwrap_or_else(|_| html.to_owned());
    plain(&text)
}

/// Plain text as stored: NULs (which PostgreSQL refuses) removed, trailing
/// spaces and runs of blank lines collapsed, trimmed.
pub fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.replace('\0', "").replace("\r\n", "\n").lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out.trim().to_owned()
}

fn email(v: Option<String>) -> Option<String> {
    v.map(|e| e.trim().to_lowercase()).filter(|e| crate::text::validate_email("email", e).is_ok())
}

fn sorted(mut messages: Vec<Msg>) -> Vec<Msg> {
    messages.sort_by_key(|m| m.created_at);
    messages
}

fn last_activity(messages: &[Msg], created_at: DateTime<Utc>) -> DateTime<Utc> {
    messages.iter().map(|m| m.created_at).max().unwrap_or(created_at).max(created_at)
}

/// A resolution time the history can hold: never before the creation.
fn resolution(at: Option<DateTime<Utc>>, messages: &[Msg], created_at: DateTime<Utc>) -> Outcome {
    Outcome::Resolved(at.unwrap_or_else(|| last_activity(messages, created_at)).max(created_at))
}

// ---------------------------------------------------------------- DeskPro

/// People, agents and departments by id: the export's arrays, or API v2's
/// `linked` objects.
#[derive(Default)]
struct Directory {
    people: HashMap<String, Person>,
    agents: HashMap<String, Person>,
    groups: HashMap<String, String>,
    linked: Linked,
}

impl Directory {
    fn person(v: &Value, kind: &str) -> Option<(String, Person)> {
        let r = Rec(v);
        let id = r.text("id").ok()??;
        let name = r
            .text("name")
            .ok()
            .flatten()
            .or_else(|| {
                let first = r.text("first_name").ok().flatten().unwrap_or_default();
                let last = r.text("last_name").ok().flatten().unwrap_or_default();
                Some(format!("{first} {last}").trim().to_owned()).filter(|n| !n.is_empty())
            })
            .or_else(|| r.text("display_name").ok().flatten());
        let email =
            email(r.text("primary_email").ok().flatten().or_else(|| r.text("email").ok().flatten()).or_else(
                || r.get("emails").and_then(|e| e.get(0)).and_then(|e| e.as_str().map(str::to_owned)),
            ));
        let external_id = r.text("external_id").ok().flatten();
        Some((id.clone(), Person { source_id: Some(format!("{kind}:{id}")), name, email, external_id }))
    }

    fn add_people(&mut self, list: Option<&Value>, agents: bool) {
        let items: Vec<&Value> = match list {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(Value::Object(o)) => o.values().collect(),
            _ => Vec::new(),
        };
        for v in items {
            let is_agent = agents || Rec(v).flag("is_agent").unwrap_or(false);
            if let Some((id, p)) = Self::person(v, if is_agent { "agent" } else { "person" }) {
                if is_agent {
                    self.agents.insert(id, p);
                } else {
                    self.people.insert(id, p);
                }
            }
        }
    }

    fn add_groups(&mut self, list: Option<&Value>) {
        let items: Vec<&Value> = match list {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(Value::Object(o)) => o.values().collect(),
            _ => Vec::new(),
        };
        for v in items {
            let r = Rec(v);
            if let (Ok(Some(id)), Some(name)) =
                (r.text("id"), r.text("title").ok().flatten().or_else(|| r.text("name").ok().flatten()))
            {
                self.groups.insert(id, name);
            }
        }
    }

    /// A reference to a person: an id, or the person inline.
    fn lookup(&self, v: Option<&Value>, field: &str, agent: bool) -> Result<Option<Person>, Bad> {
        let Some(v) = v.filter(|v| !v.is_null()) else { return Ok(None) };
        let id = match v {
            Value::Object(_) => {
                let inline_agent = agent || Rec(v).flag("is_agent").unwrap_or(false);
                let (id, p) = Self::person(v, if inline_agent { "agent" } else { "person" })
                    .ok_or_else(|| bad(field, "has no id"))?;
                return Ok(Some(self.known(&id, agent).unwrap_or(p)));
            }
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            _ => return Err(bad(field, "must be an id or an object")),
        };
        if id.is_empty() || id == "0" {
            return Ok(None);
        }
        Ok(Some(self.known(&id, agent).unwrap_or_else(|| Person {
            source_id: Some(format!("{}:{id}", if agent { "agent" } else { "person" })),
            ..Person::default()
        })))
    }

    fn known(&self, id: &str, agent: bool) -> Option<Person> {
        if agent {
            self.agents.get(id).or_else(|| self.people.get(id)).cloned()
        } else {
            self.people.get(id).or_else(|| self.agents.get(id)).cloned()
        }
    }

    fn is_agent(&self, v: Option<&Value>) -> bool {
        match v {
            Some(o @ Value::Object(_)) => {
                Rec(o).flag("is_agent").unwrap_or(false)
                    || Rec(o).text("id").ok().flatten().is_some_and(|id| self.agents.contains_key(&id))
            }
            Some(v) => scalar(v).is_some_and(|id| self.agents.contains_key(&id)),
            None => false,
        }
    }

    fn group(&self, v: Option<&Value>) -> Option<String> {
        match v? {
            Value::Object(_) => {
                let r = Rec(v?);
                r.text("title").ok().flatten().or_else(|| r.text("name").ok().flatten())
            }
            Value::String(s) => {
                Some(self.groups.get(s.trim()).cloned().unwrap_or_else(|| s.trim().to_owned()))
            }
            Value::Number(n) => {
                Some(self.groups.get(&n.to_string()).cloned().unwrap_or_else(|| format!("department {n}")))
            }
            _ => None,
        }
        .filter(|g| !g.is_empty())
    }
}

fn deskpro(doc: &Value) -> Result<Vec<Entry>> {
    let tickets = doc.get("tickets").or_else(|| doc.get("data"));
    let chats = doc.get("chats");
    if !matches!(tickets, Some(Value::Array(_))) && !matches!(chats, Some(Value::Array(_))) {
        return Err(Error::invalid(
            "file",
            "a DeskPro export has a `tickets` or `chats` array (or API v2's `data`); this file has neither: is it another format?",
        ));
    }
    let mut dir = Directory::default();
    let linked = doc.get("linked");
    dir.add_people(doc.get("people").or_else(|| linked.and_then(|l| l.get("person"))), false);
    dir.add_people(doc.get("agents").or_else(|| linked.and_then(|l| l.get("agent"))), true);
    dir.add_groups(doc.get("departments").or_else(|| linked.and_then(|l| l.get("department"))));
    dir.linked = Linked {
        attachments: Linked::by_id(
            doc.get("attachments").or_else(|| linked.and_then(|l| l.get("attachment"))),
        ),
        blobs: Linked::by_id(doc.get("blobs").or_else(|| linked.and_then(|l| l.get("blob")))),
    };
    let name = if doc.get("tickets").is_some() { "tickets" } else { "data" };
    let mut out = Vec::new();
    for (i, t) in tickets.and_then(Value::as_array).into_iter().flatten().enumerate() {
        out.push(deskpro_ticket(&dir, t, format!("{name}[{i}]")));
    }
    for (i, c) in chats.and_then(Value::as_array).into_iter().flatten().enumerate() {
        out.push(deskpro_chat(&dir, c, format!("chats[{i}]")));
    }
    Ok(out)
}

fn deskpro_messages(dir: &Directory, r: &Rec<'_>) -> Result<Vec<Msg>, Bad> {
    let mut messages = Vec::new();
    for (i, m) in r.array("messages")?.iter().enumerate() {
        let field = |f: &str| format!("messages[{i}].{f}");
        let mr = Rec(m);
        let created_at =
            mr.required_time("date_created").map_err(|b| bad(&field("date_created"), b.message))?;
        let body = match mr.get("message") {
            Some(Value::String(s)) => html_to_text(s),
            None => String::new(),
            Some(_) => return Err(bad(&field("message"), "must be a string")),
        };
        let files = files(&mr, "attachments", &dir.linked);
        if body.is_empty() && files.is_empty() {
            continue;
        }
        let note = mr.flag("is_agent_note").map_err(|b| bad(&field("is_agent_note"), b.message))?;
        let who = mr.get("person").or_else(|| mr.get("author"));
        let origin = mr.text("origin").ok().flatten().unwrap_or_default();
        let author = if origin == "system" {
            Author::System
        } else if note || dir.is_agent(who) || origin == "agent" || mr.flag("is_agent").unwrap_or(false) {
            match dir.lookup(who, &field("person"), true)? {
                Some(p) => Author::Agent(p),
                None if note => Author::Agent(Person::default()),
                None => Author::System,
            }
        } else {
            Author::Customer
        };
        messages.push(Msg { author, body, created_at, note, files });
    }
    Ok(sorted(messages))
}

fn deskpro_ticket(dir: &Directory, t: &Value, record: String) -> Entry {
    let r = Rec(t);
    entry(record, &r, "ticket", |_| {
        let created_at = r.required_time("date_created")?;
        let customer =
            dir.lookup(r.get("person"), "person", false)?.ok_or_else(|| bad("person", "is missing"))?;
        let assignee = dir.lookup(r.get("agent"), "agent", true)?;
        let messages = deskpro_messages(dir, &r)?;
        let status = r.text("status")?.unwrap_or_default().to_ascii_lowercase();
        let outcome = match status.as_str() {
            "resolved" | "closed" | "archived" => resolution(r.time("date_resolved")?, &messages, created_at),
            s if s.starts_with("hidden") || s == "deleted" || s == "spam" => Outcome::Deleted,
            _ => Outcome::Open,
        };
        // DeskPro rates a ticket −1 (unhappy), 0 (neutral) or 1 (happy).
        let rating = r.get("feedback_rating").or_else(|| r.get("feedback.rating"));
        let csat = match rating.and_then(Value::as_i64) {
            None if rating.is_some_and(|v| !v.is_number()) => {
                return Err(bad("feedback_rating", "must be -1, 0 or 1"));
            }
            None => None,
            Some(-1) => Some(1),
            Some(0) => Some(3),
            Some(1) => Some(5),
            Some(n) => return Err(bad("feedback_rating", format!("{n} is not -1, 0 or 1"))),
        }
        .map(|score| (score, r.text("feedback_message").ok().flatten()));
        Ok(Conversation {
            source_id: String::new(),
            record: String::new(),
            group: dir.group(r.get("department")),
            outcome,
            created_at,
            customer,
            assignee,
            tags: r.tags("labels")?,
            csat,
            messages,
        })
    })
}

fn deskpro_chat(dir: &Directory, c: &Value, record: String) -> Entry {
    let r = Rec(c);
    entry(record, &r, "chat", |id| {
        let created_at = r.required_time("date_created")?;
        let customer = dir
            .lookup(r.get("person"), "person", false)?
            .unwrap_or_else(|| Person { source_id: Some(format!("chat-visitor:{id}")), ..Person::default() });
        let assignee = dir.lookup(r.get("agent"), "agent", true)?;
        let messages = deskpro_messages(dir, &r)?;
        let ended = r.time("date_ended")?;
        let status = r.text("status")?.unwrap_or_default().to_ascii_lowercase();
        let answered = messages.iter().any(|m| matches!(m.author, Author::Agent(_)) && !m.note);
        let outcome = if ended.is_none() && status != "ended" {
            Outcome::Open
        } else if answered {
            resolution(ended, &messages, created_at)
        } else {
            Outcome::Abandoned
        };
        let csat = match r.get("rating_overall") {
            None => None,
            Some(v) => match v.as_i64() {
                Some(n @ 1..=5) => Some((n as i16, r.text("rating_comment").ok().flatten())),
                _ => return Err(bad("rating_overall", format!("{v} is not a rating from 1 to 5"))),
            },
        };
        Ok(Conversation {
            source_id: String::new(),
            record: String::new(),
            group: dir.group(r.get("department")),
            outcome,
            created_at,
            customer,
            assignee,
            tags: r.tags("labels")?,
            csat,
            messages,
        })
    })
}

// ---------------------------------------------------------------- Zendesk

fn zendesk(doc: &Value) -> Result<Vec<Entry>> {
    let Some(Value::Array(tickets)) = doc.get("tickets") else {
        return Err(Error::invalid(
            "file",
            "a Zendesk incremental export has a `tickets` array; this file has none: is it another format?",
        ));
    };
    // Users: id → (person, is staff).
    let mut users: HashMap<String, (Person, bool)> = HashMap::new();
    for u in doc.get("users").and_then(Value::as_array).into_iter().flatten() {
        let r = Rec(u);
        if let Ok(Some(id)) = r.text("id") {
            let role = r.text("role").ok().flatten().unwrap_or_default();
            let staff = role == "agent" || role == "admin";
            let person = Person {
                source_id: Some(format!("user:{id}")),
                name: r.text("name").ok().flatten(),
                email: email(r.text("email").ok().flatten()),
                external_id: r.text("external_id").ok().flatten(),
            };
            users.insert(id, (person, staff));
        }
    }
    let mut groups: HashMap<String, String> = HashMap::new();
    for g in doc.get("groups").and_then(Value::as_array).into_iter().flatten() {
        let r = Rec(g);
        if let (Ok(Some(id)), Ok(Some(name))) = (r.text("id"), r.text("name")) {
            groups.insert(id, name);
        }
    }
    let user = |id: &str| -> Person {
        users
            .get(id)
            .map(|(p, _)| p.clone())
            .unwrap_or_else(|| Person { source_id: Some(format!("user:{id}")), ..Person::default() })
    };
    let mut out = Vec::new();
    for (i, t) in tickets.iter().enumerate() {
        let record = format!("tickets[{i}]");
        let r = Rec(t);
        out.push(entry(record, &r, "ticket", |_| {
            let created_at = r.required_time("created_at")?;
            let requester = r.text("requester_id")?.ok_or_else(|| bad("requester_id", "is missing"))?;
            let assignee = r.text("assignee_id")?.map(|a| user(&a));
            let mut messages = Vec::new();
            for (j, c) in r.array("comments")?.iter().enumerate() {
                let field = |f: &str| format!("comments[{j}].{f}");
                let cr = Rec(c);
                let at = cr.required_time("created_at").map_err(|b| bad(&field("created_at"), b.message))?;
                let body = match (cr.text("plain_body"), cr.get("html_body"), cr.text("body")) {
                    (Ok(Some(p)), _, _) => plain(&p),
                    (_, Some(Value::String(h)), _) => html_to_text(h),
                    (_, _, Ok(Some(b))) => plain(&b),
                    _ => String::new(),
                };
                let files = files(&cr, "attachments", &Linked::default());
                if body.is_empty() && files.is_empty() {
                    continue;
                }
                let public = match cr.get("public") {
                    None => true,
                    Some(_) => cr.flag("public").map_err(|b| bad(&field("public"), b.message))?,
                };
                let author_id = cr.text("author_id").map_err(|b| bad(&field("author_id"), b.message))?;
                let author = match author_id {
                    Some(a) if users.get(&a).is_some_and(|(_, staff)| *staff) => Author::Agent(user(&a)),
                    Some(a) if a == requester || users.contains_key(&a) => {
                        if public {
                            Author::Customer
                        } else {
                            Author::Agent(Person::default())
                        }
                    }
                    // Zendesk writes automated comments as user -1.
                    _ => Author::System,
                };
                messages.push(Msg { author, body, created_at: at, note: !public, files });
            }
            let messages = sorted(messages);
            let status = r.text("status")?.unwrap_or_default().to_ascii_lowercase();
            let outcome = match status.as_str() {
                "solved" | "closed" => resolution(
                    r.time("metric_set.solved_at")?.or(r.time("solved_at")?).or(r.time("updated_at")?),
                    &messages,
                    created_at,
                ),
                "deleted" => Outcome::Deleted,
                _ => Outcome::Open,
            };
            let csat = match r.text("satisfaction_rating.score")?.as_deref() {
                Some("good") => Some(5),
                Some("bad") => Some(1),
                _ => None,
            }
            .map(|s| (s, r.text("satisfaction_rating.comment").ok().flatten()));
            let group = r.text("group_id")?.map(|g| groups.get(&g).cloned().unwrap_or(format!("group {g}")));
            Ok(Conversation {
                source_id: String::new(),
                record: String::new(),
                group,
                outcome,
                created_at,
                customer: user(&requester),
                assignee,
                tags: r.tags("tags")?,
                csat,
                messages,
            })
        }));
    }
    Ok(out)
}

// ---------------------------------------------------------------- Chatwoot

fn chatwoot(doc: &Value) -> Result<Vec<Entry>> {
    let list = match doc {
        Value::Array(a) => Some(a),
        _ => doc
            .get("payload")
            .or_else(|| doc.get("data").and_then(|d| d.get("payload")))
            .or_else(|| doc.get("conversations"))
            .and_then(Value::as_array),
    };
    let Some(list) = list else {
        return Err(Error::invalid(
            "file",
            "a Chatwoot export is an array of conversations, or has them under `payload`, `data.payload` or `conversations`; this file has none: is it another format?",
        ));
    };
    let mut inboxes: HashMap<String, String> = HashMap::new();
    for b in doc.get("inboxes").and_then(Value::as_array).into_iter().flatten() {
        let r = Rec(b);
        if let (Ok(Some(id)), Ok(Some(name))) = (r.text("id"), r.text("name")) {
            inboxes.insert(id, name);
        }
    }
    let person = |v: Option<&Value>, kind: &str| -> Option<Person> {
        let r = Rec(v?);
        let id = r.text("id").ok().flatten();
        Some(Person {
            source_id: id.map(|id| format!("{kind}:{id}")),
            name: r.text("name").ok().flatten(),
            email: email(r.text("email").ok().flatten()),
            external_id: r.text("identifier").ok().flatten(),
        })
    };
    let mut out = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let record = format!("conversations[{i}]");
        let r = Rec(c);
        out.push(entry(record, &r, "conversation", |id| {
            let created_at = r.required_time("created_at")?;
            let customer = person(r.get("meta.sender"), "contact")
                .unwrap_or_else(|| Person { source_id: Some(format!("visitor:{id}")), ..Person::default() });
            let assignee = person(r.get("meta.assignee"), "user");
            let mut messages = Vec::new();
            for (j, m) in r.array("messages")?.iter().enumerate() {
                let field = |f: &str| format!("messages[{j}].{f}");
                let mr = Rec(m);
                let at = mr.required_time("created_at").map_err(|b| bad(&field("created_at"), b.message))?;
                let body = plain(
                    &mr.text("content").map_err(|b| bad(&field("content"), b.message))?.unwrap_or_default(),
                );
                let files = files(&mr, "attachments", &Linked::default());
                if body.is_empty() && files.is_empty() {
                    continue;
                }
                let note = mr.flag("private").map_err(|b| bad(&field("private"), b.message))?;
                let kind = match mr.get("message_type") {
                    Some(Value::Number(n)) => n.as_i64().unwrap_or(-1),
                    Some(Value::String(s)) => match s.as_str() {
                        "incoming" => 0,
                        "outgoing" => 1,
                        "activity" => 2,
                        "template" => 3,
                        _ => -1,
                    },
                    _ => -1,
                };
                let sender_type =
                    mr.text("sender.type").ok().flatten().unwrap_or_default().to_ascii_lowercase();
                let author = match kind {
                    0 if !note => Author::Customer,
                    0 | 1 | 3 if sender_type == "user" || note => {
                        Author::Agent(person(mr.get("sender"), "user").unwrap_or_default())
                    }
                    1 | 3 if assignee.is_some() && sender_type.is_empty() => {
                        Author::Agent(assignee.clone().unwrap_or_default())
                    }
                    1..=3 => Author::System,
                    _ => {
                        return Err(bad(
                            &field("message_type"),
                            "is not incoming, outgoing, activity or template",
                        ));
                    }
                };
                messages.push(Msg { author, body, created_at: at, note, files });
            }
            let messages = sorted(messages);
            let status = r.text("status")?.unwrap_or_default().to_ascii_lowercase();
            let outcome = match status.as_str() {
                "resolved" => resolution(r.time("last_activity_at")?, &messages, created_at),
                _ => Outcome::Open,
            };
            let csat_value = r.get("csat_survey_response.rating").or_else(|| r.get("csat.rating"));
            let csat = match csat_value {
                None => None,
                Some(v) => match v.as_i64() {
                    Some(n @ 1..=5) => Some((
                        n as i16,
                        r.text("csat_survey_response.feedback_message")
                            .ok()
                            .flatten()
                            .or(r.text("csat.feedback_message").ok().flatten()),
                    )),
                    _ => {
                        return Err(bad(
                            "csat_survey_response.rating",
                            format!("{v} is not a rating from 1 to 5"),
                        ));
                    }
                },
            };
            let group = r.text("inbox_id")?.map(|b| inboxes.get(&b).cloned().unwrap_or(format!("inbox {b}")));
            Ok(Conversation {
                source_id: String::new(),
                record: String::new(),
                group,
                outcome,
                created_at,
                customer,
                assignee,
                tags: r.tags("labels")?,
                csat,
                messages,
            })
        }));
    }
    Ok(out)
}

// ---------------------------------------------------------------- generic

/// One message of the generic format, from a JSON object or a CSV row.
struct GenericMsg {
    from: String,
    author_email: Option<String>,
    author_name: Option<String>,
    body: String,
    html: bool,
    created_at: Option<DateTime<Utc>>,
    files: Vec<FileRef>,
}

fn generic_msg(m: GenericMsg, field: &dyn Fn(&str) -> String) -> Result<Option<Msg>, Bad> {
    let body = if m.html { html_to_text(&m.body) } else { plain(&m.body) };
    if body.is_empty() && m.files.is_empty() {
        return Ok(None);
    }
    let created_at = m.created_at.ok_or_else(|| bad(&field("created_at"), "is missing"))?;
    let agent = || Person {
        source_id: m.author_email.as_ref().map(|e| format!("agent:{e}")),
        name: m.author_name.clone(),
        email: email(m.author_email.clone()),
        external_id: None,
    };
    let (author, note) = match m.from.to_ascii_lowercase().as_str() {
        "customer" | "contact" | "user" | "visitor" => (Author::Customer, false),
        "agent" => (Author::Agent(agent()), false),
        "note" => (Author::Agent(agent()), true),
        "system" | "bot" => (Author::System, false),
        other => {
            return Err(bad(&field("from"), format!("{other:?} is not customer, agent, note or system")));
        }
    };
    Ok(Some(Msg { author, body, created_at, note, files: m.files }))
}

fn generic_status(
    status: Option<String>,
    resolved_at: Option<DateTime<Utc>>,
    messages: &[Msg],
    created_at: DateTime<Utc>,
) -> Result<Outcome, Bad> {
    Ok(match status.unwrap_or_else(|| "resolved".into()).to_ascii_lowercase().as_str() {
        "resolved" | "closed" | "solved" => resolution(resolved_at, messages, created_at),
        "abandoned" => Outcome::Abandoned,
        "open" | "pending" | "queued" | "active" => Outcome::Open,
        "deleted" | "spam" => Outcome::Deleted,
        other => return Err(bad("status", format!("{other:?} is not resolved, abandoned, open or deleted"))),
    })
}

fn generic_csat(
    value: Option<String>,
    comment: Option<String>,
) -> Result<Option<(i16, Option<String>)>, Bad> {
    match value {
        None => Ok(None),
        Some(v) => match v.parse::<i16>() {
            Ok(n @ 1..=5) => Ok(Some((n, comment))),
            _ => Err(bad("csat", format!("{v:?} is not a rating from 1 to 5"))),
        },
    }
}

fn jsonl(bytes: &[u8]) -> Result<Vec<Entry>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| Error::invalid("file", format!("is not UTF-8 text (byte {})", e.valid_up_to())))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let record = format!("line {}", n + 1);
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = match serde_json::from_str(line) {
            Ok(v @ Value::Object(_)) => v,
            Ok(_) => {
                out.push(broken(record, None, bad("line", "is not a JSON object")));
                continue;
            }
            Err(e) => {
                out.push(broken(record, None, bad("line", format!("is not JSON: {e}"))));
                continue;
            }
        };
        let r = Rec(&v);
        out.push(entry(record, &r, "conversation", |_| {
            let mut messages = Vec::new();
            for (j, m) in r.array("messages")?.iter().enumerate() {
                let field = |f: &str| format!("messages[{j}].{f}");
                let mr = Rec(m);
                let text = |f: &str| mr.text(f).map_err(|b| bad(&field(f), b.message));
                let msg = GenericMsg {
                    from: text("from")?.ok_or_else(|| bad(&field("from"), "is missing"))?,
                    author_email: text("author_email")?,
                    author_name: text("author_name")?,
                    body: match mr.get("body") {
                        Some(Value::String(s)) => s.clone(),
                        None => String::new(),
                        Some(_) => return Err(bad(&field("body"), "must be a string")),
                    },
                    html: mr.flag("html").map_err(|b| bad(&field("html"), b.message))?,
                    created_at: mr.time("created_at").map_err(|b| bad(&field("created_at"), b.message))?,
                    files: files(&mr, "attachments", &Linked::default()),
                };
                if let Some(m) = generic_msg(msg, &field)? {
                    messages.push(m);
                }
            }
            let messages = sorted(messages);
            let created_at = r
                .time("created_at")?
                .or_else(|| messages.first().map(|m| m.created_at))
                .ok_or_else(|| bad("created_at", "is missing"))?;
            let customer = Person {
                source_id: r.text("customer.id")?.map(|c| format!("customer:{c}")),
                name: r.text("customer.name")?,
                email: email(r.text("customer.email")?),
                external_id: r.text("customer.external_id")?,
            };
            let assignee = r.text("agent.email")?.map(|e| Person {
                source_id: Some(format!("agent:{e}")),
                name: r.text("agent.name").ok().flatten(),
                email: email(Some(e)),
                external_id: None,
            });
            Ok(Conversation {
                source_id: String::new(),
                record: String::new(),
                group: r.text("type")?,
                outcome: generic_status(r.text("status")?, r.time("resolved_at")?, &messages, created_at)?,
                created_at,
                customer,
                assignee,
                tags: r.tags("tags")?,
                csat: generic_csat(r.text("csat")?, r.text("csat_comment")?)?,
                messages,
            })
        }));
    }
    Ok(out)
}

/// The generic CSV: one message per row, rows of a conversation grouped by
/// `conversation_id` (in the order each conversation first appears); the
/// conversation's own columns are read from its first row that has them.
pub const CSV_COLUMNS: &[&str] = &[
    "conversation_id",
    "type",
    "status",
    "created_at",
    "resolved_at",
    "customer_id",
    "customer_name",
    "customer_email",
    "customer_external_id",
    "agent_email",
    "agent_name",
    "tags",
    "csat",
    "csat_comment",
    "message_from",
    "message_author_email",
    "message_author_name",
    "message_body",
    "message_html",
    "message_created_at",
    "message_attachments",
];

/// The CSV's `message_attachments`: URLs separated by whitespace, each
/// named by the last segment of its path.
fn csv_files(urls: &str) -> Vec<FileRef> {
    urls.split_whitespace()
        .enumerate()
        .map(|(k, url)| {
            let name = name_from_url(url).unwrap_or_else(|| format!("attachment-{}", k + 1));
            let source =
                if url.starts_with("data:") { data_url(url) } else { FileSource::Url(url.to_owned()) };
            FileRef { name, declared_type: None, source }
        })
        .collect()
}

fn csv_rows(bytes: &[u8]) -> Result<Vec<Entry>> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| Error::invalid("file", format!("has no readable CSV header: {e}")))?
        .clone();
    let col: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h.trim(), i)).collect();
    for required in ["conversation_id", "message_from", "message_body", "message_created_at"] {
        if !col.contains_key(required) {
            return Err(Error::invalid(
                "file",
                format!("the CSV header has no `{required}` column (columns: {})", CSV_COLUMNS.join(", ")),
            ));
        }
    }
    // Conversations in first-appearance order, each with its rows.
    let mut order: Vec<String> = Vec::new();
    let mut rows: HashMap<String, Vec<(u64, csv::StringRecord)>> = HashMap::new();
    let mut out_of_band: Vec<(usize, Entry)> = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let line = n as u64 + 2;
        match row {
            Ok(row) => {
                let id = row.get(col["conversation_id"]).unwrap_or("").trim().to_owned();
                if id.is_empty() {
                    out_of_band.push((
                        order.len(),
                        broken(format!("line {line}"), None, bad("conversation_id", "is missing")),
                    ));
                    continue;
                }
                if !rows.contains_key(&id) {
                    order.push(id.clone());
                }
                rows.entry(id).or_default().push((line, row));
            }
            Err(e) => out_of_band.push((
                order.len(),
                broken(format!("line {line}"), None, bad("line", format!("is not a CSV row: {e}"))),
            )),
        }
    }
    let mut out = Vec::new();
    let mut extra = out_of_band.into_iter().peekable();
    for (i, id) in order.iter().enumerate() {
        while extra.peek().is_some_and(|(at, _)| *at <= i) {
            out.push(extra.next().expect("peeked").1);
        }
        let group = &rows[id];
        let first_line = group[0].0;
        let record = format!("line {first_line}");
        let read = || -> Result<Conversation, Bad> {
            let cell = |row: &csv::StringRecord, name: &str| -> Option<String> {
                col.get(name)
                    .and_then(|i| row.get(*i))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
            };
            let first = |name: &str| group.iter().find_map(|(_, row)| cell(row, name));
            let time = |name: &str, v: Option<String>, line: u64| -> Result<Option<DateTime<Utc>>, Bad> {
                v.map(|s| {
                    parse_time(&Value::String(s.clone()))
                        .ok_or_else(|| bad(name, format!("{s:?} on line {line} is not a date and time")))
                })
                .transpose()
            };
            let mut messages = Vec::new();
            for (line, row) in group {
                let field = |f: &str| format!("{f} (line {line})");
                let msg = GenericMsg {
                    from: cell(row, "message_from")
                        .ok_or_else(|| bad(&field("message_from"), "is missing"))?,
                    author_email: cell(row, "message_author_email"),
                    author_name: cell(row, "message_author_name"),
                    body: cell(row, "message_body").unwrap_or_default(),
                    html: matches!(cell(row, "message_html").as_deref(), Some("1" | "true" | "yes")),
                    created_at: time("message_created_at", cell(row, "message_created_at"), *line)?,
                    files: cell(row, "message_attachments").map(|urls| csv_files(&urls)).unwrap_or_default(),
                };
                let prefixed = |f: &str| field(&format!("message_{f}"));
                if let Some(m) = generic_msg(msg, &prefixed)? {
                    messages.push(m);
                }
            }
            let messages = sorted(messages);
            let created_at = time("created_at", first("created_at"), first_line)?
                .or_else(|| messages.first().map(|m| m.created_at))
                .ok_or_else(|| bad("created_at", "is missing"))?;
            let customer = Person {
                source_id: first("customer_id").map(|c| format!("customer:{c}")),
                name: first("customer_name"),
                email: email(first("customer_email")),
                external_id: first("customer_external_id"),
            };
            let assignee = first("agent_email").map(|e| Person {
                source_id: Some(format!("agent:{e}")),
                name: first("agent_name"),
                email: email(Some(e)),
                external_id: None,
            });
            Ok(Conversation {
                source_id: format!("conversation:{id}"),
                record: record.clone(),
                group: first("type"),
                outcome: generic_status(
                    first("status"),
                    time("resolved_at", first("resolved_at"), first_line)?,
                    &messages,
                    created_at,
                )?,
                created_at,
                customer,
                assignee,
                tags: first("tags").map(|t| split_tags(&t)).unwrap_or_default(),
                csat: generic_csat(first("csat"), first("csat_comment"))?,
                messages,
            })
        };
        out.push(match read() {
            Ok(c) => Entry::Conversation(Box::new(c)),
            Err(b) => broken(record, Some(format!("conversation:{id}")), b),
        });
    }
    out.extend(extra.map(|(_, e)| e));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_keeps_text_and_links_and_drops_markup() {
        let text = html_to_text(
            r#"<p>Hello <b>there</b>, see <a href="https://example.com/x">the guide</a>.</p><script>alert(1)</script><p>a &amp; b &lt;i&gt;</p><img src=x onerror="alert(1)">"#,
        );
        assert!(text.starts_with("Hello there, see [the guide][1]."), "{text}");
        assert!(text.contains("a & b <i>"), "{text}");
        assert!(text.contains("[1]: https://example.com/x"), "{text}");
        assert!(!text.contains("alert"), "{text}");
        assert!(!text.contains("<p>") && !text.contains("<b>"), "{text}");
    }

    #[test]
    fn times_in_the_sources_formats() {
        let at = |s: &str| parse_time(&Value::String(s.into())).map(|t| t.to_rfc3339());
        assert_eq!(at("2024-03-05T12:34:56+0000").as_deref(), Some("2024-03-05T12:34:56+00:00"));
        assert_eq!(at("2024-03-05T13:34:56+01:00").as_deref(), Some("2024-03-05T12:34:56+00:00"));
        assert_eq!(at("2024-03-05 12:34:56").as_deref(), Some("2024-03-05T12:34:56+00:00"));
        assert_eq!(
            parse_time(&serde_json::json!(1709642096)).map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-03-05T12:34:56+00:00")
        );
        assert_eq!(at("yesterday"), None);
    }

    #[test]
    fn a_file_of_another_format_is_named() {
        let err = parse(Format::Deskpro, br#"{"tickets_wrong": []}"#).expect_err("not deskpro");
        assert!(
            matches!(&err, Error::Invalid { field, message } if field == "file" && message.contains("DeskPro")),
            "{err:?}"
        );
        let err = parse(Format::Zendesk, b"not json").expect_err("not json");
        assert!(matches!(&err, Error::Invalid { message, .. } if message.contains("line 1")), "{err:?}");
        let err = parse(Format::Csv, b"a,b\n1,2\n").expect_err("no columns");
        assert!(
            matches!(&err, Error::Invalid { message, .. } if message.contains("conversation_id")),
            "{err:?}"
        );
    }

    #[test]
    fn a_file_of_another_format_with_the_same_array_is_named_too() {
        let zendesk = br#"{"tickets": [{"id": 1, "created_at": "2024-01-01T10:00:00Z", "requester_id": 2}]}"#;
        let err = parse(Format::Deskpro, zendesk).expect_err("not deskpro");
        assert!(
            matches!(&err, Error::Invalid { field, message } if field == "file" && message.contains("DeskPro") && message.contains("date_created")),
            "{err:?}"
        );
    }

    #[test]
    fn a_bad_record_names_its_index_and_field_and_keeps_its_place() {
        let doc = br#"{"tickets": [
            {"id": 1, "status": "resolved", "person": {"id": 5, "primary_email": "a@example.com"}, "date_created": "2024-01-01T10:00:00+0000"},
            {"id": 2, "status": "resolved", "person": 5, "date_created": "soon"},
            {"id": 3, "status": "resolved", "person": 5, "date_created": "2024-01-01T10:00:00+0000", "feedback_rating": 7}
        ]}"#;
        let entries = parse(Format::Deskpro, doc).expect("parses");
        assert_eq!(entries.len(), 3);
        assert!(matches!(&entries[0], Entry::Conversation(_)));
        let Entry::Broken(skip) = &entries[1] else { panic!("{:?}", entries[1]) };
        assert_eq!((skip.record.as_str(), skip.field.as_deref()), ("tickets[1]", Some("date_created")));
        let Entry::Broken(skip) = &entries[2] else { panic!("{:?}", entries[2]) };
        assert_eq!((skip.record.as_str(), skip.field.as_deref()), ("tickets[2]", Some("feedback_rating")));
    }

    #[test]
    fn csv_groups_rows_by_conversation_and_names_lines() {
        let csv = "conversation_id,type,status,created_at,customer_email,agent_email,message_from,message_author_email,message_body,message_created_at\n\
                   c1,billing,resolved,2024-01-01 10:00:00,a@example.com,x@example.com,customer,,Hi,2024-01-01 10:00:00\n\
                   c2,billing,resolved,2024-01-01 11:00:00,b@example.com,,customer,,Hello,2024-01-01 11:00:00\n\
                   c1,,,,,,agent,x@example.com,Hi back,2024-01-01 10:05:00\n\
                   c3,billing,resolved,2024-01-01 11:00:00,b@example.com,,martian,,Hello,2024-01-01 11:00:00\n";
        let entries = parse(Format::Csv, csv.as_bytes()).expect("parses");
        assert_eq!(entries.len(), 3);
        let Entry::Conversation(c1) = &entries[0] else { panic!("{:?}", entries[0]) };
        assert_eq!(c1.messages.len(), 2);
        assert!(
            matches!(&c1.messages[1].author, Author::Agent(p) if p.email.as_deref() == Some("x@example.com"))
        );
        let Entry::Broken(skip) = &entries[2] else { panic!("{:?}", entries[2]) };
        assert_eq!(skip.record, "line 5");
        assert_eq!(skip.field.as_deref(), Some("message_from (line 5)"));
    }

    fn first_message(entries: &[Entry]) -> &Msg {
        let Entry::Conversation(c) = &entries[0] else { panic!("{:?}", entries[0]) };
        &c.messages[0]
    }

    #[test]
    fn deskpro_attachments_resolve_through_linked_blobs() {
        let doc = br#"{"data": [{"id": 7, "status": "resolved", "person": 5, "date_created": "2024-01-01T10:00:00+0000",
            "messages": [{"id": 1, "person": 5, "date_created": "2024-01-01T10:00:00+0000", "message": "",
                          "attachments": [31, 32, {"blob": {"filename": "inline.txt", "download_url": "https://desk.example.com/file.php/inline"}}, 99]}]}],
            "linked": {"person": {"5": {"id": 5, "primary_email": "a@example.com"}},
                       "attachment": {"31": {"id": 31, "blob": 41}, "32": {"id": 32, "blob": {"filename": "b.pdf", "content_type": "application/pdf", "download_url": "https://desk.example.com/b"}}},
                       "blob": {"41": {"id": 41, "filename": "a.png", "download_url": "https://desk.example.com/a"}}}}"#;
        let entries = parse(Format::Deskpro, doc).expect("parses");
        let m = first_message(&entries);
        assert_eq!(m.body, "", "a message of files alone is kept");
        let names: Vec<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a.png", "b.pdf", "inline.txt", "attachment-4"]);
        assert_eq!(m.files[0].source, FileSource::Url("https://desk.example.com/a".into()));
        assert_eq!(m.files[1].declared_type.as_deref(), Some("application/pdf"));
        assert!(
            matches!(&m.files[3].source, FileSource::Unavailable(why) if why.contains("99")),
            "an id the export does not describe is named: {:?}",
            m.files[3]
        );
    }

    #[test]
    fn inline_files_and_names_from_urls() {
        let line = serde_json::json!({"id": "c1", "type": "billing", "created_at": "2024-01-01T10:00:00Z",
            "customer": {"email": "a@example.com"},
            "messages": [{"from": "customer", "created_at": "2024-01-01T10:00:00Z", "body": "see",
                          "attachments": [{"name": "hi.txt", "data": "aGVs\nbG8="},
                                          {"url": "data:text/plain,a%20b"},
                                          {"url": "https://cdn.example.com/x/Invoice%20May.pdf?sig=1"},
                                          {"name": "broken", "data": "***"},
                                          {"name": "nothing"}]}]})
        .to_string();
        let line = line.as_bytes();
        let entries = parse(Format::Jsonl, line).expect("parses");
        let files = &first_message(&entries).files;
        assert_eq!(files[0].source, FileSource::Inline(b"hello".to_vec()));
        assert_eq!(files[1].source, FileSource::Inline(b"a b".to_vec()));
        assert_eq!(files[2].name, "Invoice May.pdf");
        assert!(matches!(&files[3].source, FileSource::Unavailable(why) if why.contains("base64")));
        assert!(matches!(&files[4].source, FileSource::Unavailable(why) if why.contains("no URL")));
        let csv = "conversation_id,message_from,message_body,message_created_at,message_attachments\n\
                   c1,customer,,2024-01-01 10:00:00,https://x.example.com/a.png https://x.example.com/b/\n";
        let entries = parse(Format::Csv, csv.as_bytes()).expect("parses");
        let files = &first_message(&entries).files;
        assert_eq!(files.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["a.png", "attachment-2"]);
    }
}
