//! The «Данные претендентов» tab (manual §2–5, 10–12): the table with search and pagination,
//! adding, the card, editing, refusal by the mobile group, deleting, and the КАТО picker.

use std::sync::Arc;

use minijinja::{context, Value};
use poem::http::StatusCode;
use poem::web::{Data, Html, Path, Query};
use poem::{get, handler, Body, IntoResponse, Request, Response, Route};
use serde::{Deserialize, Serialize};

use super::auth::redirect;
use super::context::MAX_FORM_BYTES;
use super::{merge, render, require_user, AppState, Ctx};
use crate::domain::applicant::{
    allowed, fio, Allowed, ApplicantForm, FieldErrors, Status, ValidApplicant,
};
use crate::domain::iin::Gender;
use crate::domain::kato::normalize_search;
use crate::domain::user::User;
use crate::error::{AppError, AppResult};
use crate::store::applicants::{
    self as store, ApplicantRow, Change, Created, ListInfo, Search, Updated,
};

pub const PER_PAGE: i64 = 20;

pub fn routes() -> Route {
    Route::new()
        .at("/", get(index).post(create))
        .at("/new", get(new_form))
        .at("/export.xlsx", get(export))
        .at("/:id", get(card).post(update))
        .at("/:id/edit", get(edit_form))
        .at("/:id/delete", get(confirm_delete).post(delete))
}

#[derive(Debug, Default, Deserialize, Serialize, Clone)]
#[serde(default)]
pub struct ListQuery {
    pub fio: String,
    pub iin: String,
    pub page: Option<i64>,
    pub msg: String,
}

impl ListQuery {
    fn search(&self) -> Search {
        let iin: String = self.iin.chars().filter(|c| !c.is_whitespace()).collect();
        let iin = if iin.is_empty() {
            None
        } else if iin.chars().all(|c| c.is_ascii_digit()) && iin.len() <= 12 {
            Some(iin)
        } else {
            // Not an IIN prefix: nothing can match; search for an impossible prefix rather
            // than show everything.
            Some("x".into())
        };
        let fio: String = normalize_search(&self.fio).chars().take(100).collect();
        Search {
            fio: fio.split_whitespace().map(str::to_string).collect(),
            iin,
        }
    }
}

fn status_view(ctx: &Ctx, r: &ApplicantRow) -> Value {
    let s = Status::parse(&r.status);
    context! {
        code => s.code(),
        icon => s.icon(),
        label => ctx.t(s.label_ru()),
        ais_reason => r.ais_reason,
        mg_reason => r.mg_reason,
    }
}

/// What the rules allow for this applicant, given the list it is in.
fn allowed_for(user: &User, r: &ApplicantRow, list: Option<&ListInfo>) -> Allowed {
    allowed(
        Status::parse(&r.status),
        r.sent,
        list.is_some_and(ListInfo::returned),
        user.role.can_write(),
    )
}

fn row_view(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    r: &ApplicantRow,
    list: Option<&ListInfo>,
) -> Value {
    let a = allowed_for(user, r, list);
    let place = state.dict.place(&r.kato);
    context! {
        id => r.id,
        fio => fio(&r.last_name, &r.first_name, &r.middle_name),
        region => place.map(|p| p.name(ctx.lang).to_string()).unwrap_or_default(),
        iin => r.iin,
        birth_date => r.birth_date,
        address => [r.street.as_str(), r.house.as_str(), r.flat.as_str()].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(", "),
        status => status_view(ctx, r),
        can_edit => a.edit,
        can_delete => a.delete,
    }
}

fn legend(ctx: &Ctx) -> Value {
    let item = |icon: &str, cls: &str, ru: &str| context! { icon => icon, cls => cls, label => ctx.t(ru).to_string() };
    Value::from(vec![
        item("○", "new", "Не проверен"),
        item("✓", "passed", "Прошел проверку в АИС \"Рынок труда\""),
        item("🔄", "changed", "Изменен после отрицательной проверки"),
        item("⊗", "failed", "Не прошел проверку в АИС \"Рынок труда\""),
        item("📄", "failed", "Причина отказа в АИС \"Рынок труда\""),
        item("⊗", "refused", "Отказано мобильной группой"),
        item("📄", "refused", "Причина отказа мобильной группы"),
    ])
}

