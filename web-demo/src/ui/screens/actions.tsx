// The lead card's quick actions: each a small form that sends one LeadCommand to the engine.
// The core validates; a refusal comes back as a FieldbookError shown next to its field.

import { useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import {
  Field,
  FieldError,
  FormError,
  MoneyInput,
  ProductPicker,
  toMoney,
} from "../components/Form";
import { useEngine } from "../engine-hooks";
import { toShownError, unplaced, type ShownError } from "../errors";
import { enumLabel, reasonLabel, statusLabel } from "../labels";
import { useMe } from "../me";
import type { LeadCommand, Money } from "../types";

export const CHANNELS = ["call", "visit", "email", "sms", "whatsapp"] as const;
export const OUTCOMES = ["no_answer", "busy", "wrong_number", "voicemail", "reached"] as const;
export const CONVERSATION_KINDS = ["call", "meeting", "visit", "demo"] as const;
export const STEP_KINDS = ["call", "meeting", "demo", "quote_follow_up", "visit"] as const;
export const MATERIALS = ["references", "company_profile", "price_list"] as const;
export const OFFER_CHANGES = ["discount", "payment_terms", "modified_offer"] as const;

/** Sends a command; keeps the core's error for the form to show. */
export function useCommand(lead: string, onDone: () => void) {
  const engine = useEngine();
  const [err, setErr] = useState<ShownError | undefined>();
  const [busy, setBusy] = useState(false);
  async function send(command: LeadCommand): Promise<boolean> {
    setBusy(true);
    setErr(undefined);
    try {
      await engine.lead(lead); // loads the document if this device has not yet
      await engine.apply(lead, command);
      onDone();
      return true;
    } catch (e) {
      setErr(toShownError(e));
      return false;
    } finally {
      setBusy(false);
    }
  }
  return { err, busy, send, setErr };
}

function cmd(c: Record<string, unknown>): LeadCommand {
  return c as unknown as LeadCommand;
}

export interface ActionProps {
  lead: string;
  /** The lead's deal currency, the default for amounts. */
  currency: string;
  onDone(): void;
}

export function AttemptForm({ lead, onDone }: ActionProps) {
  const { t } = useI18n();
  const { err, busy, send } = useCommand(lead, onDone);
  const [channel, setChannel] = useState<string>("call");
  return (
    <form class="form" noValidate data-testid="attempt-form" onSubmit={(e) => e.preventDefault()}>
      <FormError err={unplaced(err, ["channel", "outcome"])} />
      <Field label={t.channel} name="channel" err={err}>
        <select name="channel" value={channel} onChange={(e) => setChannel((e.target as HTMLSelectElement).value)}>
          {CHANNELS.map((c) => (
            <option key={c} value={c}>{enumLabel(t, "channel", c)}</option>
          ))}
        </select>
      </Field>
      <fieldset class="field">
        <legend class="field-label">{t.outcome}</legend>
        <div class="outcomes">
          {OUTCOMES.map((o) => (
            <button
              key={o}
              type="button"
              class={`btn outcome outcome-${o}`}
              disabled={busy}
              data-outcome={o}
              onClick={() => send(cmd({ type: "log_attempt", channel, outcome: o }))}
            >
              {enumLabel(t, "outcome", o)}
            </button>
          ))}
        </div>
        <FieldError err={err} name="outcome" />
      </fieldset>
    </form>
  );
}

interface RefusalState {
  reason: string;
  products: string[];
  budget: { amount: string; currency: string };
  competitor: string;
  note: string;
}

function emptyRefusal(currency: string): RefusalState {
  return { reason: "", products: [], budget: { amount: "", currency }, competitor: "", note: "" };
}

function refusalInput(s: RefusalState) {
  return {
    reason: s.reason,
    products: s.products,
    budget: toMoney(s.budget),
    competitor: s.competitor.trim() ? s.competitor.trim() : null,
    note: s.note,
  };
}

/** Reason, products, budget, competitor, note; `prefix` names the fields inside a larger input. */
function RefusalFields(props: { prefix: string; value: RefusalState; onChange(v: RefusalState): void; err?: ShownError }) {
  const { t } = useI18n();
  const { team } = useMe();
  const p = props.prefix;
  const v = props.value;
  const set = (patch: Partial<RefusalState>) => props.onChange({ ...v, ...patch });
  return (
    <>
      <Field label={t.reason} name={`${p}reason`} err={props.err}>
        <select name="reason" value={v.reason} onChange={(e) => set({ reason: (e.target as HTMLSelectElement).value })}>
          <option value="">{t.chooseReason}</option>
          {(team?.playbook.refusal_reasons ?? []).map((r) => (
            <option key={r.key} value={r.key}>{reasonLabel(t, team, r.key, r.label)}</option>
          ))}
        </select>
      </Field>
      <Field label={t.products} name={`${p}products`} err={props.err}>
        <ProductPicker team={team} name="products" value={v.products} onChange={(products) => set({ products })} />
      </Field>
      <Field label={t.budget} name={`${p}budget`} err={props.err}>
        <MoneyInput name="budget" value={v.budget} onChange={(budget) => set({ budget })} />
      </Field>
      <Field label={`${t.competitor} (${t.optional})`} name={`${p}competitor`} err={props.err}>
        <input name="competitor" value={v.competitor} onInput={(e) => set({ competitor: (e.target as HTMLInputElement).value })} />
      </Field>
      <Field label={`${t.note} (${t.optional})`} name={`${p}note`} err={props.err}>
        <textarea name="note" rows={2} value={v.note} onInput={(e) => set({ note: (e.target as HTMLTextAreaElement).value })} />
      </Field>
    </>
  );
}

const REFUSAL_FIELDS = ["reason", "products", "budget", "competitor", "note"];

export function RefusalForm({ lead, currency, onDone }: ActionProps) {
  const { t } = useI18n();
  const { err, busy, send } = useCommand(lead, onDone);
  const [v, setV] = useState(() => emptyRefusal(currency));
  return (
    <form
      noValidate
      class="form"
      data-testid="refusal-form"
      onSubmit={(e) => {
        e.preventDefault();
        void send(cmd({ type: "record_refusal", ...refusalInput(v) }));
      }}
    >
      <FormError err={unplaced(err, REFUSAL_FIELDS)} />
      <RefusalFields prefix="" value={v} onChange={setV} err={err} />
      <button class="btn btn-primary" type="submit" disabled={busy}>{t.save}</button>
    </form>
  );
}

interface StepState {
  kind: string;
  due: string;
  agreed: boolean;
  duration: string;
  note: string;
}

function emptyStep(): StepState {
  return { kind: "call", due: "", agreed: true, duration: "", note: "" };
}

/** Kind, due (in the member's zone), agreed, duration, note. */
function StepFields(props: { prefix: string; value: StepState; onChange(v: StepState): void; err?: ShownError }) {
  const { t, fmt } = useI18n();
  const p = props.prefix;
  const v = props.value;
  const set = (patch: Partial<StepState>) => props.onChange({ ...v, ...patch });
  return (
    <>
      <Field label={t.nextStepKind} name={`${p}kind`} err={props.err}>
        <select name="step-kind" value={v.kind} onChange={(e) => set({ kind: (e.target as HTMLSelectElement).value })}>
          {STEP_KINDS.map((k) => (
            <option key={k} value={k}>{enumLabel(t, "step", k)}</option>
          ))}
        </select>
      </Field>
      <Field label={t.dueAt} name={`${p}due`} err={props.err} hint={fmt.timeZone ? t.timeZoneHint(fmt.timeZone) : undefined}>
        <input name="due" type="datetime-local" dir="ltr" value={v.due} onInput={(e) => set({ due: (e.target as HTMLInputElement).value })} />
      </Field>
      <label class="check">
        <input type="checkbox" name="agreed" checked={v.agreed} onChange={(e) => set({ agreed: (e.target as HTMLInputElement).checked })} />
        <span>{t.agreed}</span>
      </label>
      <Field label={`${t.durationMinutes} (${t.optional})`} name={`${p}duration_minutes`} err={props.err}>
        <input name="duration" type="number" min="1" inputMode="numeric" dir="ltr" value={v.duration} onInput={(e) => set({ duration: (e.target as HTMLInputElement).value })} />
      </Field>
    </>
  );
}

function stepInput(fmt: { fromLocalInput(v: string): string | undefined }, s: StepState) {
  const due = fmt.fromLocalInput(s.due);
  if (!due) return null;
  return {
    kind: s.kind,
    due,
    agreed: s.agreed,
    duration_minutes: s.duration.trim() ? Math.round(Number(s.duration)) : null,
    note: s.note,
  };
}

export function NextStepForm({ lead, onDone }: ActionProps) {
  const { t, fmt } = useI18n();
  const { err, busy, send } = useCommand(lead, onDone);
  const [v, setV] = useState(emptyStep);
  return (
    <form
      noValidate
      class="form"
      data-testid="next-step-form"
      onSubmit={(e) => {
        e.preventDefault();
        const step = stepInput(fmt, v);
        // With no due time there is no next step to send: the core names the field.
        void send(cmd({ type: "set_next_step", ...(step ?? { kind: v.kind, agreed: v.agreed }) }));
      }}
    >
      <FormError err={unplaced(err, ["kind", "due", "duration_minutes"])} />
      <StepFields prefix="" value={v} onChange={setV} err={err} />
      <button class="btn btn-primary" type="submit" disabled={busy}>{t.save}</button>
    </form>
  );
}

type Ending = "" | "next_step" | "decision_date" | "needs_time" | "final_yes" | "final_no";
const ENDINGS: { id: Exclude<Ending, "">; label: "endNextStep" | "endDecisionDate" | "endNeedsTime" | "endFinalYes" | "endFinalNo" }[] = [
  { id: "next_step", label: "endNextStep" },
  { id: "decision_date", label: "endDecisionDate" },
  { id: "needs_time", label: "endNeedsTime" },
  { id: "final_yes", label: "endFinalYes" },
  { id: "final_no", label: "endFinalNo" },
];

export function ConversationForm({ lead, currency, onDone }: ActionProps) {
  const { t, fmt } = useI18n();
  const { team } = useMe();
  const { err, busy, send } = useCommand(lead, onDone);
  const [kind, setKind] = useState("call");
  const [notes, setNotes] = useState("");
  const [needs, setNeeds] = useState("");
  const [ending, setEnding] = useState<Ending>("");
  const [step, setStep] = useState(emptyStep);
  const [decision, setDecision] = useState("");
  const [yes, setYes] = useState<{ amount: { amount: string; currency: string }; products: string[] }>({
    amount: { amount: "", currency },
    products: [],
  });
  const [no, setNo] = useState(() => emptyRefusal(currency));

  function submit(e: Event) {
    e.preventDefault();
    const input: Record<string, unknown> = { type: "log_conversation", kind, notes, needs };
    // Only the chosen ending is sent; with none chosen the core refuses and says what is missing.
    if (ending === "next_step") {
      const s = stepInput(fmt, step);
      if (s) input.next_step = s;
    } else if (ending === "decision_date") {
      const d = fmt.fromLocalInput(decision);
      if (d) input.decision_date = d;
    } else if (ending === "needs_time") {
      input.needs_time = true;
    } else if (ending === "final_yes") {
      const amount: Money | null = toMoney(yes.amount);
      input.final_yes = { amount: amount ?? { minor: 0, currency: yes.amount.currency }, products: yes.products };
    } else if (ending === "final_no") {
      input.final_no = refusalInput(no);
    }
    void send(cmd(input));
  }

  return (
    <form class="form" noValidate data-testid="conversation-form" onSubmit={submit}>
      <FormError err={unplaced(err, ["kind", "notes", "needs", "next_step", "decision_date", "final_yes", "final_no", "needs_time"])} />
      <Field label={t.kind} name="kind" err={err}>
        <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
          {CONVERSATION_KINDS.map((k) => (
            <option key={k} value={k}>{enumLabel(t, "conv", k)}</option>
          ))}
        </select>
      </Field>
      <Field label={t.notes} name="notes" err={err}>
        <textarea name="notes" rows={3} value={notes} onInput={(e) => setNotes((e.target as HTMLTextAreaElement).value)} />
      </Field>
      <Field label={`${t.needs} (${t.optional})`} name="needs" err={err}>
        <textarea name="needs" rows={2} value={needs} onInput={(e) => setNeeds((e.target as HTMLTextAreaElement).value)} />
      </Field>
      <fieldset class={`field ending${err?.field === "next_step" ? " field-invalid" : ""}`} data-field="ending">
        <legend class="field-label">{t.ending}</legend>
        <div class="choices">
          {ENDINGS.map((en) => (
            <label class="choice" key={en.id}>
              <input type="radio" name="ending" value={en.id} checked={ending === en.id} onChange={() => setEnding(en.id)} />
              <span>{t[en.label]}</span>
            </label>
          ))}
        </div>
        {/* "next_step" is also the field the core names when no ending was given. */}
        {err?.field === "next_step" && <FieldError err={err} name="next_step" />}
      </fieldset>
      {ending === "next_step" && (
        <div class="sub">
          <StepFields prefix="next_step." value={step} onChange={setStep} err={err?.field === "next_step" ? undefined : err} />
        </div>
      )}
      {ending === "decision_date" && (
        <div class="sub">
          <Field label={t.decisionDate} name="decision_date" err={err}>
            <input name="decision_date" type="datetime-local" dir="ltr" value={decision} onInput={(e) => setDecision((e.target as HTMLInputElement).value)} />
          </Field>
        </div>
      )}
      {ending === "final_yes" && (
        <div class="sub">
          <Field label={t.amount} name="final_yes.amount" err={err}>
            <MoneyInput name="amount" value={yes.amount} onChange={(amount) => setYes({ ...yes, amount })} />
          </Field>
          <Field label={t.products} name="final_yes.products" err={err}>
            <ProductPicker team={team} name="won-products" value={yes.products} onChange={(products) => setYes({ ...yes, products })} />
          </Field>
        </div>
      )}
      {ending === "final_no" && (
        <div class="sub">
          <RefusalFields prefix="final_no." value={no} onChange={setNo} err={err} />
        </div>
      )}
      <button class="btn btn-primary" type="submit" disabled={busy} data-testid="save-conversation">{t.save}</button>
    </form>
  );
}

export function WonForm({ lead, currency, onDone }: ActionProps) {
  const { t } = useI18n();
  const { team } = useMe();
  const { err, busy, send } = useCommand(lead, onDone);
  const [amount, setAmount] = useState({ amount: "", currency });
  const [products, setProducts] = useState<string[]>([]);
  return (
    <form
      noValidate
      class="form"
      data-testid="won-form"
      onSubmit={(e) => {
        e.preventDefault();
        const m = toMoney(amount);
        void send(cmd({ type: "mark_won", amount: m ?? { minor: 0, currency: amount.currency }, products }));
      }}
    >
      <FormError err={unplaced(err, ["amount", "products"])} />
      <Field label={t.amount} name="amount" err={err}>
        <MoneyInput name="amount" value={amount} onChange={setAmount} />
      </Field>
      <Field label={t.products} name="products" err={err}>
        <ProductPicker team={team} name="products" value={products} onChange={setProducts} />
      </Field>
      <button class="btn btn-primary" type="submit" disabled={busy}>{t.save}</button>
    </form>
  );
}

export function MaterialsForm({ lead, onDone, sent }: ActionProps & { sent?: boolean }) {
  const { t } = useI18n();
  const { err, busy, send } = useCommand(lead, onDone);
  const [materials, setMaterials] = useState<string[]>([]);
  return (
    <form
      noValidate
      class="form"
      data-testid={sent ? "send-materials-form" : "materials-form"}
      onSubmit={(e) => {
        e.preventDefault();
        void send(cmd({ type: sent ? "send_materials" : "request_materials", materials }));
      }}
    >
      <FormError err={unplaced(err, ["materials"])} />
      <Field label={sent ? t.sendMaterialsTitle : t.materialsTitle} name="materials" err={err}>
        <span class="choices">
          {MATERIALS.map((m) => (
            <label class="choice" key={m}>
              <input
                type="checkbox"
                name="materials"
                value={m}
                checked={materials.includes(m)}
                onChange={(e) => {
                  const on = (e.target as HTMLInputElement).checked;
                  setMaterials(on ? [...materials, m] : materials.filter((x) => x !== m));
                }}
              />
              <span>{enumLabel(t, "material", m)}</span>
            </label>
          ))}
        </span>
      </Field>
      <button class="btn btn-primary" type="submit" disabled={busy}>{t.save}</button>
    </form>
  );
}

export function ConfirmCloseForm({ lead, onDone }: ActionProps) {
  const { t } = useI18n();
  const { err, busy, send } = useCommand(lead, onDone);
  return (
    <form class="form" noValidate onSubmit={(e) => { e.preventDefault(); void send(cmd({ type: "confirm_close_unreachable" })); }}>
      <FormError err={err} />
      <p>{t.confirmCloseText}</p>
      <button class="btn btn-primary" type="submit" disabled={busy}>{t.actConfirmClose}</button>
    </form>
  );
}

/** The manager's decision on a refusal: return with an offer change, or validate. */
export function ReviewForm({ lead, onDone, compact }: ActionProps & { compact?: boolean }) {
  const { t } = useI18n();
  const { err, busy, send } = useCommand(lead, onDone);
  const [offer, setOffer] = useState<string>("discount");
  const [note, setNote] = useState("");
  return (
    <div class={`review-form${compact ? " compact" : ""}`} data-testid="review-form">
      <FormError err={unplaced(err, ["decision", "note"])} />
      <div class="review-row">
        <select
          name="offer_change"
          aria-label={t.reviewOfferChange}
          title={t.reviewOfferChange}
          value={offer}
          onChange={(e) => setOffer((e.target as HTMLSelectElement).value)}
        >
          {OFFER_CHANGES.map((o) => (
            <option key={o} value={o}>{enumLabel(t, "offer", o)}</option>
          ))}
        </select>
        <button
          type="button"
          class="btn btn-primary"
          disabled={busy}
          data-testid="review-return"
          onClick={() => send(cmd({ type: "review_refusal", decision: { decision: "return_to_funnel", offer_change: offer }, note }))}
        >
          {t.reviewReturn}
        </button>
      </div>
      <div class="review-row">
        <input
          name="review-note"
          aria-label={t.note}
          placeholder={`${t.note} (${t.optional})`}
          value={note}
          onInput={(e) => setNote((e.target as HTMLInputElement).value)}
        />
        <button
          type="button"
          class="btn"
          disabled={busy}
          data-testid="review-validate"
          title={t.reviewValidateHint}
          onClick={() => send(cmd({ type: "review_refusal", decision: { decision: "refusal_validated" }, note }))}
        >
          {t.reviewValidate}
        </button>
      </div>
      <FieldError err={err} name="note" />
    </div>
  );
}

/** A manager's status set by hand: a status of the playbook and why. */
export function OverrideStatusForm({ lead, onDone, current }: ActionProps & { current: string }) {
  const { t } = useI18n();
  const { team } = useMe();
  const { err, busy, send } = useCommand(lead, onDone);
  const [status, setStatus] = useState(current);
  const [reason, setReason] = useState("");
  return (
    <form
      class="form"
      noValidate
      data-testid="override-status-form"
      onSubmit={(e) => {
        e.preventDefault();
        void send(cmd({ type: "override_status", status, reason }));
      }}
    >
      <FormError err={unplaced(err, ["status", "reason"])} />
      <Field label={t.status} name="status" err={err}>
        <select name="status" value={status} onChange={(e) => setStatus((e.target as HTMLSelectElement).value)}>
          {(team?.playbook.statuses ?? []).map((s) => (
            <option key={s.key} value={s.key}>{statusLabel(t, team, s.key, s.role)}</option>
          ))}
        </select>
      </Field>
      <Field label={t.overrideReason} name="reason" err={err}>
        <textarea name="reason" rows={2} value={reason} onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)} />
      </Field>
      <button class="btn btn-primary" type="submit" disabled={busy}>{t.save}</button>
    </form>
  );
}
