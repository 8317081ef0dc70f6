//! The access matrix (#9.1): every route × every role (anonymous, mobile group of region A,
//! mobile group of region B, office, admin) × the resource's region and state, with the exact
//! outcome. The routes are read from the source (`.at("…", get(…).post(…))` in src/web and the
//! simulator): a route added later without a row here fails `every_route_has_a_row`.

mod common;

use std::collections::BTreeSet;

use common::{csrf_of, App, Browser};
use talapker::domain::iin::{make_iin, Gender};
use talapker::domain::user::{hash_password, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// mg_admin: mobile group of Astana (region A), who owns the resources.
    Owner,
    /// mobile group of Almaty (region B).
    OtherRegion,
    Office,
    Admin,
}
use Who::*;

/// The order of the roles in a row's expectations; the owner goes last so that the only
/// request that may change a resource comes after every refusal.
const ROLES: [Who; 5] = [Anonymous, OtherRegion, Office, Admin, Owner];

/// Which resource a `:id` names.
#[derive(Debug, Clone, Copy)]
enum Res {
    None,
    /// An applicant of region A, new, in no list.
    Applicant,
    /// An applicant of region A whose list was sent to АИС.
    SentApplicant,
    /// A list of region A, not sent.
    DraftList,
    /// A list of region A, sent to АИС.
    SentList,
    /// A file of the service worker.
    WorkerFile,
    Static,
}

