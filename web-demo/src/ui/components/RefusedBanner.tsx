// This device's writes the relay refused (`Effects.refused`, kept by the engine until dismissed):
// one banner each under the header, on every screen, naming the lead (a link to its card while
// the lead is on this device) and what was refused, in the UI's language.

import { useEffect, useState } from "preact/hooks";
import type { RefusedWrite } from "../../engine/api";
import { useI18n } from "../../i18n";
import { useEngine, useEngineVersion } from "../engine-hooks";
import { useProblemText } from "../errors";
import { href } from "../router";

function useRefusedWrites(): RefusedWrite[] {
  const engine = useEngine();
  const [list, setList] = useState<RefusedWrite[]>(() => engine.refusedWrites());
  useEffect(() => {
    setList(engine.refusedWrites());
    return engine.subscribe((ev) => {
      if (ev.type === "refused") setList(engine.refusedWrites());
    });
  }, [engine]);
  return list;
}

export function RefusedBanner() {
  const { t } = useI18n();
  const engine = useEngine();
  const list = useRefusedWrites();
  // A removed lead leaves the facts list: the link goes when the lead does.
  useEngineVersion();
  const text = useProblemText();
  if (list.length === 0) return null;
  const onDevice = new Set(engine.facts().map((f) => f.id));
  return (
    <div class="refused-list" data-testid="refused">
      {list.map((r) => {
        const name = r.name || (r.lead ? t.refusedUnnamed : t.refusedTitle);
        const linked = r.lead && !r.removed && onDevice.has(r.lead);
        const why = r.refusal ? text(r.refusal, r.message) : r.message;
        const what = r.held ? t.refusedHeld : r.removed ? t.refusedRemoved : r.lead ? t.refusedChange : t.refusedTeam;
        return (
          <div
            key={r.id}
            class={`refused-banner${r.held ? " refused-held" : ""}`}
            role="alert"
            data-testid="refused-write"
            data-doc={r.doc}
            data-lead={r.lead ?? ""}
            data-code={r.refusal?.code ?? ""}
            data-held={r.held ? "true" : "false"}
            data-removed={r.removed ? "true" : "false"}
          >
            <div class="refused-text">
              <p class="refused-name">
                {linked ? (
                  <a href={href({ name: "lead", id: r.lead! })} data-testid="refused-lead">{name}</a>
                ) : (
                  <strong data-testid="refused-lead">{name}</strong>
                )}
              </p>
              <p>{what}</p>
              {!r.held && r.dropped_events.length > 0 && !r.removed && <p>{t.refusedDropped(r.dropped_events.length)}</p>}
              {!r.held && why && <p class="refused-why" data-testid="refused-why">{t.refusedWhy(why)}</p>}
            </div>
            <button
              type="button"
              class="icon-btn"
              aria-label={t.refusedDismiss}
              title={t.refusedDismiss}
              data-testid="refused-dismiss"
              onClick={() => engine.dismissRefused(r.id)}
            >
              ✕
            </button>
          </div>
        );
      })}
    </div>
  );
}
