// The core's refusals reach the screens as `FieldbookError` (kind, field, message, problem). The
// screens show the error next to the input the field path names, in the UI's language: the
// text of its code (`problem`: a `Problem`, a `Refusal`, or for the playbook a `Problem` of code
// `playbook` carrying a `PlaybookProblem`) with its parameters named (i18n/problems.ts); the
// English `message` only for a code this version does not know. They never judge input
// themselves.

import { useMemo } from "preact/hooks";
import { problemTexts, useI18n, type Dict, type Formatter } from "../i18n";
import { codeText, playbookText, UnknownCode, type Names, type ProblemTexts } from "../i18n/problems";
import { useEngine } from "./engine-hooks";
import { enumLabel, memberName, productName, reasonLabel, statusLabel } from "./labels";
import { useMe } from "./me";
import type { Team } from "./types";

/** A code with its parameters, as the core gives it (`Problem`, `Refusal`, …). */
export interface Coded {
  code: string;
  [param: string]: unknown;
}

export interface ShownError {
  kind: string;
  /** Input field path, e.g. `notes`, `next_step`, `final_no.budget`. */
  field?: string;
  /** The English message (shown only when the code is unknown, or there is none). */
  message: string;
  /** The core's code and parameters, translated for the screen. */
  problem?: Coded;
}

function coded(v: unknown): Coded | undefined {
  return v && typeof v === "object" && typeof (v as { code?: unknown }).code === "string" ? (v as Coded) : undefined;
}

/** A FieldbookError (by shape, so the screens need not load the module) or any other error. */
export function toShownError(e: unknown): ShownError {
  if (e && typeof e === "object") {
    const o = e as { kind?: unknown; field?: unknown; message?: unknown; problem?: unknown };
    if (typeof o.kind === "string") {
      const problem = coded(o.problem);
      return {
        kind: o.kind,
        field: typeof o.field === "string" && o.field ? o.field : undefined,
        message: typeof o.message === "string" ? o.message : String(e),
        ...(problem ? { problem } : {}),
      };
    }
    if (e instanceof Error) return { kind: "error", message: e.message };
  }
  return { kind: "error", message: String(e) };
}

/** Whether `err` belongs to the input `name` (exactly, or a part of it such as `name.due`). */
export function errorAt(err: ShownError | undefined, name: string): ShownError | undefined {
  if (!err?.field) return undefined;
  return err.field === name || err.field.startsWith(`${name}.`) ? err : undefined;
}

/** The error when no input of `names` shows it (shown at the top of the form then). */
export function unplaced(err: ShownError | undefined, names: string[]): ShownError | undefined {
  if (!err) return undefined;
  if (err.field && names.some((n) => errorAt(err, n))) return undefined;
  return err;
}

function unknown(code: string): never {
  throw new UnknownCode(code);
}

const ENDINGS: Record<string, keyof Dict> = {
  next_step: "endNextStep",
  decision_date: "endDecisionDate",
  needs_time: "endNeedsTime",
  final_yes: "endFinalYes",
  final_no: "endFinalNo",
};

/**
 * How the error texts name parameters for this team, language and formatter: members by name,
 * statuses, reasons and products as the screens label them, times and dates as the app formats
 * them; `leadName` names a lead this device has.
 */
export function makeNames(
  t: Dict,
  fmt: Formatter,
  texts: ProblemTexts,
  team: Team | undefined,
  leadName: (id: string) => string | undefined,
): Names {
  const names: Names = {
    member: (id) => memberName(team, id),
    role: (role) => enumLabel(t, "role", role),
    lead: (id) => leadName(id) || t.thisLead,
    status: (key) => statusLabel(t, team, key),
    statusRole: (role) => enumLabel(t, "status", role),
    reason: (key) => reasonLabel(t, team, key),
    product: (id) => productName(team, id),
    eventKind: (kind) => enumLabel(t, "evkind", kind),
    ending: (e) => {
      const key = ENDINGS[e];
      return key ? (t[key] as string) : e;
    },
    dateTime: (iso) => fmt.dateTime(iso),
    date: (ymd) => fmt.date(ymd),
    number: (n) => fmt.number(n),
    list: (items) => items.join(t.listSeparator),
    refusal: (r) => codeText(texts, names, r) ?? unknown(r.code),
    playbook: (p) => playbookText(texts, names, p) ?? unknown(p.code),
  };
  return names;
}

/** The text of a code in the UI's language, or `undefined` for a code this version does not know. */
export function problemText(texts: ProblemTexts, names: Names, problem: Coded): string | undefined {
  return codeText(texts, names, problem);
}

/** Translates the core's codes for this screen (the team, the language, the leads on this device). */
export function useProblemText(): (problem: Coded | null | undefined, fallback: string) => string {
  const { t, fmt, lang } = useI18n();
  const { team } = useMe();
  const engine = useEngine();
  return useMemo(() => {
    const texts = problemTexts(lang);
    const leadName = (id: string) => {
      const f = engine.facts().find((x) => x.id === id) as { company?: string; contact?: string } | undefined;
      return f?.company || f?.contact || undefined;
    };
    const names = makeNames(t, fmt, texts, team, leadName);
    return (problem, fallback) => (problem ? problemText(texts, names, problem) : undefined) ?? fallback;
  }, [t, fmt, lang, team, engine]);
}

/** The text of a shown error in the UI's language (its code's, else its English message). */
export function useErrorText(): (err: ShownError) => string {
  const text = useProblemText();
  return (err) => text(err.problem, err.message);
}
