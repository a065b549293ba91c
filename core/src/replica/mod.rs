//! The device replica: the documents a member may see, a summary per lead for the rules, and
//! the client side of sync, with every storage operation handed to the host as [`Write`]s.
//!
//! - **Summaries.** The replica keeps one [`LeadFacts`] per lead (with the heads it was folded
//!   from) and computes the call queue, inbox and analytics over them, so a start needs the
//!   summaries and the team document, not the 10,000 lead documents.
//! - **Lazy documents.** A lead document is in memory only while it is used: to show its card,
//!   to apply a command, to merge incoming changes. The host loads it when asked
//!   ([`Effects::need_load`] or [`ReplicaError::NotLoaded`]) and may [`Replica::evict`] it.
//! - **Commands** validate with the core's rules, then write one Automerge change, then return
//!   what to persist and the frames to send. A command that fails writes nothing.
//! - **Sync.** On connect the replica syncs the team document, the member's index document
//!   (written by the relay: every document the member may see with the relay's heads) and the
//!   documents with local changes not yet synced. When the index arrives, only documents whose
//!   relay heads differ from the device's are synced: reconnect cost grows with what changed,
//!   not with the size of the book.
//!
//! The host contract for every [`Effects`]: carry out `writes` (in order, one transaction),
//! then send `frames` (in order), then load `need_load` and call [`Replica::loaded`].

mod refused;
pub mod store;
mod team_edit;
mod views;

pub use refused::RefusedChange;
pub use store::{MemoryStore, Write};
pub use team_edit::TeamCommand;
pub use views::{Analytics, LeadView};

use crate::commands::{
    self, Author, CommandError, ConversationInput, LeadEdit, NewLead, NextStepInput, RefusalInput,
    WonInput,
};
use crate::doc::index::{self, DocKind, Index};
use crate::doc::{self, DocError, DocumentId, lead as lead_doc, team as team_doc};
use crate::facts::LeadFacts;
use crate::ids::{EventId, LeadId, MemberId, ProductId, TeamId};
use crate::lead::{AttemptOutcome, Channel, Event, Lead, Material, ReviewDecision};
use crate::money::Money;
use crate::playbook::Playbook;
use crate::queue::{CallQueue, call_queue};
use crate::review::{InboxItem, review_inbox};
use crate::sync::client::{Client, ClientError, ClientOutput};
use crate::sync::wire::{PeerId, PeerMetadata, Sealed};
use crate::sync::{DocSlot, Docs};
use crate::team::Team;
use crate::tiers::TierMap;
use crate::write::{self, Limits};
use automerge::{ActorId, Automerge, ChangeHash};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeSet, HashMap};

/// Version of the persisted [`Summary`] encoding and of the fold behind it. A summary of
/// another version is stale: the replica asks for its document and folds it again.
pub const SUMMARY_VERSION: u32 = 2;

/// Incremental chunks a document may collect in storage before the replica replaces them with
/// one compacted save.
pub const COMPACT_AFTER_CHUNKS: u32 = 64;

/// Who this replica belongs to.
#[derive(Clone, Debug)]
pub struct ReplicaConfig {
    /// The team.
    pub team: TeamId,
    /// The member using the device.
    pub member: MemberId,
    /// The device's Automerge actor id (16 random bytes drawn once by the host and kept).
    pub actor: [u8; 16],
    /// The device's peer id in the sync protocol (stable per device).
    pub peer_id: String,
}

/// The persisted summary of one lead document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// [`SUMMARY_VERSION`].
    pub v: u32,
    /// Fingerprint of the playbook the facts were folded with.
    pub playbook: String,
    /// The document's heads the facts were folded from (hex).
    pub heads: Vec<String>,
    /// The heads both the device and the relay held after the last sync (hex).
    pub synced: Vec<String>,
    /// Incremental chunks stored since the last compacted save.
    pub chunks: u32,
    /// Events in the document this version could not decode.
    pub undecodable: u32,
    /// The facts the rules read.
    pub facts: LeadFacts,
    /// Heads of the document the relay sealed, kept from the index when the relay turned out
    /// to have lost changes (restored from a backup) until the relay holds them again
    /// ([`crate::relay::seal`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<Sealed>,
}

/// A command on one lead, as the app sends it (JSON with a `type` tag).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum LeadCommand {
    /// A contact attempt.
    LogAttempt {
        /// How.
        channel: Channel,
        /// With what result.
        outcome: AttemptOutcome,
    },
    /// A conversation and how it ended (R3, R4).
    LogConversation(ConversationInput),
    /// A next step (R4).
    SetNextStep(NextStepInput),
    /// A refusal (R7).
    RecordRefusal(RefusalInput),
    /// Close an unreachable lead (R2).
    ConfirmCloseUnreachable,
    /// The manager's decision on a refusal (R7).
    ReviewRefusal {
        /// The decision.
        decision: ReviewDecision,
        /// Free text.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        note: String,
    },
    /// A final yes.
    MarkWon(WonInput),
    /// An order from a customer.
    RecordOrder {
        /// Order amount.
        amount: Money,
        /// Gross profit, where known.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        gross_profit: Option<Money>,
        /// Products ordered.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        products: Vec<ProductId>,
    },
    /// The customer asked for materials (R12).
    RequestMaterials {
        /// What.
        materials: Vec<Material>,
    },
    /// The materials were sent (R12).
    SendMaterials {
        /// What.
        materials: Vec<Material>,
    },
    /// Reassign the lead.
    Assign {
        /// The new owner.
        owner: MemberId,
    },
    /// Set the status by hand.
    OverrideStatus {
        /// Key of a playbook status.
        status: String,
        /// Why.
        reason: String,
    },
    /// Settle a semantic conflict (R14).
    ResolveConflict {
        /// The conflict's key.
        conflict: String,
        /// The event that stands, if one does.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        keep: Option<EventId>,
        /// Free text.
        #[serde(default)]
        #[cfg_attr(feature = "ts", ts(optional = nullable))]
        note: String,
    },
    /// Edit the lead's fields.
    Edit(LeadEdit),
}

