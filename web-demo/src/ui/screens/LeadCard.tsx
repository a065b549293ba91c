import { useEffect, useMemo, useState } from "preact/hooks";
import type { LeadView } from "../../engine/api";
import { useI18n, type Dict, type Formatter } from "../../i18n";
import { BackLink, FormError, Sheet } from "../components/Form";
import { useEngine, useEngineVersion, useNow } from "../engine-hooks";
import { toShownError, useErrorText, type ShownError } from "../errors";
import { enumLabel, flagLabel, memberName, productName, reasonLabel, stateLabel, taskLabel } from "../labels";
import { useMe } from "../me";
import { href } from "../router";
import type { Team } from "../types";
import {
  AttemptForm,
  ConfirmCloseForm,
  ConversationForm,
  MaterialsForm,
  NextStepForm,
  OverrideStatusForm,
  RefusalForm,
  ReviewForm,
  WonForm,
  useCommand,
  type ActionProps,
} from "./actions";
import { defaultCurrency } from "./currency";
import { ConflictBox } from "./Inbox";

type LeadEvent = LeadView["lead"]["events"][number];

/** One line of the timeline in the UI's language. */
export function eventText(t: Dict, fmt: Formatter, team: Team | undefined, ev: LeadEvent): string {
  const e = ev as unknown as Record<string, unknown> & { type: string };
  const list = (xs: unknown, prefix: string) =>
    ((xs as string[] | undefined) ?? []).map((x) => enumLabel(t, prefix, x)).join(", ");
  const money = (m: unknown) => fmt.money(m as { minor: number; currency: string } | null);
  switch (e.type) {
    case "created":
      return t.ev_created;
    case "attempt":
      return t.ev_attempt(enumLabel(t, "channel", String(e.channel)), enumLabel(t, "outcome", String(e.outcome)));
    case "conversation":
      return t.ev_conversation(enumLabel(t, "conv", String(e.kind)), enumLabel(t, "ended", String(e.ended)));
    case "next_step":
      return t.ev_next_step(enumLabel(t, "step", String(e.kind)), fmt.dateTime(String(e.due))) +
        (e.agreed ? ` · ${t.agreedShort}` : "");
    case "quote_sent":
      return t.ev_quote_sent(money(e.amount));
    case "materials_requested":
      return t.ev_materials_requested(list(e.materials, "material"));
    case "materials_sent":
      return t.ev_materials_sent(list(e.materials, "material"));
    case "refusal": {
      const parts = [t.ev_refusal(reasonLabel(t, team, String(e.reason)))];
      const products = ((e.products as string[] | undefined) ?? []).map((p) => productName(team, p));
      if (products.length) parts.push(products.join(", "));
      if (e.budget) parts.push(`${t.budget}: ${money(e.budget)}`);
      if (e.competitor) parts.push(`${t.competitor}: ${String(e.competitor)}`);
      return parts.join(" · ");
    }
    case "review_decision":
      return e.decision === "return_to_funnel"
        ? t.ev_review_return(enumLabel(t, "offer", String(e.offer_change)))
        : t.ev_review_validated;
    case "won":
      return t.ev_won(money(e.amount));
    case "order":
      return t.ev_order(money(e.amount));
    case "assigned":
      return t.ev_assigned(memberName(team, String(e.owner)));
    case "status_override":
      return t.ev_status_override(String(e.status));
    case "conflict_resolved":
      return t.ev_conflict_resolved;
    default:
      return e.type;
  }
}

function eventDetail(ev: LeadEvent): string | undefined {
  const e = ev as unknown as Record<string, unknown>;
  const parts = [e.notes, e.needs, e.note, e.reason && e.type === "status_override" ? e.reason : undefined]
    .filter((x): x is string => typeof x === "string" && x.trim() !== "");
  return parts.length ? parts.join(" — ") : undefined;
}

type ActionId =
  | "attempt"
  | "conversation"
  | "next_step"
  | "refusal"
  | "won"
  | "materials"
  | "send_materials"
  | "confirm_close"
  | "review"
  | "override_status";

const ACTIONS: { id: ActionId; label: keyof Dict; title: keyof Dict }[] = [
  { id: "attempt", label: "actAttempt", title: "attemptTitle" },
  { id: "conversation", label: "actConversation", title: "conversationTitle" },
  { id: "next_step", label: "actNextStep", title: "nextStepTitle" },
  { id: "refusal", label: "actRefusal", title: "refusalTitle" },
  { id: "won", label: "actWon", title: "wonTitle" },
  { id: "materials", label: "actMaterials", title: "materialsTitle" },
];

