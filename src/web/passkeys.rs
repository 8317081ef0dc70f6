//! Passkeys (WebAuthn, webauthn-rs): the «Профиль» page where a signed-in user registers,
//! renames and deletes passkeys, and «Войти с ключом доступа» on the sign-in page, a
//! discoverable-credential sign-in with no login typed.
//!
//! Each ceremony is two JSON requests (POST, CSRF token in the `X-CSRF-Token` header): the first
//! returns the options for `navigator.credentials.create/get` and the id of the state kept on the
//! server; the second hands back the authenticator's answer with that id. The state is stored in
//! the database under the id's hash, bound to the browser, expires after
//! `store::passkeys::CEREMONY_MINUTES` and is deleted by its first use, so a replayed answer
//! finds nothing to finish.
//!
//! Mounted at `/profile`:
//!
//! | method | path | |
//! |---|---|---|
//! | GET | `/profile` | the page |
//! | POST | `/profile/register/options` | `{name, password}` → `{ceremony, publicKey}` |
//! | POST | `/profile/register` | `{ceremony, name, credential}` → `{ok}` |
//! | POST | `/profile/passkeys/:id/rename` | form `name` → 303 `/profile` |
//! | POST | `/profile/passkeys/:id/delete` | form → 303 `/profile` |
//! | POST | `/profile/sign-in/options` | (signed out) → `{ceremony, publicKey}` |
//! | POST | `/profile/sign-in` | `{ceremony, credential}` → `{redirect}` and the session cookie |

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Form, Json, Path, Query};
use poem::{get, handler, post, Body, IntoResponse, Response, Route};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential, Url, Uuid, Webauthn, WebauthnBuilder,
};

use super::auth::{redirect, start_session};
use super::context::{hash_token, random_token};
use super::{render, require_user, AppState, Ctx};
use crate::config::Settings;
use crate::domain::user::{verify_password, User};
use crate::error::{AppError, AppResult};
use crate::store;
use crate::store::passkeys::{Kind, PasskeyRow, Saved};

/// A sign-in at most this old counts as fresh: registering a passkey then needs no password.
pub const FRESH_MINUTES: i64 = 5;
/// Longest passkey name, in characters.
pub const MAX_NAME: usize = 64;
/// Largest JSON body a ceremony accepts.
const MAX_JSON_BYTES: usize = 64 * 1024;
/// Where a passkey sign-in lands.
const AFTER_SIGN_IN: &str = "/cabinet/applicants";

pub fn routes() -> Route {
    Route::new()
        .at("/", get(profile))
        .at("/register/options", post(register_options))
        .at("/register", post(register_finish))
        .at("/passkeys/:id/rename", post(rename))
        .at("/passkeys/:id/delete", post(delete_passkey))
        .at("/sign-in/options", post(sign_in_options))
        .at("/sign-in", post(sign_in_finish))
}

/// The relying party of the settings. Built per request: it is cheap, and tests run several
/// servers with different settings in one process.
pub fn webauthn(settings: &Settings) -> anyhow::Result<Webauthn> {
    let origin = Url::parse(&settings.rp_origin)
        .map_err(|e| anyhow::anyhow!("--rp-origin {:?} is not a URL: {e}", settings.rp_origin))?;
    WebauthnBuilder::new(&settings.rp_id, &origin)
        .and_then(|b| b.rp_name("Talapker").build())
        .map_err(|e| {
            anyhow::anyhow!(
                "passkeys are misconfigured: --rp-id {:?} must be the host of --rp-origin {:?} \
                 or a domain it is under (not an IP address): {e}",
                settings.rp_id,
                settings.rp_origin
            )
        })
}

