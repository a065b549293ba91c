// Cold start of the web app with a big book in IndexedDB, in headless Chromium.
//
//   cargo xtask wasm && npm --prefix web-demo run build && node web-demo/bench/coldstart.mjs
//
// Options: --leads N (default 10000: the rep's book), --runs N (default 5 per mode),
//          --profile DIR (keep the seeded browser profile there and reuse it next time).
//
// 1. Seeds a browser profile the way a device fills up: a demo team on a relay
//    (`fieldbook demo` with 2×N leads: each of the two reps owns N), then the rep's first sync
//    in Chromium over the relay's WebSocket (the relay also serves web-demo/dist). This is
//    real data: the summaries, sync states and documents the engine itself stored.
// 2. Stops the relay, serves web-demo/dist from a tiny static server on the same origin (no
//    relay), and for each run launches Chromium on the seeded profile and opens the app:
//    "online" (the page loads, no relay answers /sync) and "offline"
//    (context.setOffline(true): the service worker serves the app).
// 3. Prints measured figures only: from navigation start to the queue in the DOM
//    (`[data-testid="queue"][data-count]`) and to the next frame after it, the engine's open
//    phases (wasm init, IndexedDB open and read, Replica.open) and `callQueue` in wasm.

import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { chromium } from "@playwright/test";
import { WEB, createDemo, startRelay } from "./relay.mjs";

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const LEADS = Number(arg("leads", 10_000));
const RUNS = Number(arg("runs", 5));
const PROFILE = arg("profile", undefined);
const DIST = path.join(WEB, "dist");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const LAUNCH = {
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
};

function check() {
  if (!fs.existsSync(path.join(DIST, "index.html"))) {
    throw new Error("web-demo/dist is missing: run `npm --prefix web-demo run build` first");
  }
  const assets = fs.readdirSync(path.join(DIST, "assets"));
  if (!assets.some((f) => f.endsWith(".wasm"))) {
    throw new Error("no .wasm in web-demo/dist/assets: run `cargo xtask wasm` then the build");
  }
}

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".map": "application/json",
};

