//! The «Списки» tab (manual §6–9): forming a list, the lists table, renaming, deleting, the
//! list page and its Excel export.

use std::sync::Arc;

use minijinja::{context, Value};
use poem::http::StatusCode;
use poem::web::{Data, Form, Path, Query};
use poem::{get, handler, IntoResponse, Response, Route};
use serde::Deserialize;

use super::auth::redirect;
use super::{render, require_user, AppState, Ctx};
use crate::domain::applicant::{allowed, fio, Status};
use crate::domain::list::{parse_note, ListStatus};
use crate::domain::user::User;
use crate::error::{AppError, AppResult};
use crate::export::XlsxExport;
use crate::store::applicants::ApplicantRow;
use crate::store::lists::{self as store, Formed, ListRow};

pub const PER_PAGE: i64 = 20;
pub const MEMBERS_PER_PAGE: i64 = 50;
const EXPORT_BATCH: i64 = 1000;

pub fn routes() -> Route {
    Route::new()
        .at("/", get(index))
        .at("/new", get(new_form).post(create))
        .at("/:id", get(show))
        .at("/:id/rename", get(rename_form).post(rename))
        .at("/:id/delete", get(confirm_delete).post(delete))
        .at("/:id/export.xlsx", get(export))
        .at(
            "/:id/sign",
            get(super::signing::dialog).post(super::signing::sign),
        )
        .at("/:id/payload", get(super::signing::list_payload))
        .at("/changes", get(super::signing::changes))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    page: Option<i64>,
    msg: String,
}

fn flash_text(msg: &str) -> Option<&'static str> {
    match msg {
        "formed" => Some("Новый список успешно сформирован."),
        "renamed" => Some("Список успешно изменен."),
        "deleted" => Some("Список был удален"),
        "empty" => Some("Нет претендентов для формирования нового списка"),
        _ => None,
    }
}

fn list_view(state: &AppState, ctx: &Ctx, user: &User, l: &ListRow, n: i64) -> Value {
    let status = ListStatus::parse(&l.status);
    context! {
        n => n,
        id => l.id,
        num => l.num,
        region => state.dict.place(&l.region).map(|p| p.name(ctx.lang).to_string()).unwrap_or_default(),
        created_at => l.created_at.to_rfc3339(),
        status_changed_at => l.status_changed_at.to_rfc3339(),
        status_changed_by => l.status_changed_by,
        status => status.code(),
        status_label => ctx.t(status.label_ru()),
        members => l.members,
        note => l.note,
        can_edit => status.editable() && user.role.can_write(),
    }
}

async fn table_context(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    page: i64,
    msg: &str,
) -> AppResult<Value> {
    let page = page.clamp(1, 100_000);
    let field = state.dict.scope_field(&user.region);
    let (rows, total) = store::page(
        &state.db,
        field,
        &user.region,
        (page - 1) * PER_PAGE,
        PER_PAGE,
    )
    .await?;
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let waiting: Vec<&str> = rows
        .iter()
        .filter(|l| l.status == "sent")
        .map(|l| l.id.as_str())
        .collect();
    let poll = (!waiting.is_empty()).then(|| {
        format!(
            "ids={}&since={}",
            waiting.join(","),
            super::signing::stamp(chrono::Utc::now())
        )
    });
    let rows: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, l)| list_view(state, ctx, user, l, (page - 1) * PER_PAGE + i as i64 + 1))
        .collect();
    let flash = flash_text(msg).map(|m| ctx.t(m).to_string());
    Ok(context! {
        rows => rows, total => total, page => page, pages => pages,
        flash => flash, flash_error => msg == "empty", poll => poll,
    })
}

#[handler]
async fn index(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    let user = require_user(ctx)?;
    let c = table_context(state, ctx, user, q.page.unwrap_or(1), &q.msg).await?;
    Ok(render(state, ctx, "lists", "lists/page.html", c)?.into_response())
}

fn require_writer(ctx: &Ctx) -> AppResult<&User> {
    super::require_writer(
        ctx,
        "Недостаточно прав: формировать и изменять списки может только сотрудник мобильной группы",
    )
}

