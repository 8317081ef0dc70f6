//! The «Данные претендентов» tab (issue 3, manual §2–5, 10–12): adding, validation, the
//! table with search and pagination, the card, editing, deleting, and every forged request.

mod common;

use std::sync::OnceLock;

use chrono::NaiveDate;
use common::{csrf_of, App, Browser};
use talapker::domain::iin::{make_iin, Gender, Iin};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const TAB: &str = "/cabinet/applicants";

/// The first hundred valid IINs of a woman born 26.05.1992 (the manual's example date).
fn iin(k: usize) -> String {
    static LIST: OnceLock<Vec<String>> = OnceLock::new();
    LIST.get_or_init(|| {
        let date = NaiveDate::from_ymd_opt(1992, 5, 26).unwrap();
        (0..10_000u32)
            .filter_map(|s| make_iin(date, Gender::Female, s))
            .map(|i| i.as_str().to_string())
            .take(100)
            .collect()
    })[k]
        .clone()
}

/// A valid IIN of a man born on 20.10.1971.
fn male_iin() -> String {
    let date = NaiveDate::from_ymd_opt(1971, 10, 20).unwrap();
    (0..10_000u32)
        .find_map(|s| make_iin(date, Gender::Male, s))
        .unwrap()
        .as_str()
        .to_string()
}

/// The form of fig. 5 filled as in the manual, for the given IIN (birth date and gender follow
/// it).
fn fields(iin: &str) -> Vec<(&'static str, String)> {
    let parsed = Iin::parse(iin).expect("a valid IIN");
    vec![
        ("iin", iin.to_string()),
        ("last_name", "Жаншакимова".into()),
        ("first_name", "Айнур".into()),
        ("middle_name", "Мараловна".into()),
        (
            "birth_date",
            parsed.birth_date().format("%d.%m.%Y").to_string(),
        ),
        ("gender", parsed.gender().code().into()),
        ("kato", "711310000".into()),
        ("street", "Сейфуллина".into()),
        ("house", "37".into()),
        ("flat", "256".into()),
        ("applicant_category", "grad11".into()),
        ("employment_category", "unemployed".into()),
        ("idem_key", uuid::Uuid::new_v4().to_string()),
    ]
}

