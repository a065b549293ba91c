// Starts the real relay for the browser tests (tests/e2e/relay.ts): a demo team (40 leads) in a
// temporary data directory, `fieldbook serve` on a free port serving web-demo/dist. The URL and
// the members' tokens reach the tests through the environment; the returned function stops the
// relay and removes the directory.

import { startRelay } from "./relay";

export default async function globalSetup(): Promise<() => Promise<void>> {
  const relay = await startRelay({ leads: 40 });
  process.env.FIELDBOOK_URL = relay.url;
  process.env.FIELDBOOK_TOKENS = JSON.stringify(relay.tokens);
  return () => relay.stop();
}
