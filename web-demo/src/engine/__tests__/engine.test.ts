// @vitest-environment node
/// <reference types="node" />
// The engine against the real wasm replica (initSync from src/wasm, built by `cargo xtask
// wasm`), fake-indexeddb and a fake WebSocket.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { IDBFactory } from "fake-indexeddb";
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { initSync } from "../../wasm/fieldbook_wasm";
import type { Engine, EngineEvent, Session } from "../api";
import { decodeFacts, openEngine, type EngineOptions, type SocketLike } from "../engine";
import { ReplicaDb } from "../idb";

const here = path.dirname(fileURLToPath(import.meta.url));
const WASM = path.resolve(here, "../../wasm/fieldbook_wasm_bg.wasm");
const TEAM_DOC = fs.readFileSync(path.join(here, "fixtures/demo-team.automerge"));

beforeAll(() => {
  if (!fs.existsSync(WASM)) {
    throw new Error(`${WASM} is missing: build the wasm module first (cargo xtask wasm)`);
  }
  initSync({ module: fs.readFileSync(WASM) });
});

const session: Session = {
  token: "fb1.eyJ0ZWFtIjoiZGVtbyJ9.sig",
  team: "demo",
  member: "r-yossi",
  role: "rep",
  exp: Math.floor(Date.now() / 1000) + 86_400,
};

let factory: IDBFactory;
let engines: Engine[] = [];
beforeEach(() => {
  factory = new IDBFactory();
});
afterEach(() => {
  for (const e of engines) e.close();
  engines = [];
  vi.restoreAllMocks();
});

async function open(opts: EngineOptions = {}) {
  const engine = await openEngine(session, { url: null, indexedDB: factory, ...opts });
  engines.push(engine);
  return engine;
}

/** A device that has the demo team's document (as after a first sync). */
async function withTeam(opts: EngineOptions = {}) {
  const first = await open();
  first.close();
  engines = [];
  const db = await ReplicaDb.open("demo", "r-yossi", { indexedDB: factory });
  await db.write([{ op: "replace", doc: db.docIds!.teamDoc, bytes: new Uint8Array(TEAM_DOC) }]);
  db.close();
  return open(opts);
}

const newLead = {
  company: "Kibbutz Solar Ltd",
  contact: "Noa Levi",
  phone: "+972-50-555-0101",
  source: "website",
  products: [],
  owner: "r-yossi",
} as const;

function idle(engine: Engine): Promise<void> {
  return (engine as unknown as { idle(): Promise<void> }).idle();
}

