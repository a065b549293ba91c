// Domain types for the screens: the core's serde JSON shapes as the generated WASM module types
// them (ts-rs, see docs/wasm-api.md). `Engine.analytics()` returns `unknown` in the engine
// contract; the screens read it as the binding's `Analytics`.

export type {
  Analytics,
  CallQueue,
  Count,
  CountRow,
  DayPlan,
  InboxItem,
  Lead,
  LeadCommand,
  LeadFacts,
  LeadState,
  MissingRate,
  Money,
  NewLead,
  Period,
  Playbook,
  RefusalReport,
  Team,
  Tier as TierName,
} from "../wasm/fieldbook_wasm";
