//! Thin wasm-bindgen binding of `fieldbook-core` for the browser: the device [`Replica`] and
//! the reads over it, as described in docs/wasm-api.md.
//!
//! The binding holds no domain logic. It decodes arguments (serde-wasm-bindgen, with the path
//! of a field that does not decode), calls the core, encodes results (maps as plain objects,
//! `None` as `null`, bytes as `Uint8Array`) and throws [`FieldbookError`]s. It is the host of
//! the core's randomness: new lead document ids and event ids are drawn here.
//!
//! TypeScript: the data types are generated from the core's serde types (`src/types.d.ts`,
//! checked by `tests/ts_types.rs`); the binding's own envelopes (effects, open arguments, sync
//! status, analytics) are declared next to their Rust types in [`js`].

mod error;
pub mod js;

#[cfg(feature = "bench")]
mod bench;

use chrono::{DateTime, NaiveDate, Utc};
use fieldbook_core::doc::DocumentId;
use fieldbook_core::ids::{EventId, MemberId, TeamId};
use fieldbook_core::replica::{self, LeadCommand, ReplicaConfig, TeamCommand};
use wasm_bindgen::prelude::*;

pub use error::FieldbookError;
use error::{Error, bad_input};

/// The TypeScript declarations of the core's data types, in the generated `.d.ts`.
#[wasm_bindgen(typescript_custom_section)]
const CORE_TYPES: &str = include_str!("types.d.ts");

#[wasm_bindgen]
extern "C" {
    /// `NewLead` (core).
    #[wasm_bindgen(typescript_type = "NewLead")]
    pub type NewLeadArg;
    /// `LeadCommand` (core).
    #[wasm_bindgen(typescript_type = "LeadCommand")]
    pub type LeadCommandArg;
    /// `TeamCommand` (core).
    #[wasm_bindgen(typescript_type = "TeamCommand")]
    pub type TeamCommandArg;
    /// `ReplicaConfig` (binding).
    #[wasm_bindgen(typescript_type = "ReplicaConfig")]
    pub type ConfigArg;
    /// `StoredState` (binding).
    #[wasm_bindgen(typescript_type = "StoredState")]
    pub type StoredArg;
    /// `Effects` (binding).
    #[wasm_bindgen(typescript_type = "Effects")]
    pub type EffectsOut;
    /// `CreatedLead` (binding).
    #[wasm_bindgen(typescript_type = "CreatedLead")]
    pub type CreatedOut;
    /// `SyncStatus` (binding).
    #[wasm_bindgen(typescript_type = "SyncStatus")]
    pub type SyncStatusOut;
    /// `Team | undefined` (core).
    #[wasm_bindgen(typescript_type = "Team | undefined")]
    pub type TeamOut;
    /// `LeadFacts[]` (core).
    #[wasm_bindgen(typescript_type = "LeadFacts[]")]
    pub type FactsOut;
    /// `LeadState[]` (core).
    #[wasm_bindgen(typescript_type = "LeadState[]")]
    pub type StatesOut;
    /// `LeadView` (core).
    #[wasm_bindgen(typescript_type = "LeadView")]
    pub type LeadViewOut;
    /// `CallQueue | undefined` (core).
    #[wasm_bindgen(typescript_type = "CallQueue | undefined")]
    pub type CallQueueOut;
    /// `InboxItem[]` (core).
    #[wasm_bindgen(typescript_type = "InboxItem[]")]
    pub type InboxOut;
    /// `DayPlan | undefined` (core).
    #[wasm_bindgen(typescript_type = "DayPlan | undefined")]
    pub type DayPlanOut;
    /// `Analytics` (binding envelope of core types).
    #[wasm_bindgen(typescript_type = "Analytics")]
    pub type AnalyticsOut;
    /// `MissingRate[]` (core).
    #[wasm_bindgen(typescript_type = "MissingRate[]")]
    pub type MissingRatesOut;
}

