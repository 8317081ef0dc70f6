// Manual §1 «Вход на портал» and the cabinet shell (fig. 3, 4, 12).
import { test, expect } from "@playwright/test";
import { signIn, signOut } from "./steps";

test.describe("1. Вход на портал", () => {
  test("«Войти» in the top right opens the login form; the cabinet shows both tabs", async ({ page }) => {
    await signIn(page);
    await expect(page.getByRole("link", { name: "Данные претендентов" })).toHaveAttribute("aria-current", "page");
    await page.getByRole("link", { name: "Списки" }).click();
    await expect(page).toHaveURL(/\/cabinet\/lists/);
    await expect(page.getByRole("link", { name: "Списки" })).toHaveAttribute("aria-current", "page");
    // Fig. 3: the user menu with «Личный кабинет» and «Выйти».
    await page.getByRole("button", { name: /Меню пользователя/ }).click();
    await page.getByRole("menuitem", { name: "Личный кабинет" }).click();
    await expect(page).toHaveURL(/\/cabinet\/applicants/);
    await signOut(page);
    await page.goto("/cabinet/applicants");
    await expect(page).toHaveURL(/\/login/);
  });

  test("a wrong password gets a clear Russian message and the login stays typed", async ({ page }) => {
    await page.goto("/login");
    await page.getByLabel("Логин").fill("office");
    await page.getByLabel("Пароль").fill("not-the-password");
    await page.getByRole("button", { name: "Войти" }).click();
    await expect(page.getByRole("alert")).toHaveText("Неверный логин или пароль");
    await expect(page.getByLabel("Логин")).toHaveValue("office");
  });

  test("RU/KZ in the header switches the whole cabinet", async ({ page }) => {
    await signIn(page);
    await page.getByRole("link", { name: "KZ" }).click();
    await expect(page.getByRole("link", { name: "Үміткерлердің деректері" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Тізімдер" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Үміткерді қосу" })).toBeVisible();
    await page.getByRole("link", { name: "RU" }).click();
    await expect(page.getByRole("link", { name: "Данные претендентов" })).toBeVisible();
  });

  test("touch targets are at least 44 px", async ({ page }) => {
    await signIn(page);
    for (const name of ["Данные претендентов", "Списки", "Добавить претендента", "RU", "KZ"]) {
      const box = await page.getByRole("link", { name, exact: true }).boundingBox();
      expect(box!.height, name).toBeGreaterThanOrEqual(44);
    }
    const box = await page.getByRole("button", { name: "Поиск" }).boundingBox();
    expect(box!.height).toBeGreaterThanOrEqual(44);
  });
});
