// Helpers for the benchmarks and the engine's test fixtures: the relay binary (`fieldbook`),
// a demo team in a temporary data directory, and the relay's stored documents read back with
// the sqlite3 command-line tool.

import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = path.resolve(WEB, "..");

/** `$FIELDBOOK_BIN`, else target/release/fieldbook, else target/debug/fieldbook. */
export function relayBinary() {
  const candidates = [
    process.env.FIELDBOOK_BIN,
    path.join(ROOT, "target/release/fieldbook"),
    path.join(ROOT, "target/debug/fieldbook"),
  ].filter(Boolean);
  for (const bin of candidates) if (fs.existsSync(bin)) return bin;
  throw new Error(
    "no relay binary: run `cargo build --release -p fieldbook-server` (or set FIELDBOOK_BIN)",
  );
}

/** A demo team (`fieldbook demo`) with `leads` leads in a fresh temporary data directory. */
export function createDemo(leads, { bin = relayBinary(), team = "demo" } = {}) {
  const data = fs.mkdtempSync(path.join(os.tmpdir(), "fieldbook-bench-"));
  const out = execFileSync(bin, ["demo", "--data", data, "--team", team, "--leads", String(leads)], {
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const tokens = {};
  for (const line of out.split("\n")) {
    const [member, role, token] = line.split("\t");
    if (token?.startsWith("fb1.")) tokens[member] = { role, token };
  }
  return { bin, data, team, tokens };
}

function sql(db, query) {
  return execFileSync("sqlite3", ["-readonly", db, query], {
    encoding: "utf8",
    maxBuffer: 1024 * 1024 * 1024,
  });
}

/** The stored bytes of the relay's team document (its chunks concatenated) and its id. */
export function teamDocument(data) {
  const db = path.join(data, "relay.sqlite");
  const id = sql(db, "select id from docs where kind = 'team' limit 1").trim();
  if (!id) throw new Error(`no team document in ${db}`);
  const hex = sql(db, `select hex(bytes) from chunks where doc = '${id}' order by seq`)
    .split("\n")
    .filter(Boolean)
    .join("");
  return { id, bytes: Buffer.from(hex, "hex") };
}

/** Starts `fieldbook serve` on a free port; resolves with its URL and a stop function. */
export async function startRelay(data, extra = [], { bin = relayBinary() } = {}) {
  const child = spawn(bin, ["serve", "--data", data, "--listen", "127.0.0.1:0", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
    if (stderr.length > 100_000) stderr = stderr.slice(-50_000);
  });
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const fail = (error) => {
      child.kill("SIGTERM");
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`the relay did not start:\n${stderr}`)), 30_000);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      // The first stdout line: "listening on 127.0.0.1:PORT".
      const match = out.match(/listening on ([0-9.]+:[0-9]+)/);
      if (match) {
        clearTimeout(timer);
        resolve(`http://${match[1]}`);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the relay exited (${code}):\n${stderr}`));
    });
  });
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  return { url, stop, child, stderr: () => stderr };
}
