// The engine: the host of the WASM replica in the browser. It does the IO the replica asks for
// (IndexedDB, the WebSocket to the relay, the clock) and implements the screens' contract
// (./api.ts). It holds no domain logic.
//
// Ordering (docs/wasm-api.md, "Effects"): for every replica call, the writes are committed in
// one IndexedDB transaction, THEN the frames are sent, THEN the documents asked for are loaded.
// Every replica call and the IO that follows it runs in one serial queue, so a command and an
// incoming frame never interleave across an await. Incoming frames are taken in batches (group
// commit: one transaction for the writes of up to `FRAME_BATCH` frames, frames sent after it).

import init, { Replica } from "../wasm/fieldbook_wasm";
import type {
  CallQueue,
  DayPlan,
  Effects,
  InboxItem,
  LeadCommand,
  LeadFacts,
  MissingRate,
  NewLead,
  RefusedChange,
  Team,
  TeamCommand,
} from "../wasm/fieldbook_wasm";
import type { Engine, EngineEvent, LeadView, RefusedWrite, Session, SyncInfo } from "./api";
import { ReplicaDb, type ReadTimings, type StoredReplica, type Write } from "./idb";
import { isExpired } from "./session";

/** What every state-changing replica call returns (docs/wasm-api.md). */
export type { Effects };

