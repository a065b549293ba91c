// Phone-size screenshots of real screens on the demo team, for docs/screenshots/. Skipped in
// the normal run; `FIELDBOOK_SCREENSHOTS=1 npm run test:e2e -- screenshots` writes them.

import { resolve } from "node:path";
import { expect, leads, openLead, queue, syncState, test, tomorrowAt10, type Device } from "./fixtures";
import { startRelay } from "./relay";

const OUT = resolve(import.meta.dirname ?? ".", "../../../docs/screenshots");
const enabled = process.env.FIELDBOOK_SCREENSHOTS === "1";

test.skip(!enabled, "set FIELDBOOK_SCREENSHOTS=1 to write docs/screenshots/");
test.use({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });

async function shot({ page }: Device, name: string, fullPage = false) {
  // Let transitions and the sync indicator settle.
  await page.waitForTimeout(300);
  if (!fullPage) {
    await page.screenshot({ path: `${OUT}/${name}.png` });
    return;
  }
  // The whole screen at phone width: a viewport as tall as the page, so that the fixed tab bar
  // stays at the bottom instead of being painted over the middle.
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: 390, height: Math.max(844, height) });
  await page.waitForTimeout(200);
  await page.screenshot({ path: `${OUT}/${name}.png` });
  await page.setViewportSize({ width: 390, height: 844 });
}

test("screenshots", async ({ app }) => {
  const rep = await app.signIn("r-ioana", { lang: "en" });
  await syncState(rep.page, "online");
  const list = await queue(rep.page);
  await shot(rep, "queue");

  // A lead with a history: the first follow-up of the queue, after one more conversation.
  const item = list.locator('[data-testid="queue-item"][data-tier="follow_up"]').first();
  await item.locator("a").click();
  await expect(rep.page.getByTestId("lead-card")).toBeVisible();
  await rep.page.locator('[data-action="conversation"]').click();
  const form = rep.page.getByTestId("conversation-form");
  await form.locator('select[name="kind"]').selectOption("visit");
  await form.locator('textarea[name="notes"]').fill("Walked the roof with the owner; wants the battery quoted too");
  await form.getByTestId("save-conversation").click();
  await expect(form.getByTestId("error-next_step")).toBeVisible();
  await shot(rep, "conversation-refused");
  await form.locator('input[name="ending"][value="next_step"]').check();
  await form.locator('select[name="step-kind"]').selectOption("demo");
  await form.locator('input[name="due"]').fill(tomorrowAt10());
  await form.getByTestId("save-conversation").click();
  await expect(rep.page.getByTestId("sheet-conversation")).toBeHidden();
  await rep.page.getByTestId("toast").waitFor({ state: "hidden", timeout: 5000 }).catch(() => {});
  await shot(rep, "lead-card", true);

  const manager = await app.signIn("m-dana", { lang: "en" });
  await expect(manager.page.getByTestId("inbox-item").first()).toBeVisible({ timeout: 30_000 });
  await shot(manager, "manager-inbox");
  await manager.page.locator('[data-nav="analytics"]').click();
  await expect(manager.page.getByTestId("funnel")).toBeVisible();
  await shot(manager, "analytics", true);
  // The team currency and its exchange rates, at the top of the playbook.
  await manager.page.locator('[data-nav="settings"]').click();
  await manager.page.getByTestId("pb-currency").scrollIntoViewIfNeeded();
  await shot(manager, "settings-currency");
  // Who may hand a lead to another member.
  await manager.page.getByTestId("pb-reassignment").scrollIntoViewIfNeeded();
  await shot(manager, "settings-reassignment");
  const heManager = await app.signIn("m-dana", { lang: "he" });
  await heManager.page.locator('[data-nav="settings"]').click();
  await heManager.page.getByTestId("pb-currency").scrollIntoViewIfNeeded();
  await shot(heManager, "hebrew-settings-currency");

  const hebrew = await app.signIn("r-yossi");
  await expect(hebrew.page.locator("html")).toHaveAttribute("dir", "rtl");
  await syncState(hebrew.page, "online");
  const heList = await queue(hebrew.page);
  await shot(hebrew, "hebrew-queue");
  await heList.getByTestId("queue-item").first().locator("a").click();
  await expect(hebrew.page.getByTestId("lead-card")).toBeVisible();
  await shot(hebrew, "hebrew-lead-card", true);
});

test("screenshots: a refused write", async ({ app }) => {
  // A relay where each rep already owns the most leads allowed: the manager's reassignment to
  // Yossi is refused, and the banner says so (writes.spec.ts tests it).
  const relay = await startRelay({ leads: 6, serve: ["--max-documents-per-member", "3"], log: "relay-screenshots.log" });
  try {
    const manager = await app.signIn("m-dana", { lang: "en", relay });
    const { page } = manager;
    await syncState(page, "online");
    const lead = (await leads(manager, 6)).find((f) => f.owner === "r-ioana")!;
    await openLead(manager, lead.id);
    const assign = page.getByTestId("assign");
    await assign.locator('select[name="assign"]').selectOption("r-yossi");
    await assign.getByTestId("assign-button").click();
    await expect(page.getByTestId("refused-write")).toBeVisible({ timeout: 30_000 });
    await expect(page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0", { timeout: 30_000 });
    await page.evaluate(() => scrollTo(0, 0));
    await shot(manager, "refused-write");
    await page.locator('[data-nav="settings"]').click();
    await page.getByTestId("language").selectOption("he");
    await openLead(manager, lead.id);
    await page.evaluate(() => scrollTo(0, 0));
    await shot(manager, "hebrew-refused-write");
  } finally {
    await relay.stop();
  }
});
