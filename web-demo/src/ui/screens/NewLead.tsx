import { useMemo, useState } from "preact/hooks";
import { useI18n } from "../../i18n";
import { BackLink, Field, FormError, MoneyInput, ProductPicker, toMoney } from "../components/Form";
import { useEngine, useEngineVersion } from "../engine-hooks";
import { toShownError, unplaced, type ShownError } from "../errors";
import { memberName } from "../labels";
import { useMe } from "../me";
import { href, navigate } from "../router";
import type { NewLead } from "../types";
import { defaultCurrency } from "./currency";

const FIELDS = ["company", "contact", "phone", "email", "address", "source", "products", "deal_size", "owner", "do_not_contact"];

export function NewLeadScreen() {
  const { t } = useI18n();
  const engine = useEngine();
  const me = useMe();
  const { team } = me;
  const [v, setV] = useState({ company: "", contact: "", phone: "", email: "", address: "", source: "" });
  const [products, setProducts] = useState<string[]>([]);
  const [deal, setDeal] = useState(() => ({ amount: "", currency: defaultCurrency(undefined, me.member?.locale, engine) }));
  const [picked, setOwner] = useState<string | undefined>();
  const [dnc, setDnc] = useState(false);
  const [err, setErr] = useState<ShownError | undefined>();
  const [busy, setBusy] = useState(false);
  // Whom the member may create a lead for: the core's answer (a rep only themselves).
  const version = useEngineVersion([]);
  const owners = useMemo(() => engine.newLeadOwners(), [engine, version]);
  const self = me.session.member;
  const owner = picked !== undefined && owners.includes(picked) ? picked : owners.includes(self) ? self : owners[0];
  const choose = owners.length > 1 || (owners.length === 1 && owners[0] !== self);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErr(undefined);
    try {
      const input = {
        ...v,
        products,
        deal_size: toMoney(deal),
        owner: choose ? (owner ?? null) : null,
        do_not_contact: dnc,
      } as unknown as Omit<NewLead, "id">;
      const id = await engine.createLead(input);
      navigate({ name: "lead", id });
    } catch (x) {
      setErr(toShownError(x));
    } finally {
      setBusy(false);
    }
  }

  const text = (name: keyof typeof v, label: string, type = "text") => (
    <Field label={label} name={name} err={err}>
      <input
        name={name}
        type={type}
        dir={type === "tel" || type === "email" ? "ltr" : undefined}
        value={v[name]}
        onInput={(ev) => setV({ ...v, [name]: (ev.target as HTMLInputElement).value })}
      />
    </Field>
  );

  return (
    <section class="screen">
      <BackLink href={href({ name: "queue" })} />
      <h1>{t.newLeadTitle}</h1>
      <form class="form" noValidate data-testid="new-lead-form" onSubmit={submit}>
        <FormError err={unplaced(err, FIELDS)} />
        {text("company", t.company)}
        {text("contact", t.contact)}
        {text("phone", t.phone, "tel")}
        {text("email", t.email, "email")}
        {text("address", t.address)}
        {text("source", t.source)}
        <Field label={t.products} name="products" err={err}>
          <ProductPicker team={team} name="products" value={products} onChange={setProducts} />
        </Field>
        <Field label={`${t.dealSize} (${t.optional})`} name="deal_size" err={err}>
          <MoneyInput name="deal_size" value={deal} onChange={setDeal} />
        </Field>
        {choose && (
          <Field label={t.owner} name="owner" err={err}>
            <select name="owner" value={owner} onChange={(ev) => setOwner((ev.target as HTMLSelectElement).value)}>
              {owners.map((m) => (
                <option key={m} value={m}>{memberName(team, m)}</option>
              ))}
            </select>
          </Field>
        )}
        <label class="check">
          <input type="checkbox" checked={dnc} onChange={(ev) => setDnc((ev.target as HTMLInputElement).checked)} />
          <span>{t.doNotContact}</span>
        </label>
        <button class="btn btn-primary" type="submit" disabled={busy} data-testid="create-lead">{t.create}</button>
      </form>
    </section>
  );
}
