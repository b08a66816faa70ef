//! Who may take a session now: the one rule, used by the assignment engine
//! (every strategy, the preferred agent and the type's bot) and by manual
//! assign and reassign.
//!
//! An agent can take a session when they are active and in the session's
//! account, online, under their limit, and serve its support type at the
//! session's tier: a skill for the type whose tier is unset or at least the
//! session's (an unset session tier accepts every skill), or being the
//! type's own bot, which needs no skill.
//!
//! The rule is SQL ([`can_take_sql!`](crate::can_take_sql)), so that the engine can choose among
//! many agents in one query under `FOR UPDATE SKIP LOCKED`; [`Refusal`]
//! only words why a named agent was refused. Routing preferences (humans
//! before bots, skipping the agent the session was just taken from) are the
//! engine's, not part of eligibility.

use serde::{Deserialize, Serialize};

/// The rule as a predicate over `agents a`, for a session whose support
/// type, tier and account are the three SQL expressions given (parameters
/// such as `"$1"`, `"$2::smallint"`, or columns of a `sessions` row). Every
/// query that decides who can take a session embeds it with `concat!`.
/// Candidates come from the type's skills (index `agent_skills_type`) and
/// its bot, so the rule is cheap to test for many sessions at once. It is
/// never NULL (a type without a bot adds no NULL to the `IN` list), so it
/// can be selected as a column too.
#[macro_export]
macro_rules! can_take_sql {
    ($support_type:literal, $tier:literal, $account:literal) => {
        concat!(
            "(a.account_id = ",
            $account,
            " AND a.deactivated_at IS NULL AND a.presence = 'online'
              AND a.active_count < a.max_concurrent
              AND a.id IN (SELECT k.agent_id FROM agent_skills k
                           WHERE k.support_type_id = ",
            $support_type,
            "
                             AND (",
            $tier,
            " IS NULL OR k.tier IS NULL OR k.tier >= ",
            $tier,
            ")
                           UNION ALL
                           SELECT t.bot_agent_id FROM support_types t
                           WHERE t.id = ",
            $support_type,
            " AND t.bot_agent_id IS NOT NULL))"
        )
    };
}

/// Why a named agent cannot take a session, in the order the checks are
/// reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refusal {
    NotInAccount,
    LacksSkill,
    TierTooLow,
    Unavailable,
    AtCapacity,
}

/// What the wording looks at; loaded only after the rule said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CandidateFacts {
    pub in_account: bool,
    pub active: bool,
    pub presence: crate::types::Presence,
    pub active_count: i32,
    pub max_concurrent: i32,
    /// `None`: no skill for the type; `Some(tier)`: the skill's tier.
    pub skill: Option<Option<i16>>,
    pub is_type_bot: bool,
}

impl CandidateFacts {
    /// The first reason the rule would refuse, for the error message.
    pub fn refusal(&self, session_tier: Option<i16>) -> Option<Refusal> {
        use crate::types::Presence;
        if !self.in_account || !self.active {
            return Some(Refusal::NotInAccount);
        }
        if !self.is_type_bot {
            match self.skill {
                None => return Some(Refusal::LacksSkill),
                Some(Some(tier)) if session_tier.is_some_and(|need| tier < need) => {
                    return Some(Refusal::TierTooLow);
                }
                Some(_) => {}
            }
        }
        if self.presence != Presence::Online {
            return Some(Refusal::Unavailable);
        }
        if self.active_count >= self.max_concurrent {
            return Some(Refusal::AtCapacity);
        }
        None
    }
}

impl Refusal {
    pub fn into_error(self, presence: crate::types::Presence) -> crate::Error {
        use crate::Error;
        match self {
            Self::NotInAccount => Error::invalid("agent_id", "no such agent in this account"),
            Self::LacksSkill => {
                Error::conflict("agent_lacks_skill", "the agent does not serve this session's support type")
            }
            Self::TierTooLow => Error::conflict(
                "agent_tier_too_low",
                "the agent's tier for this support type is below the session's tier",
            ),
            Self::Unavailable => Error::conflict("agent_unavailable", format!("the agent is {presence}")),
            Self::AtCapacity => {
                Error::conflict("agent_at_capacity", "the agent has no room for another session")
            }
        }
    }
}

#[cfg(feature = "server")]
pub use server::*;

#[cfg(feature = "server")]
mod server {
    use super::*;
    use crate::{
        Result,
        sessions::Session,
        types::{AgentId, Presence},
    };
    use sqlx::PgConnection;

