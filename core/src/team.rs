//! The team: members with roles, managers and calendars, products, and the playbook.

use crate::calendar::{Calendar, WorkingWeek};
use crate::ids::{MemberId, ProductId, TeamId};
use crate::playbook::Playbook;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// What a member may do (SPEC §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Works their own leads.
    Rep,
    /// Works the leads of their reps, reviews refusals, edits the playbook.
    Manager,
    /// Everything in the team.
    Admin,
}

impl Role {
    /// The role's name in JSON, e.g. `manager`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Rep => "rep",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }
}

/// A member of the team.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Member {
    /// Stable id.
    pub id: MemberId,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The member's manager (for reps).
    #[serde(default)]
    pub manager: Option<MemberId>,
    /// IANA time zone, e.g. `Asia/Jerusalem`.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub time_zone: Tz,
    /// Overrides the playbook's working week.
    #[serde(default)]
    pub working_week: Option<WorkingWeek>,
    /// BCP 47 locale for dates and money, e.g. `he-IL`.
    #[serde(default = "default_locale")]
    pub locale: String,
}

fn default_locale() -> String {
    "en-US".to_owned()
}

/// A product the team sells.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Product {
    /// Stable id.
    pub id: ProductId,
    /// Display name.
    pub name: String,
}

/// A team with its members, products and playbook.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Team {
    /// Stable id.
    pub id: TeamId,
    /// Display name.
    pub name: String,
    /// Members.
    pub members: Vec<Member>,
    /// Products.
    #[serde(default)]
    pub products: Vec<Product>,
    /// The rules' numbers and lists.
    #[serde(default)]
    pub playbook: Playbook,
}

impl Team {
    /// The member with `id`.
    pub fn member(&self, id: &MemberId) -> Option<&Member> {
        self.members.iter().find(|m| &m.id == id)
    }

    /// The calendar of member `id`; an unknown member gets UTC and the team's week, so that a
    /// lead owned by a removed member still has due times.
    pub fn calendar(&self, id: &MemberId) -> Calendar {
        match self.member(id) {
            Some(m) => Calendar::new(
                m.time_zone,
                m.working_week.unwrap_or(self.playbook.working_week),
            ),
            None => Calendar::new(chrono_tz::UTC, self.playbook.working_week),
        }
    }

    /// The manager of member `id`, if any.
    pub fn manager_of(&self, id: &MemberId) -> Option<&MemberId> {
        self.member(id).and_then(|m| m.manager.as_ref())
    }

    /// The reps managed by `manager`.
    pub fn reps_of<'a>(&'a self, manager: &'a MemberId) -> impl Iterator<Item = &'a Member> + 'a {
        self.members
            .iter()
            .filter(move |m| m.manager.as_ref() == Some(manager))
    }
}
