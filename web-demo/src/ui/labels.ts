// How the core's values read in the UI's language: enums through the dictionary, team-named
// things (statuses, refusal reasons) as the team named them unless the team kept the default
// English label, which is then translated. No rule is decided here.

import type { Dict, Formatter } from "../i18n";
import { en } from "../i18n/en";
import type { LeadState, Team } from "./types";


function lookup(t: Dict, key: string): string | undefined {
  const v = (t as Record<string, unknown>)[key];
  return typeof v === "string" ? v : undefined;
}

/** A label of an enum value, e.g. enumLabel(t, "outcome", "no_answer"); the raw value if unknown. */
export function enumLabel(t: Dict, prefix: string, value: string): string {
  return lookup(t, `${prefix}_${value}`) ?? value.replace(/_/g, " ");
}

export function statusLabel(t: Dict, team: Team | undefined, key: string, role?: string): string {
  const def = team?.playbook.statuses.find((s) => s.key === key);
  const r = role ?? def?.role;
  const label = def?.label ?? key;
  if (r && label === lookup(en, `status_${r}`)) return enumLabel(t, "status", r);
  return label;
}

export function stateLabel(t: Dict, team: Team | undefined, state: LeadState): string {
  if (state.label === lookup(en, `status_${state.role}`)) return enumLabel(t, "status", state.role);
  return state.label || statusLabel(t, team, state.status, state.role);
}

export function reasonLabel(t: Dict, team: Team | undefined, key: string, teamLabel?: string): string {
  const label = teamLabel ?? team?.playbook.refusal_reasons.find((r) => r.key === key)?.label ?? key;
  const english = lookup(en, `reason_${key}`);
  if (english !== undefined && label === english) return enumLabel(t, "reason", key);
  return label;
}

export function memberName(team: Team | undefined, id: string): string {
  return team?.members.find((m) => m.id === id)?.name ?? id;
}

export function productName(team: Team | undefined, id: string): string {
  return team?.products.find((p) => p.id === id)?.name ?? id;
}

export function flagLabel(t: Dict, flag: string): string {
  return enumLabel(t, "flag", flag);
}

export interface TaskLike {
  kind: string;
  attempt?: number;
  step?: string;
}

export function taskLabel(t: Dict, task: TaskLike): string {
  switch (task.kind) {
    case "next_attempt":
      return t.task_next_attempt(task.attempt ?? 0);
    case "next_step":
      return t.task_next_step(enumLabel(t, "step", task.step ?? ""));
    default: {
      const v = lookup(t, `task_${task.kind}`);
      return v ?? task.kind;
    }
  }
}

/**
 * "5 minutes ago" on the same day, then "yesterday", "3 days ago", or the date for older times.
 * `days` is the core's count of calendar days in the lead owner's zone (`days_ago` of a queue
 * reason), so every device says the same: an attempt on Friday 10:00 is "3 days ago" on Monday.
 */
export function ago(t: Dict, fmt: Formatter, iso: string, now: number, days: number): string {
  if (days >= 1) return days < 8 ? t.daysAgo(days) : fmt.date(iso);
  const min = Math.floor((now - new Date(iso).getTime()) / 60_000);
  if (min < 1) return t.justNow;
  if (min < 60) return t.minutesAgo(min);
  return t.hoursAgo(Math.floor(min / 60));
}

