import { useMemo, useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { useEngine, useEngineVersion, useNow } from "../engine-hooks";
import { enumLabel } from "../labels";
import { href } from "../router";

export function DayPlanScreen() {
  const { t, fmt } = useI18n();
  const engine = useEngine();
  const version = useEngineVersion();
  const now = useNow();
  const [date, setDate] = useState(() => fmt.today());
  const plan = useMemo(() => engine.dayPlan(date, now), [engine, version, date, now]);
  const company = (lead: string) => plan?.visits.find((v) => v.lead === lead)?.company ?? lead;

  return (
    <section class="screen" data-testid="day-plan">
      <div class="screen-head">
        <h1>{t.planTitle}</h1>
        <label class="inline">
          <span class="field-label">{t.planDate}</span>
          <input type="date" dir="ltr" value={date} onInput={(e) => setDate((e.target as HTMLInputElement).value || fmt.today())} />
        </label>
      </div>
      <p class="muted">{fmt.day(date)}</p>
      {!plan ? (
        <p class="muted">{t.queueNoTeam}</p>
      ) : (
        <>
          {plan.warnings.length > 0 && (
            <ul class="warnings" data-testid="plan-warnings" aria-label={t.warnings}>
              {plan.warnings.map((w, i) => {
                const x = w as unknown as Record<string, number | string> & { kind: string };
                const text =
                  x.kind === "overlap"
                    ? t.warnOverlap(company(String(x.previous)), company(String(x.lead)), Number(x.minutes))
                    : x.kind === "missing_buffer"
                      ? t.warnBuffer(company(String(x.previous)), company(String(x.lead)), Number(x.gap_minutes), Number(x.buffer_minutes))
                      : t.warnTooMany(Number(x.n_visits), Number(x.max_visits));
                return <li key={i} class="warning">⚠ {text}</li>;
              })}
            </ul>
          )}
          <h2>{t.visits}</h2>
          {plan.visits.length === 0 ? (
            <p class="muted">{t.noVisits}</p>
          ) : (
            <ol class="visits">
              {plan.visits.map((v) => (
                <li key={v.lead} class="visit">
                  <span class="visit-time" dir="ltr">{fmt.time(v.start)}–{fmt.time(v.end)}</span>
                  <a href={href({ name: "lead", id: v.lead })}>{v.company}</a>
                  <span class="muted">
                    {enumLabel(t, "step", v.kind)} · {t.minutes(v.duration_minutes)} · {t.bufferAfter(v.buffer_minutes)}
                    {v.agreed ? ` · ${t.agreedShort}` : ""}
                  </span>
                </li>
              ))}
            </ol>
          )}
          <h2>{t.awaiting}</h2>
          {plan.awaiting_answer.length === 0 ? (
            <p class="muted">{t.noAwaiting}</p>
          ) : (
            <ul class="awaiting">
              {plan.awaiting_answer.map((a) => (
                <li key={a.lead}>
                  <a href={href({ name: "lead", id: a.lead })}>{a.company}</a>
                  <span class="amount">{fmt.money(a.amount)}</span>
                  <span class="muted">
                    {t.quoteSentOn(fmt.date(a.quote_sent_at))} · {t.daysWaiting(a.days_waiting)}
                    {a.decision_due ? ` · ${t.decisionBy(fmt.dateTime(a.decision_due))}` : a.decision_date ? ` · ${t.decisionBy(fmt.day(a.decision_date))}` : ""}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
