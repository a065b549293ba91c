// Starts the real relays for the browser tests (tests/e2e/relay.ts), each on a demo team (40
// leads) in a temporary data directory, `fieldbook serve` on a free port serving web-demo/dist:
// - the relay most tests use, over plain HTTP (127.0.0.1 is a secure context already);
// - a relay with built-in TLS (`--tls-cert`/`--tls-key`, a self-signed certificate for
//   127.0.0.1 written by the `test-cert` binary of fieldbook-tests) for tls.spec.ts.
// The URLs, the members' tokens and the certificate's SPKI hash reach the tests through the
// environment; the returned function stops the relays and removes the directories.

import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type Relay, startRelay } from "./relay";

const WEB_DEMO = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** The base64 SHA-256 of a certificate's SubjectPublicKeyInfo (Chromium's SPKI list format). */
function spkiHash(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = resolve(WEB_DEMO, process.env.FIELDBOOK_BIN ?? "../target/debug/fieldbook");
  const certBin = resolve(WEB_DEMO, process.env.FIELDBOOK_TEST_CERT_BIN ?? join(dirname(bin), "test-cert"));
  if (!existsSync(certBin)) {
    throw new Error(
      `no certificate generator at ${certBin}: build it with \`cargo build -p fieldbook-tests --bin test-cert\` (or set FIELDBOOK_TEST_CERT_BIN)`,
    );
  }
  const plain = await startRelay({ leads: 40 });
  process.env.FIELDBOOK_URL = plain.url;
  process.env.FIELDBOOK_TOKENS = JSON.stringify(plain.tokens);

  const certs = mkdtempSync(join(tmpdir(), "fieldbook-e2e-cert-"));
  execFileSync(certBin, [certs], { timeout: 30_000 });
  const cert = join(certs, "tls.cert.pem");
  const ca = readFileSync(cert, "utf8");
  let secure: Relay;
  try {
    secure = await startRelay({ leads: 40, log: "relay-tls.log", tls: { cert, key: join(certs, "tls.key.pem"), ca } });
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
