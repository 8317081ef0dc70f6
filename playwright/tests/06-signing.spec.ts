// Manual §9–11: sign a list with ЭЦП in the browser, send it to АИС «Рынок труда», see the
// results arrive without a reload, fix a failed applicant, refuse another, send it again.
// АИС here is the simulator built into the server; its registry has fixed demo people.
import { test, expect, Page } from "@playwright/test";
import * as path from "path";
import { signIn, addApplicant, htmxSettled } from "./steps";

const dataDir = process.env.TALAPKER_E2E_DATA_DIR!;
const key = (file: string) => path.join(dataDir, "pki", "keys", file);

// In the simulator's registry: she passes as typed.
const ainur = { iin: "920526450510", last: "Жаншакимова", first: "Айнур", middle: "Мараловна" };
// Typed with a wrong first name: «ФИО не совпадает с данными ГБД ФЛ».
const kuanysh = { iin: "780402301292", last: "Кабылдинов", first: "Куанышбек" };
// In regular work: «Претендент трудоустроен».
const vasiliev = { iin: "711020302076", last: "Васильев", first: "Александр", middle: "Андреевич" };

async function createList(page: Page, note: string) {
  await page.getByRole("link", { name: "Списки" }).click();
  await page.getByRole("link", { name: "Создать новый список" }).click();
  await page.getByLabel("Текст примечания").fill(note);
  await page.getByRole("button", { name: "Сохранить" }).click();
}

function memberRow(page: Page, text: string) {
  return page.locator("table").first().getByRole("row").filter({ hasText: text });
}

async function signAndSend(page: Page, keyFile: string, password: string) {
  await page.getByRole("link", { name: "Подписать ЭЦП и отправить на проверку" }).click();
  const dialog = page.getByRole("dialog");
  await expect(dialog).toBeVisible();
  await dialog.getByLabel("Ключ ЭЦП (файл с префиксом AUTH)").setInputFiles(key(keyFile));
  await dialog.getByLabel("Пароль к ключу ЭЦП").fill(password);
  await dialog.getByRole("button", { name: "Отправить" }).click();
  return dialog;
}

async function editApplicant(page: Page, text: string) {
  const row = memberRow(page, text);
  await row.getByRole("button", { name: "Действия" }).click();
  await row.getByRole("menuitem", { name: "Изменить претендента" }).click();
  const form = page.locator("#applicant-form");
  await expect(form.getByRole("heading", { name: "РЕДАКТИРОВАНИЕ ПРЕТЕНДЕНТА" })).toBeVisible();
  await htmxSettled(page);
  return form;
}