/** The subset of a WebSocket the engine uses (tests pass a fake). */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onclose: ((ev: CloseEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => SocketLike;

export interface EngineOptions {
  /**
   * The relay's WebSocket URL (`ws(s)://host/sync`; `?token=` is added when missing). Default:
   * `/sync` on the page's origin. `null`: never connect (tests, benchmarks).
   */
  url?: string | null;
  /** Another IndexedDB (tests: fake-indexeddb). */
  indexedDB?: IDBFactory;
  /** Opens a socket (tests). Default: `new WebSocket(url)`. */
  socket?: SocketFactory;
  /** The clock, ms since the epoch (tests). */
  now?: () => number;
  /** Uniform [0, 1) for the reconnect jitter (tests). */
  random?: () => number;
  /** Reconnect backoff: first delay and cap, ms. Default 1 s → 30 s. */
  backoff?: { initialMs: number; maxMs: number };
  /** Lead documents kept in memory before the least recently used are evicted. */
  maxLoaded?: number;
  /** Whether the browser is online (tests). Default: `navigator.onLine`. */
  online?: () => boolean;
  /** HTTP fetch for asking the relay why a connection was refused (tests). */
  fetch?: (url: string, init?: RequestInit) => Promise<Response>;
  /**
   * Whether the relay can be reached now, asked before each connection attempt. Default: the
   * service worker's answer (GET /__fieldbook/reachable, public/sw-reachable.js) when a
   * service worker controls the page, else `true`.
   */
  reachable?: () => Promise<boolean>;
}

/** How long opening took (ms), for the cold-start benchmark. */
export interface OpenTimings {
  /** `init()` of the wasm module (fetch + compile + instantiate), in parallel with the DB open. */
  wasmInit: number;
  /** Opening the database and drawing/reading the device meta. */
  dbOpen: number;
  /** The read transaction of summaries, sync states and the team document. */
  idbRead: number;
  idbReadDetail: ReadTimings;
  /** `Replica.open` in wasm (decoding every summary and sync state, loading the team doc). */
  replicaOpen: number;
  /** Carrying out `openEffects()` (writes; loads are scheduled, not awaited). */
  openEffects: number;
  /** `openEngine` from call to resolved. */
  total: number;
  summaries: number;
  summaryBytes: number;
  syncStates: number;
  /** The last `apply`, from the call until its change was durable (committed), ms. */
  lastCommand?: number;
  /** The first `facts()` call (wasm + conversion to JS objects), ms. */
  facts?: number;
  /** The last `callQueue` call in wasm (ms) and its items. */
  callQueue?: number;
  callQueueItems?: number;
}

/** Frames handled per queue job (their writes commit in one transaction). */
export const FRAME_BATCH = 256;
/** Documents loaded from IndexedDB per queue job. */
export const LOAD_BATCH = 128;
/**
 * While the relay cannot be reached (the service worker's check), look again at least this
 * often: the check costs nothing and logs nothing, unlike a WebSocket attempt.
 */
export const REACHABILITY_RETRY_MS = 5_000;
/** Repack once the journal holds this many entries, or a quarter of what is packed. */
export const REPACK_MIN = 500;
/** No repack in the first moments after opening (ms). */
export const REPACK_SETTLE_MS = 5_000;
/** Repack a smaller journal after this long without writes (ms). */
export const REPACK_IDLE_MS = 10_000;

const OPEN = 1;
const CONNECTING = 0;

function emptyEffects(): Effects {
  return {
    writes: [],
    frames: [],
    needLoad: [],
    changed: [],
    teamChanged: false,
    close: false,
    errors: [],
    refused: [],
  };
}

function merge(into: Effects, from: Effects): void {
  for (const w of from.writes) into.writes.push(w);
  for (const f of from.frames) into.frames.push(f);
  for (const d of from.needLoad) if (!into.needLoad.includes(d)) into.needLoad.push(d);
  for (const d of from.changed) into.changed.push(d);
  into.teamChanged ||= from.teamChanged;
  into.close ||= from.close;
  for (const e of from.errors) into.errors.push(e);
  for (const r of from.refused) into.refused.push(r);
}

function errorKind(error: unknown): string | undefined {
  if (error && typeof error === "object" && "kind" in error) {
    const kind = (error as { kind: unknown }).kind;
    return typeof kind === "string" ? kind : undefined;
  }
  return undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `/sync` on the page's origin, over ws:// or wss://. */
export function defaultSyncUrl(): string {
  const secure = location.protocol === "https:";
  return `${secure ? "wss" : "ws"}://${location.host}/sync`;
}

/** The sync URL with the session's token as `?token=` (unless it has one). */
export function syncUrlWithToken(url: string, token: string): string {
  const u = new URL(url, typeof location === "undefined" ? undefined : location.href);
  if (!u.searchParams.has("token")) u.searchParams.set("token", token);
  return u.toString();
}

/**
 * Asks the service worker whether the relay can be reached (public/sw-reachable.js). Without a
 * controlling service worker there is nobody to ask quietly: `true`, and the attempt decides.
 */
async function swReachable(fetcher: EngineOptions["fetch"]): Promise<boolean> {
  if (typeof navigator === "undefined" || !navigator.serviceWorker?.controller || !fetcher) return true;
  const response = await fetcher("/__fieldbook/reachable", { cache: "no-store" });
  return response.headers.get("x-fieldbook-reachable") !== "0";
}

/** The version of the core's stored summary this file can read (core SUMMARY_VERSION). */
const SUMMARY_JSON_VERSION = 2;

/**
 * The facts of stored summaries, decoded in JS: the core stores a summary as JSON
 * `{v, playbook, heads, synced, chunks, undecodable, facts}` (docs/decisions.md, "The summary
 * is LeadFacts + heads …") and `facts` is exactly the JSON the binding would convert. One
 * JSON.parse of all of them takes ~50–100 ms for 10,000 leads where `Replica.facts()` takes
 * ~170–330 ms (bench/coldstart.mjs). Returns undefined (the caller asks the replica) for any
 * summary of another version or encoding.
 */
export function decodeFacts(summaries: readonly [string, Uint8Array][]): LeadFacts[] | undefined {
  try {
    let size = 2;
    for (const [, bytes] of summaries) size += bytes.byteLength + 1;
    const joined = new Uint8Array(size);
    joined[0] = 0x5b; // [
    let at = 1;
    summaries.forEach(([, bytes], i) => {
      joined.set(bytes, at);
      at += bytes.byteLength;
      if (i < summaries.length - 1) joined[at++] = 0x2c; // ,
    });
    joined[at++] = 0x5d; // ]
    const all = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(joined.subarray(0, at))) as {
      v?: unknown;
      facts?: LeadFacts;
    }[];
    if (!Array.isArray(all) || all.length !== summaries.length) return undefined;
    const facts: LeadFacts[] = new Array(all.length);
    for (let i = 0; i < all.length; i++) {
      const summary = all[i];
      if (summary?.v !== SUMMARY_JSON_VERSION || typeof summary.facts !== "object" || summary.facts === null) {
        return undefined;
      }
      facts[i] = summary.facts;
    }
    return facts;
  } catch {
    return undefined;
  }
}

let wasmReady: Promise<unknown> | undefined;

/** Initialises the wasm module once (a no-op when the host already did, e.g. `initSync`). */
export function initWasm(): Promise<unknown> {
  wasmReady ??= init();
  return wasmReady;
}

function mark(name: string, start: number, end: number = performance.now()): number {
  try {
    performance.measure(name, { start, end });
  } catch {
    // User timing unavailable: the figure is still returned.
  }
  return end - start;
}

/**
 * Opens the engine of `session`: the wasm module and the IndexedDB database (in parallel), the
 * stored replica, the open effects; then connects to the relay (unless `opts.url` is null).
 */
export async function openEngine(session: Session, opts: EngineOptions = {}): Promise<Engine & { readonly timings: OpenTimings }> {
  const t0 = performance.now();
  let wasmInit = 0;
  let dbOpen = 0;
  let idbRead = 0;
  // The wasm module compiles while the database opens and is read.
  const [, { db, stored: storedAtOpen, readDetail }] = await Promise.all([
    initWasm().then(() => {
      wasmInit = mark("fieldbook:wasm-init", t0);
    }),
    (async () => {
      const db = await ReplicaDb.open(session.team, session.member, { indexedDB: opts.indexedDB });
      dbOpen = mark("fieldbook:db-open", t0);
      const t1 = performance.now();
      try {
        const { stored, timings } = await db.readReplica();
        idbRead = mark("fieldbook:idb-read", t1);
        return { db, stored, readDetail: timings };
      } catch (error) {
        db.close();
        throw error;
      }
    })(),
  ]);

  let stored = storedAtOpen;
  const t2 = performance.now();
  const openReplica = (from: StoredReplica) => {
    try {
      return Replica.open(
        {
          team: session.team,
          member: session.member,
          actor: db.device.actor,
          peerId: db.device.peerId,
        },
        from,
      );
    } catch (error) {
      db.close();
      throw error;
    }
  };
  let replica = openReplica(stored);
  const ids = { teamDoc: replica.teamDocId(), indexDoc: replica.indexDocId() };
  if (!db.docIds) {
    await db.setDocIds(ids);
  } else if (db.docIds.teamDoc !== ids.teamDoc || db.docIds.indexDoc !== ids.indexDoc) {
    // Stored before the relay moved the team and index documents to their derived ids: the
    // stored bytes move to the new ids (same documents, same history), and the replica opens
    // again from them, so that it never reads the team document where it no longer grows.
    replica.free();
    try {
      await db.moveDocs(db.docIds, ids);
      ({ stored } = await db.readReplica());
    } catch (error) {
      db.close();
      throw error;
    }
    replica = openReplica(stored);
  }
  const replicaOpen = mark("fieldbook:replica-open", t2);
  const timings: OpenTimings = {
    wasmInit,
    dbOpen,
    idbRead,
    idbReadDetail: readDetail,
    replicaOpen,
    openEffects: 0,
    total: 0,
    ...storedSize(stored),
  };
  const engine = new EngineImpl(session, db, replica, opts, timings, stored.summaries);
  const t3 = performance.now();
  await engine.start(replica.openEffects());
  timings.openEffects = mark("fieldbook:open-effects", t3);
  timings.total = mark("fieldbook:open", t0);
  // For benchmarks and tests: the open engine and its timings.
  (globalThis as { __fieldbook?: unknown }).__fieldbook = { engine, timings };
  return engine;
}

function storedSize(stored: StoredReplica): { summaries: number; summaryBytes: number; syncStates: number } {
  let summaryBytes = 0;
  for (const [, bytes] of stored.summaries) summaryBytes += bytes.byteLength;
  return { summaries: stored.summaries.length, summaryBytes, syncStates: stored.syncStates.length };
}

class EngineImpl implements Engine {
  readonly session: Session;
  readonly timings: OpenTimings;
  private readonly db: ReplicaDb;
  private readonly replica: Replica;
  private readonly listeners = new Set<(event: EngineEvent) => void>();
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly isOnline: () => boolean;
  private readonly openSocket: SocketFactory | undefined;
  private readonly fetch: EngineOptions["fetch"];
  private readonly reachable: () => Promise<boolean>;
  /** A connection attempt is being prepared (the reachability check). */
  private starting = false;
  private readonly url: string | undefined;
  private readonly backoff: { initialMs: number; maxMs: number };
  private readonly maxLoaded: number;

  /** The serial queue of replica calls and their IO. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  /** Frames received and not yet handed to the replica, with the socket they came on. */
  private received: { socket: SocketLike; frame: Uint8Array }[] = [];
  private inboxScheduled = false;
  /** Documents the replica asked for (needLoad), loaded by a queue job in batches. */
  private pendingLoads = new Set<string>();
  private loadScheduled = false;
  /** Lead documents in memory, least recently used first (for eviction). */
  private lru = new Map<string, true>();

  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private pollAt: number | undefined;
  private pollScheduled = false;

  /** The current socket (connecting or open). */
  private socket: SocketLike | undefined;
  /** The socket the replica is connected on (set and cleared inside queue jobs only). */
  private replicaSocket: SocketLike | undefined;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retryAt: number | undefined;
  private lastError: string | undefined;
  /** The relay refused the token: no automatic retries until `reconnect()` or `online`. */
  private refused = false;

  private progressTotal = 0;
  private lastInFlight = 0;
  private lastSyncJson = "";
  private factsCache: LeadFacts[] | undefined;
  /**
   * The summaries `Replica.open` was given, in its order, until the replica changes one: the
   * first `facts()` decodes them in JS (see decodeFacts) instead of converting every fact out
   * of wasm.
   */
  private openSummaries: [string, Uint8Array][] | undefined;
  /** The facts list was decoded or patched in JS (checked against the queue's indexes). */
  private factsDecoded = false;
  /** Lead id → index in `factsCache`. */
  private factsIndex = new Map<string, number>();
  private teamCache: { team: Team | undefined } | undefined;
  /** Writes the relay refused, not yet dismissed (see `refusedWrites`). */
  private refusedList: RefusedWrite[] = [];
  private refusedSeq = 0;
  private callQueueMeasures = 0;
  private repackScheduled = false;
  private repackArmedAt = -1;
  private repackTimer: ReturnType<typeof setTimeout> | undefined;
  /** Summaries and sync states in the packs (after the last repack or at open). */
  private packed = 0;
  private readonly openedAt = performance.now();
  private jobs = 0;
  private jobsDone = 0;
  private currentJob: string | undefined;

  private readonly onOnline = () => {
    this.refused = false;
    this.attempt = 0;
    if (!this.socket) this.startSocket();
  };
  private readonly onOffline = () => {
    this.clearRetry();
    // Chromium keeps a socket open through an emulated (or brief) offline spell; the app says
    // offline and counts unsynced changes, so it closes it and reconnects on `online`.
    this.socket?.close(1000, "offline");
    this.emitSync();
  };

  constructor(
    session: Session,
    db: ReplicaDb,
    replica: Replica,
    opts: EngineOptions,
    timings: OpenTimings,
    openSummaries?: [string, Uint8Array][],
  ) {
    this.openSummaries = openSummaries;
    this.session = session;
    this.db = db;
    this.replica = replica;
    this.timings = timings;
    this.packed = Math.max(0, timings.summaries + timings.syncStates - db.journalEntries);
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.isOnline =
      opts.online ?? (() => (typeof navigator === "undefined" ? true : navigator.onLine !== false));
    this.backoff = opts.backoff ?? { initialMs: 1000, maxMs: 30_000 };
    this.maxLoaded = opts.maxLoaded ?? 300;
    if (opts.url === null) {
      this.url = undefined;
    } else {
      this.url = syncUrlWithToken(opts.url ?? defaultSyncUrl(), session.token);
    }
    this.fetch = opts.fetch ?? (typeof fetch === "undefined" ? undefined : (url, init) => fetch(url, init));
    this.reachable = opts.reachable ?? (() => swReachable(this.fetch));
    this.openSocket =
      opts.socket ?? (typeof WebSocket === "undefined" ? undefined : (url) => new WebSocket(url) as SocketLike);
  }

  /** Carries out the open effects and starts syncing. */
  async start(openEffects: Effects): Promise<void> {
    await this.run(() => this.carryOut(openEffects, "relaxed"));
    if (typeof window !== "undefined" && typeof window.addEventListener === "function") {
      window.addEventListener("online", this.onOnline);
      window.addEventListener("offline", this.onOffline);
    }
    if (this.url !== undefined && isExpired(this.session, this.now())) {
      this.lastError = "the login link has expired: ask your manager for a new one";
    }
    this.startSocket();
    this.emitSync();
  }

  // ---- the contract (api.ts) ----

  subscribe(listener: (event: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  syncInfo(): SyncInfo {
    const status = this.replica.syncStatus() as {
      state: SyncInfo["state"];
      unsynced: number;
      inFlight: number;
    };
    let state = status.state;
    if (state === "offline" && this.socket && this.socket.readyState === CONNECTING) {
      state = "connecting";
    }
    const info: SyncInfo = { state, unsynced: status.unsynced, inFlight: status.inFlight };
    if (this.replicaSocket && this.progressTotal > 0) {
      info.progress = {
        done: Math.max(0, this.progressTotal - status.inFlight),
        total: this.progressTotal,
      };
    }
    if (this.lastError !== undefined) info.lastError = this.lastError;
    if (state === "offline" && this.retryAt !== undefined) info.retryAt = this.retryAt;
    return info;
  }

  team(): Team | undefined {
    this.teamCache ??= { team: (this.replica.team() as Team | null | undefined) ?? undefined };
    return this.teamCache.team;
  }

  facts(): LeadFacts[] {
    if (!this.factsCache) {
      const start = performance.now();
      if (!this.materializeOpenFacts()) this.setFacts(this.replica.facts() as LeadFacts[], false);
      this.timings.facts ??= performance.now() - start;
    }
    return this.factsCache!;
  }

  /** The facts of the summaries read at open, decoded in JS, if that works. */
  private materializeOpenFacts(): boolean {
    const opened = this.openSummaries;
    this.openSummaries = undefined;
    const decoded = opened && decodeFacts(opened);
    if (!decoded) return false;
    this.setFacts(decoded, true);
    return true;
  }

  private setFacts(facts: LeadFacts[] | undefined, decoded: boolean): void {
    this.factsCache = facts;
    this.factsDecoded = facts !== undefined && decoded;
    this.factsIndex = new Map();
    facts?.forEach((f, i) => this.factsIndex.set(f.id, i));
  }

  /**
   * Keeps the facts list current without converting all of it out of wasm after every change:
   * each summary the replica writes carries the lead's new facts (the same value the replica
   * keeps), so they replace that lead's entry, or are appended for a new lead (the replica
   * appends new leads in the order it writes their summaries). Copy on write: a list handed out
   * never changes.
   */
  private patchFacts(writes: readonly Write[]): void {
    if (!this.factsCache && this.openSummaries) this.materializeOpenFacts();
    if (!this.factsCache) return;
    let next: LeadFacts[] | undefined;
    for (const write of writes) {
      if (write.op === "remove") {
        // The replica forgot the lead (a new lead the relay did not take): the list keeps the
        // replica's order without it.
        const i = this.factsIndex.get(write.doc);
        if (i === undefined) continue;
        next ??= this.factsCache.slice();
        next.splice(i, 1);
        this.factsIndex = new Map();
        next.forEach((f, j) => this.factsIndex.set(f.id, j));
        continue;
      }
      if (write.op !== "summary") continue;
      const facts = decodeFacts([[write.doc, write.bytes]])?.[0];
      if (!facts) {
        this.setFacts(undefined, false);
        return;
      }
      next ??= this.factsCache.slice();
      const i = this.factsIndex.get(facts.id);
      if (i === undefined) {
        this.factsIndex.set(facts.id, next.length);
        next.push(facts);
      } else {
        next[i] = facts;
      }
    }
    if (next) {
      this.factsCache = next;
      this.factsDecoded = true;
    }
  }

  newLeadOwners(): string[] {
    return this.replica.newLeadOwners();
  }

  refusedWrites(): RefusedWrite[] {
    return this.refusedList;
  }

  dismissRefused(id: number): void {
    const next = this.refusedList.filter((r) => r.id !== id);
    if (next.length === this.refusedList.length) return;
    this.refusedList = next;
    this.emit({ type: "refused" });
  }

  /** Keeps the refusals of `refused` for the screens; one told again replaces its entry. */
  private noteRefused(refused: readonly RefusedChange[]): void {
    if (refused.length === 0) return;
    const key = (r: RefusedChange) => JSON.stringify([r.doc, r.refusal, r.message, r.removed, r.held]);
    const next = [...this.refusedList];
    for (const change of refused) {
      const k = key(change);
      const entry: RefusedWrite = { ...change, id: ++this.refusedSeq, at: this.now() };
      const same = next.findIndex((r) => key(r) === k);
      if (same >= 0) next.splice(same, 1);
      next.push(entry);
      console.warn(`fieldbook sync: the relay refused a write of ${change.doc}: ${change.message}`);
    }
    this.refusedList = next;
    this.emit({ type: "refused" });
  }

  callQueue(now: number = this.now()): CallQueue | undefined {
    const start = performance.now();
    const queue = (this.replica.callQueue(now) as CallQueue | null | undefined) ?? undefined;
    const end = performance.now();
    this.timings.callQueue = end - start;
    // Facts decoded in JS must be the replica's list, in its order (items index it).
    if (queue && this.factsCache && this.factsDecoded) {
      for (const item of queue.items.slice(0, 16)) {
        if (this.factsCache[item.lead_idx]?.id !== item.lead) {
          console.warn("fieldbook: facts decoded in JS disagree with the replica; reading them from wasm");
          this.setFacts(undefined, false);
          break;
        }
      }
    }
    this.timings.callQueueItems = (queue as { items?: unknown[] } | undefined)?.items?.length;
    if (this.callQueueMeasures < 20) {
      this.callQueueMeasures++;
      mark("fieldbook:call-queue", start, end);
    }
    return queue;
  }

  inbox(now: number = this.now()): InboxItem[] {
    return this.replica.inbox(now) as InboxItem[];
  }

  dayPlan(date: string, now: number = this.now()): DayPlan | undefined {
    return (this.replica.dayPlan(date, now) as DayPlan | null | undefined) ?? undefined;
  }

  analytics(now: number = this.now()): unknown {
    return this.replica.analytics(now);
  }

  missingRates(now: number = this.now()): MissingRate[] {
    return this.replica.missingRates(now);
  }

  lead(id: string): Promise<LeadView> {
    return this.run(async () => {
      const view = (await this.withLoaded(id, () => this.replica.lead(id, this.now()))) as LeadView;
      this.touch(id);
      return view;
    });
  }

  createLead(input: Omit<NewLead, "id">): Promise<string> {
    return this.run(async () => {
      const { doc, effects } = this.replica.createLead(input as NewLead, this.now()) as {
        doc: string;
        effects: Effects;
      };
      this.touch(doc);
      await this.carryOut(effects, "strict");
      return doc;
    });
  }

  apply(id: string, command: LeadCommand): Promise<void> {
    const start = performance.now();
    return this.run(async () => {
      const effects = await this.withLoaded(id, () => this.replica.apply(id, command, this.now()));
      this.touch(id);
      await this.carryOut(effects, "strict", () => {
        this.timings.lastCommand = performance.now() - start;
      });
    }, "apply");
  }

  applyTeam(command: TeamCommand): Promise<void> {
    return this.run(async () => {
      await this.carryOut(this.replica.applyTeam(command, this.now()), "strict");
    }, "applyTeam");
  }

  reconnect(): void {
    if (this.closed) return;
    this.refused = false;
    this.attempt = 0;
    if (!this.socket) this.startSocket();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearRetry();
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    if (this.repackTimer !== undefined) clearTimeout(this.repackTimer);
    this.repackTimer = undefined;
    if (typeof window !== "undefined" && typeof window.removeEventListener === "function") {
      window.removeEventListener("online", this.onOnline);
      window.removeEventListener("offline", this.onOffline);
    }
    this.socket?.close(1000, "closed");
    // Work already queued finishes (its writes are durable); then the database closes.
    void this.tail.then(() => {
      if (this.replicaSocket) {
        this.replica.disconnected();
        this.replicaSocket = undefined;
      }
      this.db.close();
    });
    this.listeners.clear();
  }

  /** Resolves when every queued job has run (tests, benchmarks). */
  idle(): Promise<void> {
    const tail = this.tail;
    return tail.then(() => (this.tail === tail && this.pendingLoads.size === 0 ? undefined : this.idle()));
  }

  /** The engine's internals, for diagnosing a stalled sync (benchmarks, the console). */
  debugState(): Record<string, unknown> {
    return {
      jobs: this.jobs,
      jobsDone: this.jobsDone,
      currentJob: this.currentJob,
      received: this.received.length,
      inboxScheduled: this.inboxScheduled,
      pendingLoads: this.pendingLoads.size,
      loadScheduled: this.loadScheduled,
      pollAt: this.pollAt,
      nextDeadline: this.replica.nextDeadline(),
      socket: this.socket?.readyState,
      replicaConnected: this.replicaSocket !== undefined,
      attempt: this.attempt,
      retryAt: this.retryAt,
      lastError: this.lastError,
      lru: this.lru.size,
      journal: this.db.journalEntries,
      packed: this.packed,
      repackScheduled: this.repackScheduled,
      status: this.replica.syncStatus(),
    };
  }

  // ---- the serial queue ----

  private run<T>(job: () => Promise<T> | T, name = "job"): Promise<T> {
    this.jobs++;
    const result = this.tail.then(() => {
      this.currentJob = name;
      return job();
    });
    this.tail = result.then(
      () => this.afterJob(),
      () => this.afterJob(),
    );
    return result;
  }

  private afterJob(): void {
    this.jobsDone++;
    this.currentJob = undefined;
    if (this.closed) return;
    try {
      this.trackProgress();
      this.evict();
      this.maybeRepack();
      this.schedulePoll();
      this.emitSync();
    } catch (error) {
      console.error("fieldbook engine:", error);
    }
  }

  /** Runs a replica call; when it needs the document loaded, loads it and tries once more. */
  private async withLoaded<T>(id: string, call: () => T): Promise<T> {
    try {
      return call();
    } catch (error) {
      if (errorKind(error) !== "not_loaded") throw error;
    }
    const stored = await this.loadDocs([id]);
    if (!stored.has(id)) {
      // Not stored on this device (e.g. a new lead the relay refused, removed): the screens
      // say so as for any lead the device does not hold.
      throw Object.assign(new Error(`lead ${id} is not on this device`), { kind: "unknown_lead" });
    }
    return call();
  }

  /**
   * Reads documents from IndexedDB and hands them to the replica; carries out the effects.
   * Returns the ids found in IndexedDB.
   */
  private async loadDocs(ids: readonly string[]): Promise<ReadonlySet<string>> {
    const bytes = await this.db.load(ids);
    const effects = emptyEffects();
    const now = this.now();
    for (const id of ids) {
      const doc = bytes.get(id);
      if (!doc) {
        console.warn(`fieldbook: document ${id} was asked for but is not in IndexedDB`);
        continue;
      }
      try {
        merge(effects, this.replica.loaded(id, doc, now));
        this.touch(id);
      } catch (error) {
        console.warn(`fieldbook: document ${id} does not load: ${describe(error)}`);
      }
    }
    await this.carryOut(effects, "relaxed");
    return new Set(bytes.keys());
  }

  /**
   * The host's half of the contract for one set of effects: writes (one transaction, awaited),
   * then frames, then loads (scheduled). Events for the screens go out after the writes.
   */
  private async carryOut(
    effects: Effects,
    durability: "strict" | "relaxed",
    durable?: () => void,
  ): Promise<void> {
    const removed: string[] = [];
    if (effects.writes.length > 0) {
      await this.db.write(effects.writes, durability);
      this.patchFacts(effects.writes);
      for (const write of effects.writes) {
        if (write.op !== "remove") continue;
        removed.push(write.doc);
        this.lru.delete(write.doc);
        this.pendingLoads.delete(write.doc);
      }
    }
    durable?.();
    const socket = this.replicaSocket;
    if (socket && socket.readyState === OPEN) {
      for (const frame of effects.frames) socket.send(frame);
    }
    if (effects.close && socket) socket.close(1000, "closed by the replica");
    for (const error of effects.errors) console.warn("fieldbook sync:", error);
    if (effects.teamChanged) {
      // Facts change only with a summary (patched above), also after a new playbook.
      this.teamCache = undefined;
      this.emit({ type: "team" });
    }
    if (effects.changed.length > 0 || removed.length > 0) {
      const ids = [...new Set([...effects.changed, ...removed])];
      for (const id of effects.changed) if (!removed.includes(id)) this.touch(id);
      this.emit({ type: "leads", ids });
    }
    this.noteRefused(effects.refused);
    if (effects.needLoad.length > 0) {
      for (const id of effects.needLoad) this.pendingLoads.add(id);
      this.scheduleLoads();
    }
  }

  private scheduleLoads(): void {
    if (this.loadScheduled || this.pendingLoads.size === 0 || this.closed) return;
    this.loadScheduled = true;
    void this.run(async () => {
      this.loadScheduled = false;
      const ids: string[] = [];
      for (const id of this.pendingLoads) {
        ids.push(id);
        this.pendingLoads.delete(id);
        if (ids.length >= LOAD_BATCH) break;
      }
      await this.loadDocs(ids);
      this.scheduleLoads();
    }, "load").catch((error) => this.storageFailed(error));
  }

  private enqueueFrame(socket: SocketLike, frame: Uint8Array): void {
    this.received.push({ socket, frame });
    if (this.inboxScheduled) return;
    this.inboxScheduled = true;
    void this.run(() => this.drainInbox(), "frames").catch((error) => this.storageFailed(error));
  }

  private async drainInbox(): Promise<void> {
    this.inboxScheduled = false;
    const batch = this.received.splice(0, FRAME_BATCH);
    if (this.received.length > 0) {
      this.inboxScheduled = true;
      void this.run(() => this.drainInbox(), "frames").catch((error) => this.storageFailed(error));
    }
    const effects = emptyEffects();
    const now = this.now();
    for (const { socket, frame } of batch) {
      // Frames of an earlier connection are dropped: the replica has reset that connection.
      if (socket !== this.replicaSocket) continue;
      try {
        merge(effects, this.replica.receive(frame, now));
      } catch (error) {
        console.warn("fieldbook sync: a frame was refused:", describe(error));
      }
    }
    await this.carryOut(effects, "relaxed");
  }

  /** A write to IndexedDB failed: nothing more may be acknowledged on this connection. */
  private storageFailed(error: unknown): void {
    console.error("fieldbook: storing in IndexedDB failed:", error);
    this.lastError = `storage failed: ${describe(error)}`;
    this.socket?.close(1011, "storage failed");
    this.emitSync();
  }

  // ---- time ----

  private schedulePoll(): void {
    const deadline = (this.replica.nextDeadline() as number | null | undefined) ?? undefined;
    if (deadline === undefined || this.closed) {
      if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
      this.pollTimer = undefined;
      this.pollAt = undefined;
      return;
    }
    if (this.pollAt === deadline && this.pollTimer !== undefined) return;
    if (this.pollTimer !== undefined) clearTimeout(this.pollTimer);
    this.pollAt = deadline;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      this.pollAt = undefined;
      if (this.pollScheduled) return;
      this.pollScheduled = true;
      void this.run(async () => {
        this.pollScheduled = false;
        await this.carryOut(this.replica.poll(this.now()), "relaxed");
      }, "poll").catch((error) => this.storageFailed(error));
    }, Math.max(0, deadline - this.now()));
  }

  // ---- the connection ----

  private startSocket(): void {
    if (this.closed || this.url === undefined || !this.openSocket || this.socket || this.starting) return;
    if (isExpired(this.session, this.now())) {
      this.lastError = "the login link has expired: ask your manager for a new one";
      this.emitSync();
      return;
    }
    if (!this.isOnline()) {
      // No attempts while the browser says offline; the `online` event starts one.
      this.clearRetry();
      this.emitSync();
      return;
    }
    this.clearRetry();
    this.starting = true;
    void this.reachable()
      .catch(() => false)
      .then((reachable) => {
        this.starting = false;
        if (this.closed || this.socket) return;
        if (!reachable) {
          // Offline (whatever navigator.onLine says) or the relay is down: look again soon,
          // without an attempt that the browser would log as an error.
          this.lastError = "the relay cannot be reached";
          this.scheduleReconnect(REACHABILITY_RETRY_MS);
          return;
        }
        this.openSocketNow();
      });
  }

  private openSocketNow(): void {
    if (this.closed || this.url === undefined || !this.openSocket || this.socket) return;
    let socket: SocketLike;
    try {
      socket = this.openSocket(this.url);
    } catch (error) {
      this.lastError = describe(error);
      this.scheduleReconnect();
      return;
    }
    socket.binaryType = "arraybuffer";
    this.socket = socket;
    let opened = false;
    let answered = false;
    socket.onopen = () => {
      opened = true;
      void this.run(async () => {
        if (this.socket !== socket || this.closed) return;
        this.replicaSocket = socket;
        this.progressTotal = 0;
        this.lastInFlight = 0;
        await this.carryOut(this.replica.connect(this.now()), "relaxed");
      }, "connect").catch((error) => this.storageFailed(error));
    };
    socket.onmessage = (event: MessageEvent) => {
      if (!(event.data instanceof ArrayBuffer)) {
        console.warn("fieldbook sync: ignored a text frame from the relay");
        return;
      }
      if (!answered) {
        // The relay speaks: the connection works, the backoff starts over.
        answered = true;
        this.attempt = 0;
        this.lastError = undefined;
      }
      this.enqueueFrame(socket, new Uint8Array(event.data));
    };
    socket.onerror = () => {
      // The close event follows with what is known.
    };
    socket.onclose = (event: CloseEvent) => {
      if (this.socket === socket) this.socket = undefined;
      void this.run(() => {
        if (this.replicaSocket === socket) {
          this.replica.disconnected();
          this.replicaSocket = undefined;
          this.progressTotal = 0;
          this.lastInFlight = 0;
        }
      });
      if (this.closed) return;
      if (event.reason) this.lastError = event.reason;
      if (!opened && this.isOnline() && this.attempt === 0) {
        // The upgrade failed; a browser does not see why. Ask once per failure streak: the
        // relay answers a refused token with 401 and the reason before any upgrade.
        void this.probe().then(() => this.scheduleReconnect());
      } else {
        this.scheduleReconnect();
      }
    };
    this.emitSync();
  }

  private async probe(): Promise<void> {
    if (this.url === undefined || !this.fetch) return;
    const http = this.url.replace(/^ws/, "http");
    try {
      const response = await this.fetch(http, { cache: "no-store" });
      if (response.status === 401) {
        const reason = (await response.text()).trim();
        this.lastError = `the relay refused the login: ${reason || "unauthorised"}`;
        this.refused = true;
      } else {
        this.lastError = "could not open the sync connection";
      }
    } catch {
      this.lastError = "the relay cannot be reached";
    }
  }

  private scheduleReconnect(capMs: number = this.backoff.maxMs): void {
    this.clearRetry();
    if (this.closed || this.refused || this.socket || !this.isOnline()) {
      this.emitSync();
      return;
    }
    const base = Math.min(capMs, this.backoff.maxMs, this.backoff.initialMs * 2 ** this.attempt);
    // Jitter: a relay restart does not see every device come back in the same instant.
    const delay = Math.round(base / 2 + (this.random() * base) / 2);
    this.attempt++;
    this.retryAt = this.now() + delay;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.retryAt = undefined;
      this.startSocket();
    }, delay);
    this.emitSync();
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryAt = undefined;
  }

  // ---- bookkeeping ----

  /**
   * Keeps the journal of summaries and sync states short (see idb.ts): a repack when it
   * reaches a quarter of what is packed (so a first sync repacks O(log n) times), and after
   * a quiet spell.
   */
  private maybeRepack(): void {
    const journal = this.db.journalEntries;
    if (journal === 0 || this.repackScheduled || this.closed) return;
    // Not in the first seconds after opening: the first screen renders then.
    const settleIn = this.openedAt + REPACK_SETTLE_MS - performance.now();
    if (settleIn <= 0 && journal >= Math.max(REPACK_MIN, this.packed / 4)) {
      this.scheduleRepack();
      return;
    }
    // Otherwise after a quiet spell: the timer restarts only when something was written.
    if (this.repackTimer !== undefined && journal === this.repackArmedAt) return;
    if (this.repackTimer !== undefined) clearTimeout(this.repackTimer);
    this.repackArmedAt = journal;
    this.repackTimer = setTimeout(() => {
      this.repackTimer = undefined;
      if (this.db.journalEntries > 0) this.scheduleRepack();
    }, Math.max(settleIn, REPACK_IDLE_MS));
  }

  private scheduleRepack(): void {
    if (this.repackScheduled || this.closed) return;
    this.repackScheduled = true;
    if (this.repackTimer !== undefined) clearTimeout(this.repackTimer);
    this.repackTimer = undefined;
    void this.run(async () => {
      this.repackScheduled = false;
      try {
        const result = await this.db.repack();
        this.packed = result.summaries + result.syncStates;
      } catch (error) {
        // Not fatal: the journal keeps everything; the next repack tries again.
        console.warn("fieldbook: repacking summaries failed:", describe(error));
      }
    }, "repack");
  }

  private trackProgress(): void {
    if (!this.replicaSocket) return;
    const { inFlight } = this.replica.syncStatus() as { inFlight: number };
    if (inFlight > this.lastInFlight) this.progressTotal += inFlight - this.lastInFlight;
    this.lastInFlight = inFlight;
  }

  private touch(id: string): void {
    this.lru.delete(id);
    this.lru.set(id, true);
  }

  /** Keeps at most `maxLoaded` lead documents in memory (they stay in IndexedDB). */
  private evict(): void {
    if (this.lru.size <= this.maxLoaded) return;
    const keep = new Set([this.db.docIds?.teamDoc, this.db.docIds?.indexDoc]);
    let excess = this.lru.size - this.maxLoaded;
    for (const id of [...this.lru.keys()]) {
      if (excess <= 0) break;
      if (keep.has(id)) {
        this.lru.delete(id);
        continue;
      }
      if (!this.replica.isLoaded(id) || this.replica.evict(id)) {
        this.lru.delete(id);
        excess--;
      }
    }
  }

  private emit(event: EngineEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        console.error("fieldbook: a listener failed:", error);
      }
    }
  }

  private emitSync(): void {
    if (this.closed) return;
    const info = this.syncInfo();
    const json = JSON.stringify(info);
    if (json === this.lastSyncJson) return;
    this.lastSyncJson = json;
    this.emit({ type: "sync", info });
  }
}
