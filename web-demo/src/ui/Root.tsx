// Start-up: the session (from `#token=` or this device), then the engine, then the app; the
// language and formatting context around all of it.

import { useEffect, useMemo, useState } from "preact/hooks";
import type { Engine, Session } from "../engine/api";
import {
  applyToDocument,
  dict,
  dirOf,
  formatLocale,
  Formatter,
  I18nContext,
  initialLang,
  storedLang,
  storeLang,
  type I18n,
  type Lang,
} from "../i18n";
import { App } from "./App";
import { EngineContext, useEngineVersion } from "./engine-hooks";
import { makeMe, MeContext } from "./me";
import { LoginScreen } from "./screens/Login";

export interface Boot {
  session?: Session;
  /** Why the link in the URL could not be used (malformed, expired). */
  problem?: string;
  open(session: Session): Promise<Engine>;
  signOut(): void;
}

function useI18nState(memberLocale: string | undefined, timeZone: string | undefined): I18n {
  const [picked, setPicked] = useState<Lang | undefined>(() => storedLang());
  const lang = picked ?? initialLang(memberLocale);
  useEffect(() => applyToDocument(lang), [lang]);
  return useMemo(
    () => ({
      lang,
      dir: dirOf(lang),
      t: dict(lang),
      fmt: new Formatter(formatLocale(lang, memberLocale), timeZone),
      setLang(next: Lang) {
        storeLang(next);
        setPicked(next);
      },
    }),
    [lang, memberLocale, timeZone],
  );
}

export function Root({ boot }: { boot: Boot }) {
  const [engine, setEngine] = useState<Engine | undefined>();
  const [failed, setFailed] = useState<string | undefined>();
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!boot.session) return;
    let live = true;
    setFailed(undefined);
    boot.open(boot.session).then(
      (e) => live && setEngine(e),
      (e: unknown) => live && setFailed(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [boot, attempt]);

  if (!boot.session) {
    return <Shell memberLocale={undefined} timeZone={undefined}><LoginScreen problem={boot.problem} /></Shell>;
  }
  if (!engine) {
    return (
      <Shell memberLocale={undefined} timeZone={undefined}>
        <Starting failed={failed} onRetry={() => setAttempt((a) => a + 1)} />
      </Shell>
    );
  }
  return (
    <EngineContext.Provider value={engine}>
      <SignedIn engine={engine} session={boot.session} signOut={boot.signOut} />
    </EngineContext.Provider>
  );
}

function Shell(props: { memberLocale: string | undefined; timeZone: string | undefined; children: preact.ComponentChildren }) {
  const i18n = useI18nState(props.memberLocale, props.timeZone);
  return <I18nContext.Provider value={i18n}>{props.children}</I18nContext.Provider>;
}

function Starting(props: { failed?: string; onRetry(): void }) {
  return (
    <I18nContext.Consumer>
      {({ t }) => (
        <main class="starting" data-testid="starting">
          {props.failed ? (
            <>
              <h1>{t.openFailed}</h1>
              <p class="field-error" role="alert">{props.failed}</p>
              <button type="button" class="btn btn-primary" onClick={props.onRetry}>{t.retry}</button>
            </>
          ) : (
            <p class="muted">{t.loading}</p>
          )}
        </main>
      )}
    </I18nContext.Consumer>
  );
}

function SignedIn(props: { engine: Engine; session: Session; signOut(): void }) {
  const version = useEngineVersion([]);
  const team = useMemo(() => props.engine.team(), [props.engine, version]);
  const me = useMemo(() => makeMe(props.session, team), [props.session, team]);
  return (
    <MeContext.Provider value={me}>
      <Shell memberLocale={me.member?.locale} timeZone={me.member?.time_zone}>
        <App
          onSignOut={() => {
            props.engine.close();
            props.signOut();
          }}
        />
      </Shell>
    </MeContext.Provider>
  );
}