test.describe("9–11. Отправка списка на проверку в АИС «Рынок труда»", () => {
  test("sign with the AUTH key, results arrive, fix one, refuse another, send again", async ({ page }) => {
    test.setTimeout(120_000);
    await signIn(page, "mg_admin");
    // Whatever earlier chapters left unsent goes into a list of its own first.
    await createList(page, "прочие");
    for (const a of [ainur, kuanysh, vasiliev]) await addApplicant(page, a);
    await createList(page, "Проверка ЭЦП");
    const listRow = page.getByRole("row").filter({ hasText: "Проверка ЭЦП" });
    await expect(listRow).toContainText("не отправлен");
    await listRow.getByRole("button", { name: "Действия" }).click();
    await listRow.getByRole("menuitem", { name: "Просмотреть" }).click();
    await expect(page.getByTestId("list-status")).toHaveText("не отправлен");
    const listUrl = page.url();

    // A wrong password: said in the dialog, nothing sent.
    let dialog = await signAndSend(page, "AUTH_RSA256_mg_admin.p12", "не тот пароль");
    await expect(dialog.getByText("Неверный пароль")).toBeVisible();
    await expect(page.getByTestId("list-status")).toHaveText("не отправлен");
    // Another person's key: refused before anything is sent.
    await dialog.getByLabel("Ключ ЭЦП (файл с префиксом AUTH)").setInputFiles(key("AUTH_RSA256_mg_field.p12"));
    await dialog.getByLabel("Пароль к ключу ЭЦП").fill("demo1234");
    await dialog.getByRole("button", { name: "Отправить" }).click();
    await expect(dialog.getByText("Сертификат не принадлежит пользователю")).toBeVisible();
    await dialog.getByRole("link", { name: "Отмена" }).click();

    // The user's own AUTH key and its password: signed and sent (fig. 25).
    await signAndSend(page, "AUTH_RSA256_mg_admin.p12", "demo1234");
    await expect(page.getByText("Список подписан и отправлен на проверку в АИС «Рынок труда»")).toBeVisible();
    await expect(page.getByTestId("list-status")).toHaveText("отправлен в АИС «Рынок труда»");
    await expect(page.getByRole("link", { name: "Подписать ЭЦП и отправить на проверку" })).toHaveCount(0);
    const versions = page.getByRole("table", { name: "Версии списка" });
    await expect(versions.getByRole("row")).toHaveCount(2);
    await expect(versions).toContainText("SERIALNUMBER=IIN941008400880");

    // АИС answers; the open page shows it without a reload by hand.
    await expect(page.getByTestId("list-status")).toHaveText("получен из АИС «Рынок труда»", { timeout: 30_000 });
    await expect(memberRow(page, ainur.last).getByRole("img", { name: 'Прошел проверку в АИС "Рынок труда"' })).toBeVisible();
    await expect(memberRow(page, kuanysh.last).getByRole("img", { name: 'Не прошел проверку в АИС "Рынок труда"' })).toBeVisible();
    await expect(
      memberRow(page, kuanysh.last).getByRole("button", { name: 'Причина отказа в АИС "Рынок труда": ФИО не совпадает с данными ГБД ФЛ' }),
    ).toBeVisible();
    await expect(
      memberRow(page, vasiliev.last).getByRole("button", { name: 'Причина отказа в АИС "Рынок труда": Претендент трудоустроен' }),
    ).toBeVisible();
    await expect(versions).toContainText("прошли 1, не прошли 2");

    // A passed applicant cannot be changed.
    const passed = memberRow(page, ainur.last);
    await passed.getByRole("button", { name: "Действия" }).click();
    await expect(passed.getByRole("menuitem", { name: "Изменить претендента" })).toHaveCount(0);
    await passed.getByRole("button", { name: "Действия" }).click();

    // §10: fix the name → 🔄.
    let form = await editApplicant(page, kuanysh.last);
    await form.getByLabel("Имя *").fill("Куаныш");
    await form.getByRole("button", { name: "Сохранить" }).click();
    await expect(page.getByText("Редактирование прошло успешно!")).toBeVisible();
    await expect(memberRow(page, kuanysh.last).getByRole("img", { name: "Изменен после отрицательной проверки" })).toBeVisible();

    // §11: refuse the employed one with a reason → ⊗ 📄.
    form = await editApplicant(page, vasiliev.last);
    await form.getByLabel("Отказано мобильной группой", { exact: true }).check();
    await form.getByLabel(/Причина отказа мобильной группы/).fill("Трудоустроен, от обучения отказался");
    await form.getByRole("button", { name: "Сохранить" }).click();
    await expect(page.getByText("Редактирование прошло успешно!")).toBeVisible();
    await expect(
      memberRow(page, vasiliev.last).getByRole("button", { name: "Причина отказа мобильной группы: Трудоустроен, от обучения отказался" }),
    ).toBeVisible();

    // Send again as version 2, this time with the ECDSA key.
    expect(page.url().split("?")[0]).toBe(listUrl.split("?")[0]);
    await signAndSend(page, "AUTH_ECDSA_mg_admin.p12", "demo1234");
    await expect(page.getByTestId("list-status")).toHaveText("отправлен в АИС «Рынок труда»");
    await expect(page.getByTestId("list-status")).toHaveText("получен из АИС «Рынок труда»", { timeout: 30_000 });
    await expect(memberRow(page, kuanysh.last).getByRole("img", { name: 'Прошел проверку в АИС "Рынок труда"' })).toBeVisible();
    await expect(memberRow(page, vasiliev.last).getByRole("img", { name: "Отказано мобильной группой" })).toBeVisible();
    await expect(versions.getByRole("row")).toHaveCount(3);
    await expect(versions.getByRole("row").nth(1)).toContainText("ECDSA P-256");
    await expect(versions.getByRole("row").nth(1)).toContainText("прошли 1, не прошли 0");
    // Nothing left to send: the dialog says so instead of asking for the key.
    await page.getByRole("link", { name: "Подписать ЭЦП и отправить на проверку" }).click();
    await expect(page.getByRole("dialog")).toContainText("В списке нет изменений после проверки в АИС «Рынок труда»: отправлять нечего");
    await expect(page.getByRole("dialog").getByLabel("Пароль к ключу ЭЦП")).toHaveCount(0);
  });
});

test.describe("9. On a desktop where NCALayer runs", () => {
  test("the dialog offers NCALayer and a list signed there is accepted", async ({ page }) => {
    // NCALayer, played by the test: it signs what the page sends with the user's AUTH key.
    const signer = require("../../public/js/signer.js");
    const fs = require("fs");
    const requests: any[] = [];
    await page.routeWebSocket("wss://127.0.0.1:13579/", (ws) => {
      ws.send(JSON.stringify({ result: { version: "1.4" } }));
      ws.onMessage(async (message) => {
        const req = JSON.parse(String(message));
        requests.push(req);
        const payload = Buffer.from(req.args.data, "base64");
        const signed = await signer.signWithP12(
          new Uint8Array(fs.readFileSync(key("AUTH_RSA256_mg_admin.p12"))),
          "demo1234",
          new Uint8Array(payload),
        );
        ws.send(JSON.stringify({ status: true, body: { result: [signed.cmsBase64] } }));
      });
    });
    await signIn(page, "mg_admin");
    await createList(page, "прочие перед NCALayer");
    await addApplicant(page, { iin: "000101500011", last: "Сейткали", first: "Нурлан", middle: "Ерланович" });
    await createList(page, "через NCALayer");
    const listRow = page.getByRole("row").filter({ hasText: "через NCALayer" });
    await listRow.getByRole("button", { name: "Действия" }).click();
    await listRow.getByRole("menuitem", { name: "Просмотреть" }).click();
    await page.getByRole("link", { name: "Подписать ЭЦП и отправить на проверку" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Подписать через NCALayer" }).click();
    await expect(page.getByTestId("list-status")).toHaveText("отправлен в АИС «Рынок труда»");
    expect(requests).toHaveLength(1);
    expect(requests[0].module).toBe("kz.gov.pki.knca.basics");
    expect(requests[0].method).toBe("sign");
    expect(requests[0].args.format).toBe("cms");
    expect(requests[0].args.signerParams.iin).toBe("941008400880");
    // АИС checks it like any other: «Некорректные данные» (the employment category differs).
    await expect(page.getByTestId("list-status")).toHaveText("получен из АИС «Рынок труда»", { timeout: 30_000 });
    await expect(
      memberRow(page, "Сейткали").getByRole("button", { name: 'Причина отказа в АИС "Рынок труда": Некорректные данные' }),
    ).toBeVisible();
  });
});