/// The WebAuthn user handle of an account: its id when that is a UUID (as every account made
/// by `store::users::create` is), else a UUID made from the id's hash. Stable, never the login.
pub fn user_handle(user_id: &str) -> Uuid {
    Uuid::parse_str(user_id).unwrap_or_else(|_| {
        let d = Sha256::digest(user_id.as_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&d[..16]);
        Uuid::from_bytes(b)
    })
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What ties a ceremony to the browser that started it: its CSRF token is an HMAC of its
/// session or anonymous cookie.
fn binding(ctx: &Ctx) -> String {
    hash_token(&ctx.csrf)
}

/// A JSON refusal: `{"error": "…"}` in the page's language.
fn refuse(ctx: &Ctx, status: StatusCode, ru: &str) -> Response {
    Json(json!({ "error": ctx.t(ru) }))
        .with_status(status)
        .into_response()
}

/// An internal error as JSON (logged with its cause; the browser gets the short message).
fn internal(ctx: &Ctx, e: impl Into<anyhow::Error>) -> Response {
    let e = e.into();
    tracing::error!(error = ?e, "passkeys: internal error");
    #[cfg(debug_assertions)]
    eprintln!("passkeys: internal error: {e:?}");
    refuse(
        ctx,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Внутренняя ошибка. Повторите попытку позже.",
    )
}

async fn read_json<T: serde::de::DeserializeOwned>(body: Body) -> Option<T> {
    let bytes = body.into_bytes_limit(MAX_JSON_BYTES).await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Trims a passkey name and checks it; the error is the message to show.
fn clean_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("Введите название ключа");
    }
    if name.chars().count() > MAX_NAME {
        return Err("Название ключа: не более 64 символов");
    }
    if name.chars().any(char::is_control) {
        return Err("Название ключа содержит недопустимые символы");
    }
    Ok(name.to_string())
}

// ---------------------------------------------------------------------------------------------
// The page.

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

fn done_message(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "added" => Some("Ключ доступа добавлен"),
        "renamed" => Some("Ключ доступа переименован"),
        "deleted" => Some("Ключ доступа удален"),
        _ => None,
    }
}

async fn render_profile(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let rows = store::passkeys::list_for_user(&state.db, &user.id).await?;
    let passkeys: Vec<_> = rows
        .iter()
        .map(|p| {
            context! {
                id => p.id,
                name => p.name,
                created_at => p.created_at.to_rfc3339(),
                last_used_at => p.last_used_at.map(|t| t.to_rfc3339()),
            }
        })
        .collect();
    let fresh = session_is_fresh(state, ctx).await?;
    Ok(render(
        state,
        ctx,
        "profile",
        "profile.html",
        context! {
            profile => context! {
                login => user.login,
                full_name => user.full_name,
                role_label => ctx.t(user.role.label_ru()),
            },
            passkeys => passkeys,
            fresh => fresh,
            notice => notice.map(|m| ctx.t(m)),
            error => error.map(|m| ctx.t(m)),
            fresh_minutes => FRESH_MINUTES,
        },
    )?
    .with_status(status)
    .into_response())
}

#[handler]
async fn profile(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Query(q): Query<Done>,
) -> AppResult<Response> {
    let user = require_user(ctx)?;
    render_profile(
        state,
        ctx,
        user,
        done_message(q.done.as_deref()),
        None,
        StatusCode::OK,
    )
    .await
}

/// Signed in within the last `FRESH_MINUTES`.
async fn session_is_fresh(state: &AppState, ctx: &Ctx) -> AppResult<bool> {
    let Some(key) = &ctx.session_key else {
        return Ok(false);
    };
    let created = store::passkeys::session_created_at(&state.db, key).await?;
    Ok(created.is_some_and(|t| chrono::Utc::now() - t <= chrono::Duration::minutes(FRESH_MINUTES)))
}

// ---------------------------------------------------------------------------------------------
// Registration.

