//! The cabinet shell: «Личный кабинет» with its two tabs (manual §2, fig. 4, 12).

use std::sync::Arc;

use minijinja::context;
use poem::web::Data;
use poem::{get, handler, IntoResponse, Response, Route};

use super::auth::redirect;
use super::{render, require_user, AppState, Ctx};
use crate::error::AppResult;

pub fn routes() -> Route {
    Route::new()
        .at("/", get(cabinet))
        .at("/lists", get(lists_tab))
}

#[handler]
async fn cabinet(Data(ctx): Data<&Ctx>) -> AppResult<Response> {
    require_user(ctx)?;
    Ok(redirect("/cabinet/applicants"))
}

#[handler]
async fn lists_tab(
    Data(state): Data<&Arc<AppState>>,
    Data(ctx): Data<&Ctx>,
) -> AppResult<Response> {
    require_user(ctx)?;
    Ok(render(state, ctx, "lists", "lists/page.html", context! {})?.into_response())
}
