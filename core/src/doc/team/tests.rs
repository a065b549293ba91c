//! Team document tests: round trip, concurrent member additions, playbook validation, errors.

use super::*;
use crate::doc::{commit_options, load};
use crate::playbook::StatusRole;
use crate::team::Role;
use crate::testing::{t, team};
use expect_test::expect;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const NOW: &str = "2026-11-22T10:00:00Z";

fn actor(n: u8) -> ActorId {
    ActorId::from(&[n; 16][..])
}

/// `team` with members and products ordered by id, as the document returns them.
fn by_id(mut team: Team) -> Team {
    team.members.sort_by(|a, b| a.id.cmp(&b.id));
    team.products.sort_by(|a, b| a.id.cmp(&b.id));
    team
}

fn commit<F>(doc: &mut Automerge, f: F)
where
    F: FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<bool, DocError>,
{
    let mut tx = doc.transaction();
    f(&mut tx).unwrap_or_else(|e| panic!("{e}"));
    tx.commit_with(commit_options(t(NOW)));
}

#[test]
fn round_trips_a_team_with_members_products_and_playbook() {
    let mut team = team();
    team.playbook = Playbook::israeli();
    team.playbook.statuses[1].label = "אין מענה".into();
    team.playbook.tiers.weights.revenue = 0.35;
    let doc = create_team(&team, actor(1), t(NOW)).unwrap();
    assert_eq!(doc.get_changes(&[]).len(), 1);
    let read = read_team(&load(&doc.save(), actor(2)).unwrap()).unwrap();
    assert_eq!(read, by_id(team));
    assert_eq!(
        team_document_id(&read.id),
        DocumentId::derived("team", "team-1")
    );
}

#[test]
fn concurrent_member_additions_and_edits_merge() {
    let team = team();
    let base = create_team(&team, actor(1), t(NOW)).unwrap();
    let mut a = base.fork().with_actor(actor(2));
    let mut b = base.fork().with_actor(actor(3));
    let mut new_rep = team.members[1].clone();
    new_rep.id = "noa".into();
    new_rep.name = "Noa".into();
    commit(&mut a, |tx| put_member(tx, &new_rep));
    let mut renamed = team.members[2].clone();
    renamed.name = "Ion Popescu".into();
    commit(&mut a, |tx| put_member(tx, &renamed));
    let mut moved = team.members[2].clone();
    moved.time_zone = chrono_tz::Europe::Berlin;
    commit(&mut b, |tx| put_member(tx, &moved));
    commit(&mut b, |tx| remove_member(tx, &"ada".into()));
    a.merge(&mut b).unwrap();
    let read = read_team(&a).unwrap();
    let ids: Vec<&str> = read.members.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["dana", "ion", "mgr", "noa"]);
    let ion = read.member(&"ion".into()).unwrap();
    assert_eq!(
        (ion.name.as_str(), ion.time_zone),
        ("Ion Popescu", chrono_tz::Europe::Berlin)
    );
}

#[test]
fn an_unchanged_member_writes_nothing_and_an_invalid_playbook_is_refused() {
    let team = team();
    let mut doc = create_team(&team, actor(1), t(NOW)).unwrap();
    let mut tx = doc.transaction();
    assert!(!put_member(&mut tx, &team.members[0]).unwrap());
    assert!(!put_playbook(&mut tx, &team.playbook).unwrap());
    assert!(!remove_product(&mut tx, &"nothing".into()).unwrap());
    assert_eq!(tx.pending_ops(), 0);
    let mut bad = team.playbook.clone();
    bad.statuses.retain(|s| s.role != StatusRole::Dormant);
    let err = put_playbook(&mut tx, &bad).unwrap_err();
    expect![[r#"playbook.statuses: no status has role "dormant""#]].assert_eq(&err.to_string());
    let mut changed = team.playbook.clone();
    changed.nurture_every_days = 60;
    assert!(put_playbook(&mut tx, &changed).unwrap());
    assert_eq!(tx.pending_ops(), 1);
    tx.commit_with(commit_options(t(NOW)));
    assert_eq!(read_team(&doc).unwrap().playbook.nurture_every_days, 60);
}

#[test]
fn a_member_that_does_not_decode_fails_with_its_path() {
    let mut doc = create_team(&team(), actor(1), t(NOW)).unwrap();
    let mut tx = doc.transaction();
    let (_, members) = tx.get(ROOT, "members").unwrap().unwrap();
    let (_, dana) = tx.get(&members, "dana").unwrap().unwrap();
    tx.put(&dana, "role", "director").unwrap();
    tx.commit();
    expect![
        "members.dana.role: unknown variant `director`, expected one of `rep`, `manager`, `admin`"
    ]
    .assert_eq(&read_team(&doc).unwrap_err().to_string());
}

#[test]
fn a_duplicate_member_id_is_refused_at_creation() {
    let mut team = team();
    team.members.push(team.members[0].clone());
    team.members[4].role = Role::Admin;
    let err = create_team(&team, actor(1), t(NOW)).unwrap_err();
    assert_eq!(err.to_string(), "members.mgr: the id appears twice");
}
