import { useMemo, useState } from "preact/hooks";
import { useI18n, type Dict, type Formatter } from "../../i18n";
import { Chevron } from "../components/Form";
import { useEngine, useEngineVersion, useNow } from "../engine-hooks";
import { ago } from "../labels";
import { href } from "../router";
import type { CallQueue, LeadFacts } from "../types";

type Item = CallQueue["items"][number];

/** The queue item's reason in the UI's language (the core gives it structured). */
export function reasonText(t: Dict, fmt: Formatter, item: Item, now: number): string {
  const r = item.reason as unknown as Record<string, unknown> & { kind: string };
  switch (r.kind) {
    case "new_lead":
      return t.reasonNewLead(ago(t, fmt, String(r.created_at), now, Number(r.days_ago)));
    case "follow_up": {
      const source = String(r.source);
      const base =
        source === "first_contact"
          ? t.reasonFollowUpFirstContact
          : source === "review_return"
            ? t.reasonFollowUpReviewReturn
            : source === "reactivation"
              ? t.reasonFollowUpReactivation
              : t.reasonFollowUpNextStep;
      const parts = [base];
      if (r.agreed) parts.push(t.reasonAgreed);
      const deal = r.deal as { minor: number; currency: string } | null | undefined;
      if (deal) parts.push(t.reasonDeal(fmt.money(deal)));
      if (r.missing_rate) parts.push(t.reasonNoRate);
      return parts.join(" · ");
    }
    case "no_answer_retry":
      return t.reasonRetry(
        Number(r.attempt),
        Number(r.max_attempts),
        ago(t, fmt, String(r.last_attempt_at), now, Number(r.days_ago)),
      );
    case "nurture":
      return r.lost_at ? t.reasonNurture(fmt.date(String(r.lost_at))) : t.reasonNurtureNoDate;
    case "visit_due":
      return t.reasonVisitDue(String(r.tier));
    default:
      return r.kind;
  }
}

const TIER_TITLE: Record<string, keyof Dict> = {
  new_lead: "tierNew",
  follow_up: "tierFollowUp",
  no_answer_retry: "tierRetry",
  recontact: "tierRecontact",
};

/** Rows drawn at first and added by each "show more": a rep works the top of the queue, and
 * drawing thousands of rows would delay the first paint of a large book by a second. */
const PAGE = 100;

export function QueueScreen() {
  const { t, fmt } = useI18n();
  const [shown, setShown] = useState(PAGE);
  const engine = useEngine();
  const version = useEngineVersion();
  const now = useNow();
  const queue = useMemo(() => engine.callQueue(now), [engine, version, now]);
  const facts = useMemo(() => {
    const m = new Map<string, LeadFacts>();
    for (const f of engine.facts()) m.set(f.id, f);
    return m;
  }, [engine, version]);

  if (!queue) {
    return (
      <section class="screen">
        <h1>{t.queueTitle}</h1>
        <p class="muted" data-testid="queue-waiting">{t.queueNoTeam}</p>
      </section>
    );
  }
  let lastTier = "";
  return (
    <section class="screen">
      <div class="screen-head">
        <div>
          <h1>{t.queueTitle}</h1>
          <p class="muted">
            {fmt.day(queue.date)} · {t.queueCount(queue.items.length)}
          </p>
        </div>
        <a class="btn btn-primary" href={href({ name: "new" })} data-testid="new-lead">
          + {t.newLead}
        </a>
      </div>
      {queue.items.length === 0 && <p class="empty">{t.queueEmpty}</p>}
      <ol class="queue" data-testid="queue" data-count={queue.items.length}>
        {queue.items.slice(0, shown).flatMap((item) => {
          const f = facts.get(item.lead);
          const heading = item.tier !== lastTier ? TIER_TITLE[item.tier] : undefined;
          lastTier = item.tier;
          const row = (
            <li class="queue-item" key={item.lead} data-testid="queue-item" data-lead={item.lead} data-tier={item.tier}>
              <a href={href({ name: "lead", id: item.lead })}>
                <span class="queue-pos">{fmt.number(item.position)}</span>
                <span class="queue-main">
                  <span class="queue-top">
                    <span class="queue-company">{f?.company || f?.contact || item.lead}</span>
                    {f?.deal_size && <span class="queue-deal">{fmt.money(f.deal_size)}</span>}
                  </span>
                  {f?.company && f.contact && <span class="queue-contact">{f.contact}</span>}
                  <span class="queue-reason" data-testid="queue-reason">{reasonText(t, fmt, item, now)}</span>
                  <span class="queue-due">{t.due(fmt.dateTime(item.due))}</span>
                </span>
                <Chevron />
              </a>
            </li>
          );
          return heading
            ? [
                <li class="queue-tier" role="presentation" key={`tier-${item.tier}`}>
                  {t[heading] as string}
                </li>,
                row,
              ]
            : [row];
        })}
      </ol>
      {queue.items.length > shown && (
        <button type="button" class="btn" data-testid="queue-more" onClick={() => setShown(shown + PAGE)}>
          {t.queueShowMore(queue.items.length - shown)}
        </button>
      )}
    </section>
  );
}