fn with(
    mut f: Vec<(&'static str, String)>,
    key: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    match f.iter_mut().find(|(k, _)| *k == key) {
        Some(kv) => kv.1 = value.to_string(),
        None => f.push((key, value.to_string())),
    }
    f
}

fn borrow<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn add(b: &Browser, f: &[(&'static str, String)]) -> reqwest::Response {
    b.submit(TAB, TAB, &borrow(f)).await
}

/// Adds an applicant and checks it was added.
async fn added(b: &Browser, f: &[(&'static str, String)]) {
    let r = add(b, f).await;
    let status = r.status();
    let body = text(r).await;
    assert_eq!(status, 303, "the applicant should be added: {body}");
}

/// Posts like htmx does: the CSRF token in a header, HX-Request and HX-Current-URL.
async fn htmx_post(
    b: &Browser,
    path: &str,
    current: &str,
    f: &[(&'static str, String)],
) -> reqwest::Response {
    let token = b.csrf(TAB).await;
    b.client
        .post(format!("{}{}", b.base, path))
        .header("HX-Request", "true")
        .header("HX-Current-URL", format!("{}{}", b.base, current))
        .header("X-CSRF-Token", token)
        .form(&borrow(f))
        .send()
        .await
        .expect("POST")
}

async fn id_of(app: &App, iin: &str) -> String {
    let ids: Vec<String> = app
        .state()
        .db
        .query("SELECT VALUE record::id(id) FROM applicant WHERE iin = $iin")
        .bind(("iin", iin.to_string()))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(ids.len(), 1, "exactly one applicant with IIN {iin}");
    ids[0].clone()
}

async fn count(app: &App) -> usize {
    let ids: Vec<String> = app
        .state()
        .db
        .query("SELECT VALUE record::id(id) FROM applicant")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    ids.len()
}

async fn field_of(app: &App, id: &str, field: &str) -> String {
    let sql = format!("SELECT VALUE <string> {field} FROM type::record('applicant', $id)");
    let v: Vec<String> = app
        .state()
        .db
        .query(sql)
        .bind(("id", id.to_string()))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    v.into_iter().next().unwrap_or_default()
}

async fn set(app: &App, id: &str, assignment: &str) {
    app.state()
        .db
        .query(format!(
            "UPDATE type::record('applicant', $id) SET {assignment}"
        ))
        .bind(("id", id.to_string()))
        .await
        .unwrap()
        .check()
        .unwrap();
}

/// A mobile-group user of г.Алматы (750000000), password `demo`.
async fn almaty_user(app: &App) -> Browser {
    talapker::store::users::create(
        &app.state().db,
        talapker::store::users::NewUser {
            login: "mg_almaty",
            full_name: "Васильев Александр Андреевич",
            iin: "711020302076",
            role: talapker::domain::user::Role::MobileGroup,
            region: "750000000",
            password_hash: talapker::domain::user::hash_password("demo").unwrap(),
        },
    )
    .await
    .unwrap();
    app.signed_in("mg_almaty").await
}

/// Undoes the escaping of characters that can never form markup (minijinja escapes `/`, `'`
/// and `"` too), so assertions can name texts as the manual writes them.
fn lite(html: String) -> String {
    html.replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
}

async fn text(r: reqwest::Response) -> String {
    lite(r.text().await.unwrap())
}

async fn page(b: &Browser, path: &str) -> (u16, String) {
    let (s, html) = b.get_text(path).await;
    (s, lite(html))
}

/// How many applicant rows a table shows.
fn rows_in(html: &str) -> usize {
    html.matches("<tr id=\"applicant-").count()
}

/// The total the table announces.
fn total_in(html: &str) -> i64 {
    let marker = "data-testid=\"total\">";
    let i = html.find(marker).expect("the table shows its total") + marker.len();
    html[i..].split('<').next().unwrap().trim().parse().unwrap()
}

/// The text of the error shown under a field.
fn error_at(html: &str, field: &str) -> Option<String> {
    let marker = format!("id=\"{field}-error\">");
    let i = html.find(&marker)? + marker.len();
    Some(html[i..].split('<').next().unwrap().to_string())
}

/// The value attribute of the input named `name`.
fn value_of(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let i = html.find(&marker)? + marker.len();
    Some(html[i..].split('"').next().unwrap().to_string())
}

// ---------------------------------------------------------------------------------------------
// §2 Adding
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_add_form_has_the_fields_of_figure_5_with_the_required_ones_starred() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let (status, html) = page(&b, "/cabinet/applicants/new").await;
    assert_eq!(status, 200);
    assert!(html.contains("ДОБАВЛЕНИЕ ПРЕТЕНДЕНТА"));
    assert!(html.contains("Поля, помеченные * звездочкой, обязательны для заполнения"));
    for starred in [
        "ИИН *",
        "Имя *",
        "Дата рождения *",
        "Пол *",
        "Город/район проживания *",
        "Название улицы *",
        "Номер дома *",
        "Категория претендента *",
        "Категория занятости *",
    ] {
        assert!(html.contains(&format!(">{starred}</label>")), "{starred}");
    }
    for optional in ["Фамилия", "Отчество", "Номер квартиры"] {
        assert!(html.contains(&format!(">{optional}</label>")), "{optional}");
    }
    assert!(html.contains(">Выбрать<") && html.contains(">✕<") && html.contains(">Сохранить<"));
    assert!(html.contains("Выпускник 11 класса") && html.contains("Безработное население"));
    let key = value_of(&html, "idem_key").unwrap();
    assert_eq!(key.len(), 36, "each form carries a fresh idempotency key");
    app.stop().await;
}

#[tokio::test]
async fn adding_an_applicant_redirects_to_the_tab_where_the_row_and_the_message_show() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let r = add(&b, &fields(&iin(0))).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/cabinet/applicants?msg=added");
    let (status, html) = page(&b, "/cabinet/applicants?msg=added").await;
    assert_eq!(status, 200);
    assert!(html.contains("Новый претендент успешно добавлен!"));
    assert!(html.contains("Жаншакимова Айнур Мараловна"));
    assert!(html.contains(&iin(0)));
    assert!(html.contains("район Сарыарка"));
    assert!(html.contains("aria-label=\"Не проверен\""));
    assert_eq!(rows_in(&html), 1);
    assert_eq!(total_in(&html), 1);
    // What was stored is what was typed, normalised.
    let id = id_of(&app, &iin(0)).await;
    assert_eq!(field_of(&app, &id, "birth_date").await, "1992-05-26");
    assert_eq!(field_of(&app, &id, "gender").await, "female");
    assert_eq!(field_of(&app, &id, "status").await, "new");
    assert_eq!(field_of(&app, &id, "created_by").await, "mg_admin");
    // The message is not shown without the parameter.
    let (_, html) = page(&b, TAB).await;
    assert!(!html.contains("Новый претендент успешно добавлен!"));
    app.stop().await;
}

#[tokio::test]
async fn an_htmx_add_from_the_tab_returns_the_panel_with_the_new_row_and_the_message() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let r = htmx_post(&b, TAB, TAB, &fields(&iin(1))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["hx-retarget"], "#applicants-panel");
    assert_eq!(r.headers()["hx-reswap"], "outerHTML");
    assert_eq!(r.headers()["hx-push-url"], "/cabinet/applicants");
    let html = text(r).await;
    assert!(
        html.starts_with("<section id=\"applicants-panel\""),
        "a fragment, not a page"
    );
    assert!(!html.contains("<html"));
    assert!(html.contains("Новый претендент успешно добавлен!"));
    assert!(html.contains("Жаншакимова Айнур Мараловна"));
    assert_eq!(rows_in(&html), 1);
    // The form is gone and the dialog slot is cleared out of band.
    assert!(!html.contains("id=\"applicant-form\""));
    assert!(html.contains("id=\"dialog-slot\" hx-swap-oob=\"true\""));
    app.stop().await;
}

#[tokio::test]
async fn an_htmx_add_from_the_standalone_form_page_sends_the_browser_to_the_tab() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let r = htmx_post(&b, TAB, "/cabinet/applicants/new", &fields(&iin(2))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["hx-redirect"], "/cabinet/applicants?msg=added");
    assert_eq!(count(&app).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn each_invalid_field_is_reported_at_its_field_with_422_and_everything_typed_is_kept() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let long = "А".repeat(61);
    let cases: Vec<(&'static str, String, &str)> = vec![
        ("iin", "".into(), "Поле «ИИН» обязательно для заполнения"),
        (
            "iin",
            "92052645051".into(),
            "ИИН должен состоять из 12 цифр",
        ),
        (
            "iin",
            "92052645051a".into(),
            "ИИН должен состоять из 12 цифр",
        ),
        (
            "iin",
            "920526450511".into(),
            "Неверная контрольная цифра ИИН",
        ),
        (
            "iin",
            "921326450510".into(),
            "Первые шесть цифр ИИН должны быть датой рождения",
        ),
        (
            "iin",
            "920526750510".into(),
            "Седьмая цифра ИИН должна быть от 1 до 6",
        ),
        (
            "first_name",
            "".into(),
            "Поле «Имя» обязательно для заполнения",
        ),
        (
            "first_name",
            "   ".into(),
            "Поле «Имя» обязательно для заполнения",
        ),
        (
            "last_name",
            long.clone(),
            "Поле «Фамилия» не может быть длиннее 60 символов",
        ),
        (
            "middle_name",
            "Иван0вич".into(),
            "Поле «Отчество» может содержать только буквы, дефис, апостроф и пробел",
        ),
        (
            "birth_date",
            "".into(),
            "Поле «Дата рождения» обязательно для заполнения",
        ),
        (
            "birth_date",
            "31.02.1992".into(),
            "Укажите дату рождения в виде ДД.ММ.ГГГГ",
        ),
        ("gender", "".into(), "Поле «Пол» обязательно для заполнения"),
        (
            "gender",
            "other".into(),
            "Поле «Пол» обязательно для заполнения",
        ),
        (
            "kato",
            "".into(),
            "Поле «Город/район проживания» обязательно для заполнения",
        ),
        (
            "kato",
            "123456789".into(),
            "Выберите город/район из справочника",
        ),
        (
            "street",
            "".into(),
            "Поле «Название улицы» обязательно для заполнения",
        ),
        (
            "street",
            "С".repeat(121),
            "Поле «Название улицы» не может быть длиннее 120 символов",
        ),
        (
            "house",
            "".into(),
            "Поле «Номер дома» обязательно для заполнения",
        ),
        (
            "house",
            "1".repeat(21),
            "Поле «Номер дома» не может быть длиннее 20 символов",
        ),
        (
            "flat",
            "2".repeat(21),
            "Поле «Номер квартиры» не может быть длиннее 20 символов",
        ),
        (
            "applicant_category",
            "".into(),
            "Поле «Категория претендента» обязательно для заполнения",
        ),
        (
            "applicant_category",
            "unemployed".into(),
            "Поле «Категория претендента» обязательно для заполнения",
        ),
        (
            "employment_category",
            "bogus".into(),
            "Поле «Категория занятости» обязательно для заполнения",
        ),
    ];
    for (field, value, message) in cases {
        let f = with(fields(&iin(3)), field, &value);
        let r = add(&b, &f).await;
        assert_eq!(r.status(), 422, "{field}={value:?}");
        let html = text(r).await;
        assert_eq!(
            error_at(&html, field).as_deref(),
            Some(message),
            "{field}={value:?}"
        );
        // Only that field is in error.
        assert_eq!(
            html.matches("class=\"field-error\"").count(),
            1,
            "{field}={value:?}"
        );
        assert!(html.contains(&format!("aria-describedby=\"{field}-error\"")) || field == "kato");
        // Everything typed is kept, including the idempotency key.
        for (k, v) in &f {
            if [
                "gender",
                "kato",
                "applicant_category",
                "employment_category",
            ]
            .contains(k)
            {
                continue;
            }
            let shown = value_of(&html, k).unwrap_or_else(|| panic!("{k} is in the form"));
            assert_eq!(&shown, v, "{k} kept after an error at {field}");
        }
        if field != "gender" {
            assert!(html.contains("value=\"female\" selected"), "gender kept");
        }
        if field != "applicant_category" {
            assert!(html.contains("value=\"grad11\" selected"), "category kept");
        }
        if field != "kato" {
            assert!(
                html.contains("value=\"г.Астана / район Сарыарка\""),
                "place kept"
            );
        }
    }
    assert_eq!(count(&app).await, 0, "nothing was stored");
    app.stop().await;
}

#[tokio::test]
async fn an_empty_form_gets_a_message_at_every_required_field_and_none_at_optional_ones() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let r = b.submit(TAB, TAB, &[]).await;
    assert_eq!(r.status(), 422);
    let html = text(r).await;
    for f in [
        "iin",
        "first_name",
        "birth_date",
        "gender",
        "kato",
        "street",
        "house",
        "applicant_category",
        "employment_category",
    ] {
        assert!(error_at(&html, f).is_some(), "{f}");
    }
    for f in ["last_name", "middle_name", "flat"] {
        assert!(error_at(&html, f).is_none(), "{f}");
    }
    app.stop().await;
}

#[tokio::test]
async fn a_birth_date_or_gender_that_disagrees_with_the_iin_is_refused_naming_which() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let f = with(fields(&iin(4)), "birth_date", "27.05.1992");
    let r = add(&b, &f).await;
    assert_eq!(r.status(), 422);
    let html = text(r).await;
    assert_eq!(
        error_at(&html, "birth_date").as_deref(),
        Some("Дата рождения не совпадает с ИИН")
    );
    assert!(error_at(&html, "gender").is_none());

    let f = with(fields(&iin(4)), "gender", "male");
    let r = add(&b, &f).await;
    assert_eq!(r.status(), 422);
    let html = text(r).await;
    assert_eq!(
        error_at(&html, "gender").as_deref(),
        Some("Пол не совпадает с ИИН")
    );
    assert!(error_at(&html, "birth_date").is_none());

    // The ISO form of the same date (a date input) agrees.
    let f = with(fields(&iin(4)), "birth_date", "1992-05-26");
    added(&b, &f).await;
    // A man's IIN gives a man.
    let m = male_iin();
    let f = with(fields(&m), "gender", "female");
    let r = add(&b, &f).await;
    assert_eq!(r.status(), 422);
    added(&b, &fields(&m)).await;
    assert_eq!(count(&app).await, 2);
    app.stop().await;
}

#[tokio::test]
async fn names_with_kazakh_letters_hyphens_apostrophes_and_latin_are_accepted_and_trimmed() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let f = fields(&iin(5));
    let f = with(f, "last_name", "  Төлеген-Құдайберген  ");
    let f = with(f, "first_name", "Ғалымжан   Әли");
    let f = with(f, "middle_name", "O'Neil");
    added(&b, &f).await;
    let id = id_of(&app, &iin(5)).await;
    assert_eq!(
        field_of(&app, &id, "last_name").await,
        "Төлеген-Құдайберген"
    );
    assert_eq!(field_of(&app, &id, "first_name").await, "Ғалымжан Әли");
    assert_eq!(field_of(&app, &id, "middle_name").await, "O'Neil");
    let f = with(
        fields(&iin(6)),
        "last_name",
        "Ұлықбек Үмбетқызы Һәм Іңкәр Өмірзақ",
    );
    added(&b, &f).await;
    app.stop().await;
}

#[tokio::test]
async fn names_with_digits_markup_or_punctuation_are_refused_with_a_message() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    for bad in ["Иванов2", "<script>", "Ivan;DROP", "--", "Анна!", "Ann@"] {
        let f = with(fields(&iin(7)), "last_name", bad);
        let r = add(&b, &f).await;
        assert_eq!(r.status(), 422, "{bad}");
        let html = text(r).await;
        assert_eq!(
            error_at(&html, "last_name").as_deref(),
            Some("Поле «Фамилия» может содержать только буквы, дефис, апостроф и пробел"),
            "{bad}"
        );
    }
    assert_eq!(count(&app).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn a_place_outside_the_users_region_is_refused() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    for kato in ["750000000", "751110000"] {
        let f = with(fields(&iin(8)), "kato", kato);
        let r = add(&b, &f).await;
        assert_eq!(r.status(), 422);
        let html = text(r).await;
        assert_eq!(
            error_at(&html, "kato").as_deref(),
            Some("Можно выбрать только город/район вашего региона")
        );
    }
    // The city itself and its districts are inside.
    added(&b, &with(fields(&iin(8)), "kato", "710000000")).await;
    added(&b, &with(fields(&iin(9)), "kato", "711110000")).await;
    app.stop().await;
}

#[tokio::test]
async fn an_iin_with_a_birth_date_in_the_future_is_refused() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let date = NaiveDate::from_ymd_opt(2099, 1, 1).unwrap();
    let future = (0..10_000u32)
        .find_map(|s| make_iin(date, Gender::Female, s))
        .unwrap();
    let r = add(&b, &fields(future.as_str())).await;
    assert_eq!(r.status(), 422);
    let html = text(r).await;
    assert_eq!(
        error_at(&html, "iin").as_deref(),
        Some("Дата рождения в ИИН не может быть позже сегодняшнего дня")
    );
    app.stop().await;
}

