// Manual §2–5 and §10–12: the «Данные претендентов» tab on a tablet — adding (fig. 5, 6),
// statuses (fig. 7, 8), search (fig. 9), the card (fig. 10, 11), editing (fig. 28) and
// deleting (fig. 31, 32).
import { test, expect, Page } from "@playwright/test";
import {
  addApplicant,
  birthOf,
  chooseAction,
  chooseCity,
  fillApplicantForm,
  fio,
  freshIin,
  rowOf,
  searchByIin,
  htmxSettled,
  searchLine,
  signIn,
  signOut,
  uniqueSurname,
  Applicant,
} from "./steps";

/** Marks the document, so a test can tell that no page load happened since. */
async function markDocument(page: Page) {
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
}

async function expectSameDocument(page: Page) {
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
}

/** Posts the form of fig. 5 as the browser would without scripts (token and key from the form). */
async function postApplicant(page: Page, a: Applicant) {
  await page.goto("/cabinet/applicants/new");
  const form = page.locator("#applicant-form form");
  const csrf = await form.locator('input[name="csrf_token"]').getAttribute("value");
  const key = await form.locator('input[name="idem_key"]').getAttribute("value");
  const iin = a.iin;
  const r = await page.request.post("/cabinet/applicants", {
    form: {
      csrf_token: csrf!,
      idem_key: key!,
      iin,
      last_name: a.last,
      first_name: a.first,
      middle_name: a.middle ?? "",
      birth_date: birthOf(iin),
      gender: Number(iin[6]) % 2 === 1 ? "male" : "female",
      kato: "711310000",
      street: a.street ?? "Сейфуллина",
      house: a.house ?? "37",
      flat: a.flat ?? "",
      applicant_category: "grad11",
      employment_category: "unemployed",
    },
    maxRedirects: 0,
  });
  expect(r.status()).toBe(303);
}

function applicant(over: Partial<Applicant> = {}): Applicant {
  return { iin: freshIin(), last: uniqueSurname(), first: "Айнур", middle: "Мараловна", flat: "256", ...over };
}

