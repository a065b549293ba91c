// A small typed dictionary per language, the language picker's stored choice, text direction,
// and locale-aware formatting (Intl) of dates and money in the member's locale and time zone.

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { en } from "./en";
import { he } from "./he";
import type { ProblemTexts } from "./problems";
import { enProblems } from "./problems-en";
import { heProblems } from "./problems-he";

type Widen<T> = T extends (...args: infer A) => string ? (...args: A) => string : string;
/** Every label, with the parameters of the parametrised ones. */
export type Dict = { [K in keyof typeof en]: Widen<(typeof en)[K]> };

export type Lang = "en" | "he";
export const LANGS: { id: Lang; name: string }[] = [
  { id: "en", name: "English" },
  { id: "he", name: "עברית" },
];
const DICTS: Record<Lang, Dict> = { en, he };
const RTL: ReadonlySet<Lang> = new Set<Lang>(["he"]);
const STORE_KEY = "fieldbook.lang";

export function dict(lang: Lang): Dict {
  return DICTS[lang];
}

const PROBLEMS: Record<Lang, ProblemTexts> = { en: enProblems, he: heProblems };

/** The texts of the core's error codes (i18n/problems.ts) in `lang`. */
export function problemTexts(lang: Lang): ProblemTexts {
  return PROBLEMS[lang];
}

export function dirOf(lang: Lang): "rtl" | "ltr" {
  return RTL.has(lang) ? "rtl" : "ltr";
}

/** The language a BCP 47 locale asks for, if we have it (`he-IL` → `he`, `iw` → `he`). */
export function langOfLocale(locale: string | undefined): Lang | undefined {
  const base = (locale ?? "").toLowerCase().split(/[-_]/)[0];
  if (base === "he" || base === "iw") return "he";
  if (base === "en") return "en";
  return undefined;
}

/** The language picked on this device, if any. */
export function storedLang(): Lang | undefined {
  try {
    const v = localStorage.getItem(STORE_KEY);
    return v === "en" || v === "he" ? v : undefined;
  } catch {
    return undefined;
  }
}

export function storeLang(lang: Lang): void {
  try {
    localStorage.setItem(STORE_KEY, lang);
  } catch {
    // private mode: the choice lasts for this page only
  }
}

/** The picked language, else the member's locale's, else the browser's, else English. */
export function initialLang(memberLocale?: string): Lang {
  return (
    storedLang() ??
    langOfLocale(memberLocale) ??
    langOfLocale(typeof navigator !== "undefined" ? navigator.language : undefined) ??
    "en"
  );
}

/** Sets `lang` and `dir` on <html> so that the whole page (and the browser's UI) follows. */
export function applyToDocument(lang: Lang): void {
  const root = document.documentElement;
  root.lang = lang;
  root.dir = dirOf(lang);
}

/**
 * The locale used by Intl: the member's own locale when it speaks the UI's language, else the
 * UI's language with the member's region (an English UI for a `ro-RO` member formats as
 * `en-RO`: day-first dates, 24-hour clock, `1.234,50`), so that month names never mix
 * languages with the labels around them.
 */
export function formatLocale(lang: Lang, memberLocale: string | undefined): string {
  let region: string | undefined;
  let language: string | undefined;
  try {
    if (memberLocale) {
      const loc = new Intl.Locale(memberLocale);
      region = loc.region;
      language = loc.language;
    }
  } catch {
    // not a valid BCP 47 tag: use the UI language alone
  }
  if (memberLocale && langOfLocale(language) === lang) return memberLocale;
  const candidate = region ? `${lang}-${region}` : lang;
  return Intl.DateTimeFormat.supportedLocalesOf([candidate]).length ? candidate : lang;
}

export interface MoneyLike {
  minor: number;
  currency: string;
}

/** Dates, times and money for one member. */
export class Formatter {
  readonly locale: string;
  readonly timeZone: string | undefined;
  private readonly cache = new Map<string, Intl.DateTimeFormat>();

  constructor(locale: string, timeZone: string | undefined) {
    this.locale = locale;
    this.timeZone = validTimeZone(timeZone);
  }

  private dtf(key: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
    let f = this.cache.get(key);
    if (!f) {
      f = new Intl.DateTimeFormat(this.locale, { ...opts, timeZone: this.timeZone });
      this.cache.set(key, f);
    }
    return f;
  }