#[tokio::test]
async fn the_kato_picker_offers_only_places_of_the_users_region_with_a_search() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let (status, html) = page(&b, "/kato").await;
    assert_eq!(status, 200);
    assert!(html.contains("role=\"dialog\""));
    assert!(html.contains("Выбор города/района"));
    assert!(html.contains(">г.Астана<"));
    assert!(
        !html.contains("г.Алматы"),
        "another region's city is not offered"
    );
    let (_, html) = page(&b, "/kato?parent=710000000").await;
    assert!(html.contains("data-pick-code=\"711310000\""));
    assert!(html.contains("data-pick-name=\"г.Астана / район Сарыарка\""));
    let (_, html) = page(&b, "/kato?parent=750000000").await;
    assert!(
        !html.contains("data-pick-code"),
        "nothing of Almaty can be picked"
    );
    let (_, html) = page(&b, "/kato?q=%D0%A1%D0%90%D0%A0%D0%AB").await; // «САРЫ»
    assert!(html.contains("data-pick-code=\"711310000\""));
    let (_, html) = page(&b, "/kato?q=%D0%B0%D0%BB%D0%BC%D0%B0%D0%BB").await; // «алмал»
    assert!(!html.contains("data-pick-code"));
    assert!(html.contains("Ничего не найдено"));
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Duplicates and idempotency
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_iin_cannot_be_registered_twice_and_the_form_links_the_existing_card() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(10))).await;
    let id = id_of(&app, &iin(10)).await;
    let f = with(fields(&iin(10)), "first_name", "Другая");
    let r = add(&b, &f).await;
    assert_eq!(r.status(), 409);
    let html = text(r).await;
    assert_eq!(
        error_at(&html, "iin").as_deref(),
        Some("Претендент с таким ИИН уже зарегистрирован")
    );
    assert!(html.contains(&format!("href=\"/cabinet/applicants/{id}\"")));
    assert!(html.contains("Открыть карточку"));
    assert_eq!(value_of(&html, "first_name").as_deref(), Some("Другая"));
    assert_eq!(count(&app).await, 1);
    // The same through htmx: the form fragment comes back with 409.
    let r = htmx_post(&b, TAB, TAB, &f).await;
    assert_eq!(r.status(), 409);
    let html = text(r).await;
    assert!(html
        .trim_start()
        .starts_with("<section id=\"applicant-form\""));
    assert!(html.contains("Претендент с таким ИИН уже зарегистрирован"));
    app.stop().await;
}

#[tokio::test]
async fn a_duplicate_iin_held_in_another_region_is_refused_without_a_link_to_it() {
    let app = App::start().await;
    let almaty = almaty_user(&app).await;
    added(&almaty, &with(fields(&iin(11)), "kato", "751110000")).await;
    let other_id = id_of(&app, &iin(11)).await;
    let b = app.signed_in("mg_admin").await;
    let r = add(&b, &fields(&iin(11))).await;
    assert_eq!(r.status(), 409);
    let html = text(r).await;
    assert!(html.contains("Претендент с таким ИИН уже зарегистрирован"));
    assert!(
        !html.contains(&other_id),
        "no link to an applicant the user may not open"
    );
    assert!(!html.contains("Открыть карточку"));
    app.stop().await;
}