/// A `TeamCommand` by its `type`, its fields decoded on their own: serde buffers a tagged
/// enum's fields and loses the path of a bad one, where the playbook decoded alone names it
/// (`playbook.exchange_rates[0].rate`, as the core's `invalid` errors do). Decoding the tagged
/// enum as well would compile the playbook's decoder twice into the module.
fn team_command(command: JsValue) -> Result<TeamCommand> {
    let field = |name: &str| {
        js_sys::Reflect::get(&command, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    };
    match field("type").as_string().as_deref() {
        Some("set_playbook") => Ok(TeamCommand::SetPlaybook {
            playbook: js::decode(field("playbook"), "playbook")?,
        }),
        other => Err(bad_input(
            "command.type",
            format!("{other:?} is not a team command; expected \"set_playbook\""),
        )),
    }
}

/// The version of the Fieldbook core compiled into this module.
#[wasm_bindgen(js_name = coreVersion)]
pub fn core_version() -> String {
    fieldbook_core::VERSION.to_owned()
}

/// A member's device: the core's replica. Open it once from what the host stored, then feed
/// it the socket's frames and the user's commands; carry out every returned `Effects`.
#[wasm_bindgen(js_name = Replica)]
#[derive(Debug)]
pub struct Replica {
    inner: replica::Replica,
    open_effects: Option<replica::Effects>,
}

type Result<T> = std::result::Result<T, Error>;

fn time(now: f64, field: &str) -> Result<DateTime<Utc>> {
    if !now.is_finite() {
        return Err(bad_input(
            field,
            "expected milliseconds since the epoch (Date.now())",
        ));
    }
    #[allow(clippy::cast_possible_truncation)] // checked finite; out of range is refused below
    DateTime::from_timestamp_millis(now.floor() as i64)
        .ok_or_else(|| bad_input(field, "time out of range"))
}

fn doc_id(text: &str, field: &str) -> Result<DocumentId> {
    text.parse()
        .map_err(|e| bad_input(field, format!("not a document id: {e}")))
}

/// 16 bytes from the platform's random source (the browser's crypto.getRandomValues).
fn random16() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the platform's random source is available");
    bytes
}

/// A fresh event id: 96 random bits as hex (ids only need to be unique per lead).
fn event_id() -> EventId {
    let bytes = random16();
    EventId(bytes[..12].iter().map(|b| format!("{b:02x}")).collect())
}

#[wasm_bindgen(js_class = Replica)]
impl Replica {
    /// Opens a replica from what the host stored (docs/wasm-api.md). The effects of opening
    /// (stale summaries ask for their documents) come from `openEffects()` once.
    pub fn open(config: ConfigArg, stored: StoredArg) -> std::result::Result<Replica, JsValue> {
        Self::open_inner(config.into(), stored.into()).map_err(Error::into_js)
    }

    fn open_inner(config: JsValue, stored: JsValue) -> Result<Replica> {
        let config: js::OpenConfig = js::decode(config, "config")?;
        let stored: js::Stored = js::decode(stored, "stored")?;
        let actor: [u8; 16] = config.actor.as_slice().try_into().map_err(|_| {
            bad_input(
                "config.actor",
                format!("expected 16 bytes, got {}", config.actor.len()),
            )
        })?;
        let pairs = |list: Vec<(String, serde_bytes::ByteBuf)>, what: &str| {
            list.into_iter()
                .enumerate()
                .map(|(i, (id, bytes))| {
                    Ok((
                        doc_id(&id, &format!("stored.{what}[{i}][0]"))?,
                        bytes.into_vec(),
                    ))
                })
                .collect::<Result<Vec<_>>>()
        };
        let summaries = pairs(stored.summaries, "summaries")?;
        let sync_states = pairs(stored.sync_states, "syncStates")?;
        let config = ReplicaConfig {
            team: TeamId(config.team),
            member: MemberId(config.member),
            actor,
            peer_id: config.peer_id,
        };
        let (inner, effects) = replica::Replica::open(
            config,
            stored.team_doc.as_deref().map(|b| b.as_slice()),
            stored.index_stored,
            &summaries,
            &sync_states,
        )?;
        Ok(Replica {
            inner,
            open_effects: Some(effects),
        })
    }

    /// The effects of opening (documents to load); empty after the first call.
    #[wasm_bindgen(js_name = openEffects)]
    pub fn open_effects(&mut self) -> std::result::Result<EffectsOut, JsValue> {
        let effects = self.open_effects.take().unwrap_or_default();
        js::effects(effects).map_err(Error::into_js)
    }

    /// A stored document's bytes (its chunks concatenated), as asked for by `needLoad`.
    pub fn loaded(
        &mut self,
        doc: &str,
        bytes: &[u8],
        now: f64,
    ) -> std::result::Result<EffectsOut, JsValue> {
        let mut run = || {
            let (id, now) = (doc_id(doc, "doc")?, time(now, "now")?);
            js::effects(self.inner.loaded(id, bytes, now)?)
        };
        run().map_err(Error::into_js)
    }

