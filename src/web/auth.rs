//! The home page, sign-in, sign-out and the language switch (manual §1).

use std::sync::Arc;

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{get, handler, post, IntoResponse, Response, Route};
use serde::Deserialize;

use super::context::{hash_token, random_token, set_cookie, LANG_COOKIE, SESSION_COOKIE};
use super::{render, AppState, Ctx};
use crate::domain::user::{dummy_hash, verify_password};
use crate::error::{AppError, AppResult};
use crate::store;

/// Failed sign-ins in a row before the login is locked, and for how long.
pub const MAX_FAILURES: i64 = 5;
pub const LOCK_MINUTES: i64 = 15;

pub fn routes() -> Route {
    Route::new()
        .at("/", get(home))
        .at("/login", get(login_form).post(login))
        .at("/logout", post(logout))
        .at("/lang/:lang", get(switch_language))
}

#[handler]
pub async fn home(Data(state): Data<&Arc<AppState>>, Data(ctx): Data<&Ctx>) -> AppResult<Response> {
    Ok(render(state, ctx, "home", "home.html", context! {})?.into_response())
}

#[handler]
async fn login_form(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
) -> AppResult<Response> {
    if ctx.user.is_some() {
        return Ok(redirect("/cabinet/applicants"));
    }
    Ok(render(state, ctx, "login", "login.html", context! { login => "" })?.into_response())
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
}

pub fn redirect(to: &str) -> Response {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("Location", to)
        .header("HX-Redirect", to)
        .finish()
}

#[handler]
async fn login(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let login = form.login.trim().to_string();
    let refuse = |status: StatusCode, msg: &str| -> AppResult<Response> {
        Ok(render(
            state,
            ctx,
            "login",
            "login.html",
            context! { login => login.clone(), error => ctx.t(msg) },
        )?
        .with_status(status)
        .into_response())
    };
    if login.is_empty() {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "Введите логин");
    }
    if login.chars().count() > 64 {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Неверный логин или пароль",
        );
    }
    if form.password.is_empty() {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, "Введите пароль");
    }
    if store::users::locked_until(&state.db, &login)
        .await?
        .is_some()
    {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "Слишком много неудачных попыток входа. Повторите попытку через 15 минут.",
        );
    }
    let row = store::users::find_by_login(&state.db, &login).await?;
    let password = form.password.clone();
    let hash = row
        .as_ref()
        .map(|r| r.password_hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    // argon2 is deliberately slow: keep it off the async workers.
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let user = match row {
        Some(r) if ok && !r.disabled => r,
        _ => {
            let n = store::users::record_failure(
                &state.db,
                &login,
                MAX_FAILURES,
                chrono::Duration::minutes(LOCK_MINUTES),
            )
            .await?;
            tracing::warn!(%login, failures = n, ip = ?ctx.ip, "failed sign-in");
            let actor: String = login.chars().take(64).collect();
            super::audit::write(
                state,
                &super::audit::entry(
                    state,
                    Some(ctx),
                    &actor,
                    row.as_ref().map(|r| r.region.as_str()),
                    "sign_in_failed",
                    &format!("user:{actor}"),
                    &format!("{n}"),
                ),
            )
            .await;
            if n >= MAX_FAILURES {
                return refuse(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Слишком много неудачных попыток входа. Повторите попытку через 15 минут.",
                );
            }
            return refuse(StatusCode::UNAUTHORIZED, "Неверный логин или пароль");
        }
    };
    store::users::clear_failures(&state.db, &login).await?;
    let cookie = start_session(state, ctx, &user.id).await?;
    tracing::info!(%login, ip = ?ctx.ip, "signed in");
    super::audit::write(
        state,
        &super::audit::entry(
            state,
            Some(ctx),
            &user.login,
            Some(&user.region),
            "sign_in",
            &format!("user:{}", user.login),
            "",
        ),
    )
    .await;
    let mut resp = redirect("/cabinet/applicants");
    resp.headers_mut().append("set-cookie", cookie);
    Ok(resp)
}

/// Signs `user_id` in: a new server-side session, and the `Set-Cookie` value that hands its
/// token to the browser (the caller appends it to its response). A fresh session id at every
/// sign-in: whatever session the browser had before is deleted, its id never reused.
pub async fn start_session(
    state: &AppState,
    ctx: &Ctx,
    user_id: &str,
) -> AppResult<poem::http::HeaderValue> {
    if let Some(old) = &ctx.session_key {
        store::sessions::delete(&state.db, old).await?;
    }
    let token = random_token();
    let expires = chrono::Utc::now() + chrono::Duration::minutes(state.settings.session_minutes);
    store::sessions::create(
        &state.db,
        &hash_token(&token),
        user_id,
        expires,
        ctx.ip.clone(),
    )
    .await?;
    let cookie = set_cookie(
        state,
        SESSION_COOKIE,
        &token,
        Some(state.settings.session_minutes * 60),
    );
    cookie
        .parse()
        .map_err(|e: poem::http::header::InvalidHeaderValue| AppError::Internal(e.into()))
}

#[handler]
async fn logout(Data(state): Data<&Arc<AppState>>, Data(ctx): Data<&Ctx>) -> AppResult<Response> {
    if let Some(key) = &ctx.session_key {
        store::sessions::delete(&state.db, key).await?;
        super::audit::by_user(state, ctx, "sign_out", "", "").await;
    }
    let mut resp = redirect("/");
    let cookie = set_cookie(state, SESSION_COOKIE, "", Some(0));
    if let Ok(v) = cookie.parse() {
        resp.headers_mut().append("set-cookie", v);
    }
    Ok(resp)
}

#[derive(Deserialize)]
struct Back {
    back: Option<String>,
}

/// RU/KZ in the header. Only a preference cookie changes, so a plain link is enough.
#[handler]
async fn switch_language(
    Data(state): Data<&Arc<AppState>>,
    Path(lang): Path<String>,
    Query(q): Query<Back>,
) -> Response {
    let lang = crate::i18n::normalize_lang(&lang);
    // Only a local path is followed, never another site.
    let back = q
        .back
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or_else(|| "/".into());
    let mut resp = redirect(&back);
    if let Ok(v) = set_cookie(state, LANG_COOKIE, lang, Some(365 * 24 * 3600)).parse() {
        resp.headers_mut().append("set-cookie", v);
    }
    resp
}