fn flash_text(msg: &str) -> Option<&'static str> {
    match msg {
        "added" => Some("Новый претендент успешно добавлен!"),
        "edited" => Some("Редактирование прошло успешно!"),
        "deleted" => Some("Удаление претендента прошло успешно"),
        _ => None,
    }
}

async fn table_context(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    q: &ListQuery,
) -> AppResult<Value> {
    let page = q.page.unwrap_or(1).clamp(1, 100_000);
    let field = state.dict.scope_field(&user.region);
    let (rows, total) = store::page_remembering(
        &state.db,
        Some(&state.totals),
        field,
        &user.region,
        &q.search(),
        (page - 1) * PER_PAGE,
        PER_PAGE,
    )
    .await?;
    let pages = ((total + PER_PAGE - 1) / PER_PAGE).max(1);
    let keys: Vec<String> = rows.iter().map(|r| r.list.clone()).collect();
    let lists = store::lists_of(&state.db, &keys).await?;
    // Lists on this page that АИС is checking: the page polls them and reloads on a result.
    let mut waiting: Vec<String> = lists
        .values()
        .filter(|l| l.status == "sent")
        .map(|l| l.id.clone())
        .collect();
    waiting.sort();
    let poll = (!waiting.is_empty()).then(|| {
        format!(
            "ids={}&since={}",
            waiting.join(","),
            super::signing::stamp(chrono::Utc::now())
        )
    });
    let rows: Vec<Value> = rows
        .iter()
        .map(|r| row_view(state, ctx, user, r, lists.get(&r.list)))
        .collect();
    let query_base =
        serde_urlencoded::to_string([("fio", q.fio.as_str()), ("iin", q.iin.as_str())])
            .unwrap_or_default();
    Ok(context! {
        rows => rows,
        total => total,
        page => page,
        pages => pages,
        query_base => query_base,
        q => q,
        searching => !q.search().is_all(),
        legend => legend(ctx),
        flash => flash_text(&q.msg).map(|m| ctx.t(m).to_string()),
        poll => poll,
    })
}

#[handler]
async fn index(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Query(q): Query<ListQuery>,
    req: &poem::Request,
) -> AppResult<Response> {
    let user = require_user(ctx)?;
    let table = table_context(state, ctx, user, &q).await?;
    // Active search and pagination swap only the table.
    let target = req.header("hx-target").unwrap_or_default();
    if ctx.htmx && target == "applicant-table" {
        return Ok(
            render(state, ctx, "applicants", "applicants/_table.html", table)?.into_response(),
        );
    }
    Ok(render(state, ctx, "applicants", "applicants/page.html", table)?.into_response())
}

fn form_context(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    form: &ApplicantForm,
    errors: &FieldErrors,
) -> Value {
    let cats = |kind: &str| -> Vec<Value> {
        state
            .dict
            .categories_of(kind)
            .map(|c| context! { code => c.code, name => c.name(ctx.lang) })
            .collect()
    };
    let kato_name = if form.kato.is_empty() {
        String::new()
    } else {
        state.dict.full_name(&form.kato, ctx.lang)
    };
    context! {
        form => form,
        errors => errors
            .iter()
            .map(|(k, v)| (k.to_string(), crate::i18n::message(ctx.lang, v)))
            .collect::<std::collections::BTreeMap<String, String>>(),
        kato_name => kato_name,
        region => user.region,
        applicant_categories => cats("applicant"),
        employment_categories => cats("employment"),
        genders => vec![
            context! { code => Gender::Male.code(), name => ctx.t(Gender::Male.label_ru()) },
            context! { code => Gender::Female.code(), name => ctx.t(Gender::Female.label_ru()) },
        ],
    }
}

const NO_RIGHTS: &str =
    "Недостаточно прав: изменять данные претендентов может только сотрудник мобильной группы";
const NO_EDIT: &str =
    "Изменить претендента нельзя: его данные уже отправлены на проверку в АИС «Рынок труда»";
const NO_DELETE: &str =
    "Удалить претендента нельзя: его кандидатура уже отправлена на проверку в АИС «Рынок труда»";
const CONFLICT: &str = "Претендента уже изменил другой пользователь. Показаны текущие данные: проверьте их и сохраните снова.";

fn require_writer(ctx: &Ctx) -> AppResult<&User> {
    super::require_writer(ctx, ctx.t(NO_RIGHTS))
}

