//! «Подписать ЭЦП и отправить на проверку» (manual §9): the signing dialog, the list's canonical
//! payload for the in-page signer, verifying and storing the signature with its outbox package,
//! the results endpoint АИС posts to, and the poll that shows new statuses without a reload.

use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::context;
use poem::http::StatusCode;
use poem::web::{Data, Json, Path, Query};
use poem::{handler, post, IntoResponse, Request, Response, Route};
use serde::Deserialize;

use super::{render, require_writer, AppState, Ctx};
use crate::ais::{Package, Results};
use crate::domain::list::ListStatus;
use crate::error::{AppError, AppResult};
use crate::signing::verify_list_signature;
use crate::store::applicants::ApplicantRow;
use crate::store::lists::ListRow;
use crate::store::signing::{self as store, SignOutcome, SignedVersion};

const WRITERS_ONLY: &str =
    "Недостаточно прав: подписывать и отправлять списки может только сотрудник мобильной группы";
pub const ALREADY_SENT: &str = "Список уже отправлен на проверку в АИС «Рынок труда»";
pub const EMPTY_LIST: &str = "В списке нет претендентов";
pub const FAILED_LEFT: &str = "Перед повторной отправкой измените данные претендентов, не прошедших проверку, или откажите им";
pub const NOTHING_CHANGED: &str =
    "В списке нет изменений после проверки в АИС «Рынок труда»: отправлять нечего";
pub const LIST_CHANGED: &str =
    "Список изменился после того, как его данные были подписаны. Подпишите его еще раз";
/// The largest signed request accepted (a CMS with the payload attached, base64).
const MAX_SIGN_BODY: usize = 64 * 1024 * 1024;

/// Why this list cannot be signed now, if it cannot (the server's rule; the page only hides).
pub async fn refusal(
    state: &AppState,
    list: &ListRow,
    rows: &[ApplicantRow],
) -> AppResult<Option<&'static str>> {
    let status = ListStatus::parse(&list.status);
    if status == ListStatus::Sent {
        return Ok(Some(ALREADY_SENT));
    }
    if rows.is_empty() {
        return Ok(Some(EMPTY_LIST));
    }
    if status == ListStatus::Received {
        if rows.iter().any(|r| r.status == "failed") {
            return Ok(Some(FAILED_LEFT));
        }
        let changed = rows
            .iter()
            .any(|r| r.status == "changed" || r.status == "new");
        let refused = rows.iter().filter(|r| r.status == "refused").count() as i64;
        let before = store::versions(&state.db, &list.id)
            .await?
            .first()
            .map(|v| v.refused)
            .unwrap_or(0);
        if !changed && refused <= before {
            return Ok(Some(NOTHING_CHANGED));
        }
    }
    Ok(None)
}

/// The dialog of fig. 23–24: the key file, its password, «Отправить».
#[handler]
pub async fn dialog(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_writer(ctx, WRITERS_ONLY)?;
    let list = super::lists::load(state, user, &id).await?;
    let rows = store::members_by_id(&state.db, &id).await?;
    let refused = refusal(state, &list, &rows).await?;
    let c = context! {
        list => context! { id => list.id, num => list.num, note => list.note, members => list.members },
        version => list.signed + 1,
        refusal => refused.map(|m| crate::i18n::message(ctx.lang, m)),
        user_iin => user.iin,
        payload_url => format!("/cabinet/lists/{id}/payload"),
        sign_url => format!("/cabinet/lists/{id}/sign"),
    };
    let tmpl = if ctx.htmx {
        "lists/_sign.html"
    } else {
        "lists/sign_page.html"
    };
    Ok(render(state, ctx, "lists", tmpl, c)?.into_response())
}

/// The canonical payload of the next version, exactly the bytes the page signs.
#[handler]
pub async fn list_payload(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_writer(ctx, WRITERS_ONLY)?;
    let list = super::lists::load(state, user, &id).await?;
    let rows = store::members_by_id(&state.db, &id).await?;
    if let Some(why) = refusal(state, &list, &rows).await? {
        return Err(AppError::Conflict(crate::i18n::message(ctx.lang, why)));
    }
    let version = list.signed + 1;
    let (payload, _) = store::build_payload(&list, version, &user.iin, &rows);
    Ok(Response::builder()
        .status(StatusCode::OK)
        .content_type("application/json; charset=utf-8")
        .header("Cache-Control", "no-store")
        .header("X-List-Version", version.to_string())
        .body(payload.to_bytes()))
}

