//! The queue's server side: the idempotent replay endpoint, the worker and its shell.

mod common;

use common::{App, Browser};
use serde_json::{json, Value};

fn entry(key: &str, iin: &str) -> Value {
    let birth = talapker::domain::iin::Iin::parse(iin)
        .unwrap()
        .birth_date()
        .format("%d.%m.%Y")
        .to_string();
    let gender = talapker::domain::iin::Iin::parse(iin)
        .unwrap()
        .gender()
        .code();
    json!({
        "idem_key": key, "iin": iin, "last_name": "Полевая", "first_name": "Айгуль", "middle_name": "",
        "birth_date": birth, "gender": gender, "kato": "711310000", "street": "Аульная", "house": "5",
        "flat": "", "applicant_category": "grad9", "employment_category": "unemployed"
    })
}

fn iin(n: u32) -> String {
    let date =
        chrono::NaiveDate::from_ymd_opt(1995, 1, 1).unwrap() + chrono::Duration::days(i64::from(n));
    (0..10_000)
        .find_map(|s| {
            talapker::domain::iin::make_iin(date, talapker::domain::iin::Gender::Female, s)
        })
        .unwrap()
        .to_string()
}

async fn session(b: &Browser) -> (u16, Value) {
    let r = b.get("/cabinet/sync/session").await;
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn replay(b: &Browser, csrf: &str, body: &Value) -> (u16, Value) {
    let r = b
        .client
        .post(format!("{}/cabinet/sync/applicants", b.base))
        .header("X-CSRF-Token", csrf)
        .json(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn count(app: &App, iin: &str) -> usize {
    let ids: Vec<String> = app
        .state()
        .db
        .query("SELECT VALUE record::id(id) FROM applicant WHERE iin = $iin")
        .bind(("iin", iin.to_string()))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    ids.len()
}

#[tokio::test]
async fn a_replayed_entry_is_saved_once_and_answers_with_the_saved_applicant() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let (status, s) = session(&b).await;
    assert_eq!(status, 200);
    assert_eq!(s["login"], "mg_admin");
    let csrf = s["csrf"].as_str().unwrap().to_string();
    let body = entry("key-1", &iin(1));
    let (st, first) = replay(&b, &csrf, &body).await;
    assert_eq!(st, 201, "{first}");
    assert_eq!(first["status"], "created");
    let (st, again) = replay(&b, &csrf, &body).await;
    assert_eq!(st, 200);
    assert_eq!(again["status"], "replayed");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(count(&app, &iin(1)).await, 1);
    // One audit entry, written with the addition: the replay adds none.
    let entries: Vec<String> = app
        .state()
        .db
        .query("SELECT VALUE details FROM audit WHERE action = 'applicant_added' AND object = $o AND actor = 'mg_admin'")
        .bind(("o", format!("applicant:{}", first["id"].as_str().unwrap())))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(entries, vec![format!("{} (offline)", iin(1))]);
    app.stop().await;
}

#[tokio::test]
async fn two_concurrent_replays_of_one_key_make_one_applicant() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let csrf = session(&b).await.1["csrf"].as_str().unwrap().to_string();
    for round in 0..5 {
        let body = entry(&format!("race-{round}"), &iin(100 + round));
        let (a, c) = tokio::join!(replay(&b, &csrf, &body), replay(&b, &csrf, &body));
        let mut statuses = [a.0, c.0];
        statuses.sort();
        assert!(
            statuses == [200, 201] || statuses == [201, 201] || statuses == [200, 200],
            "{statuses:?} {a:?} {c:?}"
        );
        assert!(statuses.contains(&201), "one of them created it");
        assert_eq!(a.1["id"], c.1["id"], "both answer with the same applicant");
        assert_eq!(count(&app, &iin(100 + round)).await, 1);
    }
    app.stop().await;
}

#[tokio::test]
async fn a_refused_entry_gets_its_reason_and_nothing_is_saved() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let csrf = session(&b).await.1["csrf"].as_str().unwrap().to_string();
    // Invalid: a birth date that disagrees with the IIN.
    let mut bad = entry("bad-1", &iin(5));
    bad["birth_date"] = json!("01.01.1990");
    let (st, r) = replay(&b, &csrf, &bad).await;
    assert_eq!(st, 422);
    assert_eq!(
        r["errors"]["birth_date"],
        "Дата рождения не совпадает с ИИН"
    );
    // Duplicate IIN under another key.
    replay(&b, &csrf, &entry("dup-1", &iin(6))).await;
    let (st, r) = replay(&b, &csrf, &entry("dup-2", &iin(6))).await;
    assert_eq!(st, 409);
    assert_eq!(r["message"], "Претендент с таким ИИН уже зарегистрирован");
    // Another region's place.
    let mut foreign = entry("foreign-1", &iin(7));
    foreign["kato"] = json!("750000000");
    let (st, r) = replay(&b, &csrf, &foreign).await;
    assert_eq!(st, 422);
    assert!(r["errors"]["kato"]
        .as_str()
        .unwrap()
        .contains("вашего региона"));
    assert_eq!(count(&app, &iin(7)).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn an_expired_session_pauses_the_queue_and_a_foreign_token_is_refused() {
    let app = App::start().await;
    let anon = app.browser();
    let (st, r) = session(&anon).await;
    assert_eq!(st, 401);
    assert_eq!(r["status"], "unauthorized");
    let b = app.signed_in("mg_admin").await;
    let (st, _) = replay(&b, "not-the-token", &entry("k", &iin(9))).await;
    assert_eq!(st, 403);
    // Office staff cannot add through the queue either.
    let office = app.signed_in("office").await;
    let csrf = session(&office).await.1["csrf"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, _) = replay(&office, &csrf, &entry("office-1", &iin(10))).await;
    assert_eq!(st, 403);
    assert_eq!(count(&app, &iin(10)).await, 0);
    app.stop().await;
}

#[tokio::test]
async fn the_worker_is_served_at_the_root_with_this_deployments_version() {
    let app = App::start().await;
    let b = app.browser();
    let r = b.get("/sw.js").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    let text = r.text().await.unwrap();
    assert!(text.contains(talapker::web::offline::shell_version()));
    assert!(!text.contains("__SHELL_VERSION__"));
    for part in ["/sw/storage.js", "/sw/queue.js"] {
        assert_eq!(b.get(part).await.status(), 200, "{part}");
    }
    assert_eq!(b.get("/sw/nope.js").await.status(), 404);
    let (st, html) = b.get_text("/offline").await;
    assert_eq!(st, 200);
    assert!(html.contains("Нет подключения"));
    app.stop().await;
}