#[handler]
async fn new_form(Data(state): Data<&Arc<AppState>>, Data(ctx): Data<&Ctx>) -> AppResult<Response> {
    require_writer(ctx)?;
    let c = context! { action => "/cabinet/lists/new", note => "", title => ctx.t("Создание нового списка") };
    Ok(render(state, ctx, "lists", "lists/note_form.html", c)?.into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct NoteForm {
    note: String,
    #[allow(dead_code)]
    csrf_token: String,
}

fn note_refused(
    state: &AppState,
    ctx: &Ctx,
    action: &str,
    title: &str,
    note: &str,
    error: &str,
) -> AppResult<Response> {
    let target = action
        .strip_suffix("/rename")
        .and_then(|p| p.rsplit('/').next())
        .map(|id| format!("#list-{id}"));
    let c = context! { action => action, note => note, title => title, error => crate::i18n::message(ctx.lang, error), target => target };
    if ctx.htmx {
        // A refused rename shows again in its dialog, not in the row.
        let mut resp = render(state, ctx, "lists", "lists/_note_form.html", c)?
            .with_status(StatusCode::UNPROCESSABLE_ENTITY)
            .into_response();
        resp.headers_mut().insert(
            "HX-Retarget",
            "#dialog-slot".parse().expect("static header"),
        );
        resp.headers_mut()
            .insert("HX-Reswap", "innerHTML".parse().expect("static header"));
        return Ok(resp);
    }
    Ok(render(state, ctx, "lists", "lists/note_form.html", c)?
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

#[handler]
async fn create(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Form(form): Form<NoteForm>,
) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let note = match parse_note(&form.note) {
        Ok(n) => n,
        Err(e) => {
            return note_refused(
                state,
                ctx,
                "/cabinet/lists/new",
                ctx.t("Создание нового списка"),
                &form.note,
                e,
            )
        }
    };
    let field = state.dict.scope_field(&user.region);
    let scope = state
        .dict
        .scope_of(&user.region)
        .ok_or_else(|| AppError::forbidden("Регион пользователя не найден в справочнике КАТО"))?;
    match store::form(&state.db, field, &user.region, &scope, &note, &user.login).await? {
        Formed::New { id, num, members } => {
            tracing::info!(list = %id, num, members, by = %user.login, "list formed");
            super::audit::by_user(
                state,
                ctx,
                "list_formed",
                &format!("list:{id}"),
                &format!("№ {num}, {members}"),
            )
            .await;
            Ok(redirect("/cabinet/lists?msg=formed"))
        }
        Formed::NoApplicants => {
            let c = context! {
                action => "/cabinet/lists/new", note => form.note, title => ctx.t("Создание нового списка"),
                error => ctx.t("Нет претендентов для формирования нового списка"),
            };
            Ok(render(state, ctx, "lists", "lists/note_form.html", c)?
                .with_status(StatusCode::UNPROCESSABLE_ENTITY)
                .into_response())
        }
    }
}

/// A list of the user's region, or «Список не найден».
pub(super) async fn load(state: &AppState, user: &User, id: &str) -> AppResult<ListRow> {
    let field = state.dict.scope_field(&user.region);
    store::get(&state.db, field, &user.region, id)
        .await?
        .ok_or_else(|| AppError::NotFound("Список не найден".into()))
}

const SENT_REFUSAL: &str = "Список уже отправлен на проверку в АИС «Рынок труда»: изменить название или удалить его нельзя";

fn member_view(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    list: &ListRow,
    r: &ApplicantRow,
    n: i64,
) -> Value {
    let s = Status::parse(&r.status);
    let returned = ListStatus::parse(&list.status) == ListStatus::Received;
    let a = allowed(s, r.sent, returned, user.role.can_write());
    context! {
        n => n,
        id => r.id,
        fio => fio(&r.last_name, &r.first_name, &r.middle_name),
        iin => r.iin,
        birth_date => r.birth_date,
        region => state.dict.full_name(&r.kato, ctx.lang),
        address => [r.street.as_str(), r.house.as_str(), r.flat.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(", "),
        status => context! {
            code => s.code(), icon => s.icon(), label => ctx.t(s.label_ru()),
            ais_reason => r.ais_reason, mg_reason => r.mg_reason,
        },
        can_edit => a.edit,
        can_delete => a.delete,
    }
}

#[handler]
async fn show(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Query(q): Query<PageQuery>,
) -> AppResult<Response> {
    let user = require_user(ctx)?;
    let list = load(state, user, &id).await?;
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let rows = store::members(
        &state.db,
        &id,
        (page - 1) * MEMBERS_PER_PAGE,
        MEMBERS_PER_PAGE,
    )
    .await?;
    let pages = ((list.members + MEMBERS_PER_PAGE - 1) / MEMBERS_PER_PAGE).max(1);
    let members: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            member_view(
                state,
                ctx,
                user,
                &list,
                r,
                (page - 1) * MEMBERS_PER_PAGE + i as i64 + 1,
            )
        })
        .collect();
    let versions = crate::store::signing::versions(&state.db, &id).await?;
    let status = ListStatus::parse(&list.status);
    let flash = match q.msg.as_str() {
        "sent" => Some(ctx.t("Список подписан и отправлен на проверку в АИС «Рынок труда»")),
        "edited" => Some(ctx.t("Редактирование прошло успешно!")),
        _ => None,
    };
    let c = context! {
        list => list_view(state, ctx, user, &list, 0),
        members => members, page => page, pages => pages,
        can_sign => user.role.can_write() && status != ListStatus::Sent && list.members > 0,
        versions => versions,
        flash => flash,
        poll => (status == ListStatus::Sent).then(|| super::signing::stamp(list.status_changed_at)),
    };
    Ok(render(state, ctx, "lists", "lists/show.html", c)?.into_response())
}

#[handler]
async fn rename_form(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let list = load(state, user, &id).await?;
    if !ListStatus::parse(&list.status).editable() {
        return Err(AppError::forbidden(SENT_REFUSAL));
    }
    let c = context! {
        action => format!("/cabinet/lists/{id}/rename"), note => list.note,
        title => ctx.t("Изменение названия списка"), target => format!("#list-{id}"),
    };
    let tmpl = if ctx.htmx {
        "lists/_note_form.html"
    } else {
        "lists/note_form.html"
    };
    Ok(render(state, ctx, "lists", tmpl, c)?.into_response())
}

#[handler]
async fn rename(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    Form(form): Form<NoteForm>,
) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let list = load(state, user, &id).await?;
    if !ListStatus::parse(&list.status).editable() {
        return Err(AppError::forbidden(SENT_REFUSAL));
    }
    let action = format!("/cabinet/lists/{id}/rename");
    let note = match parse_note(&form.note) {
        Ok(n) => n,
        Err(e) => {
            return note_refused(
                state,
                ctx,
                &action,
                ctx.t("Изменение названия списка"),
                &form.note,
                e,
            )
        }
    };
    let field = state.dict.scope_field(&user.region);
    if !store::rename(&state.db, field, &user.region, &id, &note).await? {
        return Err(AppError::forbidden(SENT_REFUSAL));
    }
    super::audit::by_user(state, ctx, "list_renamed", &format!("list:{id}"), &note).await;
    if ctx.htmx {
        // The row updates in place.
        let list = load(state, user, &id).await?;
        let c = context! { l => list_view(state, ctx, user, &list, 0), oob_flash => ctx.t("Список успешно изменен.") };
        return Ok(render(state, ctx, "lists", "lists/_row.html", c)?.into_response());
    }
    Ok(redirect("/cabinet/lists?msg=renamed"))
}

#[handler]
async fn confirm_delete(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let list = load(state, user, &id).await?;
    if !ListStatus::parse(&list.status).editable() {
        return Err(AppError::forbidden(SENT_REFUSAL));
    }
    let c = context! { l => list_view(state, ctx, user, &list, 0) };
    let tmpl = if ctx.htmx {
        "lists/_confirm_delete.html"
    } else {
        "lists/confirm_delete_page.html"
    };
    Ok(render(state, ctx, "lists", tmpl, c)?.into_response())
}

#[handler]
async fn delete(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let _ = load(state, user, &id).await?;
    let field = state.dict.scope_field(&user.region);
    if !store::delete(&state.db, field, &user.region, &id).await? {
        return Err(AppError::forbidden(SENT_REFUSAL));
    }
    tracing::info!(list = %id, by = %user.login, "list deleted");
    super::audit::by_user(state, ctx, "list_deleted", &format!("list:{id}"), "").await;
    if ctx.htmx {
        // The row swaps out; the message and the closed dialog come out of band.
        let c = context! { message => ctx.t("Список был удален") };
        return Ok(render(state, ctx, "lists", "lists/_deleted.html", c)?.into_response());
    }
    Ok(redirect("/cabinet/lists?msg=deleted"))
}

#[handler]
async fn export(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_user(ctx)?;
    let list = load(state, user, &id).await?;
    let tz = chrono_tz::Asia::Almaty;
    let fmt = |d: chrono::DateTime<chrono::Utc>| {
        d.with_timezone(&tz).format("%d.%m.%Y %H:%M:%S").to_string()
    };
    let region = state
        .dict
        .place(&list.region)
        .map(|p| p.name(ctx.lang).to_string())
        .unwrap_or_default();
    let title = vec![
        format!("{} № {} — {}", ctx.t("Список"), list.num, region),
        format!("{}: {}", ctx.t("Текст примечания"), list.note),
        format!(
            "{}: {}; {}: {}; {}: {}",
            ctx.t("Дата создания списка"),
            fmt(list.created_at),
            ctx.t("Дата изменения статуса"),
            fmt(list.status_changed_at),
            ctx.t("Статус списка"),
            ctx.t(ListStatus::parse(&list.status).label_ru()),
        ),
    ];
    let mut xlsx = XlsxExport::new(
        &format!("{} {}", ctx.t("Список"), list.num),
        &title,
        ctx.lang,
    )?;
    let started = std::time::Instant::now();
    let ids = store::member_ids(&state.db, &id).await?;
    let ids_took = started.elapsed();
    let (mut read, mut write) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    for chunk in ids.chunks(EXPORT_BATCH as usize) {
        let t = std::time::Instant::now();
        let batch = store::rows_of(&state.db, chunk).await?;
        read += t.elapsed();
        let t = std::time::Instant::now();
        xlsx.write_rows(&batch, &state.dict)?;
        write += t.elapsed();
    }
    tracing::info!(
        ids_ms = ids_took.as_millis() as u64,
        read_ms = read.as_millis() as u64,
        write_ms = write.as_millis() as u64,
        "export rows gathered"
    );
    let rows = xlsx.rows_written();
    let now = chrono::Utc::now().with_timezone(&tz);
    let ascii = format!("list-{}-{}.xlsx", list.num, now.format("%Y%m%d-%H%M"));
    let utf8 = format!("Список_{}_{}.xlsx", list.num, now.format("%d.%m.%Y_%H-%M"));
    tracing::info!(list = %id, rows, by = %user.login, "list exported");
    super::xlsx_download(xlsx, &ascii, &utf8).await
}