#[derive(Debug, Deserialize)]
struct SignRequest {
    version: i64,
    /// DER CMS SignedData, standard base64.
    signature: String,
}

fn sign_error(status: StatusCode, message: &str) -> Response {
    Json(serde_json::json!({ "ok": false, "error": message }))
        .with_status(status)
        .into_response()
}

/// Verifies the signature against the list as stored now and, if it holds, stores it with the
/// version, marks the list sent and queues the package for АИС — all in one transaction.
#[handler]
pub async fn sign(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    body: poem::Body,
) -> AppResult<Response> {
    let user = require_writer(ctx, WRITERS_ONLY)?;
    let lang = ctx.lang;
    let msg = |m: &str| crate::i18n::message(lang, m);
    let bytes = match body.into_bytes_limit(MAX_SIGN_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return Ok(sign_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &msg("Слишком большой запрос"),
            ))
        }
    };
    let req: SignRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(_) => {
            return Ok(sign_error(
                StatusCode::BAD_REQUEST,
                &msg("Некорректный формат подписи"),
            ))
        }
    };
    let list = super::lists::load(state, user, &id).await?;
    let rows = store::members_by_id(&state.db, &id).await?;
    if let Some(why) = refusal(state, &list, &rows).await? {
        return Ok(sign_error(StatusCode::CONFLICT, &msg(why)));
    }
    let version = list.signed + 1;
    if req.version != version {
        return Ok(sign_error(StatusCode::CONFLICT, &msg(LIST_CHANGED)));
    }
    let Ok(cms) = base64::engine::general_purpose::STANDARD.decode(req.signature.trim()) else {
        return Ok(sign_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &msg("Некорректный формат подписи"),
        ));
    };
    let (payload, fp) = store::build_payload(&list, version, &user.iin, &rows);
    let payload_bytes = payload.to_bytes();
    let signer =
        match verify_list_signature(&cms, &payload_bytes, &state.trust, &user.iin, Utc::now()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(list = %id, by = %user.login, error = %e, "ЭЦП signature refused");
                super::audit::by_user(
                    state,
                    ctx,
                    "list_sign_refused",
                    &format!("list:{id}"),
                    &e.to_string(),
                )
                .await;
                return Ok(sign_error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &msg(&e.to_string()),
                ));
            }
        };
    let package_id = uuid::Uuid::now_v7().to_string();
    let payload_text = String::from_utf8(payload_bytes).map_err(anyhow::Error::from)?;
    let callback = format!(
        "{}/api/ais/results",
        state.public_url.get().cloned().unwrap_or_default()
    );
    let package = Package {
        package_id: package_id.clone(),
        list_id: id.clone(),
        version,
        payload: payload_text.clone(),
        signature: base64::engine::general_purpose::STANDARD.encode(&cms),
        callback,
    };
    let v = SignedVersion {
        list: id.clone(),
        version,
        package: package_id.clone(),
        payload: payload_text,
        signature: package.signature.clone(),
        cert_subject: signer.subject.clone(),
        cert_issuer: signer.issuer.clone(),
        cert_serial: signer.serial_number.clone(),
        cert_not_after: signer.not_after,
        algorithm: signer.algorithm.to_string(),
        signer_iin: signer.iin.clone(),
        signed_by: user.login.clone(),
        applicants: fp.count,
        to_check: payload.applicants.iter().filter(|a| a.to_check()).count() as i64,
        refused: payload
            .applicants
            .iter()
            .filter(|a| a.status == "refused")
            .count() as i64,
        body: serde_json::to_string(&package).map_err(anyhow::Error::from)?,
    };
    let field = state.dict.scope_field(&user.region);
    match store::commit_signature(&state.db, field, &user.region, &v, fp).await? {
        SignOutcome::Sent => {
            state.outbox_wake.notify_one();
            tracing::info!(list = %id, version, package = %package_id, by = %user.login, serial = %signer.serial_number, "list signed and queued for АИС");
            super::audit::by_user(
                state,
                ctx,
                "list_signed",
                &format!("list:{id}"),
                &format!("v{version}, {}, {}", signer.subject, signer.serial_number),
            )
            .await;
            Ok(Json(serde_json::json!({
                "ok": true,
                "location": format!("/cabinet/lists/{id}?msg=sent"),
            }))
            .into_response())
        }
        SignOutcome::WrongState => Ok(sign_error(StatusCode::CONFLICT, &msg(ALREADY_SENT))),
        SignOutcome::Changed => Ok(sign_error(StatusCode::CONFLICT, &msg(LIST_CHANGED))),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ChangesQuery {
    ids: String,
    since: String,
}

/// Polled by open pages that wait for АИС: `HX-Refresh` when one of the lists changed status
/// after `since`, else 204 (nothing to do).
#[handler]
pub async fn changes(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Query(q): Query<ChangesQuery>,
) -> AppResult<Response> {
    let user = super::require_user(ctx)?;
    let Ok(since) = DateTime::parse_from_rfc3339(q.since.trim()) else {
        return Err(AppError::BadRequest("Некорректный запрос".into()));
    };
    let ids: Vec<String> = q
        .ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= 64 && s.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_owned)
        .collect();
    let field = state.dict.scope_field(&user.region);
    let changed = store::lists_changed_since(
        &state.db,
        field,
        &user.region,
        &ids,
        since.with_timezone(&Utc),
    )
    .await?;
    if changed {
        return Ok(Response::builder()
            .status(StatusCode::OK)
            .header("HX-Refresh", "true")
            .header("Cache-Control", "no-store")
            .finish());
    }
    Ok(Response::builder()
        .status(StatusCode::NO_CONTENT)
        .header("Cache-Control", "no-store")
        .finish())
}

