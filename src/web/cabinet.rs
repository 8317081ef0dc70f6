//! The cabinet shell: «Личный кабинет» with its two tabs (manual §2, fig. 4, 12).

use poem::web::Data;
use poem::{get, handler, Response, Route};

use super::auth::redirect;
use super::{require_user, Ctx};
use crate::error::AppResult;

pub fn routes() -> Route {
    Route::new().at("/", get(cabinet))
}

#[handler]
async fn cabinet(Data(ctx): Data<&Ctx>) -> AppResult<Response> {
    require_user(ctx)?;
    Ok(redirect("/cabinet/applicants"))
}
