import type { ComponentChildren } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { useI18n, LANGS, type Lang } from "../../i18n";
import { CURRENCIES, Field, FormError } from "../components/Form";
import { useEngine, useEngineVersion, useNow } from "../engine-hooks";
import { errorAt, toShownError, useErrorText, type ShownError } from "../errors";
import { enumLabel, reasonLabel } from "../labels";
import { useMe } from "../me";
import type { MissingRate, Playbook } from "../types";

// The playbook as the core serialises it. The generated d.ts types `speed_to_lead` with the
// analytics report of the same name (two Rust types called `SpeedToLead`); the playbook's are
// these thresholds.
interface SpeedThresholds {
  respond_within_minutes: number;
  decaying_after_hours: number;
  stale_after_hours: number;
}
type Book = Omit<Playbook, "speed_to_lead"> & { speed_to_lead: SpeedThresholds };

/**
 * The manager's edits: a copy of the playbook (labels, choices) and the text of every number
 * input touched, by path. The numbers are converted only on Save and without judging them: the
 * core refuses what does not decode (`bad_input`) or is not valid (`invalid`, with the field).
 */
interface Draft {
  book: Book;
  texts: Record<string, string>;
}

const GAPS = "cadence.gap_working_days";
/** Who may hand a lead to another member (`Playbook.reassignment`): every value of the core's. */
const REASSIGNMENT = Object.keys({ managers: 0, admins: 0, owners: 0 } satisfies Record<Playbook["reassignment"], 0>) as Playbook["reassignment"][];
/** Sunday first: 2024-01-07 was a Sunday. */
const WEEK = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const WEIGHTS = [
  "revenue",
  "gross_profit",
  "growth_potential",
  "churn_risk",
  "payment_terms",
  "product_breadth",
  "tenure",
] as const;

function getPath(o: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), o);
}

function setPath(o: object, path: string, value: unknown): void {
  const keys = path.split(".");
  const last = keys.pop()!;
  let v = o as Record<string, unknown>;
  for (const k of keys) {
    if (!v[k] || typeof v[k] !== "object") v[k] = {};
    v = v[k] as Record<string, unknown>;
  }
  v[last] = value;
}

/** What the manager typed, as the core's JSON expects it; anything else is passed on as is. */
function toNumber(text: string): number | string | null {
  const s = text.trim();
  if (s === "") return null;
  const n = Number(s);
  return Number.isNaN(n) ? s : n;
}

function toList(text: string): Array<number | string | null> {
  return text.trim() === "" ? [] : text.split(",").map(toNumber);
}

/** The playbook to send: the draft's copy with the typed numbers put in. */
function finish(draft: Draft): Book {
  const book = structuredClone(draft.book);
  for (const [path, text] of Object.entries(draft.texts)) {
    setPath(book, path, path === GAPS ? toList(text) : toNumber(text));
  }
  return book;
}

/** A rate row as edited: the rate is the decimal text the core parses (`"0.7705"`). */
type RateRow = Book["exchange_rates"][number];

/** Today as `YYYY-MM-DD` (UTC: rates are dated by the UTC date of the amounts). */
function utcToday(now: number): string {
  return new Date(now).toISOString().slice(0, 10);
}

/**
 * The currencies on this device that have no exchange rate into the team currency: the core's
 * list (`Engine.missingRates`), shown as errors to every member, with a button for those who
 * may edit that adds a rate row for the currency from the date it is needed.
 */
