// The browser core under node: open a replica from 10,000 stored lead summaries, then time the
// call queue and the inbox, as the web app calls them. Run by `cargo xtask wasm --bench` (the
// module built with the `bench` feature into target/wasm-bench/), or by hand:
//   node wasm/bench/queue.mjs target/wasm-bench [LEADS]
// Prints measured figures only (medians of repeated calls, wall time in this process).

import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { performance } from "node:perf_hooks";

const dir = resolve(process.argv[2] ?? "target/wasm-bench");
const leads = Number(process.argv[3] ?? process.env.FIELDBOOK_BENCH_LEADS ?? 10_000);
const mod = await import(pathToFileURL(join(dir, "fieldbook_wasm.js")).href);
await mod.default({ module_or_path: readFileSync(join(dir, "fieldbook_wasm_bg.wasm")) });
if (typeof mod.benchBook !== "function") {
  throw new Error(`${dir} was not built with the bench feature (cargo xtask wasm --bench)`);
}

// The book's moment (core/benches/rules.rs): 2026-11-22 08:30 UTC, a Sunday in Jerusalem.
const now = Date.parse("2026-11-22T08:30:00Z");

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(n, f) {
  const out = [];
  let result;
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    result = f();
    out.push(performance.now() - t);
  }
  return { ms: median(out), min: Math.min(...out), result };
}

function open(book) {
  const stored = { teamDoc: book.teamDoc, indexStored: false, summaries: book.summaries, syncStates: [] };
  const config = { team: book.team, member: book.member, actor: new Uint8Array(16).fill(9), peerId: `${book.member}/bench` };
  return mod.Replica.open(config, stored);
}

const fmt = (x) => x.toFixed(2);
console.log(`fieldbook-wasm benchmark (node ${process.version}): ${leads} leads × 20 events, now ${new Date(now).toISOString()}`);

// rep0 holding the whole book (the largest queue), a rep's share of a 10-rep team, and the
// reps' manager holding the whole team's book (the inbox).
const runs = [
  ["rep0", leads, `rep0 owns all ${leads} leads`],
  ["rep0", Math.round(leads / 10), `rep0 owns ${Math.round(leads / 10)} leads: one rep's share of a 10-rep team`],
  ["mgr", leads, `mgr, ${leads} leads spread over 10 reps`],
];
for (const [member, n, who] of runs) {
  const g = performance.now();
  const book = mod.benchBook(n, now, member);
  const genMs = performance.now() - g;
  const bytes = book.summaries.reduce((k, [, b]) => k + b.length, 0);
  console.log(`\n${who}; summaries ${(bytes / 1e6).toFixed(1)} MB JSON, generated in ${genMs.toFixed(0)} ms`);

  const opens = [];
  let replica;
  for (let i = 0; i < 5; i++) {
    replica?.free();
    const t = performance.now();
    replica = open(book);
    opens.push(performance.now() - t);
  }
  const effects = replica.openEffects();
  console.log(`  Replica.open: median ${fmt(median(opens))} ms of 5 (first ${fmt(opens[0])} ms); needLoad ${effects.needLoad.length}`);

  const queue = time(50, () => replica.callQueue(now));
  console.log(`  callQueue: median ${fmt(queue.ms)} ms, min ${fmt(queue.min)} ms of 50 (${queue.result.items.length} items)`);
  const inbox = time(50, () => replica.inbox(now));
  console.log(`  inbox: median ${fmt(inbox.ms)} ms, min ${fmt(inbox.min)} ms of 50 (${inbox.result.length} items)`);
  if (mod.benchQueueJson) {
    const viaJson = time(50, () => mod.benchQueueJson(replica, now));
    console.log(`  the same queue through JSON (serde_json + JSON.parse): median ${fmt(viaJson.ms)} ms`);
  }
  if (mod.benchQueueCore) {
    const core = time(50, () => mod.benchQueueCore(replica, now));
    console.log(`  of which in the core (queue + tiers, no conversion to JS): median ${fmt(core.ms)} ms (${core.result} items)`);
  }
  replica.free();
}