#[tokio::test]
async fn replaying_the_same_idem_key_creates_one_applicant() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let f = fields(&iin(12));
    for _ in 0..3 {
        let r = add(&b, &f).await;
        assert_eq!(r.status(), 303);
        assert_eq!(r.headers()["location"], "/cabinet/applicants?msg=added");
    }
    assert_eq!(count(&app).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn two_concurrent_posts_of_one_idem_key_create_exactly_one_applicant() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let token = b.csrf(TAB).await;
    for k in 13..18 {
        let mut f = fields(&iin(k));
        f.push(("csrf_token", token.clone()));
        let fb = borrow(&f);
        let (r1, r2, r3) = tokio::join!(
            b.post_form(TAB, &fb),
            b.post_form(TAB, &fb),
            b.post_form(TAB, &fb)
        );
        for r in [r1, r2, r3] {
            let s = r.status();
            assert_eq!(s, 303, "{}", text(r).await);
        }
    }
    assert_eq!(count(&app).await, 5);
    app.stop().await;
}

#[tokio::test]
async fn two_concurrent_posts_of_one_iin_with_different_keys_create_one_and_refuse_the_other() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let token = b.csrf(TAB).await;
    let mut f1 = fields(&iin(18));
    f1.push(("csrf_token", token.clone()));
    let mut f2 = fields(&iin(18));
    f2.push(("csrf_token", token.clone()));
    let (b1, b2) = (borrow(&f1), borrow(&f2));
    let (r1, r2) = tokio::join!(b.post_form(TAB, &b1), b.post_form(TAB, &b2));
    let mut statuses = [r1.status().as_u16(), r2.status().as_u16()];
    statuses.sort();
    assert_eq!(statuses, [303, 409]);
    assert_eq!(count(&app).await, 1);
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// §3, §4 The table, statuses, search, pagination
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_table_has_the_columns_of_figure_7_and_the_status_legend_of_figure_8() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let (_, html) = page(&b, TAB).await;
    for col in ["ФИО", "Регион", "ИИН", "Статус", "Действия"] {
        assert!(
            html.contains(&format!("<th scope=\"col\">{col}</th>")),
            "{col}"
        );
    }
    assert!(html.contains("Претендентов пока нет"));
    // Fig. 13: «Создать новый список» is on this tab too.
    assert!(html.contains("href=\"/cabinet/lists/new\">Создать новый список</a>"));
    for (icon, text) in [
        ("○", "Не проверен"),
        ("✓", "Прошел проверку в АИС \"Рынок труда\""),
        ("🔄", "Изменен после отрицательной проверки"),
        ("⊗", "Не прошел проверку в АИС \"Рынок труда\""),
        ("📄", "Причина отказа в АИС \"Рынок труда\""),
        ("⊗", "Отказано мобильной группой"),
        ("📄", "Причина отказа мобильной группы"),
    ] {
        assert!(
            html.contains(&format!("{icon}</span> - {text}</li>")),
            "legend {icon} - {text}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn every_status_icon_has_a_text_alternative_and_reasons_show_with_the_document_icon() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    for k in 19..24 {
        added(&b, &fields(&iin(k))).await;
    }
    let set_status = |k: usize, status: &'static str, extra: &'static str| {
        let app = &app;
        async move {
            let id = id_of(app, &iin(k)).await;
            set(app, &id, &format!("status = '{status}'{extra}")).await;
        }
    };
    set_status(20, "passed", ", sent = true").await;
    set_status(
        21,
        "failed",
        ", sent = true, ais_reason = 'Некорректный ИИН'",
    )
    .await;
    set_status(22, "refused", ", sent = true, mg_reason = 'Переехал'").await;
    set_status(23, "changed", ", sent = true").await;
    let (_, html) = page(&b, TAB).await;
    for (icon, label) in [
        ("○", "Не проверен"),
        ("✓", "Прошел проверку в АИС \"Рынок труда\""),
        ("⊗", "Не прошел проверку в АИС \"Рынок труда\""),
        ("⊗", "Отказано мобильной группой"),
        ("🔄", "Изменен после отрицательной проверки"),
    ] {
        assert!(
            html.contains(&format!(
                "role=\"img\" aria-label=\"{label}\" title=\"{label}\">{icon}</span>"
            )),
            "{icon} {label}"
        );
    }
    assert!(html.contains("aria-label=\"Причина отказа в АИС \"Рынок труда\": Некорректный ИИН\""));
    assert!(html.contains("aria-label=\"Причина отказа мобильной группы: Переехал\""));
    app.stop().await;
}

#[tokio::test]
async fn search_by_any_part_of_the_fio_is_case_insensitive_and_treats_yo_as_ye() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let people = [
        (24, "Ёлкина", "Алёна", "Петровна"),
        (25, "Жаншакимова", "Айнур", "Мараловна"),
        (26, "Ким", "Ольга", ""),
    ];
    for (k, last, first, middle) in people {
        let f = with(fields(&iin(k)), "last_name", last);
        let f = with(f, "first_name", first);
        let f = with(f, "middle_name", middle);
        added(&b, &f).await;
    }
    let search = |q: &str| format!("{TAB}?fio={}", urlencode(q));
    for (q, expected) in [
        ("ЕЛКИНА", vec![24]),
        ("ёлк", vec![24]),
        ("алена", vec![24]),
        ("АЛЁНА", vec![24]),
        ("петров", vec![24]),
        ("  айнур  ", vec![25]),
        ("Жаншакимова Айнур", vec![25]),
        ("Айнур Жаншакимова", vec![25]),
        ("кимова", vec![25]),
        ("ким", vec![25, 26]),
        ("на", vec![24, 25]),
        ("Смирнов", vec![]),
    ] {
        let (status, html) = page(&b, &search(q)).await;
        assert_eq!(status, 200);
        assert_eq!(rows_in(&html), expected.len(), "{q}");
        assert_eq!(total_in(&html), expected.len() as i64, "{q}");
        for k in expected {
            assert!(html.contains(&iin(k)), "{q} finds {k}");
        }
        // The search box keeps what was typed (the URL is the bookmark).
        assert!(html.contains(&format!("name=\"fio\" type=\"search\" value=\"{}\"", q)));
    }
    let (_, html) = page(&b, &search("Смирнов")).await;
    assert!(html.contains("Ничего не найдено"));
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)]).unwrap()[1..].to_string()
}

#[tokio::test]
async fn search_by_iin_finds_any_prefix_and_nothing_for_non_digits() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(27))).await;
    let m = male_iin();
    added(&b, &fields(&m)).await;
    for (q, expected) in [
        (iin(27), vec![iin(27)]),
        (iin(27)[..8].to_string(), vec![iin(27)]),
        ("9".to_string(), vec![iin(27)]),
        ("7110".to_string(), vec![m.clone()]),
        ("".to_string(), vec![iin(27), m.clone()]),
        ("8".to_string(), vec![]),
        ("abc".to_string(), vec![]),
        ("9205264505105".to_string(), vec![]),
        (" 9205 26 ".to_string(), vec![iin(27)]),
    ] {
        let (status, html) = page(&b, &format!("{TAB}?iin={q}")).await;
        assert_eq!(status, 200, "{q}");
        assert_eq!(rows_in(&html), expected.len(), "{q}");
        for e in expected {
            assert!(html.contains(&e), "{q} finds {e}");
        }
    }
    app.stop().await;
}