    /// Locks `agent` if the rule lets them take `session` now, `None` when
    /// not. For one named agent (a bot-first type's bot, a customer's
    /// preferred agent) it waits for another transaction's lock on the row
    /// instead of skipping it: a heartbeat or a concurrent assignment holds
    /// the row for milliseconds, and "busy for a moment" must not read as
    /// "cannot take" (it sent bot-first chats to people). The rule is then
    /// checked on the row as that transaction left it. Assignment takes named
    /// agents in one order (the bot, then the preferred agent) and after
    /// them only `SKIP LOCKED` picks, so these waits form no cycle among
    /// assignments.
    pub async fn lock_if_can_take(
        conn: &mut PgConnection,
        session: &Session,
        agent: AgentId,
    ) -> Result<Option<AgentId>> {
        // Runtime-checked: the SQL embeds the shared rule macro with concat!, which query! cannot take.
        Ok(sqlx::query_scalar::<_, AgentId>(concat!(
            "SELECT a.id FROM agents a WHERE a.id = $4 AND ",
            can_take_sql!("$1", "$2::smallint", "$3"),
            " FOR UPDATE OF a"
        ))
        .bind(session.support_type_id)
        .bind(session.tier)
        .bind(session.account_id)
        .bind(agent)
        .fetch_optional(conn)
        .await?)
    }

    /// `Ok` if `agent` can take `session` now; otherwise the reason, as a
    /// domain error (for manual assign and reassign).
    pub async fn require_can_take(conn: &mut PgConnection, session: &Session, agent: AgentId) -> Result<()> {
        // Runtime-checked: the SQL embeds the shared rule macro with concat!, which query! cannot take.
        let ok = sqlx::query_scalar::<_, bool>(concat!(
            "SELECT EXISTS (SELECT 1 FROM agents a WHERE a.id = $4 AND ",
            can_take_sql!("$1", "$2::smallint", "$3"),
            ")"
        ))
        .bind(session.support_type_id)
        .bind(session.tier)
        .bind(session.account_id)
        .bind(agent)
        .fetch_one(&mut *conn)
        .await?;
        if ok {
            return Ok(());
        }
        let facts = sqlx::query!(
            r#"SELECT a.account_id, a.deactivated_at, a.presence AS "presence: Presence", a.active_count,
                      a.max_concurrent,
                      (SELECT k.tier FROM agent_skills k WHERE k.agent_id = a.id AND k.support_type_id = $2) AS tier,
                      EXISTS (SELECT 1 FROM agent_skills k WHERE k.agent_id = a.id AND k.support_type_id = $2)
                          AS "serves!",
                      EXISTS (SELECT 1 FROM support_types t WHERE t.id = $2 AND t.bot_agent_id = a.id)
                          AS "is_type_bot!"
               FROM agents a WHERE a.id = $1"#,
            agent.0,
            session.support_type_id.0
        )
        .fetch_optional(&mut *conn)
        .await?;
        let Some(f) = facts else { return Err(Refusal::NotInAccount.into_error(Presence::Offline)) };
        let candidate = CandidateFacts {
            in_account: f.account_id == Some(session.account_id.0),
            active: f.deactivated_at.is_none(),
            presence: f.presence,
            active_count: f.active_count,
            max_concurrent: f.max_concurrent,
            skill: f.serves.then_some(f.tier),
            is_type_bot: f.is_type_bot,
        };
        // The rule said no; the wording finds the first reason (capacity
        // may have changed between the two reads: it is still a refusal).
        Err(candidate.refusal(session.tier).unwrap_or(Refusal::AtCapacity).into_error(candidate.presence))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Presence;

    fn able() -> CandidateFacts {
        CandidateFacts {
            in_account: true,
            active: true,
            presence: Presence::Online,
            active_count: 0,
            max_concurrent: 3,
            skill: Some(None),
            is_type_bot: false,
        }
    }

    #[test]
    fn refusals_name_the_first_failing_condition() {
        assert_eq!(able().refusal(Some(2)), None);
        assert_eq!(CandidateFacts { skill: Some(Some(2)), ..able() }.refusal(Some(2)), None);
        assert_eq!(
            CandidateFacts { skill: Some(Some(1)), ..able() }.refusal(Some(2)),
            Some(Refusal::TierTooLow)
        );
        assert_eq!(CandidateFacts { skill: Some(Some(1)), ..able() }.refusal(None), None);
        assert_eq!(CandidateFacts { skill: None, ..able() }.refusal(None), Some(Refusal::LacksSkill));
        assert_eq!(CandidateFacts { skill: None, is_type_bot: true, ..able() }.refusal(Some(9)), None);
        assert_eq!(CandidateFacts { active: false, ..able() }.refusal(None), Some(Refusal::NotInAccount));
        assert_eq!(
            CandidateFacts { presence: Presence::Away, ..able() }.refusal(None),
            Some(Refusal::Unavailable)
        );
        assert_eq!(CandidateFacts { active_count: 3, ..able() }.refusal(None), Some(Refusal::AtCapacity));
    }
}
