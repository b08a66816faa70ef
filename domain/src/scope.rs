//! Who may see which session: the one rule, in one place.
//!
//! A [`Scope`] is built once per actor ([`Scope::of`]) and then answers in
//! two ways that cannot disagree, because both are written here:
//! - in memory, [`Scope::sees`], for one session (REST get, the hub's
//!   per-connection event filter);
//! - in SQL, [`Scope::push_sql`], as a predicate over a `sessions` row, for
//!   every list: lists, queue, inbox, previous sessions, customers, search
//!   and reports.
//!
//! The rule:
//! - the system and global admins see every session;
//! - account admins and supervisors see every session of their account;
//! - agents and bots see, in their account, the sessions they own and the
//!   sessions of the support types they serve: their skills, and for a bot
//!   the types whose bot it is (as in [eligibility](crate::eligibility)), so
//!   that a bot still sees a session it handed off, and is told 409
//!   `not_owner` rather than 404 when it writes there;
//! - a customer sees their own session;
//! - anyone else sees nothing.
//!
//! Everything outside the scope is "not found" to the caller.
//!
//! The waiting queue is the scope's queued sessions in [`queue_order`].

use std::{cmp::Ordering, collections::BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{
    actor::Actor,
    types::{AccountId, AgentId, Role, SessionId, SupportTypeId},
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Scope {
    /// The system and global admins.
    Everything,
    /// Admins and supervisors of one account.
    Account { account: AccountId },
    /// An agent or bot: what they own and the types they serve, in their account.
    Agent { account: AccountId, agent: AgentId, serves: BTreeSet<SupportTypeId> },
    /// A customer: their session.
    Session { account: AccountId, session: SessionId },
    /// Nobody the rule recognises.
    Nothing,
}

/// What the rule looks at in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionFacts {
    pub id: SessionId,
    pub account_id: AccountId,
    pub support_type_id: SupportTypeId,
    pub owner_id: Option<AgentId>,
}

impl Scope {
    /// The scope of an actor whose skills are `serves` (only agents and bots
    /// use them). [`Scope::of`] loads them.
    pub fn with_skills(actor: &Actor, serves: impl IntoIterator<Item = SupportTypeId>) -> Self {
        match actor {
            Actor::System => Self::Everything,
            Actor::Customer(c) => Self::Session { account: c.account_id, session: c.session_id },
            Actor::Agent(a) => match (a.role, a.account_id) {
                (Role::Admin, None) => Self::Everything,
                (Role::Admin | Role::Supervisor, Some(account)) => Self::Account { account },
                (Role::Agent | Role::Bot, Some(account)) => {
                    Self::Agent { account, agent: a.id, serves: serves.into_iter().collect() }
                }
                (_, None) => Self::Nothing,
            },
        }
    }

    /// Whether the rule needs the actor's skills.
    pub fn needs_skills(actor: &Actor) -> bool {
        matches!(actor, Actor::Agent(a) if matches!(a.role, Role::Agent | Role::Bot) && a.account_id.is_some())
    }

    /// Whether a session is inside the scope.
    pub fn sees(&self, s: &SessionFacts) -> bool {
        match self {
            Self::Everything => true,
            Self::Account { account } => s.account_id == *account,
            Self::Agent { account, agent, serves } => {
                s.account_id == *account
                    && (s.owner_id == Some(*agent) || serves.contains(&s.support_type_id))
            }
            Self::Session { session, .. } => s.id == *session,
            Self::Nothing => false,
        }
    }

    /// The one account the scope is confined to, if it is.
    pub fn account(&self) -> Option<AccountId> {
        match self {
            Self::Account { account } | Self::Agent { account, .. } | Self::Session { account, .. } => {
                Some(*account)
            }
            Self::Everything | Self::Nothing => None,
        }
    }

    /// For readers that count whole accounts (reports): the account they
    /// may count, or None for every account (the system and global admins,
    /// when they ask for none). Only a scope that covers whole accounts
    /// counts: agents, bots and customers are refused, and an account
    /// outside the scope is "not found".
    pub fn whole_accounts(&self, requested: Option<AccountId>) -> crate::Result<Option<AccountId>> {
        match self {
            Self::Everything => Ok(requested),
            Self::Account { account } => match requested {
                Some(other) if other != *account => Err(crate::Error::not_found("account")),
                _ => Ok(Some(*account)),
            },
            _ => Err(crate::Error::forbidden("reports are for administrators and supervisors")),
        }
    }

    /// Whether every session of `account` is inside the scope.
    pub fn covers_account(&self, account: AccountId) -> bool {
        match self {
            Self::Everything => true,
            Self::Account { account: own } => *own == account,
            _ => false,
        }
    }
}

/// A queued session's place in the waiting line, as the rule orders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueKey {
    pub priority: i32,
    pub queued_at: DateTime<Utc>,
    pub id: SessionId,
}