#[tokio::test]
async fn a_fio_and_an_iin_given_together_both_narrow_the_search() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(29))).await;
    added(&b, &with(fields(&male_iin()), "last_name", "Васильев")).await;
    let fio = urlencode("жаншакимова");
    let (_, html) = page(&b, &format!("{TAB}?fio={fio}&iin=9205")).await;
    assert_eq!(rows_in(&html), 1);
    let (_, html) = page(&b, &format!("{TAB}?fio={fio}&iin=7110")).await;
    assert_eq!(rows_in(&html), 0, "the IIN does not override the ФИО");
    let (_, html) = page(&b, &format!("{TAB}?fio={}&iin=7110", urlencode("васильев"))).await;
    assert_eq!(rows_in(&html), 1);
    app.stop().await;
}

#[tokio::test]
async fn active_search_returns_only_the_table_fragment() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(28))).await;
    let r = b
        .htmx_get(
            &format!("{TAB}?fio=%D0%B0%D0%B9%D0%BD%D1%83%D1%80&iin="),
            "applicant-table",
        )
        .await;
    assert_eq!(r.status(), 200);
    let html = text(r).await;
    assert!(html.starts_with("<div id=\"applicant-table\""));
    assert!(!html.contains("<html"));
    assert_eq!(rows_in(&html), 1);
    app.stop().await;
}

#[tokio::test]
async fn forty_five_applicants_make_three_pages_of_twenty_newest_first_with_the_total() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let token = b.csrf(TAB).await;
    for k in 0..45 {
        let mut f = with(
            fields(&iin(30 + k)),
            "first_name",
            &format!("Имя{}", "я".repeat(k + 1)),
        );
        f.push(("csrf_token", token.clone()));
        let r = b.post_form(TAB, &borrow(&f)).await;
        assert_eq!(r.status(), 303);
    }
    let (_, p1) = page(&b, TAB).await;
    assert_eq!(total_in(&p1), 45);
    assert_eq!(rows_in(&p1), 20);
    assert!(p1.contains("Страница 1 / 3"));
    assert!(p1.contains("page=2"));
    // Newest first: the last added is the first row.
    let first_row = p1.find("<tr id=\"applicant-").unwrap();
    assert!(p1[first_row..].find(&iin(74)).unwrap() < p1[first_row..].find(&iin(73)).unwrap());
    let (_, p2) = page(&b, &format!("{TAB}?fio=&iin=&page=2")).await;
    assert_eq!(rows_in(&p2), 20);
    assert!(p2.contains("Страница 2 / 3"));
    let (_, p3) = page(&b, &format!("{TAB}?fio=&iin=&page=3")).await;
    assert_eq!(rows_in(&p3), 5);
    assert!(p3.contains("Страница 3 / 3"));
    assert!(p3.contains(&iin(30)), "the oldest is on the last page");
    // Every applicant appears exactly once across the pages.
    for k in 30..75 {
        let n = [&p1, &p2, &p3]
            .iter()
            .map(|p| p.matches(&format!(">{}<", iin(k))).count())
            .sum::<usize>();
        assert_eq!(n, 1, "applicant {k} appears once");
    }
    // Search results are paged too, and the pager keeps the search.
    let (_, s) = page(&b, &format!("{TAB}?fio=%D0%B8%D0%BC%D1%8F")).await; // «имя»
    assert_eq!(total_in(&s), 45);
    assert!(s.contains("fio=%D0%B8%D0%BC%D1%8F&amp;iin=&page=2"));
    // A page beyond the end or nonsense is not an error.
    assert_eq!(b.get(&format!("{TAB}?page=99")).await.status(), 200);
    assert_ne!(
        b.get(&format!("{TAB}?page=abc")).await.status().as_u16() / 100,
        5
    );
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// §5 The card; §10 editing; history; concurrency
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_card_shows_every_field_the_status_and_the_list() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(80))).await;
    let id = id_of(&app, &iin(80)).await;
    let (status, html) = page(&b, &format!("{TAB}/{id}")).await;
    assert_eq!(status, 200);
    for (label, value) in [
        ("ИИН", iin(80).as_str()),
        ("Дата рождения", "26.05.1992"),
        ("Пол", "женский"),
        ("Город/район проживания", "г.Астана / район Сарыарка"),
        ("Название улицы", "Сейфуллина"),
        ("Номер дома", "37"),
        ("Номер квартиры", "256"),
        ("Категория выпускника", "Выпускник 11 класса"),
        ("Категория занятости", "Безработное население"),
        ("Список", "Не включен в список"),
    ] {
        let i = html
            .find(&format!("<dt>{label}</dt>"))
            .unwrap_or_else(|| panic!("{label}"));
        let dd = &html[i..];
        let dd = &dd[..dd.find("</dd>").unwrap()];
        assert!(dd.contains(value), "{label}: {value} in {dd}");
    }
    assert!(html.contains("<h1 id=\"card-title\">Жаншакимова Айнур Мараловна</h1>"));
    assert!(html.contains("Не проверен"));
    assert!(html.contains("История изменений"));
    assert!(html.contains("Изменений нет"));
    assert!(html.contains(">Изменить претендента<") && html.contains(">Удалить<"));
    // The reasons of a refusal show on the card.
    set(
        &app,
        &id,
        "status = 'failed', sent = true, ais_reason = 'Некорректные данные'",
    )
    .await;
    let (_, html) = page(&b, &format!("{TAB}/{id}")).await;
    assert!(html.contains("Не прошел проверку в АИС \"Рынок труда\""));
    assert!(html.contains("<dd>Некорректные данные</dd>"));
    assert!(
        !html.contains(">Удалить<"),
        "a sent applicant cannot be deleted"
    );
    // An unknown or malformed id is 404, never 500.
    for bad in [
        "nope",
        "0190e2f0a0b0",
        "%E2%9F%A8x%E2%9F%A9",
        "a'b",
        "x%20OR%201=1",
    ] {
        assert_eq!(b.get(&format!("{TAB}/{bad}")).await.status(), 404, "{bad}");
    }
    app.stop().await;
}

#[tokio::test]
async fn editing_shows_the_success_message_and_the_card_shows_who_changed_what() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(81))).await;
    let id = id_of(&app, &iin(81)).await;
    let (status, html) = page(&b, &format!("{TAB}/{id}/edit")).await;
    assert_eq!(status, 200);
    assert!(html.contains("РЕДАКТИРОВАНИЕ ПРЕТЕНДЕНТА"));
    assert_eq!(value_of(&html, "iin").as_deref(), Some(iin(81).as_str()));
    assert_eq!(value_of(&html, "birth_date").as_deref(), Some("26.05.1992"));
    assert_eq!(value_of(&html, "street").as_deref(), Some("Сейфуллина"));
    assert_eq!(value_of(&html, "version").as_deref(), Some("1"));
    assert!(
        !html.contains("Отказано мобильной группой</label>"),
        "refusal is offered only after a failed check"
    );
    let f = with(fields(&iin(81)), "street", "Момышулы");
    let f = with(f, "house", "26");
    let f = with(f, "version", "1");
    let r = b.submit(TAB, &format!("{TAB}/{id}"), &borrow(&f)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/cabinet/applicants?msg=edited");
    let (_, html) = page(&b, "/cabinet/applicants?msg=edited").await;
    assert!(html.contains("Редактирование прошло успешно!"));
    assert_eq!(field_of(&app, &id, "street").await, "Момышулы");
    assert_eq!(field_of(&app, &id, "version").await, "2");
    let (_, card) = page(&b, &format!("{TAB}/{id}")).await;
    assert!(!card.contains("Изменений нет"));
    assert!(card
        .contains("<td>mg_admin</td><td>Название улицы</td><td>Сейфуллина</td><td>Момышулы</td>"));
    assert!(card.contains("<td>mg_admin</td><td>Номер дома</td><td>37</td><td>26</td>"));
    assert_eq!(
        card.matches("<td>mg_admin</td>").count(),
        2,
        "unchanged fields leave no history"
    );
    // A change of place or category shows names, not codes.
    let f = with(f, "kato", "711110000");
    let f = with(f, "applicant_category", "grad9");
    let f = with(f, "version", "2");
    let r = b.submit(TAB, &format!("{TAB}/{id}"), &borrow(&f)).await;
    assert_eq!(r.status(), 303);
    let (_, card) = page(&b, &format!("{TAB}/{id}")).await;
    assert!(card.contains("<td>Город/район проживания</td><td>г.Астана / район Сарыарка</td><td>г.Астана / район Алматы</td>"));
    assert!(card.contains(
        "<td>Категория претендента</td><td>Выпускник 11 класса</td><td>Выпускник 9 класса</td>"
    ));
    app.stop().await;
}

