//! The agent forms as the browser posts them (every value a string, a
//! skill's checkbox present or absent), and their translation into the
//! domain's inputs. Only the translation lives here: a number that is not a
//! number is reported on its field; every rule about the values is the
//! domain's.

use std::collections::BTreeMap;

use domain::{
    agents::{NewAgent, Skill, UpdateAgent},
    types::{Role, SupportTypeId},
};
use serde::{Deserialize, Serialize};

use super::support_type_form::{Parsed, id, number};

/// One support type in the skills picker: served or not, and its tier.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SkillForm {
    /// Present when the box is ticked.
    pub on: Option<String>,
    /// "" for none, or 1 to 9.
    pub tier: String,
}

/// The skills picker, keyed by [`skill_key`].
pub type SkillsForm = BTreeMap<String, SkillForm>;

/// A support type's key in the picker: `type-{id}` (a bare id that starts
/// with a digit would read as a list index in the posted form).
pub fn skill_key(id: SupportTypeId) -> String {
    format!("type-{id}")
}

/// The new-agent form. Field names are the domain's, so that an invalid
/// `field` from the domain names the input it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentForm {
    pub account_id: String,
    pub display_name: String,
    pub email: String,
    pub role: String,
    pub max_concurrent: String,
    pub password: String,
    pub skills: SkillsForm,
}

/// The settings of an existing agent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AgentSettingsForm {
    pub display_name: String,
    pub role: String,
    pub max_concurrent: String,
}

fn role(value: &str) -> Parsed<Role> {
    value.parse().map_err(|_| domain::Error::invalid("role", "choose agent, supervisor, admin or bot"))
}

/// The ticked types with their tiers.
pub fn skills(form: &SkillsForm) -> Parsed<Vec<Skill>> {
    form.iter()
        .filter(|(_, s)| s.on.is_some())
        .map(|(id, s)| {
            let support_type_id = id
                .strip_prefix("type-")
                .and_then(|id| id.parse::<uuid::Uuid>().ok())
                .map(SupportTypeId)
                .ok_or_else(|| domain::Error::invalid("skills", "a support type that does not exist"))?;
            let tier = match s.tier.trim() {
                "" => None,
                t => Some(
                    t.parse::<i16>().map_err(|_| domain::Error::invalid("skills", "a tier is a number"))?,
                ),
            };
            Ok(Skill { support_type_id, tier })
        })
        .collect()
}

/// The form ticked as `skills` are.
pub fn skills_form(skills: &[Skill]) -> SkillsForm {
    skills
        .iter()
        .map(|s| {
            let tier = s.tier.map(|t| t.to_string()).unwrap_or_default();
            (skill_key(s.support_type_id), SkillForm { on: Some("on".into()), tier })
        })
        .collect()
}

impl AgentForm {
    pub fn into_new(self) -> Parsed<(NewAgent, Vec<Skill>)> {
        let account_id = id("account_id", &self.account_id)?;
        let skills = skills(&self.skills)?;
        let password = Some(self.password).filter(|p| !p.is_empty());
        Ok((
            NewAgent {
                account_id,
                email: self.email,
                display_name: self.display_name,
                role: role(&self.role)?,
                max_concurrent: number("max_concurrent", &self.max_concurrent)?,
                password,
            },
            skills,
        ))
    }
}

impl AgentSettingsForm {
    pub fn into_update(self) -> Parsed<UpdateAgent> {
        Ok(UpdateAgent {
            display_name: Some(self.display_name),
            role: Some(role(&self.role)?),
            max_concurrent: number("max_concurrent", &self.max_concurrent)?,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_the_domains_input() {
        let t = uuid::Uuid::new_v4();
        let unticked = uuid::Uuid::new_v4();
        let form = AgentForm {
            display_name: "Ada".into(),
            email: "ada@example.com".into(),
            role: "supervisor".into(),
            max_concurrent: " 7 ".into(),
            skills: BTreeMap::from([
                (skill_key(SupportTypeId(t)), SkillForm { on: Some("on".into()), tier: "2".into() }),
                (skill_key(SupportTypeId(unticked)), SkillForm { on: None, tier: "1".into() }),
            ]),
            ..Default::default()
        };
        let (new, skills) = form.into_new().expect("valid");
        assert_eq!(
            (new.role, new.max_concurrent, new.password, new.account_id),
            (Role::Supervisor, Some(7), None, None)
        );
        assert_eq!(skills, vec![Skill { support_type_id: SupportTypeId(t), tier: Some(2) }]);
        assert_eq!(
            skills_form(&skills).get(&skill_key(SupportTypeId(t))).map(|s| s.tier.as_str()),
            Some("2")
        );

        let field = |form: AgentForm| match form.into_new() {
            Err(domain::Error::Invalid { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        };
        assert_eq!(field(AgentForm { role: "boss".into(), ..Default::default() }), "role");
        assert_eq!(
            field(AgentForm { role: "agent".into(), max_concurrent: "five".into(), ..Default::default() }),
            "max_concurrent"
        );
        assert_eq!(field(AgentForm { account_id: "acme".into(), ..Default::default() }), "account_id");
        let bad_tier = BTreeMap::from([(
            skill_key(SupportTypeId(t)),
            SkillForm { on: Some("on".into()), tier: "x".into() },
        )]);
        assert_eq!(
            field(AgentForm { role: "agent".into(), skills: bad_tier, ..Default::default() }),
            "skills"
        );
    }
}
