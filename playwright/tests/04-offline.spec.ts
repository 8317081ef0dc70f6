// Offline field work: the installable app, the queue of entries made without a network,
// replay exactly once, refused entries kept for correction, and a shared tablet.
import { test, expect, Page, BrowserContext } from "@playwright/test";
import * as fs from "fs";
import * as path from "path";
import { signIn, signOut, freshIin, birthOf, chooseCity, uniqueSurname } from "./steps";

const SAVED = "Сохранено на устройстве, будет отправлено при подключении";

/** Waits until the service worker controls the page and has cached the add form and picker. */
async function readyForOffline(page: Page) {
  await page.goto("/cabinet/applicants");
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  if (!(await page.evaluate(() => !!navigator.serviceWorker.controller))) {
    await page.reload();
  }
  await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);
  // Visit what the field needs once while online, as a tablet does before leaving the office.
  await page.getByRole("link", { name: "Добавить претендента" }).click();
  await expect(page.locator("#applicant-form")).toBeVisible();
  await page.locator("#applicant-form").getByRole("button", { name: "Выбрать" }).click();
  const dialog = page.getByRole("dialog", { name: "Выбор города/района" });
  await dialog.getByRole("button", { name: "Район: г.Астана" }).click();
  await expect(dialog.getByRole("button", { name: "район Сарыарка", exact: true })).toBeVisible();
  await dialog.getByRole("button", { name: "Закрыть" }).click();
}

async function fillForm(page: Page, iin: string, last: string) {
  const form = page.locator("#applicant-form");
  await form.getByLabel("ИИН *").fill(iin);
  await form.getByLabel("Фамилия").fill(last);
  await form.getByLabel("Имя *").fill("Полевая");
  await expect(form.getByLabel("Дата рождения *")).toHaveValue(birthOf(iin));
  await chooseCity(page, "район Сарыарка");
  await form.getByLabel("Название улицы *").fill("Аульная");
  await form.getByLabel("Номер дома *").fill("5");
  await form.getByLabel("Категория претендента *").selectOption({ label: "Выпускник 9 класса" });
  await form.getByLabel("Категория занятости *").selectOption({ label: "Безработное население" });
}

async function badgeCount(page: Page) {
  // One look that never waits: the badge hides the moment a replay ends, and a visibility
  // check followed by a read of the text would then wait for a link that is gone (until the
  // poll's timeout: 45 s).
  const texts = await page.getByRole("link", { name: /Ожидают отправки/ }).allTextContents();
  return texts.length ? Number(texts[0].replace(/\D+/g, "")) : 0;
}

async function countOnServer(page: Page, last: string) {
  const resp = await page.request.get(`/cabinet/applicants?fio=${encodeURIComponent(last)}`);
  const html = await resp.text();
  return Number(/data-testid="total">(\d+)</.exec(html)![1]);
}