#[tokio::test]
async fn an_htmx_edit_from_the_tab_returns_the_panel_with_the_message() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(82))).await;
    let id = id_of(&app, &iin(82)).await;
    let f = with(fields(&iin(82)), "first_name", "Айгерим");
    let f = with(f, "version", "1");
    let r = htmx_post(&b, &format!("{TAB}/{id}"), TAB, &f).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["hx-retarget"], "#applicants-panel");
    let html = text(r).await;
    assert!(html.contains("Редактирование прошло успешно!"));
    assert!(html.contains("Жаншакимова Айгерим Мараловна"));
    app.stop().await;
}

#[tokio::test]
async fn an_edit_with_an_invalid_field_is_refused_at_that_field_keeping_the_typed_values() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(83))).await;
    let id = id_of(&app, &iin(83)).await;
    let f = with(fields(&iin(83)), "first_name", "Айгерим1");
    let f = with(f, "street", "Новая улица");
    let f = with(f, "version", "1");
    let r = b.submit(TAB, &format!("{TAB}/{id}"), &borrow(&f)).await;
    assert_eq!(r.status(), 422);
    let html = text(r).await;
    assert!(error_at(&html, "first_name").is_some());
    assert_eq!(value_of(&html, "first_name").as_deref(), Some("Айгерим1"));
    assert_eq!(value_of(&html, "street").as_deref(), Some("Новая улица"));
    assert!(html.contains("РЕДАКТИРОВАНИЕ ПРЕТЕНДЕНТА"));
    assert_eq!(field_of(&app, &id, "street").await, "Сейфуллина");
    app.stop().await;
}

#[tokio::test]
async fn an_edit_to_an_iin_another_applicant_holds_is_refused_with_409() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(84))).await;
    added(&b, &fields(&iin(85))).await;
    let id = id_of(&app, &iin(85)).await;
    let other = id_of(&app, &iin(84)).await;
    let f = with(fields(&iin(84)), "version", "1");
    let r = b.submit(TAB, &format!("{TAB}/{id}"), &borrow(&f)).await;
    assert_eq!(r.status(), 409);
    let html = text(r).await;
    assert!(html.contains("Претендент с таким ИИН уже зарегистрирован"));
    assert!(html.contains(&format!("href=\"/cabinet/applicants/{other}\"")));
    assert_eq!(field_of(&app, &id, "iin").await, iin(85));
    app.stop().await;
}

