//! Passkeys: registration on «Профиль», «Войти с ключом доступа», and every refusal of the
//! ceremony handlers (issue: passkeys). A small software authenticator below answers the
//! server's options the way a browser and a platform authenticator would: ES256 keys,
//! "none" attestation, a discoverable credential with the user handle, a signature counter.

mod common;

use base64::Engine as _;
use common::{csrf_of, App, Browser};
use openssl::bn::BigNumContext;
use openssl::ec::{EcGroup, EcKey, PointConversionForm};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use surrealdb::types::SurrealValue;

/// The origin and RP id of `Settings::for_tests`.
const ORIGIN: &str = "http://localhost:8080";
const RP_ID: &str = "localhost";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .expect("base64url")
}

// ---- A minimal CBOR writer: enough for a COSE key and a "none" attestation object. ----

fn cbor_head(major: u8, n: u64, out: &mut Vec<u8>) {
    let m = major << 5;
    if n < 24 {
        out.push(m | n as u8);
    } else if n < 0x100 {
        out.push(m | 24);
        out.push(n as u8);
    } else if n < 0x10000 {
        out.push(m | 25);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(m | 26);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn cbor_int(i: i64, out: &mut Vec<u8>) {
    if i >= 0 {
        cbor_head(0, i as u64, out)
    } else {
        cbor_head(1, (-1 - i) as u64, out)
    }
}

fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    cbor_head(2, b.len() as u64, out);
    out.extend_from_slice(b);
}

fn cbor_text(s: &str, out: &mut Vec<u8>) {
    cbor_head(3, s.len() as u64, out);
    out.extend_from_slice(s.as_bytes());
}

/// A platform authenticator in software, holding one discoverable credential.
struct SoftKey {
    cred_id: Vec<u8>,
    key: PKey<Private>,
    x: Vec<u8>,
    y: Vec<u8>,
    user_handle: Vec<u8>,
    counter: u32,
}

impl SoftKey {
    fn new() -> SoftKey {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = EcKey::generate(&group).unwrap();
        let mut ctx = BigNumContext::new().unwrap();
        let point = ec
            .public_key()
            .to_bytes(&group, PointConversionForm::UNCOMPRESSED, &mut ctx)
            .unwrap();
        let mut cred_id = vec![0u8; 32];
        openssl::rand::rand_bytes(&mut cred_id).unwrap();
        SoftKey {
            cred_id,
            x: point[1..33].to_vec(),
            y: point[33..65].to_vec(),
            key: PKey::from_ec_key(ec).unwrap(),
            user_handle: vec![],
            counter: 0,
        }
    }

    fn cose_key(&self) -> Vec<u8> {
        let mut out = vec![];
        cbor_head(5, 5, &mut out);
        cbor_int(1, &mut out); // kty
        cbor_int(2, &mut out); // EC2
        cbor_int(3, &mut out); // alg
        cbor_int(-7, &mut out); // ES256
        cbor_int(-1, &mut out); // crv
        cbor_int(1, &mut out); // P-256
        cbor_int(-2, &mut out);
        cbor_bytes(&self.x, &mut out);
        cbor_int(-3, &mut out);
        cbor_bytes(&self.y, &mut out);
        out
    }

    fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false
        }))
        .unwrap()
    }

    fn sign(&self, data: &[u8]) -> Vec<u8> {
        let mut s = Signer::new(MessageDigest::sha256(), &self.key).unwrap();
        s.update(data).unwrap();
        s.sign_to_vec().unwrap()
    }

    /// `navigator.credentials.create` on the server's options: a "none" attestation.
    fn create(&mut self, options: &Value, origin: &str) -> Value {
        let pk = &options["publicKey"];
        let rp_id = pk["rp"]["id"].as_str().expect("rp.id");
        assert_eq!(
            pk["authenticatorSelection"]["residentKey"], "required",
            "a discoverable credential is asked for"
        );
        self.user_handle = unb64(pk["user"]["id"].as_str().expect("user.id"));
        let client_data = Self::client_data(
            "webauthn.create",
            pk["challenge"].as_str().expect("challenge"),
            origin,
        );
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x45); // UP, UV, AT
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0u8; 16]); // AAGUID
        auth_data.extend_from_slice(&(self.cred_id.len() as u16).to_be_bytes());
        auth_data.extend_from_slice(&self.cred_id);
        auth_data.extend_from_slice(&self.cose_key());
        let mut att = vec![];
        cbor_head(5, 3, &mut att);
        cbor_text("fmt", &mut att);
        cbor_text("none", &mut att);
        cbor_text("attStmt", &mut att);
        cbor_head(5, 0, &mut att);
        cbor_text("authData", &mut att);
        cbor_bytes(&auth_data, &mut att);
        json!({
            "id": b64(&self.cred_id),
            "rawId": b64(&self.cred_id),
            "type": "public-key",
            "response": {
                "attestationObject": b64(&att),
                "clientDataJSON": b64(&client_data),
                "transports": ["internal"],
            },
            "extensions": { "credProps": { "rk": true } },
        })
    }

    /// `navigator.credentials.get` on the server's options, as the browser at `origin`, for
    /// the relying party `rp_id`.
    fn get_as(&mut self, options: &Value, origin: &str, rp_id: &str) -> Value {
        let pk = &options["publicKey"];
        assert_eq!(
            pk["allowCredentials"].as_array().map(Vec::len).unwrap_or(0),
            0,
            "a discoverable sign-in names no credential"
        );
        self.counter += 1;
        let client_data = Self::client_data(
            "webauthn.get",
            pk["challenge"].as_str().expect("challenge"),
            origin,
        );
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(0x05); // UP, UV
        auth_data.extend_from_slice(&self.counter.to_be_bytes());
        let mut signed = auth_data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        json!({
            "id": b64(&self.cred_id),
            "rawId": b64(&self.cred_id),
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(&self.sign(&signed)),
                "userHandle": b64(&self.user_handle),
            },
            "extensions": {},
        })
    }

    fn get(&mut self, options: &Value) -> Value {
        let pk_rp = options["publicKey"]["rpId"]
            .as_str()
            .unwrap_or(RP_ID)
            .to_string();
        self.get_as(options, ORIGIN, &pk_rp)
    }
}

