import { LANGS, useI18n, type Lang } from "../../i18n";

export function LangPicker() {
  const { t, lang, setLang } = useI18n();
  return (
    <select
      class="lang-picker"
      aria-label={t.language}
      data-testid="lang-picker"
      value={lang}
      onChange={(e) => setLang((e.target as HTMLSelectElement).value as Lang)}
    >
      {LANGS.map((l) => (
        <option key={l.id} value={l.id} lang={l.id}>{l.name}</option>
      ))}
    </select>
  );
}
