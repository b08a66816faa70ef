//! Who is calling. Every domain operation takes an explicit [`Actor`] and
//! checks it itself, so REST, server functions, WebSocket subscriptions and
//! consumers all get the same rules.
//!
//! The rules:
//! - a global admin (admin without an account) may do anything;
//! - an account admin may do anything inside their account;
//! - a supervisor sees and reassigns every session in their account;
//! - an agent or bot sees the sessions of the support types they serve (their
//!   skills) in their account, and the ones they own;
//! - a customer is bound to one session: its messages and its CSAT;
//! - the system (engine, timers, consumers) may do anything.
//!
//! Things outside the caller's scope are reported as not found, so that ids
//! from other accounts cannot be probed.

use serde::{Deserialize, Serialize};

use crate::types::{AccountId, AgentId, CustomerId, Role, SessionId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentActor {
    pub id: AgentId,
    /// `None` only for global admins.
    pub account_id: Option<AccountId>,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerActor {
    pub customer_id: CustomerId,
    pub session_id: SessionId,
    pub account_id: AccountId,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    Agent(AgentActor),
    Customer(CustomerActor),
    System,
}

impl Actor {
    pub fn agent(&self) -> Option<&AgentActor> {
        match self {
            Self::Agent(a) => Some(a),
            _ => None,
        }
    }

    pub fn agent_id(&self) -> Option<AgentId> {
        self.agent().map(|a| a.id)
    }

    pub fn is_system(&self) -> bool {
        matches!(self, Self::System)
    }

    /// Global admins and the system see every account.
    pub fn is_global(&self) -> bool {
        match self {
            Self::System => true,
            Self::Agent(a) => a.role == Role::Admin && a.account_id.is_none(),
            Self::Customer(_) => false,
        }
    }

    /// Whether the caller may see things that belong to `account`.
    pub fn in_account(&self, account: AccountId) -> bool {
        match self {
            Self::System => true,
            Self::Agent(a) => {
                a.account_id.is_none_or(|own| own == account)
                    && (a.account_id.is_some() || a.role == Role::Admin)
            }
            Self::Customer(c) => c.account_id == account,
        }
    }

    /// Administers `account`: global admin, that account's admin, or the system.
    pub fn is_admin_of(&self, account: AccountId) -> bool {
        match self {
            Self::System => true,
            Self::Agent(a) => a.role == Role::Admin && a.account_id.is_none_or(|own| own == account),
            Self::Customer(_) => false,
        }
    }

    /// Supervises `account`: admins of it, its supervisors, or the system.
    pub fn supervises(&self, account: AccountId) -> bool {
        self.is_admin_of(account)
            || matches!(self, Self::Agent(a) if a.role == Role::Supervisor && a.account_id == Some(account))
    }

    /// Requires [`Self::is_admin_of`]; outside the account, the thing is "not found".
    pub fn require_admin_of(&self, account: AccountId, entity: &str) -> crate::Result<()> {
        if self.is_admin_of(account) {
            Ok(())
        } else if self.in_account(account) {
            Err(crate::Error::forbidden(format!("only an admin may change {entity}")))
        } else {
            Err(crate::Error::not_found(entity))
        }
    }

    /// The account an agent-created thing belongs to: the caller's own, or for
    /// a global admin the one they name.
    pub fn target_account(&self, requested: Option<AccountId>) -> crate::Result<AccountId> {
        match (self, requested) {
            (Self::Agent(AgentActor { account_id: Some(own), .. }), None) => Ok(*own),
            (_, Some(account)) if self.in_account(account) => Ok(account),
            (_, Some(_)) => Err(crate::Error::not_found("account")),
            (_, None) => Err(crate::Error::invalid("account_id", "name the account this belongs to")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(role: Role, account: Option<AccountId>) -> Actor {
        Actor::Agent(AgentActor { id: AgentId::new(), account_id: account, role })
    }

    #[test]
    fn scoping_follows_role_and_account() {
        let (a, b) = (AccountId::new(), AccountId::new());
        let global = agent(Role::Admin, None);
        assert!(global.is_admin_of(a) && global.is_admin_of(b) && global.is_global());

        let admin_a = agent(Role::Admin, Some(a));
        assert!(admin_a.is_admin_of(a) && !admin_a.is_admin_of(b) && !admin_a.in_account(b));

        let sup_a = agent(Role::Supervisor, Some(a));
        assert!(sup_a.supervises(a) && !sup_a.supervises(b) && !sup_a.is_admin_of(a));

        let agent_a = agent(Role::Agent, Some(a));
        assert!(agent_a.in_account(a) && !agent_a.supervises(a));
        assert_eq!(agent_a.require_admin_of(a, "support type").expect_err("no").code(), "forbidden");
        assert_eq!(agent_a.require_admin_of(b, "support type").expect_err("no").code(), "not_found");

        let customer = Actor::Customer(CustomerActor {
            customer_id: CustomerId::new(),
            session_id: SessionId::new(),
            account_id: a,
        });
        assert!(!customer.supervises(a) && !customer.is_admin_of(a));
        assert!(Actor::System.is_admin_of(b));
    }

    #[test]
    fn target_account_defaults_to_the_callers_own() {
        let (a, b) = (AccountId::new(), AccountId::new());
        assert_eq!(agent(Role::Admin, Some(a)).target_account(None).expect("own"), a);
        assert_eq!(
            agent(Role::Admin, Some(a)).target_account(Some(b)).expect_err("other").code(),
            "not_found"
        );
        assert_eq!(agent(Role::Admin, None).target_account(Some(b)).expect("named"), b);
        assert_eq!(agent(Role::Admin, None).target_account(None).expect_err("unnamed").code(), "invalid");
    }
}