test.describe("2. Добавление новых претендентов", () => {
  test("the form of fig. 5: IIN fills birth date and gender, the КАТО picker, and the new row shows without a reload", async ({ page }) => {
    await signIn(page);
    // Fig. 3: the user menu's «Личный кабинет», then the tab of fig. 4.
    await page.getByRole("button", { name: /Меню пользователя/ }).click();
    await page.getByRole("menuitem", { name: "Личный кабинет" }).click();
    await page.getByRole("link", { name: "Данные претендентов" }).click();
    await markDocument(page);

    await page.getByRole("link", { name: "Добавить претендента" }).click();
    const form = page.locator("#applicant-form");
    await expect(form.getByRole("heading", { name: "ДОБАВЛЕНИЕ ПРЕТЕНДЕНТА" })).toBeVisible();
    await expect(form.getByText("Поля, помеченные * звездочкой, обязательны для заполнения")).toBeVisible();
    await htmxSettled(page);

    // A man's IIN gives «мужской», a woman's «женский», and the birth date.
    const man = freshIin("male", 1971);
    await form.getByLabel("ИИН *").fill(man);
    await expect(form.getByLabel("Дата рождения *")).toHaveValue(birthOf(man));
    await expect(form.getByLabel("Пол *")).toHaveValue("male");
    await expect(form.getByLabel("Пол *").locator("option:checked")).toHaveText("мужской");
    const a = applicant();
    await form.getByLabel("ИИН *").fill(a.iin);
    await expect(form.getByLabel("Дата рождения *")).toHaveValue(birthOf(a.iin));
    await expect(form.getByLabel("Пол *").locator("option:checked")).toHaveText("женский");

    await form.getByLabel("Фамилия").fill(a.last);
    await form.getByLabel("Имя *").fill(a.first);
    await form.getByLabel("Отчество").fill(a.middle!);

    // «Город/район проживания»: «Выбрать» opens the КАТО dictionary; «✕» clears the choice.
    await chooseCity(page, "район Сарыарка");
    await expect(form.getByLabel("Город/район проживания *")).toHaveValue("г.Астана / район Сарыарка");
    await form.getByRole("button", { name: "Очистить" }).click();
    await expect(form.getByLabel("Город/район проживания *")).toHaveValue("");
    // The picker's search box finds a district directly; another region is not offered.
    await form.getByRole("button", { name: "Выбрать" }).click();
    const dialog = page.getByRole("dialog", { name: "Выбор города/района" });
    await expect(dialog.getByRole("button", { name: "г.Астана", exact: true })).toBeVisible();
    await htmxSettled(page);
    await expect(dialog.getByText("г.Алматы")).toHaveCount(0);
    await dialog.getByLabel("Поиск по названию").fill("есиль");
    await expect(dialog.getByRole("button", { name: "район Есиль", exact: true })).toBeVisible();
    await expect(dialog.getByRole("button", { name: "район Сарыарка", exact: true })).toHaveCount(0);
    await dialog.getByRole("button", { name: "район Есиль", exact: true }).click();
    await expect(page.getByRole("dialog")).toHaveCount(0);
    await expect(form.getByLabel("Город/район проживания *")).toHaveValue("г.Астана / район Есиль");

    await form.getByLabel("Название улицы *").fill("Сейфуллина");
    await form.getByLabel("Номер дома *").fill("37");
    await form.getByLabel("Номер квартиры").fill("256");
    await form.getByLabel("Категория претендента *").selectOption({ label: "Выпускник 11 класса" });
    await form.getByLabel("Категория занятости *").selectOption({ label: "Безработное население" });
    await form.getByRole("button", { name: "Сохранить" }).click();

    // Fig. 6: the message, and the row at the top of the table — in the same document.
    await expect(page.getByRole("status")).toHaveText("Новый претендент успешно добавлен!");
    await htmxSettled(page);
    const row = rowOf(page, a.iin);
    await expect(row).toBeVisible();
    await expect(row.getByRole("cell").nth(0)).toHaveText(fio(a));
    await expect(row.getByRole("cell").nth(1)).toHaveText("район Есиль");
    await expect(row.getByRole("cell").nth(2)).toHaveText(a.iin);
    await expect(row.getByRole("img", { name: "Не проверен" })).toHaveText("○");
    await expect(page.locator("#applicant-table tbody tr").first()).toContainText(a.iin);
    await expect(page.locator("#applicant-form")).toHaveCount(0);
    await expect(page).toHaveURL(/\/cabinet\/applicants$/);
    await expectSameDocument(page);
  });

  test("a field error shows next to its field, keeps everything typed, and saving works once corrected", async ({ page }) => {
    await signIn(page);
    await markDocument(page);
    // Born in 1995, so that the 01.01.1990 typed below always disagrees with the IIN.
    const a = applicant({ iin: freshIin("female", 1995), last: "Иванов2", street: "Момышулы", house: "26" });
    const form = await fillApplicantForm(page, a);
    // The user sets a birth date that disagrees with the IIN.
    await form.getByLabel("Дата рождения *").fill("01.01.1990");
    await form.getByRole("button", { name: "Сохранить" }).click();

    const last = form.getByLabel("Фамилия");
    await expect(last).toHaveAccessibleDescription("Поле «Фамилия» может содержать только буквы, дефис, апостроф и пробел");
    await expect(last).toHaveAttribute("aria-invalid", "true");
    await expect(form.getByLabel("Дата рождения *")).toHaveAccessibleDescription("Дата рождения не совпадает с ИИН");
    await expect(form.getByLabel("Пол *")).not.toHaveAttribute("aria-invalid", "true");
    // Everything typed is still there.
    await expect(form.getByLabel("ИИН *")).toHaveValue(a.iin);
    await expect(last).toHaveValue("Иванов2");
    await expect(form.getByLabel("Имя *")).toHaveValue("Айнур");
    await expect(form.getByLabel("Отчество")).toHaveValue("Мараловна");
    await expect(form.getByLabel("Дата рождения *")).toHaveValue("01.01.1990");
    await expect(form.getByLabel("Город/район проживания *")).toHaveValue("г.Астана / район Сарыарка");
    await expect(form.getByLabel("Название улицы *")).toHaveValue("Момышулы");
    await expect(form.getByLabel("Номер дома *")).toHaveValue("26");
    await expect(form.getByLabel("Номер квартиры")).toHaveValue("256");
    await expect(form.getByLabel("Категория претендента *").locator("option:checked")).toHaveText("Выпускник 11 класса");
    await expect(form.getByLabel("Категория занятости *").locator("option:checked")).toHaveText("Безработное население");
    await expect(rowOf(page, a.iin)).toHaveCount(0);
    await htmxSettled(page);

    // Corrected, it saves.
    await last.fill("Иванова");
    await form.getByLabel("Дата рождения *").fill(birthOf(a.iin));
    await form.getByRole("button", { name: "Сохранить" }).click();
    await expect(page.getByText("Новый претендент успешно добавлен!")).toBeVisible();
    await expect(rowOf(page, a.iin)).toContainText("Иванова Айнур Мараловна");
    await expectSameDocument(page);
  });

  test("the same IIN cannot be registered twice; the form links the existing applicant", async ({ page }) => {
    await signIn(page);
    const a = applicant();
    await addApplicant(page, a);
    const form = await fillApplicantForm(page, { ...a, first: "Другая" });
    await form.getByRole("button", { name: "Сохранить" }).click();
    await expect(form.getByLabel("ИИН *")).toHaveAccessibleDescription("Претендент с таким ИИН уже зарегистрирован");
    await expect(form.getByLabel("Имя *")).toHaveValue("Другая");
    await htmxSettled(page);
    await form.getByRole("link", { name: "Открыть карточку" }).click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText(fio(a));
  });
});

