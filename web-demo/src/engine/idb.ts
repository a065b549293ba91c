// The replica's storage in the browser: one IndexedDB database per team and member.
//
// Object stores (out-of-line keys: the document id, or a name for `meta`):
// - `chunks`:     doc id → Uint8Array[]: the document's stored chunks in order (a compacted
//                 save, then incremental changes). Its bytes are the chunks concatenated.
// - `summaries`:  lead doc id → Uint8Array (the replica's encoded summary of the lead).
// - `syncStates`: doc id → Uint8Array (the sync state kept with the relay).
// - `meta`:       "device" → {actor: Uint8Array(16), peerId}; "docs" → {teamDoc, indexDoc}.
//
// `write` carries out a list of the replica's writes in ONE readwrite transaction and resolves
// when it has committed (`oncomplete`): the engine sends frames and confirms commands only
// after that.

/** One storage operation of the replica (docs/wasm-api.md, Effects.writes). */
export type Write =
  | { op: "append"; doc: string; bytes: Uint8Array }
  | { op: "replace"; doc: string; bytes: Uint8Array }
  | { op: "summary"; doc: string; bytes: Uint8Array }
  | { op: "syncState"; doc: string; bytes: Uint8Array };

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

export const DB_VERSION = 1;
export const STORES = {
  chunks: "chunks",
  summaries: "summaries",
  syncStates: "syncStates",
  meta: "meta",
} as const;

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
  /** The read transaction, from start to the last result (ms). */
  total: number;
  summaries: number;
  syncStates: number;
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

  /** Opens (creating on first use) the database of `team`/`member`. */
  static async open(team: string, member: string, opts: OpenDbOptions = {}): Promise<ReplicaDb> {
    const factory = opts.indexedDB ?? globalThis.indexedDB;
    if (!factory) throw new Error("IndexedDB is not available in this browser");
    const name = dbName(team, member);
    const openReq = factory.open(name, DB_VERSION);
    openReq.onupgradeneeded = () => {
      const db = openReq.result;
      for (const store of Object.values(STORES)) {
        if (!db.objectStoreNames.contains(store)) db.createObjectStore(store);
      }
    };
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      openReq.onsuccess = () => resolve(openReq.result);
      openReq.onerror = () => reject(openReq.error);
      openReq.onblocked = () =>
        reject(new Error("IndexedDB is blocked by another tab holding an older version"));
    });
    // Another tab upgrading the schema: let it, this tab reloads on its next open.
    db.onversionchange = () => db.close();

    const tx = db.transaction(STORES.meta, "readwrite");
    const meta = tx.objectStore(STORES.meta);
    const deviceReq = meta.get("device");
    const docsReq = meta.get("docs");
    let device: DeviceMeta | undefined;
    deviceReq.onsuccess = () => {
      const value = deviceReq.result as DeviceMeta | undefined;
      if (value && value.actor instanceof Uint8Array && value.actor.length === 16 && value.peerId) {
        device = value;
      } else {
        // Drawn once per device and kept: the actor of every change this device writes.
        device = {
          actor: crypto.getRandomValues(new Uint8Array(16)),
          peerId: `web-${randomHex(8)}`,
        };
        meta.put(device, "device");
      }
    };
    await done(tx);
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
   * Everything `Replica.open` needs, read in one transaction with `getAll`/`getAllKeys` (one
   * request per store, not a cursor step per record).
   */
  async readReplica(): Promise<{ stored: StoredReplica; timings: ReadTimings }> {
    const start = performance.now();
    const tx = this.db.transaction(
      [STORES.chunks, STORES.summaries, STORES.syncStates],
      "readonly",
    );
    const summaries = tx.objectStore(STORES.summaries);
    const syncStates = tx.objectStore(STORES.syncStates);
    const chunks = tx.objectStore(STORES.chunks);
    const timings: ReadTimings = { total: 0, summaries: 0, syncStates: 0 };
    const summaryKeys = request(summaries.getAllKeys());
    const summaryValues = request(summaries.getAll()).then((v) => {
      timings.summaries = performance.now() - start;
      return v;
    });
    const stateKeys = request(syncStates.getAllKeys());
    const stateValues = request(syncStates.getAll()).then((v) => {
      timings.syncStates = performance.now() - start;
      return v;
    });
    const ids = this.docIds;
    const teamChunks = ids
      ? request(chunks.get(ids.teamDoc) as IDBRequest<Uint8Array[] | undefined>)
      : Promise.resolve(undefined);
    const indexCount = ids ? request(chunks.count(ids.indexDoc)) : Promise.resolve(0);
    const [sk, sv, tk, tv, team, index] = await Promise.all([
      summaryKeys,
      summaryValues,
      stateKeys,
      stateValues,
      teamChunks,
      indexCount,
      done(tx),
    ]).then((r) => [r[0], r[1], r[2], r[3], r[4], r[5]] as const);
    timings.total = performance.now() - start;
    const pairs = (keys: IDBValidKey[], values: unknown[]): [string, Uint8Array][] => {
      const out: [string, Uint8Array][] = new Array(keys.length);
      for (let i = 0; i < keys.length; i++) out[i] = [keys[i] as string, values[i] as Uint8Array];
      return out;
    };
    return {
      stored: {
        teamDoc: team && team.length > 0 ? concat(team) : undefined,
        indexStored: index > 0,
        summaries: pairs(sk, sv),
        syncStates: pairs(tk, tv),
      },
      timings,
    };
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
    const tx = this.db.transaction(
      [STORES.chunks, STORES.summaries, STORES.syncStates],
      "readwrite",
      { durability },
    );
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
  }

  private schedule(tx: IDBTransaction, writes: readonly Write[]): void {
    const chunks = tx.objectStore(STORES.chunks);
    const summaries = tx.objectStore(STORES.summaries);
    const syncStates = tx.objectStore(STORES.syncStates);
    // Chunk operations are folded per document first (order kept): a replace resets the
    // document's list, appends extend it; only documents whose first operation is an append
    // need their stored list read.
    const plan = new Map<string, { replace: boolean; chunks: Uint8Array[] }>();
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
          summaries.put(own(write.bytes), write.doc);
          break;
        case "syncState":
          syncStates.put(own(write.bytes), write.doc);
          break;
        default: {
          const never: never = write;
          throw new Error(`unknown write ${JSON.stringify(never)}`);
        }
      }
    }
    for (const [doc, entry] of plan) {
      if (entry.replace) {
        chunks.put(entry.chunks, doc);
      } else {
        const req = chunks.get(doc) as IDBRequest<Uint8Array[] | undefined>;
        req.onsuccess = () => {
          const existing = req.result ?? [];
          chunks.put(existing.concat(entry.chunks), doc);
        };
      }
    }
  }

  close(): void {
    this.db.close();
  }
}
