import { useI18n } from "../../i18n";
import { useEngine, useSyncInfo } from "../engine-hooks";

/** Always visible: online / syncing with progress / offline with N unsynced changes. */
export function SyncIndicator() {
  const { t } = useI18n();
  const engine = useEngine();
  const info = useSyncInfo();
  let text: string;
  switch (info.state) {
    case "online":
      text = t.syncOnline;
      break;
    case "connecting":
      text = t.syncConnecting;
      break;
    case "syncing":
      text = info.progress && info.progress.total > 0
        ? t.syncProgress(info.progress.done, info.progress.total)
        : t.syncSyncing;
      break;
    default:
      text = t.syncOffline;
  }
  const detail = info.unsynced > 0 ? t.syncUnsynced(info.unsynced) : undefined;
  const title = [text, detail ?? (info.state === "offline" ? t.syncAllSaved : undefined),
    info.lastError ? t.syncLastError(info.lastError) : undefined]
    .filter(Boolean)
    .join(" · ");
  const pct = info.state === "syncing" && info.progress && info.progress.total > 0
    ? Math.min(100, Math.round((100 * info.progress.done) / info.progress.total))
    : undefined;
  return (
    <button
      type="button"
      class={`sync sync-${info.state}`}
      data-testid="sync"
      data-state={info.state}
      data-unsynced={info.unsynced}
      title={`${title} · ${t.syncRetry}`}
      aria-live="polite"
      onClick={() => engine.reconnect()}
    >
      <span class="sync-dot" aria-hidden="true" />
      <span class="sync-text">{text}</span>
      {detail && <span class="sync-unsynced" data-testid="unsynced">{detail}</span>}
      {pct !== undefined && (
        <span class="sync-bar" aria-hidden="true"><span style={{ inlineSize: `${pct}%` }} /></span>
      )}
    </button>
  );
}