/** web-demo/dist on 127.0.0.1:port; unknown paths get index.html; no /sync. */
function serveDist(port) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.pathname.startsWith("/sync")) {
      res.writeHead(404).end("no relay in this benchmark\n");
      return;
    }
    let file = path.normalize(path.join(DIST, decodeURIComponent(url.pathname)));
    if (!file.startsWith(DIST) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      file = path.join(DIST, "index.html");
    }
    res.writeHead(200, {
      "content-type": MIME[path.extname(file)] ?? "application/octet-stream",
      "cache-control": "no-cache",
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

async function seed(profile) {
  const t0 = Date.now();
  const demo = createDemo(2 * LEADS);
  const token = demo.tokens["r-yossi"].token;
  console.log(`seed: demo team with ${2 * LEADS} leads (${LEADS} per rep) in ${Date.now() - t0} ms (${path.basename(demo.bin)}: ${demo.bin})`);
  const relay = await startRelay(demo.data, [
    "--web", DIST,
    "--max-messages-per-second", "1000000",
    "--message-burst", "1000000",
    "--max-documents-per-member", String(4 * LEADS),
    "--max-loaded-documents", String(4 * LEADS),
  ]);
  const port = Number(new URL(relay.url).port);
  const context = await chromium.launchPersistentContext(profile, LAUNCH);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    let warnings = 0;
    page.on("console", (m) => {
      if (m.type() === "error" || (m.type() === "warning" && warnings++ < 20)) {
        console.log(`  [page ${m.type()}] ${m.text()}`);
      }
    });
    const start = Date.now();
    await page.goto(`${relay.url}/#token=${token}`);
    let lastPrint = 0;
    let lastChange = Date.now();
    let lastLine = "";
    for (;;) {
      const state = await page.evaluate(() => {
        const fb = globalThis.__fieldbook;
        if (!fb) return undefined;
        const info = fb.engine.syncInfo();
        return { facts: fb.engine.facts().length, ...info };
      });
      const line = state ? `${state.facts} leads, ${state.state}, in flight ${state.inFlight}, unsynced ${state.unsynced}` : "opening";
      if (Date.now() - lastPrint > 10_000) {
        console.log(`  first sync: ${line} (${((Date.now() - start) / 1000).toFixed(0)} s)`);
        lastPrint = Date.now();
      }
      if (state && state.facts >= LEADS && state.state === "online" && state.inFlight === 0) break;
      if (line !== lastLine) {
        lastLine = line;
        lastChange = Date.now();
      } else if (Date.now() - lastChange > 60_000) {
        const debug = await page.evaluate(() => globalThis.__fieldbook?.engine.debugState?.());
        throw new Error(`first sync stalled for 60 s at: ${line}\nengine: ${JSON.stringify(debug)}`);
      }
      if (Date.now() - start > 30 * 60_000) throw new Error(`first sync did not finish: ${line}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const firstSync = Date.now() - start;
    // Let the service worker finish precaching before the profile is closed.
    await page.evaluate(async () => {
      await navigator.serviceWorker?.ready;
    });
    console.log(`seed: the rep's first sync of ${LEADS} leads in Chromium took ${(firstSync / 1000).toFixed(1)} s (relay on loopback)`);
  } finally {
    await context.close();
    await relay.stop();
    fs.rmSync(demo.data, { recursive: true, force: true });
  }
  fs.writeFileSync(path.join(profile, "fieldbook-bench.json"), JSON.stringify({ port, leads: LEADS }));
  return port;
}

/** Records when the queue reaches the DOM and the frame after (installed before any script). */
function initScript() {
  const mark = { dom: undefined, frame: undefined, count: undefined };
  globalThis.__bench = mark;
  const look = () => {
    if (mark.dom !== undefined) return;
    const q = document.querySelector('[data-testid="queue"][data-count]');
    if (!q) return;
    mark.dom = performance.now();
    mark.count = Number(q.getAttribute("data-count"));
    requestAnimationFrame(() => {
      // After the frame's rendering steps: the queue has been painted.
      const channel = new MessageChannel();
      channel.port1.onmessage = () => {
        mark.frame = performance.now();
      };
      channel.port2.postMessage(0);
    });
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true });
}

/**
 * One visit that stays until the engine has folded its journal into the packs (a device does
 * this in the background after a sync), so that every measured start reads the same layout.
 */
async function settle(profile, url) {
  // The build in dist/: a profile seeded with an older build gets it from its service worker
  // only after the worker updates (it then reloads the page).
  const entry = fs.readFileSync(path.join(DIST, "index.html"), "utf8").match(/src="([^"]+\.js)"/)[1];
  const context = await chromium.launchPersistentContext(profile, LAUNCH);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const start = Date.now();
    await page.goto(url);
    for (let reloads = 0; ; reloads++) {
      // Until the service worker has installed the current build, the page may run the old one.
      await page.evaluate(async () => {
        const reg = await navigator.serviceWorker.ready;
        await reg.update();
        const end = Date.now() + 30_000;
        while ((reg.installing || reg.waiting) && Date.now() < end) {
          // A worker of an older build may wait for this message instead of taking over.
          reg.waiting?.postMessage({ type: "SKIP_WAITING" });
          await new Promise((r) => setTimeout(r, 100));
        }
      });
      const current = await page.evaluate(
        (entry) => [...document.scripts].some((s) => new URL(s.src, location.href).pathname === entry),
        entry,
      );
      if (current) break;
      if (reloads === 3) throw new Error(`the page does not run the current build ${entry}`);
      await page.reload();
    }
    await page.waitForFunction(
      () => {
        const d = globalThis.__fieldbook?.engine.debugState?.();
        return d !== undefined && d.journal === 0 && d.jobs === d.jobsDone;
      },
      null,
      { timeout: 120_000, polling: 250 },
    );
    console.log(`settle: current build (${entry}) running, journal folded into the packs, after ${((Date.now() - start) / 1000).toFixed(1)} s`);
  } finally {
    await context.close();
  }
}

async function run(profile, url, offline) {
  const context = await chromium.launchPersistentContext(profile, LAUNCH);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.addInitScript(initScript);
    if (offline) await context.setOffline(true);
    await page.goto(url);
    await page.waitForFunction(() => globalThis.__bench?.frame !== undefined, null, { timeout: 60_000 });
    return await page.evaluate(() => {
      const fb = globalThis.__fieldbook;
      const t = fb.timings;
      const nav = performance.getEntriesByType("navigation")[0];
      const queueRuns = [];
      for (let i = 0; i < 20; i++) {
        const s = performance.now();
        fb.engine.callQueue();
        queueRuns.push(performance.now() - s);
      }
      queueRuns.sort((a, b) => a - b);
      const openStart = performance.getEntriesByName("fieldbook:open")[0]?.startTime;
      return {
        dom: globalThis.__bench.dom,
        frame: globalThis.__bench.frame,
        count: globalThis.__bench.count,
        domContentLoaded: nav?.domContentLoadedEventEnd,
        openStart,
        wasmInit: t.wasmInit,
        dbOpen: t.dbOpen,
        idbRead: t.idbRead,
        replicaOpen: t.replicaOpen,
        engineOpen: t.total,
        firstCallQueue: performance.getEntriesByName("fieldbook:call-queue")[0]?.duration,
        facts: t.facts,
        idbPacks: t.idbReadDetail.packs,
        idbJournal: t.idbReadDetail.journal,
        journalEntries: t.idbReadDetail.journalEntries,
        callQueueMedian: queueRuns[10],
        items: fb.engine.callQueue()?.items.length,
        summaries: t.summaries,
        summaryBytes: t.summaryBytes,
        syncStates: t.syncStates,
      };
    });
  } finally {
    await context.close();
  }
}

