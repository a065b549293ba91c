// What a rep and a manager do in the browser, against the real relay (see global-setup.ts).
// The tests run in order (workers: 1) on one demo team; each picks its own leads.

import { expect, queue, relayUrl, syncState, test, tomorrowAt10, type Device } from "./fixtures";

/** Opens the queue item at `index` and returns the lead's id. */
async function openQueueItem({ page }: Device, index = 0): Promise<string> {
  const list = await queue(page);
  const item = list.getByTestId("queue-item").nth(index);
  const id = await item.getAttribute("data-lead");
  expect(id).toBeTruthy();
  // By its id: the queue may still be reordering while the first sync fills it.
  await list.locator(`[data-testid="queue-item"][data-lead="${id}"] a`).click();
  await expect(page.getByTestId("lead-card")).toHaveAttribute("data-lead", id!);
  return id!;
}

function timeline({ page }: Device) {
  return page.getByTestId("timeline");
}

async function logAttempt({ page }: Device, outcome: string) {
  await page.locator('[data-action="attempt"]').click();
  const sheet = page.getByTestId("sheet-attempt");
  await expect(sheet).toBeVisible();
  await sheet.locator(`[data-outcome="${outcome}"]`).click();
  await expect(sheet).toBeHidden();
}

test.describe.configure({ mode: "serial" });

test("without a session the app explains how to get a sign-in link", async ({ app }) => {
  const { page } = await app.device({ lang: "en" });
  await page.goto(relayUrl());
  const login = page.getByTestId("login");
  await expect(login).toBeVisible();
  await expect(login).toContainText("How to get a link");
  await expect(login).toContainText("fieldbook token issue");
  await login.locator('input[name="token"]').fill("not-a-token");
  await login.getByRole("button", { name: "Open" }).click();
  await expect(login.getByRole("alert")).toContainText("not valid");
});

test("a rep logs an attempt and a conversation; the core refuses a conversation without a next step", async ({ app }) => {
  const rep = await app.signIn("r-ioana", { lang: "en" });
  const { page } = rep;
  await syncState(page, "online");
  await openQueueItem(rep, 0);

  await logAttempt(rep, "no_answer");
  const first = timeline(rep).getByTestId("timeline-event").first();
  await expect(first).toHaveAttribute("data-type", "attempt");
  await expect(first).toContainText("Call: No answer");

  await page.locator('[data-action="conversation"]').click();
  const form = page.getByTestId("conversation-form");
  await form.locator('textarea[name="notes"]').fill("Talked about a 10 kW roof; wants a price for June");
  // No ending chosen: the core refuses, naming the field; the app shows it next to the choice.
  await form.getByTestId("save-conversation").click();
  const refusal = form.getByTestId("error-next_step");
  await expect(refusal).toBeVisible();
  await expect(refusal).toContainText("next step");
  await expect(form.locator('[data-field="ending"]')).toContainText(await refusal.innerText());
  await expect(timeline(rep).locator('[data-type="conversation"]')).toHaveCount(0);

  await form.locator('input[name="ending"][value="next_step"]').check();
  await form.locator('input[name="due"]').fill(tomorrowAt10());
  await form.getByTestId("save-conversation").click();
  await expect(page.getByTestId("sheet-conversation")).toBeHidden();
  await expect(timeline(rep).locator('[data-type="conversation"]')).toContainText("Call, ended with a next step");
  await expect(timeline(rep).locator('[data-type="next_step"]')).toContainText("Next step: Call");
  await expect(page.getByTestId("lead-status")).toHaveAttribute("data-role", "initial_contact");

  // Durable: a reload shows the same history.
  await page.reload();
  await expect(timeline(rep).locator('[data-type="conversation"]')).toContainText("Talked about a 10 kW roof");
  await expect(timeline(rep).locator('[data-type="attempt"]').first()).toContainText("Call: No answer");
});