/// Why the replica refused.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    /// The command is invalid: nothing was written.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The document must be loaded first ([`Replica::loaded`]), then the call repeated.
    #[error("document {0} is not loaded")]
    NotLoaded(DocumentId),
    /// The replica does not hold this lead.
    #[error("no lead {0} on this device")]
    UnknownLead(String),
    /// The team document has not arrived yet (first sync).
    #[error("the team document has not been synced to this device yet")]
    NoTeam,
    /// A document does not have Fieldbook's shape.
    #[error(transparent)]
    Doc(#[from] DocError),
    /// A persisted summary or sync state does not decode.
    #[error("stored {what} for {doc} does not decode: {reason}")]
    Stored {
        /// What.
        what: &'static str,
        /// The document.
        doc: DocumentId,
        /// Why.
        reason: String,
    },
}

/// What the host must do after a call: `writes`, then `frames`, then `need_load`.
#[derive(Debug, Default)]
pub struct Effects {
    /// Storage operations, in order, as one transaction.
    pub writes: Vec<Write>,
    /// Frames to send to the relay, in order (after the writes are durable).
    pub frames: Vec<Vec<u8>>,
    /// Documents to load from storage, then pass to [`Replica::loaded`].
    pub need_load: Vec<DocumentId>,
    /// Leads whose summary changed (refresh what shows them).
    pub changed: Vec<DocumentId>,
    /// The team document changed (playbook, members).
    pub team_changed: bool,
    /// The connection must be closed (then call [`Replica::disconnected`]).
    pub close: bool,
    /// Protocol problems, for logs; the replica carries on.
    pub errors: Vec<String>,
    /// Writes of this device the relay refused: the document was put back as the relay holds
    /// it, with what may stand re-applied (show them to the member).
    pub refused: Vec<RefusedChange>,
}

impl Effects {
    fn need(&mut self, id: DocumentId) {
        if !self.need_load.contains(&id) {
            self.need_load.push(id);
        }
    }

    fn changed(&mut self, id: DocumentId) {
        if !self.changed.contains(&id) {
            self.changed.push(id);
        }
    }
}

/// Where the replica stands with the relay, for the sync indicator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    /// `offline`, `connecting`, `syncing` or `online`.
    pub state: &'static str,
    /// Lead documents with changes the relay has not acknowledged.
    pub unsynced: usize,
    /// Documents with a sync round under way.
    pub in_flight: usize,
}

/// The documents and summaries, apart from the protocol client so that the client can borrow
/// them through [`Docs`].
#[derive(Debug)]
struct Store {
    actor: ActorId,
    team_doc: DocumentId,
    index_doc: DocumentId,
    /// Documents in memory.
    loaded: HashMap<DocumentId, Automerge>,
    /// Documents the host has in storage (whether loaded or not).
    stored: BTreeSet<DocumentId>,
    /// Documents asked for with `request`: the replica creates them when they arrive.
    requested: BTreeSet<DocumentId>,
    /// Chunks stored since the last compaction, for the team and index documents.
    chunks: HashMap<DocumentId, u32>,
}

impl Docs for Store {
    fn get(&mut self, id: &DocumentId) -> DocSlot<'_> {
        if let Some(doc) = self.loaded.get_mut(id) {
            DocSlot::Loaded(doc)
        } else if self.stored.contains(id) {
            DocSlot::NotLoaded
        } else {
            DocSlot::Absent
        }
    }

    fn create(&mut self, id: &DocumentId) -> Option<&mut Automerge> {
        if !self.requested.contains(id) && *id != self.team_doc && *id != self.index_doc {
            return None;
        }
        Some(
            self.loaded
                .entry(*id)
                .or_insert_with(|| doc::new_document(self.actor.clone())),
        )
    }
}

/// The member's index document as last read: its heads and each entry's kind and relay heads
/// (sorted hex, the form summaries keep).
#[derive(Debug)]
struct IndexCache {
    heads: Vec<ChangeHash>,
    entries: HashMap<DocumentId, (DocKind, Vec<String>)>,
}

impl IndexCache {
    fn entry(entry: index::IndexEntry) -> (DocKind, Vec<String>) {
        let mut hex = doc::heads_to_hex(&entry.heads);
        hex.sort_unstable();
        (entry.kind, hex)
    }
}

/// A member's device. See the module documentation.
#[derive(Debug)]
pub struct Replica {
    team_id: TeamId,
    member: MemberId,
    team: Option<Team>,
    playbook_print: String,
    store: Store,
    facts: Vec<LeadFacts>,
    meta: Vec<Summary>,
    slot: HashMap<DocumentId, usize>,
    by_lead: HashMap<LeadId, DocumentId>,
    client: Client,
    connected: bool,
    /// Documents synced (or being synced) in this connection.
    session: BTreeSet<DocumentId>,
    index_cache: Option<IndexCache>,
    /// Every index entry was compared with the device in this connection.
    index_checked: bool,
    /// Heads the relay sealed, for documents it lost changes of (the leads' are in their
    /// summaries too), sent with their sync messages until the relay holds them again.
    sealed: HashMap<DocumentId, Sealed>,
    /// Documents offered again in this connection after a refusal, with their seal.
    sealed_retried: BTreeSet<DocumentId>,
    /// Refusals per document in this connection.
    refusals: HashMap<DocumentId, u32>,
}

