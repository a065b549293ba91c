import type { Engine } from "../../engine/api";

// The currency new amounts start in: the lead's deal currency, else the currency of the
// member's region (a Romanian rep of an Israeli team quotes in RON), else the team currency of
// the playbook (what orderings and totals are in).
const BY_REGION: Record<string, string> = { IL: "ILS", RO: "RON", US: "USD", GB: "GBP" };

export function defaultCurrency(leadCurrency: string | undefined, locale: string | undefined, engine: Engine): string {
  if (leadCurrency) return leadCurrency;
  try {
    const region = locale ? new Intl.Locale(locale).region : undefined;
    if (region && BY_REGION[region]) return BY_REGION[region];
  } catch {
    // not a BCP 47 tag
  }
  return engine.team()?.playbook.currency ?? "EUR";
}
