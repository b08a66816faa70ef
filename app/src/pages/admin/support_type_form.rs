//! The support type editor's form as the browser posts it (every value a
//! string, checkboxes present or absent), and its translation into the
//! domain's inputs. Only the translation lives here: a number that is not a
//! number is reported on its field; every rule about the values is the
//! domain's.

use std::collections::BTreeMap;

use domain::{
    business_hours::BusinessHours,
    support_types::{NewSupportType, SupportType, UpdateSupportType},
    types::{AccountId, AgentId, Routing, SupportTypeId},
};
use serde::{Deserialize, Serialize};

/// The weekdays of business hours, as the domain names them, with labels.
pub const WEEKDAYS: [(&str, &str); 7] = [
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
];

/// One weekday's hours: open or not, from and to ("HH:MM").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DayForm {
    pub open: Option<String>,
    pub from: String,
    pub to: String,
}

/// The posted form. Field names are the domain's, so that an invalid
/// `field` from the domain names the input it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SupportTypeForm {
    pub account_id: String,
    pub name: String,
    pub slug: String,
    pub routing: String,
    pub queue_sla_secs: String,
    pub first_response_sla_secs: String,
    pub escalation_target_id: String,
    pub escalation_priority_bump: String,
    pub preferred_wait_secs: String,
    pub bot_agent_id: String,
    pub csat_enabled: Option<String>,
    pub reason_required: Option<String>,
    pub greeting: String,
    /// Present when the type keeps business hours.
    pub business_hours: Option<String>,
    pub time_zone: String,
    pub after_hours_message: String,
    pub days: BTreeMap<String, DayForm>,
}

pub(crate) type Parsed<T> = Result<T, domain::Error>;

/// A whole number, or none for an empty field.
pub(crate) fn number(field: &str, value: &str) -> Parsed<Option<i32>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    value.parse().map(Some).map_err(|_| domain::Error::invalid(field, "enter a whole number"))
}

/// An id picked from a list, or none for an empty field.
pub(crate) fn id<T: From<uuid::Uuid>>(field: &str, value: &str) -> Parsed<Option<T>> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    uuid::Uuid::parse_str(value)
        .map(|u| Some(T::from(u)))
        .map_err(|_| domain::Error::invalid(field, "pick one of the choices"))
}

fn routing(value: &str) -> Parsed<Routing> {
    value.parse().map_err(|e: domain::Error| match e {
        domain::Error::Invalid { message, .. } => domain::Error::invalid("routing", message),
        other => other,
    })
}

