// The contract between the engine (src/engine/: the host of the WASM replica — IndexedDB,
// WebSocket, clock, service worker) and the screens (src/ui/). The screens call only this.
// Domain types come from the generated wasm module's TypeScript (src/wasm/fieldbook_wasm.d.ts,
// built by `cargo xtask wasm`; see docs/wasm-api.md).

import type {
  CallQueue,
  DayPlan,
  InboxItem,
  Lead,
  LeadActions,
  LeadCommand,
  LeadFacts,
  LeadState,
  MissingRate,
  NewLead,
  RefusedChange,
  Team,
  TeamCommand,
} from "../wasm/fieldbook_wasm";

export type Role = "admin" | "manager" | "rep";

/** Who is signed in: decoded from the relay's token (`fb1.<base64url JSON>.<sig>`). */
export interface Session {
  token: string;
  team: string;
  member: string;
  role: Role;
  /** Expiry, Unix seconds. */
  exp: number;
}

export interface SyncInfo {
  state: "offline" | "connecting" | "syncing" | "online";
  /** Lead documents with changes the relay has not acknowledged. */
  unsynced: number;
  inFlight: number;
  /** Documents synced in this connection vs. documents to sync (progress of a first sync). */
  progress?: { done: number; total: number };
  /** Last connection problem (e.g. "token revoked"), for the indicator's tooltip. */
  lastError?: string;
  /** When the next reconnect attempt is due (ms since epoch), when offline. */
  retryAt?: number;
}

export interface LeadView {
  schema: number;
  lead: Lead;
  state: LeadState;
  undecodable: number;
  /** What the signed-in member may do with the lead (the core's write model decides). */
  actions: LeadActions;
}

/** A write of this device the relay refused (`Effects.refused`), until the member dismisses it. */
export interface RefusedWrite extends RefusedChange {
  /** Unique in this engine, for `dismissRefused`. */
  id: number;
  /** When the engine was told (ms since epoch). */
  at: number;
}

export type EngineEvent =
  | { type: "leads"; ids: string[] } // these leads changed (local command or sync)
  | { type: "team" } // team document changed (playbook, members)
  | { type: "refused" } // the list of refused writes changed
  | { type: "sync"; info: SyncInfo }; // sync indicator changed

export interface Engine {
  readonly session: Session;
  subscribe(listener: (event: EngineEvent) => void): () => void;
  syncInfo(): SyncInfo;
  team(): Team | undefined;
  facts(): LeadFacts[];
  /** Whom the member may create a lead for (the core's write model); empty before the team syncs. */
  newLeadOwners(): string[];
  /**
   * This device's writes the relay refused and the member has not dismissed, oldest first. The
   * same refusal told again (a held write offered on every connection) replaces its entry.
   */
  refusedWrites(): RefusedWrite[];
  dismissRefused(id: number): void;
  callQueue(now?: number): CallQueue | undefined;
  inbox(now?: number): InboxItem[];
  dayPlan(date: string, now?: number): DayPlan | undefined;
  analytics(now?: number): unknown;
  /** Loads the lead's document from IndexedDB when needed. */
  lead(id: string): Promise<LeadView>;
  /** Resolves after the new lead is durable in IndexedDB; rejects with FieldbookError. */
  createLead(input: Omit<NewLead, "id">): Promise<string>;
  /** Resolves after the change is durable in IndexedDB; rejects with FieldbookError. */
  apply(id: string, command: LeadCommand): Promise<void>;
  /**
   * Changes the team document (the playbook; managers and admins). Resolves after the change
   * is durable in IndexedDB; rejects with FieldbookError (`not_allowed` for a rep). Added after
   * the first version of this contract: optional, so that other implementations still fit.
   */
  applyTeam?(command: TeamCommand): Promise<void>;
  /**
   * The currencies of the leads on this device with amounts that have no exchange rate into
   * the team currency (settings errors). Added with the team currency: optional, like
   * `applyTeam`.
   */
  missingRates?(now?: number): MissingRate[];
  /** Reconnect now (skips the backoff wait). */
  reconnect(): void;
  /** Close the socket and stop timers (sign-out, tests). */
  close(): void;
}
