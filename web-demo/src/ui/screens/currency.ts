import type { Engine } from "../../engine/api";

// The team document has no currency of its own (a contract gap): amounts default to the lead's
// deal currency, else the currency of the member's region, else the most used deal currency.
const BY_REGION: Record<string, string> = { IL: "ILS", RO: "RON", US: "USD", GB: "GBP" };

export function defaultCurrency(leadCurrency: string | undefined, locale: string | undefined, engine: Engine): string {
  if (leadCurrency) return leadCurrency;
  try {
    const region = locale ? new Intl.Locale(locale).region : undefined;
    if (region && BY_REGION[region]) return BY_REGION[region];
  } catch {
    // not a BCP 47 tag
  }
  const counts = new Map<string, number>();
  for (const f of engine.facts()) {
    const c = f.deal_size?.currency;
    if (c) counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  let best = "EUR";
  let n = 0;
  for (const [c, k] of counts) if (k > n) [best, n] = [c, k];
  return best;
}