fn text(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

impl SupportTypeForm {
    /// The business hours document (see `domain::business_hours`), or
    /// `None` when the type keeps none.
    pub fn business_hours_json(&self) -> Option<serde_json::Value> {
        self.business_hours.as_ref()?;
        let open: serde_json::Map<String, serde_json::Value> = WEEKDAYS
            .iter()
            .filter_map(|(day, _)| {
                let d = self.days.get(*day).filter(|d| d.open.is_some())?;
                Some(((*day).to_owned(), serde_json::json!([d.from.trim(), d.to.trim()])))
            })
            .collect();
        Some(serde_json::json!({
            "time_zone": text(&self.time_zone).unwrap_or_else(|| "UTC".to_owned()),
            "open": open,
            "after_hours_message": text(&self.after_hours_message),
        }))
    }

    pub fn into_new(self) -> Parsed<NewSupportType> {
        let defaults = NewSupportType::default();
        Ok(NewSupportType {
            account_id: id::<AccountId>("account_id", &self.account_id)?,
            routing: routing(&self.routing)?,
            queue_sla_secs: number("queue_sla_secs", &self.queue_sla_secs)?,
            first_response_sla_secs: number("first_response_sla_secs", &self.first_response_sla_secs)?,
            escalation_target_id: id::<SupportTypeId>("escalation_target_id", &self.escalation_target_id)?,
            escalation_priority_bump: number("escalation_priority_bump", &self.escalation_priority_bump)?
                .unwrap_or(defaults.escalation_priority_bump),
            preferred_wait_secs: number("preferred_wait_secs", &self.preferred_wait_secs)?
                .unwrap_or(defaults.preferred_wait_secs),
            bot_agent_id: id::<AgentId>("bot_agent_id", &self.bot_agent_id)?,
            csat_enabled: self.csat_enabled.is_some(),
            reason_required: self.reason_required.is_some(),
            greeting: text(&self.greeting),
            business_hours: self.business_hours_json(),
            slug: self.slug,
            name: self.name,
        })
    }

    /// Every setting, as the form shows them all: an empty optional field
    /// clears it.
    pub fn into_update(self) -> Parsed<UpdateSupportType> {
        let queue_sla_secs = number("queue_sla_secs", &self.queue_sla_secs)?;
        let first_response_sla_secs = number("first_response_sla_secs", &self.first_response_sla_secs)?;
        let escalation_target_id = id::<SupportTypeId>("escalation_target_id", &self.escalation_target_id)?;
        let bot_agent_id = id::<AgentId>("bot_agent_id", &self.bot_agent_id)?;
        let business_hours = self.business_hours_json();
        Ok(UpdateSupportType {
            routing: Some(routing(&self.routing)?),
            clear_queue_sla: queue_sla_secs.is_none(),
            queue_sla_secs,
            clear_first_response_sla: first_response_sla_secs.is_none(),
            first_response_sla_secs,
            clear_escalation_target: escalation_target_id.is_none(),
            escalation_target_id,
            escalation_priority_bump: Some(
                number("escalation_priority_bump", &self.escalation_priority_bump)?.unwrap_or(0),
            ),
            preferred_wait_secs: number("preferred_wait_secs", &self.preferred_wait_secs)?,
            clear_bot_agent: bot_agent_id.is_none(),
            bot_agent_id,
            csat_enabled: Some(self.csat_enabled.is_some()),
            reason_required: Some(self.reason_required.is_some()),
            // Blank clears the greeting (the domain's rule).
            greeting: Some(self.greeting.trim().to_owned()),
            clear_business_hours: business_hours.is_none(),
            business_hours,
            slug: Some(self.slug),
            name: Some(self.name),
        })
    }

    /// The form filled in with a type's settings (or the domain's defaults).
    pub fn from_type(ty: Option<&SupportType>) -> Self {
        let Some(ty) = ty else {
            let d = NewSupportType::default();
            return Self {
                routing: d.routing.as_str().to_owned(),
                escalation_priority_bump: d.escalation_priority_bump.to_string(),
                preferred_wait_secs: d.preferred_wait_secs.to_string(),
                csat_enabled: d.csat_enabled.then(|| "on".to_owned()),
                reason_required: d.reason_required.then(|| "on".to_owned()),
                time_zone: "UTC".to_owned(),
                ..Self::default()
            };
        };
        let hours =
            ty.business_hours.as_ref().and_then(|v| serde_json::from_value::<BusinessHours>(v.clone()).ok());
        let opt = |v: Option<i32>| v.map(|v| v.to_string()).unwrap_or_default();
        Self {
            account_id: ty.account_id.to_string(),
            name: ty.name.clone(),
            slug: ty.slug.clone(),
            routing: ty.routing.as_str().to_owned(),
            queue_sla_secs: opt(ty.queue_sla_secs),
            first_response_sla_secs: opt(ty.first_response_sla_secs),
            escalation_target_id: ty.escalation_target_id.map(|t| t.to_string()).unwrap_or_default(),
            escalation_priority_bump: ty.escalation_priority_bump.to_string(),
            preferred_wait_secs: ty.preferred_wait_secs.to_string(),
            bot_agent_id: ty.bot_agent_id.map(|t| t.to_string()).unwrap_or_default(),
            csat_enabled: ty.csat_enabled.then(|| "on".to_owned()),
            reason_required: ty.reason_required.then(|| "on".to_owned()),
            greeting: ty.greeting.clone().unwrap_or_default(),
            business_hours: hours.as_ref().map(|_| "on".to_owned()),
            time_zone: hours.as_ref().and_then(|h| h.time_zone.clone()).unwrap_or_else(|| "UTC".to_owned()),
            after_hours_message: hours
                .as_ref()
                .and_then(|h| h.after_hours_message.clone())
                .unwrap_or_default(),
            days: hours
                .map(|h| {
                    h.open
                        .into_iter()
                        .map(|(day, span)| {
                            let (from, to) = span.clone().unwrap_or_default();
                            (day, DayForm { open: span.map(|_| "on".to_owned()), from, to })
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_becomes_the_domains_input() {
        let mut form = SupportTypeForm::from_type(None);
        form.name = "Billing".into();
        form.slug = "billing".into();
        form.queue_sla_secs = "300".into();
        form.business_hours = Some("on".into());
        form.time_zone = "Europe/Berlin".into();
        form.days.insert(
            "mon".into(),
            DayForm { open: Some("on".into()), from: "09:00".into(), to: "17:00".into() },
        );
        form.days.insert("tue".into(), DayForm { open: None, from: "09:00".into(), to: "17:00".into() });
        let new = form.clone().into_new().expect("parsed");
        assert_eq!(new.queue_sla_secs, Some(300));
        assert!(new.csat_enabled && new.reason_required);
        assert_eq!(
            new.business_hours,
            Some(serde_json::json!({
                "time_zone": "Europe/Berlin", "open": { "mon": ["09:00", "17:00"] }, "after_hours_message": null
            }))
        );
        let update = form.into_update().expect("parsed");
        assert!(update.clear_first_response_sla && update.clear_bot_agent && !update.clear_queue_sla);

        let bad = SupportTypeForm { queue_sla_secs: "soon".into(), ..SupportTypeForm::from_type(None) };
        assert_eq!(
            bad.into_new().expect_err("nan"),
            domain::Error::invalid("queue_sla_secs", "enter a whole number")
        );
        let bad = SupportTypeForm { routing: "fifo".into(), ..SupportTypeForm::default() };
        assert!(matches!(bad.into_new(), Err(domain::Error::Invalid { field, .. }) if field == "routing"));
    }
}