function MissingRates(props: { team: string; onAdd?(m: MissingRate): void }) {
  const { t, fmt } = useI18n();
  const engine = useEngine();
  const version = useEngineVersion();
  const now = useNow();
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const missing = useMemo(() => engine.missingRates?.(now) ?? [], [engine, version, now]);
  if (missing.length === 0) return null;
  return (
    <div class="missing-rates" role="alert" data-testid="missing-rates">
      <h3>{t.missingRatesTitle}</h3>
      <ul>
        {missing.map((m) => (
          <li key={m.currency} data-currency={m.currency}>
            <span>{t.missingRate(m.currency, props.team, fmt.date(m.needed_from), m.n_leads)}</span>
            {props.onAdd && (
              <button type="button" class="btn" onClick={() => props.onAdd!(m)} data-testid={`add-rate-${m.currency}`}>
                {t.pbAddRate}
              </button>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** An error the core names exactly `name` (a whole group: `playbook.working_week`). */
function GroupError({ err, name }: { err?: ShownError; name: string }) {
  const text = useErrorText();
  if (!err || err.field !== name) return null;
  return (
    <p class="field-error" role="alert" data-testid={`error-${name}`} data-field={err.field} data-code={err.problem?.code}>
      {text(err)}
    </p>
  );
}

function Section(props: { title: string; children: ComponentChildren; testid?: string }) {
  return (
    <fieldset class="pb-section" data-testid={props.testid}>
      <legend>{props.title}</legend>
      {props.children}
    </fieldset>
  );
}

export function SettingsScreen(props: { onSignOut(): void }) {
  const { t, fmt, lang, setLang } = useI18n();
  const me = useMe();
  const { team, member } = me;
  return (
    <section class="screen settings" data-testid="settings">
      <h1>{t.settingsTitle}</h1>
      <section class="card">
        <p data-testid="signed-in">
          {t.signedInAs(member?.name ?? me.session.member, enumLabel(t, "role", member?.role ?? me.session.role))}
        </p>
        <dl class="facts">
          {team && (
            <>
              <dt>{t.team}</dt>
              <dd>{team.name}</dd>
            </>
          )}
          <dt>{t.timeZone}</dt>
          <dd>{fmt.timeZone ?? "UTC"}</dd>
          <dt>{t.locale}</dt>
          <dd>{member?.locale ?? fmt.locale}</dd>
        </dl>
        <label class="inline">
          <span class="field-label">{t.language}</span>
          <select
            data-testid="language"
            value={lang}
            onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}
          >
            {LANGS.map((l) => (
              <option key={l.id} value={l.id} lang={l.id}>{l.name}</option>
            ))}
          </select>
        </label>
        <button type="button" class="btn" onClick={props.onSignOut} data-testid="sign-out">{t.signOut}</button>
      </section>

      <PlaybookCard />

      {team && (
        <section class="card">
          <h2>{t.members}</h2>
          <ul>
            {team.members.map((m) => (
              <li key={m.id}>
                {m.name} <span class="muted">· {enumLabel(t, "role", m.role)} · {m.time_zone}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}

/**
 * The team's playbook: editable for managers and admins (saved with `applyTeam`), read-only for
 * reps. Every check is the core's; its error shows at the input its field path names.
 */
function PlaybookCard() {
  const { t, lang } = useI18n();
  const engine = useEngine();
  const me = useMe();
  const { team } = me;
  const canApply = typeof engine.applyTeam === "function";
  const editable = me.isManager && canApply;
  const [draft, setDraft] = useState<Draft | undefined>();
  const [err, setErr] = useState<ShownError | undefined>();
  const [busy, setBusy] = useState(false);
  const [saved, setSaved] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);

  // Untouched, the form follows the team document (a sync, another manager's save).
  const base = team?.playbook as unknown as Book | undefined;
  const book = draft?.book ?? base;

  useEffect(() => {
    if (!saved) return;
    const timer = setTimeout(() => setSaved(false), 4000);
    return () => clearTimeout(timer);
  }, [saved]);

  // After a refusal, bring the field it names (or the form's error) into view.
  useEffect(() => {
    if (!err) return;
    const form = formRef.current;
    const input = form?.querySelector<HTMLElement>(".field-invalid input, .field-invalid select");
    const alert = form?.querySelector<HTMLElement>('[role="alert"]');
    (input ?? alert)?.scrollIntoView({ block: "center" });
    input?.focus({ preventScroll: true });
  }, [err]);

  if (!book) {
    return (
      <section class="card" data-testid="playbook">
        <h2>{t.playbook}</h2>
        <p class="muted">{t.queueNoTeam}</p>
      </section>
    );
  }

  function touched(): Draft {
    return draft ?? { book: structuredClone(base!), texts: {} };
  }

  function edit(change: (b: Book) => void) {
    const d = touched();
    const next = structuredClone(d.book);
    change(next);
    setDraft({ ...d, book: next });
    setSaved(false);
  }

  function typed(path: string, text: string) {
    const d = touched();
    setDraft({ ...d, texts: { ...d.texts, [path]: text } });
    setSaved(false);
  }

  async function save(e: Event) {
    e.preventDefault();
    if (!editable || !engine.applyTeam) return;
    setBusy(true);
    setErr(undefined);
    try {
      const playbook = finish(touched()) as unknown as Playbook;
      await engine.applyTeam({ type: "set_playbook", playbook });
      setDraft(undefined);
      setSaved(true);
    } catch (x) {
      setErr(toShownError(x));
    } finally {
      setBusy(false);
    }
  }

  // Every input's field path, to tell which errors no input shows (those go above Save).
  const names: string[] = [];
  const groups: string[] = [];
  const group = (path: string) => {
    const name = `playbook.${path}`;
    groups.push(name);
    return <GroupError err={err} name={name} />;
  };

  const num = (path: string, label: string, step = "1") => {
    const name = `playbook.${path}`;
    names.push(name);
    const value = draft?.texts[path] ?? String(getPath(book, path) ?? "");
    return (
      <Field label={label} name={name} err={err}>
        <input
          name={name}
          type="number"
          inputMode={step === "1" ? "numeric" : "decimal"}
          step={step}
          dir="ltr"
          value={value}
          onInput={(ev) => typed(path, (ev.target as HTMLInputElement).value)}
        />
      </Field>
    );
  };

  const weekday = new Intl.DateTimeFormat(lang, { weekday: "short", timeZone: "UTC" });
  const days = book.working_week.days as string[];
  const rates: RateRow[] = book.exchange_rates ?? [];
  const addRate = (row: RateRow) => edit((b) => (b.exchange_rates = [...(b.exchange_rates ?? []), row]));
  const rateField = (i: number, k: keyof RateRow, label: string, input: (name: string) => preact.JSX.Element) => {
    const name = `playbook.exchange_rates[${i}].${k}`;
    names.push(name);
    return (
      <Field label={label} name={name} err={err}>
        {input(name)}
      </Field>
    );
  };

  const body = (
    <>
      <Section title={t.pbCurrencyTitle} testid="pb-currency">
        <MissingRates
          team={book.currency}
          onAdd={editable ? (m) => addRate({ currency: m.currency, date: m.needed_from, rate: "" }) : undefined}
        />
        {group("exchange_rates")}
        {(() => {
          const name = "playbook.currency";
          names.push(name);
          return (
            <Field label={t.pbCurrency} name={name} err={err} hint={t.pbCurrencyHint}>
              <input
                name={name}
                type="text"
                dir="ltr"
                maxLength={3}
                autoCapitalize="characters"
                list="fb-currencies"
                value={book.currency}
                onInput={(ev) => {
                  const v = (ev.target as HTMLInputElement).value.toUpperCase();
                  edit((b) => (b.currency = v));
                }}
              />
            </Field>
          );
        })()}
        <datalist id="fb-currencies">
          {CURRENCIES.map((c) => (
            <option key={c} value={c} />
          ))}
        </datalist>
        <h3>{t.pbRates}</h3>
        {rates.length === 0 && <p class="muted">{t.pbNoRates}</p>}
        {rates.map((r, i) => (
          <div class="pb-rate" key={i} data-testid={`rate-${i}`}>
            {rateField(i, "currency", t.pbRateCurrency, (name) => (
              <input
                name={name}
                type="text"
                dir="ltr"
                maxLength={3}
                autoCapitalize="characters"
                list="fb-currencies"
                value={r.currency}
                onInput={(ev) => {
                  const v = (ev.target as HTMLInputElement).value.toUpperCase();
                  edit((b) => (b.exchange_rates[i].currency = v));
                }}
              />
            ))}
            {rateField(i, "date", t.pbRateDate, (name) => (
              <input
                name={name}
                type="date"
                dir="ltr"
                value={r.date}
                onInput={(ev) => {
                  const v = (ev.target as HTMLInputElement).value;
                  edit((b) => (b.exchange_rates[i].date = v));
                }}
              />
            ))}
            {rateField(i, "rate", t.pbRateValue(book.currency), (name) => (
              <input
                name={name}
                type="text"
                inputMode="decimal"
                dir="ltr"
                value={r.rate}
                onInput={(ev) => {
                  // Decimal comma as typed on a Romanian or Hebrew keyboard: the core reads a point.
                  const v = (ev.target as HTMLInputElement).value.replace(",", ".");
                  edit((b) => (b.exchange_rates[i].rate = v));
                }}
              />
            ))}
            <button
              type="button"
              class="btn"
              onClick={() => edit((b) => b.exchange_rates.splice(i, 1))}
              data-testid={`remove-rate-${i}`}
            >
              {t.pbRemoveRate}
            </button>
          </div>
        ))}
        <button
          type="button"
          class="btn"
          onClick={() => addRate({ currency: "", date: utcToday(Date.now()), rate: "" })}
          data-testid="add-rate"
        >
          {t.pbAddRate}
        </button>
      </Section>

      <Section title={t.pbReassignTitle} testid="pb-reassignment">
        {(() => {
          const name = "playbook.reassignment";
          names.push(name);
          return (
            <Field label={t.pbReassignment} name={name} err={err}>
              <select
                name={name}
                value={book.reassignment ?? "managers"}
                onChange={(ev) => {
                  const v = (ev.target as HTMLSelectElement).value as Book["reassignment"];
                  edit((b) => (b.reassignment = v));
                }}
              >
                {REASSIGNMENT.map((r) => (
                  <option key={r} value={r}>{enumLabel(t, "reassign", r)}</option>
                ))}
              </select>
            </Field>
          );
        })()}
      </Section>

      <Section title={t.pbCadenceTitle} testid="pb-cadence">
        {group("cadence")}
        <div class="pb-grid">
          {num("cadence.max_attempts", t.pbMaxAttempts)}
          {(() => {
            const name = `playbook.${GAPS}`;
            names.push(name);
            return (
              <Field label={t.pbGaps} name={name} err={err} hint={t.pbGapsHint}>
                <input
                  name={name}
                  type="text"
                  inputMode="numeric"
                  dir="ltr"
                  value={draft?.texts[GAPS] ?? book.cadence.gap_working_days.join(", ")}
                  onInput={(ev) => typed(GAPS, (ev.target as HTMLInputElement).value)}
                />
              </Field>
            );
          })()}
        </div>
        {(() => {
          const name = "playbook.cadence.close_reason";
          names.push(name);
          const known = book.refusal_reasons.some((r) => r.key === book.cadence.close_reason);
          return (
            <Field label={t.pbCloseReason} name={name} err={err}>
              <select
                name={name}
                value={book.cadence.close_reason}
                onChange={(ev) => {
                  const v = (ev.target as HTMLSelectElement).value;
                  edit((b) => (b.cadence.close_reason = v));
                }}
              >
                {!known && <option value={book.cadence.close_reason}>{book.cadence.close_reason}</option>}
                {book.refusal_reasons.map((r) => (
                  <option key={r.key} value={r.key}>{reasonLabel(t, team, r.key, r.label)}</option>
                ))}
              </select>
            </Field>
          );
        })()}
      </Section>

      <Section title={t.pbSpeedTitle} testid="pb-speed">
        {group("speed_to_lead")}
        <div class="pb-grid">
          {num("speed_to_lead.respond_within_minutes", t.pbRespondWithin)}
          {num("speed_to_lead.decaying_after_hours", t.pbDecayingAfter)}
          {num("speed_to_lead.stale_after_hours", t.pbStaleAfter)}
        </div>
      </Section>

      <Section title={t.pbDayPlanTitle} testid="pb-day-plan">
        {group("day_plan")}
        <div class="pb-grid">
          {num("day_plan.default_visit_minutes", t.pbVisitMinutes)}
          {num("day_plan.buffer_minutes", t.pbBuffer)}
          {num("day_plan.max_visits", t.pbMaxVisits)}
        </div>
      </Section>

      <Section title={t.pbWorkingWeek} testid="pb-week">
        {group("working_week")}
        {(() => {
          const name = "playbook.working_week.days";
          names.push(name);
          return (
            <Field label={t.pbWorkingDays} name={name} err={err}>
              <span class="choices" role="group">
                {WEEK.map((d, i) => (
                  <label key={d} class="choice">
                    <input
                      type="checkbox"
                      name={name}
                      value={d}
                      checked={days.includes(d)}
                      onChange={(ev) => {
                        const on = (ev.target as HTMLInputElement).checked;
                        edit((b) => {
                          const set = new Set(b.working_week.days as string[]);
                          if (on) set.add(d);
                          else set.delete(d);
                          b.working_week.days = WEEK.filter((x) => set.has(x));
                        });
                      }}
                    />
                    <span>{weekday.format(Date.UTC(2024, 0, 7 + i))}</span>
                  </label>
                ))}
              </span>
            </Field>
          );
        })()}
        <div class="pb-grid">
          {(["start", "end"] as const).map((k) => {
            const name = `playbook.working_week.${k}`;
            names.push(name);
            return (
              <Field key={k} label={k === "start" ? t.pbDayStart : t.pbDayEnd} name={name} err={err}>
                <input
                  name={name}
                  type="time"
                  dir="ltr"
                  value={book.working_week[k]}
                  onInput={(ev) => {
                    const v = (ev.target as HTMLInputElement).value;
                    edit((b) => (b.working_week[k] = v));
                  }}
                />
              </Field>
            );
          })}
        </div>
      </Section>

      <Section title={t.pbFollowUpsTitle} testid="pb-follow-ups">
        {group("follow_ups")}
        <div class="pb-grid">
          {num("follow_ups.first_conversation_days", t.pbFirstConversation)}
          {num("follow_ups.needs_time_days", t.pbNeedsTime)}
          {num("follow_ups.review_return_working_days", t.pbReviewReturn)}
          {num("follow_ups.materials_working_days", t.pbMaterials)}
        </div>
      </Section>

      <Section title={t.pbAtRiskTitle} testid="pb-at-risk">
        {group("at_risk")}
        <div class="pb-grid">
          {num("at_risk.going_cold_days", t.pbGoingCold)}
          {num("at_risk.postponements_for_final_answer", t.pbPostponements)}
        </div>
      </Section>

      <Section title={t.pbNurtureTitle} testid="pb-nurture">
        <div class="pb-grid">
          {num("nurture_every_days", t.pbNurtureEvery)}
          {num("dormant_after_days", t.pbDormantAfter)}
        </div>
      </Section>

      <Section title={t.pbTiersTitle} testid="pb-tiers">
        {group("tiers")}
        <div class="pb-grid">
          {num("tiers.a_percent", t.pbAPercent)}
          {num("tiers.b_percent", t.pbBPercent)}
          {num("tiers.pareto_percent", t.pbParetoPercent)}
          {num("tiers.window_months", t.pbWindowMonths)}
          {num("tiers.visit_every_days.a", t.pbVisitEvery("A"))}
          {num("tiers.visit_every_days.b", t.pbVisitEvery("B"))}
          {num("tiers.visit_every_days.c", t.pbVisitEvery("C"))}
        </div>
        <h3>{t.pbWeights}</h3>
        {group("tiers.weights")}
        <div class="pb-grid">
          {WEIGHTS.map((w) => num(`tiers.weights.${w}`, enumLabel(t, "weight", w), "any"))}
        </div>
      </Section>

      <Section title={t.statuses} testid="pb-statuses">
        {group("statuses")}
        {book.statuses.map((s, i) => {
          const name = `playbook.statuses[${i}]`;
          names.push(name);
          return (
            <Field key={s.key} label={`${s.key} · ${enumLabel(t, "status", s.role)}`} name={name} err={err}>
              <input
                name={`${name}.label`}
                type="text"
                value={s.label}
                onInput={(ev) => {
                  const v = (ev.target as HTMLInputElement).value;
                  edit((b) => (b.statuses[i].label = v));
                }}
              />
            </Field>
          );
        })}
      </Section>

      <Section title={t.refusalReasons} testid="pb-reasons">
        {group("refusal_reasons")}
        {book.refusal_reasons.map((r, i) => {
          const name = `playbook.refusal_reasons[${i}]`;
          names.push(name);
          return (
            <div class="pb-reason" key={r.key}>
              <Field label={r.key} name={name} err={err}>
                <input
                  name={`${name}.label`}
                  type="text"
                  value={r.label}
                  onInput={(ev) => {
                    const v = (ev.target as HTMLInputElement).value;
                    edit((b) => (b.refusal_reasons[i].label = v));
                  }}
                />
              </Field>
              <span class="choices">
                {(["requires_budget", "needs_review"] as const).map((k) => (
                  <label key={k} class="check">
                    <input
                      type="checkbox"
                      name={`${name}.${k}`}
                      checked={r[k]}
                      onChange={(ev) => {
                        const on = (ev.target as HTMLInputElement).checked;
                        edit((b) => (b.refusal_reasons[i][k] = on));
                      }}
                    />
                    <span>{k === "requires_budget" ? t.requiresBudget : t.needsReview}</span>
                  </label>
                ))}
              </span>
            </div>
          );
        })}
      </Section>
    </>
  );

  const unplaced =
    err && (!err.field || !(names.some((n) => errorAt(err, n)) || groups.includes(err.field))) ? err : undefined;

  return (
    <section class="card" data-testid="playbook" data-editable={editable ? "true" : "false"}>
      <h2>{t.playbook}</h2>
      {editable ? (
        <p class="muted">{t.playbookEditHint}</p>
      ) : (
        <p class="notice" data-testid="playbook-readonly">{me.isManager ? t.playbookNoEditing : t.playbookReadOnly}</p>
      )}
      <form ref={formRef} class="form playbook-form" noValidate data-testid="playbook-form" onSubmit={save}>
        <fieldset class="readonly" disabled={!editable}>
          {body}
        </fieldset>
        {editable && (
          <div class="pb-actions">
            <FormError err={unplaced} />
            {saved && (
              <p class="toast" role="status" data-testid="playbook-saved">{t.playbookSaved}</p>
            )}
            <button class="btn btn-primary" type="submit" disabled={busy} data-testid="save-playbook">
              {t.savePlaybook}
            </button>
          </div>
        )}
      </form>
    </section>
  );
}