// ---- Talking to the server like passkeys.js does. ----

struct Reply {
    status: u16,
    body: Value,
    set_cookie: bool,
}

impl Reply {
    fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or_default()
    }
}

/// The browser's CSRF token: from the sign-in page when signed out, else from the profile.
async fn token(b: &Browser) -> String {
    let (status, html) = b.get_text("/login").await;
    if status == 200 {
        csrf_of(&html)
    } else {
        b.csrf("/profile").await
    }
}

async fn post_json(b: &Browser, path: &str, body: Value) -> Reply {
    let token = token(b).await;
    let r = b
        .client
        .post(format!("{}{}", b.base, path))
        .header("X-CSRF-Token", token)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("POST");
    let status = r.status().as_u16();
    let set_cookie = r.headers().get_all("set-cookie").iter().any(|v| {
        v.to_str()
            .unwrap_or_default()
            .starts_with("talapker_session=")
    });
    let body = serde_json::from_str(&r.text().await.unwrap_or_default()).unwrap_or(Value::Null);
    Reply {
        status,
        body,
        set_cookie,
    }
}

async fn register_options(b: &Browser, name: &str, password: &str) -> Reply {
    post_json(
        b,
        "/profile/register/options",
        json!({ "name": name, "password": password }),
    )
    .await
}

async fn register_finish(b: &Browser, ceremony: &str, name: &str, credential: Value) -> Reply {
    post_json(
        b,
        "/profile/register",
        json!({ "ceremony": ceremony, "name": name, "credential": credential }),
    )
    .await
}

/// Registers `key` for the signed-in browser `b` under `name`.
async fn register(b: &Browser, key: &mut SoftKey, name: &str) {
    let opts = register_options(b, name, "demo").await;
    assert_eq!(opts.status, 200, "options: {}", opts.body);
    let cred = key.create(&opts.body, ORIGIN);
    let done = register_finish(b, opts.body["ceremony"].as_str().unwrap(), name, cred).await;
    assert_eq!(done.status, 200, "finish: {}", done.body);
    assert_eq!(done.body["ok"], true);
}

async fn sign_in_options(b: &Browser) -> Value {
    let r = post_json(b, "/profile/sign-in/options", json!({})).await;
    assert_eq!(r.status, 200, "sign-in options: {}", r.body);
    assert!(r.body["ceremony"].as_str().is_some_and(|c| c.len() >= 40));
    r.body
}

async fn sign_in_finish(b: &Browser, ceremony: &str, credential: Value) -> Reply {
    post_json(
        b,
        "/profile/sign-in",
        json!({ "ceremony": ceremony, "credential": credential }),
    )
    .await
}