#[derive(Deserialize)]
struct RegisterOptions {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

/// Checks the current password (or a fresh sign-in), counting failures like the sign-in form.
async fn confirm_identity(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    password: &str,
) -> Result<(), Response> {
    if password.is_empty() {
        return match session_is_fresh(state, ctx).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(refuse(ctx, StatusCode::FORBIDDEN, "Введите текущий пароль")),
            Err(e) => Err(internal(ctx, e)),
        };
    }
    let locked = store::users::locked_until(&state.db, &user.login)
        .await
        .map_err(|e| internal(ctx, e))?;
    if locked.is_some() {
        return Err(refuse(
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "Слишком много неудачных попыток входа. Повторите попытку через 15 минут.",
        ));
    }
    let row = store::users::find_by_login(&state.db, &user.login)
        .await
        .map_err(|e| internal(ctx, e))?
        .ok_or_else(|| refuse(ctx, StatusCode::FORBIDDEN, "Неверный пароль"))?;
    let password = password.to_string();
    let hash = row.password_hash.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| internal(ctx, e))?;
    if ok {
        store::users::clear_failures(&state.db, &user.login)
            .await
            .map_err(|e| internal(ctx, e))?;
        return Ok(());
    }
    let n = store::users::record_failure(
        &state.db,
        &user.login,
        super::auth::MAX_FAILURES,
        chrono::Duration::minutes(super::auth::LOCK_MINUTES),
    )
    .await
    .map_err(|e| internal(ctx, e))?;
    tracing::warn!(login = %user.login, failures = n, ip = ?ctx.ip, "wrong password for a passkey registration");
    if n >= super::auth::MAX_FAILURES {
        return Err(refuse(
            ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "Слишком много неудачных попыток входа. Повторите попытку через 15 минут.",
        ));
    }
    Err(refuse(ctx, StatusCode::FORBIDDEN, "Неверный пароль"))
}

#[handler]
async fn register_options(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    body: Body,
) -> Response {
    let Some(user) = ctx.user.as_ref() else {
        return refuse(
            ctx,
            StatusCode::UNAUTHORIZED,
            "Сессия истекла. Войдите снова.",
        );
    };
    let Some(req) = read_json::<RegisterOptions>(body).await else {
        return refuse(ctx, StatusCode::BAD_REQUEST, "Некорректный запрос");
    };
    if let Err(msg) = clean_name(&req.name) {
        return refuse(ctx, StatusCode::UNPROCESSABLE_ENTITY, msg);
    }
    if let Err(resp) = confirm_identity(state, ctx, user, &req.password).await {
        return resp;
    }
    match register_options_inner(state, ctx, user).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => internal(ctx, e),
    }
}

async fn register_options_inner(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
) -> anyhow::Result<serde_json::Value> {
    let wa = webauthn(&state.settings)?;
    // The user's passkeys already registered: the authenticator will not make a second one.
    let exclude = store::passkeys::list_for_user(&state.db, &user.id)
        .await?
        .iter()
        .filter_map(|p| serde_json::from_str::<Passkey>(&p.credential).ok())
        .map(|p| p.cred_id().clone())
        .collect::<Vec<_>>();
    let (ccr, reg) = wa.start_passkey_registration(
        user_handle(&user.id),
        &user.login,
        &user.full_name,
        Some(exclude),
    )?;
    let id = random_token();
    store::passkeys::create_ceremony(
        &state.db,
        &hash_token(&id),
        Kind::Register,
        Some(&user.id),
        serde_json::to_string(&reg)?,
        &binding(ctx),
    )
    .await?;
    let mut options = serde_json::to_value(&ccr)?;
    // Sign-in names no account, so the key must be discoverable: kept on the authenticator
    // with the user handle (webauthn-rs asks only for a preferred one).
    let sel = &mut options["publicKey"]["authenticatorSelection"];
    sel["residentKey"] = json!("required");
    sel["requireResidentKey"] = json!(true);
    options["ceremony"] = json!(id);
    Ok(options)
}

#[derive(Deserialize)]
struct RegisterFinish {
    ceremony: String,
    #[serde(default)]
    name: String,
    credential: RegisterPublicKeyCredential,
}

