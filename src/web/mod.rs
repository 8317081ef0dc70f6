//! The HTTP layer: one module per area, each exposing `routes()`; this file mounts them.

pub mod applicants;
pub mod audit;
pub mod auth;
pub mod cabinet;
pub mod context;
pub mod lists;
pub mod offline;
pub mod passkeys;
pub mod signing;

use std::sync::Arc;

use minijinja::{context, Value};
use poem::endpoint::EmbeddedFilesEndpoint;
use poem::http::StatusCode;
use poem::web::{Data, Html};
use poem::{get, handler, EndpointExt, IntoResponse, Response, Route};
use rust_embed::RustEmbed;

use crate::config::Settings;
use crate::domain::kato::Dictionaries;
use crate::error::{AppError, AppResult};
use crate::store::Db;
use crate::views::Views;
pub use context::Ctx;

pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    pub secret: Vec<u8>,
    pub dict: Dictionaries,
    pub views: Views,
    /// ЭЦП: the trusted root CAs.
    pub trust: crate::signing::TrustStore,
    /// The bearer token АИС presents to the results endpoint.
    pub ais_callback_token: String,
    /// Where АИС posts results: `{public}/api/ais/results` (set once the port is bound).
    pub public_url: std::sync::OnceLock<String>,
    /// Wakes the outbox worker when a package is written.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Region totals read in the last second (the applicants tab's «Всего»).
    pub totals: crate::store::applicants::Totals,
}

#[derive(RustEmbed)]
#[folder = "public/"]
struct PublicFiles;

/// Every URL of the application.
pub fn routes(
    state: Arc<AppState>,
    sim: Option<Arc<crate::ais::sim::SimState>>,
) -> poem::endpoint::BoxEndpoint<'static> {
    let portal = portal_routes(state);
    match sim {
        Some(sim) => Route::new()
            .nest("/ais-sim", crate::ais::sim::routes(sim))
            .nest("/", portal)
            .map_to_response()
            .boxed(),
        None => portal.map_to_response().boxed(),
    }
}

fn portal_routes(state: Arc<AppState>) -> impl poem::Endpoint {
    offline::root_routes(Route::new())
        .at("/healthz", get(healthz))
        .nest("/static", EmbeddedFilesEndpoint::<PublicFiles>::new())
        .nest("/", auth::routes())
        .nest(
            "/cabinet",
            offline::cabinet_routes(cabinet::routes())
                .nest("/applicants", applicants::routes())
                .nest("/lists", lists::routes()),
        )
        .nest("/profile", passkeys::routes())
        .nest("/api/ais", signing::api_routes())
        .nest("/admin", audit::routes())
        .at("/kato", get(applicants::kato_picker))
        .around(context::middleware)
        .data(state)
}

#[handler]
async fn healthz(Data(state): Data<&Arc<AppState>>) -> Response {
    match state.db.query("RETURN 1").await.and_then(|r| r.check()) {
        Ok(_) => "ok".with_status(StatusCode::OK).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            "database unavailable"
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .into_response()
        }
    }
}

/// The values every template sees.
pub fn base(ctx: &Ctx, section: &str) -> Value {
    let user = ctx.user.as_ref().map(|u| {
        context! {
            login => u.login,
            full_name => u.full_name,
            role => u.role.code(),
            role_label => crate::i18n::t(ctx.lang, u.role.label_ru()),
            can_write => u.role.can_write(),
        }
    });
    context! {
        lang => ctx.lang,
        csrf => ctx.csrf,
        user => user,
        htmx => ctx.htmx,
        section => section,
        request_path => if ctx.htmx && !ctx.current_url.is_empty() { local_path(&ctx.current_url) } else { ctx.path.clone() },
    }
}

pub fn render(
    state: &AppState,
    ctx: &Ctx,
    section: &str,
    name: &str,
    extra: Value,
) -> AppResult<Html<String>> {
    let base = base(ctx, section);
    let html = state
        .views
        .render(name, merge([base, extra]))
        .map_err(AppError::Internal)?;
    Ok(Html(html))
}

/// The signed-in user if they may write (the mobile group), else a 403 with `refusal`.
pub fn require_writer<'a>(ctx: &'a Ctx, refusal: &str) -> AppResult<&'a crate::domain::user::User> {
    let user = require_user(ctx)?;
    if !user.role.can_write() {
        return Err(AppError::forbidden(refusal));
    }
    Ok(user)
}

/// The signed-in user, or a redirect to the sign-in page.
pub fn require_user(ctx: &Ctx) -> AppResult<&crate::domain::user::User> {
    ctx.user.as_ref().ok_or(AppError::Unauthorized)
}

/// The path and query of a URL given whole (as in HX-Current-URL).
pub fn local_path(url: &str) -> String {
    match url.find("://") {
        Some(i) => match url[i + 3..].find('/') {
            Some(j) => url[i + 3 + j..].to_string(),
            None => "/".into(),
        },
        None => url.to_string(),
    }
}

/// Merges template contexts; later values win.
pub fn merge<I: IntoIterator<Item = Value>>(parts: I) -> Value {
    let mut map = std::collections::BTreeMap::<String, Value>::new();
    for part in parts {
        if let Ok(keys) = part.try_iter() {
            for k in keys {
                if let Some(name) = k.as_str() {
                    map.insert(name.to_string(), part.get_item(&k).unwrap_or_default());
                }
            }
        }
    }
    Value::from(map)
}

/// Finishes an Excel export off the async workers and streams the file as a download.
pub async fn xlsx_download(
    xlsx: crate::export::XlsxExport,
    ascii_name: &str,
    utf8_name: &str,
) -> AppResult<Response> {
    let path = tokio::task::spawn_blocking(move || xlsx.finish())
        .await
        .map_err(|e| AppError::Internal(e.into()))??;
    let file = tokio::fs::File::open(path.path())
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    // The open file stays readable after its name is removed (when `path` drops).
    drop(path);
    Ok(Response::builder()
        .header(
            "content-type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        .header(
            "content-disposition",
            crate::export::content_disposition(ascii_name, utf8_name),
        )
        .header("cache-control", "no-store")
        .body(poem::Body::from_async_read(file)))
}