/// A whole passkey sign-in in a fresh browser; the reply and the browser.
async fn sign_in_with(app: &App, key: &mut SoftKey) -> (Reply, Browser) {
    let b = app.browser();
    let opts = sign_in_options(&b).await;
    let cred = key.get(&opts);
    let r = sign_in_finish(&b, opts["ceremony"].as_str().unwrap(), cred).await;
    (r, b)
}

#[derive(Debug, SurrealValue)]
struct Stored {
    counter: i64,
    used: bool,
}

async fn stored(app: &App, key: &SoftKey) -> Option<Stored> {
    let rows: Vec<Stored> = app
        .state()
        .db
        .query("SELECT counter, last_used_at != NONE AS used FROM passkey WHERE cred_id = $c")
        .bind(("c", b64(&key.cred_id)))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    rows.into_iter().next()
}

async fn expire_ceremonies(app: &App) {
    app.state()
        .db
        .query("UPDATE webauthn_ceremony SET expires_at = time::now() - 1s")
        .await
        .unwrap()
        .check()
        .unwrap();
}

// ---- The tests. ----

#[tokio::test]
async fn a_passkey_is_registered_on_the_profile_and_signs_in_without_a_login() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let (status, html) = b.get_text("/cabinet/applicants").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("href=\"/profile\""),
        "«Профиль» in the user menu"
    );
    let (status, html) = b.get_text("/profile").await;
    assert_eq!(status, 200);
    assert!(html.contains("Ключи доступа"));
    assert!(html.contains("Ключей доступа пока нет"));
    assert!(html.contains("/static/js/passkeys.js"));

    let mut key = SoftKey::new();
    let opts = register_options(&b, "Планшет 1", "demo").await;
    assert_eq!(opts.status, 200, "{}", opts.body);
    let pk = &opts.body["publicKey"];
    assert_eq!(pk["rp"]["id"], RP_ID);
    assert_eq!(pk["user"]["name"], "mg_admin");
    assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
    let cred = key.create(&opts.body, ORIGIN);
    let done = register_finish(
        &b,
        opts.body["ceremony"].as_str().unwrap(),
        "Планшет 1",
        cred,
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(done.body["redirect"], "/profile?done=added");
    let (_, html) = b.get_text("/profile?done=added").await;
    assert!(html.contains("Ключ доступа добавлен"));
    assert!(html.contains("Планшет 1"));
    assert!(html.contains("не использовался"));
    let s = stored(&app, &key).await.expect("stored");
    assert_eq!((s.counter, s.used), (0, false));

    // The sign-in page offers it; a fresh browser signs in with no login typed.
    let (_, login_page) = app.browser().get_text("/login").await;
    assert!(login_page.contains("Войти с ключом доступа"));
    let (r, signed) = sign_in_with(&app, &mut key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["redirect"], "/cabinet/applicants");
    assert!(r.set_cookie, "a session cookie is set");
    let (status, html) = signed.get_text("/cabinet/applicants").await;
    assert_eq!(status, 200);
    assert!(html.contains("mg_admin"));
    // The counter and the last use are recorded, and move on with every sign-in.
    let s = stored(&app, &key).await.unwrap();
    assert_eq!((s.counter, s.used), (1, true));
    let (r, _) = sign_in_with(&app, &mut key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(stored(&app, &key).await.unwrap().counter, 2);
    let (_, html) = b.get_text("/profile").await;
    assert!(!html.contains("не использовался"));
    app.stop().await;
}

#[tokio::test]
async fn registering_needs_the_current_password_or_a_fresh_sign_in() {
    let app = App::start().await;
    let b = app.signed_in("office").await;
    let r = register_options(&b, "Ноутбук", "wrong").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error(), "Неверный пароль");
    // Just signed in: no password needed.
    let r = register_options(&b, "Ноутбук", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    // An hour later it is.
    app.state()
        .db
        .query("UPDATE session SET created_at = time::now() - 1h")
        .await
        .unwrap()
        .check()
        .unwrap();
    let r = register_options(&b, "Ноутбук", "").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error(), "Введите текущий пароль");
    let r = register_options(&b, "Ноутбук", "demo").await;
    assert_eq!(r.status, 200);
    // A name is required and bounded.
    let r = register_options(&b, "  ", "demo").await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error(), "Введите название ключа");
    let r = register_options(&b, &"я".repeat(65), "demo").await;
    assert_eq!(r.status, 422);
    // Wrong passwords count towards the sign-in lock-out.
    for _ in 0..4 {
        assert_eq!(register_options(&b, "Ноутбук", "wrong").await.status, 403);
    }
    assert_eq!(register_options(&b, "Ноутбук", "wrong").await.status, 429);
    let r = register_options(&b, "Ноутбук", "demo").await;
    assert_eq!(r.status, 429);
    app.stop().await;
}

