//! Importing the history of another helpdesk: DeskPro, Zendesk, Chatwoot,
//! or a generic JSONL/CSV file.
//!
//! A file is read into [`parse::Conversation`]s (in file order); a
//! [`plan`](run::plan) says what applying it would create, match and skip,
//! and why; [`run::Importer`] applies it in batches, each one transaction
//! with its checkpoint, so that a crash or a cancel resumes where the last
//! batch committed, and the map from (source, source id) to local id means
//! that running it again creates nothing twice.
//!
//! Imported history is quiet: it writes no session events (so no e-mail,
//! webhooks, alerts or session frames; only the run's own
//! `import.progress`, which only the account's admins' pages receive), it
//! enters no queue (it is resolved or
//! abandoned, never queued, so no assignment runs), and it is not live
//! traffic. It feeds the report rollups in the same transaction.
//!
//! Decisions, each also in the README:
//! - A conversation still open in the source is skipped with that reason;
//!   importing the file again after it closed brings it in.
//! - The source rarely says when a conversation was assigned, so the
//!   assignee's assignment starts when the conversation was created: an
//!   imported wait is 0 and human first response runs from creation (what
//!   the sources call first reply time).
//! - Agents are matched by e-mail. An unmatched agent is created
//!   deactivated (no password, no capacity), or mapped to a chosen agent.
//!   An address that belongs to another account cannot be created here, so
//!   it must be mapped, or its conversations are skipped with that reason.
//! - Customers are matched by an earlier import of the same source, then
//!   by e-mail, then by external id; otherwise created.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::types::{AgentId, SupportTypeId, text_enum};

#[cfg(feature = "server")]
pub mod files;
#[cfg(feature = "server")]
pub mod parse;
#[cfg(feature = "server")]
pub mod run;
#[cfg(feature = "server")]
pub mod service;

/// The largest file an import takes (HTTP answers 413 above it).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// Conversations per transaction.
pub const BATCH: usize = 500;
/// Skips kept with their reasons on a run or plan (all are counted).
pub const MAX_LISTED_SKIPS: usize = 1000;

text_enum!(
    /// The file formats an import reads.
    Format { Deskpro => "deskpro", Zendesk => "zendesk", Chatwoot => "chatwoot", Jsonl => "jsonl", Csv => "csv" }
);

impl Format {
    pub fn label(self) -> &'static str {
        match self {
            Self::Deskpro => "DeskPro (API v2 / export JSON)",
            Self::Zendesk => "Zendesk (incremental ticket export JSON)",
            Self::Chatwoot => "Chatwoot (conversations JSON)",
            Self::Jsonl => "Generic JSONL (one conversation per line)",
            Self::Csv => "Generic CSV (one message per row)",
        }
    }
}

text_enum!(
    /// Where a run stands.
    RunStatus {
        Ready => "ready",
        Running => "running",
        /// Asked to stop; the importer stops after the batch it is writing.
        Cancelling => "cancelling",
        Cancelled => "cancelled",
        Failed => "failed",
        Completed => "completed",
    }
);

text_enum!(
    /// Why a conversation was not imported.
    SkipKind {
        /// The record could not be read: the reason names the field.
        Invalid => "invalid",
        /// Still open in the source.
        Open => "open",
        /// Deleted or spam in the source.
        Deleted => "deleted",
        /// Its department, group or inbox maps to no support type.
        NoSupportType => "no_support_type",
        /// One of its agents has an address of another account, unmapped.
        Agent => "agent",
        /// The database refused it (the reason says which rule).
        Refused => "refused",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Skip {
    /// Where it is in the file: "tickets[3]", "line 7".
    pub record: String,
    pub source_id: Option<String>,
    pub kind: SkipKind,
    pub field: Option<String>,
    pub reason: String,
}

/// A file of an imported message that was not imported (its conversation
/// was): unreachable, refused by the account's limits or the scanner, on
/// an internal note, or not described in the export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileSkip {
    /// The conversation's place in the file: "tickets[3]", "line 7".
    pub record: String,
    pub source_id: Option<String>,
    pub file_name: String,
    pub reason: String,
}

/// What to do with an agent the account does not have.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", content = "agent_id", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Unmatched {
    /// Create them deactivated: they keep their names in the history.
    #[default]
    Create,
    /// Credit their conversations and messages to this agent.
    MapTo(AgentId),
}