/// The add/edit form from the request body. The body is read here with the same limit the
/// CSRF check applies, because a request that carries its token in the X-CSRF-Token header
/// (as htmx sends it) reaches the handler unread: an oversized body is 413, a malformed one
/// 400, never a 500.
async fn read_form(ctx: &Ctx, req: &Request, body: Body) -> AppResult<ApplicantForm> {
    let is_form = req
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::BadRequest(ctx.t("Некорректный запрос").into()));
    }
    let bytes = body
        .into_bytes_limit(MAX_FORM_BYTES)
        .await
        .map_err(|e| match e {
            poem::error::ReadBodyError::PayloadTooLarge => {
                AppError::PayloadTooLarge(ctx.t("Слишком большой запрос").into())
            }
            _ => AppError::BadRequest(ctx.t("Некорректный запрос").into()),
        })?;
    serde_urlencoded::from_bytes::<ApplicantForm>(&bytes)
        .map_err(|_| AppError::BadRequest(ctx.t("Некорректный запрос").into()))
}

#[handler]
async fn new_form(Data(state): Data<&Arc<AppState>>, Data(ctx): Data<&Ctx>) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let form = ApplicantForm {
        idem_key: uuid::Uuid::new_v4().to_string(),
        ..Default::default()
    };
    let c = merge([
        form_context(state, ctx, user, &form, &FieldErrors::new()),
        context! { mode => "add" },
    ]);
    Ok(render(state, ctx, "applicants", "applicants/form_page.html", c)?.into_response())
}

#[allow(clippy::too_many_arguments)]
fn form_refused(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    form: &ApplicantForm,
    errors: &FieldErrors,
    mode: &str,
    id: &str,
    extra: Value,
) -> AppResult<Response> {
    let c = merge([
        form_context(state, ctx, user, form, errors),
        extra,
        context! { mode => mode, id => id },
    ]);
    let tmpl = if ctx.htmx {
        "applicants/_form.html"
    } else {
        "applicants/form_page.html"
    };
    Ok(render(state, ctx, "applicants", tmpl, c)?
        .with_status(StatusCode::UNPROCESSABLE_ENTITY)
        .into_response())
}

fn duplicate_context(state: &AppState, ctx: &Ctx, user: &User, owner: &store::Owner) -> Value {
    // The link is shown only where the user may open that applicant.
    let visible = state.dict.in_region(
        &user.region,
        if owner.district.is_empty() {
            &owner.oblast
        } else {
            &owner.district
        },
    ) || owner.oblast == user.region;
    context! {
        duplicate => ctx.t("Претендент с таким ИИН уже зарегистрирован"),
        duplicate_id => if visible { Some(owner.id.clone()) } else { None },
    }
}

/// After a successful write: htmx reloads the table in place with the message; without
/// JavaScript the browser is sent back to the tab.
async fn after_write(state: &AppState, ctx: &Ctx, user: &User, msg: &str) -> AppResult<Response> {
    let current = super::local_path(&ctx.current_url);
    let current_path = current.split('?').next().unwrap_or_default();
    let from_tab = current_path == "/cabinet/applicants";
    // Edited from a list's page (manual §10, fig. 27): back to that list, with the message.
    if ctx.htmx
        && current_path.starts_with("/cabinet/lists/")
        && current_path.len() > "/cabinet/lists/".len()
        && current_path["/cabinet/lists/".len()..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric())
    {
        let mut resp = Response::builder().status(StatusCode::OK).finish();
        let to = format!("{current_path}?msg={msg}");
        resp.headers_mut()
            .insert("HX-Redirect", to.parse().expect("ascii path"));
        return Ok(resp);
    }
    if ctx.htmx && !from_tab {
        let mut resp = Response::builder().status(StatusCode::OK).finish();
        let to = format!("/cabinet/applicants?msg={msg}");
        resp.headers_mut()
            .insert("HX-Redirect", to.parse().expect("ascii path"));
        return Ok(resp);
    }
    if ctx.htmx {
        let q = ListQuery {
            msg: msg.into(),
            ..Default::default()
        };
        let table = table_context(state, ctx, user, &q).await?;
        let mut resp =
            render(state, ctx, "applicants", "applicants/_panel.html", table)?.into_response();
        resp.headers_mut().insert(
            "HX-Retarget",
            "#applicants-panel".parse().expect("static header"),
        );
        resp.headers_mut()
            .insert("HX-Reswap", "outerHTML".parse().expect("static header"));
        resp.headers_mut().insert(
            "HX-Push-Url",
            "/cabinet/applicants".parse().expect("static header"),
        );
        return Ok(resp);
    }
    Ok(redirect(&format!("/cabinet/applicants?msg={msg}")))
}

