//! ЭЦП signing and the exchange with АИС «Рынок труда» (manual §9–11), with two real HTTP
//! servers: the portal and `ais-sim`. Signatures are made with the demo PKI's .p12 keys, as
//! the in-page signer makes them (CMS SignedData, signed attributes, content attached).

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use common::{App, Browser};
use talapker::config::Settings;
use talapker::signing::pki::{self, CmsOptions};
use talapker::startup::{self, SimRunning};

const TOKEN: &str = "packages-token-for-tests";
const CALLBACK: &str = "results-token-for-tests";

/// One demo PKI per test binary: RSA key generation is slow in a debug build.
fn demo_pki() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let users: Vec<(&str, &str, &str)> = startup::DEMO_ACCOUNTS
            .iter()
            .map(|(login, _, _, iin, name)| (*login, *name, *iin))
            .collect();
        pki::write_demo_pki(&dir, &users, "demo1234").unwrap();
        // One registry for every test.
        talapker::ais::registry::generate(&dir.join("registry.csv"), 100, 1).unwrap();
        dir
    })
}

fn settings(dir: &std::path::Path, listen: &str, ais_url: Option<String>) -> Settings {
    let mut s = Settings::for_tests(dir.to_path_buf());
    s.listen = listen.parse().unwrap();
    s.trust_dir = Some(demo_pki().join("trust"));
    s.ais_registry = Some(demo_pki().join("registry.csv"));
    s.ais_token = Some(TOKEN.into());
    s.ais_callback_token = Some(CALLBACK.into());
    s.ais_delay_ms = 100;
    s.ais_url = ais_url;
    s
}

async fn start_sim(listen: &str) -> (SimRunning, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), listen, None);
    let mut tries = 0;
    loop {
        match startup::spawn_simulator(&s).await {
            Ok(sim) => return (sim, dir),
            Err(e) if tries < 50 => {
                tries += 1;
                let _ = e;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the simulator starts: {e:#}"),
        }
    }
}

async fn start_portal(ais: &str) -> App {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), "127.0.0.1:0", Some(ais.to_string()));
    App::start_with(s, dir).await
}

/// An applicant of the registry, typed into the form of fig. 5.
struct Person {
    iin: &'static str,
    last: &'static str,
    first: &'static str,
    middle: &'static str,
    gender: &'static str,
    employment: &'static str,
}

const AINUR: Person = Person {
    iin: "920526450510",
    last: "Жаншакимова",
    first: "Айнур",
    middle: "Мараловна",
    gender: "female",
    employment: "unemployed",
};
/// Typed with a wrong first name: «ФИО не совпадает с данными ГБД ФЛ».
const KUANYSH_TYPO: Person = Person {
    iin: "780402301292",
    last: "Кабылдинов",
    first: "Куанышбек",
    middle: "",
    gender: "male",
    employment: "unemployed",
};
/// In regular work: «Претендент трудоустроен».
const VASILIEV: Person = Person {
    iin: "711020302076",
    last: "Васильев",
    first: "Александр",
    middle: "Андреевич",
    gender: "male",
    employment: "unemployed",
};

fn form_of(p: &Person) -> Vec<(&'static str, String)> {
    let birth = talapker::domain::iin::Iin::parse(p.iin)
        .unwrap()
        .birth_date()
        .format("%d.%m.%Y")
        .to_string();
    vec![
        ("iin", p.iin.into()),
        ("last_name", p.last.into()),
        ("first_name", p.first.into()),
        ("middle_name", p.middle.into()),
        ("birth_date", birth),
        ("gender", p.gender.into()),
        ("kato", "711310000".into()),
        ("street", "Сейфуллина".into()),
        ("house", "37".into()),
        ("flat", "".into()),
        ("applicant_category", "neet".into()),
        ("employment_category", p.employment.into()),
    ]
}

fn borrow<'a>(f: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    f.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn add(b: &Browser, p: &Person) {
    let f = form_of(p);
    let r = b
        .submit("/cabinet/applicants", "/cabinet/applicants", &borrow(&f))
        .await;
    assert_eq!(
        r.status(),
        303,
        "adding {}: {}",
        p.iin,
        r.text().await.unwrap()
    );
}