/// The choices of the mapping screen (or the CLI's flags).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mapping {
    /// Department / group / inbox name → support type.
    #[serde(default)]
    pub types: BTreeMap<String, SupportTypeId>,
    /// For groups neither mapped nor named like a type.
    #[serde(default)]
    pub default_type: Option<SupportTypeId>,
    /// Source agent e-mail (lower case) → agent of this account.
    #[serde(default)]
    pub agents: BTreeMap<String, AgentId>,
    #[serde(default)]
    pub unmatched_agents: Unmatched,
}

/// How one of the file's agents is resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AgentAction {
    /// This account's agent with the same e-mail (or created by an
    /// earlier run).
    Matched { agent_id: AgentId },
    /// Mapped on the mapping screen, or by the unmatched-agents choice.
    Mapped { agent_id: AgentId },
    /// Will be created, deactivated.
    Create,
    /// The address belongs to another account: map it.
    Foreign,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentRow {
    pub email: Option<String>,
    pub name: Option<String>,
    /// Conversations and messages naming this agent.
    pub mentions: u64,
    pub action: AgentAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupRow {
    /// The department, group or inbox ("" for none).
    pub name: String,
    pub conversations: u64,
    pub support_type_id: Option<SupportTypeId>,
    /// "mapped", "same name", "default", or "none".
    pub how: String,
}

/// Counts of what applying did, or would do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Counts {
    pub conversations: u64,
    /// Sessions created.
    pub created: u64,
    /// Conversations an earlier run imported already.
    pub matched: u64,
    pub skipped: u64,
    pub messages: u64,
    pub notes: u64,
    pub csat: u64,
    pub tags: u64,
    pub customers_created: u64,
    pub customers_matched: u64,
    pub agents_created: u64,
    /// Files of messages stored (applying), or named and obtainable by
    /// URL or inline data (a dry run, which fetches nothing).
    pub files: u64,
    /// Files not imported, each listed with its reason.
    pub files_skipped: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.conversations += o.conversations;
        self.created += o.created;
        self.matched += o.matched;
        self.skipped += o.skipped;
        self.messages += o.messages;
        self.notes += o.notes;
        self.csat += o.csat;
        self.tags += o.tags;
        self.customers_created += o.customers_created;
        self.customers_matched += o.customers_matched;
        self.agents_created += o.agents_created;
        self.files += o.files;
        self.files_skipped += o.files_skipped;
    }
}

/// The dry run: what applying would do with this mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Plan {
    pub counts: Counts,
    /// Skips by kind, all of them.
    pub skipped_by_kind: BTreeMap<String, u64>,
    /// The first [`MAX_LISTED_SKIPS`], with their reasons.
    pub skips: Vec<Skip>,
    /// Files already known to be unobtainable (the rest are fetched when
    /// applying), the first [`MAX_LISTED_SKIPS`].
    #[serde(default)]
    pub file_skips: Vec<FileSkip>,
    pub agents: Vec<AgentRow>,
    pub groups: Vec<GroupRow>,
}

/// One import run, as its page and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Run {
    pub id: uuid::Uuid,
    pub account_id: crate::types::AccountId,
    pub format: Format,
    pub source: String,
    pub file_name: String,
    pub file_bytes: i64,
    pub status: RunStatus,
    pub mapping: Mapping,
    pub plan: Option<Plan>,
    pub total: i32,
    pub position: i32,
    pub created: i32,
    pub matched: i32,
    pub skipped: i32,
    pub skips: Vec<Skip>,
    /// The first [`MAX_LISTED_SKIPS`] files not imported, with reasons.
    pub file_skips: Vec<FileSkip>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A source label: the namespace of its ids.
pub fn validate_source(source: &str) -> crate::Result<()> {
    let ok = !source.is_empty()
        && source.len() <= 63
        && source.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && source.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(crate::Error::invalid(
            "source",
            "use 1-63 lowercase letters, digits and _.- (it names the helpdesk the ids come from)",
        ))
    }
}