    /// Drops a document from memory (it stays stored); `false` while it is in use.
    pub fn evict(&mut self, doc: &str) -> std::result::Result<bool, JsValue> {
        let id = doc_id(doc, "doc").map_err(Error::into_js)?;
        Ok(self.inner.evict(&id))
    }

    /// Whether a document is in memory.
    #[wasm_bindgen(js_name = isLoaded)]
    pub fn is_loaded(&self, doc: &str) -> std::result::Result<bool, JsValue> {
        let id = doc_id(doc, "doc").map_err(Error::into_js)?;
        Ok(self.inner.is_loaded(&id))
    }

    /// The socket opened: send the returned frames on it.
    pub fn connect(&mut self, now: f64) -> std::result::Result<EffectsOut, JsValue> {
        let mut run = || js::effects(self.inner.connect(time(now, "now")?));
        run().map_err(Error::into_js)
    }

    /// One binary frame from the relay.
    pub fn receive(&mut self, frame: &[u8], now: f64) -> std::result::Result<EffectsOut, JsValue> {
        let mut run = || js::effects(self.inner.receive(frame, time(now, "now")?)?);
        run().map_err(Error::into_js)
    }

    /// Time passed: call at `nextDeadline()`.
    pub fn poll(&mut self, now: f64) -> std::result::Result<EffectsOut, JsValue> {
        let mut run = || js::effects(self.inner.poll(time(now, "now")?)?);
        run().map_err(Error::into_js)
    }

    /// When `poll` should be called next (ms since the epoch), if at all.
    #[wasm_bindgen(js_name = nextDeadline)]
    pub fn next_deadline(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // ms since the epoch are far below 2^53
        self.inner
            .next_deadline()
            .map(|t| t.timestamp_millis() as f64)
    }

    /// The socket closed.
    pub fn disconnected(&mut self) {
        self.inner.disconnected();
    }

    /// Syncs every document on the device, whatever the relay's index says.
    #[wasm_bindgen(js_name = syncAll)]
    pub fn sync_all(&mut self, now: f64) -> std::result::Result<EffectsOut, JsValue> {
        let mut run = || js::effects(self.inner.sync_all(time(now, "now")?)?);
        run().map_err(Error::into_js)
    }

    /// Where sync stands, for the indicator.
    #[wasm_bindgen(js_name = syncStatus)]
    pub fn sync_status(&self) -> std::result::Result<SyncStatusOut, JsValue> {
        let status = self.inner.sync_status();
        js::encode(&js::SyncStatus {
            state: status.state,
            unsynced: status.unsynced,
            in_flight: status.in_flight,
        })
        .map(JsCast::unchecked_into)
        .map_err(Error::into_js)
    }

    /// Creates a lead (validated by the core) in a new document whose id is drawn here;
    /// `input.id` is ignored.
    #[wasm_bindgen(js_name = createLead)]
    pub fn create_lead(
        &mut self,
        input: NewLeadArg,
        now: f64,
    ) -> std::result::Result<CreatedOut, JsValue> {
        let run = || {
            let input = js::decode(input.into(), "input")?;
            let now = time(now, "now")?;
            let (id, effects) = self
                .inner
                .create_lead(random16(), input, now, &mut event_id)?;
            js::encode(&js::Created {
                doc: id.to_string(),
                effects: js::effects_value(effects),
            })
        };
        run().map(JsCast::unchecked_into).map_err(Error::into_js)
    }

    /// Applies a command to a loaded lead; an error writes nothing.
    pub fn apply(
        &mut self,
        doc: &str,
        command: LeadCommandArg,
        now: f64,
    ) -> std::result::Result<EffectsOut, JsValue> {
        let run = || {
            let id = doc_id(doc, "doc")?;
            let command: LeadCommand = js::decode(command.into(), "command")?;
            let now = time(now, "now")?;
            js::effects(self.inner.apply(id, command, now, &mut event_id)?)
        };
        run().map_err(Error::into_js)
    }

    /// Applies a command to the team document (the playbook; managers and admins only).
    #[wasm_bindgen(js_name = applyTeam)]
    pub fn apply_team(
        &mut self,
        command: TeamCommandArg,
        now: f64,
    ) -> std::result::Result<EffectsOut, JsValue> {
        let run = || {
            let command = team_command(command.into())?;
            js::effects(self.inner.apply_team(command, time(now, "now")?)?)
        };
        run().map_err(Error::into_js)
    }

    /// The member using the device.
    pub fn member(&self) -> String {
        self.inner.member().to_string()
    }