test.describe("3. Статусы претендентов", () => {
  test("each status icon has a text alternative and the legend of fig. 8 is under the table", async ({ page }) => {
    await signIn(page);
    const a = applicant();
    await addApplicant(page, a);
    await expect(rowOf(page, a.iin).getByRole("img", { name: "Не проверен" })).toBeVisible();
    for (const col of ["ФИО", "Регион", "ИИН", "Статус", "Действия"]) {
      await expect(page.getByRole("columnheader", { name: col, exact: true })).toBeVisible();
    }
    const legend = page.getByRole("region", { name: "Описание статусов" });
    await expect(legend.getByRole("listitem")).toHaveText([
      "○ - Не проверен",
      '✓ - Прошел проверку в АИС "Рынок труда"',
      "🔄 - Изменен после отрицательной проверки",
      '⊗ - Не прошел проверку в АИС "Рынок труда"',
      '📄 - Причина отказа в АИС "Рынок труда"',
      "⊗ - Отказано мобильной группой",
      "📄 - Причина отказа мобильной группы",
    ]);
    const table = await page.locator("#applicant-table table").boundingBox();
    const under = await legend.boundingBox();
    expect(under!.y).toBeGreaterThan(table!.y + table!.height - 1);
  });
});

test.describe("4. Поиск претендента", () => {
  test("by any part of the ФИО and by an IIN prefix, with «Поиск» and as you type; the URL and the back button follow", async ({ page }) => {
    await signIn(page);
    const stem = uniqueSurname("Ёлкина");
    const first = applicant({ last: stem, first: "Алёна" });
    const second = applicant({ last: uniqueSurname("Сейтова") });
    await addApplicant(page, first);
    await addApplicant(page, second);
    const s = searchLine(page);

    // As you type: part of the surname, in capitals, with е for ё.
    await markDocument(page);
    await s.getByLabel("ФИО", { exact: true }).fill(stem.slice(6).toUpperCase());
    await expect(page).toHaveURL(new RegExp(`fio=${encodeURIComponent(stem.slice(6).toUpperCase())}`));
    await expect(page.locator("#applicant-table tbody tr")).toHaveCount(1);
    await expect(rowOf(page, first.iin)).toBeVisible();
    await s.getByLabel("ФИО", { exact: true }).fill("елкина" + stem.slice(6) + " ален");
    await expect(page).toHaveURL(/fio=%D0%B5%D0%BB%D0%BA%D0%B8%D0%BD%D0%B0/);
    await expect(rowOf(page, first.iin)).toBeVisible();
    await expect(page.locator("#applicant-table tbody tr")).toHaveCount(1);
    await expectSameDocument(page);

    // «Поиск» by an IIN prefix.
    await s.getByLabel("ФИО", { exact: true }).fill("");
    await s.getByLabel("ИИН", { exact: true }).fill(second.iin.slice(0, 10));
    await s.getByRole("button", { name: "Поиск" }).click();
    await expect(page).toHaveURL(new RegExp(`iin=${second.iin.slice(0, 10)}`));
    await expect(rowOf(page, second.iin)).toBeVisible();
    await expect(rowOf(page, first.iin)).toHaveCount(0);
    await expect(page.getByTestId("total")).toHaveText("1");

    // The IIN search as you type, too.
    await s.getByLabel("ИИН", { exact: true }).fill(first.iin);
    await expect(page).toHaveURL(new RegExp(`iin=${first.iin}`));
    await expect(rowOf(page, first.iin)).toBeVisible();
    await expect(page.locator("#applicant-table tbody tr")).toHaveCount(1);

    // Back returns to the previous search.
    await page.goBack();
    await expect(page).toHaveURL(new RegExp(`iin=${second.iin.slice(0, 10)}`));
    await expect(rowOf(page, second.iin)).toBeVisible();
    await expect(rowOf(page, first.iin)).toHaveCount(0);
    await expect(searchLine(page).getByLabel("ИИН", { exact: true })).toHaveValue(second.iin.slice(0, 10));

    // The URL is a bookmark.
    await page.goto(`/cabinet/applicants?fio=${encodeURIComponent(second.last.toLowerCase())}`);
    await expect(page.locator("#applicant-table tbody tr")).toHaveCount(1);
    await expect(rowOf(page, second.iin)).toBeVisible();
    await expect(searchLine(page).getByLabel("ФИО", { exact: true })).toHaveValue(second.last.toLowerCase());

    // Nothing found says so.
    await searchLine(page).getByLabel("ФИО", { exact: true }).fill(uniqueSurname("Нетакой"));
    await expect(page.getByText("Ничего не найдено")).toBeVisible();
  });

  test.describe("with JavaScript off", () => {
    test.use({ javaScriptEnabled: false });

    test("«Поиск» is a plain form: the result and the URL are the same", async ({ page }) => {
      await signIn(page);
      // Without scripts the КАТО picker cannot run, so this applicant is posted directly.
      const a = applicant();
      await postApplicant(page, a);
      await page.goto("/cabinet/applicants");
      await searchLine(page).getByLabel("ФИО", { exact: true }).fill(a.last.toUpperCase());
      await searchLine(page).getByRole("button", { name: "Поиск" }).click();
      await expect(page).toHaveURL(/fio=/);
      await expect(page.locator("#applicant-table tbody tr")).toHaveCount(1);
      await expect(rowOf(page, a.iin)).toBeVisible();
      await searchLine(page).getByLabel("ФИО", { exact: true }).fill("");
      await searchLine(page).getByLabel("ИИН", { exact: true }).fill(a.iin.slice(0, 11));
      await searchLine(page).getByRole("button", { name: "Поиск" }).click();
      await expect(page).toHaveURL(new RegExp(`iin=${a.iin.slice(0, 11)}`));
      await expect(rowOf(page, a.iin)).toBeVisible();
    });
  });
});