  /** e.g. "9 Jun 2025, 10:30". */
  dateTime(iso: string | number | Date): string {
    return this.dtf("dt", { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
  }

  /** e.g. "9 Jun 2025". */
  date(iso: string | number | Date): string {
    return this.dtf("d", { dateStyle: "medium" }).format(new Date(iso));
  }

  /** A calendar date "YYYY-MM-DD" (no time zone shift). */
  day(ymd: string): string {
    const [y, m, d] = ymd.split("-").map(Number);
    return new Intl.DateTimeFormat(this.locale, { dateStyle: "full", timeZone: "UTC" }).format(
      new Date(Date.UTC(y, m - 1, d)),
    );
  }

  /** e.g. "10:30". */
  time(iso: string | number | Date): string {
    return this.dtf("t", { timeStyle: "short" }).format(new Date(iso));
  }

  /** Today's date "YYYY-MM-DD" in the member's time zone. */
  today(now: number = Date.now()): string {
    return this.ymd(now);
  }

  ymd(at: string | number | Date): string {
    const parts = this.dtf("ymd", { year: "numeric", month: "2-digit", day: "2-digit" })
      .formatToParts(new Date(at));
    const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
    // formatToParts gives digits in the locale's numbering system; Latin digits are expected.
    return `${latin(get("year"))}-${latin(get("month"))}-${latin(get("day"))}`;
  }

  money(m: MoneyLike | null | undefined): string {
    if (!m) return "—";
    return this.amount(m.minor, m.currency);
  }

  amount(minor: number, currency: string): string {
    try {
      return new Intl.NumberFormat(this.locale, { style: "currency", currency }).format(minor / 100);
    } catch {
      return `${this.number(minor / 100, 2)} ${currency}`;
    }
  }

  number(n: number, digits = 0): string {
    return new Intl.NumberFormat(this.locale, {
      maximumFractionDigits: digits,
      minimumFractionDigits: 0,
    }).format(n);
  }

  percent(n: number): string {
    return new Intl.NumberFormat(this.locale, { style: "percent", maximumFractionDigits: 0 }).format(
      n / 100,
    );
  }

  /** A signed change, e.g. "+3" / "−2" / "±0". */
  change(n: number): string {
    return new Intl.NumberFormat(this.locale, { signDisplay: "exceptZero" }).format(n);
  }

  /** "YYYY-MM-DDTHH:MM" for a datetime-local input, in the member's time zone. */
  localInput(at: number | string | Date): string {
    const d = new Date(at);
    const parts = this.dtf("li", {
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    }).formatToParts(d);
    const get = (t: string) => latin(parts.find((p) => p.type === t)?.value ?? "00");
    return `${get("year")}-${get("month")}-${get("day")}T${get("hour")}:${get("minute")}`;
  }

  /**
   * The instant of a wall-clock time "YYYY-MM-DDTHH:MM" in the member's time zone, as an
   * RFC 3339 UTC string (what the core's inputs take). `undefined` for an empty or bad value.
   */
  fromLocalInput(value: string): string | undefined {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}))?$/.exec(value);
    if (!m) return undefined;
    const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4] ?? "09", m[5] ?? "00"].map(Number);
    const wall = Date.UTC(y, mo - 1, d, h, mi);
    // The zone's offset at that instant, found by formatting a guess and correcting twice
    // (enough across DST changes).
    let guess = wall;
    for (let i = 0; i < 2; i++) {
      const shown = this.localInput(guess);
      const [sd, st] = shown.split("T");
      const [sy, smo, sdd] = sd.split("-").map(Number);
      const [sh, smi] = st.split(":").map(Number);
      guess += wall - Date.UTC(sy, smo - 1, sdd, sh, smi);
    }
    return new Date(guess).toISOString();
  }
}

function latin(s: string): string {
  return s.replace(/[٠-٩]/g, (c) => String(c.charCodeAt(0) - 0x660));
}

function validTimeZone(tz: string | undefined): string | undefined {
  if (!tz) return undefined;
  try {
    new Intl.DateTimeFormat("en", { timeZone: tz });
    return tz;
  } catch {
    return undefined;
  }
}

export interface I18n {
  lang: Lang;
  dir: "rtl" | "ltr";
  t: Dict;
  fmt: Formatter;
  setLang(lang: Lang): void;
}

export const I18nContext = createContext<I18n>({
  lang: "en",
  dir: "ltr",
  t: en,
  fmt: new Formatter("en", undefined),
  setLang: () => {},
});

export function useI18n(): I18n {
  return useContext(I18nContext);
}
