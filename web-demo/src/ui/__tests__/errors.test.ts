// @vitest-environment node
// The core's error codes reach the screen in the UI's language with their parameters named;
// a code this version does not know falls back to the English message.
import { describe, expect, it } from "vitest";
import { dict, Formatter, problemTexts, type Lang } from "../../i18n";
import { codeText } from "../../i18n/problems";
import { makeNames, toShownError, type Coded } from "../errors";
import type { Team } from "../types";

const team = {
  id: "demo",
  name: "Demo",
  members: [
    { id: "r-yossi", name: "Yossi Cohen", role: "rep" },
    { id: "m-dana", name: "Dana Levi", role: "manager" },
  ],
  products: [{ id: "p-solar", name: "Solar kit" }],
  playbook: { statuses: [], refusal_reasons: [{ key: "price", label: "Price too high" }] },
} as unknown as Team;

function text(lang: Lang, problem: Coded): string | undefined {
  const texts = problemTexts(lang);
  const names = makeNames(dict(lang), new Formatter(lang, "UTC"), texts, team, (id) => (id === "L1" ? "Acme Ltd" : undefined));
  return codeText(texts, names, problem);
}

describe("error texts", () => {
  it("keeps the code and its parameters of a FieldbookError", () => {
    const e = Object.assign(new Error("notes: …"), { kind: "missing", field: "notes", problem: { code: "notes_missing" } });
    expect(toShownError(e)).toEqual({ kind: "missing", field: "notes", message: "notes: …", problem: { code: "notes_missing" } });
    expect(toShownError(Object.assign(new Error("x"), { kind: "bad_input" })).problem).toBeUndefined();
  });

  it("names members, counts and leads in each language", () => {
    const refusal = { code: "too_many_leads", owner: "r-yossi", count: 20, limit: 20 };
    expect(text("en", refusal)).toBe("Yossi Cohen already owns 20 leads (limit 20)");
    expect(text("he", refusal)).toBe("Yossi Cohen כבר אחראי/ת על 20 לידים (המגבלה היא 20)");
    expect(text("en", { code: "no_pending_review", lead: "L1" })).toBe("Acme Ltd: no refusal is waiting for review");
    expect(text("en", { code: "no_pending_review", lead: "L2" })).toBe("This lead: no refusal is waiting for review");
    expect(text("he", { code: "notes_missing" })).toMatch(/^יש לתעד/);
    // A member the team does not know is shown by id.
    expect(text("en", { code: "already_owner", owner: "r-gone" })).toBe("The lead already belongs to r-gone");
  });

  it("translates the codes nested in a problem: a refusal of the owner, a playbook problem", () => {
    const owner = { code: "owner", refusal: { code: "may_not_own", owner: "m-dana", why: "admin" } };
    expect(text("en", owner)).toMatch(/^Dana Levi may not own leads: admins oversee/);
    const playbook = { code: "playbook", playbook: { code: "at_least_one" } };
    expect(text("en", playbook)).toBe("Must be at least 1");
    expect(text("he", playbook)).toBe("צריך להיות לפחות 1");
    const reassign = { code: "may_not_reassign", writer: "r-yossi", role: "rep", allowed: "managers" };
    expect(text("he", reassign)).toContain("מנהלים ומנהלי מערכת");
    expect(text("he", reassign)).toContain("נציג");
  });

  it("leaves a code this version does not know to the English message", () => {
    expect(text("he", { code: "from_a_newer_core" })).toBeUndefined();
    expect(text("he", { code: "playbook", playbook: { code: "newer" } })).toBeUndefined();
    expect(text("en", { code: "owner", refusal: { code: "newer" } })).toBeUndefined();
  });
});
