// Reusable steps, named as the manual names things.
import { expect, Page } from "@playwright/test";

/** §1: «Войти» in the top right, then login and password, then «Войти». */
export async function signIn(page: Page, login = "mg_admin", password = "demo") {
  await page.goto("/");
  await page.getByRole("link", { name: "Войти" }).click();
  await page.getByLabel("Логин").fill(login);
  await page.getByLabel("Пароль").fill(password);
  await page.getByRole("button", { name: "Войти" }).click();
  await expect(page.getByRole("link", { name: "Данные претендентов" })).toBeVisible();
}

/** Signs out through the user menu. */
export async function signOut(page: Page) {
  await page.getByRole("button", { name: /Меню пользователя/ }).click();
  await page.getByRole("menuitem", { name: "Выйти" }).click();
  await expect(page.getByRole("link", { name: "Войти" })).toBeVisible();
}

const W1 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const W2 = [3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2];

/** A fresh valid IIN (so tests never collide on the unique IIN). */
export function freshIin(gender: "male" | "female" = "female", year = 1990 + Math.floor(Math.random() * 15)): string {
  for (;;) {
    const month = 1 + Math.floor(Math.random() * 12);
    const day = 1 + Math.floor(Math.random() * 28);
    const century = year >= 2000 ? (gender === "male" ? 5 : 6) : gender === "male" ? 3 : 4;
    const serial = Math.floor(Math.random() * 10000);
    const head =
      String(year % 100).padStart(2, "0") +
      String(month).padStart(2, "0") +
      String(day).padStart(2, "0") +
      century +
      String(serial).padStart(4, "0");
    const d = head.split("").map(Number);
    let c = d.reduce((s, x, i) => s + x * W1[i], 0) % 11;
    if (c === 10) {
      c = d.reduce((s, x, i) => s + x * W2[i], 0) % 11;
      if (c === 10) continue;
    }
    return head + c;
  }
}

