//! Planning and applying an import against the database.
//!
//! Both walk the file in batches through one [`Context`]: it resolves each
//! conversation (support type, agents, customer, already imported or not)
//! with a handful of array queries per batch, and counts what would happen.
//! Applying then writes each batch with `UNNEST` inserts (one statement per
//! table), recomputes the batch's report facts, and moves the run's
//! checkpoint, all in one transaction. A batch the database refuses is
//! retried one conversation at a time, so one bad record is skipped with
//! the database's reason and never takes the good ones with it.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sha2::Digest;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    AgentAction, AgentRow, BATCH, Counts, FileSkip, Format, GroupRow, MAX_LISTED_SKIPS, Mapping, Plan, Run,
    RunStatus, Skip, SkipKind, Unmatched,
    files::{self, ImportFiles},
    parse::{Author, Conversation, Entry, FileRef, FileSource, Outcome, Person},
    validate_source,
};
use crate::{
    Error, Result,
    actor::Actor,
    attachments::{self, AttachmentPolicy, NewRow, Processed},
    reports::facts,
    types::{AccountId, AgentId, CustomerId, SenderKind, SessionId, SupportTypeId, TagId},
};

/// The files obtained for the batch being written, by (entry, message,
/// file) index: stored, or the reason they were not.
type Fetched = HashMap<(usize, usize, usize), std::result::Result<Processed, String>>;

/// A stored file on its way into the batch: (its message's row, the file,
/// the uploader, the message's time).
type Attached<'a> = (usize, &'a Processed, (SenderKind, Option<AgentId>), DateTime<Utc>);

/// What one batch did, or would do.
#[derive(Default)]
struct BatchResult {
    counts: Counts,
    skips: Vec<Skip>,
    file_skips: Vec<FileSkip>,
}

/// The longest body a message or note holds; longer ones are split.
const MAX_BODY: usize = 10_000;

/// The file being imported, as a run records it.
#[derive(Debug, Clone)]
pub struct FileInfo {
    pub account: AccountId,
    pub format: Format,
    /// Defaults to the format's name.
    pub source: Option<String>,
    pub file_name: String,
    pub sha256: [u8; 32],
    pub bytes: i64,
}

impl FileInfo {
    pub fn new(
        account: AccountId,
        format: Format,
        source: Option<String>,
        file_name: &str,
        bytes: &[u8],
    ) -> Self {
        Self {
            account,
            format,
            source,
            file_name: Some(file_name.trim().chars().take(255).collect::<String>())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "upload".to_owned()),
            sha256: sha2::Sha256::digest(bytes).into(),
            bytes: bytes.len() as i64,
        }
    }

    fn source(&self) -> Result<String> {
        let source = self.source.clone().unwrap_or_else(|| self.format.as_str().to_owned());
        validate_source(&source)?;
        Ok(source)
    }
}

/// How a person who wrote as an agent is credited.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum AgentRef {
    Known(AgentId),
    /// To be created, by key.
    New(String),
    /// An address of another account, unmapped.
    Foreign(String),
}

/// A conversation the context accepted, before customer lookup.
struct Candidate<'a> {
    /// Its place in the file.
    index: usize,
    conv: &'a Conversation,
    support_type: SupportTypeId,
    assignee: Option<AgentRef>,
    /// Per message (by index), the agent behind it, if any.
    authors: Vec<Option<AgentRef>>,
}

struct NewAgentRow {
    id: AgentId,
    email: String,
    name: String,
    source_id: Option<String>,
}

/// What one batch adds, before it commits.
#[derive(Default)]
struct Pending {
    customers: Vec<String>,
    agents: Vec<String>,
    tags: Vec<String>,
    seen: Vec<String>,
}