describe("engine: storage", () => {
  it("opens an empty device and records the team and index document ids", async () => {
    const engine = await open();
    expect(engine.team()).toBeUndefined();
    expect(engine.facts()).toEqual([]);
    expect(engine.callQueue()).toBeUndefined();
    expect(engine.syncInfo()).toMatchObject({ state: "offline", unsynced: 0 });
    const db = await ReplicaDb.open("demo", "r-yossi", { indexedDB: factory });
    expect(db.docIds?.teamDoc).toMatch(/^[1-9A-HJ-NP-Za-km-z]+$/);
    expect(db.docIds?.indexDoc).not.toBe(db.docIds?.teamDoc);
    db.close();
  });

  it("refuses a command before the team document arrives, and writes nothing", async () => {
    const engine = await open();
    await expect(engine.createLead(newLead as never)).rejects.toMatchObject({ kind: "no_team" });
    const db = await ReplicaDb.open("demo", "r-yossi", { indexedDB: factory });
    expect((await db.readReplica()).stored.summaries).toEqual([]);
    db.close();
  });

  it("creates a lead durably before resolving, and tells the screens", async () => {
    const engine = await withTeam();
    expect(engine.team()?.members.map((m) => m.id)).toContain("r-yossi");
    const events: EngineEvent[] = [];
    engine.subscribe((e) => events.push(e));
    const id = await engine.createLead(newLead as never);
    // Durable: another connection sees the document and its summary at once.
    const db = await ReplicaDb.open("demo", "r-yossi", { indexedDB: factory });
    const { stored } = await db.readReplica();
    expect(stored.summaries.map(([doc]) => doc)).toEqual([id]);
    expect(await db.chunkCount(id)).toBe(1);
    db.close();
    expect(events).toContainEqual({ type: "leads", ids: [id] });
    expect(engine.facts().map((f) => f.id)).toEqual([id]);
    expect(engine.syncInfo().unsynced).toBe(1);
    const queue = engine.callQueue();
    expect(queue?.items.length).toBeGreaterThan(0);
  });

  it("reopens from IndexedDB (a reload) and loads a document on demand to apply a command", async () => {
    let engine = await withTeam();
    const id = await engine.createLead(newLead as never);
    engine.close();
    engines = [];

    engine = await open();
    expect(engine.facts().map((f) => f.id)).toEqual([id]);
    expect(engine.team()).toBeDefined();
    // The document is not in memory after a reload: apply loads it and retries.
    await engine.apply(id, { type: "log_attempt", channel: "call", outcome: "no_answer" });
    const view = await engine.lead(id);
    expect(view.lead.company).toBe("Kibbutz Solar Ltd");
    const kinds = view.lead.events.map((e) => (e as { type: string }).type);
    expect(kinds.sort()).toEqual(["attempt", "created"]);

    const db = await ReplicaDb.open("demo", "r-yossi", { indexedDB: factory });
    expect(await db.chunkCount(id)).toBe(2);
    db.close();
    engine.close();
    engines = [];
    engine = await open();
    expect((await engine.lead(id)).lead.events.length).toBe(2);
  });

  it("decodes the stored facts at open exactly as the replica converts them", async () => {
    let engine = await withTeam();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await engine.createLead({ ...newLead, company: `שמש ${i} בע"מ`, contact: `Dana ${i}` } as never));
    }
    await engine.apply(ids[1], { type: "log_attempt", channel: "call", outcome: "voicemail" });
    await engine.apply(ids[2], {
      type: "log_conversation",
      kind: "call",
      notes: "wants numbers",
      needs: "lower bills",
      ended: "next_step",
      next_step: { kind: "visit", due: new Date(Date.now() + 86_400_000).toISOString(), agreed: true },
    } as never);
    engine.close();
    engines = [];

    engine = await open();
    const internals = engine as unknown as { replica: { facts(): unknown }; factsDecoded: boolean };
    const facts = engine.facts();
    expect(internals.factsDecoded).toBe(true);
    expect(facts).toEqual(internals.replica.facts());
    expect(JSON.stringify(facts)).toBe(JSON.stringify(internals.replica.facts()));
    expect(facts.map((f) => f.id).sort()).toEqual([...ids].sort());
    // The queue's indexes point into the decoded list.
    const queue = engine.callQueue()!;
    expect(queue.items.length).toBeGreaterThan(0);
    for (const item of queue.items) expect(facts[item.lead_idx].id).toBe(item.lead);
    expect(internals.factsDecoded).toBe(true);

    // Changes patch the list from the summaries they write (a new list each time), in the
    // replica's order: changed leads in place, new leads at the end.
    const before = engine.facts();
    const beforeJson = JSON.stringify(before);
    await engine.apply(ids[0], { type: "log_attempt", channel: "call", outcome: "busy" });
    const newId = await engine.createLead({ ...newLead, company: "Last Ltd" } as never);
    await engine.apply(ids[3], { type: "request_materials", materials: ["price_list"] } as never);
    const after = engine.facts();
    expect(after).not.toBe(before);
    expect(JSON.stringify(before)).toBe(beforeJson);
    expect(after).toEqual(internals.replica.facts());
    expect(after[after.length - 1].id).toBe(newId);
    expect(internals.factsDecoded).toBe(true);
    for (const item of engine.callQueue()!.items) expect(after[item.lead_idx].id).toBe(item.lead);
  });

  it("leaves summaries it cannot read to the replica", () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    expect(decodeFacts([["a", enc('{"v":2,"facts":{"id":"a"}}')]])).toEqual([{ id: "a" }]);
    expect(decodeFacts([])).toEqual([]);
    // Another version of the core's summary (an older fold, or a newer one).
    expect(decodeFacts([["a", enc('{"v":1,"facts":{"id":"a"}}')]])).toBeUndefined();
    expect(decodeFacts([["a", enc('{"v":3,"facts":{"id":"a"}}')]])).toBeUndefined();
    expect(decodeFacts([["a", enc('{"v":2}')]])).toBeUndefined();
    expect(decodeFacts([["a", new Uint8Array([0x92, 0x01, 0xff])]])).toBeUndefined();
  });

  it("rejects an invalid command with the field, and writes nothing", async () => {
    const engine = await withTeam();
    const id = await engine.createLead(newLead as never);
    const db = await ReplicaDb.open("demo", "r-yossi", { indexedDB: factory });
    const before = (await db.readReplica()).stored.summaries;
    const error = await engine
      .apply(id, {
        type: "log_conversation",
        kind: "call",
        notes: "talked",
        needs: "",
        ended: "next_step",
      } as never)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as { kind: string }).kind).toMatch(/missing|invalid|bad_input/);
    expect((error as { field?: string }).field).toBeTruthy();
    expect(await db.chunkCount(id)).toBe(1);
    expect((await db.readReplica()).stored.summaries).toEqual(before);
    db.close();
  });

  it("lets a manager change the playbook (durable, tells the screens) and refuses a rep", async () => {
    const rep = await withTeam();
    const team = rep.team()!;
    const playbook = { ...team.playbook, cadence: { ...team.playbook.cadence, max_attempts: team.playbook.cadence.max_attempts + 1 } };
    await expect(rep.applyTeam!({ type: "set_playbook", playbook })).rejects.toMatchObject({ kind: "not_allowed" });
    rep.close();
    engines = [];

    const managerSession = { ...session, member: "m-dana", role: "manager" as const };
    const first = await openEngine(managerSession, { url: null, indexedDB: factory });
    first.close();
    const db = await ReplicaDb.open("demo", "m-dana", { indexedDB: factory });
    await db.write([{ op: "replace", doc: db.docIds!.teamDoc, bytes: new Uint8Array(TEAM_DOC) }]);
    db.close();
    let manager = await openEngine(managerSession, { url: null, indexedDB: factory });
    engines.push(manager);
    const events: EngineEvent[] = [];
    manager.subscribe((e) => events.push(e));
    await manager.applyTeam!({ type: "set_playbook", playbook });
    expect(events).toContainEqual({ type: "team" });
    expect(manager.team()!.playbook.cadence.max_attempts).toBe(playbook.cadence.max_attempts);
    manager.close();
    engines = [];
    manager = await openEngine(managerSession, { url: null, indexedDB: factory });
    engines.push(manager);
    expect(manager.team()!.playbook.cadence.max_attempts).toBe(playbook.cadence.max_attempts);
  });

  it("moves the team and index documents stored at their ids from before the reserved space, and reads the team document there", async () => {
    // A device that stored its data before the relay moved its derived documents: `meta.docs`
    // names the old ids and the team document's chunks (and its sync state, here packed) are
    // stored under them.
    const OLD = { teamDoc: "2jeztBUQpg4cUhAei3ZZAkPd3KYj", indexDoc: "4NuQdVBBrrFqPeK2ZEcGqPZ7wh5t" };
    const managerSession = { ...session, member: "m-dana", role: "manager" as const };
    let db = await ReplicaDb.open("demo", "m-dana", { indexedDB: factory });
    await db.setDocIds(OLD);
    await db.write([
      { op: "replace", doc: OLD.teamDoc, bytes: new Uint8Array(TEAM_DOC) },
      { op: "syncState", doc: OLD.teamDoc, bytes: new Uint8Array([0x43, 0x00]) },
    ]);
    await db.repack();
    db.close();

    let manager = await openEngine(managerSession, { url: null, indexedDB: factory });
    engines.push(manager);
    const team = manager.team();
    expect(team?.members.map((m) => m.id)).toContain("m-dana");
    db = await ReplicaDb.open("demo", "m-dana", { indexedDB: factory });
    const ids = db.docIds!;
    expect(ids.teamDoc).not.toBe(OLD.teamDoc);
    expect(ids.indexDoc).not.toBe(OLD.indexDoc);
    expect(await db.chunkCount(OLD.teamDoc)).toBe(0);
    expect(await db.chunkCount(ids.teamDoc)).toBe(1);
    expect((await db.readReplica()).stored.syncStates).toEqual([[ids.teamDoc, new Uint8Array([0x43, 0x00])]]);
    db.close();

    // The team document grows at its new id and is read from there after a reload: a new
    // playbook survives (the old id would still hold the old one).
    const playbook = { ...team!.playbook, cadence: { ...team!.playbook.cadence, max_attempts: 9 } };
    await manager.applyTeam!({ type: "set_playbook", playbook });
    manager.close();
    engines = [];
    manager = await openEngine(managerSession, { url: null, indexedDB: factory });
    engines.push(manager);
    expect(manager.team()!.playbook.cadence.max_attempts).toBe(9);
    db = await ReplicaDb.open("demo", "m-dana", { indexedDB: factory });
    expect(db.docIds).toEqual(ids);
    expect(await db.chunkCount(OLD.teamDoc)).toBe(0);
    db.close();
  });

  it("offers the core's new-lead owners and lead actions", async () => {
    const rep = await withTeam();
    expect(rep.newLeadOwners()).toEqual(["r-yossi"]);
    const id = await rep.createLead(newLead as never);
    const { actions } = await rep.lead(id);
    expect(actions).toMatchObject({ work: true, review: false, override_status: false, reassign_to: [] });
  });

  it("rejects a command on an unknown lead", async () => {
    const engine = await withTeam();
    await expect(
      engine.apply("2jeztBUQpg4cUhAei3ZZAkPd3KYj", { type: "log_attempt", channel: "call", outcome: "busy" }),
    ).rejects.toMatchObject({ kind: "unknown_lead" });
  });

  it("serialises commands: concurrent commands on one lead all land, in order", async () => {
    const engine = await withTeam();
    const id = await engine.createLead(newLead as never);
    await Promise.all(
      ["no_answer", "busy", "voicemail"].map((outcome) =>
        engine.apply(id, { type: "log_attempt", channel: "call", outcome } as never),
      ),
    );
    const view = await engine.lead(id);
    expect(view.lead.events.length).toBe(4);
  });
});

