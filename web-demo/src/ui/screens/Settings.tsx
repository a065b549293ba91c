import { useI18n, LANGS, type Lang } from "../../i18n";
import { enumLabel, reasonLabel, statusLabel } from "../labels";
import { useMe } from "../me";

interface PlaybookNumbers {
  working_week?: { days?: string[]; start?: string; end?: string };
  speed_to_lead?: { respond_within_minutes: number; decaying_after_hours: number; stale_after_hours: number };
  cadence?: { max_attempts: number };
  follow_ups?: { first_conversation_days: number; needs_time_days: number };
  at_risk?: { going_cold_days: number; postponements_for_final_answer: number };
  nurture_every_days?: number;
  dormant_after_days?: number;
  tiers?: { visit_every_days?: { a: number; b: number; c: number } };
  day_plan?: { default_visit_minutes: number; buffer_minutes: number; max_visits: number };
}

export function SettingsScreen(props: { onSignOut(): void }) {
  const { t, fmt, lang, setLang } = useI18n();
  const me = useMe();
  const { team, member } = me;
  const pb = team?.playbook as (NonNullable<typeof team>["playbook"] & PlaybookNumbers) | undefined;
  const week = pb?.working_week;
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

      <section class="card" data-testid="playbook">
        <h2>{t.playbook}</h2>
        <p class="notice">{t.playbookReadOnly}</p>
        {pb ? (
          <fieldset disabled class="readonly">
            <h3>{t.statuses}</h3>
            <ul>
              {pb.statuses.map((s) => (
                <li key={s.key}>
                  {statusLabel(t, team, s.key, s.role)} <span class="muted">({s.key})</span>
                </li>
              ))}
            </ul>
            <h3>{t.refusalReasons}</h3>
            <ul>
              {pb.refusal_reasons.map((r) => (
                <li key={r.key}>
                  {reasonLabel(t, team, r.key, r.label)}
                  <span class="muted">
                    {r.requires_budget ? ` · ${t.requiresBudget}` : ""}
                    {r.needs_review ? ` · ${t.needsReview}` : ""}
                  </span>
                </li>
              ))}
            </ul>
            <ul class="numbers">
              {week && (
                <li>
                  {t.pbWorkingWeek}: {(week.days ?? []).join(", ")} <span dir="ltr">{week.start}–{week.end}</span>
                </li>
              )}
              {pb.speed_to_lead && (
                <li>{t.pbSpeed(pb.speed_to_lead.respond_within_minutes, pb.speed_to_lead.decaying_after_hours, pb.speed_to_lead.stale_after_hours)}</li>
              )}
              {pb.cadence && <li>{t.pbCadence(pb.cadence.max_attempts)}</li>}
              {pb.follow_ups && <li>{t.pbFollowUps(pb.follow_ups.first_conversation_days, pb.follow_ups.needs_time_days)}</li>}
              {pb.at_risk && <li>{t.pbAtRisk(pb.at_risk.going_cold_days, pb.at_risk.postponements_for_final_answer)}</li>}
              {pb.nurture_every_days !== undefined && pb.dormant_after_days !== undefined && (
                <li>{t.pbNurture(pb.nurture_every_days, pb.dormant_after_days)}</li>
              )}
              {pb.day_plan && <li>{t.pbDayPlan(pb.day_plan.default_visit_minutes, pb.day_plan.buffer_minutes, pb.day_plan.max_visits)}</li>}
              {pb.tiers?.visit_every_days && (
                <li>{t.pbVisits(pb.tiers.visit_every_days.a, pb.tiers.visit_every_days.b, pb.tiers.visit_every_days.c)}</li>
              )}
            </ul>
          </fieldset>
        ) : (
          <p class="muted">{t.queueNoTeam}</p>
        )}
      </section>

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