test.describe("5. Просмотр карточки претендента", () => {
  test("«Действия» opens the inline menu of fig. 10 and «Просмотреть» the card of fig. 11", async ({ page }) => {
    await signIn(page);
    const a = applicant({ street: "Момышулы", house: "26", flat: "36" });
    await addApplicant(page, a);
    await searchByIin(page, a.iin);
    const row = rowOf(page, a.iin);
    const actions = row.getByRole("button", { name: "Действия" });
    await actions.click();
    await expect(row.getByRole("menuitem")).toHaveText(["Просмотреть", "Изменить претендента", "Удалить"]);
    // A click elsewhere closes the menu.
    await page.getByRole("columnheader", { name: "ФИО" }).click();
    await expect(row.getByRole("menuitem", { name: "Просмотреть" })).toBeHidden();
    await chooseAction(page, a.iin, "Просмотреть");

    await expect(page.getByRole("heading", { level: 1 })).toHaveText(fio(a));
    const card = page.locator("dl");
    const field = (label: string) => card.locator(`dt:text-is("${label}") + dd`);
    await expect(field("ИИН")).toHaveText(a.iin);
    await expect(field("Дата рождения")).toHaveText(birthOf(a.iin));
    await expect(field("Пол")).toHaveText("женский");
    await expect(field("Город/район проживания")).toHaveText("г.Астана / район Сарыарка");
    await expect(field("Название улицы")).toHaveText("Момышулы");
    await expect(field("Номер дома")).toHaveText("26");
    await expect(field("Номер квартиры")).toHaveText("36");
    await expect(field("Категория выпускника")).toHaveText("Выпускник 11 класса");
    await expect(field("Категория занятости")).toHaveText("Безработное население");
    await expect(field("Статус претендента")).toContainText("Не проверен");
    await expect(field("Список")).toHaveText("Не включен в список");
    await expect(page.getByRole("heading", { name: "История изменений" })).toBeVisible();
    await expect(page.getByText("Изменений нет")).toBeVisible();
  });

  test("office staff see the card but the menu offers only «Просмотреть»", async ({ page }) => {
    await signIn(page);
    const a = applicant();
    await addApplicant(page, a);
    await signOut(page);
    await signIn(page, "office");
    await expect(page.getByRole("link", { name: "Добавить претендента" })).toHaveCount(0);
    await searchByIin(page, a.iin);
    const row = rowOf(page, a.iin);
    await row.getByRole("button", { name: "Действия" }).click();
    await expect(row.getByRole("menuitem")).toHaveText(["Просмотреть"]);
  });
});