#[handler]
async fn create(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    req: &Request,
    body: Body,
) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let form = read_form(ctx, req, body).await?;
    let valid = match form.parse(&state.dict, &user.region, false) {
        Ok(v) => v,
        Err(errors) => {
            return form_refused(state, ctx, user, &form, &errors, "add", "", context! {})
        }
    };
    let scope = state
        .dict
        .scope_of(&valid.kato)
        .ok_or_else(|| AppError::BadRequest("Неизвестный код КАТО".into()))?;
    let audit = super::audit::of_user(state, ctx, "applicant_added", "", valid.iin.as_str());
    let created = store::create(
        &state.db,
        &valid,
        &scope,
        &user.login,
        form.idem_key.trim(),
        Some(&audit),
    )
    .await;
    state.totals.forget();
    match created? {
        Created::New(id) => {
            tracing::info!(applicant = %id, by = %user.login, "applicant added");
            after_write(state, ctx, user, "added").await
        }
        Created::Replayed(id) => {
            tracing::info!(applicant = %id, by = %user.login, "applicant add replayed");
            after_write(state, ctx, user, "added").await
        }
        Created::DuplicateIin(owner) => {
            let mut errors = FieldErrors::new();
            errors.insert(
                "iin",
                ctx.t("Претендент с таким ИИН уже зарегистрирован")
                    .to_string(),
            );
            let extra = duplicate_context(state, ctx, user, &owner);
            let mut resp = form_refused(state, ctx, user, &form, &errors, "add", "", extra)?;
            resp.set_status(StatusCode::CONFLICT);
            Ok(resp)
        }
    }
}

/// One applicant of the user's region with its list; anything else is «not found», so
/// another region's applicants are not even confirmed to exist.
async fn load(
    state: &AppState,
    ctx: &Ctx,
    user: &User,
    id: &str,
) -> AppResult<(ApplicantRow, Option<ListInfo>)> {
    let field = state.dict.scope_field(&user.region);
    let r = store::get(&state.db, field, &user.region, id)
        .await?
        .ok_or_else(|| AppError::NotFound(ctx.t("Претендент не найден").into()))?;
    let list = store::list_of(&state.db, &r.list).await?;
    Ok((r, list))
}

/// A stored value as the card's history shows it: names instead of codes.
fn display_value(state: &AppState, ctx: &Ctx, field: &str, v: &str) -> String {
    if v.is_empty() {
        return String::new();
    }
    match field {
        "birth_date" => crate::domain::applicant::parse_date(v)
            .map(|d| d.format("%d.%m.%Y").to_string())
            .unwrap_or_else(|| v.to_string()),
        "gender" => Gender::parse(v)
            .map(|g| ctx.t(g.label_ru()).to_string())
            .unwrap_or_else(|| v.to_string()),
        "kato" => state.dict.full_name(v, ctx.lang),
        "applicant_category" | "employment_category" => {
            let kind = if field == "applicant_category" {
                "applicant"
            } else {
                "employment"
            };
            state
                .dict
                .category(kind, v)
                .map(|c| c.name(ctx.lang).to_string())
                .unwrap_or_else(|| v.to_string())
        }
        "status" => ctx.t(Status::parse(v).label_ru()).to_string(),
        _ => v.to_string(),
    }
}