test("offline work survives a reload and syncs on reconnect; the manager reviews the refusal and the rep sees it", async ({ app }) => {
  const rep = await app.signIn("r-ioana", { lang: "en" });
  const { page } = rep;
  await syncState(page, "online");
  await queue(page);
  // The app shell and the wasm are cached before going offline.
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });

  await rep.setOffline(true);
  await syncState(page, "offline");
  const id = await openQueueItem(rep, 0);
  const company = await page.getByTestId("lead-company").innerText();

  await logAttempt(rep, "reached");
  await page.locator('[data-action="refusal"]').click();
  const form = page.getByTestId("refusal-form");
  await form.locator('select[name="reason"]').selectOption("price");
  await form.locator('input[name="products"]').first().check();
  await form.locator('input[name="budget"]').fill("12000");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("sheet-refusal")).toBeHidden();
  await expect(timeline(rep).locator('[data-type="refusal"]')).toContainText("Refusal: Price too high");
  await expect(page.getByTestId("lead-flags")).toContainText("Awaiting review");
  await expect.poll(async () => Number(await page.getByTestId("sync").getAttribute("data-unsynced"))).toBeGreaterThan(0);
  await expect(page.getByTestId("unsynced")).toContainText("unsynced");

  // Reload with no network: the service worker serves the app, IndexedDB the data.
  await page.reload();
  await expect(page.getByTestId("lead-card")).toHaveAttribute("data-lead", id);
  await expect(timeline(rep).locator('[data-type="refusal"]')).toContainText("Refusal: Price too high");
  await expect(timeline(rep).locator('[data-type="attempt"]').first()).toContainText("Call: Reached");
  await syncState(page, "offline");
  await expect.poll(async () => Number(await page.getByTestId("sync").getAttribute("data-unsynced"))).toBeGreaterThan(0);

  // Back online: the changes reach the relay.
  await rep.setOffline(false);
  await syncState(page, "online", 60_000);
  await expect(page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0");

  // The manager, on another device, sees the refusal in the inbox and returns the lead.
  const manager = await app.signIn("m-dana", { lang: "en" });
  const inbox = manager.page.getByTestId("inbox");
  await expect(inbox).toBeVisible();
  const review = inbox.locator(`[data-testid="inbox-item"][data-kind="refusal_review"][data-lead="${id}"]`);
  await expect(review).toBeVisible({ timeout: 30_000 });
  await expect(review).toContainText(company);
  await expect(review).toContainText("Price too high");
  await review.locator('select[name="offer_change"]').selectOption("discount");
  await review.getByTestId("review-return").click();
  await expect(review).toBeHidden();

  // The rep's open lead card follows: back in the funnel, with the manager's decision.
  await expect(timeline(rep).locator('[data-type="review_decision"]')).toContainText(
    "Manager returned it to the funnel: Discount",
    { timeout: 30_000 },
  );
  await expect(page.getByTestId("lead-status")).toHaveAttribute("data-role", "in_process");
  await expect(page.locator('[data-flag="awaiting_review"]')).toHaveCount(0);
});

