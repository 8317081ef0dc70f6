//! The audit log: what handlers call after every change and sign-in, and the admin page that
//! lists it with filters («Журнал аудита»).

use std::sync::Arc;

use chrono::{NaiveDate, TimeZone};
use minijinja::{context, Value};
use poem::web::{Data, Query};
use poem::{get, handler, IntoResponse, Response, Route};
use serde::{Deserialize, Serialize};

use super::{render, require_user, AppState, Ctx};
use crate::domain::user::Role;
use crate::error::{AppError, AppResult};
use crate::store::audit::{self as store, Entry, Filter};

/// Every action the log knows, with its label on the admin page.
pub const ACTIONS: &[(&str, &str)] = &[
    ("sign_in", "Вход"),
    ("sign_in_failed", "Неудачный вход"),
    ("sign_in_passkey", "Вход с ключом доступа"),
    ("sign_out", "Выход"),
    ("applicant_added", "Добавлен претендент"),
    ("applicant_edited", "Изменен претендент"),
    ("applicant_refused", "Отказано мобильной группой"),
    ("applicant_deleted", "Удален претендент"),
    ("list_formed", "Сформирован список"),
    ("list_renamed", "Изменено название списка"),
    ("list_deleted", "Удален список"),
    ("list_signed", "Список подписан и отправлен"),
    ("list_sign_refused", "Подпись отклонена"),
    ("ais_results", "Получены результаты из АИС"),
];

fn label(code: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or(code)
}

/// An entry by `actor` (a login, or АИС) whose region is `region` (a КАТО code; None when
/// unknown).
pub fn entry(
    state: &AppState,
    ctx: Option<&Ctx>,
    actor: &str,
    region: Option<&str>,
    action: &str,
    object: &str,
    details: &str,
) -> Entry {
    debug_assert!(
        ACTIONS.iter().any(|(c, _)| *c == action),
        "unknown audit action {action}"
    );
    let scope = region.and_then(|r| state.dict.scope_of(r));
    let (oblast, district) = scope.map(|s| (s.oblast, s.district)).unwrap_or_default();
    Entry {
        actor: actor.to_string(),
        ip: ctx.and_then(|c| c.ip.clone()).unwrap_or_default(),
        action: action.to_string(),
        object: object.to_string(),
        details: details.to_string(),
        oblast,
        district,
    }
}

/// Writes an entry (see `entry`). A failure is logged, never shown: the change the entry records
/// has already happened.
pub async fn write(state: &AppState, entry: &Entry) {
    if let Err(e) = store::record(&state.db, entry).await {
        tracing::error!(error = ?e, action = %entry.action, object = %entry.object, "the audit entry could not be written");
    }
}

/// The entry of an action by the signed-in user of `ctx`; written with the change it records
/// where the store takes it (an addition), or by `by_user`.
pub fn of_user(state: &AppState, ctx: &Ctx, action: &str, object: &str, details: &str) -> Entry {
    let (login, region) = match &ctx.user {
        Some(u) => (u.login.as_str(), Some(u.region.as_str())),
        None => ("", None),
    };
    entry(state, Some(ctx), login, region, action, object, details)
}

/// Writes an entry by the signed-in user of `ctx`.
pub async fn by_user(state: &AppState, ctx: &Ctx, action: &str, object: &str, details: &str) {
    write(state, &of_user(state, ctx, action, object, details)).await;
}

pub fn routes() -> Route {
    Route::new().at("/audit", get(page))
}

#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(default)]
struct AuditQuery {
    actor: String,
    action: String,
    from: String,
    to: String,
    #[serde(skip_serializing)]
    page: Option<i64>,
}

const PER_PAGE: i64 = 50;

fn day_start(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let local = chrono_tz::Asia::Almaty
        .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
        .single()?;
    Some(local.with_timezone(&chrono::Utc))
}

#[handler]
async fn page(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    let user = require_user(ctx)?;
    if user.role != Role::Admin {
        return Err(AppError::forbidden(
            "Недостаточно прав: журнал аудита доступен только администратору",
        ));
    }
    let mut error = None;
    let mut bad_date = |s: &str| {
        if s.is_empty() {
            return None;
        }
        let d = day_start(s);
        if d.is_none() {
            error = Some(ctx.t("Некорректная дата").to_string());
        }
        d
    };
    let from = bad_date(&q.from);
    let to = bad_date(&q.to).map(|d| d + chrono::Duration::days(1));
    let f = Filter {
        actor: q.actor.trim().chars().take(64).collect(),
        action: if ACTIONS.iter().any(|(c, _)| *c == q.action) {
            q.action.clone()
        } else {
            String::new()
        },
        from,
        to,
    };
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let field = state.dict.scope_field(&user.region);
    let (rows, total) = store::page(
        &state.db,
        field,
        &user.region,
        &f,
        (page - 1) * PER_PAGE,
        PER_PAGE,
    )
    .await?;
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| {
            context! {
                at => r.at.to_rfc3339(), actor => r.actor, ip => r.ip,
                action_label => ctx.t(label(&r.action)), object => r.object, details => r.details,
            }
        })
        .collect();
    let actions: Vec<Value> = ACTIONS
        .iter()
        .map(|(c, l)| context! { code => c, label => ctx.t(l) })
        .collect();
    let c = context! {
        rows => rows, total => total, page => page,
        pages => ((total + PER_PAGE - 1) / PER_PAGE).max(1),
        actions => actions, f => q, error => error,
        query => serde_urlencoded::to_string(&q).unwrap_or_default(),
    };
    Ok(render(state, ctx, "admin", "admin/audit.html", c)?.into_response())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_action_has_a_kazakh_label() {
        for (code, ru) in super::ACTIONS {
            assert_ne!(crate::i18n::t("kz", ru), *ru, "{code}");
        }
    }
}