#[handler]
async fn card(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_user(ctx)?;
    let (r, list) = load(state, ctx, user, &id).await?;
    let history = store::history(&state.db, &id).await?;
    let label = |field: &str| -> String { ctx.t(field_label(field)).to_string() };
    let history: Vec<Value> = history
        .iter()
        .map(|h| {
            context! {
                at => h.at.to_rfc3339(),
                by => h.by,
                field => label(&h.field),
                old => display_value(state, ctx, &h.field, &h.old),
                new => display_value(state, ctx, &h.field, &h.new),
            }
        })
        .collect();
    let cat = |kind: &str, code: &str| {
        state
            .dict
            .category(kind, code)
            .map(|c| c.name(ctx.lang).to_string())
            .unwrap_or_default()
    };
    let c = context! {
        a => row_view(state, ctx, user, &r, list.as_ref()),
        list_num => list.as_ref().map(|l| l.num),
        r => r,
        gender => Gender::parse(&r.gender).map(|g| ctx.t(g.label_ru()).to_string()).unwrap_or_default(),
        place => state.dict.full_name(&r.kato, ctx.lang),
        applicant_category => cat("applicant", &r.applicant_category),
        employment_category => cat("employment", &r.employment_category),
        created_at => r.created_at.to_rfc3339(),
        history => history,
    };
    Ok(render(state, ctx, "applicants", "applicants/card.html", c)?.into_response())
}

fn field_label(field: &str) -> &'static str {
    match field {
        "iin" => "ИИН",
        "last_name" => "Фамилия",
        "first_name" => "Имя",
        "middle_name" => "Отчество",
        "birth_date" => "Дата рождения",
        "gender" => "Пол",
        "kato" => "Город/район проживания",
        "street" => "Название улицы",
        "house" => "Номер дома",
        "flat" => "Номер квартиры",
        "applicant_category" => "Категория претендента",
        "employment_category" => "Категория занятости",
        "mg_reason" => "Причина отказа мобильной группы",
        "status" => "Статус",
        _ => "Поле",
    }
}

fn form_of(r: &ApplicantRow) -> ApplicantForm {
    ApplicantForm {
        iin: r.iin.clone(),
        last_name: r.last_name.clone(),
        first_name: r.first_name.clone(),
        middle_name: r.middle_name.clone(),
        birth_date: crate::domain::applicant::parse_date(&r.birth_date)
            .map(|d| d.format("%d.%m.%Y").to_string())
            .unwrap_or_default(),
        gender: r.gender.clone(),
        kato: r.kato.clone(),
        street: r.street.clone(),
        house: r.house.clone(),
        flat: r.flat.clone(),
        applicant_category: r.applicant_category.clone(),
        employment_category: r.employment_category.clone(),
        mg_refused: if r.status == "refused" {
            "on".into()
        } else {
            String::new()
        },
        mg_reason: r.mg_reason.clone(),
        version: r.version.to_string(),
        ..Default::default()
    }
}

#[handler]
async fn edit_form(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let (r, list) = load(state, ctx, user, &id).await?;
    let a = allowed_for(user, &r, list.as_ref());
    if !a.edit {
        return Err(AppError::forbidden(ctx.t(NO_EDIT)));
    }
    let c = merge([
        form_context(state, ctx, user, &form_of(&r), &FieldErrors::new()),
        context! { mode => "edit", id => id, can_refuse => a.refuse },
    ]);
    Ok(render(state, ctx, "applicants", "applicants/form_page.html", c)?.into_response())
}

fn diff(
    id: &str,
    by: &str,
    old: &ApplicantRow,
    new: &ValidApplicant,
    new_status: &str,
) -> Vec<Change> {
    let mut out = vec![];
    let mut push = |field: &str, o: &str, n: &str| {
        if o != n {
            out.push(Change {
                applicant: id.into(),
                by: by.into(),
                field: field.into(),
                old: o.into(),
                new: n.into(),
            });
        }
    };
    push("iin", &old.iin, new.iin.as_str());
    push("last_name", &old.last_name, &new.last_name);
    push("first_name", &old.first_name, &new.first_name);
    push("middle_name", &old.middle_name, &new.middle_name);
    push(
        "birth_date",
        &old.birth_date,
        &new.birth_date.format("%Y-%m-%d").to_string(),
    );
    push("gender", &old.gender, new.gender.code());
    push("kato", &old.kato, &new.kato);
    push("street", &old.street, &new.street);
    push("house", &old.house, &new.house);
    push("flat", &old.flat, &new.flat);
    push(
        "applicant_category",
        &old.applicant_category,
        &new.applicant_category,
    );
    push(
        "employment_category",
        &old.employment_category,
        &new.employment_category,
    );
    push("mg_reason", &old.mg_reason, &new.mg_reason);
    push("status", &old.status, new_status);
    out
}

