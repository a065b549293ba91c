//! The relay's index writer: after changes settle it rewrites the index document of every
//! member concerned by the changed documents — an entry (kind and the relay's heads) for each
//! changed document the member may see, none for one they may not (any more).

use super::{DocLoader, RelayCore, RelayEvent, StoredKind};
use crate::doc::index::{self as index_doc, DocKind};
use crate::doc::{self, DocumentId};
use crate::ids::{MemberId, TeamId};
use crate::sync::hub::Access;
use automerge::{Automerge, ChangeHash, ReadDoc};
use std::collections::{BTreeMap, HashSet};

impl RelayCore {
    /// Rewrites the index documents of the members concerned by the changed documents. A
    /// changed team document concerns every member and every document of its team (roles and
    /// managers move access); a changed lead only the members who may see it or saw it before
    /// its owner changed ([`super::Acl::take_index_candidates`]), so a change costs index work
    /// for a few members, not for the whole team. Writes nothing when an index already says
    /// the same.
    pub(super) fn write_indexes(&mut self, loader: &mut dyn DocLoader) {
        self.dirty_since = None;
        let dirty = std::mem::take(&mut self.dirty);
        let mut by_team: BTreeMap<TeamId, Vec<(DocumentId, DocKind)>> = BTreeMap::new();
        for id in dirty {
            let Some(record) = self.docs.records.get(&id) else {
                continue;
            };
            let kind = match record.kind {
                StoredKind::Lead => DocKind::Lead,
                StoredKind::Team => DocKind::Team,
                StoredKind::Index => continue,
            };
            by_team
                .entry(record.team.clone())
                .or_default()
                .push((id, kind));
        }
        for (team, docs) in by_team {
            self.write_team_indexes(&team, &docs, loader);
        }
    }

    fn write_team_indexes(
        &mut self,
        team: &TeamId,
        docs: &[(DocumentId, DocKind)],
        loader: &mut dyn DocLoader,
    ) {
        let Some(all_members) = self
            .acl
            .team(team)
            .map(|t| t.members.iter().map(|m| m.id.clone()).collect::<Vec<_>>())
        else {
            return;
        };
        let whole_team = docs.iter().any(|(_, kind)| *kind == DocKind::Team);
        // Per member, the changed documents whose entry to check.
        let mut work: BTreeMap<MemberId, Vec<usize>> = BTreeMap::new();
        for (i, (id, _)) in docs.iter().enumerate() {
            for member in self.acl.take_index_candidates(id) {
                work.entry(member).or_default().push(i);
            }
        }
        if whole_team {
            // Every member, for the documents they may see or their index lists (asking the
            // index about every document of the team, for every member, stalled the engine
            // for seconds at 1,000 members and leads).
            for member in &all_members {
                let index_id = index_doc::index_document_id(team, member);
                if !self.load_doc(index_id, loader) {
                    continue;
                }
                let listed = self
                    .docs
                    .loaded
                    .get(&index_id)
                    .map(listed_in_index)
                    .unwrap_or_default();
                let entry = work.entry(member.clone()).or_default();
                for (i, (id, _)) in docs.iter().enumerate() {
                    if listed.contains(id)
                        || self.acl.member_access(team, member, id) != Access::None
                    {
                        entry.push(i);
                    }
                }
                entry.sort_unstable();
                entry.dedup();
            }
        }
        let heads: Vec<Vec<ChangeHash>> = docs
            .iter()
            .map(|(id, _)| {
                self.docs
                    .records
                    .get(id)
                    .map(|r| doc::heads_from_hex(&r.heads).unwrap_or_default())
                    .unwrap_or_default()
            })
            .collect();
        let now = self.now;
        for (member, doc_indices) in work {
            let index_id = index_doc::index_document_id(team, &member);
            if !self.acl.is_index(&index_id) || !self.load_doc(index_id, loader) {
                continue;
            }
            let entries: Vec<_> = doc_indices
                .into_iter()
                .map(|i| {
                    let (id, kind) = docs[i];
                    let sees = self.acl.member_access(team, &member, &id) != Access::None;
                    (id, kind, sees, &heads[i])
                })
                .collect();
            let index = self.docs.loaded.get_mut(&index_id).expect("loaded above");
            let before = index.get_heads();
            let mut tx = index.transaction();
            let mut wrote = false;
            let mut failed = None;
            for (id, kind, sees, heads) in entries {
                let result = if sees {
                    let seal = self.config.seal_key.seal(&id, heads);
                    index_doc::set_entry(&mut tx, &id, kind, heads, Some(&seal))
                } else {
                    index_doc::remove_entry(&mut tx, &id)
                };
                match result {
                    Ok(w) => wrote |= w,
                    Err(e) => failed = Some(e),
                }
            }
            if let Some(e) = failed {
                self.out.events.push(RelayEvent::Problem {
                    doc: Some(index_id),
                    message: format!("cannot write the index of {team}/{member}: {e}"),
                });
            }
            if !wrote {
                tx.rollback();
                continue;
            }
            tx.commit_with(doc::commit_options(now));
            let bytes = index.save_after(&before);
            self.persist_change(index_id, bytes);
            self.out.events.push(RelayEvent::IndexWritten);
            let out = self.hub.local_change(index_id, &mut self.docs, &self.acl);
            self.absorb(out, loader);
        }
    }
}

/// The documents an index document lists (the keys of its `docs` map).
fn listed_in_index(index: &Automerge) -> HashSet<DocumentId> {
    let Ok(Some((_, docs))) = index.get(automerge::ROOT, "docs") else {
        return HashSet::new();
    };
    index
        .keys(&docs)
        .filter_map(|key| key.parse().ok())
        .collect()
}
