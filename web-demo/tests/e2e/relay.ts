// The real relay for the browser tests: a demo team in a temporary data directory, `fieldbook
// serve` on a free port serving web-demo/dist (over HTTPS with `tls`), ready when /readyz says
// so. The global setup
// starts the suite's relay; a test that needs other limits (or a team of its own) starts one
// more with `startRelay` and stops it after.

import { execFileSync, spawn } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const WEB_DEMO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const MEMBERS = ["a-admin", "m-dana", "r-yossi", "r-ioana"];

export interface Relay {
  url: string;
  /** Member id → login token. */
  tokens: Record<string, string>;
  stop(): Promise<void>;
}

export interface RelayOptions {
  /** Demo leads (the reps own half each). */
  leads: number;
  /** More `fieldbook serve` arguments (e.g. `--max-documents-per-member 3`). */
  serve?: string[];
  /** The log file under test-results/. */
  log?: string;
  /** Serve HTTPS/WSS with this certificate (`ca`: its PEM, trusted to check /readyz). */
  tls?: { cert: string; key: string; ca: string };
}

async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `GET url` over HTTPS trusting `ca` only: whether it answered 200. */
function httpsOk(url: string, ca: string): Promise<boolean> {
  return new Promise((resolveOk, reject) => {
    const req = request(url, { ca, timeout: 2_000 }, (res) => {
      res.resume();
      resolveOk(res.statusCode === 200);
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

export async function startRelay(opts: RelayOptions): Promise<Relay> {
  const bin = resolve(WEB_DEMO, process.env.FIELDBOOK_BIN ?? "../target/debug/fieldbook");
  if (!existsSync(bin)) {
    throw new Error(`no relay binary at ${bin}: build it with \`cargo build -p fieldbook-server\` (or set FIELDBOOK_BIN)`);
  }
  const dist = join(WEB_DEMO, "dist");
  if (!existsSync(join(dist, "index.html"))) {
    throw new Error(`no built app in ${dist}: run \`npm --prefix web-demo run build\` first`);
  }
  const data = mkdtempSync(join(tmpdir(), "fieldbook-e2e-"));
  const demo = execFileSync(bin, ["demo", "--data", data, "--leads", String(opts.leads)], { encoding: "utf8", timeout: 60_000 });
  const tokens: Record<string, string> = {};
  for (const line of demo.split("\n")) {
    const m = /^(\S+)\t(\S+)\t(fb1\.\S+)$/.exec(line.trim());
    if (m) tokens[m[1]] = m[3];
  }
  for (const member of MEMBERS) {
    if (!tokens[member]) throw new Error(`\`fieldbook demo\` printed no token for ${member}:\n${demo}`);
  }

  mkdirSync(join(WEB_DEMO, "test-results"), { recursive: true });
  const log = createWriteStream(join(WEB_DEMO, "test-results", opts.log ?? "relay.log"));
  const args = ["serve", "--data", data, "--listen", "127.0.0.1:0", "--web", dist, "--durability", "normal", ...(opts.serve ?? [])];
  const tls = opts.tls;
  if (tls) args.push("--tls-cert", tls.cert, "--tls-key", tls.key);
  const relay = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  relay.stderr.pipe(log);
  let exited: string | undefined;
  relay.on("exit", (code, signal) => {
    exited = `relay exited (${code ?? signal})`;
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`the relay printed no address in 20 s: ${out}`)), 20_000);
    relay.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(`${tls ? "https" : "http"}://${m[1]}`);
      }
    });
    relay.on("exit", () => reject(new Error(`${exited}; see test-results/${opts.log ?? "relay.log"}`)));
  });
  const ready = tls ? () => httpsOk(`${url}/readyz`, tls.ca) : async () => (await fetch(`${url}/readyz`)).ok;
  await waitFor(`${url}/readyz`, 20_000, ready);

  return {
    url,
    tokens,
    async stop() {
      if (!exited) {
        relay.kill("SIGTERM");
        await waitFor("the relay to stop", 10_000, async () => exited !== undefined).catch(() => relay.kill("SIGKILL"));
      }
      log.end();
      rmSync(data, { recursive: true, force: true });
    },
  };
}
