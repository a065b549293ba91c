// The replica's storage in the browser: one IndexedDB database per team and member.
//
// Object stores (out-of-line keys):
// - `chunks`:  doc id → Uint8Array[]: the document's stored chunks in order (a compacted save,
//              then incremental changes). Its bytes are the chunks concatenated.
// - `packs`:   "summaries" / "syncStates" → Pack: every lead's summary (every document's sync
//              state) as of the last repack, packed into ONE record: {ids, ends, bytes}.
// - `journal`: "s:<doc id>" → summary bytes, "t:<doc id>" → sync state bytes, written since
//              that repack. The current summaries are the pack overlaid with the journal.
// - `meta`:    "device" → {actor: Uint8Array(16), peerId}; "docs" → {teamDoc, indexDoc}.
//
// A `remove` write deletes a document's chunks, its journal entries and its entries in the
// packs (rewritten) in the same transaction as the other writes.
//
// Why packs: opening reads every summary (10,000 leads: 15 MB). Chromium reads one 15 MB
// record in ~5–25 ms and 10,000 records of 1.5 KB with getAll in ~130–200 ms (plus the sync
// states), measured by web-demo/bench/coldstart.mjs; writes stay per document (the journal),
// and `repack` folds the journal into the packs in one transaction now and then.
//
// `write` carries out a list of the replica's writes in ONE readwrite transaction and resolves
// when it has committed (`oncomplete`): the engine sends frames and confirms commands only
// after that.

/** One storage operation of the replica (docs/wasm-api.md, Effects.writes). */
import type { Write } from "../wasm/fieldbook_wasm";
export type { Write };

/** What `Replica.open` takes from storage (docs/wasm-api.md). */
export interface StoredReplica {
  teamDoc?: Uint8Array;
  indexStored: boolean;
  summaries: [string, Uint8Array][];
  syncStates: [string, Uint8Array][];
}

/** Drawn once per device (per database) and kept. */
export interface DeviceMeta {
  actor: Uint8Array;
  peerId: string;
}

/** The ids of the team and index documents, known after the first open. */
export interface DocIds {
  teamDoc: string;
  indexDoc: string;
}

/** 1: summaries and sync states one record each; 2: packs + journal. */
export const DB_VERSION = 2;
export const STORES = {
  chunks: "chunks",
  packs: "packs",
  journal: "journal",
  meta: "meta",
} as const;

/** Many small values in one record: value i is `bytes[ends[i-1] .. ends[i]]`. */
export interface Pack {
  ids: string[];
  ends: Uint32Array;
  bytes: Uint8Array;
}

const SUMMARY = "s:";
const SYNC_STATE = "t:";

function unpack(pack: Pack | undefined, into: Map<string, Uint8Array>): void {
  if (!pack) return;
  let start = 0;
  for (let i = 0; i < pack.ids.length; i++) {
    const end = pack.ends[i];
    into.set(pack.ids[i], pack.bytes.subarray(start, end));
    start = end;
  }
}

function makePack(values: Map<string, Uint8Array>): Pack {
  const ids = [...values.keys()];
  const ends = new Uint32Array(ids.length);
  let size = 0;
  ids.forEach((id, i) => {
    size += values.get(id)!.byteLength;
    ends[i] = size;
  });
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const id of ids) {
    const value = values.get(id)!;
    bytes.set(value, at);
    at += value.byteLength;
  }
  return { ids, ends, bytes };
}

/** The journal's entries over the packs: summaries and sync states by document. */
function overlay(
  packs: { summaries?: Pack; syncStates?: Pack },
  keys: IDBValidKey[],
  values: unknown[],
): { summaries: Map<string, Uint8Array>; syncStates: Map<string, Uint8Array> } {
  const summaries = new Map<string, Uint8Array>();
  const syncStates = new Map<string, Uint8Array>();
  unpack(packs.summaries, summaries);
  unpack(packs.syncStates, syncStates);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const target = key.startsWith(SUMMARY) ? summaries : key.startsWith(SYNC_STATE) ? syncStates : undefined;
    target?.set(key.slice(2), values[i] as Uint8Array);
  }
  return { summaries, syncStates };
}