export function LeadCardScreen({ id }: { id: string }) {
  const { t, fmt } = useI18n();
  const engine = useEngine();
  const me = useMe();
  const { team } = me;
  const version = useEngineVersion([id]);
  const now = useNow();
  const [view, setView] = useState<LeadView | undefined>();
  const [error, setError] = useState<ShownError | undefined>();
  const [open, setOpen] = useState<ActionId | undefined>();
  const [toast, setToast] = useState<string | undefined>();
  const errorText = useErrorText();

  useEffect(() => {
    let live = true;
    engine.lead(id).then(
      (v) => {
        if (!live) return;
        setView(v);
        setError(undefined);
      },
      (e) => live && setError(toShownError(e)),
    );
    return () => {
      live = false;
    };
  }, [engine, id, version, now]);

  const overruled = useMemo(
    () => new Set(engine.facts().find((f) => f.id === id)?.overruled ?? []),
    [engine, id, version],
  );

  useEffect(() => {
    if (!toast) return;
    const timer = setTimeout(() => setToast(undefined), 2500);
    return () => clearTimeout(timer);
  }, [toast]);

  if (error && !view) {
    return (
      <section class="screen">
        <BackLink href={href({ name: "queue" })} />
        <p class="empty" data-testid="lead-missing">
          {error.kind === "unknown_lead" ? t.leadNotFound : errorText(error)}
        </p>
      </section>
    );
  }
  if (!view) {
    return (
      <section class="screen">
        <BackLink href={href({ name: "queue" })} />
        <p class="muted">{t.leadLoading}</p>
      </section>
    );
  }

  const { lead, state } = view;
  const currency = defaultCurrency(lead.deal_size?.currency, me.member?.locale, engine);
  // Newest first; a conversation above what it ended with (both carry the same time).
  const tie = (type: string) => (type === "conversation" ? 0 : type === "created" ? 2 : 1);
  const events = [...lead.events].sort((a, b) =>
    a.at !== b.at ? (a.at < b.at ? 1 : -1) : tie(a.type) - tie(b.type) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  const done = () => {
    setOpen(undefined);
    setToast(t.saved);
  };
  const props: ActionProps = { lead: id, currency, onDone: done };
  const flags = state.flags as string[];
  // What the member may do here is the core's answer (LeadView.actions), never a role check.
  const may = view.actions;
  const extra: ActionId[] = [];
  if (may.confirm_close) extra.push("confirm_close");
  if (may.send_materials) extra.push("send_materials");
  if (may.review) extra.push("review");
  if (may.override_status) extra.push("override_status");
  const titleOf: Record<ActionId, string> = {
    attempt: t.attemptTitle,
    conversation: t.conversationTitle,
    next_step: t.nextStepTitle,
    refusal: t.refusalTitle,
    won: t.wonTitle,
    materials: t.materialsTitle,
    send_materials: t.sendMaterialsTitle,
    confirm_close: t.actConfirmClose,
    review: t.inboxReviews,
    override_status: t.overrideStatusTitle,
  };
  const extraLabel = (a: ActionId) => (a === "override_status" ? t.actOverrideStatus : titleOf[a]);

  return (
    <section class="screen lead-card" data-testid="lead-card" data-lead={id}>
      <BackLink href={href({ name: "queue" })} />
      <header class="lead-head">
        <div class="lead-title">
          <h1 data-testid="lead-company">{lead.company || lead.contact}</h1>
          {lead.company && lead.contact && <p class="muted">{lead.contact}</p>}
        </div>
        <span class={`status status-${state.role}`} data-testid="lead-status" data-role={state.role}>
          {stateLabel(t, team, state)}
        </span>
      </header>
      {flags.length > 0 && (
        <p class="badges" data-testid="lead-flags">
          {flags.map((f) => (
            <span key={f} class={`badge badge-${f}`} data-flag={f}>{flagLabel(t, f)}</span>
          ))}
        </p>
      )}
      <dl class="facts">
        {lead.phone && (
          <>
            <dt>{t.phone}</dt>
            <dd><a href={`tel:${lead.phone}`} dir="ltr">{lead.phone}</a></dd>
          </>
        )}
        {lead.email && (
          <>
            <dt>{t.email}</dt>
            <dd><a href={`mailto:${lead.email}`} dir="ltr">{lead.email}</a></dd>
          </>
        )}
        {lead.address && (
          <>
            <dt>{t.address}</dt>
            <dd>{lead.address}</dd>
          </>
        )}
        {lead.deal_size && (
          <>
            <dt>{t.dealSize}</dt>
            <dd data-testid="lead-deal">{fmt.money(lead.deal_size)}</dd>
          </>
        )}
        {lead.products.length > 0 && (
          <>
            <dt>{t.products}</dt>
            <dd>{lead.products.map((p) => productName(team, p)).join(", ")}</dd>
          </>
        )}
        {lead.source && (
          <>
            <dt>{t.source}</dt>
            <dd>{lead.source}</dd>
          </>
        )}
        <dt>{t.owner}</dt>
        <dd data-testid="lead-owner" data-owner={lead.owner}>{memberName(team, lead.owner)}</dd>
        <dt>{t.created}</dt>
        <dd>{fmt.dateTime(lead.created_at)}</dd>
      </dl>
      {state.mailing_list && <p class="muted">{t.mailingList}</p>}

      {(may.work || extra.length > 0) && (
      <div class="actions" role="toolbar" aria-label={t.actions} data-testid="lead-actions">
        {may.work && ACTIONS.map((a) => (
          <button key={a.id} type="button" class="btn action" data-action={a.id} onClick={() => setOpen(a.id)}>
            {t[a.label] as string}
          </button>
        ))}
        {extra.map((a) => (
          <button key={a} type="button" class="btn action action-extra" data-action={a} onClick={() => setOpen(a)}>
            {extraLabel(a)}
          </button>
        ))}
      </div>
      )}
      {toast && <p class="toast" role="status" data-testid="toast">{toast}</p>}

      <h2>{t.tasks}</h2>
      {state.tasks.length === 0 ? (
        <p class="muted">{t.noTasks}</p>
      ) : (
        <ul class="tasks" data-testid="tasks">
          {state.tasks.map((task, i) => {
            const x = task as unknown as { kind: string; attempt?: number; step?: string; due: string; rule: string; assignee: string; email?: { subject: string; body: string } };
            return (
              <li key={i} class={new Date(x.due).getTime() < now ? "task overdue" : "task"} data-task={x.kind}>
                <span class="task-what">{taskLabel(t, x)}</span>
                <span class="task-due">{t.due(fmt.dateTime(x.due))}</span>
                {x.assignee !== me.session.member && <span class="muted"> · {memberName(team, x.assignee)}</span>}
                {x.email && (
                  <details class="email">
                    <summary>{t.suggestedEmail}</summary>
                    <p><strong>{x.email.subject}</strong></p>
                    <p>{x.email.body}</p>
                  </details>
                )}
              </li>
            );
          })}
        </ul>
      )}

      {may.resolve_conflicts && <LeadConflicts lead={id} />}

      {may.reassign_to.length > 0 && <AssignBox lead={id} to={may.reassign_to} />}

      <h2>{t.timeline}</h2>
      {view.undecodable > 0 && <p class="muted">{t.undecodable(view.undecodable)}</p>}
      <ol class="timeline" data-testid="timeline">
        {events.map((ev) => {
          const detail = eventDetail(ev);
          const over = overruled.has(ev.id);
          return (
            <li key={ev.id} class={`tl tl-${ev.type}${over ? " tl-overruled" : ""}`} data-type={ev.type} data-testid="timeline-event">
              <span class="tl-dot" aria-hidden="true" />
              <div class="tl-body">
                <span class="tl-text">{eventText(t, fmt, team, ev)}</span>
                {over && <span class="badge"> {t.overruled}</span>}
                {detail && <span class="tl-detail">{detail}</span>}
                <span class="tl-meta">
                  {fmt.dateTime(ev.at)} · {t.byWhom(memberName(team, ev.by))}
                </span>
              </div>
            </li>
          );
        })}
      </ol>

      {open && (
        <Sheet title={titleOf[open]} onClose={() => setOpen(undefined)} testid={`sheet-${open}`}>
          {open === "attempt" && <AttemptForm {...props} />}
          {open === "conversation" && <ConversationForm {...props} />}
          {open === "next_step" && <NextStepForm {...props} />}
          {open === "refusal" && <RefusalForm {...props} />}
          {open === "won" && <WonForm {...props} />}
          {open === "materials" && <MaterialsForm {...props} />}
          {open === "send_materials" && <MaterialsForm {...props} sent />}
          {open === "confirm_close" && <ConfirmCloseForm {...props} />}
          {open === "review" && <ReviewForm {...props} />}
          {open === "override_status" && <OverrideStatusForm {...props} current={state.status} />}
        </Sheet>
      )}
    </section>
  );
}

/** The lead's open conflicts, for a member the core lets settle them (as in the inbox). */
function LeadConflicts({ lead }: { lead: string }) {
  const { t } = useI18n();
  const engine = useEngine();
  const version = useEngineVersion([lead]);
  const now = useNow();
  const items = useMemo(
    () => engine.inbox(now).filter((i) => i.lead === lead && i.kind === "conflict"),
    [engine, lead, version, now],
  );
  if (items.length === 0) return null;
  return (
    <section class="lead-conflicts" data-testid="lead-conflicts">
      <h2>{t.inboxConflicts}</h2>
      {items.map((item) => (item.kind === "conflict" ? <ConflictBox key={item.key} item={item} /> : null))}
    </section>
  );
}

/** Hands the lead to one of the members the core offers (`LeadActions.reassign_to`). */
function AssignBox({ lead, to: offered }: { lead: string; to: string[] }) {
  const { t } = useI18n();
  const { team } = useMe();
  const { err, busy, send } = useCommand(lead, () => {});
  const [to, setTo] = useState("");
  const chosen = offered.includes(to) ? to : "";
  return (
    <div class="assign" data-testid="assign">
      <label class="inline">
        <span class="field-label">{t.assignTo}</span>
        <select name="assign" value={chosen} onChange={(e) => setTo((e.target as HTMLSelectElement).value)}>
          <option value="">—</option>
          {offered.map((m) => (
            <option key={m} value={m}>{memberName(team, m)}</option>
          ))}
        </select>
      </label>
      <button
        type="button"
        class="btn"
        data-testid="assign-button"
        disabled={busy || chosen === ""}
        onClick={() => send({ type: "assign", owner: chosen } as never)}
      >
        {t.assign}
      </button>
      <FormError err={err} />
    </div>
  );
}