/// The waiting queue's order: higher priority first, then longer waiting,
/// then the id, so that every reader (engine, lists, positions, browsers)
/// agrees on one total order. [`sql::QUEUE_ORDER`] is the same in SQL.
pub fn queue_order(a: &QueueKey, b: &QueueKey) -> Ordering {
    b.priority.cmp(&a.priority).then(a.queued_at.cmp(&b.queued_at)).then(a.id.cmp(&b.id))
}

/// [`queue_order`] in SQL over a `sessions` row aliased `s`, as a literal
/// for `concat!` into the queries that order the queue.
#[macro_export]
macro_rules! queue_order_sql {
    () => {
        "s.priority DESC, s.queued_at, s.id"
    };
}

/// [`queue_order`] as a test: a `sessions` row aliased `q` comes before
/// the one aliased `s` (same priority rule, then waiting, then id). For
/// one session's place in line without ordering the whole queue.
#[macro_export]
macro_rules! queue_ahead_sql {
    () => {
        "(q.priority > s.priority OR (q.priority = s.priority AND (q.queued_at, q.id) < (s.queued_at, s.id)))"
    };
}

pub mod sql {
    /// [`super::queue_order`] over a `sessions` row aliased `s`.
    pub const QUEUE_ORDER: &str = queue_order_sql!();
}

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::Result;
    use sqlx::{PgConnection, Postgres, QueryBuilder};

    impl Scope {
        /// The actor's scope, with the types they serve read from the database.
        pub async fn of(conn: &mut PgConnection, actor: &Actor) -> Result<Self> {
            let serves = match actor.agent() {
                Some(a) if Self::needs_skills(actor) => sqlx::query_scalar!(
                    r#"SELECT support_type_id AS "id!: SupportTypeId" FROM agent_skills WHERE agent_id = $1
                       UNION SELECT id FROM support_types WHERE bot_agent_id = $1"#,
                    a.id.0
                )
                .fetch_all(&mut *conn)
                .await?,
                _ => Vec::new(),
            };
            Ok(Self::with_skills(actor, serves))
        }

        /// [`Scope::of`] on a connection of the pool.
        pub async fn load(pool: &sqlx::PgPool, actor: &Actor) -> Result<Self> {
            Self::of(&mut *pool.acquire().await?, actor).await
        }

        /// Appends ` AND (…)`: the scope as a predicate over the `sessions`
        /// row aliased `s`. Every query that lists sessions calls this.
        pub fn push_sql(&self, q: &mut QueryBuilder<'_, Postgres>) {
            match self {
                Self::Everything => {}
                Self::Account { account } => {
                    q.push(" AND s.account_id = ").push_bind(*account);
                }
                Self::Agent { account, agent, serves } => {
                    let serves: Vec<uuid::Uuid> = serves.iter().map(|t| t.0).collect();
                    q.push(" AND s.account_id = ")
                        .push_bind(*account)
                        .push(" AND (s.owner_id = ")
                        .push_bind(*agent)
                        .push(" OR s.support_type_id = ANY(")
                        .push_bind(serves)
                        .push("))");
                }
                Self::Session { session, .. } => {
                    q.push(" AND s.id = ").push_bind(*session);
                }
                Self::Nothing => {
                    q.push(" AND false");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::{AgentActor, CustomerActor};
    use crate::types::CustomerId;

    fn agent(role: Role, account: Option<AccountId>) -> Actor {
        Actor::Agent(AgentActor { id: AgentId::new(), account_id: account, role })
    }

    #[test]
    fn whole_account_readers_are_admins_and_supervisors() {
        let (a, b) = (AccountId::new(), AccountId::new());
        let global = Scope::with_skills(&agent(Role::Admin, None), []);
        assert_eq!(global.whole_accounts(None).expect("a reader"), None);
        assert_eq!(global.whole_accounts(Some(b)).expect("a reader"), Some(b));
        for role in [Role::Admin, Role::Supervisor] {
            let s = Scope::with_skills(&agent(role, Some(a)), []);
            assert_eq!(s.whole_accounts(None).expect("a reader"), Some(a));
            assert_eq!(s.whole_accounts(Some(a)).expect("a reader"), Some(a));
            assert!(matches!(s.whole_accounts(Some(b)), Err(crate::Error::NotFound { .. })));
        }
        for role in [Role::Agent, Role::Bot] {
            let s = Scope::with_skills(&agent(role, Some(a)), []);
            assert!(matches!(s.whole_accounts(None), Err(crate::Error::Forbidden { .. })));
        }
    }

    #[test]
    fn each_actor_kind_gets_its_scope() {
        let (a, b) = (AccountId::new(), AccountId::new());
        let ty = SupportTypeId::new();
        let other_ty = SupportTypeId::new();
        let owner = AgentId::new();
        let session =
            SessionFacts { id: SessionId::new(), account_id: a, support_type_id: ty, owner_id: Some(owner) };
        let own = Actor::Agent(AgentActor { id: owner, account_id: Some(a), role: Role::Agent });
        let customer = |s| {
            Actor::Customer(CustomerActor { customer_id: CustomerId::new(), session_id: s, account_id: a })
        };
        let cases: Vec<(&str, Scope, bool)> = vec![
            ("system", Scope::with_skills(&Actor::System, []), true),
            ("global admin", Scope::with_skills(&agent(Role::Admin, None), []), true),
            ("account admin", Scope::with_skills(&agent(Role::Admin, Some(a)), []), true),
            ("supervisor", Scope::with_skills(&agent(Role::Supervisor, Some(a)), []), true),
            ("agent with skill", Scope::with_skills(&agent(Role::Agent, Some(a)), [ty]), true),
            ("agent without skill", Scope::with_skills(&agent(Role::Agent, Some(a)), [other_ty]), false),
            ("owner without skill", Scope::with_skills(&own, []), true),
            ("bot with skill", Scope::with_skills(&agent(Role::Bot, Some(a)), [ty]), true),
            ("bot without skill", Scope::with_skills(&agent(Role::Bot, Some(a)), []), false),
            ("its customer", Scope::with_skills(&customer(session.id), []), true),
            ("another customer", Scope::with_skills(&customer(SessionId::new()), []), false),
            ("other account's admin", Scope::with_skills(&agent(Role::Admin, Some(b)), []), false),
            (
                "other account's agent with the type id",
                Scope::with_skills(&agent(Role::Agent, Some(b)), [ty]),
                false,
            ),
            ("supervisor without account", Scope::with_skills(&agent(Role::Supervisor, None), []), false),
        ];
        for (who, scope, expected) in cases {
            assert_eq!(scope.sees(&session), expected, "{who}");
        }
    }

    #[test]
    fn the_queue_is_priority_then_wait_then_id() {
        let t0 = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).expect("time");
        let later = t0 + chrono::Duration::seconds(5);
        let (lo, hi) = {
            let mut ids = [SessionId::new(), SessionId::new()];
            ids.sort();
            (ids[0], ids[1])
        };
        let mut keys = [
            QueueKey { priority: 0, queued_at: t0, id: hi },
            QueueKey { priority: 0, queued_at: later, id: lo },
            QueueKey { priority: 5, queued_at: later, id: hi },
            QueueKey { priority: 0, queued_at: t0, id: lo },
        ];
        keys.sort_by(queue_order);
        let got: Vec<(i32, DateTime<Utc>, SessionId)> =
            keys.iter().map(|k| (k.priority, k.queued_at, k.id)).collect();
        assert_eq!(got, vec![(5, later, hi), (0, t0, lo), (0, t0, hi), (0, later, lo)]);
    }
}