/// Everything resolution needs to know, loaded once per run, plus what the
/// run has created so far.
struct Context {
    account: AccountId,
    account_slug: String,
    source: String,
    mapping: Mapping,
    /// This account's agents by lower-case e-mail.
    agents: HashMap<String, AgentId>,
    /// Agent addresses of the file that belong to another account.
    foreign: HashSet<String>,
    /// Agents an earlier run created, by source id.
    mapped_agents: HashMap<String, AgentId>,
    /// Group name → support type and how it was chosen.
    groups: HashMap<String, (Option<SupportTypeId>, &'static str)>,
    created_agents: HashMap<String, AgentId>,
    customers: HashMap<String, CustomerId>,
    tags: HashMap<String, TagId>,
    /// Source ids met in this run (a file may repeat a record).
    seen: HashSet<String>,
    pending: Pending,
    /// The account's limits on files, which imported files meet too.
    policy: AttachmentPolicy,
}

fn agents_of(entries: &[Entry]) -> impl Iterator<Item = &Person> {
    entries
        .iter()
        .filter_map(|e| match e {
            Entry::Conversation(c) => Some(c),
            Entry::Broken(_) => None,
        })
        .flat_map(|c| {
            c.assignee.iter().chain(c.messages.iter().filter_map(|m| match &m.author {
                Author::Agent(p) => Some(p),
                _ => None,
            }))
        })
}

/// The identity of an agent-to-be: e-mail, else source id.
fn agent_key(p: &Person) -> Option<String> {
    p.email.clone().or_else(|| p.source_id.clone())
}

fn slugish(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

/// A label as a tag name the data model takes, or nothing.
fn tag_name(label: &str) -> Option<String> {
    let cleaned: String = label
        .trim()
        .chars()
        .map(|c| if c.is_alphanumeric() || " _:/.-".contains(c) { c } else { '-' })
        .skip_while(|c| !c.is_alphanumeric())
        .take(63)
        .collect();
    crate::config::validate_tag_name(&cleaned).ok()
}

fn split_body(body: &str) -> Vec<String> {
    let chars: Vec<char> = body.chars().collect();
    chars.chunks(MAX_BODY).map(|c| c.iter().collect::<String>()).collect()
}

/// A message's text with the files that were not imported named at its
/// end, so that the history still says they existed.
fn with_missing_files(body: &str, missing: &[&FileRef]) -> String {
    if missing.is_empty() {
        return body.to_owned();
    }
    let names: Vec<&str> = missing.iter().map(|f| f.name.as_str()).collect();
    let line = format!("(Attached in the source, not imported: {})", names.join(", "));
    if body.is_empty() { line } else { format!("{body}\n\n{line}") }
}

fn too_many_files(policy: &AttachmentPolicy) -> String {
    format!("more than {} files on one message (this account's limit)", policy.max_per_message)
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

impl Context {
    async fn load(
        conn: &mut PgConnection,
        account: AccountId,
        source: &str,
        mapping: Mapping,
        entries: &[Entry],
    ) -> Result<Self> {
        let account_slug =
            sqlx::query_scalar!("SELECT slug::text AS \"slug!\" FROM accounts WHERE id = $1", account.0)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| Error::not_found("account"))?;
        let agents: HashMap<String, AgentId> = sqlx::query!(
            "SELECT id, lower(email::text) AS \"email!\" FROM agents WHERE account_id = $1",
            account.0
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.email, AgentId(r.id)))
        .collect();
        for (field, id) in
            mapping.agents.iter().map(|(email, id)| (format!("mapping.agents.{email}"), *id)).chain(
                match mapping.unmatched_agents {
                    Unmatched::MapTo(id) => Some(("mapping.unmatched_agents".to_owned(), id)),
                    Unmatched::Create => None,
                },
            )
        {
            if !agents.values().any(|a| *a == id) {
                return Err(Error::invalid(field, "is not an agent of this account"));
            }
        }
        let emails: Vec<String> = agents_of(entries)
            .filter_map(|p| p.email.clone())
            .filter(|e| !agents.contains_key(e))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        let foreign = sqlx::query_scalar!(
            "SELECT lower(email::text) AS \"email!\" FROM agents
              WHERE email = ANY($1::text[]::citext[]) AND account_id IS DISTINCT FROM $2",
            &emails,
            account.0
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
        let mapped_agents = sqlx::query!(
            "SELECT source_id, local_id FROM import_map WHERE account_id = $1 AND source = $2 AND kind = 'agent'",
            account.0,
            source
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.source_id, AgentId(r.local_id)))
        .collect();
        let types = sqlx::query!(
            "SELECT id, slug::text AS \"slug!\", name FROM support_types WHERE account_id = $1 AND archived_at IS NULL",
            account.0
        )
        .fetch_all(&mut *conn)
        .await?;
        let own = |id: SupportTypeId| types.iter().any(|t| t.id == id.0);
        for (group, id) in &mapping.types {
            if !own(*id) {
                return Err(Error::invalid(
                    format!("mapping.types.{group}"),
                    "is not an active support type of this account",
                ));
            }
        }
        if let Some(id) = mapping.default_type
            && !own(id)
        {
            return Err(Error::invalid(
                "mapping.default_type",
                "is not an active support type of this account",
            ));
        }
        let mut groups = HashMap::new();
        for e in entries {
            let Entry::Conversation(c) = e else { continue };
            let name = c.group.clone().unwrap_or_default();
            if groups.contains_key(&name) {
                continue;
            }
            let by_name = types.iter().find(|t| {
                !name.is_empty() && (t.name.eq_ignore_ascii_case(name.trim()) || t.slug == slugish(&name))
            });
            let resolved = if let Some(id) = mapping.types.get(&name) {
                (Some(*id), "mapped")
            } else if let Some(t) = by_name {
                (Some(SupportTypeId(t.id)), "same name")
            } else if let Some(id) = mapping.default_type {
                (Some(id), "default")
            } else {
                (None, "none")
            };
            groups.insert(name, resolved);
        }
        let policy = attachments::policy_of(&mut *conn, account).await?;
        Ok(Self {
            account,
            account_slug,
            source: source.to_owned(),
            mapping,
            agents,
            foreign,
            mapped_agents,
            groups,
            created_agents: HashMap::new(),
            customers: HashMap::new(),
            tags: HashMap::new(),
            seen: HashSet::new(),
            pending: Pending::default(),
            policy,
        })
    }

    /// The conversations among `ids` that an earlier run imported.
    async fn imported(&self, conn: &mut PgConnection, ids: &[String]) -> Result<HashSet<String>> {
        Ok(sqlx::query_scalar!(
            "SELECT source_id FROM import_map WHERE account_id = $1 AND source = $2 AND kind = 'session' AND source_id = ANY($3)",
            self.account.0,
            self.source,
            ids
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect())
    }

    fn agent(&self, p: &Person) -> AgentRef {
        if let Some(id) = p.email.as_ref().and_then(|e| self.mapping.agents.get(e)) {
            return AgentRef::Known(*id);
        }
        if let Some(id) = p.source_id.as_ref().and_then(|s| self.mapped_agents.get(s)) {
            return AgentRef::Known(*id);
        }
        if let Some(id) = p.email.as_ref().and_then(|e| self.agents.get(e)) {
            return AgentRef::Known(*id);
        }
        if let Unmatched::MapTo(id) = self.mapping.unmatched_agents {
            return AgentRef::Known(id);
        }
        match p.email.as_ref() {
            Some(e) if self.foreign.contains(e) => AgentRef::Foreign(e.clone()),
            _ => AgentRef::New(agent_key(p).unwrap_or_else(|| "unknown".into())),
        }
    }

    fn action(&self, p: &Person) -> AgentAction {
        let mapped = p.email.as_ref().is_some_and(|e| self.mapping.agents.contains_key(e))
            || (matches!(self.mapping.unmatched_agents, Unmatched::MapTo(_))
                && !p.email.as_ref().is_some_and(|e| self.agents.contains_key(e))
                && !p.source_id.as_ref().is_some_and(|s| self.mapped_agents.contains_key(s)));
        match self.agent(p) {
            AgentRef::Known(agent_id) if mapped => AgentAction::Mapped { agent_id },
            AgentRef::Known(agent_id) => AgentAction::Matched { agent_id },
            AgentRef::New(_) => AgentAction::Create,
            AgentRef::Foreign(_) => AgentAction::Foreign,
        }
    }

    /// Accepts a conversation or says why not.
    fn accept<'a>(&self, c: &'a Conversation) -> std::result::Result<Candidate<'a>, Skip> {
        let skip = |kind, reason: String| Skip {
            record: c.record.clone(),
            source_id: Some(c.source_id.clone()),
            kind,
            field: None,
            reason,
        };
        match c.outcome {
            Outcome::Open => {
                return Err(skip(
                    SkipKind::Open,
                    "still open in the source: import the file again once it is closed".into(),
                ));
            }
            Outcome::Deleted => return Err(skip(SkipKind::Deleted, "deleted or spam in the source".into())),
            Outcome::Resolved(_) | Outcome::Abandoned => {}
        }
        let group = c.group.clone().unwrap_or_default();
        let Some(support_type) = self.groups.get(&group).and_then(|(t, _)| *t) else {
            return Err(skip(
                SkipKind::NoSupportType,
                if group.is_empty() {
                    "it has no department, group or inbox, and no default support type was chosen".into()
                } else {
                    format!("{group:?} maps to no support type: map it, or choose a default")
                },
            ));
        };
        let assignee = c.assignee.as_ref().map(|p| self.agent(p));
        let authors: Vec<Option<AgentRef>> = c
            .messages
            .iter()
            .map(|m| match &m.author {
                Author::Agent(p) if p.source_id.is_none() && p.email.is_none() => assignee.clone(),
                Author::Agent(p) => Some(self.agent(p)),
                _ => None,
            })
            .collect();
        if let Some(AgentRef::Foreign(email)) =
            assignee.iter().chain(authors.iter().flatten()).find(|a| matches!(a, AgentRef::Foreign(_)))
        {
            return Err(skip(
                SkipKind::Agent,
                format!(
                    "the agent {email} belongs to another account: map the address to an agent of this one"
                ),
            ));
        }
        Ok(Candidate { index: 0, conv: c, support_type, assignee, authors })
    }