    /// The team, once its document is on the device.
    pub fn team(&self) -> std::result::Result<TeamOut, JsValue> {
        js::encode(&self.inner.team())
            .map(JsCast::unchecked_into)
            .map_err(Error::into_js)
    }

    /// The members this member may create a lead for (ids, in the team document's order): a rep
    /// themselves, a manager themselves and their reps, an admin every rep and manager.
    #[wasm_bindgen(js_name = newLeadOwners)]
    pub fn new_lead_owners(&self) -> Vec<String> {
        self.inner
            .new_lead_owners()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// The team document's id.
    #[wasm_bindgen(js_name = teamDocId)]
    pub fn team_doc_id(&self) -> String {
        self.inner.team_doc_id().to_string()
    }

    /// The member's index document's id.
    #[wasm_bindgen(js_name = indexDocId)]
    pub fn index_doc_id(&self) -> String {
        self.inner.index_doc_id().to_string()
    }

    /// Every lead's summary facts (queue items' `lead_idx` index this list).
    pub fn facts(&self) -> std::result::Result<FactsOut, JsValue> {
        js::encode(self.inner.facts())
            .map(JsCast::unchecked_into)
            .map_err(Error::into_js)
    }

    /// Every lead's derived state at `now`, in the order of `facts()`.
    pub fn states(&self, now: f64) -> std::result::Result<StatesOut, JsValue> {
        let run = || js::encode(&self.inner.states(time(now, "now")?));
        run().map(JsCast::unchecked_into).map_err(Error::into_js)
    }

    /// A loaded lead for its card: the lead, its derived state at `now` (default: the
    /// browser's clock) and the number of events this version could not decode.
    pub fn lead(&self, doc: &str, now: Option<f64>) -> std::result::Result<LeadViewOut, JsValue> {
        let run = || {
            let id = doc_id(doc, "doc")?;
            let now = time(now.unwrap_or_else(js_sys::Date::now), "now")?;
            js::encode(&self.inner.lead_view(&id, now)?)
        };
        run().map(JsCast::unchecked_into).map_err(Error::into_js)
    }

    /// The member's call queue (R6) at `now`, customers' tiers from the team's R10 report;
    /// `undefined` before the team document arrives.
    #[wasm_bindgen(js_name = callQueue)]
    pub fn call_queue(&self, now: f64) -> std::result::Result<CallQueueOut, JsValue> {
        let run = || js::encode(&self.inner.queue(time(now, "now")?));
        run().map(JsCast::unchecked_into).map_err(Error::into_js)
    }

    /// The member's review inbox at `now` (empty for reps).
    pub fn inbox(&self, now: f64) -> std::result::Result<InboxOut, JsValue> {
        let run = || js::encode(&self.inner.inbox(time(now, "now")?));
        run().map(JsCast::unchecked_into).map_err(Error::into_js)
    }

    /// The currencies with amounts on the device that have no exchange rate into the team
    /// currency at `now` (the settings screen shows them as errors); empty before the team
    /// document arrives.
    #[wasm_bindgen(js_name = missingRates)]
    pub fn missing_rates(&self, now: f64) -> std::result::Result<MissingRatesOut, JsValue> {
        let run = || js::encode(&self.inner.missing_rates(time(now, "now")?));
        run().map(JsCast::unchecked_into).map_err(Error::into_js)
    }

    /// The member's day plan for `date` (`YYYY-MM-DD`, the member's local date) at `now`;
    /// `undefined` before the team document arrives.
    #[wasm_bindgen(js_name = dayPlan)]
    pub fn day_plan(&self, date: &str, now: f64) -> std::result::Result<DayPlanOut, JsValue> {
        let run = || {
            let date: NaiveDate = date
                .parse()
                .map_err(|e| bad_input("date", format!("expected YYYY-MM-DD: {e}")))?;
            js::encode(&self.inner.day_plan(date, time(now, "now")?))
        };
        run().map(JsCast::unchecked_into).map_err(Error::into_js)
    }

    /// The member's analytics at `now`: refusals (R8), funnel, speed to lead, tiers (R10)
    /// and the last months' tier cube. Throws `no_team` before the team document arrives.
    pub fn analytics(&self, now: f64) -> std::result::Result<AnalyticsOut, JsValue> {
        let run = || {
            let analytics = self
                .inner
                .analytics(time(now, "now")?)
                .ok_or(replica::ReplicaError::NoTeam)?;
            js::encode(&js::Analytics::from(&analytics))
        };
        run().map(JsCast::unchecked_into).map_err(Error::into_js)
    }
}