#[tokio::test]
async fn a_save_based_on_a_stale_version_is_refused_showing_the_current_values_and_overwriting_nothing(
) {
    let app = App::start().await;
    let first = app.signed_in("mg_admin").await;
    let second = app.signed_in("mg_admin").await;
    added(&first, &fields(&iin(86))).await;
    let id = id_of(&app, &iin(86)).await;
    // Both open the edit form at version 1.
    let (_, a) = page(&first, &format!("{TAB}/{id}/edit")).await;
    let (_, b) = page(&second, &format!("{TAB}/{id}/edit")).await;
    assert_eq!(value_of(&a, "version").as_deref(), Some("1"));
    assert_eq!(value_of(&b, "version").as_deref(), Some("1"));
    let f1 = with(with(fields(&iin(86)), "street", "Момышулы"), "version", "1");
    let r = first
        .submit(TAB, &format!("{TAB}/{id}"), &borrow(&f1))
        .await;
    assert_eq!(r.status(), 303);
    let f2 = with(with(fields(&iin(86)), "house", "99"), "version", "1");
    let r = second
        .submit(TAB, &format!("{TAB}/{id}"), &borrow(&f2))
        .await;
    assert_eq!(r.status(), 409);
    let html = text(r).await;
    assert!(html.contains("Претендента уже изменил другой пользователь"));
    assert!(html.contains("role=\"alert\""));
    // The current values are shown, with the current version to save against.
    assert_eq!(value_of(&html, "street").as_deref(), Some("Момышулы"));
    assert_eq!(value_of(&html, "house").as_deref(), Some("37"));
    assert_eq!(value_of(&html, "version").as_deref(), Some("2"));
    // Nothing was overwritten.
    assert_eq!(field_of(&app, &id, "street").await, "Момышулы");
    assert_eq!(field_of(&app, &id, "house").await, "37");
    assert_eq!(field_of(&app, &id, "version").await, "2");
    // A missing or nonsense version is refused the same way, never a 500.
    for v in ["", "abc", "0"] {
        let f = with(fields(&iin(86)), "version", v);
        let r = second
            .submit(TAB, &format!("{TAB}/{id}"), &borrow(&f))
            .await;
        assert_eq!(r.status(), 409, "version {v:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn concurrent_saves_of_one_version_let_exactly_one_win() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(87))).await;
    let id = id_of(&app, &iin(87)).await;
    let token = b.csrf(TAB).await;
    let path = format!("{TAB}/{id}");
    let mut f1 = with(with(fields(&iin(87)), "house", "1"), "version", "1");
    f1.push(("csrf_token", token.clone()));
    let mut f2 = with(with(fields(&iin(87)), "house", "2"), "version", "1");
    f2.push(("csrf_token", token.clone()));
    let (b1, b2) = (borrow(&f1), borrow(&f2));
    let (r1, r2) = tokio::join!(b.post_form(&path, &b1), b.post_form(&path, &b2));
    let mut s = [r1.status().as_u16(), r2.status().as_u16()];
    s.sort();
    assert_eq!(s, [303, 409]);
    assert_eq!(field_of(&app, &id, "version").await, "2");
    app.stop().await;
}

#[tokio::test]
async fn after_a_failed_check_the_mobile_group_refuses_with_a_reason_only_once_the_list_is_returned(
) {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(88))).await;
    let id = id_of(&app, &iin(88)).await;
    // Sent, failed, but the list is still with АИС: no edit.
    app.state()
        .db
        .query(
            "CREATE list:l88 CONTENT { num: 88, region: '710000000', oblast: '710000000', district: '', note: '', \
             status: 'sent', members: 1, created_at: time::now(), created_by: 'mg_admin', \
             status_changed_at: time::now(), status_changed_by: 'mg_admin' }",
        )
        .await
        .unwrap()
        .check()
        .unwrap();
    set(
        &app,
        &id,
        "status = 'failed', sent = true, list = 'l88', ais_reason = 'Некорректные данные'",
    )
    .await;
    assert_eq!(b.get(&format!("{TAB}/{id}/edit")).await.status(), 403);
    // The list came back from АИС: edit, with the refusal.
    app.state()
        .db
        .query("UPDATE list:l88 SET status = 'received'")
        .await
        .unwrap()
        .check()
        .unwrap();
    let (status, html) = page(&b, &format!("{TAB}/{id}/edit")).await;
    assert_eq!(status, 200);
    assert!(html.contains("Отказано мобильной группой</label>"));
    assert!(html.contains("Причина отказа мобильной группы (поле обязательно для заполнения, если стоит признак \"Отказано мобильной группой\")"));
    let (_, table) = page(&b, TAB).await;
    assert!(table.contains(">Изменить претендента<"));
    assert!(
        !table.contains(&format!("{TAB}/{id}/delete")),
        "never deleted once sent"
    );
    // A refusal needs a reason.
    let f = with(with(fields(&iin(88)), "version", "1"), "mg_refused", "on");
    let r = b.submit(TAB, &format!("{TAB}/{id}"), &borrow(&f)).await;
    assert_eq!(r.status(), 422);
    let html = text(r).await;
    assert_eq!(
        error_at(&html, "mg_reason").as_deref(),
        Some("Поле «Причина отказа мобильной группы» обязательно для заполнения")
    );
    let f = with(f, "mg_reason", "Переехал в другой регион");
    let r = b.submit(TAB, &format!("{TAB}/{id}"), &borrow(&f)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(field_of(&app, &id, "status").await, "refused");
    assert_eq!(
        field_of(&app, &id, "mg_reason").await,
        "Переехал в другой регион"
    );
    let (_, table) = page(&b, TAB).await;
    assert!(
        table.contains("aria-label=\"Причина отказа мобильной группы: Переехал в другой регион\"")
    );
    // An edit without the refusal marks «Изменен после отрицательной проверки».
    let f = with(with(fields(&iin(88)), "version", "2"), "street", "Момышулы");
    let r = b.submit(TAB, &format!("{TAB}/{id}"), &borrow(&f)).await;
    assert_eq!(r.status(), 303);
    assert_eq!(field_of(&app, &id, "status").await, "changed");
    assert_eq!(field_of(&app, &id, "mg_reason").await, "");
    // The card names the list.
    let (_, card) = page(&b, &format!("{TAB}/{id}")).await;
    assert!(card.contains("href=\"/cabinet/lists/l88\""));
    assert!(card.contains("№ 88"));
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// §12 Deleting
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_asks_for_confirmation_then_removes_the_row_with_the_message() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(89))).await;
    added(&b, &fields(&iin(90))).await;
    let id = id_of(&app, &iin(89)).await;
    let (status, html) = page(&b, &format!("{TAB}/{id}/delete")).await;
    assert_eq!(status, 200);
    assert!(html.contains("role=\"dialog\""));
    assert!(html.contains("Удалить претендента?"));
    assert!(html.contains(&iin(89)));
    assert!(html.contains(">Да, удалить<") && html.contains(">Отмена<"));
    // Opening the confirmation deletes nothing.
    assert_eq!(count(&app).await, 2);
    let r = b.submit(TAB, &format!("{TAB}/{id}/delete"), &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/cabinet/applicants?msg=deleted");
    let (_, html) = page(&b, "/cabinet/applicants?msg=deleted").await;
    assert!(html.contains("Удаление претендента прошло успешно"));
    assert!(!html.contains(&iin(89)));
    assert!(html.contains(&iin(90)));
    assert_eq!(b.get(&format!("{TAB}/{id}")).await.status(), 404);
    // Deleting again is a clear 404, not a 500.
    assert_eq!(
        b.submit(TAB, &format!("{TAB}/{id}/delete"), &[])
            .await
            .status(),
        404
    );
    // The IIN is free again.
    added(&b, &fields(&iin(89))).await;
    app.stop().await;
}

#[tokio::test]
async fn an_htmx_delete_from_the_tab_returns_the_panel_without_the_row() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(91))).await;
    let id = id_of(&app, &iin(91)).await;
    let r = b
        .client
        .get(format!("{}{TAB}/{id}/delete", b.base))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    let html = text(r).await;
    assert!(
        html.starts_with("<div class=\"overlay\">"),
        "the dialog fragment"
    );
    assert!(html.contains("role=\"dialog\""));
    let r = htmx_post(&b, &format!("{TAB}/{id}/delete"), TAB, &[]).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["hx-retarget"], "#applicants-panel");
    let html = text(r).await;
    assert!(html.contains("Удаление претендента прошло успешно"));
    assert!(!html.contains(&iin(91)));
    assert!(html.contains("Претендентов пока нет"));
    app.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Forged requests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn office_staff_read_but_cannot_add_edit_or_delete_even_by_forged_requests() {
    let app = App::start().await;
    let mg = app.signed_in("mg_admin").await;
    added(&mg, &fields(&iin(92))).await;
    let id = id_of(&app, &iin(92)).await;
    for login in ["office", "admin"] {
        let b = app.signed_in(login).await;
        let (status, html) = page(&b, TAB).await;
        assert_eq!(status, 200);
        assert!(html.contains(&iin(92)));
        assert!(!html.contains("Добавить претендента"));
        assert!(!html.contains("Создать новый список"));
        assert!(!html.contains(">Изменить претендента<"));
        assert!(!html.contains(">Удалить<"));
        assert!(html.contains(">Просмотреть<"));
        assert_eq!(b.get(&format!("{TAB}/{id}")).await.status(), 200);
        assert_eq!(b.get(&format!("{TAB}/new")).await.status(), 403);
        assert_eq!(b.get(&format!("{TAB}/{id}/edit")).await.status(), 403);
        assert_eq!(b.get(&format!("{TAB}/{id}/delete")).await.status(), 403);
        let r = add(&b, &fields(&iin(93))).await;
        assert_eq!(r.status(), 403);
        assert!(text(r).await.contains("Недостаточно прав"));
        let f = with(with(fields(&iin(92)), "street", "Взлом"), "version", "1");
        let r = b.submit(TAB, &format!("{TAB}/{id}"), &borrow(&f)).await;
        assert_eq!(r.status(), 403);
        let r = b.submit(TAB, &format!("{TAB}/{id}/delete"), &[]).await;
        assert_eq!(r.status(), 403);
        let r = htmx_post(&b, TAB, TAB, &fields(&iin(93))).await;
        assert_eq!(r.status(), 403);
    }
    assert_eq!(count(&app).await, 1);
    assert_eq!(field_of(&app, &id, "street").await, "Сейфуллина");
    app.stop().await;
}