/// Takes the ceremony the browser names: refuses one that is unknown, used, of another kind,
/// of another account or browser, or expired. The state is deleted in every case.
async fn take_ceremony(
    state: &AppState,
    ctx: &Ctx,
    id: &str,
    kind: Kind,
    user_id: Option<&str>,
) -> Result<String, Response> {
    let row = store::passkeys::take_ceremony(&state.db, &hash_token(id))
        .await
        .map_err(|e| internal(ctx, e))?;
    let Some(row) = row else {
        tracing::warn!(kind = kind.code(), ip = ?ctx.ip, "passkeys: unknown or used ceremony");
        return Err(refuse(
            ctx,
            StatusCode::BAD_REQUEST,
            "Запрос уже использован или не найден. Повторите попытку.",
        ));
    };
    if row.kind != kind.code() || row.user.as_deref() != user_id || row.binding != binding(ctx) {
        tracing::warn!(kind = kind.code(), ip = ?ctx.ip, "passkeys: a ceremony of another kind, account or browser");
        return Err(refuse(
            ctx,
            StatusCode::BAD_REQUEST,
            "Запрос уже использован или не найден. Повторите попытку.",
        ));
    }
    if row.expires_at <= chrono::Utc::now() {
        return Err(refuse(
            ctx,
            StatusCode::BAD_REQUEST,
            "Время ожидания истекло. Повторите попытку.",
        ));
    }
    Ok(row.state)
}

#[handler]
async fn register_finish(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    body: Body,
) -> Response {
    let Some(user) = ctx.user.as_ref() else {
        return refuse(
            ctx,
            StatusCode::UNAUTHORIZED,
            "Сессия истекла. Войдите снова.",
        );
    };
    let Some(req) = read_json::<RegisterFinish>(body).await else {
        return refuse(ctx, StatusCode::BAD_REQUEST, "Некорректный запрос");
    };
    let name = match clean_name(&req.name) {
        Ok(n) => n,
        Err(msg) => return refuse(ctx, StatusCode::UNPROCESSABLE_ENTITY, msg),
    };
    let saved = match take_ceremony(state, ctx, &req.ceremony, Kind::Register, Some(&user.id)).await
    {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    let reg: PasskeyRegistration = match serde_json::from_str(&saved) {
        Ok(r) => r,
        Err(e) => return internal(ctx, e),
    };
    let wa = match webauthn(&state.settings) {
        Ok(w) => w,
        Err(e) => return internal(ctx, e),
    };
    let passkey = match wa.finish_passkey_registration(&req.credential, &reg) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(login = %user.login, error = %e, "passkey registration refused");
            // The options excluded the user's passkeys, so webauthn-rs refuses one of them; a
            // client that ignored the list is told why.
            let raw_id = b64url(req.credential.raw_id.as_ref());
            if let Ok(Some(_)) = store::passkeys::find_by_cred_id(&state.db, &raw_id).await {
                return refuse(
                    ctx,
                    StatusCode::CONFLICT,
                    "Этот ключ доступа уже зарегистрирован",
                );
            }
            return refuse(
                ctx,
                StatusCode::BAD_REQUEST,
                "Не удалось зарегистрировать ключ доступа",
            );
        }
    };
    let credential = match serde_json::to_string(&passkey) {
        Ok(c) => c,
        Err(e) => return internal(ctx, e),
    };
    let saved = store::passkeys::create(
        &state.db,
        store::passkeys::NewPasskey {
            user_id: &user.id,
            name: &name,
            credential,
            cred_id: b64url(passkey.cred_id().as_ref()),
            counter: 0,
        },
    )
    .await;
    match saved {
        Ok(Saved::Ok(id)) => {
            tracing::info!(login = %user.login, passkey = %id, "passkey registered");
            Json(json!({ "ok": true, "redirect": "/profile?done=added" })).into_response()
        }
        Ok(Saved::Duplicate) => refuse(
            ctx,
            StatusCode::CONFLICT,
            "Этот ключ доступа уже зарегистрирован",
        ),
        Err(e) => internal(ctx, e),
    }
}

