//! Id newtypes and the text-backed enums of the data model. Wasm-clean; with
//! the `server` feature they also encode to and decode from PostgreSQL.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "server", derive(sqlx::Type), sqlx(transparent))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self { Self(Uuid::new_v4()) }
        }
        impl Default for $name {
            fn default() -> Self { Self::new() }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { self.0.fmt(f) }
        }
        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> { Uuid::parse_str(s).map(Self) }
        }
        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self { Self(id) }
        }
    )*};
}

id_type!(
    /// An enterprise client; scopes types, agents and customers.
    AccountId,
    /// A human agent, supervisor, admin or bot.
    AgentId,
    SupportTypeId,
    CustomerId,
    SessionId,
    ReasonId,
    TagId,
    TagRuleId,
    CannedResponseId,
    TokenId,
    /// An admin's message to a segment of customers.
    BlastId,
    WebhookId,
    /// A file uploaded into a session.
    AttachmentId,
);

/// A closed set of values stored as `text` with a CHECK constraint.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(crate::Error::invalid(
                        stringify!($name),
                        format!("{other:?} is not one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }
        #[cfg(feature = "server")]
        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo { <&str as sqlx::Type<sqlx::Postgres>>::type_info() }
            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }
        #[cfg(feature = "server")]
        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(value: sqlx::postgres::PgValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
                let s = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Ok(s.parse::<Self>()?)
            }
        }
        #[cfg(feature = "server")]
        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }
    };
}
pub(crate) use text_enum;

text_enum!(
    /// What an agent may do. Admins without an account are global.
    Role { Admin => "admin", Supervisor => "supervisor", Agent => "agent", Bot => "bot" }
);
text_enum!(Presence { Online => "online", Away => "away", Offline => "offline" });
text_enum!(
    /// How a support type's queue is routed.
    Routing {
        /// The eligible agent least recently assigned.
        RoundRobin => "round_robin",
        /// The lowest active/limit ratio, ties to the least recently assigned.
        LeastLoaded => "least_loaded",
        /// Agents pick from the queue themselves.
        Manual => "manual",
        /// The type's bot takes the session first.
        BotFirst => "bot_first",
    }
);
text_enum!(SessionStatus { Queued => "queued", Active => "active", Resolved => "resolved", Abandoned => "abandoned" });
text_enum!(
    /// Why a session got its current owner.
    AssignReason {
        Auto => "auto",
        Manual => "manual",
        Transfer => "transfer",
        Escalation => "escalation",
        Handoff => "handoff",
        Away => "away",
        Sla => "sla",
    }
);
text_enum!(
    /// Why a bot hands a session to people. A fixed category, never free text
    /// that must match; the summary says the rest.
    HandoffReason {
        /// The customer asked for a person.
        CustomerRequest => "customer_request",
        /// The bot's confidence stayed below the type's threshold.
        LowConfidence => "low_confidence",
        /// The type's limit of bot turns passed without a resolution.
        TurnLimit => "turn_limit",
        /// A configured keyword appeared.
        Keyword => "keyword",
        /// A rule of the business says a person must handle it.
        Policy => "policy",
        /// The text provider failed.
        ProviderFailure => "provider_failure",
        /// A person replied in the bot's session and took it over.
        Takeover => "takeover",
    }
);
text_enum!(SenderKind { Customer => "customer", Agent => "agent", Bot => "bot", System => "system" });
text_enum!(
    /// What an attachment is, by its sniffed bytes. An account allows some of these kinds.
    AttachmentKind { Image => "image", Pdf => "pdf", Text => "text", Office => "office" }
);
text_enum!(TagSource { Manual => "manual", Rule => "rule", Project => "project", Import => "import" });
text_enum!(TagRuleKind {
    Keyword => "keyword",
    Regex => "regex",
    ProjectRef => "project_ref",
    SupportType => "support_type",
});

text_enum!(
    /// A blast's lifecycle: created `pending`, `running` once the blast
    /// consumer picks it up, then `done` or `cancelled`.
    BlastStatus { Pending => "pending", Running => "running", Done => "done", Cancelled => "cancelled" }
);
text_enum!(
    /// One recipient of a blast.
    RecipientStatus { Pending => "pending", Sent => "sent", Skipped => "skipped", Failed => "failed" }
);

impl SessionStatus {
    /// Open sessions still need work; closed ones can only be reopened.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Queued | Self::Active)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_text_and_reject_unknown_values() {
        for r in Routing::ALL {
            assert_eq!(r.as_str().parse::<Routing>().expect("parse"), *r);
        }
        let err = "fifo".parse::<Routing>().expect_err("unknown");
        assert_eq!(err.code(), "invalid");
        assert!(err.to_string().contains("round_robin"), "{err}");
        assert_eq!(serde_json::to_string(&AssignReason::Handoff).expect("json"), "\"handoff\"");
    }
}
