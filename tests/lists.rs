//! The «Списки» tab (manual §6–8): forming, the table, renaming, deleting, the list page and
//! the Excel export, including forged requests and two concurrent formations.

mod common;

use calamine::{Data, Reader, Xlsx};
use common::{App, Browser};

const FORM: &[(&str, &str)] = &[
    ("last_name", "Жаншакимова"),
    ("first_name", "Айнур"),
    ("middle_name", "Мараловна"),
    ("gender", "female"),
    ("kato", "711310000"),
    ("street", "Сейфуллина"),
    ("house", "37"),
    ("flat", "256"),
    ("applicant_category", "grad11"),
    ("employment_category", "unemployed"),
];

fn iin(n: u32) -> String {
    // Valid IINs born 1990-01-01..: search serials until the check digit is valid.
    let date =
        chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Duration::days(i64::from(n));
    (0..10_000)
        .find_map(|s| {
            talapker::domain::iin::make_iin(date, talapker::domain::iin::Gender::Female, s)
        })
        .unwrap()
        .to_string()
}

async fn add(b: &Browser, iin: &str, last_name: &str) {
    let birth = talapker::domain::iin::Iin::parse(iin)
        .unwrap()
        .birth_date()
        .format("%d.%m.%Y")
        .to_string();
    let mut fields: Vec<(&str, &str)> = FORM
        .iter()
        .copied()
        .filter(|(k, _)| *k != "last_name")
        .collect();
    fields.push(("iin", iin));
    fields.push(("birth_date", &birth));
    fields.push(("last_name", last_name));
    let r = b
        .submit("/cabinet/applicants", "/cabinet/applicants", &fields)
        .await;
    assert_eq!(r.status(), 303, "adding {iin}: {}", r.text().await.unwrap());
}

async fn form_list(b: &Browser, note: &str) -> reqwest::Response {
    b.submit("/cabinet/lists", "/cabinet/lists/new", &[("note", note)])
        .await
}

/// The id of the newest list on the tab.
async fn newest_list(b: &Browser) -> String {
    let (_, html) = b.get_text("/cabinet/lists").await;
    let i = html.find("id=\"list-").expect("a list row") + "id=\"list-".len();
    html[i..].split('"').next().unwrap().to_string()
}

#[tokio::test]
async fn forming_a_list_takes_every_new_applicant_and_shows_the_message() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    for n in 0..3 {
        add(
            &b,
            &iin(n),
            &format!("Фамилия{}", ["а", "б", "в"][n as usize]),
        )
        .await;
    }
    let r = form_list(&b, "Пример_1-1").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/cabinet/lists?msg=formed");
    let (_, html) = b.get_text("/cabinet/lists?msg=formed").await;
    assert!(html.contains("Новый список успешно сформирован."));
    assert!(html.contains("не отправлен"));
    assert!(html.contains("Пример_1-1"));
    for col in [
        "Регион",
        "Дата создания списка",
        "Дата изменения статуса",
        "Статус списка",
        "Участников",
        "Текст примечания",
        "Действия",
    ] {
        assert!(html.contains(col), "column {col}");
    }
    assert!(html.contains("<td>3</td>"), "three members");
    // Nothing new is left: the next attempt says so and makes no empty list.
    let r = form_list(&b, "второй").await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Нет претендентов для формирования нового списка"));
    let (_, html) = b.get_text("/cabinet/lists").await;
    assert_eq!(html.matches("id=\"list-").count(), 1);
    app.stop().await;
}