/** The database of a team's member on this device. */
export function dbName(team: string, member: string): string {
  return `fieldbook/${encodeURIComponent(team)}/${encodeURIComponent(member)}`;
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
    tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
  });
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0];
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Bytes as IndexedDB keeps them: a copy that owns its buffer (not a view into wasm memory). */
function own(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? bytes
    : bytes.slice();
}

function randomHex(bytes: number): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(buf, (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface ReadTimings {
  /** The read transaction, from start to the unpacked result (ms). */
  total: number;
  /** Until the packs were read. */
  packs: number;
  /** Until the journal was read. */
  journal: number;
  journalEntries: number;
}

export interface OpenDbOptions {
  /** Another IndexedDB (tests: fake-indexeddb). */
  indexedDB?: IDBFactory;
}

export class ReplicaDb {
  private constructor(
    readonly db: IDBDatabase,
    readonly name: string,
    /** The device's actor and peer id (drawn on the first open). */
    readonly device: DeviceMeta,
    /** The team and index document ids, once recorded. */
    public docIds: DocIds | undefined,
  ) {}

  /** Journal entries written since the last repack (counting rewrites of one key). */
  journalEntries = 0;

  /** Opens (creating on first use) the database of `team`/`member`. */
  static async open(team: string, member: string, opts: OpenDbOptions = {}): Promise<ReplicaDb> {
    const factory = opts.indexedDB ?? globalThis.indexedDB;
    if (!factory) throw new Error("IndexedDB is not available in this browser");
    const name = dbName(team, member);
    const openReq = factory.open(name, DB_VERSION);
    openReq.onupgradeneeded = (event) => {
      const db = openReq.result;
      const tx = openReq.transaction!;
      for (const store of Object.values(STORES)) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
      }
      if (event.oldVersion === 1) {
        // Version 1 kept a record per summary and per sync state: move them to the journal
        // (the first repack packs them).
        const journal = tx.objectStore(STORES.journal);
        for (const [old, prefix] of [
          ["summaries", SUMMARY],
          ["syncStates", SYNC_STATE],
        ] as const) {
          const store = tx.objectStore(old);
          const keys = store.getAllKeys();
          const values = store.getAll();
          values.onsuccess = () => {
            keys.result.forEach((key, i) => journal.put(values.result[i], prefix + String(key)));
            db.deleteObjectStore(old);
          };
        }
      }
    };
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      openReq.onsuccess = () => resolve(openReq.result);
      openReq.onerror = () => reject(openReq.error);
      openReq.onblocked = () =>
        console.warn("fieldbook: waiting for another tab to close its older copy of the database");
    });
    // Another tab upgrading the schema: let it, this tab reloads on its next open.
    db.onversionchange = () => db.close();

    // Read-only: a fresh browser process may hold its first readwrite transaction for seconds
    // (measured: ~2.4 s for an empty readwrite transaction right after a cold start, while a
    // readonly one took ~40 ms); the device meta is written once, on the first open.
    const tx = db.transaction(STORES.meta, "readonly");
    const deviceReq = tx.objectStore(STORES.meta).get("device");
    const docsReq = tx.objectStore(STORES.meta).get("docs");
    await done(tx);
    let device = deviceReq.result as DeviceMeta | undefined;
    if (!(device && device.actor instanceof Uint8Array && device.actor.length === 16 && device.peerId)) {
      // Drawn once per device and kept: the actor of every change this device writes.
      const drawn = {
        actor: crypto.getRandomValues(new Uint8Array(16)),
        peerId: `web-${randomHex(8)}`,
      };
      const write = db.transaction(STORES.meta, "readwrite");
      const meta = write.objectStore(STORES.meta);
      const again = meta.get("device");
      again.onsuccess = () => {
        // Another tab may have drawn it between the two transactions: keep the first.
        const found = again.result as DeviceMeta | undefined;
        if (found && found.actor instanceof Uint8Array && found.actor.length === 16) device = found;
        else {
          device = drawn;
          meta.put(drawn, "device");
        }
      };
      await done(write);
    }
    const docs = docsReq.result as DocIds | undefined;
    return new ReplicaDb(db, name, device!, docs);
  }

  /** Deletes the database of `team`/`member` (every stored document of this device). */
  static async delete(team: string, member: string, opts: OpenDbOptions = {}): Promise<void> {
    const factory = opts.indexedDB ?? globalThis.indexedDB;
    await request(factory.deleteDatabase(dbName(team, member)));
  }

  /** Records the team and index document ids (after the first `Replica.open`). */
  async setDocIds(ids: DocIds): Promise<void> {
    if (this.docIds?.teamDoc === ids.teamDoc && this.docIds?.indexDoc === ids.indexDoc) return;
    const tx = this.db.transaction(STORES.meta, "readwrite");
    tx.objectStore(STORES.meta).put(ids, "docs");
    await done(tx);
    this.docIds = ids;
  }

  /**
   * Everything `Replica.open` needs, read in one transaction: the two packs (one record each),
   * the journal (one getAll), the team document; no cursor, no request per lead.
   */
  async readReplica(): Promise<{ stored: StoredReplica; timings: ReadTimings }> {
    const start = performance.now();
    const tx = this.db.transaction([STORES.chunks, STORES.packs, STORES.journal], "readonly");
    const packs = tx.objectStore(STORES.packs);
    const journal = tx.objectStore(STORES.journal);
    const chunks = tx.objectStore(STORES.chunks);
    const timings: ReadTimings = { total: 0, packs: 0, journal: 0, journalEntries: 0 };
    const summaryPack = request(packs.get("summaries") as IDBRequest<Pack | undefined>);
    const statePack = request(packs.get("syncStates") as IDBRequest<Pack | undefined>).then((v) => {
      timings.packs = performance.now() - start;
      return v;
    });
    const journalKeys = request(journal.getAllKeys());
    const journalValues = request(journal.getAll()).then((v) => {
      timings.journal = performance.now() - start;
      return v;
    });
    const ids = this.docIds;
    const teamChunks = ids
      ? request(chunks.get(ids.teamDoc) as IDBRequest<Uint8Array[] | undefined>)
      : Promise.resolve(undefined);
    const indexCount = ids ? request(chunks.count(ids.indexDoc)) : Promise.resolve(0);
    const [sp, tp, jk, jv, team, index] = await Promise.all([
      summaryPack,
      statePack,
      journalKeys,
      journalValues,
      teamChunks,
      indexCount,
      done(tx),
    ]).then((r) => [r[0], r[1], r[2], r[3], r[4], r[5]] as const);
    const { summaries, syncStates } = overlay({ summaries: sp, syncStates: tp }, jk, jv);
    this.journalEntries = jk.length;
    timings.journalEntries = jk.length;
    timings.total = performance.now() - start;
    return {
      stored: {
        teamDoc: team && team.length > 0 ? concat(team) : undefined,
        indexStored: index > 0,
        summaries: [...summaries],
        syncStates: [...syncStates],
      },
      timings,
    };
  }

  /**
   * Folds the journal into the packs (one readwrite transaction: read packs and journal, write
   * the packs, clear the journal). The engine calls it when the journal has grown.
   */
  async repack(): Promise<{ summaries: number; syncStates: number; journal: number }> {
    const tx = this.db.transaction([STORES.packs, STORES.journal], "readwrite");
    const committed = done(tx);
    const packs = tx.objectStore(STORES.packs);
    const journal = tx.objectStore(STORES.journal);
    const sp = packs.get("summaries") as IDBRequest<Pack | undefined>;
    const tp = packs.get("syncStates") as IDBRequest<Pack | undefined>;
    const keys = journal.getAllKeys();
    const values = journal.getAll();
    const result = { summaries: 0, syncStates: 0, journal: 0 };
    // A transaction's requests complete in the order they were made: when the last read
    // succeeds, every read has, and the writes go in while the transaction is active.
    values.onsuccess = () => {
      const merged = overlay({ summaries: sp.result, syncStates: tp.result }, keys.result, values.result);
      packs.put(makePack(merged.summaries), "summaries");
      packs.put(makePack(merged.syncStates), "syncStates");
      journal.clear();
      result.summaries = merged.summaries.size;
      result.syncStates = merged.syncStates.size;
      result.journal = keys.result.length;
    };
    await committed;
    this.journalEntries = 0;
    return result;
  }

  /** The stored bytes of each document (its chunks concatenated); absent ones are missing. */
  async load(docs: readonly string[]): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    if (docs.length === 0) return out;
    const tx = this.db.transaction(STORES.chunks, "readonly");
    const store = tx.objectStore(STORES.chunks);
    for (const doc of docs) {
      const req = store.get(doc) as IDBRequest<Uint8Array[] | undefined>;
      req.onsuccess = () => {
        const chunks = req.result;
        if (chunks && chunks.length > 0) out.set(doc, concat(chunks));
      };
    }
    await done(tx);
    return out;
  }

  /** How many chunks a document has in storage (tests, diagnostics). */
  async chunkCount(doc: string): Promise<number> {
    const tx = this.db.transaction(STORES.chunks, "readonly");
    const chunks = await request(tx.objectStore(STORES.chunks).get(doc) as IDBRequest<Uint8Array[] | undefined>);
    return chunks?.length ?? 0;
  }

  /**
   * Carries out the replica's writes, in order, in ONE readwrite transaction; resolves once it
   * has committed. `strict` asks the browser to flush to disk before `complete` (a local
   * command: the user is told it is saved); `relaxed` is for what the relay also holds.
   */
  async write(writes: readonly Write[], durability: "strict" | "relaxed" = "strict"): Promise<void> {
    if (writes.length === 0) return;
    // A removed document may have its summary and sync state in the packs too.
    const stores: string[] = writes.some((w) => w.op === "remove")
      ? [STORES.chunks, STORES.journal, STORES.packs]
      : [STORES.chunks, STORES.journal];
    const tx = this.db.transaction(stores, "readwrite", { durability });
    const committed = done(tx);
    try {
      this.schedule(tx, writes);
    } catch (error) {
      // A put that throws (a bad key, a value that does not clone) must not let the puts
      // before it commit: all or nothing.
      tx.abort();
      await committed.catch(() => undefined);
      throw error;
    }
    await committed;
    for (const write of writes) {
      if (write.op === "summary" || write.op === "syncState") this.journalEntries++;
    }
  }

  private schedule(tx: IDBTransaction, writes: readonly Write[]): void {
    const chunks = tx.objectStore(STORES.chunks);
    const journal = tx.objectStore(STORES.journal);
    // Chunk operations are folded per document first (order kept): a replace resets the
    // document's list, appends extend it; only documents whose first operation is an append
    // need their stored list read.
    const plan = new Map<string, { replace: boolean; chunks: Uint8Array[] }>();
    const removed = new Set<string>();
    for (const write of writes) {
      switch (write.op) {
        case "append": {
          let entry = plan.get(write.doc);
          if (!entry) {
            entry = { replace: false, chunks: [] };
            plan.set(write.doc, entry);
          }
          entry.chunks.push(own(write.bytes));
          break;
        }
        case "replace":
          plan.set(write.doc, { replace: true, chunks: [own(write.bytes)] });
          break;
        case "summary":
          journal.put(own(write.bytes), SUMMARY + write.doc);
          break;
        case "syncState":
          journal.put(own(write.bytes), SYNC_STATE + write.doc);
          break;
        case "remove":
          // The document, its summary and its sync state go; a later write of the same
          // transaction (none today) would start it afresh.
          plan.set(write.doc, { replace: true, chunks: [] });
          journal.delete(SUMMARY + write.doc);
          journal.delete(SYNC_STATE + write.doc);
          removed.add(write.doc);
          break;
        default: {
          const never: never = write;
          throw new Error(`unknown write ${JSON.stringify(never)}`);
        }
      }
    }
    for (const [doc, entry] of plan) {
      if (entry.replace && entry.chunks.length === 0) {
        chunks.delete(doc);
      } else if (entry.replace) {
        chunks.put(entry.chunks, doc);
      } else {
        const req = chunks.get(doc) as IDBRequest<Uint8Array[] | undefined>;
        req.onsuccess = () => {
          const existing = req.result ?? [];
          chunks.put(existing.concat(entry.chunks), doc);
        };
      }
    }
    if (removed.size > 0) {
      // Entries folded into the packs by an earlier repack: each pack is rewritten without the
      // removed documents (a removal is rare: a new lead the relay did not take).
      const packs = tx.objectStore(STORES.packs);
      for (const key of ["summaries", "syncStates"] as const) {
        const req = packs.get(key) as IDBRequest<Pack | undefined>;
        req.onsuccess = () => {
          const pack = req.result;
          if (!pack || !pack.ids.some((id) => removed.has(id))) return;
          const values = new Map<string, Uint8Array>();
          unpack(pack, values);
          for (const id of removed) values.delete(id);
          packs.put(makePack(values), key);
        };
      }
    }
  }

  /**
   * Moves the team and index documents stored under the ids of `from` to the ids of `to` (the
   * relay moved its derived documents to new ids; the stored bytes are the same documents,
   * same history), in ONE transaction: their chunks (put before any chunks already stored at
   * the new id, which can only be later changes), their sync states and summaries (journal and
   * packs; one already at the new id is newer and kept), and `meta.docs`.
   */
  async moveDocs(from: DocIds, to: DocIds): Promise<void> {
    const moves = (
      [
        [from.teamDoc, to.teamDoc],
        [from.indexDoc, to.indexDoc],
      ] as const
    ).filter(([a, b]) => a !== b);
    const tx = this.db.transaction([STORES.chunks, STORES.journal, STORES.packs, STORES.meta], "readwrite");
    const committed = done(tx);
    const chunks = tx.objectStore(STORES.chunks);
    const journal = tx.objectStore(STORES.journal);
    const packs = tx.objectStore(STORES.packs);
    const get = <T>(store: IDBObjectStore, key: string) => store.get(key) as IDBRequest<T | undefined>;
    const reads = moves.map(([old, next]) => ({
      old,
      next,
      oldChunks: get<Uint8Array[]>(chunks, old),
      newChunks: get<Uint8Array[]>(chunks, next),
      journal: [SUMMARY, SYNC_STATE].map((prefix) => ({
        prefix,
        old: get<Uint8Array>(journal, prefix + old),
        next: get<Uint8Array>(journal, prefix + next),
      })),
    }));
    const summaryPack = get<Pack>(packs, "summaries");
    const statePack = get<Pack>(packs, "syncStates");
    // Requests complete in the order they were made: when the last read succeeds every read
    // has, and the writes go in while the transaction is active.
    statePack.onsuccess = () => {
      for (const r of reads) {
        const old = r.oldChunks.result ?? [];
        if (old.length > 0) chunks.put(old.concat(r.newChunks.result ?? []), r.next);
        chunks.delete(r.old);
        for (const j of r.journal) {
          if (j.old.result !== undefined && j.next.result === undefined) journal.put(j.old.result, j.prefix + r.next);
          journal.delete(j.prefix + r.old);
        }
      }
      for (const [key, req] of [
        ["summaries", summaryPack],
        ["syncStates", statePack],
      ] as const) {
        const pack = req.result;
        if (!pack || !moves.some(([old]) => pack.ids.includes(old))) continue;
        const values = new Map<string, Uint8Array>();
        unpack(pack, values);
        const renamed = new Map<string, Uint8Array>();
        for (const [id, value] of values) {
          const move = moves.find(([old]) => old === id);
          if (!move) renamed.set(id, value);
          else if (!values.has(move[1])) renamed.set(move[1], value);
        }
        packs.put(makePack(renamed), key);
      }
      tx.objectStore(STORES.meta).put(to, "docs");
    };
    await committed;
    this.docIds = to;
  }

  close(): void {
    this.db.close();
  }
}
