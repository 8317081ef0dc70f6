// Passkeys on a shared tablet: «Профиль» registers one, «Войти с ключом доступа» signs in with
// it and no login typed, and once deleted it signs no one in. The tablet's authenticator is
// Chromium's virtual one (CDP WebAuthn domain): internal, resident keys, user verification.
import { test, expect, Page, CDPSession } from "@playwright/test";
import { signOut } from "./steps";

/** §1 with a password, on a sign-in page that also offers «Войти с ключом доступа». */
async function signInWithPassword(page: Page, login = "mg_admin", password = "demo") {
  await page.goto("/login");
  await page.getByLabel("Логин").fill(login);
  await page.getByLabel("Пароль").fill(password);
  await page.getByRole("button", { name: "Войти", exact: true }).click();
  await expect(page.getByRole("link", { name: "Данные претендентов" })).toBeVisible();
}

async function addTabletAuthenticator(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { cdp, authenticatorId };
}

async function openProfile(page: Page) {
  await page.getByRole("button", { name: /Меню пользователя/ }).click();
  await page.getByRole("menuitem", { name: "Профиль" }).click();
  await expect(page).toHaveURL(/\/profile/);
  await expect(page.getByRole("heading", { name: "Профиль", level: 1 })).toBeVisible();
}

test.describe("Ключи доступа", () => {
  test("register a passkey on «Профиль», sign in with it, delete it, and it no longer signs in", async ({ page }) => {
    const { cdp, authenticatorId } = await addTabletAuthenticator(page);

    await signInWithPassword(page);
    await openProfile(page);
    const table = page.locator("#passkey-table");
    await expect(table.getByText("Ключей доступа пока нет")).toBeVisible();

    // Register: a name and the current password, then the tablet's fingerprint (simulated).
    await page.getByLabel("Название ключа").fill("Планшет группы 1");
    await page.getByLabel("Текущий пароль").fill("demo");
    await page.getByRole("button", { name: "Добавить ключ доступа" }).click();
    await expect(page.getByRole("status")).toHaveText("Ключ доступа добавлен");
    const row = table.getByRole("row").filter({ hasText: "Планшет группы 1" });
    await expect(row).toBeVisible();
    await expect(row).toContainText("не использовался");
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0].isResidentCredential).toBe(true);
    expect(credentials[0].rpId).toBe("localhost");

    // Rename it.
    await row.getByLabel(/Новое название ключа/).fill("Планшет Сарыарка");
    await row.getByRole("button", { name: "Переименовать" }).click();
    await expect(page.getByRole("status")).toHaveText("Ключ доступа переименован");
    const renamed = table.getByRole("row").filter({ has: page.locator('input[value="Планшет Сарыарка"]') });
    await expect(renamed).toHaveCount(1);

    // Sign out, then sign in with no login or password typed.
    await signOut(page);
    await page.goto("/login");
    await expect(page.getByLabel("Логин")).toHaveValue("");
    await page.getByRole("button", { name: "Войти с ключом доступа" }).click();
    await expect(page.getByRole("link", { name: "Данные претендентов" })).toBeVisible();
    await expect(page).toHaveURL(/\/cabinet\/applicants/);
    await expect(page.getByRole("button", { name: /Меню пользователя: mg_admin/ })).toBeVisible();

    // The profile shows the last use; the authenticator's counter moved.
    await openProfile(page);
    const used = table.getByRole("row").filter({ has: page.locator('input[value="Планшет Сарыарка"]') });
    await expect(used).not.toContainText("не использовался");
    const after = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    expect(after.credentials[0].signCount).toBeGreaterThan(0);

    // Delete it (after confirming).
    page.once("dialog", (d) => d.accept());
    await used.getByRole("button", { name: "Удалить" }).click();
    await expect(page.getByRole("status")).toHaveText("Ключ доступа удален");
    await expect(table.getByText("Ключей доступа пока нет")).toBeVisible();

    // The tablet still holds the key, but the server no longer knows it.
    await signOut(page);
    await page.goto("/login");
    await page.getByRole("button", { name: "Войти с ключом доступа" }).click();
    await expect(page.getByRole("alert")).toHaveText("Ключ доступа не найден или удален");
    await expect(page).toHaveURL(/\/login/);
    await page.goto("/cabinet/applicants");
    await expect(page).toHaveURL(/\/login/);

    // Password sign-in stays.
    await signInWithPassword(page);
    await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
  });

  test("without an authenticator on the device the passkey button is not offered", async ({ page }) => {
    await page.goto("/login");
    await expect(page.getByRole("button", { name: "Войти", exact: true })).toBeVisible();
    await expect(page.getByRole("button", { name: "Войти с ключом доступа" })).toBeHidden();
  });
});