#[tokio::test]
async fn the_ceremonies_need_csrf_and_registration_needs_a_session() {
    let app = App::start().await;
    let anon = app.browser();
    let r = anon.get("/profile").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login");
    let r = post_json(
        &anon,
        "/profile/register/options",
        json!({"name": "x", "password": "demo"}),
    )
    .await;
    assert_eq!(r.status, 401);
    // Without the header, or with another browser's token: refused before any ceremony.
    let b = app.signed_in("mg_admin").await;
    let r = b
        .client
        .post(app.url("/profile/register/options"))
        .header("Content-Type", "application/json")
        .body(json!({"name": "x", "password": "demo"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let foreign = anon.csrf("/login").await;
    let r = anon
        .client
        .post(app.url("/profile/sign-in/options"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = b
        .client
        .post(app.url("/profile/sign-in/options"))
        .header("X-CSRF-Token", foreign)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let count: Option<i64> = app
        .state()
        .db
        .query("RETURN count(SELECT VALUE id FROM webauthn_ceremony)")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(count, Some(0));
    // Malformed JSON is a clear 400.
    let token = b.csrf("/profile").await;
    let r = b
        .client
        .post(app.url("/profile/register"))
        .header("X-CSRF-Token", token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(body["error"], "Некорректный запрос");
    app.stop().await;
}

#[tokio::test]
async fn an_expired_ceremony_is_refused() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let mut key = SoftKey::new();
    // Registration.
    let opts = register_options(&b, "Планшет", "demo").await;
    let cred = key.create(&opts.body, ORIGIN);
    expire_ceremonies(&app).await;
    let r = register_finish(&b, opts.body["ceremony"].as_str().unwrap(), "Планшет", cred).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "Время ожидания истекло. Повторите попытку.");
    assert!(stored(&app, &key).await.is_none(), "nothing was saved");
    // Sign-in.
    register(&b, &mut key, "Планшет").await;
    let anon = app.browser();
    let opts = sign_in_options(&anon).await;
    let cred = key.get(&opts);
    expire_ceremonies(&app).await;
    let r = sign_in_finish(&anon, opts["ceremony"].as_str().unwrap(), cred).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error(), "Время ожидания истекло. Повторите попытку.");
    assert!(!r.set_cookie);
    assert_eq!(anon.get("/cabinet/applicants").await.status(), 303);
    // An expired state is deleted as well: asking again finds nothing.
    let cred = key.get(&opts);
    let r = sign_in_finish(&anon, opts["ceremony"].as_str().unwrap(), cred).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error(),
        "Запрос уже использован или не найден. Повторите попытку."
    );
    app.stop().await;
}

#[tokio::test]
async fn a_used_ceremony_is_refused_and_a_replayed_assertion_too() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let mut key = SoftKey::new();
    // A registration state is used once.
    let opts = register_options(&b, "Планшет", "demo").await;
    let ceremony = opts.body["ceremony"].as_str().unwrap().to_string();
    let cred = key.create(&opts.body, ORIGIN);
    assert_eq!(
        register_finish(&b, &ceremony, "Планшет", cred.clone())
            .await
            .status,
        200
    );
    let r = register_finish(&b, &ceremony, "Планшет", cred).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error(),
        "Запрос уже использован или не найден. Повторите попытку."
    );

    // A sign-in state is used once: the same answer again is refused...
    let anon = app.browser();
    let opts = sign_in_options(&anon).await;
    let ceremony = opts["ceremony"].as_str().unwrap().to_string();
    let assertion = key.get(&opts);
    let r = sign_in_finish(&anon, &ceremony, assertion.clone()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let other = app.browser();
    let _ = other.get("/login").await;
    let r = sign_in_finish(&anon, &ceremony, assertion.clone()).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error(),
        "Запрос уже использован или не найден. Повторите попытку."
    );
    // ...and so is the recorded answer replayed against a new ceremony (another challenge).
    let opts = sign_in_options(&other).await;
    let r = sign_in_finish(&other, opts["ceremony"].as_str().unwrap(), assertion).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "Не удалось проверить ключ доступа");
    assert!(!r.set_cookie);
    assert_eq!(other.get("/cabinet/applicants").await.status(), 303);
    // An id that was never handed out.
    let opts = sign_in_options(&other).await;
    let r = sign_in_finish(&other, "no-such-ceremony", key.get(&opts)).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error(),
        "Запрос уже использован или не найден. Повторите попытку."
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_credential_is_refused() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let mut registered = SoftKey::new();
    register(&b, &mut registered, "Планшет").await;
    // A key the server never saw, even one claiming mg_admin's user handle.
    let mut stranger = SoftKey::new();
    stranger.user_handle = registered.user_handle.clone();
    let (r, anon) = sign_in_with(&app, &mut stranger).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "Ключ доступа не найден или удален");
    assert!(!r.set_cookie);
    assert_eq!(anon.get("/cabinet/applicants").await.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn a_foreign_assertion_is_refused() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let mut key = SoftKey::new();
    // A registration made for another site's origin.
    let opts = register_options(&b, "Планшет", "demo").await;
    let cred = key.create(&opts.body, "http://evil.example");
    let r = register_finish(&b, opts.body["ceremony"].as_str().unwrap(), "Планшет", cred).await;
    assert_eq!(
        (r.status, r.error()),
        (400, "Не удалось зарегистрировать ключ доступа")
    );
    assert!(stored(&app, &key).await.is_none());
    register(&b, &mut key, "Планшет").await;
    let anon = app.browser();
    // Made for another site's origin.
    let opts = sign_in_options(&anon).await;
    let cred = key.get_as(&opts, "http://evil.example", RP_ID);
    let r = sign_in_finish(&anon, opts["ceremony"].as_str().unwrap(), cred).await;
    assert_eq!(
        (r.status, r.error()),
        (401, "Не удалось проверить ключ доступа")
    );
    // Made for another relying party.
    let opts = sign_in_options(&anon).await;
    let cred = key.get_as(&opts, ORIGIN, "evil.example");
    let r = sign_in_finish(&anon, opts["ceremony"].as_str().unwrap(), cred).await;
    assert_eq!(
        (r.status, r.error()),
        (401, "Не удалось проверить ключ доступа")
    );
    // Signed by another key under the registered credential's id.
    let mut forger = SoftKey::new();
    forger.cred_id = key.cred_id.clone();
    forger.user_handle = key.user_handle.clone();
    forger.counter = 100;
    let (r, _) = sign_in_with(&app, &mut forger).await;
    assert_eq!(
        (r.status, r.error()),
        (401, "Не удалось проверить ключ доступа")
    );
    // Naming another account's user handle.
    let office = app.signed_in("office").await;
    let mut office_key = SoftKey::new();
    register(&office, &mut office_key, "Ноутбук").await;
    let mut swapped = SoftKey {
        user_handle: office_key.user_handle.clone(),
        counter: 50,
        ..SoftKey::new()
    };
    swapped.cred_id = key.cred_id.clone();
    swapped.key = key.key.clone();
    let (r, _) = sign_in_with(&app, &mut swapped).await;
    assert_eq!(
        (r.status, r.error()),
        (401, "Не удалось проверить ключ доступа")
    );
    // A clone whose counter does not move past the stored one.
    let (r, _) = sign_in_with(&app, &mut key).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let stored_counter = stored(&app, &key).await.unwrap().counter;
    assert_eq!(stored_counter, key.counter as i64);
    key.counter -= 1;
    let (r, _) = sign_in_with(&app, &mut key).await;
    assert_eq!(
        (r.status, r.error()),
        (401, "Не удалось проверить ключ доступа")
    );
    assert_eq!(stored(&app, &key).await.unwrap().counter, stored_counter);
    app.stop().await;
}