    fn customer_keys(p: &Person) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(s) = &p.source_id {
            keys.push(format!("src:{s}"));
        }
        if let Some(e) = &p.email {
            keys.push(format!("email:{e}"));
        }
        if let Some(x) = &p.external_id {
            keys.push(format!("ext:{x}"));
        }
        keys
    }

    fn cached_customer(&self, p: &Person) -> Option<CustomerId> {
        Self::customer_keys(p).iter().find_map(|k| self.customers.get(k)).copied()
    }

    fn remember_customer(&mut self, p: &Person, id: CustomerId) {
        for k in Self::customer_keys(p) {
            if !self.customers.contains_key(&k) {
                self.pending.customers.push(k.clone());
                self.customers.insert(k, id);
            }
        }
    }

    fn forget_pending(&mut self) {
        let p = std::mem::take(&mut self.pending);
        for k in p.customers {
            self.customers.remove(&k);
        }
        for k in p.agents {
            self.created_agents.remove(&k);
        }
        for k in p.tags {
            self.tags.remove(&k);
        }
        for k in p.seen {
            self.seen.remove(&k);
        }
    }

    fn keep_pending(&mut self) {
        self.pending = Pending::default();
    }

    /// Resolves (and with `write`, writes) the batch `entries[range]`.
    /// Returns the counts and the skips, in file order. Applying passes
    /// the files obtained for the batch (`fetched`); a dry run fetches
    /// nothing and counts the files it would.
    async fn batch(
        &mut self,
        conn: &mut PgConnection,
        entries: &[Entry],
        range: std::ops::Range<usize>,
        write: bool,
        run_id: Option<Uuid>,
        fetched: Option<&Fetched>,
    ) -> Result<BatchResult> {
        let mut counts = Counts::default();
        let mut skips = Vec::new();
        let mut file_skips = Vec::new();
        let mut candidates = Vec::new();
        for index in range {
            counts.conversations += 1;
            match &entries[index] {
                Entry::Broken(s) => skips.push(s.clone()),
                Entry::Conversation(c) => match self.accept(c) {
                    Ok(cand) => candidates.push(Candidate { index, ..cand }),
                    Err(s) => skips.push(s),
                },
            }
        }
        // Already imported, by an earlier run or earlier in this one.
        let ids: Vec<String> = candidates.iter().map(|c| c.conv.source_id.clone()).collect();
        let existing = self.imported(conn, &ids).await?;
        let mut fresh = Vec::new();
        for c in candidates {
            let id = &c.conv.source_id;
            if existing.contains(id) || self.seen.contains(id) {
                counts.matched += 1;
            } else {
                self.seen.insert(id.clone());
                self.pending.seen.push(id.clone());
                fresh.push(c);
            }
        }
        let customers = self.customers_for(conn, &fresh, write, run_id, &mut counts).await?;
        let new_agents = self.agents_for(&fresh);
        counts.agents_created += new_agents.len() as u64;

        // The rows, column by column.
        let mut s = SessionRows::default();
        let mut m = MessageRows::default();
        let mut n = MessageRows::default();
        let mut a = AssignmentRows::default();
        let mut csat = CsatRows::default();
        let mut attached: Vec<Attached<'_>> = Vec::new();
        let mut tagged: Vec<(Uuid, String)> = Vec::new();
        let mut map_sessions: (Vec<String>, Vec<Uuid>) = (Vec::new(), Vec::new());
        for (c, customer) in fresh.iter().zip(&customers) {
            let conv = c.conv;
            let id = Uuid::new_v4();
            let agent_of = |r: &Option<AgentRef>| -> Option<AgentId> {
                match r {
                    Some(AgentRef::Known(id)) => Some(*id),
                    Some(AgentRef::New(key)) => self.created_agents.get(key).copied(),
                    _ => None,
                }
            };
            let first_reply = conv
                .messages
                .iter()
                .zip(&c.authors)
                .find(|(msg, who)| !msg.note && who.is_some())
                .map(|(msg, _)| msg.created_at);
            // The owner: the assignee, else the last agent who replied.
            let owner = agent_of(&c.assignee).or_else(|| {
                conv.messages
                    .iter()
                    .zip(&c.authors)
                    .rev()
                    .find(|(msg, _)| !msg.note)
                    .and_then(|(_, w)| agent_of(w))
            });
            let last = conv
                .messages
                .iter()
                .map(|x| x.created_at)
                .max()
                .unwrap_or(conv.created_at)
                .max(conv.created_at);
            let (status, resolved_at) = match conv.outcome {
                Outcome::Resolved(at) => ("resolved", Some(at)),
                _ => ("abandoned", None),
            };
            s.id.push(id);
            s.support_type.push(c.support_type.0);
            s.customer.push(customer.0);
            s.status.push(status.to_owned());
            s.created_at.push(conv.created_at);
            s.assigned_at.push(owner.map(|_| conv.created_at));
            s.first_response_at.push(first_reply);
            s.resolved_at.push(resolved_at);
            s.resolved_by.push(resolved_at.and(owner).map(|o| o.0));
            s.updated_at.push(resolved_at.unwrap_or(last).max(last));
            if let Some(owner) = owner {
                let responded = conv
                    .messages
                    .iter()
                    .zip(&c.authors)
                    .find(|(msg, who)| !msg.note && agent_of(who) == Some(owner))
                    .map(|(msg, _)| msg.created_at);
                a.session.push(id);
                a.agent.push(owner.0);
                a.started_at.push(conv.created_at);
                a.responded_at.push(responded);
                a.ended_at.push(resolved_at.unwrap_or(last).max(conv.created_at));
                a.end_reason.push(if resolved_at.is_some() { "resolved" } else { "abandoned" }.to_owned());
            }
            let skipped = |file: &FileRef, reason: String| FileSkip {
                record: conv.record.clone(),
                source_id: Some(conv.source_id.clone()),
                file_name: file.name.clone(),
                reason,
            };
            for (j, (msg, who)) in conv.messages.iter().zip(&c.authors).enumerate() {
                let agent = agent_of(who);
                if msg.note {
                    // A note needs an agent author: its writer, else the owner.
                    let Some(author) = agent.or(owner) else { continue };
                    for file in &msg.files {
                        file_skips.push(skipped(
                            file,
                            "an internal note carries no files here; the note is kept".into(),
                        ));
                    }
                    let body = with_missing_files(&msg.body, &msg.files.iter().collect::<Vec<_>>());
                    for part in split_body(&body) {
                        n.session.push(id);
                        n.kind.push(String::new());
                        n.agent.push(Some(author.0));
                        n.body.push(part);
                        n.created_at.push(msg.created_at);
                        counts.notes += 1;
                    }
                    continue;
                }
                let (kind, agent) = match (&msg.author, agent) {
                    (Author::Customer, _) => (SenderKind::Customer, None),
                    (Author::Agent(_), Some(agent)) => (SenderKind::Agent, Some(agent)),
                    _ => (SenderKind::System, None),
                };
                // Its files: stored ones ride on its first part; the others
                // are named in the text and listed with their reasons.
                let mut stored: Vec<&Processed> = Vec::new();
                let mut missing: Vec<&FileRef> = Vec::new();
                for (k, file) in msg.files.iter().enumerate() {
                    let over = k >= self.policy.max_per_message as usize;
                    let outcome = match fetched.map(|f| f.get(&(c.index, j, k))) {
                        Some(Some(Ok(p))) => Ok(p),
                        Some(Some(Err(why))) => Err(why.clone()),
                        Some(None) => Err("no attachment store was given to this import".into()),
                        // A dry run: what applying will find without fetching.
                        None => match &file.source {
                            FileSource::Unavailable(why) => Err(why.clone()),
                            _ if over => Err(too_many_files(&self.policy)),
                            _ => {
                                counts.files += 1;
                                continue;
                            }
                        },
                    };
                    match outcome {
                        Ok(p) => stored.push(p),
                        Err(why) => {
                            file_skips.push(skipped(file, why));
                            missing.push(file);
                        }
                    }
                }
                let body = with_missing_files(&msg.body, &missing);
                let mut parts = split_body(&body);
                if parts.is_empty() {
                    // Files alone (no text): one message carries them.
                    parts.push(String::new());
                }
                for (pi, part) in parts.into_iter().enumerate() {
                    let files = if pi == 0 { stored.as_slice() } else { &[] };
                    for p in files {
                        attached.push((m.session.len(), p, (kind, agent), msg.created_at));
                        counts.files += 1;
                    }
                    m.session.push(id);
                    m.kind.push(kind.as_str().to_owned());
                    m.agent.push(agent.map(|a| a.0));
                    m.body.push(part);
                    m.created_at.push(msg.created_at);
                    m.attachments.push(files.len() as i16);
                    counts.messages += 1;
                }
            }
            if let Some((score, comment)) = &conv.csat {
                csat.session.push(id);
                csat.score.push(*score);
                csat.comment.push(comment.as_deref().map(|c| clip(c, 2000)));
                csat.created_at.push(resolved_at.unwrap_or(last));
                counts.csat += 1;
            }
            let mut names = HashSet::new();
            for name in conv.tags.iter().filter_map(|t| tag_name(t)) {
                if names.insert(name.to_lowercase()) {
                    tagged.push((id, name));
                    counts.tags += 1;
                }
            }
            map_sessions.0.push(conv.source_id.clone());
            map_sessions.1.push(id);
            counts.created += 1;
        }
        counts.skipped += skips.len() as u64;
        counts.files_skipped += file_skips.len() as u64;
        if !write {
            return Ok(BatchResult { counts, skips, file_skips });
        }
        self.write_agents(conn, &new_agents, run_id).await?;
        s.insert(conn, self.account).await?;
        a.insert(conn).await?;
        let message_ids = m.insert_messages(conn).await?;
        let rows: Vec<NewRow<'_>> = attached
            .iter()
            .map(|(row, p, uploader, at)| NewRow {
                processed: p,
                session: Some(SessionId(m.session[*row])),
                message_id: Some(message_ids[*row]),
                uploader: *uploader,
                created_at: *at,
            })
            .collect();
        attachments::insert_rows(conn, self.account, &rows).await?;
        let keys: Vec<String> = attached.iter().flat_map(|(_, p, _, _)| p.keys()).collect();
        files::committed(conn, &keys).await?;
        n.insert_notes(conn).await?;
        csat.insert(conn).await?;
        self.write_tags(conn, &tagged).await?;
        self.write_map(conn, "session", &map_sessions.0, &map_sessions.1, run_id).await?;
        let sessions: Vec<SessionId> = s.id.iter().map(|id| SessionId(*id)).collect();
        facts::refresh(conn, &sessions).await?;
        // Imported history teaches suggested replies as resolved sessions do.
        crate::assist::harvest(conn, &sessions).await?;
        Ok(BatchResult { counts, skips, file_skips })
    }

    /// The customer of each fresh conversation: cached, mapped by an
    /// earlier run, or matched by e-mail or external id; else created
    /// (with `write`).
    async fn customers_for(
        &mut self,
        conn: &mut PgConnection,
        fresh: &[Candidate<'_>],
        write: bool,
        run_id: Option<Uuid>,
        counts: &mut Counts,
    ) -> Result<Vec<CustomerId>> {
        let unknown: Vec<&Person> =
            fresh.iter().map(|c| &c.conv.customer).filter(|p| self.cached_customer(p).is_none()).collect();
        let sources: Vec<String> = unknown.iter().filter_map(|p| p.source_id.clone()).collect();
        let emails: Vec<String> = unknown.iter().filter_map(|p| p.email.clone()).collect();
        let externals: Vec<String> = unknown.iter().filter_map(|p| p.external_id.clone()).collect();
        // One round trip: an earlier run's map, then e-mail (the oldest
        // customer with it), then external id.
        let found: HashMap<String, CustomerId> = if unknown.is_empty() {
            HashMap::new()
        } else {
            sqlx::query!(
                r#"SELECT 'src:' || m.source_id AS "key!", m.local_id AS "id!"
                     FROM import_map m JOIN customers c ON c.id = m.local_id
                    WHERE m.account_id = $1 AND m.source = $2 AND m.kind = 'customer' AND m.source_id = ANY($3)
                   UNION ALL
                   SELECT * FROM (SELECT DISTINCT ON (lower(email::text)) 'email:' || lower(email::text), id
                                    FROM customers WHERE account_id = $1 AND email = ANY($4::text[]::citext[])
                                   ORDER BY lower(email::text), created_at, id) e
                   UNION ALL
                   SELECT 'ext:' || external_ref, id FROM customers WHERE account_id = $1 AND external_ref = ANY($5)"#,
                self.account.0,
                self.source,
                &sources,
                &emails,
                &externals
            )
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(|r| (r.key, CustomerId(r.id)))
            .collect()
        };
        let mut new = CustomerRows::default();
        let mut map: (Vec<String>, Vec<Uuid>) = (Vec::new(), Vec::new());
        let mut out = Vec::with_capacity(fresh.len());
        for c in fresh {
            let p = &c.conv.customer;
            if let Some(id) = self.cached_customer(p) {
                out.push(id);
                continue;
            }
            let keys = Self::customer_keys(p);
            let id = match keys.iter().find_map(|k| found.get(k)).copied() {
                Some(id) => {
                    counts.customers_matched += 1;
                    id
                }
                None => {
                    let id = CustomerId(Uuid::new_v4());
                    new.id.push(id.0);
                    new.name.push(p.name.as_deref().map(|n| clip(n, 200)));
                    new.email.push(p.email.clone());
                    new.external_ref.push(p.external_id.as_deref().map(|x| clip(x, 200)));
                    new.created_at.push(c.conv.created_at);
                    counts.customers_created += 1;
                    id
                }
            };
            if let Some(s) = &p.source_id
                && !found.contains_key(&format!("src:{s}"))
            {
                map.0.push(s.clone());
                map.1.push(id.0);
            }
            // Anonymous customers (no key at all) are one per conversation.
            self.remember_customer(p, id);
            out.push(id);
        }
        if write {
            new.insert(conn, self.account).await?;
            self.write_map(conn, "customer", &map.0, &map.1, run_id).await?;
        }
        Ok(out)
    }

    /// The agents the fresh conversations need created, now cached.
    fn agents_for(&mut self, fresh: &[Candidate<'_>]) -> Vec<NewAgentRow> {
        let mut rows = Vec::new();
        let mut people: Vec<&Person> = Vec::new();
        for c in fresh {
            people.extend(c.conv.assignee.iter());
            people.extend(c.conv.messages.iter().filter_map(|m| match &m.author {
                Author::Agent(p) if p.email.is_some() || p.source_id.is_some() => Some(p),
                _ => None,
            }));
        }
        for p in people {
            let AgentRef::New(key) = self.agent(p) else { continue };
            if self.created_agents.contains_key(&key) {
                continue;
            }
            let id = AgentId(Uuid::new_v4());
            let email = p.email.clone().unwrap_or_else(|| {
                format!("{}.{}.{}@import.invalid", slugish(&key), self.source, self.account_slug)
            });
            let name = p
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .or_else(|| p.email.as_ref().and_then(|e| e.split('@').next().map(str::to_owned)))
                .unwrap_or_else(|| format!("Imported agent {key}"));
            rows.push(NewAgentRow {
                id,
                email,
                name: clip(name.trim(), 120),
                source_id: p.source_id.clone(),
            });
            self.created_agents.insert(key.clone(), id);
            self.pending.agents.push(key);
        }
        rows
    }

    async fn write_agents(
        &self,
        conn: &mut PgConnection,
        rows: &[NewAgentRow],
        run_id: Option<Uuid>,
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id.0).collect();
        let emails: Vec<String> = rows.iter().map(|r| r.email.clone()).collect();
        let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        // Deactivated, with no password and no capacity: history only.
        sqlx::query!(
            "INSERT INTO agents (id, account_id, email, display_name, role, max_concurrent, deactivated_at)
             SELECT u.id, $1, u.email::citext, u.name, 'agent', 0, now()
               FROM UNNEST($2::uuid[], $3::text[], $4::text[]) AS u(id, email, name)",
            self.account.0,
            &ids,
            &emails,
            &names
        )
        .execute(&mut *conn)
        .await?;
        let (sources, locals): (Vec<String>, Vec<Uuid>) =
            rows.iter().filter_map(|r| r.source_id.clone().map(|s| (s, r.id.0))).unzip();
        self.write_map(conn, "agent", &sources, &locals, run_id).await
    }

    async fn write_tags(&mut self, conn: &mut PgConnection, tagged: &[(Uuid, String)]) -> Result<()> {
        if tagged.is_empty() {
            return Ok(());
        }
        let missing: Vec<String> = tagged
            .iter()
            .map(|(_, n)| n.to_lowercase())
            .filter(|n| !self.tags.contains_key(n))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            let names: Vec<String> = missing
                .iter()
                .filter_map(|l| tagged.iter().find(|(_, n)| n.to_lowercase() == *l).map(|(_, n)| n.clone()))
                .collect();
            sqlx::query!(
                "INSERT INTO tags (account_id, name) SELECT $1, n::citext FROM UNNEST($2::text[]) n
                 ON CONFLICT (account_id, name) DO NOTHING",
                self.account.0,
                &names
            )
            .execute(&mut *conn)
            .await?;
            for r in sqlx::query!(
                r#"SELECT id, lower(name::text) AS "name!" FROM tags WHERE account_id = $1 AND name = ANY($2::text[]::citext[])"#,
                self.account.0,
                &names
            )
            .fetch_all(&mut *conn)
            .await?
            {
                self.pending.tags.push(r.name.clone());
                self.tags.insert(r.name, TagId(r.id));
            }
        }
        let (sessions, tags): (Vec<Uuid>, Vec<Uuid>) =
            tagged.iter().filter_map(|(s, n)| self.tags.get(&n.to_lowercase()).map(|t| (*s, t.0))).unzip();
        sqlx::query!(
            "INSERT INTO session_tags (session_id, tag_id, source)
             SELECT u.s, u.t, 'import' FROM UNNEST($1::uuid[], $2::uuid[]) AS u(s, t) ON CONFLICT DO NOTHING",
            &sessions,
            &tags
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn write_map(
        &self,
        conn: &mut PgConnection,
        kind: &str,
        sources: &[String],
        locals: &[Uuid],
        run_id: Option<Uuid>,
    ) -> Result<()> {
        if sources.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO import_map (account_id, source, kind, source_id, local_id, run_id)
             SELECT $1, $2, $3, u.s, u.l, $4 FROM UNNEST($5::text[], $6::uuid[]) AS u(s, l)",
            self.account.0,
            self.source,
            kind,
            run_id,
            sources,
            locals
        )
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

#[derive(Default)]
struct SessionRows {
    id: Vec<Uuid>,
    support_type: Vec<Uuid>,
    customer: Vec<Uuid>,
    status: Vec<String>,
    created_at: Vec<DateTime<Utc>>,
    assigned_at: Vec<Option<DateTime<Utc>>>,
    first_response_at: Vec<Option<DateTime<Utc>>>,
    resolved_at: Vec<Option<DateTime<Utc>>>,
    resolved_by: Vec<Option<Uuid>>,
    updated_at: Vec<DateTime<Utc>>,
}

impl SessionRows {
    async fn insert(&self, conn: &mut PgConnection, account: AccountId) -> Result<()> {
        if self.id.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO sessions (id, account_id, support_type_id, customer_id, status, created_at, queued_at,
                                   assigned_at, first_response_at, resolved_at, resolved_by_id, updated_at)
             SELECT u.id, $1, u.t, u.c, u.status, u.created, u.created, u.assigned, u.frt, u.resolved, u.resolver, u.updated
               FROM UNNEST($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[], $7::timestamptz[],
                           $8::timestamptz[], $9::timestamptz[], $10::uuid[], $11::timestamptz[])
                    AS u(id, t, c, status, created, assigned, frt, resolved, resolver, updated)",
            account.0,
            &self.id,
            &self.support_type,
            &self.customer,
            &self.status,
            &self.created_at,
            &self.assigned_at as &[Option<DateTime<Utc>>],
            &self.first_response_at as &[Option<DateTime<Utc>>],
            &self.resolved_at as &[Option<DateTime<Utc>>],
            &self.resolved_by as &[Option<Uuid>],
            &self.updated_at
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

#[derive(Default)]
struct AssignmentRows {
    session: Vec<Uuid>,
    agent: Vec<Uuid>,
    started_at: Vec<DateTime<Utc>>,
    responded_at: Vec<Option<DateTime<Utc>>>,
    ended_at: Vec<DateTime<Utc>>,
    end_reason: Vec<String>,
}

impl AssignmentRows {
    async fn insert(&self, conn: &mut PgConnection) -> Result<()> {
        if self.session.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO assignments (session_id, agent_id, reason, started_at, responded_at, ended_at, end_reason)
             SELECT u.s, u.a, 'manual', u.started, u.responded, u.ended, u.why
               FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[], $6::text[])
                    AS u(s, a, started, responded, ended, why)",
            &self.session,
            &self.agent,
            &self.started_at,
            &self.responded_at as &[Option<DateTime<Utc>>],
            &self.ended_at,
            &self.end_reason
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// Messages or notes (`kind` is unused for notes, `agent` their author).
#[derive(Default)]
struct MessageRows {
    session: Vec<Uuid>,
    kind: Vec<String>,
    agent: Vec<Option<Uuid>>,
    body: Vec<String>,
    created_at: Vec<DateTime<Utc>>,
    /// Files each message carries (messages only).
    attachments: Vec<i16>,
}

impl MessageRows {
    /// Inserts the messages and returns their ids, row by row. The ids are
    /// drawn from the identity's sequence first, in ascending order, so
    /// that the files can name their messages and each history stays in
    /// the order written (history pages by id).
    async fn insert_messages(&self, conn: &mut PgConnection) -> Result<Vec<i64>> {
        if self.session.is_empty() {
            return Ok(Vec::new());
        }
        let mut ids = sqlx::query_scalar!(
            r#"SELECT nextval(pg_get_serial_sequence('messages', 'id')) AS "id!" FROM generate_series(1, $1::int)"#,
            self.session.len() as i32
        )
        .fetch_all(&mut *conn)
        .await?;
        ids.sort_unstable();
        sqlx::query!(
            "INSERT INTO messages (id, session_id, sender_kind, sender_agent_id, body, created_at, attachment_count)
             OVERRIDING SYSTEM VALUE
             SELECT * FROM UNNEST($1::int8[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::timestamptz[],
                                  $7::int2[])",
            &ids,
            &self.session,
            &self.kind,
            &self.agent as &[Option<Uuid>],
            &self.body,
            &self.created_at,
            &self.attachments
        )
        .execute(conn)
        .await?;
        Ok(ids)
    }

    async fn insert_notes(&self, conn: &mut PgConnection) -> Result<()> {
        if self.session.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO notes (session_id, author_id, body, created_at)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[])",
            &self.session,
            &self.agent as &[Option<Uuid>],
            &self.body,
            &self.created_at
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

#[derive(Default)]
struct CsatRows {
    session: Vec<Uuid>,
    score: Vec<i16>,
    comment: Vec<Option<String>>,
    created_at: Vec<DateTime<Utc>>,
}

impl CsatRows {
    async fn insert(&self, conn: &mut PgConnection) -> Result<()> {
        if self.session.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO csat (session_id, score, comment, created_at)
             SELECT * FROM UNNEST($1::uuid[], $2::int2[], $3::text[], $4::timestamptz[])",
            &self.session,
            &self.score,
            &self.comment as &[Option<String>],
            &self.created_at
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

#[derive(Default)]
struct CustomerRows {
    id: Vec<Uuid>,
    name: Vec<Option<String>>,
    email: Vec<Option<String>>,
    external_ref: Vec<Option<String>>,
    created_at: Vec<DateTime<Utc>>,
}

impl CustomerRows {
    async fn insert(&self, conn: &mut PgConnection, account: AccountId) -> Result<()> {
        if self.id.is_empty() {
            return Ok(());
        }
        sqlx::query!(
            "INSERT INTO customers (id, account_id, name, email, external_ref, created_at)
             SELECT u.id, $1, u.name, u.email::citext, u.ext, u.created
               FROM UNNEST($2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS u(id, name, email, ext, created)",
            account.0,
            &self.id,
            &self.name as &[Option<String>],
            &self.email as &[Option<String>],
            &self.external_ref as &[Option<String>],
            &self.created_at
        )
        .execute(conn)
        .await?;
        Ok(())
    }
}

/// The dry run: what applying `entries` with `mapping` would do. Writes
/// nothing.
pub async fn plan(
    pool: &PgPool,
    actor: &Actor,
    account: AccountId,
    source: &str,
    entries: &[Entry],
    mapping: Mapping,
) -> Result<Plan> {
    actor.require_admin_of(account, "import")?;
    validate_source(source)?;
    let mut conn = pool.acquire().await?;
    let mut ctx = Context::load(&mut conn, account, source, mapping, entries).await?;
    let mut plan = Plan::default();
    let mut start = 0;
    while start < entries.len() {
        let end = (start + BATCH * 4).min(entries.len());
        let BatchResult { counts, skips, file_skips } =
            ctx.batch(&mut conn, entries, start..end, false, None, None).await?;
        plan.counts.add(&counts);
        let room = MAX_LISTED_SKIPS.saturating_sub(plan.file_skips.len());
        plan.file_skips.extend(file_skips.into_iter().take(room));
        for s in skips {
            *plan.skipped_by_kind.entry(s.kind.as_str().to_owned()).or_default() += 1;
            if plan.skips.len() < MAX_LISTED_SKIPS {
                plan.skips.push(s);
            }
        }
        ctx.keep_pending();
        start = end;
    }
    let mut agents: BTreeMap<String, AgentRow> = BTreeMap::new();
    for p in agents_of(entries) {
        let Some(key) = agent_key(p) else { continue };
        agents
            .entry(key)
            .or_insert_with(|| AgentRow {
                email: p.email.clone(),
                name: p.name.clone(),
                mentions: 0,
                action: ctx.action(p),
            })
            .mentions += 1;
    }
    plan.agents = agents.into_values().collect();
    let mut groups: BTreeMap<String, u64> = BTreeMap::new();
    for e in entries {
        if let Entry::Conversation(c) = e {
            *groups.entry(c.group.clone().unwrap_or_default()).or_default() += 1;
        }
    }
    plan.groups = groups
        .into_iter()
        .map(|(name, conversations)| {
            let (support_type_id, how) = ctx.groups.get(&name).copied().unwrap_or((None, "none"));
            GroupRow { name, conversations, support_type_id, how: how.to_owned() }
        })
        .collect();
    Ok(plan)
}

/// After each committed batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub run_id: Uuid,
    pub position: u64,
    pub total: u64,
    /// Everything the run did so far, earlier attempts included.
    pub counts: Counts,
    /// This batch's skips.
    pub skips: Vec<Skip>,
    /// This batch's files not imported.
    pub file_skips: Vec<FileSkip>,
}

/// Applies one file. Holds the account's import lock (a session advisory
/// lock on its own connection, released when the process dies) for as
/// long as it lives.
pub struct Importer {
    pool: PgPool,
    lock: PgConnection,
    ctx: Context,
    entries: Vec<Entry>,
    run_id: Uuid,
    position: usize,
    counts: Counts,
    /// Batches this process committed, for [`Importer::refresh_statistics`].
    batches: u64,
    /// Where messages' files go; without it they are listed as skipped.
    files: Option<ImportFiles>,
    /// The files of the batch being written.
    fetched: Fetched,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    Completed,
    Cancelled,
}

/// The account's import lock: a session advisory lock on a connection of
/// its own, so that it is released the moment its process dies.
async fn lock_account(pool: &PgPool, account: AccountId) -> Result<PgConnection> {
    let mut lock = pool.acquire().await?.detach();
    let key = format!("switchboard.import:{}", account.0);
    let locked =
        sqlx::query_scalar!("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS \"locked!\"", key)
            .fetch_one(&mut lock)
            .await?;
    if !locked {
        return Err(Error::conflict(
            "import_running",
            "another import into this account is running: wait for it, or cancel it",
        ));
    }
    Ok(lock)
}

/// With the lock held, runs still marked running are dead (their process
/// held it): they become failed, resumable by importing the file again.
async fn fail_dead_runs(conn: &mut PgConnection, account: AccountId, except: Option<Uuid>) -> Result<()> {
    sqlx::query!(
        "UPDATE import_runs SET status = 'failed', error = 'interrupted: import the same file again to resume',
                updated_at = now()
          WHERE account_id = $1 AND status IN ('running', 'cancelling') AND id IS DISTINCT FROM $2",
        account.0,
        except
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The run's state as an `import.progress` event, for the admins' pages
/// (never delivered to webhooks: see `outbox::topic::delivered_to_webhooks`).
async fn progress_event(conn: &mut PgConnection, run_id: Uuid) -> Result<()> {
    sqlx::query!(
        "INSERT INTO outbox (topic, account_id, payload)
         SELECT $2, account_id, jsonb_build_object('run_id', id, 'status', status, 'position', position,
                'total', total, 'created', created, 'matched', matched, 'skipped', skipped)
           FROM import_runs WHERE id = $1",
        run_id,
        crate::outbox::topic::IMPORT_PROGRESS
    )
    .execute(conn)
    .await?;
    Ok(())
}

impl Importer {
    /// Starts a run of `file`, or resumes the interrupted or cancelled run
    /// of the same file (same account, source and SHA-256) from its
    /// checkpoint.
    pub async fn start(
        pool: &PgPool,
        actor: &Actor,
        file: &FileInfo,
        entries: Vec<Entry>,
        mapping: Mapping,
    ) -> Result<Self> {
        actor.require_admin_of(file.account, "import")?;
        let source = file.source()?;
        let lock = lock_account(pool, file.account).await?;
        let total = entries.len() as i32;
        let mut tx = pool.begin().await?;
        // Runs left 'running' are dead: their process held this lock.
        let resumable = sqlx::query!(
            r#"SELECT id, position, total, counts FROM import_runs
                WHERE account_id = $1 AND source = $2 AND file_sha256 = $3
                  AND status IN ('running', 'cancelling', 'cancelled', 'failed')
                ORDER BY created_at DESC LIMIT 1"#,
            file.account.0,
            source,
            &file.sha256[..]
        )
        .fetch_optional(&mut *tx)
        .await?
        .filter(|r| r.total == total);
        fail_dead_runs(&mut tx, file.account, resumable.as_ref().map(|r| r.id)).await?;
        let mapping_json =
            serde_json::to_value(&mapping).map_err(|e| Error::internal("an import mapping", e))?;
        let (run_id, position, counts) = match resumable {
            Some(r) => {
                sqlx::query!(
                    "UPDATE import_runs SET status = 'running', mapping = $2, error = NULL, finished_at = NULL,
                            updated_at = now() WHERE id = $1",
                    r.id,
                    mapping_json
                )
                .execute(&mut *tx)
                .await?;
                (r.id, r.position as usize, serde_json::from_value(r.counts).unwrap_or_default())
            }
            None => {
                let id = sqlx::query_scalar!(
                    "INSERT INTO import_runs (account_id, created_by, format, source, file_name, file_sha256, file_bytes,
                                              status, mapping, total, started_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8, $9, now()) RETURNING id",
                    file.account.0,
                    actor.agent_id().map(|a| a.0),
                    file.format.as_str(),
                    source,
                    file.file_name,
                    &file.sha256[..],
                    file.bytes,
                    mapping_json,
                    total
                )
                .fetch_one(&mut *tx)
                .await?;
                (id, 0, Counts::default())
            }
        };
        let ctx = Context::load(&mut tx, file.account, &source, mapping, &entries).await?;
        progress_event(&mut tx, run_id).await?;
        tx.commit().await?;
        Ok(Self::new(pool, lock, ctx, entries, run_id, position, counts))
    }

    /// Starts the uploaded run `run_id` (or resumes it from its
    /// checkpoint after a cancel, a failure or a restart), with the mapping
    /// it has; `entries` are its file, read again.
    pub async fn resume(pool: &PgPool, actor: &Actor, run_id: Uuid, entries: Vec<Entry>) -> Result<Self> {
        let run = get(pool, actor, run_id).await?;
        let account = run.account_id;
        if run.status == RunStatus::Completed {
            return Err(Error::conflict("import_finished", "this import has completed"));
        }
        if run.total as usize != entries.len() {
            return Err(Error::internal(
                "an import file",
                "it no longer reads as it did when it was uploaded",
            ));
        }
        let lock = lock_account(pool, account).await?;
        let mut tx = pool.begin().await?;
        fail_dead_runs(&mut tx, account, Some(run_id)).await?;
        sqlx::query!(
            "UPDATE import_runs SET status = 'running', error = NULL, finished_at = NULL,
                    started_at = coalesce(started_at, now()), updated_at = now() WHERE id = $1",
            run_id
        )
        .execute(&mut *tx)
        .await?;
        let counts = sqlx::query_scalar!("SELECT counts FROM import_runs WHERE id = $1", run_id)
            .fetch_one(&mut *tx)
            .await?;
        let ctx = Context::load(&mut tx, account, &run.source, run.mapping, &entries).await?;
        progress_event(&mut tx, run_id).await?;
        tx.commit().await?;
        let counts = serde_json::from_value(counts).unwrap_or_default();
        Ok(Self::new(pool, lock, ctx, entries, run_id, run.position as usize, counts))
    }

    fn new(
        pool: &PgPool,
        lock: PgConnection,
        ctx: Context,
        entries: Vec<Entry>,
        run_id: Uuid,
        position: usize,
        counts: Counts,
    ) -> Self {
        Self {
            pool: pool.clone(),
            lock,
            ctx,
            entries,
            run_id,
            position,
            counts,
            batches: 0,
            files: None,
            fetched: Fetched::new(),
        }
    }

    /// Imports messages' files into `files.store`, fetching linked ones
    /// with `files.fetcher`.
    pub fn with_files(mut self, files: ImportFiles) -> Self {
        self.files = Some(files);
        self
    }

    pub fn run_id(&self) -> Uuid {
        self.run_id
    }

    /// Obtains and stores the files of the conversations in `range` that
    /// this batch will create (not those an earlier run imported), before
    /// the batch's transaction: fetching inside it would hold its locks
    /// across the network.
    async fn fetch(&mut self, range: std::ops::Range<usize>) -> Result<()> {
        self.fetched.clear();
        let Some(files) = self.files.clone() else { return Ok(()) };
        let wanted: Vec<usize> = range
            .filter(|i| match &self.entries[*i] {
                Entry::Conversation(c) => {
                    c.messages.iter().any(|m| !m.note && !m.files.is_empty()) && self.ctx.accept(c).is_ok()
                }
                Entry::Broken(_) => false,
            })
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let source_id = |i: usize| match &self.entries[i] {
            Entry::Conversation(c) => c.source_id.clone(),
            Entry::Broken(_) => String::new(),
        };
        let ids: Vec<String> = wanted.iter().map(|i| source_id(*i)).collect();
        let existing = self.ctx.imported(&mut *self.pool.acquire().await?, &ids).await?;
        let prefix = format!("{}/import/{}", self.ctx.account, self.run_id);
        let policy = self.ctx.policy.clone();
        // Every copy of a record the file repeats is fetched: which copy
        // commits is known only when the batch does (the first may be
        // refused); the others' files are discarded after it.
        let started = std::time::Instant::now();
        for i in wanted {
            let Entry::Conversation(c) = &self.entries[i] else { continue };
            if existing.contains(&c.source_id) || self.ctx.seen.contains(&c.source_id) {
                continue;
            }
            for (j, msg) in c.messages.iter().enumerate().filter(|(_, m)| !m.note) {
                for (k, file) in msg.files.iter().enumerate() {
                    let outcome = if k >= policy.max_per_message as usize {
                        Err(too_many_files(&policy))
                    } else if started.elapsed() > files::FETCH_BUDGET {
                        Err(format!(
                            "not fetched: this batch's files took over {} minutes (the source is slow)",
                            files::FETCH_BUDGET.as_secs() / 60
                        ))
                    } else {
                        files::obtain(&self.pool, &files, &policy, &prefix, file).await?
                    };
                    self.fetched.insert((i, j, k), outcome);
                }
            }
        }
        Ok(())
    }

    /// The files fetched for conversations that did not commit (skipped,
    /// refused, cancelled) go now; committed ones are off the queue.
    async fn discard_fetched(&mut self) -> Result<()> {
        let keys: Vec<String> =
            self.fetched.drain().filter_map(|(_, f)| f.ok()).flat_map(|p| p.keys()).collect();
        match &self.files {
            Some(files) => files::discard(&self.pool, &files.store, &keys).await,
            None => Ok(()),
        }
    }

    /// An import into a young database outgrows the planner's statistics
    /// faster than autovacuum refreshes them, and the report facts' query
    /// turns into scans that grow with every batch (measured: 1,292/s over
    /// 20,000 conversations fell to 754/s over 100,000). So the tables a
    /// batch writes are analysed after batches 1, 2, 4, 8…: a sample each
    /// time, a few dozen in a million-conversation run.
    async fn refresh_statistics(&mut self) -> Result<()> {
        self.batches += 1;
        if self.batches >= 2 && (self.batches - 1).is_power_of_two() {
            // A fixed maintenance statement, no data in it.
            sqlx::raw_sql(
                "ANALYZE sessions, messages, notes, assignments, csat, customers, session_tags, import_map, report_facts",
            )
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    pub fn position(&self) -> u64 {
        self.position as u64
    }

    pub fn total(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Writes the next batch. `Ok(None)` once the run has finished.
    pub async fn step(&mut self) -> Result<Option<Progress>> {
        if self.position >= self.entries.len() {
            return Ok(None);
        }
        let end = (self.position + BATCH).min(self.entries.len());
        self.refresh_statistics().await?;
        self.fetch(self.position..end).await?;
        let written = self.write(end).await;
        // The batch has committed (or not) by now: a failure to discard
        // its leftovers must not turn it into a failed run. They stay
        // queued, due within a day, for the sweep.
        if let Err(e) = self.discard_fetched().await {
            tracing::warn!(run_id = %self.run_id, error = %e, "an import's unused files could not be discarded yet");
        }
        written
    }

    /// Commits `position..end` (see [`Importer::step`]).
    async fn write(&mut self, end: usize) -> Result<Option<Progress>> {
        let mut skips = Vec::new();
        let mut file_skips = Vec::new();
        match self.commit_range(self.position..end).await {
            Ok(Some((s, f))) => (skips, file_skips) = (s, f),
            Ok(None) => return Ok(None),
            Err(Error::Invalid { .. } | Error::Conflict { .. }) => {
                // One record the database refuses: find it, keep the rest.
                for i in self.position..end {
                    match self.commit_range(i..i + 1).await {
                        Ok(Some((s, f))) => {
                            skips.extend(s);
                            file_skips.extend(f);
                        }
                        Ok(None) => return Ok(None),
                        Err(e @ (Error::Invalid { .. } | Error::Conflict { .. })) => {
                            let (record, source_id) = match &self.entries[i] {
                                Entry::Conversation(c) => (c.record.clone(), Some(c.source_id.clone())),
                                Entry::Broken(s) => (s.record.clone(), s.source_id.clone()),
                            };
                            let skip = Skip {
                                record,
                                source_id,
                                kind: SkipKind::Refused,
                                field: None,
                                reason: e.to_string(),
                            };
                            self.commit_skip(i, skip.clone()).await?;
                            skips.push(skip);
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) => return Err(e),
        }
        Ok(Some(Progress {
            run_id: self.run_id,
            position: self.position as u64,
            total: self.entries.len() as u64,
            counts: self.counts,
            skips,
            file_skips,
        }))
    }

    /// Locks the run row (seeing a cancel), writes `range`, moves the
    /// checkpoint. `Ok(None)` when the run was cancelled instead.
    async fn commit_range(
        &mut self,
        range: std::ops::Range<usize>,
    ) -> Result<Option<(Vec<Skip>, Vec<FileSkip>)>> {
        let mut tx = self.pool.begin().await?;
        if !self.lock_run(&mut tx).await? {
            tx.commit().await?;
            return Ok(None);
        }
        let result = self
            .ctx
            .batch(&mut tx, &self.entries, range.clone(), true, Some(self.run_id), Some(&self.fetched))
            .await;
        let BatchResult { counts, skips, file_skips } = match result {
            Ok(r) => r,
            Err(e) => {
                drop(tx);
                self.ctx.forget_pending();
                return Err(e);
            }
        };
        let mut total = self.counts;
        total.add(&counts);
        if let Err(e) = self.checkpoint(&mut tx, range.end, &total, &skips, &file_skips).await {
            drop(tx);
            self.ctx.forget_pending();
            return Err(e);
        }
        if let Err(e) = tx.commit().await {
            self.ctx.forget_pending();
            return Err(e.into());
        }
        self.ctx.keep_pending();
        self.counts = total;
        self.position = range.end;
        Ok(Some((skips, file_skips)))
    }

    async fn commit_skip(&mut self, index: usize, skip: Skip) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let mut total = self.counts;
        total.conversations += 1;
        total.skipped += 1;
        self.checkpoint(&mut tx, index + 1, &total, std::slice::from_ref(&skip), &[]).await?;
        tx.commit().await?;
        self.counts = total;
        self.position = index + 1;
        Ok(())
    }

    /// `false` when someone asked the run to stop: it is now cancelled.
    async fn lock_run(&self, conn: &mut PgConnection) -> Result<bool> {
        let status =
            sqlx::query_scalar!("SELECT status FROM import_runs WHERE id = $1 FOR UPDATE", self.run_id)
                .fetch_one(&mut *conn)
                .await?;
        if status == RunStatus::Cancelling.as_str() || status == RunStatus::Cancelled.as_str() {
            sqlx::query!(
                "UPDATE import_runs SET status = 'cancelled', finished_at = now(), updated_at = now() WHERE id = $1",
                self.run_id
            )
            .execute(&mut *conn)
            .await?;
            progress_event(conn, self.run_id).await?;
            return Ok(false);
        }
        Ok(true)
    }

    async fn checkpoint(
        &self,
        conn: &mut PgConnection,
        position: usize,
        counts: &Counts,
        skips: &[Skip],
        file_skips: &[FileSkip],
    ) -> Result<()> {
        let skips = serde_json::to_value(skips).map_err(|e| Error::internal("import skips", e))?;
        let file_skips =
            serde_json::to_value(file_skips).map_err(|e| Error::internal("import file skips", e))?;
        let counts_json = serde_json::to_value(counts).map_err(|e| Error::internal("import counts", e))?;
        let done = position >= self.entries.len();
        sqlx::query!(
            "UPDATE import_runs
                SET position = $2, created = $3, matched = $4, skipped = $5, counts = $6,
                    skips = skips || (SELECT coalesce(jsonb_agg(e.v ORDER BY e.n), '[]'::jsonb)
                                        FROM jsonb_array_elements($8::jsonb) WITH ORDINALITY AS e(v, n)
                                       WHERE e.n <= $7 - jsonb_array_length(import_runs.skips)),
                    file_skips = file_skips
                        || (SELECT coalesce(jsonb_agg(e.v ORDER BY e.n), '[]'::jsonb)
                              FROM jsonb_array_elements($10::jsonb) WITH ORDINALITY AS e(v, n)
                             WHERE e.n <= $7 - jsonb_array_length(import_runs.file_skips)),
                    status = CASE WHEN $9 THEN 'completed' ELSE status END,
                    finished_at = CASE WHEN $9 THEN now() END,
                    updated_at = now()
              WHERE id = $1",
            self.run_id,
            position as i32,
            counts.created as i32,
            counts.matched as i32,
            counts.skipped as i32,
            counts_json,
            MAX_LISTED_SKIPS as i32,
            skips,
            done,
            file_skips
        )
        .execute(&mut *conn)
        .await?;
        progress_event(conn, self.run_id).await
    }

    /// Runs every batch, calling `progress` after each.
    pub async fn run(mut self, mut progress: impl FnMut(&Progress)) -> Result<(Finish, Counts)> {
        loop {
            match self.step().await {
                Ok(Some(p)) => progress(&p),
                Ok(None) => break,
                Err(e) => {
                    // Leave the run resumable, with the reason.
                    if let Ok(mut conn) = self.pool.acquire().await {
                        let _ = sqlx::query!(
                            "UPDATE import_runs SET status = 'failed', error = left($2, 2000), updated_at = now() WHERE id = $1",
                            self.run_id,
                            e.to_string()
                        )
                        .execute(&mut *conn)
                        .await;
                        let _ = progress_event(&mut conn, self.run_id).await;
                    }
                    self.release().await;
                    return Err(e);
                }
            }
        }
        let finish = if self.position >= self.entries.len() { Finish::Completed } else { Finish::Cancelled };
        let counts = self.counts;
        self.release().await;
        Ok((finish, counts))
    }

    async fn release(mut self) {
        let _ = sqlx::query!("SELECT pg_advisory_unlock_all()").execute(&mut self.lock).await;
        let _ = sqlx::Connection::close(self.lock).await;
    }
}

/// Asks a run to stop after the batch it is writing (or stops one that is
/// not running).
pub async fn cancel(pool: &PgPool, actor: &Actor, run_id: Uuid) -> Result<RunStatus> {
    let account = sqlx::query_scalar!("SELECT account_id FROM import_runs WHERE id = $1", run_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("import"))?;
    actor.require_admin_of(AccountId(account), "import")?;
    let mut tx = pool.begin().await?;
    let status = sqlx::query_scalar!(
        "UPDATE import_runs SET status = CASE status WHEN 'running' THEN 'cancelling' ELSE 'cancelled' END,
                finished_at = CASE WHEN status = 'running' THEN finished_at ELSE now() END, updated_at = now()
          WHERE id = $1 AND status IN ('ready', 'running', 'failed') RETURNING status",
        run_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| {
        Error::conflict("import_finished", "this import has finished; there is nothing to cancel")
    })?;
    progress_event(&mut tx, run_id).await?;
    tx.commit().await?;
    status.parse()
}

/// A run a stopped process left `cancelling` is cancelled: with the
/// account's lock held (else it is alive elsewhere, and that process
/// finishes the cancel itself).
pub async fn settle_cancel(pool: &PgPool, run_id: Uuid) -> Result<()> {
    let account = sqlx::query_scalar!("SELECT account_id FROM import_runs WHERE id = $1", run_id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found("import"))?;
    let _lock = lock_account(pool, AccountId(account)).await?;
    let mut tx = pool.begin().await?;
    let cancelled = sqlx::query!(
        "UPDATE import_runs SET status = 'cancelled', finished_at = now(), updated_at = now()
          WHERE id = $1 AND status = 'cancelling'",
        run_id
    )
    .execute(&mut *tx)
    .await?;
    if cancelled.rows_affected() > 0 {
        progress_event(&mut tx, run_id).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A mapping from names, as the CLI takes it: `groups` are (group, type
/// slug), `agents` (source e-mail, agent e-mail), `unmatched` "create" or
/// the e-mail of the agent to credit.
pub async fn mapping_from_names(
    pool: &PgPool,
    account: AccountId,
    groups: &[(String, String)],
    default_type: Option<&str>,
    agents: &[(String, String)],
    unmatched: &str,
) -> Result<Mapping> {
    let types: HashMap<String, SupportTypeId> = sqlx::query!(
        "SELECT id, lower(slug::text) AS \"slug!\" FROM support_types WHERE account_id = $1 AND archived_at IS NULL",
        account.0
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.slug, SupportTypeId(r.id)))
    .collect();
    let people: HashMap<String, AgentId> = sqlx::query!(
        "SELECT id, lower(email::text) AS \"email!\" FROM agents WHERE account_id = $1 AND role <> 'bot'",
        account.0
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.email, AgentId(r.id)))
    .collect();
    let type_of = |field: &str, slug: &str| {
        types.get(&slug.trim().to_lowercase()).copied().ok_or_else(|| {
            Error::invalid(field, format!("{slug:?} is not an active support type of this account"))
        })
    };
    let agent_of = |field: &str, email: &str| {
        people
            .get(&email.trim().to_lowercase())
            .copied()
            .ok_or_else(|| Error::invalid(field, format!("{email:?} is not an agent of this account")))
    };
    let mut mapping = Mapping::default();
    for (group, slug) in groups {
        mapping.types.insert(group.clone(), type_of("map-type", slug)?);
    }
    mapping.default_type = default_type.map(|s| type_of("default-type", s)).transpose()?;
    for (from, to) in agents {
        mapping.agents.insert(from.trim().to_lowercase(), agent_of("map-agent", to)?);
    }
    mapping.unmatched_agents = match unmatched.trim() {
        "create" => Unmatched::Create,
        email => Unmatched::MapTo(agent_of("unmatched-agents", email)?),
    };
    Ok(mapping)
}

/// A run, for its page and the API.
pub async fn get(pool: &PgPool, actor: &Actor, run_id: Uuid) -> Result<Run> {
    let row = sqlx::query!(
        r#"SELECT id, account_id, format, source, file_name, file_bytes, status, mapping, plan, total, position,
                  created, matched, skipped, skips, file_skips, error, created_at, started_at, finished_at
             FROM import_runs WHERE id = $1"#,
        run_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::not_found("import"))?;
    let account = AccountId(row.account_id);
    actor.require_admin_of(account, "import")?;
    let json = |what: &str, e: serde_json::Error| Error::internal(what, e);
    Ok(Run {
        id: row.id,
        account_id: account,
        format: row.format.parse()?,
        source: row.source,
        file_name: row.file_name,
        file_bytes: row.file_bytes,
        status: row.status.parse()?,
        mapping: serde_json::from_value(row.mapping).map_err(|e| json("an import mapping", e))?,
        plan: row.plan.map(serde_json::from_value).transpose().map_err(|e| json("an import plan", e))?,
        total: row.total,
        position: row.position,
        created: row.created,
        matched: row.matched,
        skipped: row.skipped,
        skips: serde_json::from_value(row.skips).map_err(|e| json("import skips", e))?,
        file_skips: serde_json::from_value(row.file_skips).map_err(|e| json("import file skips", e))?,
        error: row.error,
        created_at: row.created_at,
        started_at: row.started_at,
        finished_at: row.finished_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_valid_tag_names() {
        assert_eq!(tag_name("VIP customer").as_deref(), Some("VIP customer"));
        assert_eq!(tag_name("#refund!").as_deref(), Some("refund-"));
        assert_eq!(tag_name("!!!"), None);
        assert_eq!(tag_name(&"x".repeat(80)).map(|t| t.len()), Some(63));
    }

    #[test]
    fn long_bodies_split_on_characters() {
        let body = "é".repeat(MAX_BODY + 5);
        let parts = split_body(&body);
        assert_eq!(parts.iter().map(|p| p.chars().count()).collect::<Vec<_>>(), vec![MAX_BODY, 5]);
    }
}
