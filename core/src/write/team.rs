//! A write to the team document, judged from the team before and the document after (see the
//! module table in [`crate::write`]).

use super::{Limits, Refusal, role_of};
use crate::doc::team as team_doc;
use crate::team::{Role, Team};
use automerge::{Automerge, ROOT, ReadDoc};

/// Root keys of a team document.
const KEYS: [&str; 7] = [
    "schema", "type", "id", "name", "members", "products", "playbook",
];

/// Judges `writer`'s changes to the team document `doc`, whose team was `before`: an admin may
/// change anything, a manager the playbook and the products, a rep nothing; the document must
/// still read as this team with a valid playbook, and no member who owns leads (`limits`) may
/// be removed or made an admin. On success the team as it reads now is returned.
pub fn judge_change(
    before: &Team,
    writer: &crate::ids::MemberId,
    limits: &Limits<'_>,
    doc: &Automerge,
) -> Result<Team, Refusal> {
    let role = role_of(before, writer)?;
    if role == Role::Rep {
        return Err(Refusal::ReadOnly {
            writer: writer.clone(),
        });
    }
    for key in doc.keys(ROOT) {
        if !KEYS.contains(&key.as_str()) {
            return Err(Refusal::UnknownField { field: key });
        }
    }
    let after = team_doc::read_team(doc).map_err(|e| Refusal::NotReadable {
        kind: "team".to_owned(),
        reason: e.to_string(),
    })?;
    if let Err(e) = after.playbook.validate() {
        return Err(Refusal::InvalidPlaybook {
            message: e.message(),
            field: e.field,
        });
    }
    if after.id != before.id {
        return Err(Refusal::FieldImmutable {
            field: "id".to_owned(),
        });
    }
    let by_id = |team: &Team| {
        let mut members = team.members.clone();
        members.sort_by(|a, b| a.id.cmp(&b.id));
        members
    };
    if role == Role::Manager && (after.name != before.name || by_id(&after) != by_id(before)) {
        return Err(Refusal::ManagerTeamEdit);
    }
    for member in &before.members {
        let still_owns = after
            .member(&member.id)
            .is_some_and(|m| m.role != Role::Admin);
        let count = limits.owned(&member.id);
        if !still_owns && count > 0 {
            return Err(Refusal::MemberOwnsLeads {
                member: member.id.clone(),
                count,
            });
        }
    }
    Ok(after)
}
