// The core's error codes in the UI's language: a text for every code of `Problem` (a command's
// input or the lead's state), `Refusal` (the write model: who may write what) and
// `PlaybookProblem` (a playbook that does not validate), with its parameters filled in. The
// tables are typed by the generated unions (`Record` over each `code`), so a code the core adds
// does not compile until it is translated here, in every language.
//
// The parameters are named through `Names` (member ids as member names, dates and amounts as
// the app formats them), which the screens build from the team and the formatter (ui/errors.ts):
// this file knows the codes, not the team.

import type { OwnerProblem, PlaybookProblem, Problem, Reassignment, Refusal, Role } from "../wasm/fieldbook_wasm";

/** How a text names the parameters of a code. */
export interface Names {
  /** A member by id: their name when the team knows them, else the id. */
  member(id: string): string;
  /** A role, translated. */
  role(role: Role): string;
  /** A lead by id: its company or contact when this device has it, else a generic "this lead". */
  lead(id: string): string;
  /** A status of the playbook, translated as the screens show it. */
  status(key: string): string;
  /** A status role (`new`, `lost`…), translated. */
  statusRole(role: string): string;
  /** A refusal reason of the playbook. */
  reason(key: string): string;
  /** A product of the team. */
  product(id: string): string;
  /** An event's `type` (`review_decision`…), translated. */
  eventKind(kind: string): string;
  /** A conversation's ending (`next_step`, `final_yes`…), translated. */
  ending(ending: string): string;
  /** An RFC 3339 time, as the app shows times. */
  dateTime(iso: string): string;
  /** A calendar date `YYYY-MM-DD`. */
  date(ymd: string): string;
  /** A count. */
  number(n: number): string;
  /** A list of already named values. */
  list(items: string[]): string;
  /** A refusal inside a problem (`owner`), translated. */
  refusal(refusal: Refusal): string;
  /** A playbook problem inside a problem (`playbook`), translated. */
  playbook(problem: PlaybookProblem): string;
}

/** One text per code of the union `U`, given that code's parameters. */
export type CodeTexts<U extends { code: string }> = {
  [C in U["code"]]: (p: Extract<U, { code: C }>, n: Names) => string;
};

/** Every error text of one language. */
export interface ProblemTexts {
  problem: CodeTexts<Problem>;
  refusal: CodeTexts<Refusal>;
  playbook: CodeTexts<PlaybookProblem>;
  /** Who the playbook lets reassign leads (`Playbook.reassignment`). */
  reassignment: Record<Reassignment, string>;
  /** Why a member may not own leads. */
  ownerProblem: Record<OwnerProblem, string>;
}

// Problem and Refusal codes share one namespace where an error carries either (`problem` of a
// FieldbookError): a code in both would be ambiguous. This line fails to compile if one is.
type Overlap = Extract<Problem["code"], Refusal["code"]>;
const noOverlap: [Overlap] extends [never] ? true : never = true;
void noOverlap;

/** A code with its parameters, as the core gives it. */
export type Coded = Problem | Refusal;

/** Thrown by `Names.refusal`/`Names.playbook` for a nested code this version does not know. */
export class UnknownCode extends Error {
  constructor(readonly code: string) {
    super(`unknown code ${code}`);
  }
}

function has<T extends object>(table: T, code: string): code is Extract<keyof T, string> {
  return Object.prototype.hasOwnProperty.call(table, code);
}

/**
 * The text of `coded` in the language of `texts`, or `undefined` for a code this version does
 * not know (a newer core): the caller shows the English message then.
 */
export function codeText(texts: ProblemTexts, names: Names, coded: { code: string }): string | undefined {
  const code = coded.code;
  const text = has(texts.problem, code)
    ? texts.problem[code]
    : has(texts.refusal, code)
      ? texts.refusal[code]
      : undefined;
  return known(() => (text as ((p: unknown, n: Names) => string) | undefined)?.(coded, names));
}

/** The text of a playbook problem, or `undefined` for a code this version does not know. */
export function playbookText(texts: ProblemTexts, names: Names, problem: { code: string }): string | undefined {
  if (!has(texts.playbook, problem.code)) return undefined;
  const text = texts.playbook[problem.code] as (p: unknown, n: Names) => string;
  return known(() => text(problem, names));
}

/** `undefined` when a nested code is unknown (the whole text falls back to the message). */
function known(text: () => string | undefined): string | undefined {
  try {
    return text();
  } catch (error) {
    if (error instanceof UnknownCode) return undefined;
    throw error;
  }
}