#[tokio::test]
async fn a_deleted_passkey_signs_no_one_in() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let mut key = SoftKey::new();
    register(&b, &mut key, "Планшет").await;
    let id: Option<String> = app
        .state()
        .db
        .query("SELECT VALUE record::id(id) FROM passkey WHERE cred_id = $c")
        .bind(("c", b64(&key.cred_id)))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    let id = id.expect("the passkey row");
    // Someone else cannot rename or delete it.
    let office = app.signed_in("office").await;
    let path = format!("/profile/passkeys/{id}/delete");
    assert_eq!(office.submit("/profile", &path, &[]).await.status(), 404);
    let rename = format!("/profile/passkeys/{id}/rename");
    assert_eq!(
        office
            .submit("/profile", &rename, &[("name", "Чужой")])
            .await
            .status(),
        404
    );
    // Its owner renames it...
    let r = b.submit("/profile", &rename, &[("name", "")]).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Введите название ключа"));
    let r = b
        .submit("/profile", &rename, &[("name", " Планшет группы ")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/profile?done=renamed");
    let (_, html) = b.get_text("/profile?done=renamed").await;
    assert!(html.contains("Ключ доступа переименован"));
    assert!(html.contains("value=\"Планшет группы\""));
    // ...and deletes it.
    let r = b.submit("/profile", &path, &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/profile?done=deleted");
    let (_, html) = b.get_text("/profile?done=deleted").await;
    assert!(html.contains("Ключ доступа удален"));
    assert!(html.contains("Ключей доступа пока нет"));
    let (r, anon) = sign_in_with(&app, &mut key).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "Ключ доступа не найден или удален");
    assert_eq!(anon.get("/cabinet/applicants").await.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn a_passkey_of_a_disabled_account_signs_no_one_in() {
    let app = App::start().await;
    let b = app.signed_in("office").await;
    let mut key = SoftKey::new();
    register(&b, &mut key, "Ноутбук").await;
    app.state()
        .db
        .query("UPDATE user SET disabled = true WHERE login = 'office'")
        .await
        .unwrap()
        .check()
        .unwrap();
    let (r, anon) = sign_in_with(&app, &mut key).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.error(), "Вход с этим ключом доступа невозможен");
    assert!(!r.set_cookie);
    assert_eq!(anon.get("/cabinet/applicants").await.status(), 303);
    app.stop().await;
}

#[tokio::test]
async fn a_ceremony_belongs_to_its_browser_and_its_account() {
    let app = App::start().await;
    let mg = app.signed_in("mg_admin").await;
    let office = app.signed_in("office").await;
    let mut key = SoftKey::new();
    // mg_admin's registration finished in office's session.
    let opts = register_options(&mg, "Планшет", "demo").await;
    let cred = key.create(&opts.body, ORIGIN);
    let r = register_finish(
        &office,
        opts.body["ceremony"].as_str().unwrap(),
        "Планшет",
        cred,
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(stored(&app, &key).await.is_none());
    // A sign-in started in one browser and finished in another.
    register(&mg, &mut key, "Планшет").await;
    let first = app.browser();
    let opts = sign_in_options(&first).await;
    let second = app.browser();
    let _ = second.get("/login").await;
    let r = sign_in_finish(&second, opts["ceremony"].as_str().unwrap(), key.get(&opts)).await;
    assert_eq!(r.status, 400);
    assert!(!r.set_cookie);
    // A registration ceremony cannot finish a sign-in.
    let opts = register_options(&mg, "Ещё", "demo").await;
    let as_sign_in = json!({ "publicKey": { "challenge": opts.body["publicKey"]["challenge"] } });
    let r = sign_in_finish(
        &mg,
        opts.body["ceremony"].as_str().unwrap(),
        key.get(&as_sign_in),
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(!r.set_cookie);
    app.stop().await;
}

#[tokio::test]
async fn the_same_authenticator_credential_is_registered_once() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let mut key = SoftKey::new();
    register(&b, &mut key, "Планшет").await;
    // The options exclude it, so a browser would refuse; a client that ignores that is refused
    // by the server.
    let opts = register_options(&b, "Снова", "demo").await;
    let excluded = opts.body["publicKey"]["excludeCredentials"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(excluded.len(), 1);
    assert_eq!(excluded[0]["id"], b64(&key.cred_id));
    let cred = key.create(&opts.body, ORIGIN);
    let r = register_finish(&b, opts.body["ceremony"].as_str().unwrap(), "Снова", cred).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error(), "Этот ключ доступа уже зарегистрирован");
    app.stop().await;
}

#[tokio::test]
async fn the_profile_and_the_passkey_button_are_in_kazakh_too() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let _ = b.get("/lang/kz?back=/profile").await;
    let (_, html) = b.get_text("/profile").await;
    assert!(html.contains("Кіру кілттері"));
    assert!(html.contains("Кіру кілтін қосу"));
    let anon = app.browser();
    let _ = anon.get("/lang/kz?back=/login").await;
    let (_, html) = anon.get_text("/login").await;
    assert!(html.contains("Кіру кілтімен кіру"));
    app.stop().await;
}