/// A short fingerprint of what the fold reads from a playbook ([`Summary::playbook`]): the
/// statuses (a manager's override names one) and the refusal reasons (whether one needs a
/// review). Summaries folded with other ones are stale and folded again; every other setting
/// (cadence, exchange rates, tiers…) is read when deriving, so changing it refolds nothing.
pub fn playbook_print(playbook: &Playbook) -> String {
    let read_by_the_fold = (&playbook.statuses, &playbook.refusal_reasons);
    let json = serde_json::to_vec(&read_by_the_fold).unwrap_or_default();
    let digest = Sha256::digest(&json);
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Puts `doc` back at `before`, dropping the changes made since (a write the model refused):
/// the document as it was, with the same actor.
fn roll_back(doc: &mut Automerge, before: &[ChangeHash]) -> Result<(), ReplicaError> {
    let actor = doc.get_actor().clone();
    let restored = doc
        .fork_at(before)
        .map_err(|e| DocError::Automerge {
            path: "(root)".to_owned(),
            source: Box::new(e),
        })?
        .with_actor(actor);
    *doc = restored;
    Ok(())
}

fn hex_heads(doc: &Automerge) -> Vec<String> {
    doc::heads_to_hex(&doc.get_heads())
}

impl Replica {
    /// Opens a replica from what the host stored: the team document's bytes (if synced before),
    /// whether the member's index document is stored, every lead summary and every sync state.
    /// Returns the replica and the effects to carry out: summaries that are stale (another
    /// version, another playbook) ask for their documents to be loaded and folded again.
    pub fn open(
        config: ReplicaConfig,
        team_doc_bytes: Option<&[u8]>,
        index_stored: bool,
        summaries: &[(DocumentId, Vec<u8>)],
        sync_states: &[(DocumentId, Vec<u8>)],
    ) -> Result<(Self, Effects), ReplicaError> {
        let actor = ActorId::from(&config.actor[..]);
        let team_doc = team_doc::team_document_id(&config.team);
        let index_doc = index::index_document_id(&config.team, &config.member);
        let mut store = Store {
            actor: actor.clone(),
            team_doc,
            index_doc,
            loaded: HashMap::new(),
            stored: BTreeSet::new(),
            requested: BTreeSet::new(),
            chunks: HashMap::new(),
        };
        let mut team = None;
        if let Some(bytes) = team_doc_bytes {
            let doc = doc::load(bytes, actor.clone())?;
            team = Some(team_doc::read_team(&doc)?);
            store.loaded.insert(team_doc, doc);
            store.stored.insert(team_doc);
        }
        if index_stored {
            store.stored.insert(index_doc);
        }
        let mut client = Client::new(
            PeerId::new(config.peer_id.clone()),
            PeerMetadata {
                storage_id: None,
                is_ephemeral: false,
            },
        );
        for (id, bytes) in sync_states {
            client
                .restore_state(*id, bytes)
                .map_err(|e: ClientError| ReplicaError::Stored {
                    what: "sync state",
                    doc: *id,
                    reason: e.to_string(),
                })?;
        }
        let print = team.as_ref().map(|t: &Team| playbook_print(&t.playbook));
        let mut replica = Self {
            team_id: config.team,
            member: config.member,
            team,
            playbook_print: print.unwrap_or_default(),
            store,
            facts: Vec::with_capacity(summaries.len()),
            meta: Vec::with_capacity(summaries.len()),
            slot: HashMap::with_capacity(summaries.len()),
            by_lead: HashMap::with_capacity(summaries.len()),
            client,
            connected: false,
            session: BTreeSet::new(),
            index_cache: None,
            index_checked: false,
            sealed: HashMap::new(),
            sealed_retried: BTreeSet::new(),
            refusals: HashMap::new(),
        };
        let mut effects = Effects::default();
        for (id, bytes) in summaries {
            let summary: Summary =
                serde_json::from_slice(bytes).map_err(|e| ReplicaError::Stored {
                    what: "summary",
                    doc: *id,
                    reason: e.to_string(),
                })?;
            replica.store.stored.insert(*id);
            if let Some(sealed) = &summary.sealed {
                replica.sealed.insert(*id, sealed.clone());
                replica.client.set_sealed(*id, Some(sealed.clone()));
            }
            let stale = summary.v != SUMMARY_VERSION || summary.playbook != replica.playbook_print;
            replica.put_summary(*id, summary);
            if stale {
                effects.need(*id);
            }
        }
        Ok((replica, effects))
    }

    /// The member.
    pub fn member(&self) -> &MemberId {
        &self.member
    }

    /// The team, once its document is on the device.
    pub fn team(&self) -> Option<&Team> {
        self.team.as_ref()
    }

    /// The members this member may create a lead for (the write model's `may_create_for`): a
    /// rep themselves, a manager themselves and their reps, an admin every rep and manager.
    /// Empty before the team document arrives.
    pub fn new_lead_owners(&self) -> Vec<MemberId> {
        let Some(team) = &self.team else {
            return Vec::new();
        };
        team.members
            .iter()
            .filter(|m| write::may_create_for(team, &self.member, &m.id).is_ok())
            .map(|m| m.id.clone())
            .collect()
    }

    /// The team's id.
    pub fn team_id(&self) -> &TeamId {
        &self.team_id
    }

    /// The team document's id.
    pub fn team_doc_id(&self) -> DocumentId {
        self.store.team_doc
    }

    /// The member's index document's id.
    pub fn index_doc_id(&self) -> DocumentId {
        self.store.index_doc
    }

    /// The facts of every lead on the device.
    pub fn facts(&self) -> &[LeadFacts] {
        &self.facts
    }

    /// The summary of a lead document.
    pub fn summary(&self, id: &DocumentId) -> Option<&Summary> {
        self.slot.get(id).map(|&i| &self.meta[i])
    }

    /// The document holding a lead.
    pub fn doc_of(&self, lead: &LeadId) -> Option<DocumentId> {
        self.by_lead.get(lead).copied()
    }

    /// Every lead document on the device.
    pub fn lead_docs(&self) -> impl Iterator<Item = &DocumentId> {
        self.slot.keys()
    }

    /// Whether a document is in memory.
    pub fn is_loaded(&self, id: &DocumentId) -> bool {
        self.store.loaded.contains_key(id)
    }

    /// How many documents are in memory.
    pub fn loaded_count(&self) -> usize {
        self.store.loaded.len()
    }

    /// A loaded document (tests, exports).
    pub fn document(&self, id: &DocumentId) -> Option<&Automerge> {
        self.store.loaded.get(id)
    }

    /// The full lead with its history, for the lead card.
    pub fn lead(&self, id: &DocumentId) -> Result<lead_doc::LeadDocument, ReplicaError> {
        let doc = self
            .store
            .loaded
            .get(id)
            .ok_or(ReplicaError::NotLoaded(*id))?;
        Ok(lead_doc::read_lead(doc)?)
    }

    /// `member`'s call queue at `now` over the summaries (R6).
    pub fn call_queue(&self, now: DateTime<Utc>, tiers: &TierMap) -> Option<CallQueue> {
        let team = self.team.as_ref()?;
        Some(call_queue(team, &self.member, &self.facts, tiers, now))
    }

    /// The member's inbox at `now` (R7, R14, R1); empty for reps.
    pub fn inbox(&self, now: DateTime<Utc>) -> Vec<InboxItem> {
        match &self.team {
            Some(team) => review_inbox(team, &self.member, &self.facts, now),
            None => Vec::new(),
        }
    }

    /// Where sync stands.
    pub fn sync_status(&self) -> SyncStatus {
        let unsynced = self.meta.iter().filter(|m| m.heads != m.synced).count();
        let in_flight = self.session.len();
        let state = match (self.client.server().is_some(), self.connected) {
            (true, _) if unsynced > 0 => "syncing",
            (true, _) => "online",
            (false, true) => "connecting",
            (false, false) => "offline",
        };
        SyncStatus {
            state,
            unsynced,
            in_flight,
        }
    }

    fn put_summary(&mut self, id: DocumentId, summary: Summary) {
        let lead = summary.facts.id.clone();
        match self.slot.get(&id) {
            Some(&i) => {
                self.facts[i] = summary.facts.clone();
                self.meta[i] = summary;
            }
            None => {
                self.slot.insert(id, self.facts.len());
                self.facts.push(summary.facts.clone());
                self.meta.push(summary);
            }
        }
        self.by_lead.insert(lead, id);
    }

    /// Loads a document the host was asked for (its stored bytes) and resumes what waited for
    /// it. A stale summary is folded again.
    pub fn loaded(
        &mut self,
        id: DocumentId,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Effects, ReplicaError> {
        let mut effects = Effects::default();
        if !self.store.loaded.contains_key(&id) {
            let doc = doc::load(bytes, self.store.actor.clone())?;
            self.store.loaded.insert(id, doc);
        }
        self.store.stored.insert(id);
        if let Some(&i) = self.slot.get(&id) {
            let meta = &self.meta[i];
            let heads = self
                .store
                .loaded
                .get(&id)
                .map(hex_heads)
                .unwrap_or_default();
            if meta.v != SUMMARY_VERSION
                || meta.playbook != self.playbook_print
                || meta.heads != heads
            {
                self.refold(id, &mut effects)?;
            }
        }
        let out = self.client.loaded(id, &mut self.store, now);
        self.absorb(out, now, &mut effects)?;
        Ok(effects)
    }

    /// Drops a document from memory (it stays in storage). Returns `false` when it is in use
    /// (a sync round waits on it, or it is the team document).
    pub fn evict(&mut self, id: &DocumentId) -> bool {
        if *id == self.store.team_doc || self.session.contains(id) {
            return false;
        }
        self.store.loaded.remove(id).is_some()
    }

    /// Recomputes a lead's summary from its loaded document.
    fn refold(&mut self, id: DocumentId, effects: &mut Effects) -> Result<(), ReplicaError> {
        let Some(team) = &self.team else {
            return Ok(());
        };
        let doc = self
            .store
            .loaded
            .get(&id)
            .ok_or(ReplicaError::NotLoaded(id))?;
        let read = lead_doc::read_lead(doc)?;
        let facts = LeadFacts::from_lead(&team.playbook, &read.lead);
        let (synced, chunks, sealed) = match self.slot.get(&id) {
            Some(&i) => (
                self.meta[i].synced.clone(),
                self.meta[i].chunks,
                self.meta[i].sealed.clone(),
            ),
            None => (Vec::new(), 0, None),
        };
        let summary = Summary {
            v: SUMMARY_VERSION,
            playbook: self.playbook_print.clone(),
            heads: hex_heads(doc),
            synced,
            chunks,
            undecodable: u32::try_from(read.undecodable.len()).unwrap_or(u32::MAX),
            facts,
            sealed,
        };
        effects.writes.push(Write::PutSummary {
            doc: id,
            bytes: serde_json::to_vec(&summary).unwrap_or_default(),
        });
        effects.changed(id);
        self.put_summary(id, summary);
        Ok(())
    }

    /// Records that `count` chunks were stored for a document and compacts it when due.
    /// Drops a lead from this device: its summary, document and sync state.
    fn forget(&mut self, id: DocumentId, effects: &mut Effects) {
        self.sealed.remove(&id);
        if let Some(i) = self.slot.remove(&id) {
            let removed = self.meta.remove(i);
            self.facts.remove(i);
            self.by_lead.remove(&removed.facts.id);
            for slot in self.slot.values_mut() {
                if *slot > i {
                    *slot -= 1;
                }
            }
        }
        self.store.stored.remove(&id);
        self.store.loaded.remove(&id);
        self.session.remove(&id);
        effects.writes.push(Write::RemoveDoc { doc: id });
    }

    fn count_chunks(&mut self, id: DocumentId, count: u32, effects: &mut Effects) {
        let chunks = match self.slot.get(&id) {
            Some(&i) => {
                self.meta[i].chunks += count;
                &mut self.meta[i].chunks
            }
            None => self.store.chunks.entry(id).or_default(),
        };
        if *chunks >= COMPACT_AFTER_CHUNKS
            && let Some(doc) = self.store.loaded.get(&id)
        {
            *chunks = 0;
            effects.writes.push(Write::ReplaceDoc {
                doc: id,
                bytes: doc.save(),
            });
        }
    }

    /// Creates a lead on this device: validated by the core, written as one new document whose
    /// id the host draws (16 random bytes) and which is also the lead's id.
    pub fn create_lead(
        &mut self,
        doc_bytes: [u8; 16],
        mut input: NewLead,
        now: DateTime<Utc>,
        ids: &mut dyn FnMut() -> EventId,
    ) -> Result<(DocumentId, Effects), ReplicaError> {
        let team = self.team.as_ref().ok_or(ReplicaError::NoTeam)?;
        let id = DocumentId::from_random(doc_bytes);
        input.id = LeadId(id.to_string());
        let author = Author {
            team,
            by: &self.member,
            now,
            ids,
        };
        let lead: Lead = commands::create_lead(author, input)?;
        let doc = lead_doc::create_lead(&lead, self.store.actor.clone(), now)?;
        write::check_not_reserved(&id).map_err(CommandError::from)?;
        write::lead::judge_change(team, &self.member, &Limits::none(), None, &doc, &[])
            .map_err(CommandError::from)?;
        let mut effects = Effects::default();
        effects.writes.push(Write::ReplaceDoc {
            doc: id,
            bytes: doc.save(),
        });
        self.store.loaded.insert(id, doc);
        self.store.stored.insert(id);
        self.refold(id, &mut effects)?;
        self.offer_local_change(id, now, &mut effects)?;
        Ok((id, effects))
    }

    /// Applies a command to a lead: validates it against the lead's facts, writes its events (or
    /// fields) as one Automerge change, persists, and syncs when connected.
    pub fn apply(
        &mut self,
        id: DocumentId,
        command: LeadCommand,
        now: DateTime<Utc>,
        ids: &mut dyn FnMut() -> EventId,
    ) -> Result<Effects, ReplicaError> {
        let team = self.team.as_ref().ok_or(ReplicaError::NoTeam)?;
        let &i = self
            .slot
            .get(&id)
            .ok_or_else(|| ReplicaError::UnknownLead(id.to_string()))?;
        if !self.store.loaded.contains_key(&id) {
            return Err(ReplicaError::NotLoaded(id));
        }
        let facts = &self.facts[i];
        let author = Author {
            team,
            by: &self.member,
            now,
            ids,
        };
        // Only an assignment or a resolution (of an owner conflict) can move the folded owner.
        let may_move_owner = matches!(
            command,
            LeadCommand::Assign { .. } | LeadCommand::ResolveConflict { .. }
        );
        let change = match command {
            LeadCommand::LogAttempt { channel, outcome } => {
                Change::Events(commands::log_attempt(author, channel, outcome))
            }
            LeadCommand::LogConversation(input) => {
                Change::Events(commands::log_conversation(author, facts, input)?)
            }
            LeadCommand::SetNextStep(input) => {
                Change::Events(commands::set_next_step(author, facts, &input)?)
            }
            LeadCommand::RecordRefusal(input) => {
                Change::Events(commands::record_refusal(author, facts, &input)?)
            }
            LeadCommand::ConfirmCloseUnreachable => {
                Change::Events(commands::confirm_close_unreachable(author, facts)?)
            }
            LeadCommand::ReviewRefusal { decision, note } => {
                Change::Events(commands::review_refusal(author, facts, decision, &note)?)
            }
            LeadCommand::MarkWon(input) => {
                Change::Events(commands::mark_won(author, facts, &input)?)
            }
            LeadCommand::RecordOrder {
                amount,
                gross_profit,
                products,
            } => Change::Events(commands::record_order(
                author,
                &amount,
                gross_profit.as_ref(),
                &products,
            )?),
            LeadCommand::RequestMaterials { materials } => {
                Change::Events(commands::request_materials(author, &materials)?)
            }
            LeadCommand::SendMaterials { materials } => {
                Change::Events(commands::send_materials(author, facts, &materials)?)
            }
            LeadCommand::Assign { owner } => {
                Change::Events(commands::assign(author, facts, &owner)?)
            }
            LeadCommand::OverrideStatus { status, reason } => {
                Change::Events(commands::override_status(author, facts, &status, &reason)?)
            }
            LeadCommand::ResolveConflict {
                conflict,
                keep,
                note,
            } => Change::Events(commands::resolve_conflict(
                author,
                facts,
                &conflict,
                keep.as_ref(),
                &note,
            )?),
            LeadCommand::Edit(edit) => {
                Change::Fields(commands::edit_lead(author, facts, edit)?.fields)
            }
        };
        let mut effects = Effects::default();
        let doc = self
            .store
            .loaded
            .get_mut(&id)
            .ok_or(ReplicaError::NotLoaded(id))?;
        let before = doc.get_heads();
        let playbook = &team.playbook;
        let mut tx = doc.transaction();
        let written = match &change {
            Change::Events(events) => lead_doc::append_events(&mut tx, events).and_then(|()| {
                if may_move_owner {
                    mirror_owner(&mut tx, playbook)
                } else {
                    Ok(())
                }
            }),
            Change::Fields(fields) => lead_doc::put_fields(&mut tx, fields).map(drop),
        };
        if let Err(error) = written {
            tx.rollback();
            return Err(error.into());
        }
        tx.commit_with(doc::commit_options(now));
        // The write model has the last word, exactly as on the relay: a command never writes
        // what the relay would refuse.
        let before_owner = &self.facts[i].owner;
        let verdict = write::lead::judge_change(
            team,
            &self.member,
            &Limits::none(),
            Some(before_owner),
            doc,
            &before,
        );
        if let Err(refusal) = verdict {
            roll_back(doc, &before)?;
            return Err(CommandError::from(refusal).into());
        }
        effects.writes.push(Write::AppendChunk {
            doc: id,
            bytes: doc.save_after(&before),
        });
        self.count_chunks(id, 1, &mut effects);
        self.refold(id, &mut effects)?;
        self.offer_local_change(id, now, &mut effects)?;
        Ok(effects)
    }

    /// Starts a connection: send the returned `join` frame on the new socket.
    pub fn connect(&mut self, now: DateTime<Utc>) -> Effects {
        self.connected = true;
        self.session.clear();
        self.sealed_retried.clear();
        self.refusals.clear();
        self.index_checked = false;
        let out = self.client.connect(now);
        let mut effects = Effects::default();
        // Connecting produces only frames; it cannot fail.
        let _ = self.absorb(out, now, &mut effects);
        effects
    }

    /// The socket closed.
    pub fn disconnected(&mut self) {
        self.connected = false;
        self.session.clear();
        self.index_checked = false;
        self.client.disconnected();
    }

    /// When [`Replica::poll`] should be called next.
    pub fn next_deadline(&self) -> Option<DateTime<Utc>> {
        self.client.next_deadline()
    }

    /// Time passed: timeouts of the protocol.
    pub fn poll(&mut self, now: DateTime<Utc>) -> Result<Effects, ReplicaError> {
        let out = self.client.poll(now);
        let mut effects = Effects::default();
        self.absorb(out, now, &mut effects)?;
        Ok(effects)
    }

    /// Handles one frame from the relay.
    pub fn receive(&mut self, frame: &[u8], now: DateTime<Utc>) -> Result<Effects, ReplicaError> {
        let out = self.client.receive(frame, &mut self.store, now);
        let mut effects = Effects::default();
        self.absorb(out, now, &mut effects)?;
        Ok(effects)
    }

    /// Offers a local change of `id` to the relay (a sync round, even when the document was
    /// already synced in this connection).
    fn offer_local_change(
        &mut self,
        id: DocumentId,
        now: DateTime<Utc>,
        effects: &mut Effects,
    ) -> Result<(), ReplicaError> {
        let out = self.client.sync_doc(id, &mut self.store, now);
        self.session.insert(id);
        self.absorb(out, now, effects)
    }

    fn sync(
        &mut self,
        id: DocumentId,
        now: DateTime<Utc>,
        effects: &mut Effects,
    ) -> Result<(), ReplicaError> {
        if !self.session.insert(id) {
            return Ok(());
        }
        if !self.store.stored.contains(&id) && !self.store.loaded.contains_key(&id) {
            self.store.requested.insert(id);
        }
        let out = self.client.sync_doc(id, &mut self.store, now);
        self.absorb(out, now, effects)
    }

    /// Turns the protocol client's output into the replica's effects and follows up: changed
    /// documents are persisted and folded again, the index drives which documents to sync.
    fn absorb(
        &mut self,
        out: ClientOutput,
        now: DateTime<Utc>,
        effects: &mut Effects,
    ) -> Result<(), ReplicaError> {
        let ClientOutput {
            persist,
            changed,
            sync_states,
            frames,
            need_load,
            synced,
            unavailable,
            refused,
            connected,
            close,
            errors,
        } = out;
        for (id, bytes) in persist {
            self.store.requested.remove(&id);
            if self.store.stored.insert(id) {
                // A document new to this device: store it compacted (a full save is about a
                // third of the size of its changes one by one).
                let bytes = match self.store.loaded.get(&id) {
                    Some(doc) => doc.save(),
                    None => bytes,
                };
                effects.writes.push(Write::ReplaceDoc { doc: id, bytes });
            } else {
                effects.writes.push(Write::AppendChunk { doc: id, bytes });
                self.count_chunks(id, 1, effects);
            }
        }
        let mut index_changed = false;
        for id in changed {
            if id == self.store.team_doc {
                self.reload_team(effects)?;
            } else if id == self.store.index_doc {
                index_changed = true;
            } else if self.store.loaded.contains_key(&id) {
                self.refold(id, effects)?;
            }
        }
        for (id, bytes) in sync_states {
            if let Some(&i) = self.slot.get(&id)
                && let Ok(state) = automerge::sync::State::decode(&bytes)
            {
                let synced = doc::heads_to_hex(&state.shared_heads);
                if self.meta[i].synced != synced {
                    self.meta[i].synced = synced;
                    effects.writes.push(Write::PutSummary {
                        doc: id,
                        bytes: serde_json::to_vec(&self.meta[i]).unwrap_or_default(),
                    });
                }
            }
            effects.writes.push(Write::PutSyncState { doc: id, bytes });
        }
        effects.frames.extend(frames);
        for id in need_load {
            effects.need(id);
        }
        for id in synced.iter().chain(&unavailable) {
            self.session.remove(id);
        }
        for id in &synced {
            self.unseal(*id, effects);
        }
        for id in &unavailable {
            self.store.requested.remove(id);
            if *id == self.store.index_doc || *id == self.store.team_doc {
                effects.errors.push(format!(
                    "the relay does not share document {id} with this member"
                ));
            }
        }
        effects.close |= close;
        effects
            .errors
            .extend(errors.into_iter().map(|e| e.to_string()));
        for refused in refused {
            self.reset_refused(refused, now, effects)?;
        }
        if connected.is_some() {
            self.on_connected(now, effects)?;
        }
        if index_changed || synced.contains(&self.store.index_doc) {
            self.follow_index(now, effects)?;
        }
        if self.connected {
            self.check_relay_lost_data(now, effects)?;
        }
        Ok(())
    }

    /// Only the relay writes the index document, so a device never holds index changes the
    /// relay lacks unless the relay lost data (restored from a backup). Then the index cannot
    /// say what the relay is missing — its entries on this device show the heads the relay had
    /// before — so the device takes the relay's copy of the index (its own at the relay's
    /// heads) and syncs every document it holds, which sends the relay what it lacks.
    fn check_relay_lost_data(
        &mut self,
        now: DateTime<Utc>,
        effects: &mut Effects,
    ) -> Result<(), ReplicaError> {
        let id = self.store.index_doc;
        let (Some(relay_heads), Some(doc)) =
            (self.client.server_heads(&id), self.store.loaded.get(&id))
        else {
            return Ok(());
        };
        let mut relay_heads = relay_heads.to_vec();
        relay_heads.sort_unstable();
        // Heads the device does not hold yet: the relay is ahead, its changes are on the way.
        if relay_heads.is_empty()
            || relay_heads == doc.get_heads()
            || !relay_heads
                .iter()
                .all(|h| doc.get_change_meta_by_hash(h).is_some())
        {
            return Ok(());
        }
        // The seals of the newest heads this device saw: the relay takes back, from this
        // member, what it lost within them.
        let seals: Vec<(DocumentId, Sealed)> = index::read_index(doc)?
            .entries
            .into_iter()
            .filter_map(|(id, entry)| {
                let seal = entry.seal?;
                let heads = doc::heads_to_hex(&entry.heads);
                Some((id, Sealed { heads, seal }))
            })
            .collect();
        let relays = doc
            .fork_at(&relay_heads)
            .map_err(|e| DocError::automerge("index", e))?;
        effects.writes.push(Write::ReplaceDoc {
            doc: id,
            bytes: relays.save(),
        });
        self.store.loaded.insert(id, relays);
        self.store.chunks.insert(id, 0);
        self.index_cache = None;
        self.index_checked = false;
        effects.errors.push(
            "the relay lacks index changes this device holds (restored from a backup?): \
             syncing every document"
                .to_owned(),
        );
        for (id, sealed) in seals {
            self.seal(id, sealed, effects);
        }
        let ids: Vec<DocumentId> = self.slot.keys().copied().collect();
        for id in ids {
            self.sync(id, now, effects)?;
        }
        Ok(())
    }

    /// Keeps `sealed` for a document this device holds and sends it with its sync messages.
    fn seal(&mut self, id: DocumentId, sealed: Sealed, effects: &mut Effects) {
        if let Some(&i) = self.slot.get(&id) {
            self.meta[i].sealed = Some(sealed.clone());
            effects.writes.push(Write::PutSummary {
                doc: id,
                bytes: serde_json::to_vec(&self.meta[i]).unwrap_or_default(),
            });
        } else if id != self.store.team_doc {
            return;
        }
        self.client.set_sealed(id, Some(sealed.clone()));
        self.sealed.insert(id, sealed);
    }

    /// The relay and this device hold the same changes of a document: its seal is done with.
    fn unseal(&mut self, id: DocumentId, effects: &mut Effects) {
        if self.sealed.remove(&id).is_none() {
            return;
        }
        self.client.set_sealed(id, None);
        if let Some(&i) = self.slot.get(&id) {
            self.meta[i].sealed = None;
            effects.writes.push(Write::PutSummary {
                doc: id,
                bytes: serde_json::to_vec(&self.meta[i]).unwrap_or_default(),
            });
        }
    }

    fn reload_team(&mut self, effects: &mut Effects) -> Result<(), ReplicaError> {
        let Some(doc) = self.store.loaded.get(&self.store.team_doc) else {
            return Ok(());
        };
        let team = team_doc::read_team(doc)?;
        let print = playbook_print(&team.playbook);
        self.team = Some(team);
        effects.team_changed = true;
        if print != self.playbook_print {
            self.playbook_print = print;
            // Every summary was folded with the old playbook (or none, on a first sync): fold
            // again now for documents in memory, as they load for the others.
            let mut ids: BTreeSet<DocumentId> = self.slot.keys().copied().collect();
            // Documents requested but not arrived yet are empty placeholders: they are folded
            // when their changes come.
            ids.extend(
                self.store
                    .loaded
                    .iter()
                    .filter(|(_, doc)| !doc.get_heads().is_empty())
                    .map(|(id, _)| *id),
            );
            ids.remove(&self.store.team_doc);
            ids.remove(&self.store.index_doc);
            for id in ids {
                if self.store.loaded.contains_key(&id) {
                    self.refold(id, effects)?;
                } else {
                    effects.need(id);
                }
            }
        }
        Ok(())
    }

    fn on_connected(
        &mut self,
        now: DateTime<Utc>,
        effects: &mut Effects,
    ) -> Result<(), ReplicaError> {
        self.sync(self.store.team_doc, now, effects)?;
        self.sync(self.store.index_doc, now, effects)?;
        // Local changes the relay has not acknowledged, whatever the index says.
        let dirty: Vec<DocumentId> = self
            .slot
            .iter()
            .filter(|&(_, &i)| self.meta[i].heads != self.meta[i].synced)
            .map(|(id, _)| *id)
            .collect();
        for id in dirty {
            self.sync(id, now, effects)?;
        }
        Ok(())
    }

    /// Syncs every document on the device, whatever the index says: a full check after a
    /// restore from backup, or when the relay's index cannot be trusted. Costs at least one
    /// round per document; a reconnect does not need it.
    pub fn sync_all(&mut self, now: DateTime<Utc>) -> Result<Effects, ReplicaError> {
        let mut effects = Effects::default();
        let ids: Vec<DocumentId> = self.slot.keys().copied().collect();
        for id in ids {
            self.sync(id, now, &mut effects)?;
        }
        Ok(effects)
    }

    /// Syncs every document the index shows changed on the relay (or new to this device). The
    /// index has an entry per lead, so it is read whole once and then only the entries that
    /// Automerge's diff says moved; every entry is compared once per connection.
    fn follow_index(
        &mut self,
        now: DateTime<Utc>,
        effects: &mut Effects,
    ) -> Result<(), ReplicaError> {
        let Some(doc) = self.store.loaded.get(&self.store.index_doc) else {
            return Ok(());
        };
        let heads = doc.get_heads();
        if heads.is_empty() {
            return Ok(()); // the relay has not written it yet
        }
        let mut candidates: Vec<DocumentId> = match &mut self.index_cache {
            Some(cache) if cache.heads == heads => Vec::new(),
            Some(cache) => {
                let touched = index::changed_entries(doc, &cache.heads, &heads);
                for id in &touched {
                    match index::read_entry(doc, id) {
                        Ok(Some(entry)) => {
                            cache.entries.insert(*id, IndexCache::entry(entry));
                        }
                        // Removed, or malformed: nothing to follow.
                        Ok(None) | Err(_) => {
                            cache.entries.remove(id);
                        }
                    }
                }
                cache.heads = heads;
                touched
            }
            None => {
                let index: Index = index::read_index(doc)?;
                let cache = IndexCache {
                    heads,
                    entries: index
                        .entries
                        .into_iter()
                        .map(|(id, entry)| (id, IndexCache::entry(entry)))
                        .collect(),
                };
                let all = cache.entries.keys().copied().collect();
                self.index_cache = Some(cache);
                all
            }
        };
        let Some(cache) = &self.index_cache else {
            return Ok(());
        };
        if !self.index_checked {
            self.index_checked = true;
            candidates = cache.entries.keys().copied().collect();
        }
        let sorted = |hex: &[String]| {
            let mut hex = hex.to_vec();
            hex.sort_unstable();
            hex
        };
        let mut to_sync = Vec::new();
        for id in candidates {
            let Some((kind, relay_heads)) = cache.entries.get(&id) else {
                continue;
            };
            if *kind == DocKind::Team {
                continue; // synced on connect and kept live
            }
            let clean = self.slot.get(&id).is_some_and(|&i| {
                let device = sorted(&self.meta[i].heads);
                device == *relay_heads && device == sorted(&self.meta[i].synced)
            });
            if !clean {
                to_sync.push(id);
            }
        }
        for id in to_sync {
            self.sync(id, now, effects)?;
        }
        Ok(())
    }
}

/// Keeps the document's `owner` field equal to the owner the rules fold from `assigned` events
/// (and R14 resolutions), inside the command's transaction, so that simple readers of the
/// document see the same owner as the rules and the relay's access control.
fn mirror_owner(
    tx: &mut automerge::transaction::Transaction<'_>,
    playbook: &Playbook,
) -> Result<(), DocError> {
    let read = lead_doc::read_lead(&*tx)?;
    let facts = LeadFacts::from_lead(playbook, &read.lead);
    if facts.owner != read.lead.owner {
        let owner = serde_json::Value::String(facts.owner.as_str().to_owned());
        lead_doc::put_fields(tx, &[("owner".to_owned(), owner)])?;
    }
    Ok(())
}

/// What a command writes.
enum Change {
    Events(Vec<Event>),
    Fields(Vec<(String, serde_json::Value)>),
}
