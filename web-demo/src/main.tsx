import { render } from "preact";
import { openEngine } from "./engine/engine";
import { readSession, SessionError, signOut, storedSession } from "./engine/session";
import { registerServiceWorker } from "./engine/sw-register";
import { Root, type Boot } from "./ui/Root";
import "./ui/styles.css";

registerServiceWorker();

let session;
let problem: string | undefined;
try {
  session = readSession();
} catch (e) {
  problem = e instanceof SessionError || e instanceof Error ? e.message : String(e);
  // A bad or expired link does not sign out whoever is signed in on this device.
  session = storedSession();
}
// Managers start at their inbox, reps at today's queue.
if (session && (location.hash === "" || location.hash === "#")) {
  history.replaceState(history.state, "", `#/${session.role === "rep" ? "queue" : "inbox"}`);
}

const boot: Boot = {
  session,
  problem,
  open: (s) => openEngine(s),
  signOut() {
    signOut();
    location.hash = "";
    location.reload();
  },
};

render(<Root boot={boot} />, document.getElementById("app")!);
