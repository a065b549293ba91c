import { useState } from "preact/hooks";
import { parseToken } from "../../engine/session";
import { useI18n } from "../../i18n";
import { LangPicker } from "../components/LangPicker";

/** No session on this device: how to get a sign-in link, and a box to paste one. */
export function LoginScreen(props: { problem?: string }) {
  const { t } = useI18n();
  const [value, setValue] = useState("");
  const [bad, setBad] = useState<string | undefined>();
  const origin = location.origin;
  function open(e: Event) {
    e.preventDefault();
    const v = value.trim();
    const m = /#token=([^&\s]+)/.exec(v);
    const token = m ? m[1] : v;
    try {
      parseToken(token); // the engine's own check: shape and expiry, with its message
    } catch (x) {
      setBad(x instanceof Error ? x.message : t.loginBadToken);
      return;
    }
    location.hash = `token=${token}`;
    location.reload();
  }
  return (
    <main class="login" data-testid="login">
      <div class="login-top">
        <LangPicker />
      </div>
      <h1>{t.loginTitle}</h1>
      {props.problem && <p class="field-error" role="alert">{props.problem}</p>}
      <p>{t.loginIntro}</p>
      <h2>{t.loginHowTitle}</h2>
      <ul>
        <li>{t.loginHowRep}</li>
        <li>
          {t.loginHowAdmin}
          <pre dir="ltr"><code>fieldbook token issue --team TEAM --member MEMBER</code></pre>
        </li>
        <li>
          {t.loginHowShape}
          <pre dir="ltr"><code>{origin}/#token=fb1.…</code></pre>
        </li>
      </ul>
      <form class="form" noValidate onSubmit={open}>
        <label class="field">
          <span class="field-label">{t.loginPaste}</span>
          <input name="token" dir="ltr" value={value} onInput={(e) => { setValue((e.target as HTMLInputElement).value); setBad(undefined); }} />
        </label>
        {bad && <p class="field-error" role="alert">{bad}</p>}
        <button type="submit" class="btn btn-primary">{t.loginOpen}</button>
      </form>
    </main>
  );
}