async fn form_list(b: &Browser) -> String {
    let r = b
        .submit("/cabinet/lists", "/cabinet/lists/new", &[("note", "ТиПО")])
        .await;
    assert_eq!(r.status(), 303);
    let (_, html) = b.get_text("/cabinet/lists").await;
    let i = html.find("id=\"list-").expect("a list row") + "id=\"list-".len();
    html[i..].split('"').next().unwrap().to_string()
}

fn key(file: &str) -> pki::CertifiedKey {
    let bytes = std::fs::read(demo_pki().join("keys").join(file)).unwrap();
    pki::read_pkcs12(&bytes, "demo1234").unwrap()
}

/// Fetches the list's payload and signs it with `key_file`; returns (version, payload).
async fn payload_of(b: &Browser, list: &str) -> (i64, Vec<u8>) {
    let r = b.get(&format!("/cabinet/lists/{list}/payload")).await;
    assert_eq!(r.status(), 200);
    let version: i64 = r.headers()["x-list-version"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    (version, r.bytes().await.unwrap().to_vec())
}

async fn post_signature(
    b: &Browser,
    list: &str,
    version: i64,
    cms: &[u8],
) -> (u16, serde_json::Value) {
    let token = b.csrf(&format!("/cabinet/lists/{list}")).await;
    let r = b
        .client
        .post(format!("{}/cabinet/lists/{list}/sign", b.base))
        .header("X-CSRF-Token", token)
        .json(&serde_json::json!({
            "version": version,
            "signature": base64::engine::general_purpose::STANDARD.encode(cms),
        }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

async fn sign(b: &Browser, list: &str, key_file: &str) -> (u16, serde_json::Value) {
    let (version, payload) = payload_of(b, list).await;
    let cms = pki::sign_cms(&key(key_file), &payload, &CmsOptions::default()).unwrap();
    post_signature(b, list, version, &cms).await
}

async fn list_status(app: &App, list: &str) -> String {
    let s: Option<String> = app
        .state()
        .db
        .query("(SELECT VALUE status FROM type::record('list', $id))[0]")
        .bind(("id", list.to_string()))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    s.unwrap_or_default()
}

async fn wait_for_status(app: &App, list: &str, status: &str) {
    for _ in 0..300 {
        if list_status(app, list).await == status {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "list {list} never became {status} (is {})",
        list_status(app, list).await
    );
}

async fn applicant(app: &App, iin: &str) -> (String, String, String, i64) {
    use surrealdb::types::SurrealValue;
    #[derive(Debug, SurrealValue)]
    struct Row {
        id: String,
        status: String,
        ais_reason: String,
        version: i64,
    }
    let rows: Vec<Row> = app
        .state()
        .db
        .query("SELECT record::id(id) AS id, status, ais_reason, version FROM applicant WHERE iin = $iin")
        .bind(("iin", iin.to_string()))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    let r = rows.into_iter().next().expect("the applicant exists");
    (r.id, r.status, r.ais_reason, r.version)
}

/// The simulator's (packages, answered), once it has settled on `want`: the simulator marks a
/// package answered only after the portal has accepted its results, so it may lag the portal.
async fn sim_packages(sim: &SimRunning, want: (i64, i64)) -> (i64, i64) {
    let mut got = (0, 0);
    for _ in 0..100 {
        got = talapker::ais::sim::package_count(&sim.state.db)
            .await
            .unwrap();
        if got == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    got
}

#[tokio::test]
async fn sign_deliver_results_fix_refuse_resend_until_all_pass() {
    let (sim, _sim_dir) = start_sim("127.0.0.1:0").await;
    let app = start_portal(&format!("http://{}", sim.addr)).await;
    let b = app.signed_in("mg_admin").await;
    for p in [&AINUR, &KUANYSH_TYPO, &VASILIEV] {
        add(&b, p).await;
    }
    let list = form_list(&b).await;
    let (_, page) = b.get_text(&format!("/cabinet/lists/{list}")).await;
    assert!(page.contains(">Подписать ЭЦП и отправить на проверку<"));
    let (_, dialog) = b.get_text(&format!("/cabinet/lists/{list}/sign")).await;
    assert!(dialog.contains("role=\"dialog\""));
    assert!(dialog.contains("Ключ ЭЦП (файл с префиксом AUTH)</label>"));
    assert!(dialog.contains("Пароль к ключу ЭЦП</label>"));
    assert!(dialog.contains(">Отправить</button>"));

    // Version 1: signed with the user's own AUTH key.
    let (status, body) = sign(&b, &list, "AUTH_RSA256_mg_admin.p12").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["location"], format!("/cabinet/lists/{list}?msg=sent"));
    let (_, page) = b.get_text(&format!("/cabinet/lists/{list}?msg=sent")).await;
    assert!(
        page.contains("отправлен в АИС «Рынок труда»")
            || page.contains("получен из АИС «Рынок труда»")
    );
    assert!(page.contains("CN=Туменбай Улбосын Абайкызы, SERIALNUMBER=IIN941008400880, C=KZ"));
    // Applicants of a sent list can be neither edited nor deleted.
    let (id_a, _, _, _) = applicant(&app, AINUR.iin).await;
    let r = b
        .submit(
            "/cabinet/applicants",
            &format!("/cabinet/applicants/{id_a}/delete"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 403);

    wait_for_status(&app, &list, "received").await;
    let (_, a, reason, _) = applicant(&app, AINUR.iin).await;
    assert_eq!((a.as_str(), reason.as_str()), ("passed", ""));
    let (id_k, k, reason, version_k) = applicant(&app, KUANYSH_TYPO.iin).await;
    assert_eq!(
        (k.as_str(), reason.as_str()),
        ("failed", "ФИО не совпадает с данными ГБД ФЛ")
    );
    let (id_v, v, reason, version_v) = applicant(&app, VASILIEV.iin).await;
    assert_eq!(
        (v.as_str(), reason.as_str()),
        ("failed", "Претендент трудоустроен")
    );
    let (_, page) = b.get_text(&format!("/cabinet/lists/{list}")).await;
    assert!(page.contains("получен из АИС «Рынок труда»"));
    assert!(
        page.contains(
            "aria-label=\"Причина отказа в АИС &quot;Рынок труда&quot;: Претендент трудоустроен\""
        ),
        "{page}"
    );
    assert!(page.contains("прошли 1, не прошли 2"));

    // A failed applicant left as it is: the list cannot be sent again yet.
    let (status, _) = {
        let r = b.get(&format!("/cabinet/lists/{list}/payload")).await;
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 409);

    // The passed one cannot be changed; the failed ones can.
    assert_eq!(
        b.get(&format!("/cabinet/applicants/{id_a}/edit"))
            .await
            .status(),
        403
    );
    let fixed = Person {
        first: "Куаныш",
        ..KUANYSH_TYPO
    };
    let mut f = form_of(&fixed);
    f.push(("version", version_k.to_string()));
    let r = b
        .submit(
            "/cabinet/applicants",
            &format!("/cabinet/applicants/{id_k}"),
            &borrow(&f),
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let mut f = form_of(&VASILIEV);
    f.push(("version", version_v.to_string()));
    f.push(("mg_refused", "on".into()));
    f.push(("mg_reason", "Трудоустроен, от обучения отказался".into()));
    let r = b
        .submit(
            "/cabinet/applicants",
            &format!("/cabinet/applicants/{id_v}"),
            &borrow(&f),
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    assert_eq!(applicant(&app, KUANYSH_TYPO.iin).await.1, "changed");
    assert_eq!(applicant(&app, VASILIEV.iin).await.1, "refused");

    // Version 2 carries the correction and the refusal; АИС checks the changed one again.
    let (version, payload) = payload_of(&b, &list).await;
    assert_eq!(version, 2);
    let text = String::from_utf8(payload.clone()).unwrap();
    assert!(text.contains("\"first_name\":\"Куаныш\""));
    assert!(text.contains("\"mg_reason\":\"Трудоустроен, от обучения отказался\""));
    let cms = pki::sign_cms(
        &key("AUTH_ECDSA_mg_admin.p12"),
        &payload,
        &CmsOptions::default(),
    )
    .unwrap();
    let (status, body) = post_signature(&b, &list, version, &cms).await;
    assert_eq!(status, 200, "{body}");
    wait_for_status(&app, &list, "received").await;
    assert_eq!(applicant(&app, KUANYSH_TYPO.iin).await.1, "passed");
    assert_eq!(applicant(&app, VASILIEV.iin).await.1, "refused");
    assert_eq!(applicant(&app, AINUR.iin).await.1, "passed");
    let versions = talapker::store::signing::versions(&app.state().db, &list)
        .await
        .unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(
        (
            versions[0].version,
            versions[0].to_check,
            versions[0].refused,
            versions[0].passed,
            versions[0].failed
        ),
        (2, 1, 1, 1, 0)
    );
    assert_eq!(versions[0].algorithm, "ECDSA P-256");
    assert_eq!((versions[1].passed, versions[1].failed), (1, 2));
    // The stored signature verifies over the stored payload.
    let (stored_payload, stored_sig) =
        talapker::store::signing::stored_signature(&app.state().db, &list, 2)
            .await
            .unwrap()
            .unwrap();
    let der = base64::engine::general_purpose::STANDARD
        .decode(stored_sig)
        .unwrap();
    talapker::signing::verify_list_signature(
        &der,
        stored_payload.as_bytes(),
        &app.state().trust,
        "941008400880",
        chrono::Utc::now(),
    )
    .unwrap();
    // Nothing is left to send: everyone passed or was refused.
    assert_eq!(
        b.get(&format!("/cabinet/lists/{list}/payload"))
            .await
            .status(),
        409
    );
    assert_eq!(sim_packages(&sim, (2, 2)).await, (2, 2));
    app.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn ais_down_for_a_while_gets_the_package_once_when_it_comes_back() {
    // A port nobody listens on yet.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = start_portal(&format!("http://127.0.0.1:{port}")).await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &AINUR).await;
    let list = form_list(&b).await;
    let (status, body) = sign(&b, &list, "AUTH_RSA256_mg_admin.p12").await;
    assert_eq!(status, 200, "{body}");
    // The worker tries and fails; the package waits in the outbox.
    let mut attempts = 0;
    for _ in 0..100 {
        let rows = talapker::store::signing::outbox_all(&app.state().db)
            .await
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].state, "pending");
        attempts = rows[0].attempts;
        if attempts >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(attempts >= 1, "the worker tried");
    assert!(!talapker::store::signing::outbox_all(&app.state().db)
        .await
        .unwrap()[0]
        .last_error
        .is_empty());
    assert_eq!(list_status(&app, &list).await, "sent");
    // АИС comes back on that port.
    let (sim, _dir) = start_sim(&format!("127.0.0.1:{port}")).await;
    wait_for_status(&app, &list, "received").await;
    assert_eq!(applicant(&app, AINUR.iin).await.1, "passed");
    let rows = talapker::store::signing::outbox_all(&app.state().db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, "delivered");
    // Posting the same package again (a crash between the post and the mark) is still one.
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/api/packages"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body(rows[0].body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(sim_packages(&sim, (1, 1)).await, (1, 1));
    app.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn the_server_refuses_signatures_that_do_not_hold_each_with_its_message() {
    let (sim, _sim_dir) = start_sim("127.0.0.1:0").await;
    let app = start_portal(&format!("http://{}", sim.addr)).await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &AINUR).await;
    let list = form_list(&b).await;
    let (version, payload) = payload_of(&b, &list).await;
    assert_eq!(version, 1);

    // Another person's key.
    let cms = pki::sign_cms(
        &key("AUTH_RSA256_mg_field.p12"),
        &payload,
        &CmsOptions::default(),
    )
    .unwrap();
    let (status, body) = post_signature(&b, &list, version, &cms).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (422, "Сертификат не принадлежит пользователю")
    );
    // A payload changed after signing.
    let mut tampered = payload.clone();
    let i = tampered.iter().position(|&c| c == b'7').unwrap();
    tampered[i] = b'8';
    let cms = pki::sign_cms(
        &key("AUTH_RSA256_mg_admin.p12"),
        &tampered,
        &CmsOptions::default(),
    )
    .unwrap();
    let (status, body) = post_signature(&b, &list, version, &cms).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (422, "Подпись не соответствует данным списка")
    );
    // A key from a root nobody trusts.
    let root = pki::CertifiedKey::generate_root("Чужой УЦ", pki::KeyKind::Ecdsa).unwrap();
    let stranger = root
        .issue_user(
            "Туменбай Улбосын Абайкызы",
            "941008400880",
            pki::KeyKind::Ecdsa,
        )
        .unwrap();
    let cms = pki::sign_cms(&stranger, &payload, &CmsOptions::default()).unwrap();
    let (status, body) = post_signature(&b, &list, version, &cms).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (422, "Сертификат не выдан доверенным удостоверяющим центром")
    );
    // Garbage and a stale version.
    let (status, body) = post_signature(&b, &list, version, b"not a signature").await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (422, "Некорректный формат подписи")
    );
    let good = pki::sign_cms(
        &key("AUTH_RSA256_mg_admin.p12"),
        &payload,
        &CmsOptions::default(),
    )
    .unwrap();
    let (status, _) = post_signature(&b, &list, 7, &good).await;
    assert_eq!(status, 409);
    // The list changed between fetching the payload and sending the signature.
    let (id, _, _, v) = applicant(&app, AINUR.iin).await;
    let mut f = form_of(&AINUR);
    f.push(("version", v.to_string()));
    f[6].1 = "710000000".into();
    let _ = f;
    app.state()
        .db
        .query("UPDATE type::record('applicant', $id) SET street = 'Момышулы', version += 1")
        .bind(("id", id.clone()))
        .await
        .unwrap()
        .check()
        .unwrap();
    let (status, body) = post_signature(&b, &list, version, &good).await;
    assert_eq!(
        (status, body["error"].as_str().unwrap()),
        (422, "Подпись не соответствует данным списка")
    );
    assert_eq!(list_status(&app, &list).await, "draft", "nothing was sent");
    assert!(talapker::store::signing::outbox_all(&app.state().db)
        .await
        .unwrap()
        .is_empty());
    // Without the CSRF token, nothing.
    let r = b
        .client
        .post(format!("{}/cabinet/lists/{list}/sign", b.base))
        .json(&serde_json::json!({"version": 1, "signature": "AA=="}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // Office staff cannot sign; another region does not see the list.
    let office = app.signed_in("office").await;
    assert_eq!(
        office
            .get(&format!("/cabinet/lists/{list}/payload"))
            .await
            .status(),
        403
    );
    let field = app.signed_in("mg_field").await;
    assert_eq!(
        field
            .get(&format!("/cabinet/lists/{list}/payload"))
            .await
            .status(),
        404
    );
    app.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn the_results_endpoint_needs_its_token_and_applies_a_result_once() {
    let (sim, _sim_dir) = start_sim("127.0.0.1:0").await;
    let app = start_portal(&format!("http://{}", sim.addr)).await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &AINUR).await;
    let list = form_list(&b).await;
    let (status, _) = sign(&b, &list, "AUTH_RSA256_mg_admin.p12").await;
    assert_eq!(status, 200);
    wait_for_status(&app, &list, "received").await;
    let package = talapker::store::signing::versions(&app.state().db, &list)
        .await
        .unwrap()[0]
        .package
        .clone();
    let (id, _, _, _) = applicant(&app, AINUR.iin).await;
    let results = serde_json::json!({
        "result_id": format!("{package}.r"), "package_id": package, "list_id": list, "version": 1,
        "verdicts": [{"applicant_id": id, "iin": AINUR.iin, "passed": false, "reason": "Некорректные данные"}],
    });
    let client = reqwest::Client::new();
    let url = app.url("/api/ais/results");
    let r = client.post(&url).json(&results).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = client
        .post(&url)
        .bearer_auth("wrong")
        .json(&results)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // The same result again: applied once, nothing changes.
    let r = client
        .post(&url)
        .bearer_auth(CALLBACK)
        .json(&results)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["status"],
        "duplicate"
    );
    assert_eq!(applicant(&app, AINUR.iin).await.1, "passed");
    // A result nobody waits for.
    let mut other = results.clone();
    other["result_id"] = "another".into();
    let r = client
        .post(&url)
        .bearer_auth(CALLBACK)
        .json(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    let r = client
        .post(&url)
        .bearer_auth(CALLBACK)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(applicant(&app, AINUR.iin).await.1, "passed");
    app.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn out_of_the_box_the_built_in_simulator_answers() {
    // No АИС URL: the portal runs the simulator inside itself at /ais-sim.
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings::for_tests(dir.path().to_path_buf());
    s.trust_dir = Some(demo_pki().join("trust"));
    s.ais_registry = Some(demo_pki().join("registry.csv"));
    let app = App::start_with(s, dir).await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &AINUR).await;
    add(&b, &KUANYSH_TYPO).await;
    let list = form_list(&b).await;
    let (status, body) = sign(&b, &list, "AUTH_ECDSA_mg_admin.p12").await;
    assert_eq!(status, 200, "{body}");
    // The page polls and is told to refresh once АИС answered.
    let since = talapker::web::signing::stamp(chrono::Utc::now() - chrono::Duration::seconds(60));
    wait_for_status(&app, &list, "received").await;
    let r = b
        .get(&format!("/cabinet/lists/changes?ids={list}&since={since}"))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["hx-refresh"], "true");
    let now = talapker::web::signing::stamp(chrono::Utc::now());
    assert_eq!(
        b.get(&format!("/cabinet/lists/changes?ids={list}&since={now}"))
            .await
            .status(),
        204
    );
    assert_eq!(applicant(&app, AINUR.iin).await.1, "passed");
    assert_eq!(
        applicant(&app, KUANYSH_TYPO.iin).await.2,
        "ФИО не совпадает с данными ГБД ФЛ"
    );
    app.stop().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn a_queued_package_survives_a_restart_and_is_delivered_once() {
    let ais_port = free_port();
    let portal_port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let on_disk = |dir: &std::path::Path| {
        let mut s = settings(
            dir,
            &format!("127.0.0.1:{portal_port}"),
            Some(format!("http://127.0.0.1:{ais_port}")),
        );
        s.db = Some(format!("surrealkv://{}", dir.join("db").display()));
        s
    };
    let app = App::start_with(on_disk(dir.path()), dir).await;
    let b = app.signed_in("mg_admin").await;
    add(&b, &AINUR).await;
    let list = form_list(&b).await;
    let (status, _) = sign(&b, &list, "AUTH_RSA256_mg_admin.p12").await;
    assert_eq!(status, 200);
    // АИС is down; the portal goes down too, with the package still waiting.
    let dir = app.stop().await;
    let (sim, _sim_dir) = start_sim(&format!("127.0.0.1:{ais_port}")).await;
    let app = App::start_with(on_disk(dir.path()), dir).await;
    let rows = talapker::store::signing::outbox_all(&app.state().db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "the package outlived the restart");
    wait_for_status(&app, &list, "received").await;
    assert_eq!(applicant(&app, AINUR.iin).await.1, "passed");
    assert_eq!(sim_packages(&sim, (1, 1)).await, (1, 1));
    let rows = talapker::store::signing::outbox_all(&app.state().db)
        .await
        .unwrap();
    assert_eq!(rows[0].state, "delivered");
    app.stop().await;
    sim.stop().await;
}
