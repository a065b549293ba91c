// The web app over https:// from the relay's built-in TLS (the second relay of
// global-setup.ts, with a certificate generated for 127.0.0.1), syncing over wss://.
//
// Chromium trusts that certificate through `--ignore-certificate-errors-spki-list=<SHA-256 of
// its public key>`: errors are ignored for that one key only, and the page is a secure
// context with no certificate error, so the service worker registers as it would with a
// certificate from a public CA. (Playwright's `ignoreHTTPSErrors` would instead accept any
// certificate, and Chromium refuses service workers on pages with certificate errors.) The flag
// is a launch flag, so this test launches its own Chromium.

import { chromium } from "@playwright/test";
import { CHROMIUM, CHROMIUM_ARGS } from "../../playwright.config";
import { App, expect, queue, syncState, test } from "./fixtures";

function tlsRelay(): { url: string; tokens: Record<string, string>; spki: string } {
  const url = process.env.FIELDBOOK_TLS_URL;
  const spki = process.env.FIELDBOOK_TLS_SPKI;
  if (!url || !spki) throw new Error("FIELDBOOK_TLS_URL is not set: the global setup did not run");
  return { url, spki, tokens: JSON.parse(process.env.FIELDBOOK_TLS_TOKENS ?? "{}") as Record<string, string> };
}

test("over https and wss: a rep's refusal reaches the manager's inbox", async () => {
  const { url, tokens, spki } = tlsRelay();
  expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${spki}`],
  });
  const app = new App(browser);
  try {
    const rep = await app.device({ lang: "en" });
    const sockets: string[] = [];
    rep.page.on("websocket", (ws) => sockets.push(ws.url()));
    await rep.page.goto(`${url}/#token=${tokens["r-ioana"]}`);
    await syncState(rep.page, "online");
    expect(await rep.page.evaluate(() => window.isSecureContext && location.protocol)).toBe("https:");
    expect(sockets.length).toBeGreaterThan(0);
    for (const socket of sockets) expect(socket).toMatch(/^wss:\/\/127\.0\.0\.1:\d+\/sync\?/);
    // A secure context without certificate errors: the service worker takes over.
    await rep.page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });

    const list = await queue(rep.page);
    const item = list.getByTestId("queue-item").first();
    const id = await item.getAttribute("data-lead");
    await list.locator(`[data-testid="queue-item"][data-lead="${id}"] a`).click();
    await expect(rep.page.getByTestId("lead-card")).toHaveAttribute("data-lead", id!);
    await rep.page.locator('[data-action="refusal"]').click();
    const form = rep.page.getByTestId("refusal-form");
    await form.locator('select[name="reason"]').selectOption("price");
    await form.locator('input[name="products"]').first().check();
    await form.locator('input[name="budget"]').fill("12000");
    await form.getByRole("button", { name: "Save" }).click();
    await expect(rep.page.getByTestId("sheet-refusal")).toBeHidden();
    await expect(rep.page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0", { timeout: 30_000 });

    const manager = await app.device({ lang: "en" });
    await manager.page.goto(`${url}/#token=${tokens["m-dana"]}`);
    const review = manager.page.locator(`[data-testid="inbox-item"][data-kind="refusal_review"][data-lead="${id}"]`);
    await expect(review).toBeVisible({ timeout: 30_000 });
  } finally {
    await app.close();
    await browser.close();
  }
  expect(app.errors, "no console errors or page errors").toEqual([]);
});
