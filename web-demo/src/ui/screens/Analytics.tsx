import { useMemo, useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { useEngine, useEngineVersion, useNow } from "../engine-hooks";
import { memberName, productName, reasonLabel, statusLabel } from "../labels";
import { useMe } from "../me";
import { href } from "../router";
import type { Analytics, Count, CountRow, Period, RefusalReport, TierName } from "../types";

const PERIODS: Period[] = ["day", "week", "month", "cumulative"];

function Change({ c }: { c: Count }) {
  const { t, fmt } = useI18n();
  if (c.change === undefined || c.change === null) return null;
  const cls = c.change > 0 ? "up" : c.change < 0 ? "down" : "flat";
  return <span class={`change change-${cls}`}>{t.vsPrevious(fmt.change(c.change))}</span>;
}

function Rows({ title, rows, label }: { title: string; rows: CountRow[]; label(r: CountRow): string }) {
  const { fmt } = useI18n();
  if (rows.length === 0) return null;
  const max = Math.max(1, ...rows.map((r) => r.n));
  return (
    <div class="rows">
      <h3>{title}</h3>
      <ul>
        {rows.map((r) => (
          <li key={r.key} class="bar-row">
            <span class="bar-label">{label(r)}</span>
            <span class="bar"><span style={{ inlineSize: `${(100 * r.n) / max}%` }} /></span>
            <span class="bar-n">{fmt.number(r.n)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function Refusals({ report }: { report: RefusalReport }) {
  const { t, fmt } = useI18n();
  const { team } = useMe();
  const cell = (rep: string, product: string) =>
    report.matrix.cells.find((c) => c.rep === rep && c.product === product);
  return (
    <div data-testid="refusals">
      <p class="big">
        {fmt.number(report.refusals.n)} <span class="muted">{t.refusalsCount}</span> <Change c={report.refusals} />
      </p>
      {report.refusals.n === 0 && <p class="muted">{t.noRefusals}</p>}
      <Rows title={t.byProduct} rows={report.by_product} label={(r) => productName(team, r.key) || r.label} />
      <Rows title={t.byReason} rows={report.by_reason} label={(r) => reasonLabel(t, team, r.key, r.label)} />
      <Rows title={t.byRep} rows={report.by_rep} label={(r) => r.label || memberName(team, r.key)} />
      {report.budget.length > 0 && (
        <div class="rows" data-testid="budget">
          <h3>{t.budgetTotal}</h3>
          <p class="big" data-testid="budget-total">
            {t.budgetInTeamCurrency(fmt.amount(report.budget_total.minor, report.budget_total.currency))}{" "}
            {report.budget_total.change !== null && (
              <span class="change">
                {t.vsPrevious(fmt.amount(report.budget_total.change, report.budget_total.currency))}
              </span>
            )}
          </p>
          {report.budget_total.missing_rates.length > 0 && (
            <p class="field-error" role="alert" data-testid="budget-missing-rates">
              {t.missingRatesLeftOut(report.budget_total.missing_rates.join(", "))}
            </p>
          )}
          <ul>
            {report.budget.map((b) => (
              <li key={b.currency}>
                {fmt.amount(b.minor, b.currency)}{" "}
                {b.change !== undefined && b.change !== null && (
                  <span class="change">{t.vsPrevious(fmt.amount(b.change, b.currency))}</span>
                )}
              </li>
            ))}
          </ul>
        </div>
      )}
      {report.matrix.reps.length > 0 && report.matrix.products.length > 0 && (
        <div class="table-wrap">
          <h3>{t.matrix}</h3>
          <table class="matrix" data-testid="refusal-matrix">
            <thead>
              <tr>
                <th />
                {report.matrix.products.map((p) => (
                  <th key={p.key} scope="col">{productName(team, p.key) || p.label}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {report.matrix.reps.map((r) => (
                <tr key={r.key}>
                  <th scope="row">{r.label || memberName(team, r.key)}</th>
                  {report.matrix.products.map((p) => {
                    const c = cell(r.key, p.key);
                    return (
                      <td key={p.key} class={c && c.n > 0 ? "hot" : ""}>
                        {c ? fmt.number(c.n) : "·"}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

export function AnalyticsScreen() {
  const { t, fmt } = useI18n();
  const engine = useEngine();
  const { team } = useMe();
  const version = useEngineVersion();
  const now = useNow();
  const [period, setPeriod] = useState<Period>("month");
  const data = useMemo(() => {
    try {
      return (engine.analytics(now) ?? undefined) as Analytics | undefined;
    } catch {
      return undefined;
    }
  }, [engine, version, now]);

  if (!data) {
    return (
      <section class="screen">
        <h1>{t.analyticsTitle}</h1>
        <p class="muted">{t.analyticsUnavailable}</p>
      </section>
    );
  }
  const report = data.refusals?.[period];
  const funnelMax = Math.max(1, ...(data.funnel?.statuses.map((s) => s.n) ?? [1]));
  const speed = data.speedToLead;
  const minutes = (m: number | null | undefined) => {
    if (m === null || m === undefined) return t.speedNone;
    if (m < 120) return t.durMinutes(Math.round(m));
    if (m < 48 * 60) return t.durHours(fmt.number(m / 60, 1));
    return t.durDays(fmt.number(m / 1440, 1));
  };
  const tiers = data.tiers;
  const TIERS: TierName[] = ["A", "B", "C"];

  return (
    <section class="screen analytics" data-testid="analytics">
      <h1>{t.analyticsTitle}</h1>

      <section class="card">
        <h2>{t.refusalsTitle}</h2>
        <div class="tabs" role="tablist">
          {PERIODS.map((p) => (
            <button key={p} type="button" role="tab" aria-selected={p === period} class={p === period ? "tab active" : "tab"} onClick={() => setPeriod(p)}>
              {t[`period_${p}`]}
            </button>
          ))}
        </div>
        {report ? <Refusals report={report} /> : <p class="muted">{t.noRefusals}</p>}
      </section>

      {data.funnel && (
        <section class="card" data-testid="funnel">
          <h2>{t.funnelTitle} <span class="muted">{t.funnelTotal(data.funnel.total)}</span></h2>
          <ul>
            {data.funnel.statuses.map((s) => (
              <li key={s.status} class="bar-row">
                <span class="bar-label">{statusLabel(t, team, s.status, s.role)}</span>
                <span class="bar"><span style={{ inlineSize: `${(100 * s.n) / funnelMax}%` }} /></span>
                <span class="bar-n">{fmt.number(s.n)}</span>
              </li>
            ))}
          </ul>
        </section>
      )}

      {speed && (
        <section class="card" data-testid="speed">
          <h2>{t.speedTitle}</h2>
          <p class="big">{minutes(speed.median_minutes)} <span class="muted">{t.speedMedian}</span></p>
          <table class="simple">
            <thead>
              <tr>
                <th />
                <th scope="col">{t.speedMedian}</th>
                <th scope="col">{t.speedWithAttempt}</th>
                <th scope="col">{t.speedWithout}</th>
              </tr>
            </thead>
            <tbody>
              {speed.by_rep.map((r) => (
                <tr key={r.rep}>
                  <th scope="row">{r.name}</th>
                  <td>{minutes(r.median_minutes)}</td>
                  <td>{fmt.number(r.n_with_attempt)}</td>
                  <td>{fmt.number(r.n_without_attempt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}

      {tiers && (
        <section class="card" data-testid="tiers">
          <h2>{t.tiersTitle}</h2>
          {tiers.customers.length === 0 ? (
            <p class="muted">{t.noCustomers}</p>
          ) : (
            <>
              <div class="tier-counts">
                {TIERS.map((k) => (
                  <span key={k} class={`tier tier-${k}`}>
                    <strong>{k}</strong> {fmt.number(tiers.counts[k.toLowerCase() as "a" | "b" | "c"])}
                  </span>
                ))}
              </div>
              <h3>{t.cubeTitle}</h3>
              {data.tierCube ? (
                <table class="matrix" data-testid="tier-cube">
                  <caption>{t.cubeFromTo(data.tierCube.from_month, data.tierCube.to_month)}</caption>
                  <thead>
                    <tr>
                      <th />
                      {TIERS.map((k) => <th key={k}>{k}</th>)}
                    </tr>
                  </thead>
                  <tbody>
                    {TIERS.map((from) => (
                      <tr key={from}>
                        <th scope="row">{from}</th>
                        {TIERS.map((to) => (
                          <td key={to}>{fmt.number(data.tierCube!.moves.find((m) => m.from === from && m.to === to)?.n ?? 0)}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p class="muted" data-testid="tier-cube-missing">{t.cubeMissing}</p>
              )}
              <h3>{t.paretoTitle(tiers.pareto.pareto_percent)}</h3>
              <p data-testid="pareto-total">
                {t.paretoTotal(fmt.amount(tiers.pareto.total_revenue_minor, tiers.pareto.currency))}
              </p>
              {tiers.pareto.missing_rates.length > 0 && (
                <p class="field-error" role="alert" data-testid="pareto-missing-rates">
                  {t.missingRatesLeftOut(tiers.pareto.missing_rates.join(", "))}
                </p>
              )}
              <table class="simple">
                <thead>
                  <tr>
                    <th scope="col">{t.tierCustomers}</th>
                    <th scope="col">{t.tierScore}</th>
                    <th scope="col">{t.tierRevenue}</th>
                  </tr>
                </thead>
                <tbody>
                  {tiers.customers.slice(0, 20).map((c) => (
                    <tr key={c.lead}>
                      <th scope="row">
                        <span class={`tier tier-${c.tier}`}>{c.tier}</span>{" "}
                        <a href={href({ name: "lead", id: c.lead })}>{c.company}</a>
                      </th>
                      <td>{fmt.number(c.score, 2)}</td>
                      <td>
                        {Object.entries(c.metrics.revenue).map(([cur, minor]) => fmt.amount(minor, cur)).join(" + ") || t.none}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </section>
      )}
    </section>
  );
}