#[handler]
async fn update(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
    req: &Request,
    body: Body,
) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let (current, list) = load(state, ctx, user, &id).await?;
    let form = read_form(ctx, req, body).await?;
    let status = Status::parse(&current.status);
    let a = allowed_for(user, &current, list.as_ref());
    if !a.edit {
        return Err(AppError::forbidden(ctx.t(NO_EDIT)));
    }
    let valid = match form.parse(&state.dict, &user.region, a.refuse) {
        Ok(v) => v,
        Err(errors) => {
            return form_refused(
                state,
                ctx,
                user,
                &form,
                &errors,
                "edit",
                &id,
                context! { can_refuse => a.refuse },
            )
        }
    };
    let version: i64 = form.version.trim().parse().unwrap_or(-1);
    // Editing after a failed АИС check marks 🔄; a refusal by the mobile group marks ⊗.
    let new_status = if valid.mg_refused {
        Status::Refused
    } else if matches!(status, Status::Failed | Status::Refused | Status::Changed) {
        Status::Changed
    } else {
        status
    };
    let scope = state
        .dict
        .scope_of(&valid.kato)
        .ok_or_else(|| AppError::BadRequest("Неизвестный код КАТО".into()))?;
    let changes = diff(&id, &user.login, &current, &valid, new_status.code());
    let field = state.dict.scope_field(&user.region);
    let updated = store::update(
        &state.db,
        field,
        &user.region,
        &id,
        version,
        &valid,
        &scope,
        new_status.code(),
        current.sent,
        changes,
    )
    .await;
    state.totals.forget();
    match updated? {
        Updated::Ok => {
            let (action, details) = if new_status == Status::Refused && status != Status::Refused {
                ("applicant_refused", valid.mg_reason.clone())
            } else {
                (
                    "applicant_edited",
                    format!("{} → {}", status.code(), new_status.code()),
                )
            };
            super::audit::by_user(state, ctx, action, &format!("applicant:{id}"), &details).await;
            after_write(state, ctx, user, "edited").await
        }
        Updated::Conflict => {
            // Show the current values, so the user sees what the other person saved.
            let (fresh, fresh_list) = load(state, ctx, user, &id).await?;
            let a = allowed_for(user, &fresh, fresh_list.as_ref());
            if !a.edit {
                return Err(AppError::forbidden(ctx.t(NO_EDIT)));
            }
            let mut errors = FieldErrors::new();
            errors.insert("form", ctx.t(CONFLICT).into());
            let mut resp = form_refused(
                state,
                ctx,
                user,
                &form_of(&fresh),
                &errors,
                "edit",
                &id,
                context! { can_refuse => a.refuse },
            )?;
            resp.set_status(StatusCode::CONFLICT);
            Ok(resp)
        }
        Updated::DuplicateIin(owner) => {
            let mut errors = FieldErrors::new();
            errors.insert(
                "iin",
                ctx.t("Претендент с таким ИИН уже зарегистрирован")
                    .to_string(),
            );
            let extra = merge([
                duplicate_context(state, ctx, user, &owner),
                context! { can_refuse => a.refuse },
            ]);
            let mut resp = form_refused(state, ctx, user, &form, &errors, "edit", &id, extra)?;
            resp.set_status(StatusCode::CONFLICT);
            Ok(resp)
        }
    }
}

#[handler]
async fn confirm_delete(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let (r, list) = load(state, ctx, user, &id).await?;
    if !allowed_for(user, &r, list.as_ref()).delete {
        return Err(AppError::forbidden(ctx.t(NO_DELETE)));
    }
    let c = context! { a => row_view(state, ctx, user, &r, list.as_ref()) };
    let tmpl = if ctx.htmx {
        "applicants/_confirm_delete.html"
    } else {
        "applicants/confirm_delete_page.html"
    };
    Ok(render(state, ctx, "applicants", tmpl, c)?.into_response())
}