test("a manager validates a refusal; the rep sees the lead stay Not interested", async ({ app }) => {
  const rep = await app.signIn("r-ioana", { lang: "en" });
  await syncState(rep.page, "online");
  const id = await openQueueItem(rep, 0);
  await rep.page.locator('[data-action="refusal"]').click();
  const form = rep.page.getByTestId("refusal-form");
  // Without a budget the core refuses and names the field.
  await form.locator('select[name="reason"]').selectOption("budget");
  await form.locator('input[name="products"]').first().check();
  await form.getByRole("button", { name: "Save" }).click();
  await expect(form.getByTestId("error-budget")).toBeVisible();
  await form.locator('input[name="budget"]').fill("3000");
  await form.getByRole("button", { name: "Save" }).click();
  await expect(rep.page.getByTestId("sheet-refusal")).toBeHidden();
  await expect(rep.page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0", { timeout: 30_000 });

  const manager = await app.signIn("m-dana", { lang: "en" });
  const review = manager.page.locator(`[data-testid="inbox-item"][data-kind="refusal_review"][data-lead="${id}"]`);
  await expect(review).toBeVisible({ timeout: 30_000 });
  await review.getByTestId("review-validate").click();
  await expect(review).toBeHidden();

  await expect(rep.page.getByTestId("timeline").locator('[data-type="review_decision"]')).toContainText(
    "Manager validated the refusal",
    { timeout: 30_000 },
  );
  await expect(rep.page.getByTestId("lead-status")).toHaveAttribute("data-role", "lost");
});

test("Hebrew renders right to left", async ({ app }, testInfo) => {
  // Yossi's locale is he-IL: Hebrew by default, no picking needed.
  const rep = await app.signIn("r-yossi");
  const { page } = rep;
  await expect(page.locator("html")).toHaveAttribute("dir", "rtl");
  await expect(page.locator("html")).toHaveAttribute("lang", "he");
  const list = await queue(page);
  await expect(page.locator("h1")).toHaveText("השיחות של היום");
  await expect(page.locator('[data-nav="queue"]')).toContainText("היום");
  // Mirrored for real: the brand sits at the right edge, the sync indicator left of it, and the
  // queue's position numbers start at the right of each row.
  const brand = (await page.locator(".brand").boundingBox())!;
  const sync = (await page.getByTestId("sync").boundingBox())!;
  expect(brand.x).toBeGreaterThan(sync.x);
  const row = (await list.getByTestId("queue-item").first().boundingBox())!;
  const pos = (await list.locator(".queue-pos").first().boundingBox())!;
  expect(pos.x + pos.width).toBeGreaterThan(row.x + row.width - 40);
  expect(await page.locator(".chevron").first().evaluate((el) => getComputedStyle(el).transform)).not.toBe("none");
  // Dates in the member's locale: Hebrew month names.
  await expect(list.getByTestId("queue-item").first()).toContainText(/[א-ת]/);
  const shot = testInfo.outputPath("hebrew-queue.png");
  await page.screenshot({ path: shot });
  await testInfo.attach("hebrew-queue", { path: shot, contentType: "image/png" });

  // The language picker is kept on this device.
  await page.locator('[data-nav="settings"]').click();
  await page.getByTestId("language").selectOption("en");
  await expect(page.locator("html")).toHaveAttribute("dir", "ltr");
  await page.reload();
  await expect(page.locator("html")).toHaveAttribute("dir", "ltr");
  await expect(page.getByTestId("playbook")).toContainText("read-only");
});

test("in Hebrew the core's refusal reads in Hebrew, from its code (a conversation without notes)", async ({ app }) => {
  const rep = await app.signIn("r-yossi");
  const { page } = rep;
  await expect(page.locator("html")).toHaveAttribute("lang", "he");
  await openQueueItem(rep, 0);
  await page.locator('[data-action="conversation"]').click();
  const form = page.getByTestId("conversation-form");
  await form.getByTestId("save-conversation").click();
  const refusal = form.getByTestId("error-notes");
  await expect(refusal).toHaveAttribute("data-code", "notes_missing");
  await expect(refusal).toHaveText("יש לתעד מה נאמר ומה הלקוח צריך: שיחה ללא הערות לא נשמרת");
  await expect(form).not.toContainText("document what was said");
  // Nothing was written.
  await expect(page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0");
});

test("a rep creates a lead (the core names a missing company) and plans a visit on the day plan", async ({ app }) => {
  const rep = await app.signIn("r-ioana", { lang: "en" });
  const { page } = rep;
  await queue(page);
  await page.getByTestId("new-lead").click();
  const form = page.getByTestId("new-lead-form");
  await form.getByTestId("create-lead").click();
  await expect(form.getByTestId("error-company")).toContainText("company or a contact person");

  await form.locator('input[name="company"]').fill("Sibiu Test Bakery");
  await form.locator('input[name="contact"]').fill("Ana Stan");
  await form.locator('input[name="phone"]').fill("+40-721-555-999");
  await form.locator('input[name="products"]').first().check();
  await form.locator('input[name="deal_size"]').fill("45000");
  await form.getByTestId("create-lead").click();
  const card = page.getByTestId("lead-card");
  await expect(card).toBeVisible();
  await expect(page.getByTestId("lead-company")).toHaveText("Sibiu Test Bakery");
  await expect(page.getByTestId("lead-status")).toHaveAttribute("data-role", "new");
  await expect(page.locator('[data-flag="respond_now"]')).toBeVisible();
  await expect(page.getByTestId("lead-deal")).toContainText("45.000,00 RON");

  // A visit tomorrow shows on tomorrow's day plan.
  await page.locator('[data-action="next_step"]').click();
  const step = page.getByTestId("next-step-form");
  await step.locator('select[name="step-kind"]').selectOption("visit");
  const due = tomorrowAt10();
  await step.locator('input[name="due"]').fill(due);
  await step.locator('input[name="duration"]').fill("45");
  await step.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("sheet-next_step")).toBeHidden();

  await page.locator('[data-nav="plan"]').click();
  const plan = page.getByTestId("day-plan");
  await plan.locator('input[type="date"]').fill(due.slice(0, 10));
  await expect(plan.locator(".visit", { hasText: "Sibiu Test Bakery" })).toContainText("45 min");

  // And the new lead tops today's queue as a new lead.
  await page.locator('[data-nav="queue"]').click();
  await expect(page.locator('[data-testid="queue-item"][data-tier="new_lead"]', { hasText: "Sibiu Test Bakery" })).toBeVisible();
});

test("the manager's analytics render the core's refusal matrix, funnel, speed to lead and tiers", async ({ app }) => {
  const manager = await app.signIn("m-dana", { lang: "en" });
  const { page } = manager;
  await syncState(page, "online");
  await page.locator('[data-nav="analytics"]').click();
  const analytics = page.getByTestId("analytics");
  await expect(analytics.getByTestId("funnel").locator(".bar-row")).toHaveCount(7);
  await expect(analytics.getByTestId("funnel")).toContainText(/\d+ leads/);
  await analytics.getByRole("tab", { name: "All time" }).click();
  await expect(analytics.getByTestId("refusal-matrix")).toBeVisible();
  await expect(analytics.getByTestId("speed")).toContainText("Median to first attempt");
  await expect(analytics.getByTestId("tiers")).toContainText("Customer tiers");
});

test("a manager changes the playbook (the core refuses 0 attempts at that field); a rep sees it read-only after sync", async ({ app }) => {
  const manager = await app.signIn("m-dana", { lang: "en" });
  const { page } = manager;
  await syncState(page, "online");
  await page.locator('[data-nav="settings"]').click();
  const card = page.getByTestId("playbook");
  await expect(card).toHaveAttribute("data-editable", "true");
  await expect(card.getByTestId("playbook-readonly")).toHaveCount(0);
  const form = card.getByTestId("playbook-form");
  const max = form.locator('input[name="playbook.cadence.max_attempts"]');
  await expect(max).toBeEditable();
  const before = Number(await max.inputValue());
  expect(before).toBeGreaterThan(0);
  const next = String(before + 3);

  await max.fill(next);
  await form.getByTestId("save-playbook").click();
  await expect(form.getByTestId("playbook-saved")).toBeVisible();
  await expect(max).toHaveValue(next);
  await expect(page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0", { timeout: 30_000 });

  // 0 attempts: the core refuses and names the field; the app shows its message there.
  await max.fill("0");
  await form.getByTestId("save-playbook").click();
  const refusal = form.getByTestId("error-playbook.cadence.max_attempts");
  await expect(refusal).toContainText("at least 1");
  await expect(refusal).toHaveAttribute("data-field", "playbook.cadence.max_attempts");
  const field = form.locator('.field[data-field="playbook.cadence.max_attempts"]');
  await expect(field).toContainText("at least 1");
  await expect(field).toHaveClass(/field-invalid/);
  await expect(field.locator("input")).toHaveValue("0");
  await expect(form.getByTestId("form-error")).toHaveCount(0);
  await expect(form.getByTestId("playbook-saved")).toHaveCount(0);
  // Nothing was written: nothing to sync, and the stored playbook still has the saved value.
  await expect(page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0");
  await page.reload();
  await expect(page.getByTestId("playbook-form").locator('input[name="playbook.cadence.max_attempts"]')).toHaveValue(next);
  await expect(page.getByTestId("playbook-form").getByRole("alert")).toHaveCount(0);

  // A rep: the same playbook, read-only, with the notice; the manager's value after sync.
  const rep = await app.signIn("r-yossi", { lang: "en" });
  await syncState(rep.page, "online");
  await rep.page.locator('[data-nav="settings"]').click();
  const repCard = rep.page.getByTestId("playbook");
  await expect(repCard).toHaveAttribute("data-editable", "false");
  await expect(repCard.getByTestId("playbook-readonly")).toContainText("read-only");
  const repMax = repCard.locator('input[name="playbook.cadence.max_attempts"]');
  await expect(repMax).toHaveValue(next, { timeout: 30_000 });
  await expect(repMax).toBeDisabled();
  await expect(repCard.locator('input[name="playbook.day_plan.buffer_minutes"]')).toBeDisabled();
  await expect(repCard.getByTestId("save-playbook")).toHaveCount(0);
});

test("the team currency: amounts without an exchange rate are reported in settings until a manager adds one (the core refuses a bad rate at its field)", async ({ app }) => {
  const { page } = await app.signIn("m-dana", { lang: "en" });
  await syncState(page, "online");
  await page.locator('[data-nav="settings"]').click();
  const form = page.getByTestId("playbook-form");
  const section = form.getByTestId("pb-currency");
  // The demo team sells in ILS and RON; the playbook converts RON to ILS.
  await expect(section.locator('input[name="playbook.currency"]')).toHaveValue("ILS");
  await expect(section.locator(".pb-rate")).toHaveCount(2);
  await expect(section.getByTestId("missing-rates")).toHaveCount(0);

  // Without the RON rates, the Romanian rep's amounts cannot be converted: reported, not mixed.
  await section.getByTestId("remove-rate-1").click();
  await section.getByTestId("remove-rate-0").click();
  await expect(section.locator(".pb-rate")).toHaveCount(0);
  await form.getByTestId("save-playbook").click();
  await expect(form.getByTestId("playbook-saved")).toBeVisible();
  const missing = section.getByTestId("missing-rates");
  await expect(missing).toBeVisible();
  await expect(missing.locator("li")).toHaveCount(1);
  await expect(missing.locator('li[data-currency="RON"]')).toContainText("RON: no rate into ILS");

  // The missing currency's button adds a row for it, dated from when a rate is needed.
  await missing.getByTestId("add-rate-RON").click();
  const row = section.getByTestId("rate-0");
  await expect(row.locator('input[name="playbook.exchange_rates[0].currency"]')).toHaveValue("RON");
  await expect(row.locator('input[name="playbook.exchange_rates[0].date"]')).toHaveValue(/^\d{4}-\d{2}-\d{2}$/);
  const rate = row.locator('input[name="playbook.exchange_rates[0].rate"]');
  await rate.fill("abc");
  await form.getByTestId("save-playbook").click();
  const field = form.locator('.field[data-field="playbook.exchange_rates[0].rate"]');
  await expect(field).toHaveClass(/field-invalid/);
  await expect(field).toContainText("is not an exchange rate");
  await expect(form.getByTestId("playbook-saved")).toHaveCount(0);

  // A decimal comma as typed on a Romanian keyboard is read as a point.
  await rate.fill("0,78");
  await expect(rate).toHaveValue("0.78");
  await form.getByTestId("save-playbook").click();
  await expect(form.getByTestId("playbook-saved")).toBeVisible();
  await expect(section.getByTestId("missing-rates")).toHaveCount(0);
  await expect(page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0", { timeout: 30_000 });

  // The refusal budgets total in the team currency with no currency left out.
  await page.locator('[data-nav="analytics"]').click();
  const analytics = page.getByTestId("analytics");
  await analytics.getByRole("tab", { name: "All time" }).click();
  await expect(analytics.getByTestId("budget-total")).toContainText("₪");
  await expect(analytics.getByTestId("budget-missing-rates")).toHaveCount(0);
  await expect(analytics.getByTestId("pareto-missing-rates")).toHaveCount(0);
});
