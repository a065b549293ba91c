import { useMemo } from "preact/hooks";
import { useI18n, type Dict, type Formatter } from "../../i18n";
import { FormError } from "../components/Form";
import { useEngine, useEngineVersion, useNow } from "../engine-hooks";
import { enumLabel, memberName, reasonLabel } from "../labels";
import { useMe } from "../me";
import { href } from "../router";
import type { InboxItem, LeadCommand, Team } from "../types";
import { ReviewForm, useCommand } from "./actions";

type Decision = Record<string, unknown> & { type: string; event: string; by: string; at: string };

function decisionText(t: Dict, fmt: Formatter, team: Team | undefined, d: Decision): string {
  switch (d.type) {
    case "won":
      return t.dec_won(fmt.money(d.amount as { minor: number; currency: string }));
    case "refusal":
      return t.dec_refusal(reasonLabel(t, team, String(d.reason)));
    case "review_decision":
      return d.decision === "return_to_funnel"
        ? t.dec_review_return(enumLabel(t, "offer", String(d.offer_change)))
        : t.dec_review_validated;
    case "status_override":
      return t.dec_status_override(String(d.status));
    case "assigned":
      return t.dec_assigned(memberName(team, String(d.owner)));
    case "next_step":
      return t.dec_next_step(enumLabel(t, "step", String(d.kind)), fmt.dateTime(String(d.due)));
    default:
      return d.type;
  }
}

/** One open conflict: keep one side, or let both stand (a manager's decision). */
export function ConflictBox({ item }: { item: InboxItem & { kind: "conflict" } }) {
  const { t, fmt } = useI18n();
  const { team } = useMe();
  const { err, busy, send } = useCommand(item.lead, () => {});
  const resolve = (keep: string | null) =>
    send({ type: "resolve_conflict", conflict: item.key, keep, note: "" } as unknown as LeadCommand);
  return (
    <div class="conflict">
      <p class="muted">{enumLabel(t, "topic", String(item.topic))}</p>
      <ul>
        {(item.events as unknown as Decision[]).map((d) => (
          <li key={d.event} class="conflict-side">
            <span>
              {decisionText(t, fmt, team, d)}
              <span class="muted"> · {memberName(team, d.by)} · {fmt.dateTime(d.at)}</span>
            </span>
            <button type="button" class="btn" disabled={busy} onClick={() => resolve(d.event)}>
              {t.conflictKeep}
            </button>
          </li>
        ))}
      </ul>
      <button type="button" class="btn" disabled={busy} onClick={() => resolve(null)}>
        {t.conflictBoth}
      </button>
      <FormError err={err} />
    </div>
  );
}

export function InboxScreen() {
  const { t, fmt } = useI18n();
  const engine = useEngine();
  const me = useMe();
  const version = useEngineVersion();
  const now = useNow();
  const items = useMemo(() => (me.isManager ? engine.inbox(now) : []), [engine, version, now, me.isManager]);

  if (!me.isManager) {
    return (
      <section class="screen">
        <h1>{t.inboxTitle}</h1>
        <p class="muted">{t.inboxNotManager}</p>
      </section>
    );
  }
  const groups: { kind: string; title: string }[] = [
    { kind: "conflict", title: t.inboxConflicts },
    { kind: "refusal_review", title: t.inboxReviews },
    { kind: "stale_new", title: t.inboxStale },
  ];
  return (
    <section class="screen" data-testid="inbox" data-count={items.length}>
      <h1>{t.inboxTitle}</h1>
      {items.length === 0 && <p class="empty">{t.inboxEmpty}</p>}
      {groups.map((g) => {
        const mine = items.filter((i) => i.kind === g.kind);
        if (mine.length === 0) return null;
        return (
          <section key={g.kind} class="inbox-group" data-kind={g.kind}>
            <h2>
              {g.title} <span class="count">{fmt.number(mine.length)}</span>
            </h2>
            <ul class="inbox-list">
              {mine.map((item) => {
                const key = item.kind === "conflict" ? `${item.lead}-${item.key}` : `${item.lead}-${item.kind}`;
                return (
                  <li key={key} class={`inbox-item inbox-${item.kind}`} data-testid="inbox-item" data-kind={item.kind} data-lead={item.lead}>
                    <div class="inbox-head">
                      <a href={href({ name: "lead", id: item.lead })} class="inbox-company">{item.company || item.lead}</a>
                      <span class="muted">
                        {t.inboxRep(memberName(me.team, item.rep))} · {t.inboxSince(fmt.dateTime(item.since))}
                      </span>
                    </div>
                    {item.kind === "refusal_review" && (
                      <>
                        <p class="reason">{reasonLabel(t, me.team, item.reason, item.reason_label)}</p>
                        <ReviewForm lead={item.lead} currency="" onDone={() => {}} compact />
                      </>
                    )}
                    {item.kind === "conflict" && <ConflictBox item={item} />}
                  </li>
                );
              })}
            </ul>
          </section>
        );
      })}
    </section>
  );
}
