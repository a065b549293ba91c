// Starts the real relays for the browser tests, each on a demo team (40 leads) in a temporary
// data directory, `fieldbook serve` on a free port serving web-demo/dist, ready when /readyz
// says so:
// - the relay most tests use, over plain HTTP (127.0.0.1 is a secure context already);
// - a relay with built-in TLS (`--tls-cert`/`--tls-key`, a self-signed certificate for
//   127.0.0.1 written by the `test-cert` binary of fieldbook-tests) for tls.spec.ts.
// The URLs, the members' tokens and the certificate's SPKI hash reach the tests through the
// environment; the returned function stops the relays and removes the directories.

import { execFileSync, spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const WEB_DEMO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

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

interface Started {
  url: string;
  tokens: Record<string, string>;
  stop: () => Promise<void>;
}

/** A demo team in a fresh directory and `fieldbook serve` on it; `tls` adds the certificate. */
async function startRelay(bin: string, name: string, tls?: { cert: string; key: string; ca: string }): Promise<Started> {
  const dist = join(WEB_DEMO, "dist");
  const data = mkdtempSync(join(tmpdir(), "fieldbook-e2e-"));
  const demo = execFileSync(bin, ["demo", "--data", data, "--leads", "40"], { encoding: "utf8", timeout: 60_000 });
  const tokens: Record<string, string> = {};
  for (const line of demo.split("\n")) {
    const m = /^(\S+)\t(\S+)\t(fb1\.\S+)$/.exec(line.trim());
    if (m) tokens[m[1]] = m[3];
  }
  for (const member of ["a-admin", "m-dana", "r-yossi", "r-ioana"]) {
    if (!tokens[member]) throw new Error(`\`fieldbook demo\` printed no token for ${member}:\n${demo}`);
  }

  mkdirSync(join(WEB_DEMO, "test-results"), { recursive: true });
  const log = createWriteStream(join(WEB_DEMO, "test-results", `${name}.log`));
  const args = ["serve", "--data", data, "--listen", "127.0.0.1:0", "--web", dist, "--durability", "normal"];
  if (tls) args.push("--tls-cert", tls.cert, "--tls-key", tls.key);
  const relay = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  relay.stderr.pipe(log);
  let exited: string | undefined;
  relay.on("exit", (code, signal) => {
    exited = `${name} exited (${code ?? signal})`;
  });
  const scheme = tls ? "https" : "http";
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${name} printed no address in 20 s: ${out}`)), 20_000);
    relay.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolveUrl(`${scheme}://${m[1]}`);
      }
    });
    relay.on("exit", () => reject(new Error(`${exited}; see test-results/${name}.log`)));
  });
  const ready = tls ? () => httpsOk(`${url}/readyz`, tls.ca) : async () => (await fetch(`${url}/readyz`)).ok;
  await waitFor(`${url}/readyz`, 20_000, ready);

  const stop = async () => {
    if (!exited) {
      relay.kill("SIGTERM");
      await waitFor(`${name} to stop`, 10_000, async () => exited !== undefined).catch(() => relay.kill("SIGKILL"));
    }
    log.end();
    rmSync(data, { recursive: true, force: true });
  };
  return { url, tokens, stop };
}

/** The base64 SHA-256 of a certificate's SubjectPublicKeyInfo (Chromium's SPKI list format). */
function spkiHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = resolve(WEB_DEMO, process.env.FIELDBOOK_BIN ?? "../target/debug/fieldbook");
  if (!existsSync(bin)) {
    throw new Error(`no relay binary at ${bin}: build it with \`cargo build -p fieldbook-server\` (or set FIELDBOOK_BIN)`);
  }
  const certBin = resolve(WEB_DEMO, process.env.FIELDBOOK_TEST_CERT_BIN ?? join(dirname(bin), "test-cert"));
  if (!existsSync(certBin)) {
    throw new Error(
      `no certificate generator at ${certBin}: build it with \`cargo build -p fieldbook-tests --bin test-cert\` (or set FIELDBOOK_TEST_CERT_BIN)`,
    );
  }
  if (!existsSync(join(WEB_DEMO, "dist", "index.html"))) {
    throw new Error(`no built app in ${join(WEB_DEMO, "dist")}: run \`npm --prefix web-demo run build\` first`);
  }

  const plain = await startRelay(bin, "relay");
  process.env.FIELDBOOK_URL = plain.url;
  process.env.FIELDBOOK_TOKENS = JSON.stringify(plain.tokens);

  const certs = mkdtempSync(join(tmpdir(), "fieldbook-e2e-cert-"));
  execFileSync(certBin, [certs], { timeout: 30_000 });
  const cert = join(certs, "tls.cert.pem");
  const ca = readFileSync(cert, "utf8");
  let secure: Started;
  try {
    secure = await startRelay(bin, "relay-tls", { cert, key: join(certs, "tls.key.pem"), ca });
  } catch (e) {
    await plain.stop();
    throw e;
  }
  process.env.FIELDBOOK_TLS_URL = secure.url;
  process.env.FIELDBOOK_TLS_TOKENS = JSON.stringify(secure.tokens);
  process.env.FIELDBOOK_TLS_SPKI = spkiHash(ca);

  return async () => {
    await Promise.all([plain.stop(), secure.stop()]);
    rmSync(certs, { recursive: true, force: true });
  };
}
