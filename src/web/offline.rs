//! Offline field work: the service worker and its scripts, the offline shell, the «Ожидают
//! отправки» panel, and the JSON endpoint the queue replays entries to (idempotent by key).

use std::sync::{Arc, OnceLock};

use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{get, handler, post, IntoResponse, Response, Route};
use rust_embed::RustEmbed;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{render, AppState, Ctx};
use crate::domain::applicant::ApplicantForm;
use crate::error::AppResult;
use crate::store::applicants::{self as store, Created};

#[derive(RustEmbed)]
#[folder = "service-worker/"]
#[include = "*.js"]
struct WorkerFiles;

#[derive(RustEmbed)]
#[folder = "public/"]
struct ShellFiles;

#[derive(RustEmbed)]
#[folder = "templates/"]
struct TemplateFiles;

/// The version of this deployment's shell: a hash of everything the service worker caches.
/// A new deployment has a new version, so the worker replaces its shell cache; the queue of
/// entries lives in IndexedDB and is never touched by that.
pub fn shell_version() -> &'static str {
    static V: OnceLock<String> = OnceLock::new();
    V.get_or_init(|| {
        let mut h = Sha256::new();
        let mut add = |name: &str, data: &[u8]| {
            h.update(name.as_bytes());
            h.update(data);
        };
        for n in ShellFiles::iter() {
            if let Some(f) = ShellFiles::get(&n) {
                add(&n, &f.data);
            }
        }
        for n in TemplateFiles::iter() {
            if let Some(f) = TemplateFiles::get(&n) {
                add(&n, &f.data);
            }
        }
        for n in WorkerFiles::iter() {
            if let Some(f) = WorkerFiles::get(&n) {
                add(&n, &f.data);
            }
        }
        hex::encode(h.finalize())[..12].to_string()
    })
}

/// Routes at the site root (the worker must be served there for its scope).
pub fn root_routes(route: Route) -> Route {
    route
        .at("/sw.js", get(service_worker))
        .at("/sw/:file", get(worker_part))
        .at("/offline", get(offline_shell))
}

/// Routes under /cabinet.
pub fn cabinet_routes(route: Route) -> Route {
    route
        .at("/pending", get(pending_panel))
        .at("/sync/session", get(sync_session))
        .at("/sync/applicants", post(sync_applicant))
}

fn javascript(body: String) -> Response {
    Response::builder()
        .header("content-type", "application/javascript; charset=utf-8")
        // The browser checks for a new worker on every navigation.
        .header("cache-control", "no-cache")
        .body(body)
}

/// The worker is served at the site root so that its scope is the whole site.
#[handler]
async fn service_worker() -> Response {
    let text = WorkerFiles::get("sw.js")
        .map(|f| String::from_utf8_lossy(&f.data).replace("__SHELL_VERSION__", shell_version()))
        .unwrap_or_default();
    javascript(text)
}

/// The worker's parts (request storage, queue policy), shared with the page.
#[handler]
async fn worker_part(Path(file): Path<String>) -> Response {
    match WorkerFiles::get(&file).filter(|_| file != "sw.js") {
        Some(f) => javascript(String::from_utf8_lossy(&f.data).into_owned()),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[handler]
async fn offline_shell(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
) -> AppResult<Response> {
    Ok(render(state, ctx, "offline", "offline.html", context! {})?.into_response())
}

/// The «Ожидают отправки» panel: a shell the page fills from the device's queue.
#[handler]
async fn pending_panel(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
) -> AppResult<Response> {
    super::require_user(ctx)?;
    Ok(render(state, ctx, "pending", "pending.html", context! {})?.into_response())
}

fn json_status(status: StatusCode, body: serde_json::Value) -> Response {
    Json(body).with_status(status).into_response()
}

/// Who is signed in and the CSRF token the queue must present. A page of another origin
/// cannot read this; an expired session answers 401 and the queue pauses.
#[handler]
async fn sync_session(Data(ctx): Data<&Ctx>) -> Response {
    match &ctx.user {
        Some(u) => json_status(
            StatusCode::OK,
            json!({ "login": u.login, "csrf": ctx.csrf }),
        ),
        None => json_status(
            StatusCode::UNAUTHORIZED,
            json!({ "status": "unauthorized", "message": "Сессия истекла. Войдите снова." }),
        ),
    }
}

/// Replays one queued entry. Answers with what happened so the queue can keep a refused
/// entry, with the server's message, for the user to fix: nothing is dropped.
#[handler]
async fn sync_applicant(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Json(form): Json<ApplicantForm>,
) -> AppResult<Response> {
    let Some(user) = &ctx.user else {
        return Ok(json_status(
            StatusCode::UNAUTHORIZED,
            json!({ "status": "unauthorized", "message": "Сессия истекла. Войдите снова." }),
        ));
    };
    if !user.role.can_write() {
        return Ok(json_status(
            StatusCode::FORBIDDEN,
            json!({ "status": "forbidden", "message": "Недостаточно прав: изменять данные претендентов может только сотрудник мобильной группы" }),
        ));
    }
    let key = form.idem_key.trim().to_string();
    if key.is_empty() || key.len() > 64 {
        return Ok(json_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "status": "invalid", "message": "Нет ключа записи", "errors": {} }),
        ));
    }
    let valid = match form.parse(&state.dict, &user.region, false) {
        Ok(v) => v,
        Err(errors) => {
            let first = errors.values().next().cloned().unwrap_or_default();
            return Ok(json_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "status": "invalid", "message": first, "errors": errors }),
            ));
        }
    };
    let Some(scope) = state.dict.scope_of(&valid.kato) else {
        return Ok(json_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "status": "invalid", "message": "Выберите город/район из справочника", "errors": { "kato": "Выберите город/район из справочника" } }),
        ));
    };
    Ok(
        match {
            let details = format!("{} (offline)", valid.iin.as_str());
            let audit = super::audit::of_user(state, ctx, "applicant_added", "", &details);
            let created =
                store::create(&state.db, &valid, &scope, &user.login, &key, Some(&audit)).await;
            state.totals.forget();
            created?
        } {
            Created::New(id) => {
                tracing::info!(applicant = %id, by = %user.login, key = %key, "applicant added from the offline queue");
                json_status(
                    StatusCode::CREATED,
                    json!({ "status": "created", "id": id, "message": ctx.t("Новый претендент успешно добавлен!") }),
                )
            }
            Created::Replayed(id) => json_status(
                StatusCode::OK,
                json!({ "status": "replayed", "id": id, "message": ctx.t("Новый претендент успешно добавлен!") }),
            ),
            Created::DuplicateIin(_) => json_status(
                StatusCode::CONFLICT,
                json!({ "status": "duplicate", "message": ctx.t("Претендент с таким ИИН уже зарегистрирован"), "errors": { "iin": ctx.t("Претендент с таким ИИН уже зарегистрирован") } }),
            ),
        },
    )
}
