//! Sign-in, lock-out, sign-out, CSRF, sessions across restarts, migrations (issue: foundation).

mod common;

use common::{csrf_of, App};
use talapker::config::Settings;

#[tokio::test]
async fn the_home_page_offers_sign_in_and_the_cabinet_needs_it() {
    let app = App::start().await;
    let b = app.browser();
    let (status, html) = b.get_text("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("ЭЛЕКТРОННАЯ БИРЖА ТРУДА"));
    assert!(html.contains(">Войти<"));
    let r = b.get("/cabinet/applicants").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    app.stop().await;
}

#[tokio::test]
async fn a_demo_user_signs_in_and_sees_both_tabs() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let (status, html) = b.get_text("/cabinet/applicants").await;
    assert_eq!(status, 200);
    assert!(html.contains("Данные претендентов"));
    assert!(html.contains("Списки"));
    assert!(html.contains("Личный кабинет"));
    assert!(html.contains("Выйти"));
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_password_or_empty_login_gets_a_clear_message_and_4xx() {
    let app = App::start().await;
    let b = app.browser();
    let r = b.login("mg_admin", "wrong").await;
    assert_eq!(r.status(), 401);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Неверный логин или пароль"));
    let r = b.login("", "demo").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Введите логин"));
    let r = b.login("nobody", "demo").await;
    assert_eq!(r.status(), 401);
    let r = b.login("mg_admin", "").await;
    assert_eq!(r.status(), 422);
    app.stop().await;
}

#[tokio::test]
async fn five_failures_lock_the_login_even_for_the_right_password() {
    let app = App::start().await;
    let b = app.browser();
    for i in 1..=5 {
        let r = b.login("office", "wrong").await;
        let expected = if i < 5 { 401 } else { 429 };
        assert_eq!(r.status(), expected, "attempt {i}");
    }
    let r = b.login("office", "demo").await;
    assert_eq!(r.status(), 429);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Слишком много неудачных попыток входа"));
    // Another login is not affected.
    assert_eq!(b.login("mg_admin", "demo").await.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn a_post_without_a_valid_csrf_token_is_refused() {
    let app = App::start().await;
    let b = app.browser();
    // No token at all.
    let r = b
        .post_form("/login", &[("login", "mg_admin"), ("password", "demo")])
        .await;
    assert_eq!(r.status(), 403);
    // A token from another browser.
    let other = app.browser();
    let foreign = other.csrf("/login").await;
    let _ = b.get("/login").await;
    let r = b
        .post_form(
            "/login",
            &[
                ("login", "mg_admin"),
                ("password", "demo"),
                ("csrf_token", &foreign),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    // Signed in: logout without a token is refused and the session stays.
    let s = app.signed_in("mg_admin").await;
    let r = s.post_form("/logout", &[]).await;
    assert_eq!(r.status(), 403);
    assert_eq!(s.get("/cabinet/applicants").await.status(), 200);
    // The header form works.
    let r = s
        .client
        .post(app.url("/logout"))
        .header("X-CSRF-Token", s.csrf("/cabinet/applicants").await)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn logout_ends_the_session_on_the_server() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let cookie = {
        // Keep a copy of the session cookie as an attacker would.
        let r = b.get("/cabinet/applicants").await;
        assert_eq!(r.status(), 200);
        b.csrf("/cabinet/applicants").await
    };
    let r = b.submit("/cabinet/applicants", "/logout", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(b.get("/cabinet/applicants").await.status(), 303);
    assert!(!cookie.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_copied_session_cookie_stops_working_the_moment_its_owner_signs_out() {
    let app = App::start().await;
    let b = app.browser();
    let r = b.login("mg_admin", "demo").await;
    assert_eq!(r.status(), 303);
    let session = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("talapker_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string();
    // The copy works while the session lives (and the server has just looked it up)…
    let thief = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let replay = || {
        thief
            .get(app.url("/cabinet/applicants"))
            .header("cookie", session.as_str())
            .send()
    };
    assert_eq!(replay().await.unwrap().status(), 200);
    assert_eq!(b.get("/cabinet/applicants").await.status(), 200);
    // …and not a moment after the owner signs out, although it was looked up a moment ago.
    let r = b.submit("/cabinet/applicants", "/logout", &[]).await;
    assert_eq!(r.status(), 303);
    let r = replay().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    app.stop().await;
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_and_renewed_at_login() {
    let app = App::start().await;
    let b = app.browser();
    let token = b.csrf("/login").await;
    let r = b
        .post_form(
            "/login",
            &[
                ("login", "mg_admin"),
                ("password", "demo"),
                ("csrf_token", &token),
            ],
        )
        .await;
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("talapker_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly"));
    assert!(session.contains("SameSite=Lax"));
    let first = session.split(';').next().unwrap().to_string();
    // Signing in again gives a new session id.
    let b2 = app.browser();
    let token = b2.csrf("/login").await;
    let r = b2
        .post_form(
            "/login",
            &[
                ("login", "mg_admin"),
                ("password", "demo"),
                ("csrf_token", &token),
            ],
        )
        .await;
    let second = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("talapker_session="))
        .unwrap();
    assert_ne!(first, second.split(';').next().unwrap());
    app.stop().await;
}

#[tokio::test]
async fn security_headers_are_set() {
    let app = App::start().await;
    let r = app.browser().get("/").await;
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert!(r.headers().contains_key("referrer-policy"));
    assert!(r.headers().contains_key("x-request-id"));
    let html = r.text().await.unwrap();
    assert!(!html.contains("<script>"), "no inline script");
    app.stop().await;
}

#[tokio::test]
async fn healthz_checks_the_database() {
    let app = App::start().await;
    let r = app.browser().get("/healthz").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    app.stop().await;
}

#[tokio::test]
async fn the_language_switch_translates_the_cabinet() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let r = b.get("/lang/kz?back=/cabinet/applicants").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/cabinet/applicants");
    let (_, html) = b.get_text("/cabinet/applicants").await;
    assert!(html.contains("Үміткерлердің деректері"));
    assert!(html.contains("Тізімдер"));
    // Only local paths are followed back.
    let r = b.get("/lang/ru?back=//evil.example").await;
    assert_eq!(r.headers()["location"], "/");
    app.stop().await;
}

#[tokio::test]
async fn sessions_survive_a_restart_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings::for_tests(dir.path().to_path_buf());
    settings.db = Some(format!("surrealkv://{}", dir.path().join("db").display()));
    let app = App::start_with(settings.clone(), dir).await;
    let mut b = app.signed_in("mg_admin").await;
    assert_eq!(b.get("/cabinet/applicants").await.status(), 200);
    let dir = app.stop().await;
    let app = App::start_with(settings, dir).await;
    b.base = app.base.clone();
    let (status, html) = b.get_text("/cabinet/applicants").await;
    assert_eq!(status, 200, "the session survives: {html}");
    assert!(html.contains("mg_admin"));
    app.stop().await;
}

#[tokio::test]
async fn a_changed_migration_stops_the_start() {
    let app = App::start().await;
    let db = app.state().db.clone();
    let mut ms = talapker::store::embedded_migrations();
    // Applying the same files again changes nothing.
    assert_eq!(talapker::store::migrate(&db, &ms).await.unwrap(), 0);
    ms[0].sql.push_str("\n-- edited after release");
    ms[0].checksum = "0".repeat(64);
    let err = talapker::store::migrate(&db, &ms).await.unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("0001_schema.surql") && msg.contains("changed"),
        "{msg}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_new_migration_is_applied_once_in_its_transaction() {
    let app = App::start().await;
    let db = app.state().db.clone();
    let mut ms = talapker::store::embedded_migrations();
    ms.push(talapker::store::Migration {
        name: "9999_broken.surql".into(),
        sql: "DEFINE TABLE probe SCHEMAFULL; DEFINE FIELD x ON probe TYPE int; CREATE probe CONTENT { x: 'not a number' };".into(),
        checksum: "1".repeat(64),
    });
    assert!(talapker::store::migrate(&db, &ms).await.is_err());
    // The failed migration left nothing behind: neither the table nor its record.
    let names: Vec<String> = db
        .query("SELECT VALUE name FROM migration")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert!(!names.contains(&"9999_broken.surql".to_string()));
    ms.last_mut().unwrap().sql = "DEFINE TABLE probe SCHEMAFULL; DEFINE FIELD x ON probe TYPE int; CREATE probe CONTENT { x: 1 };".into();
    assert_eq!(talapker::store::migrate(&db, &ms).await.unwrap(), 1);
    assert_eq!(talapker::store::migrate(&db, &ms).await.unwrap(), 0);
    app.stop().await;
}

#[tokio::test]
async fn the_csrf_token_on_the_page_is_the_one_the_server_accepts() {
    let app = App::start().await;
    let b = app.browser();
    let (_, html) = b.get_text("/login").await;
    let token = csrf_of(&html);
    assert_eq!(token.len(), 64);
    app.stop().await;
}

#[tokio::test]
async fn an_expired_session_on_an_htmx_request_navigates_to_sign_in() {
    let app = App::start().await;
    let b = app.browser();
    let r = b
        .htmx_get("/cabinet/applicants?fio=x", "applicant-table")
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["hx-redirect"], "/login");
    assert!(!r.headers().contains_key("location"));
    app.stop().await;
}

#[tokio::test]
async fn a_session_id_planted_before_sign_in_is_never_used_after_it_and_cookies_are_secure_behind_tls(
) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = talapker::config::Settings::for_tests(dir.path().to_path_buf());
    s.secure_cookies = true;
    let app = App::start_with(s, dir).await;
    let planted = "planted-by-an-attacker-0123456789abcdef";
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(
        &format!("talapker_session={planted}; Path=/"),
        &app.base.parse().unwrap(),
    );
    let client = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (_, page) = {
        let r = client.get(app.url("/login")).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    };
    let token = common::csrf_of(&page);
    let r = client
        .post(app.url("/login"))
        .form(&[
            ("login", "mg_admin"),
            ("password", "demo"),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let set: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = set
        .iter()
        .find(|c| c.starts_with("talapker_session="))
        .expect("a new session cookie");
    let value = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("talapker_session=");
    assert_ne!(value, planted, "the planted id is not adopted");
    for flag in ["HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(session.contains(flag), "{flag} in {session}");
    }
    // The planted id opens nothing; the new one does.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = plain
        .get(app.url("/cabinet/applicants"))
        .header("cookie", format!("talapker_session={planted}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let r = plain
        .get(app.url("/cabinet/applicants"))
        .header("cookie", format!("talapker_session={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.stop().await;
}
