//! Index document tests: entries, no change when nothing moved, malformed entries, clean check.

use super::*;
use crate::doc::{commit_options, lead::create_lead};
use crate::testing::{LeadBuilder, t};
use automerge::transaction::Transaction;
use expect_test::expect;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const NOW: &str = "2026-11-22T10:00:00Z";

fn actor(n: u8) -> ActorId {
    ActorId::from(&[n; 16][..])
}

fn index() -> Automerge {
    create_index(&"team-1".into(), &"dana".into(), actor(9), t(NOW)).unwrap()
}

/// The heads of a real lead document and of the same after one more change.
fn two_heads() -> (Vec<ChangeHash>, Vec<ChangeHash>) {
    let lead = LeadBuilder::new("l1", "dana", NOW).build();
    let mut doc = create_lead(&lead, actor(1), t(NOW)).unwrap();
    let first = doc.get_heads();
    let mut tx = doc.transaction();
    crate::doc::lead::put_fields(&mut tx, &[("company".into(), serde_json::json!("X"))]).unwrap();
    tx.commit_with(commit_options(t(NOW)));
    (first, doc.get_heads())
}

fn commit<F: FnOnce(&mut Transaction<'_>) -> Result<bool, DocError>>(
    doc: &mut Automerge,
    f: F,
) -> bool {
    let mut tx = doc.transaction();
    let changed = f(&mut tx).unwrap_or_else(|e| panic!("{e}"));
    tx.commit_with(commit_options(t(NOW)));
    changed
}

#[test]
fn sets_reads_and_removes_entries_writing_nothing_when_nothing_moved() {
    let (first, second) = two_heads();
    let lead_doc = DocumentId::from_bytes([1; 16]);
    let team_doc = DocumentId::derived("team", "team-1");
    let mut doc = index();
    assert!(commit(&mut doc, |tx| set_entry(
        tx,
        &lead_doc,
        DocKind::Lead,
        &first,
        None
    )));
    assert!(commit(&mut doc, |tx| set_entry(
        tx,
        &team_doc,
        DocKind::Team,
        &[],
        None
    )));
    let heads = doc.get_heads();
    assert!(!commit(&mut doc, |tx| set_entry(
        tx,
        &lead_doc,
        DocKind::Lead,
        &first,
        None
    )));
    assert_eq!(doc.get_heads(), heads, "no change when nothing moved");
    assert!(commit(&mut doc, |tx| set_entry(
        tx,
        &lead_doc,
        DocKind::Lead,
        &second,
        Some("5ea1")
    )));

    let read = read_index(&doc).unwrap();
    assert_eq!(
        (read.team.as_str(), read.member.as_str()),
        ("team-1", "dana")
    );
    assert!(read.malformed.is_empty());
    assert_eq!(
        read.entries[&lead_doc],
        IndexEntry {
            kind: DocKind::Lead,
            heads: second.clone(),
            seal: Some("5ea1".into()),
        }
    );
    assert_eq!(read.entries[&team_doc].kind, DocKind::Team);

    assert!(commit(&mut doc, |tx| remove_entry(tx, &team_doc)));
    assert!(!commit(&mut doc, |tx| remove_entry(tx, &team_doc)));
    assert_eq!(read_index(&doc).unwrap().entries.len(), 1);
    assert_eq!(
        index_document_id(&"team-1".into(), &"dana".into()),
        DocumentId::derived("index", "team-1/dana")
    );
}

