// The signed-in member: decoded from the relay's login token and kept in localStorage.
//
// A login link is `https://HOST/#token=fb1.<payload>.<sig>`: `payload` is base64url JSON
// `{id, team, member, role, exp}` signed by the relay (HMAC-SHA256). The device does not check
// the signature (it has no key); the relay checks it on every connection. The token leaves the
// URL as soon as it is read (history.replaceState), so it is not bookmarked or shared by
// accident.

import type { Role, Session } from "./api";

/** Where the session is kept. */
export const SESSION_KEY = "fieldbook.session";

const ROLES: readonly Role[] = ["admin", "manager", "rep"];

/** A login token that cannot be used; `reason` says why, `message` says it to a person. */
export class SessionError extends Error {
  readonly reason: "malformed" | "expired";

  constructor(reason: "malformed" | "expired", message: string) {
    super(message);
    this.name = "SessionError";
    this.reason = reason;
  }
}

function malformed(why: string): SessionError {
  return new SessionError(
    "malformed",
    `This login link is not valid (${why}). Ask your manager for a new one.`,
  );
}

function base64urlDecode(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw malformed("the token is not base64url");
  }
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

function nonEmptyString(claims: Record<string, unknown>, key: string): string {
  const value = claims[key];
  if (typeof value !== "string" || value === "") {
    throw malformed(`the token has no ${key}`);
  }
  return value;
}

/**
 * Decodes a token (`fb1.<payload>.<sig>`) without checking its signature. Throws a
 * `SessionError`: `malformed` when it does not decode, `expired` when `exp` is past `nowMs`.
 */
export function parseToken(token: string, nowMs: number = Date.now()): Session {
  const trimmed = token.trim();
  const parts = trimmed.split(".");
  if (parts.length !== 3 || parts[0] !== "fb1") {
    throw malformed("expected fb1.<payload>.<signature>");
  }
  if (parts[1] === "" || parts[2] === "") {
    throw malformed("the payload or signature is empty");
  }
  base64urlDecode(parts[2]);
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(base64urlDecode(parts[1])));
  } catch (error) {
    if (error instanceof SessionError) throw error;
    throw malformed("the payload is not JSON");
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw malformed("the payload is not an object");
  }
  const record = claims as Record<string, unknown>;
  nonEmptyString(record, "id");
  const team = nonEmptyString(record, "team");
  const member = nonEmptyString(record, "member");
  const role = record.role;
  if (typeof role !== "string" || !ROLES.includes(role as Role)) {
    throw malformed("the token has no known role");
  }
  const exp = record.exp;
  if (typeof exp !== "number" || !Number.isFinite(exp)) {
    throw malformed("the token has no expiry");
  }
  if (exp * 1000 <= nowMs) {
    const when = new Date(exp * 1000).toISOString().slice(0, 10);
    throw new SessionError(
      "expired",
      `This login link expired on ${when}. Ask your manager for a new one.`,
    );
  }
  return { token: trimmed, team, member, role: role as Role, exp };
}

/** Whether the session's token has expired (the relay refuses it; local data still opens). */
export function isExpired(session: Session, nowMs: number = Date.now()): boolean {
  return session.exp * 1000 <= nowMs;
}

/** The token in a URL hash (`#token=…`, possibly among other `&`-separated parameters). */
export function tokenFromHash(hash: string): string | undefined {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const token = params.get("token");
  return token === null ? undefined : token;
}

function removeTokenFromUrl(): void {
  const params = new URLSearchParams(location.hash.replace(/^#/, ""));
  params.delete("token");
  const rest = params.toString();
  history.replaceState(history.state, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}

/** The session kept on this device, if any (expired ones too: they still open local data). */
export function storedSession(): Session | undefined {
  let raw: string | null;
  try {
    raw = localStorage.getItem(SESSION_KEY);
  } catch {
    return undefined;
  }
  if (raw === null) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<Session>;
    if (typeof value.token !== "string") return undefined;
    // Decode the token again (not the stored fields): one source of truth. An expired token
    // still gives a session here; `isExpired` tells the app.
    return parseToken(value.token, Number.NEGATIVE_INFINITY);
  } catch {
    return undefined;
  }
}

/** Keeps the session on this device. */
export function storeSession(session: Session): void {
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
}

/**
 * The session to use at start: a token in the URL hash wins (it is stored, and removed from the
 * URL whether or not it is valid); otherwise the stored one. Throws a `SessionError` for a
 * malformed or expired token in the URL (the stored session, if any, is kept). Returns
 * `undefined` when nobody is signed in.
 */
export function readSession(nowMs: number = Date.now()): Session | undefined {
  const token = tokenFromHash(location.hash);
  if (token !== undefined) {
    removeTokenFromUrl();
    const session = parseToken(token, nowMs);
    storeSession(session);
    return session;
  }
  return storedSession();
}

/** Forgets the session on this device (the replica's data stays in IndexedDB). */
export function signOut(): void {
  try {
    localStorage.removeItem(SESSION_KEY);
  } catch {
    // Storage unavailable: nothing was kept.
  }
}
