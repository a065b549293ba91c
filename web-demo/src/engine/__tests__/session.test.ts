// @vitest-environment node
/// <reference types="node" />
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  SESSION_KEY,
  SessionError,
  isExpired,
  parseToken,
  readSession,
  signOut,
  storedSession,
  tokenFromHash,
} from "../session";

function b64url(text: string): string {
  return Buffer.from(text, "utf8").toString("base64url");
}

function token(claims: unknown, sig = "c2lnbmF0dXJl"): string {
  return `fb1.${b64url(JSON.stringify(claims))}.${sig}`;
}

const NOW = Date.UTC(2026, 10, 22, 12, 0, 0);
const valid = { id: "tok-1", team: "demo", member: "r-yossi", role: "rep", exp: NOW / 1000 + 3600 };

/** A minimal window (location, history, localStorage) for readSession in node. */
class FakeWindow {
  store = new Map<string, string>();
  url = new URL("https://fieldbook.test/");
  replaced: string[] = [];
  install(): void {
    const self = this;
    Object.assign(globalThis, {
      localStorage: {
        getItem: (k: string) => self.store.get(k) ?? null,
        setItem: (k: string, v: string) => void self.store.set(k, String(v)),
        removeItem: (k: string) => void self.store.delete(k),
      },
      location: {
        get hash() { return self.url.hash; },
        get pathname() { return self.url.pathname; },
        get search() { return self.url.search; },
      },
      history: {
        state: null,
        replaceState: (_s: unknown, _t: string, url: string) => {
          self.replaced.push(url);
          self.url = new URL(url, self.url);
        },
      },
    });
  }
}

describe("parseToken", () => {
  it("decodes the claims of a valid token", () => {
    const t = token(valid);
    expect(parseToken(t, NOW)).toEqual({
      token: t,
      team: "demo",
      member: "r-yossi",
      role: "rep",
      exp: valid.exp,
    });
  });

  it("accepts payloads with non-ASCII names (UTF-8) and unpadded base64url", () => {
    const t = token({ ...valid, member: "דנה" });
    expect(parseToken(t, NOW).member).toBe("דנה");
  });

  it.each([
    ["empty", ""],
    ["wrong prefix", token(valid).replace(/^fb1/, "fb2")],
    ["two parts", `fb1.${b64url(JSON.stringify(valid))}`],
    ["four parts", `${token(valid)}.x`],
    ["empty signature", `fb1.${b64url(JSON.stringify(valid))}.`],
    ["not base64url", "fb1.abc$def.sig"],
    ["not JSON", `fb1.${b64url("{nope")}.sig`],
    ["not an object", `fb1.${b64url("[1,2]")}.sig`],
    ["no member", token({ ...valid, member: undefined })],
    ["empty team", token({ ...valid, team: "" })],
    ["unknown role", token({ ...valid, role: "owner" })],
    ["no expiry", token({ ...valid, exp: "soon" })],
    ["no id", token({ ...valid, id: undefined })],
  ])("refuses a malformed token (%s)", (_what, t) => {
    let error: unknown;
    try {
      parseToken(t, NOW);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SessionError);
    expect((error as SessionError).reason).toBe("malformed");
    expect((error as SessionError).message).toMatch(/not valid/);
  });

  it("refuses an expired token, saying when it expired", () => {
    const t = token({ ...valid, exp: NOW / 1000 - 1 });
    expect(() => parseToken(t, NOW)).toThrow(/expired on 2026-11-22/);
    try {
      parseToken(t, NOW);
    } catch (e) {
      expect((e as SessionError).reason).toBe("expired");
    }
    // The exact expiry instant counts as expired.
    expect(() => parseToken(token({ ...valid, exp: NOW / 1000 }), NOW)).toThrow(SessionError);
  });

  it("isExpired compares exp (seconds) with now (ms)", () => {
    const s = parseToken(token(valid), NOW);
    expect(isExpired(s, NOW)).toBe(false);
    expect(isExpired(s, (valid.exp + 1) * 1000)).toBe(true);
  });
});

describe("tokenFromHash", () => {
  it("finds the token among hash parameters", () => {
    expect(tokenFromHash("#token=fb1.a.b")).toBe("fb1.a.b");
    expect(tokenFromHash("#x=1&token=fb1.a.b")).toBe("fb1.a.b");
    expect(tokenFromHash("#/queue")).toBeUndefined();
    expect(tokenFromHash("")).toBeUndefined();
  });
});

describe("readSession / signOut", () => {
  let win: FakeWindow;
  const saved = { ...globalThis };
  beforeEach(() => {
    win = new FakeWindow();
    win.install();
  });
  afterEach(() => {
    for (const k of ["localStorage", "location", "history"]) {
      (globalThis as Record<string, unknown>)[k] = (saved as Record<string, unknown>)[k];
    }
  });

  it("takes the token from the hash, stores it and removes it from the URL", () => {
    const t = token(valid);
    win.url = new URL(`https://fieldbook.test/app?x=1#token=${t}`);
    const session = readSession(NOW);
    expect(session?.member).toBe("r-yossi");
    expect(win.url.hash).toBe("");
    expect(win.url.search).toBe("?x=1");
    expect(win.replaced).toEqual(["/app?x=1"]);
    expect(JSON.parse(win.store.get(SESSION_KEY)!).token).toBe(t);
    // A reload without the hash finds the stored session.
    expect(readSession(NOW)).toEqual(session);
  });

  it("keeps other hash parameters", () => {
    win.url = new URL(`https://fieldbook.test/#token=${token(valid)}&lang=he`);
    readSession(NOW);
    expect(win.url.hash).toBe("#lang=he");
  });

  it("removes a bad token from the URL, throws, and keeps the stored session", () => {
    win.url = new URL(`https://fieldbook.test/#token=${token(valid)}`);
    const first = readSession(NOW);
    win.url = new URL(`https://fieldbook.test/#token=garbage`);
    expect(() => readSession(NOW)).toThrow(SessionError);
    expect(win.url.hash).toBe("");
    expect(readSession(NOW)).toEqual(first);
  });

  it("throws 'expired' for an expired token in the URL", () => {
    win.url = new URL(`https://fieldbook.test/#token=${token({ ...valid, exp: 1 })}`);
    expect(() => readSession(NOW)).toThrow(/expired/);
    expect(win.store.has(SESSION_KEY)).toBe(false);
  });

  it("still opens a stored session whose token has expired since (local data stays usable)", () => {
    win.url = new URL(`https://fieldbook.test/#token=${token(valid)}`);
    readSession(NOW);
    const later = (valid.exp + 60) * 1000;
    const session = readSession(later);
    expect(session?.member).toBe("r-yossi");
    expect(isExpired(session!, later)).toBe(true);
  });

  it("ignores a corrupted stored session", () => {
    win.store.set(SESSION_KEY, "{not json");
    expect(storedSession()).toBeUndefined();
    win.store.set(SESSION_KEY, JSON.stringify({ token: "fb1.x.y" }));
    expect(storedSession()).toBeUndefined();
  });

  it("signOut forgets the session", () => {
    win.url = new URL(`https://fieldbook.test/#token=${token(valid)}`);
    readSession(NOW);
    signOut();
    expect(win.store.has(SESSION_KEY)).toBe(false);
    expect(readSession(NOW)).toBeUndefined();
  });
});