test.describe("Работа без сети", () => {
  test("the app is installable: manifest and a service worker at the root", async ({ page }) => {
    const m = await (await page.request.get("/static/manifest.webmanifest")).json();
    expect(m.name).toContain("Талапкер");
    expect(m.display).toBe("standalone");
    expect(m.start_url).toBe("/cabinet/applicants");
    const sw = await page.request.get("/sw.js");
    expect(sw.headers()["content-type"]).toContain("javascript");
  });

  test("five entries offline survive a reload and reach the server once", async ({ page, context }) => {
    await signIn(page);
    await readyForOffline(page);
    const last = uniqueSurname("Офлайнова");
    await context.setOffline(true);
    for (let i = 0; i < 5; i++) {
      await fillForm(page, freshIin(), last);
      await page.locator("#applicant-form").getByRole("button", { name: "Сохранить" }).click();
      await expect(page.getByText(SAVED)).toBeVisible();
      await expect(page.locator("#applicant-form").getByLabel("ИИН *")).toHaveValue("");
    }
    await expect.poll(() => badgeCount(page)).toBe(5);
    // Reloaded without a network: the cached page, the banner and the same five entries.
    await page.reload();
    await expect(page.getByRole("status").filter({ hasText: "Нет подключения" })).toBeVisible();
    await expect.poll(() => badgeCount(page)).toBe(5);
    const queued = await page.evaluate(() => (window as any).TalapkerStorage.list(document.body.dataset.user));
    expect(queued).toHaveLength(5);

    await context.setOffline(false);
    await expect.poll(() => badgeCount(page), { timeout: 45_000 }).toBe(0);
    expect(await countOnServer(page, last)).toBe(5);

    // A forced second replay of the same entries creates nothing new.
    await page.evaluate(async (entries) => {
      const S = (window as any).TalapkerStorage;
      for (const e of entries) await S.put(e);
      await (window as any).TalapkerReplay();
    }, queued);
    await expect.poll(() => badgeCount(page)).toBe(0);
    expect(await countOnServer(page, last)).toBe(5);
  });

  test("an entry the server refuses is kept as «Требует исправления», fixed and sent", async ({ page, context }) => {
    await signIn(page);
    await readyForOffline(page);
    // Someone registered this IIN already.
    const taken = freshIin();
    await fillForm(page, taken, "Первичная");
    await page.locator("#applicant-form").getByRole("button", { name: "Сохранить" }).click();
    await expect(page.getByText("Новый претендент успешно добавлен!")).toBeVisible();

    await page.getByRole("link", { name: "Добавить претендента" }).click();
    await context.setOffline(true);
    await fillForm(page, taken, "Повторная");
    await page.locator("#applicant-form").getByRole("button", { name: "Сохранить" }).click();
    await expect(page.getByText(SAVED)).toBeVisible();
    await context.setOffline(false);
    // Back online: refused, kept, and shown with the server's message.
    await expect(page.getByRole("link", { name: /Ожидают отправки/ })).toBeVisible();
    await page.getByRole("link", { name: /Ожидают отправки/ }).click();
    const row = page.getByRole("row").filter({ hasText: "Повторная" });
    await expect(row).toContainText("Требует исправления");
    await expect(row).toContainText("Претендент с таким ИИН уже зарегистрирован");
    await row.getByRole("link", { name: "Открыть" }).click();
    const form = page.locator("#applicant-form");
    await expect(form.getByLabel("ИИН *")).toHaveValue(taken);
    await form.getByLabel("ИИН *").fill(freshIin());
    await form.getByRole("button", { name: "Сохранить" }).click();
    await expect(page.getByText("Новый претендент успешно добавлен!")).toBeVisible();
    await expect.poll(() => badgeCount(page), { timeout: 45_000 }).toBe(0);
    expect(await countOnServer(page, "Повторная")).toBeGreaterThanOrEqual(1);
  });

  test("two accounts on one tablet never see or send each other's entries", async ({ page, context }) => {
    await signIn(page, "mg_admin");
    await readyForOffline(page);
    const last = uniqueSurname("Чужая");
    await context.setOffline(true);
    await fillForm(page, freshIin(), last);
    await page.locator("#applicant-form").getByRole("button", { name: "Сохранить" }).click();
    await expect(page.getByText(SAVED)).toBeVisible();
    // The server stays out of reach for the queue while the accounts change.
    await page.route("**/cabinet/sync/**", (r) => r.abort());
    await context.setOffline(false);
    page.once("dialog", (d) => {
      expect(d.message()).toContain("ожидающие отправки");
      d.accept();
    });
    await signOut(page);

    await signIn(page, "mg_field");
    await expect.poll(() => badgeCount(page)).toBe(0);
    await page.goto("/cabinet/pending");
    await expect(page.getByText("Нет записей, ожидающих отправки")).toBeVisible();
    await expect(page.getByRole("row").filter({ hasText: last })).toHaveCount(0);
    await signOut(page);

    await page.unroute("**/cabinet/sync/**");
    await signIn(page, "mg_admin");
    await expect.poll(() => badgeCount(page), { timeout: 45_000 }).toBe(0);
    expect(await countOnServer(page, last)).toBe(1);
  });

  test("offline, the form's IIN check agrees with the server's shared vectors", async ({ page, context }) => {
    const vectors = JSON.parse(
      fs.readFileSync(path.join(__dirname, "..", "..", "public", "js", "iin-vectors.json"), "utf8"),
    ).cases as { iin: string; error: string | null }[];
    await signIn(page);
    await readyForOffline(page);
    await context.setOffline(true);
    await page.reload();
    const got = await page.evaluate(
      (cases) => cases.map((c) => { const r = (window as any).TalapkerIin.parse(c.iin); return r.ok ? null : r.error; }),
      vectors,
    );
    expect(got).toEqual(vectors.map((v) => v.error));
    await context.setOffline(false);
  });
});