#[handler]
async fn delete(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = require_writer(ctx)?;
    let _ = load(state, ctx, user, &id).await?;
    let field = state.dict.scope_field(&user.region);
    // The rule is checked again inside the DELETE itself, so a send racing this request
    // cannot slip through.
    let deleted = store::delete(&state.db, field, &user.region, &id).await;
    state.totals.forget();
    if !deleted? {
        return Err(AppError::forbidden(ctx.t(NO_DELETE)));
    }
    tracing::info!(applicant = %id, by = %user.login, "applicant deleted");
    super::audit::by_user(
        state,
        ctx,
        "applicant_deleted",
        &format!("applicant:{id}"),
        "",
    )
    .await;
    after_write(state, ctx, user, "deleted").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct KatoQuery {
    parent: String,
    q: String,
}

/// The КАТО picker: places of the user's region, by level, with a search box.
#[handler]
pub async fn kato_picker(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Query(q): Query<KatoQuery>,
) -> AppResult<Html<String>> {
    let user = require_user(ctx)?;
    let places: Vec<_> = if !q.q.trim().is_empty() {
        state.dict.search(&user.region, &q.q)
    } else if q.parent.is_empty() {
        state.dict.children(None, &user.region, "")
    } else {
        state.dict.children(Some(&q.parent), &user.region, "")
    };
    let items: Vec<Value> = places
        .iter()
        .map(|p| {
            let has_children = state
                .dict
                .places
                .iter()
                .any(|c| c.parent.as_deref() == Some(&p.code));
            context! {
                code => p.code,
                name => p.name(ctx.lang),
                full => state.dict.full_name(&p.code, ctx.lang),
                selectable => state.dict.in_region(&user.region, &p.code),
                has_children => has_children,
            }
        })
        .collect();
    let parent = state.dict.place(&q.parent).map(|p| context! { code => p.code, name => p.name(ctx.lang), up => p.parent.clone().unwrap_or_default() });
    render(
        state,
        ctx,
        "applicants",
        "applicants/_kato.html",
        context! { items => items, parent => parent, q => q.q },
    )
}

/// «Экспорт в Excel» of the current search result (office staff use it), streamed like a
/// list's export.
#[handler]
async fn export(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let user = require_user(ctx)?;
    let field = state.dict.scope_field(&user.region);
    let tz = chrono_tz::Asia::Almaty;
    let now = chrono::Utc::now().with_timezone(&tz);
    let region = state
        .dict
        .place(&user.region)
        .map(|p| p.name(ctx.lang).to_string())
        .unwrap_or_default();
    let mut title = vec![format!("{} — {}", ctx.t("Данные претендентов"), region)];
    if !q.fio.trim().is_empty() || !q.iin.trim().is_empty() {
        title.push(format!(
            "{}: {} «{}», {} «{}»",
            ctx.t("Поиск"),
            ctx.t("ФИО"),
            q.fio.trim(),
            ctx.t("ИИН"),
            q.iin.trim()
        ));
    }
    title.push(format!(
        "{}: {}",
        ctx.t("Дата выгрузки"),
        now.format("%d.%m.%Y %H:%M:%S")
    ));
    let xlsx = crate::export::XlsxExport::new(ctx.t("Данные претендентов"), &title, ctx.lang)?;
    // The store is read a batch at a time while the previous batch is written on a blocking
    // thread: reading and writing the cells take each a core instead of taking turns.
    let (batches, mut received) = tokio::sync::mpsc::channel::<Vec<ApplicantRow>>(2);
    let writer_state = state.clone();
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut xlsx = xlsx;
        while let Some(batch) = received.blocking_recv() {
            xlsx.write_rows(&batch, &writer_state.dict)?;
        }
        Ok(xlsx)
    });
    let search = q.search();
    let read = if search.fio.is_empty() {
        read_region(state, field, &user.region, &search, &batches).await
    } else {
        // A ФИО search: the word index names the applicants, read a batch at a time.
        async {
            let keys = store::fio_search_keys(&state.db, field, &user.region, &search).await?;
            for chunk in keys.chunks(EXPORT_BATCH as usize) {
                let batch = store::rows_by_keys(&state.db, field, &user.region, chunk).await?;
                if batches.send(batch).await.is_err() {
                    break;
                }
            }
            Ok::<(), AppError>(())
        }
        .await
    };
    drop(batches);
    let written = writer.await.map_err(|e| AppError::Internal(e.into()))?;
    read?;
    let xlsx = written?;
    let ascii = format!("applicants-{}.xlsx", now.format("%Y%m%d-%H%M"));
    let utf8 = format!("Претенденты_{}.xlsx", now.format("%d.%m.%Y_%H-%M"));
    super::xlsx_download(xlsx, &ascii, &utf8).await
}

