//! The audit log (#9.7): every change to an applicant or list, every sign-in and failed
//! sign-in, with who, when and from where; append-only; an admin page with filters, scoped.

mod common;

use common::App;
use talapker::domain::user::{hash_password, Role};

const FORM: &[(&str, &str)] = &[
    ("iin", "920526450510"),
    ("last_name", "Жаншакимова"),
    ("first_name", "Айнур"),
    ("middle_name", "Мараловна"),
    ("birth_date", "26.05.1992"),
    ("gender", "female"),
    ("kato", "711310000"),
    ("street", "Сейфуллина"),
    ("house", "37"),
    ("flat", ""),
    ("applicant_category", "grad11"),
    ("employment_category", "unemployed"),
];

#[tokio::test]
async fn changes_and_sign_ins_are_logged_and_the_admin_page_filters_them() {
    let app = App::start().await;
    // A failed sign-in, then a good one.
    let b = app.browser();
    assert_eq!(b.login("mg_field", "wrong").await.status(), 401);
    assert_eq!(b.login("mg_field", "demo").await.status(), 303);
    let r = b
        .submit("/cabinet/applicants", "/cabinet/applicants", FORM)
        .await;
    assert_eq!(r.status(), 303);
    let r = b
        .submit("/cabinet/lists", "/cabinet/lists/new", &[("note", "аудит")])
        .await;
    assert_eq!(r.status(), 303);

    let admin = app.signed_in("admin").await;
    let (status, html) = admin.get_text("/admin/audit").await;
    assert_eq!(status, 200);
    assert!(html.contains("Журнал аудита"));
    for label in [
        "Неудачный вход",
        "Вход",
        "Добавлен претендент",
        "Сформирован список",
    ] {
        assert!(
            html.contains(&format!("<td>{label}</td>")),
            "{label}: {html}"
        );
    }
    assert!(html.contains("127.0.0.1"), "from where");
    assert!(html.contains("<td>mg_field</td>"), "who");
    // Filters: by action, by user, by date.
    let (_, html) = admin.get_text("/admin/audit?action=sign_in_failed").await;
    assert!(html.contains("<td>Неудачный вход</td>"));
    assert!(!html.contains("<td>Добавлен претендент</td>"));
    let (_, html) = admin.get_text("/admin/audit?actor=admin").await;
    assert!(html.contains("<td>admin</td>") && !html.contains("<td>mg_field</td>"));
    let (_, html) = admin
        .get_text("/admin/audit?from=2001-01-01&to=2001-01-02")
        .await;
    assert!(html.contains("Записей нет"));
    let (status, html) = admin.get_text("/admin/audit?from=вчера").await;
    assert_eq!(status, 200);
    assert!(html.contains("Некорректная дата"));

    // Only the administrator sees it.
    for login in ["mg_admin", "office"] {
        let other = app.signed_in(login).await;
        assert_eq!(other.get("/admin/audit").await.status(), 403, "{login}");
    }
    assert_eq!(app.browser().get("/admin/audit").await.status(), 303);
    app.stop().await;
}

/// An addition and its entry are one transaction: the entry names the new applicant, and an
/// addition refused by the store (a duplicate IIN) leaves no entry.
#[tokio::test]
async fn an_addition_is_logged_in_its_own_transaction() {
    let app = App::start().await;
    let b = app.signed_in("mg_field").await;
    let r = b
        .submit("/cabinet/applicants", "/cabinet/applicants", FORM)
        .await;
    assert_eq!(r.status(), 303);
    let r = b
        .submit("/cabinet/applicants", "/cabinet/applicants", FORM)
        .await;
    assert_eq!(r.status(), 409, "the same IIN again");
    let db = &app.state().db;
    let ids: Vec<String> = db
        .query("SELECT VALUE record::id(id) FROM applicant WHERE iin = '920526450510'")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(ids.len(), 1);
    let objects: Vec<String> = db
        .query("SELECT VALUE object FROM audit WHERE action = 'applicant_added' AND actor = 'mg_field' AND details = '920526450510'")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(objects, vec![format!("applicant:{}", ids[0])]);
    app.stop().await;
}

#[tokio::test]
async fn the_log_is_append_only() {
    let app = App::start().await;
    let _ = app.signed_in("mg_admin").await;
    let db = app.state().db.clone();
    async fn n(db: &talapker::store::Db, q: &'static str) -> i64 {
        let v: Option<i64> = db.query(q).await.unwrap().take(0).unwrap();
        v.unwrap_or(0)
    }
    let before = n(&db, "(SELECT count() AS n FROM audit GROUP ALL)[0].n").await;
    assert!(before >= 1);
    let r = db
        .query("UPDATE audit SET actor = 'someone else'")
        .await
        .unwrap()
        .check();
    assert!(r.is_err(), "an update is refused");
    let r = db.query("DELETE audit").await.unwrap().check();
    assert!(r.is_err(), "a deletion is refused");
    assert_eq!(
        n(&db, "(SELECT count() AS n FROM audit GROUP ALL)[0].n").await,
        before
    );
    assert_eq!(
        n(
            &db,
            "(SELECT count() AS n FROM audit WHERE actor = 'someone else' GROUP ALL)[0].n"
        )
        .await,
        0
    );
    app.stop().await;
}

#[tokio::test]
async fn an_admin_sees_only_the_entries_of_his_region() {
    let app = App::start().await;
    talapker::store::users::create(
        &app.state().db,
        talapker::store::users::NewUser {
            login: "almaty_mg",
            full_name: "Алматинская Группа",
            iin: "920526450510",
            role: Role::MobileGroup,
            region: "750000000",
            password_hash: hash_password("demo").unwrap(),
        },
    )
    .await
    .unwrap();
    let _ = app.signed_in("almaty_mg").await;
    let _ = app.signed_in("mg_field").await;
    let admin = app.signed_in("admin").await;
    let (_, html) = admin.get_text("/admin/audit?action=sign_in").await;
    assert!(html.contains("<td>mg_field</td>"));
    assert!(
        !html.contains("almaty_mg"),
        "another oblast's entries stay there"
    );
    app.stop().await;
}