export function birthOf(iin: string): string {
  const century = { "1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000 }[iin[6]]!;
  return `${iin.slice(4, 6)}.${iin.slice(2, 4)}.${century + Number(iin.slice(0, 2))}`;
}

export interface Applicant {
  iin: string;
  last: string;
  first: string;
  middle?: string;
  street?: string;
  house?: string;
  flat?: string;
}

/** §2: «Добавить претендента», fill fig. 5, «Сохранить». */
export async function addApplicant(page: Page, a: Applicant) {
  await page.getByRole("link", { name: "Данные претендентов" }).click();
  await page.getByRole("link", { name: "Добавить претендента" }).click();
  const form = page.locator("#applicant-form");
  await expect(form.getByRole("heading", { name: "ДОБАВЛЕНИЕ ПРЕТЕНДЕНТА" })).toBeVisible();
  await form.getByLabel("ИИН *").fill(a.iin);
  await form.getByLabel("Фамилия").fill(a.last);
  await form.getByLabel("Имя *").fill(a.first);
  if (a.middle) await form.getByLabel("Отчество").fill(a.middle);
  await expect(form.getByLabel("Дата рождения *")).toHaveValue(birthOf(a.iin));
  await chooseCity(page, "район Сарыарка");
  await form.getByLabel("Название улицы *").fill(a.street ?? "Сейфуллина");
  await form.getByLabel("Номер дома *").fill(a.house ?? "37");
  if (a.flat) await form.getByLabel("Номер квартиры").fill(a.flat);
  await form.getByLabel("Категория претендента *").selectOption({ label: "Выпускник 11 класса" });
  await form.getByLabel("Категория занятости *").selectOption({ label: "Безработное население" });
  await form.getByRole("button", { name: "Сохранить" }).click();
  await expect(page.getByText("Новый претендент успешно добавлен!")).toBeVisible();
  await htmxSettled(page);
}

/**
 * Waits until htmx has finished its requests and settled what it swapped in: only then do the
 * new elements carry their htmx behaviour (a person never types that fast; a test does).
 */
export async function htmxSettled(page: Page) {
  await page.waitForFunction(() => !document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling"));
}

/** «Город/район проживания»: «Выбрать», then the city, then its district. */
export async function chooseCity(page: Page, district: string) {
  await page.locator("#applicant-form").getByRole("button", { name: "Выбрать" }).click();
  const dialog = page.getByRole("dialog", { name: "Выбор города/района" });
  await expect(dialog).toBeVisible();
  await htmxSettled(page);
  await dialog.getByRole("button", { name: "Район: г.Астана" }).click();
  await expect(dialog.getByRole("button", { name: district, exact: true })).toBeVisible();
  await htmxSettled(page);
  await dialog.getByRole("button", { name: district, exact: true }).click();
  await expect(page.getByRole("dialog")).toHaveCount(0);
  await expect(page.getByLabel("Город/район проживания *")).toHaveValue(new RegExp(district));
}

export function fio(a: Applicant) {
  return [a.last, a.first, a.middle].filter(Boolean).join(" ");
}

const LETTERS = "абвгдежзиклмнопрстуфхчшэюя";

/** A surname nobody else has (letters only, so it passes the name rules). */
export function uniqueSurname(stem = "Тестова"): string {
  let s = "";
  for (let i = 0; i < 7; i++) s += LETTERS[Math.floor(Math.random() * LETTERS.length)];
  return stem + s;
}

/** The «Данные претендентов» tab's table row that shows `text` (an IIN or a ФИО). */
export function rowOf(page: Page, text: string) {
  return page.locator("#applicant-table").getByRole("row").filter({ hasText: text });
}

/** §2: «Добавить претендента» and fill fig. 5 without saving (IIN fills birth date and gender). */
export async function fillApplicantForm(page: Page, a: Applicant) {
  await page.getByRole("link", { name: "Добавить претендента" }).click();
  const form = page.locator("#applicant-form");
  await expect(form.getByRole("heading", { name: "ДОБАВЛЕНИЕ ПРЕТЕНДЕНТА" })).toBeVisible();
  await htmxSettled(page);
  await form.getByLabel("ИИН *").fill(a.iin);
  await form.getByLabel("Фамилия").fill(a.last);
  await form.getByLabel("Имя *").fill(a.first);
  if (a.middle) await form.getByLabel("Отчество").fill(a.middle);
  await expect(form.getByLabel("Дата рождения *")).toHaveValue(birthOf(a.iin));
  await chooseCity(page, "район Сарыарка");
  await form.getByLabel("Название улицы *").fill(a.street ?? "Сейфуллина");
  await form.getByLabel("Номер дома *").fill(a.house ?? "37");
  if (a.flat) await form.getByLabel("Номер квартиры").fill(a.flat);
  await form.getByLabel("Категория претендента *").selectOption({ label: "Выпускник 11 класса" });
  await form.getByLabel("Категория занятости *").selectOption({ label: "Безработное население" });
  return form;
}

/** §4: the search line above the table. */
export function searchLine(page: Page) {
  return page.getByRole("search");
}

/** §4: finds an applicant by IIN with «Поиск». */
export async function searchByIin(page: Page, iin: string) {
  const s = searchLine(page);
  await s.getByLabel("ФИО", { exact: true }).fill("");
  await s.getByLabel("ИИН", { exact: true }).fill(iin);
  await s.getByRole("button", { name: "Поиск" }).click();
  await expect(page).toHaveURL(new RegExp(`iin=${iin}`));
  await expect(page.locator("#applicant-table tbody tr")).toHaveCount(1);
}

/** Fig. 10: «Действия» opposite the applicant, then the named entry of the inline menu. */
export async function chooseAction(page: Page, text: string, action: "Просмотреть" | "Изменить претендента" | "Удалить") {
  const row = rowOf(page, text);
  await row.getByRole("button", { name: "Действия" }).click();
  await row.getByRole("menuitem", { name: action }).click();
  if (action !== "Просмотреть") {
    await expect(page.locator("#applicant-form, [role=dialog]").first()).toBeVisible();
    await htmxSettled(page);
  }
}