#[tokio::test]
async fn another_regions_user_can_neither_see_nor_touch_an_astana_applicant() {
    let app = App::start().await;
    let mg = app.signed_in("mg_admin").await;
    added(&mg, &fields(&iin(94))).await;
    let id = id_of(&app, &iin(94)).await;
    let b = almaty_user(&app).await;
    let (_, html) = page(&b, TAB).await;
    assert!(!html.contains(&iin(94)));
    let (_, html) = page(&b, &format!("{TAB}?iin={}", iin(94))).await;
    assert_eq!(rows_in(&html), 0);
    for path in [
        format!("{TAB}/{id}"),
        format!("{TAB}/{id}/edit"),
        format!("{TAB}/{id}/delete"),
    ] {
        let r = b.get(&path).await;
        assert_eq!(r.status(), 404, "{path}");
        assert!(text(r).await.contains("Претендент не найден"));
    }
    let f = with(
        with(with(fields(&iin(94)), "kato", "751110000"), "version", "1"),
        "street",
        "Абая",
    );
    let r = b.submit(TAB, &format!("{TAB}/{id}"), &borrow(&f)).await;
    assert_eq!(r.status(), 404);
    let r = b.submit(TAB, &format!("{TAB}/{id}/delete"), &[]).await;
    assert_eq!(r.status(), 404);
    assert_eq!(field_of(&app, &id, "street").await, "Сейфуллина");
    assert_eq!(field_of(&app, &id, "kato").await, "711310000");
    assert_eq!(count(&app).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn a_user_of_a_city_district_sees_only_that_district() {
    let app = App::start().await;
    talapker::store::users::create(
        &app.state().db,
        talapker::store::users::NewUser {
            login: "mg_saryarka",
            full_name: "Дюсенгалиев Арман Кентаевич",
            iin: "941109450905",
            role: talapker::domain::user::Role::MobileGroup,
            region: "711310000",
            password_hash: talapker::domain::user::hash_password("demo").unwrap(),
        },
    )
    .await
    .unwrap();
    let mg = app.signed_in("mg_admin").await;
    added(&mg, &fields(&iin(95))).await; // район Сарыарка
    added(&mg, &with(fields(&iin(96)), "kato", "711110000")).await; // район Алматы
    let other = id_of(&app, &iin(96)).await;
    let b = app.signed_in("mg_saryarka").await;
    let (_, html) = page(&b, TAB).await;
    assert!(html.contains(&iin(95)));
    assert!(!html.contains(&iin(96)));
    assert_eq!(b.get(&format!("{TAB}/{other}")).await.status(), 404);
    let r = add(&b, &with(fields(&iin(97)), "kato", "711110000")).await;
    assert_eq!(r.status(), 422);
    let r = add(&b, &with(fields(&iin(97)), "kato", "710000000")).await;
    assert_eq!(
        r.status(),
        422,
        "the whole city is outside a district's region"
    );
    added(&b, &fields(&iin(97))).await;
    app.stop().await;
}

#[tokio::test]
async fn an_applicant_sent_to_ais_can_be_neither_edited_nor_deleted_even_by_forged_requests() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(98))).await;
    let id = id_of(&app, &iin(98)).await;
    app.state()
        .db
        .query("UPDATE applicant SET sent = true")
        .await
        .unwrap()
        .check()
        .unwrap();
    let (_, html) = page(&b, TAB).await;
    assert!(html.contains(">Просмотреть<"));
    assert!(!html.contains(">Изменить претендента<"));
    assert!(!html.contains(&format!("{TAB}/{id}/delete")));
    let r = b.get(&format!("{TAB}/{id}/edit")).await;
    assert_eq!(r.status(), 403);
    assert!(text(r).await.contains("Изменить претендента нельзя"));
    let f = with(with(fields(&iin(98)), "street", "Взлом"), "version", "1");
    let r = b.submit(TAB, &format!("{TAB}/{id}"), &borrow(&f)).await;
    assert_eq!(r.status(), 403);
    let r = b.get(&format!("{TAB}/{id}/delete")).await;
    assert_eq!(r.status(), 403);
    let r = b.submit(TAB, &format!("{TAB}/{id}/delete"), &[]).await;
    assert_eq!(r.status(), 403);
    assert!(text(r).await.contains("Удалить претендента нельзя"));
    assert_eq!(count(&app).await, 1);
    assert_eq!(field_of(&app, &id, "street").await, "Сейфуллина");
    app.stop().await;
}

#[tokio::test]
async fn a_post_without_the_csrf_token_changes_nothing() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    added(&b, &fields(&iin(99))).await;
    let id = id_of(&app, &iin(99)).await;
    let r = b.post_form(TAB, &borrow(&fields(&iin(0)))).await;
    assert_eq!(r.status(), 403);
    let r = b.post_form(&format!("{TAB}/{id}/delete"), &[]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(count(&app).await, 1);
    app.stop().await;
}

#[tokio::test]
async fn html_and_script_payloads_are_never_rendered_unescaped() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let script = "<script>alert(1)</script>";
    let img = "\"><img src=x onerror=alert(1)>";
    // Refused names are echoed back escaped.
    let f = with(fields(&iin(40)), "first_name", script);
    let f = with(f, "last_name", img);
    let r = add(&b, &f).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(!html.contains(script) && !html.contains("<img src=x"));
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    // Accepted free-text fields are stored as typed and shown escaped everywhere.
    let f = with(fields(&iin(41)), "street", script);
    let f = with(f, "house", "<b>1</b>");
    let f = with(f, "flat", "\"><u>x");
    added(&b, &f).await;
    let id = id_of(&app, &iin(41)).await;
    assert_eq!(field_of(&app, &id, "street").await, script);
    for path in [
        format!("{TAB}/{id}"),
        format!("{TAB}/{id}/edit"),
        TAB.to_string(),
        format!("{TAB}?fio={}", urlencode(script)),
        format!("{TAB}?iin={}", urlencode(img)),
        format!("/kato?q={}", urlencode(script)),
    ] {
        let (status, html) = b.get_text(&path).await;
        assert!(status < 500, "{path}");
        assert!(!html.contains(script), "{path}");
        assert!(!html.contains("<img src=x"), "{path}");
        assert!(!html.contains("<b>1</b>"), "{path}");
        assert!(!html.contains("\"><u>x"), "{path}");
    }
    // The mobile group's reason is shown escaped in the table's tooltip.
    set(
        &app,
        &id,
        &format!("status = 'refused', mg_reason = '{}'", "<i>x</i>"),
    )
    .await;
    let (_, html) = b.get_text(TAB).await;
    assert!(!html.contains("<i>x</i>"));
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413_never_500() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let huge = "А".repeat(400 * 1024);
    // The token in the form.
    let f = with(fields(&iin(42)), "street", &huge);
    let r = add(&b, &f).await;
    assert_eq!(r.status(), 413);
    // The token in a header, as htmx sends it.
    let r = htmx_post(&b, TAB, TAB, &f).await;
    assert_eq!(r.status(), 413);
    added(&b, &fields(&iin(43))).await;
    let id = id_of(&app, &iin(43)).await;
    let f = with(with(fields(&iin(43)), "street", &huge), "version", "1");
    let r = htmx_post(&b, &format!("{TAB}/{id}"), TAB, &f).await;
    assert_eq!(r.status(), 413);
    assert_eq!(count(&app).await, 1);
    assert_eq!(field_of(&app, &id, "street").await, "Сейфуллина");
    app.stop().await;
}

#[tokio::test]
async fn malformed_form_bodies_are_a_4xx_never_a_500() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let token = b.csrf(TAB).await;
    for body in [
        "iin=1&iin=2".to_string(),
        "%FF%FE=%FF".to_string(),
        "first_name=%".to_string(),
    ] {
        let r = b
            .client
            .post(format!("{}{TAB}", b.base))
            .header("X-CSRF-Token", &token)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        assert!((400..500).contains(&s), "{body}: {s}");
    }
    let r = b
        .client
        .post(format!("{}{TAB}", b.base))
        .header("X-CSRF-Token", &token)
        .header("Content-Type", "application/json")
        .body("{\"iin\":\"1\"}")
        .send()
        .await
        .unwrap();
    assert!((400..500).contains(&r.status().as_u16()));
    assert_eq!(count(&app).await, 0);
    let _ = csrf_of;
    app.stop().await;
}
