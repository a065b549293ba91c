// @vitest-environment node
import { IDBFactory } from "fake-indexeddb";
import { beforeEach, describe, expect, it } from "vitest";
import { ReplicaDb, dbName, type Write } from "../idb";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

let factory: IDBFactory;
beforeEach(() => {
  factory = new IDBFactory();
});

async function open(member = "r-yossi") {
  return ReplicaDb.open("demo", member, { indexedDB: factory });
}

describe("ReplicaDb", () => {
  it("draws the device's actor (16 bytes) and peer id once and keeps them", async () => {
    const db = await open();
    expect(db.device.actor).toBeInstanceOf(Uint8Array);
    expect(db.device.actor.length).toBe(16);
    expect(db.device.peerId).toMatch(/^web-[0-9a-f]{16}$/);
    const first = { actor: [...db.device.actor], peerId: db.device.peerId };
    db.close();
    const again = await open();
    expect({ actor: [...again.device.actor], peerId: again.device.peerId }).toEqual(first);
    again.close();
  });

  it("keeps one database per team and member", async () => {
    const a = await open("r-yossi");
    const b = await open("r-ioana");
    expect(a.name).toBe(dbName("demo", "r-yossi"));
    expect(a.name).not.toBe(b.name);
    expect([...a.device.actor]).not.toEqual([...b.device.actor]);
    await a.write([{ op: "summary", doc: "lead1", bytes: enc("A") }]);
    const read = await b.readReplica();
    expect(read.stored.summaries).toEqual([]);
    a.close();
    b.close();
  });

  it("appends and replaces chunks in order; a document's bytes are its chunks concatenated", async () => {
    const db = await open();
    await db.write([
      { op: "replace", doc: "d1", bytes: enc("save1|") },
      { op: "append", doc: "d1", bytes: enc("c1|") },
    ]);
    await db.write([{ op: "append", doc: "d1", bytes: enc("c2|") }]);
    await db.write([
      { op: "append", doc: "d1", bytes: enc("c3|") },
      { op: "append", doc: "d2", bytes: enc("x") },
      { op: "append", doc: "d1", bytes: enc("c4|") },
    ]);
    let loaded = await db.load(["d1", "d2", "missing"]);
    expect(dec(loaded.get("d1"))).toBe("save1|c1|c2|c3|c4|");
    expect(dec(loaded.get("d2"))).toBe("x");
    expect(loaded.has("missing")).toBe(false);
    expect(await db.chunkCount("d1")).toBe(5);

    // A replace drops every earlier chunk, also those appended in the same transaction.
    await db.write([
      { op: "append", doc: "d1", bytes: enc("lost|") },
      { op: "replace", doc: "d1", bytes: enc("save2|") },
      { op: "append", doc: "d1", bytes: enc("c5|") },
    ]);
    loaded = await db.load(["d1"]);
    expect(dec(loaded.get("d1"))).toBe("save2|c5|");
    expect(await db.chunkCount("d1")).toBe(2);
    db.close();
  });

  it("replaces summaries and sync states, and reads them back in one go with the team document", async () => {
    const db = await open();
    await db.setDocIds({ teamDoc: "team", indexDoc: "index" });
    const writes: Write[] = [];
    for (let i = 0; i < 50; i++) {
      writes.push({ op: "summary", doc: `lead${String(i).padStart(2, "0")}`, bytes: enc(`s${i}`) });
    }
    writes.push({ op: "syncState", doc: "lead07", bytes: enc("state-old") });
    writes.push({ op: "syncState", doc: "lead07", bytes: enc("state-new") });
    writes.push({ op: "summary", doc: "lead03", bytes: enc("s3-new") });
    writes.push({ op: "replace", doc: "team", bytes: enc("T0") });
    writes.push({ op: "append", doc: "team", bytes: enc("T1") });
    await db.write(writes);
    db.close();

    const again = await open();
    expect(again.docIds).toEqual({ teamDoc: "team", indexDoc: "index" });
    let { stored, timings } = await again.readReplica();
    expect(stored.summaries.length).toBe(50);
    expect(stored.summaries[3][0]).toBe("lead03");
    expect(dec(stored.summaries[3][1])).toBe("s3-new");
    expect(dec(stored.summaries[49][1])).toBe("s49");
    expect(stored.syncStates.map(([k, v]) => [k, dec(v)])).toEqual([["lead07", "state-new"]]);
    expect(dec(stored.teamDoc)).toBe("T0T1");
    expect(stored.indexStored).toBe(false);
    expect(timings.total).toBeGreaterThanOrEqual(0);

    await again.write([{ op: "replace", doc: "index", bytes: enc("I") }]);
    ({ stored } = await again.readReplica());
    expect(stored.indexStored).toBe(true);
    again.close();
  });

  it("reads nothing for the team and index documents before their ids are recorded", async () => {
    const db = await open();
    expect(db.docIds).toBeUndefined();
    const { stored } = await db.readReplica();
    expect(stored).toEqual({ teamDoc: undefined, indexStored: false, summaries: [], syncStates: [] });
    db.close();
  });

  it("stores a copy of bytes that are a view into a larger buffer (wasm memory)", async () => {
    const db = await open();
    const big = enc("xxxxHELLOyyyy");
    await db.write([{ op: "summary", doc: "l", bytes: big.subarray(4, 9) }]);
    const { stored } = await db.readReplica();
    expect(stored.summaries[0][1].buffer.byteLength).toBe(5);
    expect(dec(stored.summaries[0][1])).toBe("HELLO");
    db.close();
  });

  it("is all or nothing: a failing write leaves nothing of its transaction and rejects", async () => {
    const db = await open();
    await db.write([{ op: "summary", doc: "kept", bytes: enc("1") }]);
    const bad: Write[] = [
      { op: "summary", doc: "a", bytes: enc("2") },
      { op: "append", doc: "d", bytes: enc("3") },
      // Not a valid IndexedDB key: the put throws and the transaction aborts.
      { op: "replace", doc: null as unknown as string, bytes: enc("4") },
    ];
    await expect(db.write(bad)).rejects.toBeTruthy();
    const { stored } = await db.readReplica();
    expect(stored.summaries.map(([k]) => k)).toEqual(["kept"]);
    expect((await db.load(["d"])).size).toBe(0);
    db.close();
  });

  it("resolves a write only once it is committed (visible to another connection)", async () => {
    const db = await open();
    const other = await open();
    await db.write([{ op: "summary", doc: "x", bytes: enc("durable") }]);
    const { stored } = await other.readReplica();
    expect(dec(stored.summaries[0]?.[1])).toBe("durable");
    db.close();
    other.close();
  });

  it("repacks the journal into the packs without changing what is read", async () => {
    const db = await open();
    const writes: Write[] = [];
    for (let i = 0; i < 30; i++) {
      writes.push({ op: "summary", doc: `lead${String(i).padStart(2, "0")}`, bytes: enc(`s${i}`) });
      writes.push({ op: "syncState", doc: `lead${String(i).padStart(2, "0")}`, bytes: enc(`t${i}`) });
    }
    await db.write(writes);
    expect(db.journalEntries).toBe(60);
    const before = (await db.readReplica()).stored;
    expect(await db.repack()).toEqual({ summaries: 30, syncStates: 30, journal: 60 });
    expect(db.journalEntries).toBe(0);
    let read = await db.readReplica();
    expect(read.timings.journalEntries).toBe(0);
    const plain = (s: typeof before) => ({
      summaries: s.summaries.map(([k, v]) => [k, dec(v)]),
      syncStates: s.syncStates.map(([k, v]) => [k, dec(v)]),
    });
    expect(plain(read.stored)).toEqual(plain(before));

    // Newer values in the journal win over the pack; new documents come after the packed ones.
    await db.write([
      { op: "summary", doc: "lead05", bytes: enc("s5-new") },
      { op: "summary", doc: "zz-new", bytes: enc("new") },
    ]);
    read = await db.readReplica();
    expect(read.timings.journalEntries).toBe(2);
    const summaries = read.stored.summaries.map(([k, v]) => [k, dec(v)]);
    expect(summaries.length).toBe(31);
    expect(summaries[5]).toEqual(["lead05", "s5-new"]);
    expect(summaries[30]).toEqual(["zz-new", "new"]);
    await db.repack();
    expect(plain((await db.readReplica()).stored)).toEqual(plain(read.stored));
    db.close();
  });

  it("removes a document: its chunks, its journal entries and its packed entries, with the other writes of its transaction", async () => {
    const db = await open();
    const plain = async () => {
      const { stored } = await db.readReplica();
      return {
        summaries: stored.summaries.map(([k, v]) => [k, dec(v)]),
        syncStates: stored.syncStates.map(([k, v]) => [k, dec(v)]),
      };
    };
    // "gone" and "kept": summaries and sync states packed, then newer ones in the journal.
    await db.write([
      { op: "replace", doc: "gone", bytes: enc("G0") },
      { op: "append", doc: "gone", bytes: enc("G1") },
      { op: "summary", doc: "gone", bytes: enc("sG") },
      { op: "syncState", doc: "gone", bytes: enc("tG") },
      { op: "replace", doc: "kept", bytes: enc("K0") },
      { op: "summary", doc: "kept", bytes: enc("sK") },
      { op: "syncState", doc: "kept", bytes: enc("tK") },
    ]);
    await db.repack();
    await db.write([
      { op: "summary", doc: "gone", bytes: enc("sG2") },
      { op: "syncState", doc: "gone", bytes: enc("tG2") },
    ]);

    // One transaction: a write to another document, the removal, and a sync state written
    // before it (the replica's order) all land together.
    await db.write([
      { op: "append", doc: "kept", bytes: enc("K1") },
      { op: "syncState", doc: "gone", bytes: enc("tG3") },
      { op: "remove", doc: "gone" },
      { op: "summary", doc: "kept", bytes: enc("sK2") },
    ]);
    expect(await db.chunkCount("gone")).toBe(0);
    expect((await db.load(["gone"])).has("gone")).toBe(false);
    expect(dec((await db.load(["kept"])).get("kept"))).toBe("K0K1");
    expect(await plain()).toEqual({ summaries: [["kept", "sK2"]], syncStates: [["kept", "tK"]] });
    // Still gone after the journal is folded into the packs again, and after a reopen.
    await db.repack();
    expect(await plain()).toEqual({ summaries: [["kept", "sK2"]], syncStates: [["kept", "tK"]] });
    db.close();
    const again = await open();
    const { stored } = await again.readReplica();
    expect(stored.summaries.map(([k]) => k)).toEqual(["kept"]);
    expect(stored.syncStates.map(([k]) => k)).toEqual(["kept"]);
    again.close();
  });

  it("removes a document that was never stored without failing", async () => {
    const db = await open();
    await db.write([{ op: "remove", doc: "never" }]);
    expect((await db.readReplica()).stored.summaries).toEqual([]);
    db.close();
  });

  it("moves the team and index documents to new ids in one transaction (chunks, sync states, meta)", async () => {
    const db = await open();
    const OLD = { teamDoc: "team-old", indexDoc: "index-old" };
    const NEW = { teamDoc: "team-new", indexDoc: "index-new" };
    await db.setDocIds(OLD);
    await db.write([
      { op: "replace", doc: OLD.teamDoc, bytes: enc("T0") },
      { op: "append", doc: OLD.teamDoc, bytes: enc("T1") },
      { op: "syncState", doc: OLD.teamDoc, bytes: enc("tT") },
      { op: "replace", doc: OLD.indexDoc, bytes: enc("I0") },
      { op: "syncState", doc: OLD.indexDoc, bytes: enc("tI") },
      { op: "summary", doc: "lead1", bytes: enc("s1") },
    ]);
    await db.repack();
    // A newer sync state of the index in the journal, and a change already written at the new
    // team id (by an app that did not move the documents yet).
    await db.write([
      { op: "syncState", doc: OLD.indexDoc, bytes: enc("tI2") },
      { op: "append", doc: NEW.teamDoc, bytes: enc("T2") },
    ]);

    await db.moveDocs(OLD, NEW);
    expect(db.docIds).toEqual(NEW);
    const loaded = await db.load([OLD.teamDoc, OLD.indexDoc, NEW.teamDoc, NEW.indexDoc]);
    expect([...loaded.keys()].sort()).toEqual([NEW.indexDoc, NEW.teamDoc]);
    expect(dec(loaded.get(NEW.teamDoc))).toBe("T0T1T2");
    expect(dec(loaded.get(NEW.indexDoc))).toBe("I0");
    const { stored } = await db.readReplica();
    expect(dec(stored.teamDoc)).toBe("T0T1T2");
    expect(stored.indexStored).toBe(true);
    expect(stored.summaries.map(([k, v]) => [k, dec(v)])).toEqual([["lead1", "s1"]]);
    expect(Object.fromEntries(stored.syncStates.map(([k, v]) => [k, dec(v)]))).toEqual({
      [NEW.teamDoc]: "tT",
      [NEW.indexDoc]: "tI2",
    });
    db.close();
    const again = await open();
    expect(again.docIds).toEqual(NEW);
    again.close();
  });

  it("migrates a version 1 database (a record per summary and sync state)", async () => {
    const v1 = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = factory.open(dbName("demo", "r-yossi"), 1);
      req.onupgradeneeded = () => {
        for (const store of ["chunks", "summaries", "syncStates", "meta"]) req.result.createObjectStore(store);
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const tx = v1.transaction(["summaries", "syncStates", "chunks"], "readwrite");
    tx.objectStore("summaries").put(enc("S1"), "lead1");
    tx.objectStore("syncStates").put(enc("T1"), "lead1");
    tx.objectStore("chunks").put([enc("doc")], "lead1");
    await new Promise((r) => (tx.oncomplete = r));
    v1.close();

    const db = await open();
    const { stored } = await db.readReplica();
    expect(stored.summaries.map(([k, v]) => [k, dec(v)])).toEqual([["lead1", "S1"]]);
    expect(stored.syncStates.map(([k, v]) => [k, dec(v)])).toEqual([["lead1", "T1"]]);
    expect(dec((await db.load(["lead1"])).get("lead1"))).toBe("doc");
    expect([...db.db.objectStoreNames].sort()).toEqual(["chunks", "journal", "meta", "packs"]);
    db.close();
  });

  it("deletes the database of a member", async () => {
    const db = await open();
    await db.write([{ op: "summary", doc: "x", bytes: enc("1") }]);
    db.close();
    await ReplicaDb.delete("demo", "r-yossi", { indexedDB: factory });
    const again = await open();
    expect((await again.readReplica()).stored.summaries).toEqual([]);
    again.close();
  });
});
