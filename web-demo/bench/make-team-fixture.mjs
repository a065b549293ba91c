// Writes the engine tests' fixture: the demo team's team document as the relay stores it
// (src/engine/__tests__/fixtures/demo-team.automerge). Run after changing the team document's
// shape: `node web-demo/bench/make-team-fixture.mjs` (needs the `fieldbook` binary and sqlite3).

import fs from "node:fs";
import path from "node:path";
import { WEB, createDemo, teamDocument } from "./relay.mjs";

const demo = createDemo(0);
const team = teamDocument(demo.data);
const out = path.join(WEB, "src/engine/__tests__/fixtures/demo-team.automerge");
fs.writeFileSync(out, team.bytes);
fs.rmSync(demo.data, { recursive: true, force: true });
console.log(`${out}: team document ${team.id} of team "${demo.team}", ${team.bytes.length} bytes`);
