//! The binding's own shapes (effects, open arguments, sync status, analytics) and the
//! conversions between JS values and serde types.

use crate::EffectsOut;
use crate::error::{Error, bad_input};
use fieldbook_core::analytics::funnel::{Funnel, SpeedToLead};
use fieldbook_core::analytics::refusals::RefusalReports;
use fieldbook_core::replica::{self, Write};
use fieldbook_core::tiers::{TierCube, TierReport};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use wasm_bindgen::{JsCast, JsValue, prelude::wasm_bindgen};

#[wasm_bindgen(typescript_custom_section)]
const BINDING_TYPES: &str = r#"
/** One storage operation; carry out an `Effects`' writes in order, in one transaction. */
export type Write =
  | { op: "append"; doc: string; bytes: Uint8Array }    // append an incremental chunk
  | { op: "replace"; doc: string; bytes: Uint8Array }   // replace all chunks by this save
  | { op: "summary"; doc: string; bytes: Uint8Array }   // replace the lead's summary
  | { op: "syncState"; doc: string; bytes: Uint8Array }// replace the doc's sync state
  | { op: "remove"; doc: string };                      // delete the doc, summary, sync state

/** What the host must do after a call, in this order: writes, frames, needLoad. */
export interface Effects {
  writes: Write[];
  frames: Uint8Array[];
  needLoad: string[];
  changed: string[];
  teamChanged: boolean;
  close: boolean;
  errors: string[];
  /** Writes of this device the relay refused (the document was put back; show them). */
  refused: RefusedChange[];
}

/** Who the device belongs to: `actor` is 16 random bytes drawn once per device. */
export interface ReplicaConfig { team: string; member: string; actor: Uint8Array; peerId: string }

/** What the host stored (summaries and sync states as [doc id, bytes] pairs). */
export interface StoredState {
  teamDoc?: Uint8Array | null;
  indexStored: boolean;
  summaries: [string, Uint8Array][];
  syncStates: [string, Uint8Array][];
}

export interface SyncStatus {
  state: "offline" | "connecting" | "syncing" | "online";
  unsynced: number;
  inFlight: number;
}

export interface CreatedLead { doc: string; effects: Effects }

export interface Analytics {
  refusals: RefusalReports;
  funnel: Funnel;
  speedToLead: SpeedToLead;
  tiers: TierReport;
  /** Tier moves between the two months before now's month (UTC). */
  tierCube: TierCube | null;
}
"#;

/// The serializer of every result: maps as plain objects, `None` as `null` (the JSON shape
/// of the CLI and `docs/documents.md`), bytes as `Uint8Array`.
fn serializer() -> serde_wasm_bindgen::Serializer {
    serde_wasm_bindgen::Serializer::new()
        .serialize_maps_as_objects(true)
        .serialize_missing_as_null(true)
}

/// A result as a JS value.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, Error> {
    value.serialize(&serializer()).map_err(|e| {
        Error::new(
            "document",
            None,
            format!("the result does not convert to JS: {e}"),
        )
    })
}

/// An argument decoded; an error names `arg` and the path inside it (`command.next_step.due`).
pub fn decode<T: DeserializeOwned>(value: JsValue, arg: &str) -> Result<T, Error> {
    serde_path_to_error::deserialize(serde_wasm_bindgen::Deserializer::from(value)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            arg.to_owned()
        } else {
            format!("{arg}.{path}")
        };
        bad_input(&field, e.into_inner().to_string())
    })
}

/// `config` of `Replica.open`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenConfig {
    pub team: String,
    pub member: String,
    pub actor: ByteBuf,
    pub peer_id: String,
}

/// `stored` of `Replica.open`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stored {
    #[serde(default)]
    pub team_doc: Option<ByteBuf>,
    #[serde(default)]
    pub index_stored: bool,
    #[serde(default)]
    pub summaries: Vec<(String, ByteBuf)>,
    #[serde(default)]
    pub sync_states: Vec<(String, ByteBuf)>,
}

/// `Effects` as JS sees it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effects {
    writes: Vec<WriteOp>,
    frames: Vec<ByteBuf>,
    need_load: Vec<String>,
    changed: Vec<String>,
    team_changed: bool,
    close: bool,
    errors: Vec<String>,
    refused: Vec<replica::RefusedChange>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "op", rename_all = "camelCase")]
enum WriteOp {
    Append { doc: String, bytes: ByteBuf },
    Replace { doc: String, bytes: ByteBuf },
    Summary { doc: String, bytes: ByteBuf },
    SyncState { doc: String, bytes: ByteBuf },
    Remove { doc: String },
}

/// The core's effects in the binding's shape (the bytes are moved, not copied).
pub fn effects_value(effects: replica::Effects) -> Effects {
    let ids =
        |ids: Vec<fieldbook_core::doc::DocumentId>| ids.iter().map(ToString::to_string).collect();
    Effects {
        writes: effects
            .writes
            .into_iter()
            .map(|write| match write {
                Write::AppendChunk { doc, bytes } => WriteOp::Append {
                    doc: doc.to_string(),
                    bytes: ByteBuf::from(bytes),
                },
                Write::ReplaceDoc { doc, bytes } => WriteOp::Replace {
                    doc: doc.to_string(),
                    bytes: ByteBuf::from(bytes),
                },
                Write::PutSummary { doc, bytes } => WriteOp::Summary {
                    doc: doc.to_string(),
                    bytes: ByteBuf::from(bytes),
                },
                Write::PutSyncState { doc, bytes } => WriteOp::SyncState {
                    doc: doc.to_string(),
                    bytes: ByteBuf::from(bytes),
                },
                Write::RemoveDoc { doc } => WriteOp::Remove {
                    doc: doc.to_string(),
                },
            })
            .collect(),
        frames: effects.frames.into_iter().map(ByteBuf::from).collect(),
        need_load: ids(effects.need_load),
        changed: ids(effects.changed),
        team_changed: effects.team_changed,
        close: effects.close,
        errors: effects.errors,
        refused: effects.refused,
    }
}

/// The core's effects as a JS `Effects`.
pub fn effects(effects: replica::Effects) -> Result<EffectsOut, Error> {
    encode(&effects_value(effects)).map(JsCast::unchecked_into)
}

/// `createLead`'s result.
#[derive(Debug, Serialize)]
pub struct Created {
    pub doc: String,
    pub effects: Effects,
}

/// `syncStatus()`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    pub state: &'static str,
    pub unsynced: usize,
    pub in_flight: usize,
}

/// `analytics()`: the core's reports under the contract's camelCase keys.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Analytics<'a> {
    refusals: &'a RefusalReports,
    funnel: &'a Funnel,
    speed_to_lead: &'a SpeedToLead,
    tiers: &'a TierReport,
    tier_cube: Option<&'a TierCube>,
}

impl<'a> From<&'a replica::Analytics> for Analytics<'a> {
    fn from(a: &'a replica::Analytics) -> Self {
        Self {
            refusals: &a.refusals,
            funnel: &a.funnel,
            speed_to_lead: &a.speed_to_lead,
            tiers: &a.tiers,
            tier_cube: a.tier_cube.as_ref(),
        }
    }
}