test.describe("10. Изменение сведений о претенденте", () => {
  test("«Изменить претендента», «Сохранить», «Редактирование прошло успешно!», and the history on the card", async ({ page }) => {
    await signIn(page);
    const a = applicant();
    await addApplicant(page, a);
    await searchByIin(page, a.iin);
    await markDocument(page);
    // «Отмена» closes the form in place and changes nothing.
    await chooseAction(page, a.iin, "Изменить претендента");
    await page.locator("#applicant-form").getByLabel("Название улицы *").fill("Не сохранять");
    await page.locator("#applicant-form").getByRole("link", { name: "Отмена" }).click();
    await expect(page.locator("#applicant-form")).toHaveCount(0);
    await expectSameDocument(page);
    await chooseAction(page, a.iin, "Изменить претендента");
    const form = page.locator("#applicant-form");
    await expect(form.getByLabel("Название улицы *")).toHaveValue("Сейфуллина");
    await expect(form.getByRole("heading", { name: "РЕДАКТИРОВАНИЕ ПРЕТЕНДЕНТА" })).toBeVisible();
    await expect(form.getByLabel("ИИН *")).toHaveValue(a.iin);
    await expect(form.getByLabel("Фамилия")).toHaveValue(a.last);
    await expect(form.getByLabel("Дата рождения *")).toHaveValue(birthOf(a.iin));
    await expect(form.getByLabel("Город/район проживания *")).toHaveValue("г.Астана / район Сарыарка");
    await form.getByLabel("Название улицы *").fill("Жангельдина");
    await form.getByLabel("Номер дома *").fill("48");
    await form.getByRole("button", { name: "Сохранить" }).click();
    await expect(page.getByRole("status")).toHaveText("Редактирование прошло успешно!");
    await htmxSettled(page);
    await expect(page.locator("#applicant-form")).toHaveCount(0);
    await expectSameDocument(page);

    await page.getByRole("link", { name: fio(a) }).click();
    const history = page.getByRole("table").filter({ has: page.getByRole("columnheader", { name: "Было" }) });
    await expect(history.getByRole("row").filter({ hasText: "Название улицы" })).toContainText("mg_admin");
    await expect(history.getByRole("row").filter({ hasText: "Название улицы" }).getByRole("cell").nth(3)).toHaveText("Сейфуллина");
    await expect(history.getByRole("row").filter({ hasText: "Название улицы" }).getByRole("cell").nth(4)).toHaveText("Жангельдина");
    await expect(history.getByRole("row").filter({ hasText: "Номер дома" }).getByRole("cell").nth(4)).toHaveText("48");
    await expect(page.locator("dl").locator('dt:text-is("Название улицы") + dd')).toHaveText("Жангельдина");
  });
});

test.describe("12. Удаление претендента", () => {
  test("«Удалить» asks for confirmation; «Отмена» keeps the row; confirmed, the row disappears in place with the message", async ({ page }) => {
    await signIn(page);
    const a = applicant();
    const keep = applicant();
    await addApplicant(page, keep);
    await addApplicant(page, a);
    await markDocument(page);

    await chooseAction(page, a.iin, "Удалить");
    let dialog = page.getByRole("dialog", { name: "Удалить претендента?" });
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText(fio(a));
    await expect(dialog).toContainText(a.iin);
    await dialog.getByRole("link", { name: "Отмена" }).click();
    await expect(page.getByRole("dialog")).toHaveCount(0);
    await expect(rowOf(page, a.iin)).toBeVisible();

    await chooseAction(page, a.iin, "Удалить");
    dialog = page.getByRole("dialog", { name: "Удалить претендента?" });
    await dialog.getByRole("button", { name: "Да, удалить" }).click();
    await expect(page.getByRole("status")).toHaveText("Удаление претендента прошло успешно");
    await htmxSettled(page);
    await expect(page.getByRole("dialog")).toHaveCount(0);
    await expect(rowOf(page, a.iin)).toHaveCount(0);
    await expect(rowOf(page, keep.iin)).toBeVisible();
    await expectSameDocument(page);

    // It is gone on the server too.
    await searchLine(page).getByLabel("ИИН", { exact: true }).fill(a.iin);
    await expect(page.getByText("Ничего не найдено")).toBeVisible();
  });
});