// ---- the connection ----

/** Minimal CBOR (text strings, booleans, maps): the relay's `peer` answer. */
function cbor(value: unknown): number[] {
  const head = (major: number, n: number): number[] =>
    n < 24 ? [(major << 5) | n] : n < 256 ? [(major << 5) | 24, n] : [(major << 5) | 25, n >> 8, n & 255];
  if (typeof value === "string") {
    const bytes = [...new TextEncoder().encode(value)];
    return [...head(3, bytes.length), ...bytes];
  }
  if (typeof value === "boolean") return [value ? 0xf5 : 0xf4];
  if (value && typeof value === "object") {
    const entries = Object.entries(value);
    return [...head(5, entries.length), ...entries.flatMap(([k, v]) => [...cbor(k), ...cbor(v)])];
  }
  throw new Error(`cbor: ${String(value)}`);
}

class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  binaryType = "blob";
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  onclose: ((ev: CloseEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  sent: Uint8Array[] = [];
  closedWith: [number?, string?] | undefined;
  constructor(
    readonly url: string,
    readonly log: string[],
  ) {
    FakeSocket.all.push(this);
  }
  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
  }
  deliver(bytes: number[] | Uint8Array) {
    const buf = new Uint8Array(bytes).buffer;
    this.onmessage?.({ data: buf } as MessageEvent);
  }
  fail(reason = "") {
    this.readyState = 3;
    this.onclose?.({ code: 1006, reason } as CloseEvent);
  }
  send(data: Uint8Array) {
    this.log.push("send");
    this.sent.push(data);
  }
  close(code?: number, reason?: string) {
    this.closedWith = [code, reason];
    this.fail();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: () => boolean, ms = 2000) {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error("timed out");
    await sleep(2);
  }
}

