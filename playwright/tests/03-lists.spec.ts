// Manual §6 «Создание нового списка», §7 «Изменение названия списка», §8 «Удаление списка»,
// fig. 22 (the list page) and the Excel export.
import { test, expect, Page } from "@playwright/test";
import * as fs from "fs";
import { signIn, addApplicant, freshIin, fio } from "./steps";

async function createList(page: Page, note: string) {
  await page.getByRole("link", { name: "Списки" }).click();
  await page.getByRole("link", { name: "Создать новый список" }).click();
  await page.getByLabel("Текст примечания").fill(note);
  await page.getByRole("button", { name: "Сохранить" }).click();
}

function listRow(page: Page, note: string) {
  return page.getByRole("row").filter({ hasText: note });
}

test.describe("6–8. Списки", () => {
  test("§6: a new list takes the new applicants; with none left the manual's message shows", async ({ page }) => {
    await signIn(page);
    const a = { iin: freshIin(), last: "Списочная", first: "Айгерим", middle: "Маратовна" };
    await addApplicant(page, a);
    await createList(page, "Пример_1-1");
    await expect(page.getByText("Новый список успешно сформирован.")).toBeVisible();
    const row = listRow(page, "Пример_1-1");
    await expect(row).toHaveCount(1);
    await expect(row.getByRole("cell", { name: "не отправлен" })).toBeVisible();
    // The columns of fig. 19.
    for (const col of ["#", "Регион", "Дата создания списка", "Дата изменения статуса", "Статус списка", "Участников", "Текст примечания", "Действия"]) {
      await expect(page.getByRole("columnheader", { name: col, exact: true })).toBeVisible();
    }
    // Dates as dd.mm.yyyy hh:mm:ss.
    await expect(row.getByRole("cell").nth(2)).toHaveText(/^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}:\d{2}$/);
    // Nothing new is left now.
    await createList(page, "пустой");
    await expect(page.getByText("Нет претендентов для формирования нового списка")).toBeVisible();
    await page.getByRole("link", { name: "Списки" }).click();
    await expect(listRow(page, "пустой")).toHaveCount(0);
  });

  test("§6: «Создать новый список» is on the applicants tab too", async ({ page }) => {
    await signIn(page);
    await expect(page.getByRole("link", { name: "Создать новый список" })).toBeVisible();
  });

  test("§7–8: rename in place, then delete with confirmation; the applicants become new again", async ({ page }) => {
    await signIn(page);
    const a = { iin: freshIin("male"), last: "Переименов", first: "Ерлан" };
    await addApplicant(page, a);
    await createList(page, "черновик");
    const row = listRow(page, "черновик");
    await row.getByRole("button", { name: "Действия" }).click();
    await row.getByRole("menuitem", { name: "Изменить название" }).click();
    const dialog = page.getByRole("dialog");
    await expect(dialog.getByLabel("Текст примечания")).toHaveValue("черновик");
    await dialog.getByLabel("Текст примечания").fill("Пример_1-2");
    await dialog.getByRole("button", { name: "Сохранить" }).click();
    await expect(page.getByText("Список успешно изменен.")).toBeVisible();
    await expect(listRow(page, "Пример_1-2")).toHaveCount(1);
    await expect(listRow(page, "черновик")).toHaveCount(0);

    const renamed = listRow(page, "Пример_1-2");
    await renamed.getByRole("button", { name: "Действия" }).click();
    await renamed.getByRole("menuitem", { name: "Удалить" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Да, удалить" }).click();
    await expect(page.getByText("Список был удален")).toBeVisible();
    await expect(listRow(page, "Пример_1-2")).toHaveCount(0);
    // The applicant is new again: the next list picks it up.
    await createList(page, "повторный");
    await expect(page.getByText("Новый список успешно сформирован.")).toBeVisible();
    const again = listRow(page, "повторный");
    await again.getByRole("button", { name: "Действия" }).click();
    await again.getByRole("menuitem", { name: "Просмотреть" }).click();
    await expect(page.getByRole("row").filter({ hasText: fio(a) })).toHaveCount(1);
  });

  test("fig. 22: the list page and its Excel export", async ({ page }) => {
    await signIn(page);
    const a = { iin: freshIin(), last: "Экспортова", first: "Дана", middle: "Сериковна", street: "Момышулы", house: "26", flat: "36" };
    await addApplicant(page, a);
    await createList(page, "для экспорта");
    const row = listRow(page, "для экспорта");
    await row.getByRole("button", { name: "Действия" }).click();
    await row.getByRole("menuitem", { name: "Просмотреть" }).click();
    for (const col of ["#", "ФИО", "ИИН", "Дата рождения", "Регион места жительства", "Адрес", "Статус", "Действия"]) {
      await expect(page.getByRole("columnheader", { name: col, exact: true })).toBeVisible();
    }
    const member = page.getByRole("row").filter({ hasText: fio(a) });
    await expect(member).toContainText(a.iin);
    await expect(member).toContainText("Момышулы, 26, 36");
    await expect(member.getByRole("img", { name: "Не проверен" })).toBeVisible();
    // «Подписать ЭЦП и отправить на проверку» opens the key dialog (fig. 23–24); «Отмена» closes it.
    await page.getByRole("link", { name: "Подписать ЭЦП и отправить на проверку" }).click();
    await expect(page.getByRole("dialog").getByLabel("Ключ ЭЦП (файл с префиксом AUTH)")).toBeVisible();
    await page.getByRole("dialog").getByRole("link", { name: "Отмена" }).click();
    await expect(page.getByRole("dialog")).toHaveCount(0);

    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Экспорт в Excel" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^(list|Список)[-_]\d+[-_].*\.xlsx$/);
    const file = await download.path();
    const bytes = fs.readFileSync(file!);
    expect(bytes.length).toBeGreaterThan(1000);
    expect(bytes.subarray(0, 2).toString()).toBe("PK");
  });

  test("office staff see lists but cannot form or change them", async ({ page }) => {
    await signIn(page, "office");
    await page.getByRole("link", { name: "Списки" }).click();
    await expect(page.getByRole("link", { name: "Создать новый список" })).toHaveCount(0);
    const first = page.getByRole("row").nth(1);
    await first.getByRole("button", { name: "Действия" }).click();
    await expect(first.getByRole("menuitem", { name: "Просмотреть" })).toBeVisible();
    await expect(first.getByRole("menuitem", { name: "Удалить" })).toHaveCount(0);
    // A forged request with a valid CSRF token is still refused by the server.
    const token = await page.locator("input[name=csrf_token]").first().inputValue();
    const forged = await page.request.post("/cabinet/lists/new", { form: { note: "x", csrf_token: token } });
    expect(forged.status()).toBe(403);
    expect(await forged.text()).toContain("только сотрудник мобильной группы");
  });
});
