// Who may write what, as the core decides it, in the browser: a write the relay refuses is
// shown in a banner (in the UI's language), and the lead card and the new-lead screen offer
// exactly what the core's write model allows. On a relay of their own: a small demo team (each
// rep owns 3 leads) whose members may own 3 leads at most, and a playbook these tests change.

import { expect, leads, openLead, syncState, test } from "./fixtures";
import { startRelay, type Relay } from "./relay";

let relay: Relay;

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  relay = await startRelay({ leads: 6, serve: ["--max-documents-per-member", "3"], log: "relay-writes.log" });
});

test.afterAll(async () => {
  await relay?.stop();
});

test("a reassignment the relay refuses (the rep is full) shows a banner naming the lead and why, in English and in Hebrew", async ({ app }) => {
  const manager = await app.signIn("m-dana", { lang: "en", relay });
  const { page } = manager;
  await syncState(page, "online");
  const all = await leads(manager, 6);
  const lead = all.find((l) => l.owner === "r-ioana")!;
  await openLead(manager, lead.id);
  await expect(page.getByTestId("lead-owner")).toHaveAttribute("data-owner", "r-ioana");

  // The device lets the manager hand it to Yossi (it does not know how many leads he owns);
  // the relay refuses: Yossi already owns 3, the limit.
  const assign = page.getByTestId("assign");
  await assign.locator('select[name="assign"]').selectOption("r-yossi");
  await assign.getByTestId("assign-button").click();
  const banner = page.getByTestId("refused-write");
  await expect(banner).toHaveCount(1, { timeout: 30_000 });
  await expect(banner).toHaveAttribute("role", "alert");
  await expect(banner).toHaveAttribute("data-code", "too_many_leads");
  await expect(banner.getByTestId("refused-lead")).toHaveText(lead.company);
  await expect(banner).toContainText("Your change was not accepted");
  await expect(banner.getByTestId("refused-why")).toHaveText("Why: Yossi Cohen already owns 3 leads (limit 3)");
  // The lead is back with its owner, on the card and after the sync settles.
  await expect(page.getByTestId("lead-owner")).toHaveAttribute("data-owner", "r-ioana");
  await expect(page.getByTestId("timeline").locator('[data-type="assigned"]')).toHaveCount(0);
  await expect(page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0", { timeout: 30_000 });

  // Every screen shows it, and its link opens the lead.
  await page.locator('[data-nav="settings"]').click();
  await expect(banner).toHaveCount(1);
  // In Hebrew: the same refusal, translated from its code, right to left.
  await page.getByTestId("language").selectOption("he");
  await expect(page.locator("html")).toHaveAttribute("dir", "rtl");
  await expect(banner).toContainText("השינוי שלך לא התקבל");
  await expect(banner.getByTestId("refused-why")).toHaveText("הסיבה: Yossi Cohen כבר אחראי/ת על 3 לידים (המגבלה היא 3)");
  await expect(banner).not.toContainText("already owns");
  const box = (await banner.boundingBox())!;
  const dismiss = (await banner.getByTestId("refused-dismiss").boundingBox())!;
  expect(dismiss.x).toBeLessThan(box.x + box.width / 2);
  await banner.getByTestId("refused-lead").click();
  await expect(page.getByTestId("lead-card")).toHaveAttribute("data-lead", lead.id);

  await banner.getByTestId("refused-dismiss").click();
  await expect(banner).toHaveCount(0);
});

test("the reassign list and the new-lead owners follow the core: a rep hands a lead over only once the playbook lets owners", async ({ app }) => {
  // By default (managers and admins reassign) a rep has no reassignment, and creates leads
  // only for herself: no owner to pick.
  const rep = await app.signIn("r-ioana", { lang: "en", relay });
  await syncState(rep.page, "online");
  const mine = (await leads(rep, 3)).filter((l) => l.owner === "r-ioana");
  await openLead(rep, mine[0].id);
  await expect(rep.page.locator('[data-action="attempt"]')).toBeVisible();
  await expect(rep.page.getByTestId("assign")).toHaveCount(0);
  await expect(rep.page.locator('[data-action="override_status"]')).toHaveCount(0);
  await rep.page.evaluate(() => (location.hash = "#/new"));
  await expect(rep.page.getByTestId("new-lead-form")).toBeVisible();
  await expect(rep.page.locator('select[name="owner"]')).toHaveCount(0);

  // A manager creates leads for herself and her reps, and hands any lead to another owner.
  const manager = await app.signIn("m-dana", { lang: "en", relay });
  await syncState(manager.page, "online");
  await manager.page.evaluate(() => (location.hash = "#/new"));
  const owners = manager.page.locator('select[name="owner"] option');
  await expect(owners).toHaveCount(3);
  expect((await owners.evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).sort()).toEqual(["m-dana", "r-ioana", "r-yossi"]);

  // The admin lets owners hand their leads over (Settings, the playbook).
  const admin = await app.signIn("a-admin", { lang: "en", relay });
  await syncState(admin.page, "online");
  await admin.page.locator('[data-nav="settings"]').click();
  const form = admin.page.getByTestId("playbook-form");
  const setting = form.locator('select[name="playbook.reassignment"]');
  await expect(setting).toHaveValue("managers");
  await setting.selectOption("owners");
  await form.getByTestId("save-playbook").click();
  await expect(form.getByTestId("playbook-saved")).toBeVisible();
  await expect(admin.page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0", { timeout: 30_000 });

  // The rep's open lead card follows the team document: she may now hand it over, to the
  // members who may own leads (not herself, not the admin).
  await openLead(rep, mine[0].id);
  const assign = rep.page.getByTestId("assign");
  await expect(assign).toBeVisible({ timeout: 30_000 });
  const offered = assign.locator('select[name="assign"] option');
  expect((await offered.evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value).filter(Boolean))).sort()).toEqual(["m-dana", "r-yossi"]);
  await assign.locator('select[name="assign"]').selectOption("m-dana");
  await assign.getByTestId("assign-button").click();
  await expect(rep.page.getByTestId("timeline").locator('[data-type="assigned"]')).toContainText("Assigned to Dana Levi");
  await expect(rep.page.getByTestId("sync")).toHaveAttribute("data-unsynced", "0", { timeout: 30_000 });
  await expect(rep.page.getByTestId("refused-write")).toHaveCount(0);

  // The relay took it: the manager's device sees her new lead.
  await expect
    .poll(async () => (await leads(manager, 6)).find((l) => l.id === mine[0].id)?.owner, { timeout: 30_000 })
    .toBe("m-dana");
});