// ---------------------------------------------------------------------------------------------
// Rename and delete (plain forms).

#[derive(Deserialize)]
struct RenameForm {
    #[serde(default)]
    name: String,
}

#[handler]
async fn rename(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<RenameForm>,
) -> AppResult<Response> {
    let user = require_user(ctx)?;
    let name = match clean_name(&form.name) {
        Ok(n) => n,
        Err(msg) => {
            return render_profile(
                state,
                ctx,
                user,
                None,
                Some(msg),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    };
    if !store::passkeys::rename(&state.db, &user.id, &id, &name).await? {
        return Err(AppError::NotFound(ctx.t("Ключ доступа не найден").into()));
    }
    Ok(redirect("/profile?done=renamed"))
}

#[handler]
async fn delete_passkey(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_user(ctx)?;
    if !store::passkeys::delete(&state.db, &user.id, &id).await? {
        return Err(AppError::NotFound(ctx.t("Ключ доступа не найден").into()));
    }
    tracing::info!(login = %user.login, passkey = %id, "passkey deleted");
    Ok(redirect("/profile?done=deleted"))
}

// ---------------------------------------------------------------------------------------------
// Sign-in with a discoverable passkey.

#[handler]
async fn sign_in_options(Data(state): Data<&Arc<AppState>>, Data(ctx): Data<&Ctx>) -> Response {
    match sign_in_options_inner(state, ctx).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => internal(ctx, e),
    }
}

async fn sign_in_options_inner(state: &AppState, ctx: &Ctx) -> anyhow::Result<serde_json::Value> {
    let wa = webauthn(&state.settings)?;
    let (mut rcr, auth) = wa.start_discoverable_authentication()?;
    // webauthn-rs asks for conditional mediation (autofill); the button opens the browser's
    // own dialog instead.
    rcr.mediation = None;
    let id = random_token();
    store::passkeys::create_ceremony(
        &state.db,
        &hash_token(&id),
        Kind::Authenticate,
        None,
        serde_json::to_string(&auth)?,
        &binding(ctx),
    )
    .await?;
    let mut options = serde_json::to_value(&rcr)?;
    options["ceremony"] = json!(id);
    Ok(options)
}

#[derive(Deserialize)]
struct SignInFinish {
    ceremony: String,
    credential: PublicKeyCredential,
}

const UNKNOWN_KEY: &str = "Ключ доступа не найден или удален";
const NOT_VERIFIED: &str = "Не удалось проверить ключ доступа";

#[handler]
async fn sign_in_finish(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    body: Body,
) -> Response {
    let Some(req) = read_json::<SignInFinish>(body).await else {
        return refuse(ctx, StatusCode::BAD_REQUEST, "Некорректный запрос");
    };
    let saved = match take_ceremony(state, ctx, &req.ceremony, Kind::Authenticate, None).await {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    match sign_in_verify(state, ctx, &saved, &req.credential).await {
        Ok(Ok(user_id)) => match start_session(state, ctx, &user_id).await {
            Ok(cookie) => {
                let mut resp = Json(json!({ "redirect": AFTER_SIGN_IN })).into_response();
                resp.headers_mut().append("set-cookie", cookie);
                resp
            }
            Err(e) => internal(ctx, e),
        },
        Ok(Err(msg)) => refuse(ctx, StatusCode::UNAUTHORIZED, msg),
        Err(e) => internal(ctx, e),
    }
}

/// Checks an assertion against the stored state and the passkey it names. Ok(Ok(user id)) when
/// it signs someone in, Ok(Err(message)) when it is refused.
async fn sign_in_verify(
    state: &AppState,
    ctx: &Ctx,
    saved: &str,
    credential: &PublicKeyCredential,
) -> anyhow::Result<Result<String, &'static str>> {
    let auth: DiscoverableAuthentication = serde_json::from_str(saved)?;
    let wa = webauthn(&state.settings)?;
    let (handle, cred_id) = match wa.identify_discoverable_authentication(credential) {
        Ok(x) => x,
        Err(e) => {
            tracing::warn!(error = %e, ip = ?ctx.ip, "passkey sign-in without a user handle");
            return Ok(Err(NOT_VERIFIED));
        }
    };
    let cred_id = b64url(cred_id);
    let Some(row) = store::passkeys::find_by_cred_id(&state.db, &cred_id).await? else {
        tracing::warn!(%cred_id, ip = ?ctx.ip, "passkey sign-in with an unknown credential");
        return Ok(Err(UNKNOWN_KEY));
    };
    if user_handle(&row.user) != handle {
        tracing::warn!(%cred_id, ip = ?ctx.ip, "passkey sign-in: the user handle is not the passkey's");
        return Ok(Err(NOT_VERIFIED));
    }
    let mut passkey: Passkey = serde_json::from_str(&row.credential)?;
    let result = match wa.finish_discoverable_authentication(
        credential,
        auth,
        &[DiscoverableKey::from(&passkey)],
    ) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(%cred_id, error = %e, ip = ?ctx.ip, "passkey sign-in refused");
            return Ok(Err(NOT_VERIFIED));
        }
    };
    let owner = store::passkeys::owner(&state.db, &row.user).await?;
    let Some(owner) = owner.filter(|u| !u.disabled) else {
        tracing::warn!(%cred_id, ip = ?ctx.ip, "passkey sign-in to a disabled or missing account");
        return Ok(Err("Вход с этим ключом доступа невозможен"));
    };
    passkey.update_credential(&result);
    let counter = row.counter.max(i64::from(result.counter()));
    if !record_use(state, &row, serde_json::to_string(&passkey)?, counter).await? {
        tracing::warn!(%cred_id, ip = ?ctx.ip, "passkey changed or deleted during its sign-in");
        return Ok(Err(NOT_VERIFIED));
    }
    tracing::info!(login = %owner.login, %cred_id, ip = ?ctx.ip, "signed in with a passkey");
    super::audit::write(
        state,
        &super::audit::entry(
            state,
            Some(ctx),
            &owner.login,
            Some(&owner.region),
            "sign_in_passkey",
            &format!("user:{}", owner.login),
            "",
        ),
    )
    .await;
    Ok(Ok(owner.id))
}