#[test]
fn a_malformed_entry_is_skipped_and_reported() {
    let (first, _) = two_heads();
    let good = DocumentId::from_bytes([1; 16]);
    let mut doc = index();
    commit(&mut doc, |tx| {
        set_entry(tx, &good, DocKind::Lead, &first, None)
    });
    let mut tx = doc.transaction();
    let (_, docs) = tx.get(ROOT, "docs").unwrap().unwrap();
    tx.put(&docs, "not-an-id", "x").unwrap();
    let report = DocumentId::from_bytes([2; 16]).to_string();
    let entry = tx.put_object(&docs, report.as_str(), ObjType::Map).unwrap();
    tx.put(&entry, "kind", "report").unwrap();
    tx.put_object(&entry, "heads", ObjType::List).unwrap();
    let short = DocumentId::from_bytes([3; 16]).to_string();
    let entry = tx.put_object(&docs, short.as_str(), ObjType::Map).unwrap();
    tx.put(&entry, "kind", "lead").unwrap();
    let heads = tx.put_object(&entry, "heads", ObjType::List).unwrap();
    tx.insert(&heads, 0, "abc").unwrap();
    tx.commit();

    let read = read_index(&doc).unwrap();
    assert_eq!(read.entries.keys().collect::<Vec<_>>(), [&good]);
    let malformed: Vec<String> = read.malformed.iter().map(|(_, e)| e.to_string()).collect();
    expect![[r#"
        [
            "docs.2d6o9nPjJthkejXQtLWJJGsfto4.kind: unknown kind \"report\" (expected \"lead\" or \"team\")",
            "docs.3S9hEB66TqZ8Ubncq1FwwwmoMPF.heads[0]: not a change hash: Odd number of digits",
            "docs.not-an-id: expected a map with kind and heads, found a scalar or list",
        ]
    "#]]
    .assert_debug_eq(&malformed);
}

#[test]
fn a_document_is_clean_only_when_relay_device_and_last_sync_agree() {
    let (first, second) = two_heads();
    assert!(is_clean(&first, &first, &first));
    // The relay moved on.
    assert!(!is_clean(&second, &first, &first));
    // The device has an unsent change.
    assert!(!is_clean(&first, &second, &first));
    // Order does not matter.
    let both = [first[0], second[0]];
    let reversed = [second[0], first[0]];
    assert!(is_clean(&both, &reversed, &both));

    let mut doc = index();
    let (a, b, c) = (
        DocumentId::from_bytes([1; 16]),
        DocumentId::from_bytes([2; 16]),
        DocumentId::from_bytes([3; 16]),
    );
    for id in [a, b, c] {
        commit(&mut doc, |tx| {
            set_entry(tx, &id, DocKind::Lead, &second, None)
        });
    }
    let read = read_index(&doc).unwrap();
    let to_sync = read.documents_to_sync(|id| match id {
        id if *id == a => Some((second.clone(), second.clone())),
        id if *id == b => Some((first.clone(), first.clone())),
        _ => None,
    });
    assert_eq!(to_sync, [b, c]);
}

#[test]
fn changed_entries_name_exactly_what_moved_and_read_entry_reads_one() {
    let (first, second) = two_heads();
    let ids: Vec<DocumentId> = (1..=4).map(|n| DocumentId::from_bytes([n; 16])).collect();
    let mut doc = index();
    let start = doc.get_heads();
    commit(&mut doc, |tx| {
        for id in &ids {
            set_entry(tx, id, DocKind::Lead, &first, None)?;
        }
        Ok(true)
    });
    let mut added = changed_entries(&doc, &start, &doc.get_heads());
    added.sort();
    assert_eq!(added, ids, "every new entry");

    let before = doc.get_heads();
    commit(&mut doc, |tx| {
        set_entry(tx, &ids[1], DocKind::Lead, &second, None)
    });
    commit(&mut doc, |tx| remove_entry(tx, &ids[3]));
    let mut moved = changed_entries(&doc, &before, &doc.get_heads());
    moved.sort();
    assert_eq!(moved, vec![ids[1], ids[3]]);
    assert!(changed_entries(&doc, &doc.get_heads(), &doc.get_heads()).is_empty());

    let mut second_sorted = second.clone();
    second_sorted.sort();
    assert_eq!(
        read_entry(&doc, &ids[1]).unwrap().unwrap().heads,
        second_sorted
    );
    assert_eq!(read_entry(&doc, &ids[3]).unwrap(), None);
    assert_eq!(
        read_entry(&doc, &DocumentId::from_bytes([9; 16])).unwrap(),
        None
    );
}