#[derive(Debug, Clone, Copy)]
enum Body {
    None,
    /// The applicant form with a fresh IIN (and `version=1` for an edit).
    ApplicantForm,
    Note,
    /// A passkey's new name.
    Name,
    Json(&'static str),
    Login,
}

/// method, route pattern (as mounted), resource, body, statuses for ROLES
/// (anonymous, other region, office, admin, owner). 303 to /login for anonymous is written 303.
type Row = (&'static str, &'static str, Res, Body, [u16; 5]);

const MATRIX: &[Row] = &[
    // Public pages and assets.
    ("GET", "/", Res::None, Body::None, [200, 200, 200, 200, 200]),
    (
        "GET",
        "/login",
        Res::None,
        Body::None,
        [200, 303, 303, 303, 303],
    ),
    (
        "POST",
        "/login",
        Res::None,
        Body::Login,
        [401, 401, 401, 401, 401],
    ),
    (
        "POST",
        "/logout",
        Res::None,
        Body::None,
        [303, 303, 303, 303, 303],
    ),
    (
        "GET",
        "/lang/:lang",
        Res::None,
        Body::None,
        [303, 303, 303, 303, 303],
    ),
    (
        "GET",
        "/healthz",
        Res::None,
        Body::None,
        [200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/static/*",
        Res::Static,
        Body::None,
        [200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/sw.js",
        Res::None,
        Body::None,
        [200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/sw/:file",
        Res::WorkerFile,
        Body::None,
        [200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/offline",
        Res::None,
        Body::None,
        [200, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/kato",
        Res::None,
        Body::None,
        [303, 200, 200, 200, 200],
    ),
    // The cabinet.
    (
        "GET",
        "/cabinet/",
        Res::None,
        Body::None,
        [303, 303, 303, 303, 303],
    ),
    (
        "GET",
        "/cabinet/pending",
        Res::None,
        Body::None,
        [303, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/cabinet/sync/session",
        Res::None,
        Body::None,
        [401, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/cabinet/sync/applicants",
        Res::None,
        Body::Json("{}"),
        [401, 422, 403, 403, 422],
    ),
    // «Данные претендентов».
    (
        "GET",
        "/cabinet/applicants/",
        Res::None,
        Body::None,
        [303, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/cabinet/applicants/",
        Res::None,
        Body::ApplicantForm,
        [303, 422, 403, 403, 303],
    ),
    (
        "GET",
        "/cabinet/applicants/new",
        Res::None,
        Body::None,
        [303, 200, 403, 403, 200],
    ),
    (
        "GET",
        "/cabinet/applicants/export.xlsx",
        Res::None,
        Body::None,
        [303, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/cabinet/applicants/:id",
        Res::Applicant,
        Body::None,
        [303, 404, 200, 200, 200],
    ),
    (
        "POST",
        "/cabinet/applicants/:id",
        Res::Applicant,
        Body::ApplicantForm,
        [303, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/cabinet/applicants/:id",
        Res::SentApplicant,
        Body::ApplicantForm,
        [303, 404, 403, 403, 403],
    ),
    (
        "GET",
        "/cabinet/applicants/:id/edit",
        Res::Applicant,
        Body::None,
        [303, 404, 403, 403, 200],
    ),
    (
        "GET",
        "/cabinet/applicants/:id/edit",
        Res::SentApplicant,
        Body::None,
        [303, 404, 403, 403, 403],
    ),
    (
        "GET",
        "/cabinet/applicants/:id/delete",
        Res::Applicant,
        Body::None,
        [303, 404, 403, 403, 200],
    ),
    (
        "POST",
        "/cabinet/applicants/:id/delete",
        Res::Applicant,
        Body::None,
        [303, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/cabinet/applicants/:id/delete",
        Res::SentApplicant,
        Body::None,
        [303, 404, 403, 403, 403],
    ),
    // «Списки».
    (
        "GET",
        "/cabinet/lists/",
        Res::None,
        Body::None,
        [303, 200, 200, 200, 200],
    ),
    (
        "GET",
        "/cabinet/lists/new",
        Res::None,
        Body::None,
        [303, 200, 403, 403, 200],
    ),
    (
        "POST",
        "/cabinet/lists/new",
        Res::None,
        Body::Note,
        [303, 422, 403, 403, 303],
    ),
    (
        "GET",
        "/cabinet/lists/changes",
        Res::DraftList,
        Body::None,
        [303, 204, 204, 204, 204],
    ),
    (
        "GET",
        "/cabinet/lists/:id",
        Res::DraftList,
        Body::None,
        [303, 404, 200, 200, 200],
    ),
    (
        "GET",
        "/cabinet/lists/:id/rename",
        Res::DraftList,
        Body::None,
        [303, 404, 403, 403, 200],
    ),
    (
        "GET",
        "/cabinet/lists/:id/rename",
        Res::SentList,
        Body::None,
        [303, 404, 403, 403, 403],
    ),
    (
        "POST",
        "/cabinet/lists/:id/rename",
        Res::DraftList,
        Body::Note,
        [303, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/cabinet/lists/:id/rename",
        Res::SentList,
        Body::Note,
        [303, 404, 403, 403, 403],
    ),
    (
        "GET",
        "/cabinet/lists/:id/delete",
        Res::DraftList,
        Body::None,
        [303, 404, 403, 403, 200],
    ),
    (
        "POST",
        "/cabinet/lists/:id/delete",
        Res::DraftList,
        Body::None,
        [303, 404, 403, 403, 303],
    ),
    (
        "POST",
        "/cabinet/lists/:id/delete",
        Res::SentList,
        Body::None,
        [303, 404, 403, 403, 403],
    ),
    (
        "GET",
        "/cabinet/lists/:id/export.xlsx",
        Res::DraftList,
        Body::None,
        [303, 404, 200, 200, 200],
    ),
    (
        "GET",
        "/cabinet/lists/:id/sign",
        Res::DraftList,
        Body::None,
        [303, 404, 403, 403, 200],
    ),
    (
        "POST",
        "/cabinet/lists/:id/sign",
        Res::DraftList,
        Body::Json(r#"{"version":1,"signature":"AA=="}"#),
        [303, 404, 403, 403, 422],
    ),
    (
        "POST",
        "/cabinet/lists/:id/sign",
        Res::SentList,
        Body::Json(r#"{"version":2,"signature":"AA=="}"#),
        [303, 404, 403, 403, 409],
    ),
    (
        "GET",
        "/cabinet/lists/:id/payload",
        Res::DraftList,
        Body::None,
        [303, 404, 403, 403, 200],
    ),
    (
        "GET",
        "/cabinet/lists/:id/payload",
        Res::SentList,
        Body::None,
        [303, 404, 403, 403, 409],
    ),
    // «Профиль» and passkeys.
    (
        "GET",
        "/profile/",
        Res::None,
        Body::None,
        [303, 200, 200, 200, 200],
    ),
    // JSON endpoints answer 401 rather than redirect; registering needs the password again.
    (
        "POST",
        "/profile/register/options",
        Res::None,
        Body::Json("{}"),
        [401, 422, 422, 422, 422],
    ),
    (
        "POST",
        "/profile/register",
        Res::None,
        Body::Json("{}"),
        [401, 400, 400, 400, 400],
    ),
    (
        "POST",
        "/profile/passkeys/:id/rename",
        Res::None,
        Body::Name,
        [303, 404, 404, 404, 404],
    ),
    (
        "POST",
        "/profile/passkeys/:id/delete",
        Res::None,
        Body::None,
        [303, 404, 404, 404, 404],
    ),
    (
        "POST",
        "/profile/sign-in/options",
        Res::None,
        Body::Json("{}"),
        [200, 200, 200, 200, 200],
    ),
    (
        "POST",
        "/profile/sign-in",
        Res::None,
        Body::Json("{}"),
        [400, 400, 400, 400, 400],
    ),
    // The administrator.
    (
        "GET",
        "/admin/audit",
        Res::None,
        Body::None,
        [303, 403, 403, 200, 403],
    ),
    // АИС: bearer tokens only; a browser's session counts for nothing.
    (
        "POST",
        "/api/ais/results",
        Res::None,
        Body::Json("{}"),
        [401, 401, 401, 401, 401],
    ),
    (
        "POST",
        "/ais-sim/api/packages",
        Res::None,
        Body::Json("{}"),
        [401, 401, 401, 401, 401],
    ),
    (
        "GET",
        "/ais-sim/api/packages/:id",
        Res::None,
        Body::None,
        [401, 401, 401, 401, 401],
    ),
    (
        "GET",
        "/ais-sim/api/stats",
        Res::None,
        Body::None,
        [401, 401, 401, 401, 401],
    ),
    (
        "GET",
        "/ais-sim/healthz",
        Res::None,
        Body::None,
        [200, 200, 200, 200, 200],
    ),
];

/// Every `.at("pattern", …)` of a source file with the methods it serves.
fn routes_in(source: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find(".at(") {
        rest = &rest[i + 4..];
        // The arguments up to the matching parenthesis.
        let mut depth = 1;
        let mut end = 0;
        for (j, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &rest[..end];
        let Some(q1) = args.find('"') else { continue };
        let Some(q2) = args[q1 + 1..].find('"') else {
            continue;
        };
        let pattern = args[q1 + 1..q1 + 1 + q2].to_string();
        let tail = &args[q1 + 2 + q2..];
        for (token, method) in [
            ("get(", "GET"),
            ("post(", "POST"),
            ("put(", "PUT"),
            ("delete(", "DELETE"),
            ("patch(", "PATCH"),
        ] {
            if tail.contains(token) {
                out.push((method.to_string(), pattern.clone()));
            }
        }
    }
    out
}

fn mounted(prefix: &str, pattern: &str) -> String {
    if prefix.is_empty() {
        pattern.to_string()
    } else if pattern == "/" {
        format!("{prefix}/")
    } else {
        format!("{prefix}{pattern}")
    }
}

#[test]
fn every_route_has_a_row() {
    let root = env!("CARGO_MANIFEST_DIR");
    let read = |p: &str| std::fs::read_to_string(format!("{root}/{p}")).unwrap();
    let mut found = BTreeSet::new();
    for (file, prefix) in [
        ("src/web/applicants.rs", "/cabinet/applicants"),
        ("src/web/audit.rs", "/admin"),
        ("src/web/auth.rs", ""),
        ("src/web/cabinet.rs", "/cabinet"),
        ("src/web/lists.rs", "/cabinet/lists"),
        ("src/web/mod.rs", ""),
        ("src/web/passkeys.rs", "/profile"),
        ("src/web/signing.rs", "/api/ais"),
        ("src/ais/sim.rs", "/ais-sim"),
    ] {
        for (m, p) in routes_in(&read(file)) {
            found.insert((m, mounted(prefix, &p)));
        }
    }
    // offline.rs mounts some routes at the root and some under /cabinet.
    let offline = read("src/web/offline.rs");
    let (root_part, cabinet_part) =
        offline.split_at(offline.find("pub fn cabinet_routes").unwrap());
    for (m, p) in routes_in(root_part) {
        found.insert((m, p));
    }
    for (m, p) in routes_in(cabinet_part) {
        found.insert((m, mounted("/cabinet", &p)));
    }
    // Nested endpoints that are not `.at` routes.
    assert!(read("src/web/mod.rs").contains(".nest(\"/static\", EmbeddedFilesEndpoint"));
    found.insert(("GET".into(), "/static/*".into()));

    let in_matrix: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, p, ..)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = found.difference(&in_matrix).collect();
    let stale: Vec<_> = in_matrix.difference(&found).collect();
    assert!(
        missing.is_empty(),
        "routes without a row in the access matrix: {missing:?}"
    );
    assert!(
        stale.is_empty(),
        "rows for routes that do not exist: {stale:?}"
    );
}

struct Fixture {
    applicant: String,
    sent_applicant: String,
    draft_list: String,
    sent_list: String,
}

static SERIAL: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);

fn fresh_iin() -> String {
    loop {
        let n = SERIAL.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let date = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap()
            + chrono::Duration::days(i64::from(n % 5000));
        if let Some(iin) = make_iin(date, Gender::Female, n / 5000 + 1) {
            return iin.to_string();
        }
    }
}

fn applicant_form(iin: &str) -> Vec<(&'static str, String)> {
    let birth = talapker::domain::iin::Iin::parse(iin)
        .unwrap()
        .birth_date()
        .format("%d.%m.%Y")
        .to_string();
    vec![
        ("iin", iin.to_string()),
        ("last_name", "Матрицева".into()),
        ("first_name", "Айгерим".into()),
        ("middle_name", "".into()),
        ("birth_date", birth),
        ("gender", "female".into()),
        ("kato", "711310000".into()),
        ("street", "Сейфуллина".into()),
        ("house", "1".into()),
        ("flat", "".into()),
        ("applicant_category", "grad11".into()),
        ("employment_category", "unemployed".into()),
    ]
}

async fn add(b: &Browser, iin: &str) -> String {
    let f = applicant_form(iin);
    let fields: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = b
        .submit("/cabinet/applicants", "/cabinet/applicants", &fields)
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text(&format!("/cabinet/applicants?iin={iin}")).await;
    let marker = "<tr id=\"applicant-";
    let i = html.find(marker).expect("the applicant's row") + marker.len();
    html[i..].split('"').next().unwrap().to_string()
}

async fn form_list(b: &Browser) -> String {
    let r = b
        .submit(
            "/cabinet/lists",
            "/cabinet/lists/new",
            &[("note", "матрица")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text("/cabinet/lists").await;
    let i = html.find("id=\"list-").unwrap() + "id=\"list-".len();
    html[i..].split('"').next().unwrap().to_string()
}

async fn fixture(app: &App, owner: &Browser) -> Fixture {
    add(owner, &fresh_iin()).await;
    let draft_list = form_list(owner).await;
    let sent_applicant = add(owner, &fresh_iin()).await;
    let sent_list = form_list(owner).await;
    app.state()
        .db
        .query("UPDATE type::record('list', $id) SET status = 'sent', signed = 1; UPDATE applicant SET sent = true WHERE list = $id;")
        .bind(("id", sent_list.clone()))
        .await
        .unwrap()
        .check()
        .unwrap();
    let applicant = add(owner, &fresh_iin()).await;
    Fixture {
        applicant,
        sent_applicant,
        draft_list,
        sent_list,
    }
}

fn path_of(pattern: &str, res: Res, f: &Fixture) -> String {
    let id = match res {
        Res::Applicant => f.applicant.as_str(),
        Res::SentApplicant => f.sent_applicant.as_str(),
        Res::DraftList => f.draft_list.as_str(),
        Res::SentList => f.sent_list.as_str(),
        Res::WorkerFile => "queue.js",
        Res::Static => "",
        Res::None => "nothing",
    };
    match pattern {
        "/static/*" => "/static/js/app.js".into(),
        "/lang/:lang" => "/lang/kz?back=/".into(),
        "/cabinet/lists/changes" => format!(
            "/cabinet/lists/changes?ids={}&since={}",
            f.draft_list,
            talapker::web::signing::stamp(chrono::Utc::now())
        ),
        p => p.replace(":id", id).replace(":file", id),
    }
}

async fn browser_for(app: &App, who: Who) -> Browser {
    match who {
        Anonymous => app.browser(),
        Owner => app.signed_in("mg_admin").await,
        OtherRegion => app.signed_in("almaty_mg").await,
        Office => app.signed_in("office").await,
        Admin => app.signed_in("admin").await,
    }
}

async fn request(b: &Browser, method: &str, path: &str, body: Body) -> u16 {
    // A valid CSRF token of this browser, so that what is tested is the access rule.
    let (_, page) = b.get_text("/login").await;
    let token = if page.contains("name=\"csrf_token\"") {
        csrf_of(&page)
    } else {
        let (_, page) = b.get_text("/profile").await;
        csrf_of(&page)
    };
    let url = format!("{}{}", b.base, path);
    let req = match method {
        "GET" => b.client.get(&url),
        _ => b.client.post(&url).header("X-CSRF-Token", token),
    };
    let req = match body {
        Body::None => req,
        Body::ApplicantForm => {
            let mut f = applicant_form(&fresh_iin());
            f.push(("version", "1".into()));
            req.form(&f)
        }
        Body::Note => req.form(&[("note", "матрица")]),
        Body::Name => req.form(&[("name", "ключ")]),
        Body::Login => {
            let login = format!(
                "nobody{}",
                SERIAL.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            );
            req.form(&[("login", login.as_str()), ("password", "wrong-password")])
        }
        Body::Json(j) => req.header("content-type", "application/json").body(j),
    };
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_route_answers_every_role_exactly_as_the_rules_say() {
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
    let owner = app.signed_in("mg_admin").await;
    let mut failures = Vec::new();
    for (method, pattern, res, body, expected) in MATRIX {
        let f = fixture(&app, &owner).await;
        let path = path_of(pattern, *res, &f);
        for (who, want) in ROLES.iter().zip(expected.iter()) {
            let b = browser_for(&app, *who).await;
            let got = request(&b, method, &path, *body).await;
            if got != *want {
                failures.push(format!(
                    "{method} {pattern} ({res:?}) as {who:?}: expected {want}, got {got}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cell(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    app.stop().await;
}

#[tokio::test]
async fn every_state_changing_route_refuses_a_request_without_a_valid_csrf_token() {
    let app = App::start().await;
    let owner = app.signed_in("mg_admin").await;
    let f = fixture(&app, &owner).await;
    for (method, pattern, res, body, _) in MATRIX.iter().filter(|r| r.0 != "GET") {
        // Bearer-token APIs are not reached by browsers' cookies.
        if pattern.starts_with("/api/ais/") || pattern.starts_with("/ais-sim/") {
            continue;
        }
        let path = path_of(pattern, *res, &f);
        let url = format!("{}{}", owner.base, path);
        for token in [None, Some("forged-token")] {
            let mut req = owner.client.post(&url);
            if let Some(t) = token {
                req = req.header("X-CSRF-Token", t);
            }
            let req = match body {
                Body::Json(j) => req.header("content-type", "application/json").body(*j),
                _ => req.form(&[("note", "x"), ("csrf_token", token.unwrap_or(""))]),
            };
            let r = req.send().await.unwrap();
            assert_eq!(r.status(), 403, "{method} {pattern} with token {token:?}");
            assert!(r
                .text()
                .await
                .unwrap()
                .contains("Недействительный токен формы"));
        }
    }
    // Nothing changed: the list is still there, the applicant too.
    assert_eq!(
        owner
            .get(&format!("/cabinet/lists/{}", f.draft_list))
            .await
            .status(),
        200
    );
    assert_eq!(
        owner
            .get(&format!("/cabinet/applicants/{}", f.applicant))
            .await
            .status(),
        200
    );
    app.stop().await;
}