/// The stamp the poll compares against (nanoseconds, UTC).
pub fn stamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// `/api/ais/*`: what АИС calls, with its bearer token (no session, no CSRF token).
pub fn api_routes() -> Route {
    Route::new().at("/results", post(results))
}

#[handler]
async fn results(req: &Request, Data(state): Data<&Arc<AppState>>, body: poem::Body) -> Response {
    if !crate::ais::sim::bearer_ok(req, &state.ais_callback_token) {
        return Json(serde_json::json!({"error": "unauthorized"}))
            .with_status(StatusCode::UNAUTHORIZED)
            .into_response();
    }
    let bytes = match body.into_bytes_limit(MAX_SIGN_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return Json(serde_json::json!({"error": "too large"}))
                .with_status(StatusCode::PAYLOAD_TOO_LARGE)
                .into_response()
        }
    };
    let results: Results = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return Json(serde_json::json!({"error": format!("bad results: {e}")}))
                .with_status(StatusCode::BAD_REQUEST)
                .into_response()
        }
    };
    match store::apply_results(&state.db, &results).await {
        Ok(store::ResultsOutcome::Applied { passed, failed }) => {
            tracing::info!(list = %results.list_id, version = results.version, passed, failed, "АИС results applied");
            let region: Option<String> = match state
                .db
                .query("(SELECT VALUE region FROM type::record('list', $id))[0]")
                .bind(("id", results.list_id.clone()))
                .await
            {
                Ok(mut r) => r.take(0).unwrap_or(None),
                Err(_) => None,
            };
            super::audit::write(
                state,
                &super::audit::entry(
                    state,
                    None,
                    crate::ais::AIS_ACTOR,
                    region.as_deref(),
                    "ais_results",
                    &format!("list:{}", results.list_id),
                    &format!("v{}: {passed} / {failed}", results.version),
                ),
            )
            .await;
            Json(serde_json::json!({"status": "applied", "passed": passed, "failed": failed}))
                .into_response()
        }
        Ok(store::ResultsOutcome::Duplicate) => {
            Json(serde_json::json!({"status": "duplicate"})).into_response()
        }
        Ok(store::ResultsOutcome::Unexpected) => Json(serde_json::json!({"status": "unexpected"}))
            .with_status(StatusCode::CONFLICT)
            .into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "applying АИС results");
            Json(serde_json::json!({"error": "storage"}))
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .into_response()
        }
    }
}
