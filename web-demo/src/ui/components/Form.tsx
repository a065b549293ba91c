// Form building blocks: a labelled field that shows the core's error for its input path, a
// money input, a product picker, a modal sheet.

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
import { useI18n } from "../../i18n";
import { errorAt, useErrorText, type ShownError } from "../errors";
import { productName } from "../labels";
import { useMe } from "../me";
import type { Money, Team } from "../types";

export function FieldError({ err, name }: { err?: ShownError; name: string }) {
  const text = useErrorText();
  const e = errorAt(err, name);
  if (!e) return null;
  return (
    <p class="field-error" role="alert" data-testid={`error-${name}`} data-field={e.field} data-code={e.problem?.code}>
      {text(e)}
    </p>
  );
}

/** An error no input of the form shows (a `not_allowed`, or a field the form has no input for). */
export function FormError({ err }: { err?: ShownError }) {
  const { t } = useI18n();
  const text = useErrorText();
  if (!err) return null;
  return (
    <p class="field-error form-error" role="alert" data-testid="form-error" data-field={err.field ?? ""} data-code={err.problem?.code}>
      {err.kind === "not_allowed" ? `${t.notAllowed}: ` : err.field ? `${t.fixField(err.field)}: ` : ""}
      {text(err)}
    </p>
  );
}

export function Field(props: {
  label: string;
  name: string;
  err?: ShownError;
  hint?: string;
  children: ComponentChildren;
}) {
  const invalid = !!errorAt(props.err, props.name);
  return (
    <div class={`field${invalid ? " field-invalid" : ""}`} data-field={props.name}>
      <label>
        <span class="field-label">{props.label}</span>
        {props.children}
      </label>
      {props.hint && <span class="field-hint">{props.hint}</span>}
      <FieldError err={props.err} name={props.name} />
    </div>
  );
}

export const CURRENCIES = ["ILS", "RON", "EUR", "USD", "GBP"];

/** Amount in major units + currency; `null` while the amount is empty or not a number. */
export function MoneyInput(props: {
  name: string;
  value: { amount: string; currency: string };
  onChange(v: { amount: string; currency: string }): void;
}) {
  const { t } = useI18n();
  const { team } = useMe();
  // The amount's own, the team currency, the currencies with a rate, then the usual ones.
  const playbook = team?.playbook;
  const currencies = [
    ...new Set([
      props.value.currency,
      ...(playbook ? [playbook.currency, ...playbook.exchange_rates.map((r) => r.currency)] : []),
      ...CURRENCIES,
    ]),
  ];
  return (
    <span class="money-input">
      <input
        name={props.name}
        type="number"
        inputMode="decimal"
        min="0"
        step="0.01"
        dir="ltr"
        value={props.value.amount}
        onInput={(e) => props.onChange({ ...props.value, amount: (e.target as HTMLInputElement).value })}
      />
      <select
        aria-label={t.currency}
        name={`${props.name}-currency`}
        value={props.value.currency}
        onChange={(e) => props.onChange({ ...props.value, currency: (e.target as HTMLSelectElement).value })}
      >
        {currencies.map((c) => (
          <option key={c} value={c}>{c}</option>
        ))}
      </select>
    </span>
  );
}

export function toMoney(v: { amount: string; currency: string }): Money | null {
  if (v.amount.trim() === "") return null;
  const n = Number(v.amount);
  if (!Number.isFinite(n)) return null;
  return { minor: Math.round(n * 100), currency: v.currency };
}

export function ProductPicker(props: {
  team: Team | undefined;
  name: string;
  value: string[];
  onChange(v: string[]): void;
}) {
  const products = props.team?.products ?? [];
  return (
    <span class="choices" role="group">
      {products.map((p) => (
        <label key={p.id} class="choice">
          <input
            type="checkbox"
            name={props.name}
            value={p.id}
            checked={props.value.includes(p.id)}
            onChange={(e) => {
              const on = (e.target as HTMLInputElement).checked;
              props.onChange(on ? [...props.value, p.id] : props.value.filter((x) => x !== p.id));
            }}
          />
          <span>{productName(props.team, p.id)}</span>
        </label>
      ))}
    </span>
  );
}

/** A modal sheet (bottom sheet on phones, centred dialog on wide screens). */
export function Sheet(props: { title: string; onClose(): void; children: ComponentChildren; testid?: string }) {
  const { t } = useI18n();
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog
      ref={ref}
      class="sheet"
      data-testid={props.testid}
      aria-label={props.title}
      onCancel={(e) => {
        e.preventDefault();
        props.onClose();
      }}
    >
      <header class="sheet-head">
        <h2>{props.title}</h2>
        <button type="button" class="icon-btn" aria-label={t.close} onClick={props.onClose}>
          ✕
        </button>
      </header>
      <div class="sheet-body">{props.children}</div>
    </dialog>
  );
}

/** A chevron pointing "forward" in the reading direction (mirrored in RTL by CSS). */
export function Chevron() {
  return (
    <svg class="chevron mirror" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
      <path d="M6 3l5 5-5 5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
    </svg>
  );
}

export function BackLink(props: { href: string }) {
  const { t } = useI18n();
  return (
    <a class="back" href={props.href}>
      <svg class="mirror" viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
        <path d="M10 3L5 8l5 5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" />
      </svg>
      {t.back}
    </a>
  );
}
