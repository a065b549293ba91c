// The signed-in app: header (title, sync indicator), the current screen, and the navigation
// (a bottom tab bar on phones, a side rail on wide screens).

import { useMemo } from "preact/hooks";
import { useI18n, type Dict } from "../i18n";
import { RefusedBanner } from "./components/RefusedBanner";
import { SyncIndicator } from "./components/SyncIndicator";
import { useMe } from "./me";
import { href, useRoute, type Route } from "./router";
import { AnalyticsScreen } from "./screens/Analytics";
import { DayPlanScreen } from "./screens/DayPlan";
import { InboxScreen } from "./screens/Inbox";
import { LeadCardScreen } from "./screens/LeadCard";
import { NewLeadScreen } from "./screens/NewLead";
import { QueueScreen } from "./screens/Queue";
import { SettingsScreen } from "./screens/Settings";

const ICONS: Record<string, string> = {
  queue: "M4 6h16M4 12h16M4 18h10",
  plan: "M5 5h14v15H5zM5 10h14M9 3v4M15 3v4",
  inbox: "M4 13l3-8h10l3 8v6H4zM4 13h5l1 2h4l1-2h5",
  analytics: "M5 20V11M12 20V5M19 20v-6",
  settings: "M12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6M12 2v3M12 19v3M2 12h3M19 12h3M5 5l2 2M17 17l2 2M5 19l2-2M17 7l2-2",
};

export function App(props: { onSignOut(): void }) {
  const { t } = useI18n();
  const me = useMe();
  const route = useRoute();
  const tabs = useMemo(() => {
    const all: { route: Route; label: keyof Dict }[] = [
      { route: { name: "queue" }, label: "navQueue" },
      { route: { name: "plan" }, label: "navPlan" },
      ...(me.isManager ? [{ route: { name: "inbox" } as Route, label: "navInbox" as const }] : []),
      { route: { name: "analytics" }, label: "navAnalytics" },
      { route: { name: "settings" }, label: "navSettings" },
    ];
    return all;
  }, [me.isManager]);
  const active = route.name === "lead" || route.name === "new" ? "queue" : route.name;

  return (
    <div class="app">
      <header class="topbar">
        <a class="brand" href={href({ name: "queue" })}>
          <img src="/icon.svg" alt="" width="24" height="24" />
          <span>{t.appName}</span>
        </a>
        <span class="who" data-testid="who">{me.member?.name ?? me.session.member}</span>
        <SyncIndicator />
      </header>
      <nav class="tabs-nav" aria-label={t.appName}>
        {tabs.map((tab) => (
          <a
            key={tab.route.name}
            href={href(tab.route)}
            class={tab.route.name === active ? "tab-link active" : "tab-link"}
            aria-current={tab.route.name === active ? "page" : undefined}
            data-nav={tab.route.name}
          >
            <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
              <path d={ICONS[tab.route.name]} fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
            </svg>
            <span>{t[tab.label] as string}</span>
          </a>
        ))}
      </nav>
      <main class="content">
        <RefusedBanner />
        {route.name === "queue" && <QueueScreen />}
        {route.name === "lead" && <LeadCardScreen id={route.id} key={route.id} />}
        {route.name === "new" && <NewLeadScreen />}
        {route.name === "plan" && <DayPlanScreen />}
        {route.name === "inbox" && <InboxScreen />}
        {route.name === "analytics" && <AnalyticsScreen />}
        {route.name === "settings" && <SettingsScreen onSignOut={props.onSignOut} />}
      </main>
    </div>
  );
}