#[tokio::test]
async fn the_list_page_shows_its_applicants_and_the_buttons() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &iin(10), "Васильев").await;
    form_list(&b, "").await;
    let id = newest_list(&b).await;
    let (status, html) = b.get_text(&format!("/cabinet/lists/{id}")).await;
    assert_eq!(status, 200);
    for col in [
        "ФИО",
        "ИИН",
        "Дата рождения",
        "Регион места жительства",
        "Адрес",
        "Статус",
        "Действия",
    ] {
        assert!(html.contains(col), "column {col}");
    }
    assert!(html.contains("Васильев Айнур Мараловна"));
    assert!(html.contains("Сейфуллина, 37, 256"));
    assert!(html.contains("Подписать ЭЦП и отправить на проверку"));
    assert!(html.contains("Экспорт в Excel"));
    // The signing dialog asks for the key file and its password (fig. 23–24).
    let (status, html) = b.get_text(&format!("/cabinet/lists/{id}/sign")).await;
    assert_eq!(status, 200);
    assert!(html.contains("role=\"dialog\""));
    assert!(html.contains(">Отправить</button>"));
    app.stop().await;
}

#[tokio::test]
async fn renaming_and_deleting_an_unsent_list() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &iin(20), "Абаев").await;
    add(&b, &iin(21), "Бекова").await;
    form_list(&b, "старое").await;
    let id = newest_list(&b).await;
    let r = b
        .submit(
            "/cabinet/lists",
            &format!("/cabinet/lists/{id}/rename"),
            &[("note", "Пример_1-1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(&format!("/cabinet/lists?msg=renamed")).await;
    assert!(html.contains("Список успешно изменен."));
    assert!(html.contains("Пример_1-1") && !html.contains("старое"));
    // Deleting returns the applicants to «new», and the next list picks them up.
    let r = b
        .submit(
            "/cabinet/lists",
            &format!("/cabinet/lists/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text("/cabinet/lists?msg=deleted").await;
    assert!(html.contains("Список был удален"));
    assert!(html.contains("Списков пока нет"));
    let r = form_list(&b, "снова").await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text("/cabinet/lists").await;
    assert!(html.contains("<td>2</td>"));
    app.stop().await;
}

#[tokio::test]
async fn a_sent_list_cannot_be_renamed_or_deleted_whatever_the_request_says() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &iin(30), "Сейтова").await;
    form_list(&b, "отправленный").await;
    let id = newest_list(&b).await;
    app.state()
        .db
        .query("UPDATE list SET status = 'sent'")
        .await
        .unwrap()
        .check()
        .unwrap();
    let r = b
        .submit(
            "/cabinet/lists",
            &format!("/cabinet/lists/{id}/rename"),
            &[("note", "взлом")],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("уже отправлен"));
    let r = b
        .submit(
            "/cabinet/lists",
            &format!("/cabinet/lists/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 403);
    let (_, html) = b.get_text("/cabinet/lists").await;
    assert!(html.contains("отправленный"));
    assert!(html.contains("отправлен в АИС «Рынок труда»"));
    assert!(
        !html.contains("Изменить название"),
        "the menu hides what is not allowed"
    );
    app.stop().await;
}

#[tokio::test]
async fn office_staff_and_other_regions_cannot_touch_lists() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &iin(40), "Омарова").await;
    form_list(&b, "астана").await;
    let id = newest_list(&b).await;
    let office = app.signed_in("office").await;
    // Office reads and exports its region's lists but never writes.
    assert_eq!(
        office.get(&format!("/cabinet/lists/{id}")).await.status(),
        200
    );
    assert_eq!(
        office
            .get(&format!("/cabinet/lists/{id}/export.xlsx"))
            .await
            .status(),
        200
    );
    let r = office
        .submit("/cabinet/lists", "/cabinet/lists/new", &[("note", "x")])
        .await;
    assert_eq!(r.status(), 403);
    let r = office
        .submit(
            "/cabinet/lists",
            &format!("/cabinet/lists/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 403);
    // A mobile group of Almaty sees nothing of Astana's.
    talapker::store::users::create(
        &app.state().db,
        talapker::store::users::NewUser {
            login: "mg_almaty",
            full_name: "Алматы",
            iin: "941109450905",
            role: talapker::domain::user::Role::MobileGroup,
            region: "750000000",
            password_hash: talapker::domain::user::hash_password("demo").unwrap(),
        },
    )
    .await
    .unwrap();
    let almaty = app.signed_in("mg_almaty").await;
    let (_, html) = almaty.get_text("/cabinet/lists").await;
    assert!(!html.contains("астана"));
    assert_eq!(
        almaty.get(&format!("/cabinet/lists/{id}")).await.status(),
        404
    );
    assert_eq!(
        almaty
            .get(&format!("/cabinet/lists/{id}/export.xlsx"))
            .await
            .status(),
        404
    );
    let r = almaty
        .submit(
            "/cabinet/lists",
            &format!("/cabinet/lists/{id}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 404);
    let r = form_list(&almaty, "чужие").await;
    assert_eq!(
        r.status(),
        422,
        "Astana's applicants are not Almaty's to list"
    );
    app.stop().await;
}

#[tokio::test]
async fn two_concurrent_formations_never_share_an_applicant() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    for n in 0..20 {
        add(&b, &iin(100 + n), "Параллельная").await;
    }
    let b2 = app.signed_in("mg_admin").await;
    let (r1, r2) = tokio::join!(form_list(&b, "первый"), form_list(&b2, "второй"));
    let statuses = [r1.status().as_u16(), r2.status().as_u16()];
    assert!(statuses.contains(&303), "{statuses:?}");
    // Every applicant is in exactly one list, and the members add up.
    let db = &app.state().db;
    let in_lists: Vec<String> = db
        .query("SELECT VALUE list FROM applicant")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(in_lists.len(), 20);
    assert!(in_lists.iter().all(|l| !l.is_empty()));
    let members: Vec<i64> = db
        .query("SELECT VALUE members FROM list")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(members.iter().sum::<i64>(), 20, "{members:?}");
    app.stop().await;
}

/// Every record of a table, as the database holds it, in key order.
async fn records(db: &talapker::store::Db, sql: &str) -> Vec<surrealdb::types::Value> {
    db.query(sql).await.unwrap().take(0).unwrap()
}

/// Forming claims its applicants under `OPTION IMPORT` (no field clauses, no event): it must
/// change nothing but `list`, leave every record the event keeps as it was, and leave the
/// clauses and the event on for what follows.
#[tokio::test]
async fn forming_changes_only_the_list_of_its_applicants_and_nothing_the_event_keeps() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    for n in 0..6 {
        add(
            &b,
            &iin(300 + n),
            &format!("Импортова{}", ["а", "б", "в"][n as usize % 3]),
        )
        .await;
    }
    let db = &app.state().db;
    let kept = "SELECT * FROM fio_post ORDER BY id; SELECT * FROM fio_combo ORDER BY id;
                SELECT * FROM iin_at ORDER BY id; SELECT * FROM applicant_count ORDER BY id;
                SELECT * FROM fio_dict ORDER BY id";
    let applicants = "SELECT * OMIT list FROM applicant ORDER BY id";
    let before_apps = records(db, applicants).await;
    let mut before_kept = Vec::new();
    for q in kept.split(';') {
        before_kept.push(records(db, q).await);
    }
    assert_eq!(before_apps.len(), 6);
    assert!(before_kept.iter().all(|r| !r.is_empty()), "{before_kept:?}");

    assert_eq!(form_list(&b, "импорт").await.status(), 303);
    let id = newest_list(&b).await;
    let lists: Vec<String> = db
        .query("SELECT VALUE list FROM applicant")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(lists, vec![id.clone(); 6]);
    assert_eq!(
        records(db, applicants).await,
        before_apps,
        "only `list` changes"
    );
    for (q, before) in kept.split(';').zip(&before_kept) {
        assert_eq!(&records(db, q).await, before, "{q}");
    }
    let members: Option<i64> = db
        .query("(SELECT VALUE members FROM type::record('list', $id))[0]")
        .bind(("id", id.clone()))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(members, Some(6));

    // The clauses and the event are on again for the next statement: a malformed IIN is
    // refused by its ASSERT, and the next addition gets its records and is found.
    let bad = db
        .query("CREATE applicant CONTENT { iin: '12' }")
        .await
        .unwrap()
        .check();
    assert!(bad.is_err(), "the IIN's clause still runs");
    add(&b, &iin(310), "Послеимпортова").await;
    let (_, html) = b
        .get_text("/cabinet/applicants?fio=%D0%BF%D0%BE%D1%81%D0%BB%D0%B5%D0%B8%D0%BC%D0%BF")
        .await;
    assert!(html.contains("Послеимпортова"), "{html}");
    let iin_records: Vec<surrealdb::types::Value> = records(db, "SELECT * FROM iin_at").await;
    assert_eq!(iin_records.len(), 7);
    app.stop().await;
}

#[tokio::test]
async fn the_excel_export_is_a_real_workbook_with_text_iins_dates_and_no_formulas() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    // An IIN with a leading zero (born 2005) and a name that looks like a formula.
    let date = chrono::NaiveDate::from_ymd_opt(2005, 3, 9).unwrap();
    let zero = (0..10_000)
        .find_map(|s| {
            talapker::domain::iin::make_iin(date, talapker::domain::iin::Gender::Female, s)
        })
        .unwrap()
        .to_string();
    assert!(zero.starts_with('0'));
    add(&b, &zero, "Иванова").await;
    add(&b, &iin(50), "Петрова").await;
    // Names cannot hold '=' (the form refuses it), so a formula-looking street is used.
    let mut fields: Vec<(&str, &str)> = FORM
        .iter()
        .copied()
        .filter(|(k, _)| *k != "street")
        .collect();
    let third = iin(51);
    let birth = talapker::domain::iin::Iin::parse(&third)
        .unwrap()
        .birth_date()
        .format("%d.%m.%Y")
        .to_string();
    fields.extend([
        ("iin", third.as_str()),
        ("birth_date", birth.as_str()),
        ("street", "=HYPERLINK(\"http://x\")"),
    ]);
    let r = b
        .submit("/cabinet/applicants", "/cabinet/applicants", &fields)
        .await;
    assert_eq!(r.status(), 303);
    form_list(&b, "=1+1").await;
    let id = newest_list(&b).await;
    let r = b.get(&format!("/cabinet/lists/{id}/export.xlsx")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(cd.contains("attachment") && cd.contains("list-1-"), "{cd}");
    let bytes = r.bytes().await.unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    let cell = |r: u32, c: u32| range.get_value((r, c)).cloned().unwrap_or(Data::Empty);
    // Title rows: list number and region, the note as text, the dates.
    assert!(cell(0, 0).to_string().contains("№ 1"));
    assert!(cell(0, 0).to_string().contains("Астана"));
    assert_eq!(cell(1, 0).to_string(), "Текст примечания: =1+1");
    assert!(cell(2, 0).to_string().contains("Дата создания списка"));
    // Header on row 5 (index 4).
    assert_eq!(cell(4, 1).to_string(), "ИИН");
    assert_eq!(cell(4, 5).to_string(), "Дата рождения");
    // Three applicant rows.
    let rows: Vec<_> = (5..range.end().unwrap().0 + 1)
        .filter(|r| !matches!(cell(*r, 1), Data::Empty))
        .collect();
    assert_eq!(rows.len(), 3);
    let iins: Vec<String> = rows.iter().map(|r| cell(*r, 1).to_string()).collect();
    assert!(iins.contains(&zero), "the leading zero is kept: {iins:?}");
    assert!(
        rows.iter().all(|r| matches!(cell(*r, 1), Data::String(_))),
        "IINs are text"
    );
    assert!(
        rows.iter()
            .all(|r| matches!(cell(*r, 5), Data::DateTime(_))),
        "birth dates are dates"
    );
    let streets: Vec<Data> = rows.iter().map(|r| cell(*r, 8)).collect();
    assert!(
        streets.contains(&Data::String("=HYPERLINK(\"http://x\")".into())),
        "{streets:?}"
    );
    // No cell of the sheet is a formula.
    let formulas = wb.worksheet_formula(&name).unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no formulas"
    );
    app.stop().await;
}

#[tokio::test]
async fn deleting_an_applicant_of_an_unsent_list_updates_its_count() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &iin(60), "Первая").await;
    add(&b, &iin(61), "Вторая").await;
    form_list(&b, "счет").await;
    let list = newest_list(&b).await;
    let ids: Vec<String> = app
        .state()
        .db
        .query("SELECT VALUE record::id(id) FROM applicant WHERE last_name = 'Первая'")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    let r = b
        .submit(
            "/cabinet/applicants",
            &format!("/cabinet/applicants/{}/delete", ids[0]),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(&format!("/cabinet/lists/{list}")).await;
    assert!(!html.contains("Первая"));
    assert!(html.contains("Вторая"));
    let members: Vec<i64> = app
        .state()
        .db
        .query("SELECT VALUE members FROM list")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(members, vec![1]);
    app.stop().await;
}

#[tokio::test]
async fn the_applicants_tab_exports_the_current_search_result() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &iin(70), "Искомая").await;
    add(&b, &iin(71), "Другая").await;
    let office = app.signed_in("office").await;
    let r = office
        .get("/cabinet/applicants/export.xlsx?fio=%D0%B8%D1%81%D0%BA%D0%BE%D0%BC")
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("applicants-"));
    let bytes = r.bytes().await.unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    let text: Vec<String> = range
        .rows()
        .flat_map(|r| r.iter().map(|c| c.to_string()))
        .collect();
    assert!(text.contains(&"Искомая".to_string()), "{text:?}");
    assert!(
        !text.contains(&"Другая".to_string()),
        "only the search result is exported"
    );
    assert!(
        text.iter().any(|t| t.contains("Поиск")),
        "the title names the search"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_whole_regions_export_holds_every_applicant_newest_first_across_batches() {
    let app = App::start().await;
    // 2 345 applicants added over 782 seconds, three at each instant: the export reads them in
    // eight slices of time, two at a time, each in batches, while the writer writes.
    app.state()
        .db
        .query(
            "FOR $i IN 0..2345 {
                CREATE applicant CONTENT {
                    iin: <string>(100000000000 + $i), last_name: 'Выгрузкин', first_name: 'Ерлан',
                    middle_name: '', birth_date: '1990-01-01', gender: 'male', kato: '711310000',
                    oblast: '710000000', district: '711310000', street: '', house: '', flat: '',
                    applicant_category: 'grad11', employment_category: 'unemployed', status: 'new',
                    fio_search: 'выгрузкин ерлан', updated_at: time::now(),
                    created_at: d'2026-01-01T00:00:00Z' + duration::from_secs(math::floor($i / 3)),
                    created_by: 't'
                } RETURN NONE;
            }",
        )
        .await
        .unwrap()
        .check()
        .unwrap();
    let newest_first: Vec<String> = app
        .state()
        .db
        .query("SELECT VALUE iin FROM applicant WHERE oblast = '710000000' ORDER BY rank, id")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(newest_first.len(), 2345);
    let office = app.signed_in("office").await;
    let r = office.get("/cabinet/applicants/export.xlsx").await;
    assert_eq!(r.status(), 200);
    let bytes = r.bytes().await.unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let name = wb.sheet_names()[0].clone();
    let range = wb.worksheet_range(&name).unwrap();
    // Data rows: a number in the first column, the IIN in the second.
    let rows: Vec<(String, String)> = range
        .rows()
        .filter(|r| {
            r.len() > 1 && matches!(r[0], calamine::Data::Float(_) | calamine::Data::Int(_))
        })
        .map(|r| (r[0].to_string(), r[1].to_string()))
        .collect();
    assert_eq!(rows.len(), 2345);
    let numbers: Vec<String> = (1..=2345).map(|n| n.to_string()).collect();
    assert_eq!(
        rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>(),
        numbers
    );
    assert_eq!(
        rows.into_iter().map(|r| r.1).collect::<Vec<_>>(),
        newest_first
    );
    app.stop().await;
}