describe("engine: connection", () => {
  let log: string[];
  let online: boolean;
  let win: EventTarget;
  beforeEach(() => {
    FakeSocket.all = [];
    log = [];
    online = true;
    win = new EventTarget();
    (globalThis as { window?: unknown }).window = win;
    // Record each committed transaction in the same log as the frames sent.
    const write = ReplicaDb.prototype.write;
    vi.spyOn(ReplicaDb.prototype, "write").mockImplementation(async function (this: ReplicaDb, w, d) {
      await write.call(this, w, d);
      log.push(`commit:${d}`);
    });
  });
  afterEach(() => {
    delete (globalThis as { window?: unknown }).window;
  });

  const socketOpts = (extra: EngineOptions = {}): EngineOptions => ({
    url: "ws://relay.test/sync",
    socket: (url) => new FakeSocket(url, log),
    online: () => online,
    backoff: { initialMs: 20, maxMs: 80 },
    random: () => 1,
    // The relay accepts the token (a plain GET of /sync is not an upgrade: 400).
    fetch: async () => new Response("not a websocket upgrade", { status: 400 }),
    ...extra,
  });

  it("connects to /sync with the token, sends join on open, and commits before it sends", async () => {
    const engine = await withTeam(socketOpts());
    const socket = FakeSocket.all[0];
    expect(socket.url).toBe(`ws://relay.test/sync?token=${encodeURIComponent(session.token)}`);
    expect(socket.binaryType).toBe("arraybuffer");
    expect(engine.syncInfo().state).toBe("connecting");
    socket.open();
    await until(() => socket.sent.length === 1);
    const db = await ReplicaDb.open("demo", "r-yossi", { indexedDB: factory });
    const peerId = db.device.peerId;
    db.close();
    expect(new TextDecoder().decode(socket.sent[0])).toContain("join");
    expect(new TextDecoder().decode(socket.sent[0])).toContain(peerId);

    // The relay answers: the replica syncs the team and index documents.
    socket.deliver(
      cbor({
        type: "peer",
        senderId: "relay",
        selectedProtocolVersion: "1",
        targetId: peerId,
        peerMetadata: { isEphemeral: false },
      }),
    );
    await until(() => socket.sent.length >= 3);
    await idle(engine);
    expect(["online", "syncing"]).toContain(engine.syncInfo().state);
    expect(engine.syncInfo().progress?.total).toBeGreaterThanOrEqual(2);

    // A command while connected: its transaction commits, then its frames go out.
    log.length = 0;
    const id = await engine.createLead(newLead as never);
    expect(id).toBeTruthy();
    const commit = log.indexOf("commit:strict");
    expect(commit).toBeGreaterThanOrEqual(0);
    expect(log.slice(commit + 1)).toContain("send");
    expect(log.slice(0, commit)).not.toContain("send");
  });

  it("reconnects with exponential backoff and jitter, capped", async () => {
    const clock = Date.UTC(2026, 10, 23, 9, 0, 0);
    const engine = await withTeam(socketOpts({ now: () => clock }));
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      FakeSocket.all[i].fail();
      // The first failure of a streak asks the relay why (a fetch) before it schedules.
      await until(() => engine.syncInfo().retryAt !== undefined);
      delays.push(engine.syncInfo().retryAt! - clock);
      await until(() => FakeSocket.all.length === i + 2, 1000);
    }
    // random() = 1: each delay is the full base: 20, 40, 80, then capped at 80.
    expect(delays).toEqual([20, 40, 80, 80, 80]);
    expect(engine.syncInfo().state).toBe("connecting");
  });

  it("uses half the base delay at the low end of the jitter", async () => {
    const clock = Date.UTC(2026, 10, 23, 9, 0, 0);
    const engine = await withTeam(
      socketOpts({ now: () => clock, random: () => 0, backoff: { initialMs: 1000, maxMs: 30_000 } }),
    );
    FakeSocket.all[0].fail();
    await until(() => engine.syncInfo().retryAt !== undefined);
    expect(engine.syncInfo().retryAt! - clock).toBe(500);
  });

  it("makes no attempt while offline, and connects at once when the browser is online", async () => {
    online = false;
    const engine = await withTeam(socketOpts({ backoff: { initialMs: 60_000, maxMs: 60_000 } }));
    expect(FakeSocket.all.length).toBe(0);
    expect(engine.syncInfo()).toMatchObject({ state: "offline" });
    expect(engine.syncInfo().retryAt).toBeUndefined();
    // Work offline: durable, counted as unsynced.
    await engine.createLead(newLead as never);
    expect(engine.syncInfo()).toMatchObject({ state: "offline", unsynced: 1 });
    online = true;
    win.dispatchEvent(new Event("online"));
    await until(() => FakeSocket.all.length === 1);
  });

  it("makes no attempt while the relay cannot be reached, and looks again within 5 s", async () => {
    const clock = Date.UTC(2026, 10, 23, 9, 0, 0);
    let reachable = false;
    const engine = await withTeam(
      socketOpts({
        now: () => clock,
        backoff: { initialMs: 20_000, maxMs: 30_000 },
        reachable: async () => reachable,
      }),
    );
    await until(() => engine.syncInfo().retryAt !== undefined);
    expect(FakeSocket.all.length).toBe(0);
    expect(engine.syncInfo()).toMatchObject({ state: "offline", lastError: "the relay cannot be reached" });
    // random() = 1: the whole capped delay.
    expect(engine.syncInfo().retryAt! - clock).toBe(5_000);
    reachable = true;
    engine.reconnect();
    await until(() => FakeSocket.all.length === 1);
  });

  it("closes the socket when the browser goes offline, and does not retry until online", async () => {
    const engine = await withTeam(socketOpts());
    FakeSocket.all[0].open();
    await idle(engine);
    online = false;
    win.dispatchEvent(new Event("offline"));
    expect(FakeSocket.all[0].closedWith?.[1]).toBe("offline");
    await sleep(150);
    expect(FakeSocket.all.length).toBe(1);
    expect(engine.syncInfo().state).toBe("offline");
    online = true;
    win.dispatchEvent(new Event("online"));
    await until(() => FakeSocket.all.length === 2);
  });

  it("reconnect() skips the backoff wait", async () => {
    const engine = await withTeam(socketOpts({ backoff: { initialMs: 60_000, maxMs: 60_000 } }));
    FakeSocket.all[0].fail();
    await until(() => engine.syncInfo().retryAt !== undefined);
    expect(engine.syncInfo().retryAt).toBeGreaterThan(Date.now() + 1000);
    engine.reconnect();
    await until(() => FakeSocket.all.length === 2);
  });

  it("stops retrying when the relay refuses the token, and says why", async () => {
    const urls: string[] = [];
    const engine = await withTeam(
      socketOpts({
        fetch: async (url) => {
          urls.push(url);
          return new Response("token revoked\n", { status: 401 });
        },
      }),
    );
    FakeSocket.all[0].fail();
    await until(() => engine.syncInfo().lastError !== undefined);
    expect(urls).toEqual([`http://relay.test/sync?token=${encodeURIComponent(session.token)}`]);
    expect(engine.syncInfo().lastError).toBe("the relay refused the login: token revoked");
    expect(engine.syncInfo().retryAt).toBeUndefined();
    await sleep(100);
    expect(FakeSocket.all.length).toBe(1);
    // The user (or the browser coming online) asks again.
    engine.reconnect();
    await until(() => FakeSocket.all.length === 2);
  });

  it("shows the relay's close reason", async () => {
    const engine = await withTeam(socketOpts());
    FakeSocket.all[0].open();
    await idle(engine);
    FakeSocket.all[0].fail("token revoked");
    await idle(engine);
    expect(engine.syncInfo()).toMatchObject({ state: "offline", lastError: "token revoked" });
    expect(engine.syncInfo().retryAt).toBeDefined();
  });

  it("does not connect with an expired token, and says why", async () => {
    const expired = { ...session, exp: Math.floor(Date.now() / 1000) - 10 };
    const engine = await openEngine(expired, { ...socketOpts(), indexedDB: factory });
    engines.push(engine);
    expect(FakeSocket.all.length).toBe(0);
    expect(engine.syncInfo().lastError).toMatch(/expired/);
  });

  it("reports protocol problems with console.warn, not console.error", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const error = vi.spyOn(console, "error");
    const engine = await withTeam(socketOpts());
    const socket = FakeSocket.all[0];
    socket.open();
    await idle(engine);
    socket.deliver([0xff, 0x00, 0x13]);
    await idle(engine);
    expect(warn).toHaveBeenCalled();
    expect(error).not.toHaveBeenCalled();
  });

  it("carries out a refused new lead: removed from IndexedDB and the facts, reported until dismissed", async () => {
    const engine = await withTeam(socketOpts());
    const socket = FakeSocket.all[0];
    socket.open();
    await until(() => socket.sent.length === 1);
    const db = await ReplicaDb.open("demo", "r-yossi", { indexedDB: factory });
    const peerId = db.device.peerId;
    socket.deliver(
      cbor({ type: "peer", senderId: "relay", selectedProtocolVersion: "1", targetId: peerId, peerMetadata: { isEphemeral: false } }),
    );
    await idle(engine);
    const keep = await engine.createLead({ ...newLead, company: "Kept Ltd" } as never);
    const id = await engine.createLead(newLead as never);
    await idle(engine);
    expect(engine.facts().map((f) => f.id)).toEqual([keep, id]);
    expect(await db.chunkCount(id)).toBe(1);

    const events: EngineEvent[] = [];
    engine.subscribe((e) => events.push(e));
    const refusal = { code: "too_many_leads", owner: "r-yossi", count: 2, limit: 2 };
    socket.deliver(
      cbor({
        type: "error",
        senderId: "relay",
        targetId: peerId,
        message: "r-yossi already owns 2 leads (limit 2)",
        documentId: id,
        refusal: JSON.stringify(refusal),
      }),
    );
    await until(() => engine.refusedWrites().length === 1);
    await idle(engine);
    const [shown] = engine.refusedWrites();
    expect(shown).toMatchObject({ doc: id, lead: id, name: "Kibbutz Solar Ltd", refusal, removed: true, held: false });
    expect(events).toContainEqual({ type: "refused" });
    expect(events.some((e) => e.type === "leads" && e.ids.includes(id))).toBe(true);
    // Gone from the engine's lists and from IndexedDB (chunks, summary, sync state); the other
    // lead stays, in the replica's order.
    expect(engine.facts().map((f) => f.id)).toEqual([keep]);
    expect(engine.facts()).toEqual((engine as unknown as { replica: { facts(): unknown } }).replica.facts());
    expect(await db.chunkCount(id)).toBe(0);
    const { stored } = await db.readReplica();
    expect(stored.summaries.map(([doc]) => doc)).toEqual([keep]);
    expect(stored.syncStates.map(([doc]) => doc)).not.toContain(id);
    await expect(engine.lead(id)).rejects.toMatchObject({ kind: "unknown_lead" });
    db.close();

    engine.dismissRefused(shown.id);
    expect(engine.refusedWrites()).toEqual([]);
  });

  it("close() stops reconnecting", async () => {
    const engine = await withTeam(socketOpts());
    engine.close();
    await sleep(120);
    expect(FakeSocket.all.length).toBe(1);
  });
});