async fn record_use(
    state: &AppState,
    row: &PasskeyRow,
    credential: String,
    counter: i64,
) -> anyhow::Result<bool> {
    store::passkeys::record_use(&state.db, &row.id, row.counter, credential, counter).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_handle_is_the_uuid_of_the_account_or_a_stable_hash() {
        let id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
        assert_eq!(user_handle(id).to_string(), id);
        assert_eq!(user_handle("admin"), user_handle("admin"));
        assert_ne!(user_handle("admin"), user_handle("office"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Планшет 1 ").unwrap(), "Планшет 1");
        assert!(clean_name("   ").is_err());
        assert!(clean_name(&"я".repeat(64)).is_ok());
        assert!(clean_name(&"я".repeat(65)).is_err());
        assert!(clean_name("a\u{0}b").is_err());
    }

    #[test]
    fn the_default_relying_party_is_localhost_and_an_ip_is_refused() {
        let mut s = Settings::for_tests(std::env::temp_dir());
        assert!(webauthn(&s).is_ok());
        s.rp_id = "127.0.0.1".into();
        s.rp_origin = "http://127.0.0.1:8080".into();
        assert!(webauthn(&s).is_err());
        s.rp_id = "example.kz".into();
        s.rp_origin = "https://talapker.example.kz".into();
        assert!(webauthn(&s).is_ok());
        s.rp_origin = "https://example.com".into();
        assert!(webauthn(&s).is_err());
    }
}
