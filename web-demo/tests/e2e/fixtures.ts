// The `app` fixture: opens pages signed in as a demo member (each in its own browser context,
// so its own IndexedDB: its own device), and fails the test on any console error or uncaught
// page error in any of them.

import { expect, test as base, type Browser, type BrowserContext, type Page } from "@playwright/test";

export type MemberId = "a-admin" | "m-dana" | "r-yossi" | "r-ioana";

export function relayUrl(): string {
  const url = process.env.FIELDBOOK_URL;
  if (!url) throw new Error("FIELDBOOK_URL is not set: the global setup did not run");
  return url;
}

export function token(member: MemberId): string {
  const tokens = JSON.parse(process.env.FIELDBOOK_TOKENS ?? "{}") as Record<string, string>;
  const t = tokens[member];
  if (!t) throw new Error(`no token for ${member}`);
  return t;
}

export interface Device {
  context: BrowserContext;
  page: Page;
  /**
   * `context.setOffline`, remembered: while a device is offline on purpose, Chromium's own
   * reports that the network is down (`net::ERR_INTERNET_DISCONNECTED`, e.g. for the engine's
   * reconnect attempts with backoff) are expected and do not fail the test; every other console
   * error still does.
   */
  setOffline(offline: boolean): Promise<void>;
}

export class App {
  readonly errors: string[] = [];
  /** Network-down reports while a device was offline on purpose (not failures). */
  readonly expectedOffline: string[] = [];
  private readonly contexts: BrowserContext[] = [];
  private readonly offline = new WeakSet<BrowserContext>();

  constructor(private readonly browser: Browser) {}

  /** A new device (browser context) with nobody signed in yet. */
  async device(opts: { lang?: "en" | "he" } = {}): Promise<Device> {
    const context = await this.browser.newContext();
    this.contexts.push(context);
    if (opts.lang) {
      const lang = opts.lang;
      await context.addInitScript((l) => {
        if (!localStorage.getItem("fieldbook.lang")) localStorage.setItem("fieldbook.lang", l);
      }, lang);
    }
    const page = await context.newPage();
    this.watch(page);
    context.on("page", (p) => this.watch(p));
    return {
      context,
      page,
      setOffline: async (offline: boolean) => {
        if (offline) this.offline.add(context);
        await context.setOffline(offline);
        if (!offline) this.offline.delete(context);
      },
    };
  }

  /**
   * A device signed in as `member` through their login link, on their first screen; on the
   * suite's relay, or on `opts.relay` (one a test started, see relay.ts).
   */
  async signIn(
    member: MemberId,
    opts: { lang?: "en" | "he"; relay?: { url: string; tokens: Record<string, string> } } = {},
  ): Promise<Device> {
    const device = await this.device(opts);
    const url = opts.relay?.url ?? relayUrl();
    const login = opts.relay ? opts.relay.tokens[member] : token(member);
    await device.page.goto(`${url}/#token=${login}`);
    await expect(device.page.getByTestId("sync")).toBeVisible();
    return device;
  }

  private watch(page: Page): void {
    page.on("console", (msg) => {
      if (msg.type() !== "error") return;
      const text = `console.error on ${page.url()}: ${msg.text()}`;
      if (this.offline.has(page.context()) && msg.text().includes("net::ERR_INTERNET_DISCONNECTED")) {
        this.expectedOffline.push(text);
      } else {
        this.errors.push(text);
      }
    });
    page.on("pageerror", (err) => this.errors.push(`page error on ${page.url()}: ${err.message}`));
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close();
  }
}

export const test = base.extend<{ app: App }>({
  app: async ({ browser }, use) => {
    const app = new App(browser);
    await use(app);
    await app.close();
    expect(app.errors, "no console errors or page errors").toEqual([]);
  },
});

export { expect };

/** Waits until the first sync filled the call queue, and returns it. */
export async function queue(page: Page) {
  const list = page.getByTestId("queue");
  await expect(list).toBeVisible({ timeout: 30_000 });
  await expect.poll(async () => Number(await list.getAttribute("data-count")), { timeout: 30_000 }).toBeGreaterThan(0);
  return list;
}

/** Waits until the sync indicator says `state`. */
export async function syncState(page: Page, state: "online" | "offline" | "syncing" | "connecting", timeout = 30_000) {
  await expect(page.getByTestId("sync")).toHaveAttribute("data-state", state, { timeout });
}

/** Tomorrow at 10:00 as a datetime-local value (the browser's calendar; the app reads it in the member's zone). */
export function tomorrowAt10(): string {
  const d = new Date(Date.now() + 36 * 3600_000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T10:00`;
}

/**
 * The device's leads as its engine holds them (`window.__fieldbook`), once the first sync
 * brought `n` of them.
 */
export async function leads({ page }: Device, n: number): Promise<{ id: string; owner: string; company: string }[]> {
  const read = () =>
    page.evaluate(() =>
      (window as unknown as { __fieldbook: { engine: { facts(): { id: string; owner: string; company: string }[] } } }).__fieldbook.engine
        .facts()
        .map((f) => ({ id: f.id, owner: f.owner, company: f.company })),
    );
  await expect.poll(async () => (await read()).length, { timeout: 30_000 }).toBe(n);
  return read();
}

/** Opens a lead's card by its route. */
export async function openLead({ page }: Device, id: string) {
  await page.evaluate((lead) => (location.hash = `#/lead/${encodeURIComponent(lead)}`), id);
  await expect(page.getByTestId("lead-card")).toHaveAttribute("data-lead", id);
}
