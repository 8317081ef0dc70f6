//! One error type for handlers, and how each kind becomes a status and a short Russian message.
//! Internal errors are logged with their whole cause chain; the user sees a short message.

use poem::http::StatusCode;
use poem::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not signed in")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn forbidden(msg: impl Into<String>) -> Self {
        AppError::Forbidden(msg.into())
    }
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
    pub fn message(&self) -> String {
        match self {
            AppError::Unauthorized => "Сессия истекла. Войдите снова.".into(),
            AppError::Internal(_) => "Внутренняя ошибка. Повторите попытку позже.".into(),
            other => other.to_string(),
        }
    }
}

/// The error page's HTML: a short message in an alert, escaped.
pub fn error_html(status: StatusCode, message: &str) -> String {
    let esc = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <link rel=\"stylesheet\" href=\"/static/css/app.css\"></head><body><main class=\"container\">\
         <div class=\"alert alert-error\" role=\"alert\">{esc}</div><p><a href=\"/\">ЭЛЕКТРОННАЯ БИРЖА ТРУДА</a></p></main></body></html>",
        status.as_u16()
    )
}

impl poem::error::ResponseError for AppError {
    fn status(&self) -> StatusCode {
        AppError::status(self)
    }

    fn as_response(&self) -> Response {
        if let AppError::Internal(e) = self {
            tracing::error!(error = ?e, "internal error");
            #[cfg(debug_assertions)]
            eprintln!("internal error: {e:?}");
        }
        if let AppError::Unauthorized = self {
            return Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header("Location", "/login")
                .header("HX-Redirect", "/login")
                .finish();
        }
        let status = AppError::status(self);
        poem::web::Html(error_html(status, &self.message()))
            .with_status(status)
            .into_response()
    }
}