/// A whole region's export is read in this many slices of time (equal spans of `rank`), two
/// at a time: one slice streams to the writer while the next is read ahead, so the reading of
/// the documents — most of an export's time — takes both cores.
const EXPORT_SLICES: i128 = 8;
/// Rows read at a time.
const EXPORT_BATCH: i64 = 1000;
/// Batches (of 1 000 rows, about 0.6 MB) a slice may read ahead of the writer.
const EXPORT_READ_AHEAD: usize = 16;

/// The region's applicants (with the search's IIN prefix, if any), newest first, a batch at a
/// time, sent to the writer (stops if the writer has failed).
async fn read_region(
    state: &Arc<AppState>,
    field: crate::domain::kato::ScopeField,
    region: &str,
    search: &Search,
    batches: &tokio::sync::mpsc::Sender<Vec<ApplicantRow>>,
) -> AppResult<()> {
    let bounds = if search.is_all() {
        store::rank_bounds(&state.db, field, region).await?
    } else {
        None
    };
    // A search (an IIN prefix) is one range of its index, read in order.
    let Some((newest, oldest)) = bounds else {
        return read_slice(
            state.clone(),
            field,
            region.to_string(),
            search.clone(),
            (None, None),
            batches.clone(),
        )
        .await;
    };
    let span = i128::from(oldest) - i128::from(newest) + 1;
    // The slices' bounds: open at both ends, equal spans of rank between.
    let bounds: Vec<Option<i64>> = std::iter::once(None)
        .chain(
            (1..EXPORT_SLICES)
                .map(|i| Some((i128::from(newest) + span * i / EXPORT_SLICES) as i64)),
        )
        .chain(std::iter::once(None))
        .collect();
    let slices: Vec<(Option<i64>, Option<i64>)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
    // At most two slices are open (started and not yet drained), so at most two slices'
    // read-ahead is held in memory.
    let start = |slice: (Option<i64>, Option<i64>)| {
        let (tx, rx) = tokio::sync::mpsc::channel(EXPORT_READ_AHEAD);
        let task = tokio::spawn(read_slice(
            state.clone(),
            field,
            region.to_string(),
            search.clone(),
            slice,
            tx,
        ));
        (rx, task)
    };
    let mut pending = std::collections::VecDeque::new();
    let mut rest = slices.into_iter();
    pending.extend(rest.by_ref().take(2).map(start));
    while let Some((mut rx, task)) = pending.pop_front() {
        while let Some(batch) = rx.recv().await {
            if batches.send(batch).await.is_err() {
                // The writer failed: stop reading; its error is reported.
                for (_, t) in pending {
                    t.abort();
                }
                task.abort();
                return Ok(());
            }
        }
        task.await.map_err(|e| AppError::Internal(e.into()))??;
        pending.extend(rest.next().map(start));
    }
    Ok(())
}

/// One slice of the region (`rank` in [from, until)), newest first, by keyset over the region's
/// index: `after` is the last batch's last rank and the ids already sent with it (rows sharing
/// that instant are filtered out rather than skipped).
async fn read_slice(
    state: Arc<AppState>,
    field: crate::domain::kato::ScopeField,
    region: String,
    search: Search,
    (from, until): (Option<i64>, Option<i64>),
    batches: tokio::sync::mpsc::Sender<Vec<ApplicantRow>>,
) -> AppResult<()> {
    let mut after: Option<(i64, Vec<String>)> = from.map(|r| (r, Vec::new()));
    loop {
        let batch = store::export_batch(
            &state.db,
            field,
            &region,
            &search,
            after.clone(),
            until,
            EXPORT_BATCH,
        )
        .await?;
        // A short batch ends the slice (the region's end, or `until`): no query is spent
        // finding nothing.
        let last_batch = (batch.len() as i64) < EXPORT_BATCH;
        let Some(last) = batch.last() else { break };
        let oldest = last.rank;
        let mut same: Vec<String> = batch
            .iter()
            .filter(|r| r.rank == oldest)
            .map(|r| r.id.clone())
            .collect();
        if let Some((t, seen)) = &after {
            if *t == oldest {
                same.extend(seen.iter().cloned());
            }
        }
        if batches.send(batch).await.is_err() || last_batch {
            break;
        }
        after = Some((oldest, same));
    }
    Ok(())
}