/**
 * One more cold start, offline: how long the first command after it takes to be durable (a
 * fresh browser process may hold its first IndexedDB write), then a second one. Logs an attempt
 * on the first queue item (the seeded book gains two attempts).
 */
async function commandLatency(profile, url) {
  const context = await chromium.launchPersistentContext(profile, LAUNCH);
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.addInitScript(initScript);
    await context.setOffline(true);
    await page.goto(url);
    await page.waitForFunction(() => globalThis.__bench?.frame !== undefined, null, { timeout: 60_000 });
    return await page.evaluate(async () => {
      const engine = globalThis.__fieldbook.engine;
      const lead = engine.callQueue().items[0].lead;
      const command = { type: "log_attempt", channel: "call", outcome: "no_answer" };
      const sinceStart = performance.now();
      let t = performance.now();
      await engine.apply(lead, command);
      const first = performance.now() - t;
      const firstDurable = globalThis.__fieldbook.timings.lastCommand;
      t = performance.now();
      await engine.apply(lead, command);
      const second = performance.now() - t;
      const secondDurable = globalThis.__fieldbook.timings.lastCommand;
      return { sinceStart, first, firstDurable, second, secondDurable };
    });
  } finally {
    await context.close();
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const fmt = (x) => (x === undefined ? "—" : x.toFixed(1));

async function main() {
  check();
  const profile = PROFILE ?? fs.mkdtempSync(path.join(os.tmpdir(), "fieldbook-profile-"));
  const marker = path.join(profile, "fieldbook-bench.json");
  let port;
  if (fs.existsSync(marker) && JSON.parse(fs.readFileSync(marker, "utf8")).leads === LEADS) {
    port = JSON.parse(fs.readFileSync(marker, "utf8")).port;
    console.log(`seed: reusing the seeded profile ${profile} (origin 127.0.0.1:${port})`);
  } else {
    fs.mkdirSync(profile, { recursive: true });
    port = await seed(profile);
  }
  const server = await serveDist(port);
  const url = `http://127.0.0.1:${port}/`;
  const results = { online: [], offline: [] };
  try {
    await settle(profile, url);
    for (let i = 0; i < RUNS; i++) {
      for (const mode of ["online", "offline"]) {
        results[mode].push(await run(profile, url, mode === "offline"));
      }
    }
    results.command = await commandLatency(profile, url);
  } finally {
    server.close();
    if (!PROFILE) fs.rmSync(profile, { recursive: true, force: true });
  }
  const first = results.online[0];
  console.log(
    `\nbook: ${first.summaries} summaries (${(first.summaryBytes / 1e6).toFixed(1)} MB, ` +
      `${Math.round(first.summaryBytes / Math.max(1, first.summaries))} B each), ${first.syncStates} sync states; ` +
      `queue ${first.count} items`,
  );
  console.log(`Chromium ${CHROMIUM}, ${os.cpus().length} cores; ${RUNS} cold starts per mode (new browser process each); ms, median [min–max]\n`);
  const rows = [
    ["navigation start → queue in DOM", "dom"],
    ["navigation start → frame after the queue", "frame"],
    ["navigation start → DOMContentLoaded", "domContentLoaded"],
    ["navigation start → openEngine called", "openStart"],
    ["openEngine total", "engineOpen"],
    ["  wasm init (fetch+compile, parallel to DB)", "wasmInit"],
    ["  IndexedDB open + device meta", "dbOpen"],
    ["  IndexedDB read (packs + journal)", "idbRead"],
    ["    journal entries read", "journalEntries"],
    ["  Replica.open (wasm)", "replicaOpen"],
    ["first facts() (decoded in JS at open, else wasm)", "facts"],
    ["first callQueue (wasm + JS conversion)", "firstCallQueue"],
    ["callQueue, warm, median of 20", "callQueueMedian"],
  ];
  const cell = (xs) => `${fmt(median(xs))} [${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}]`;
  console.log(`${"".padEnd(52)}${"online (no relay)".padEnd(28)}offline (service worker)`);
  for (const [label, key] of rows) {
    const on = results.online.map((r) => r[key]).filter((x) => x !== undefined);
    const off = results.offline.map((r) => r[key]).filter((x) => x !== undefined);
    console.log(`${label.padEnd(52)}${(on.length ? cell(on) : "—").padEnd(28)}${off.length ? cell(off) : "—"}`);
  }
  const c = results.command;
  console.log(
    `\ncommands on the queue screen (offline, first one ${fmt(c.sinceStart)} ms after navigation start): ` +
      `call to durable (committed) ${fmt(c.firstDurable)} ms, to the caller resuming (after the queue screen re-rendered) ${fmt(c.first)} ms; ` +
      `the next one: ${fmt(c.secondDurable)} ms, ${fmt(c.second)} ms`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
