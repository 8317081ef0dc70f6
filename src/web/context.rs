//! The per-request context: who is signed in, the language, the CSRF token, and the
//! middleware that establishes it, checks CSRF on every state-changing request and adds the
//! security headers.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use poem::http::{header, Method, StatusCode};
use poem::{Endpoint, IntoResponse, Request, Response};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::AppState;
use crate::domain::user::User;
use crate::error::error_html;
use crate::i18n;
use crate::store;

pub const SESSION_COOKIE: &str = "talapker_session";
pub const ANON_COOKIE: &str = "talapker_anon";
pub const LANG_COOKIE: &str = "talapker_lang";
/// Form bodies larger than this are refused with 413 before any parsing.
pub const MAX_FORM_BYTES: usize = 256 * 1024;

/// What a handler knows about the request beyond its parameters.
#[derive(Clone, Debug)]
pub struct Ctx {
    pub user: Option<User>,
    /// SHA-256 of the session token, when signed in.
    pub session_key: Option<String>,
    pub lang: &'static str,
    pub csrf: String,
    pub htmx: bool,
    pub request_id: String,
    pub ip: Option<String>,
    /// The path and query of this request (for the language switch's way back).
    pub path: String,
    /// The page an htmx request came from (HX-Current-URL), else empty.
    pub current_url: String,
}

impl Ctx {
    pub fn t<'a>(&self, ru: &'a str) -> &'a str {
        i18n::t(self.lang, ru)
    }
}

pub fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The CSRF token is an HMAC of whatever binds the browser: its session, or before sign-in
/// its anonymous cookie. Nothing is stored; a token from another browser never matches.
pub fn csrf_for(secret: &[u8], binding: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"csrf:");
    mac.update(binding.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn cookies(req: &Request) -> Vec<(String, String)> {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

pub fn cookie(req: &Request, name: &str) -> Option<String> {
    cookies(req)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: Option<i64>) -> String {
    let mut c = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(age) = max_age_secs {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if state.settings.secure_cookies {
        c.push_str("; Secure");
    }
    c
}

fn is_state_changing(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self' wss://127.0.0.1:13579; font-src 'self'; object-src 'none'; base-uri 'self'; \
                   form-action 'self'; frame-ancestors 'none'; manifest-src 'self'; worker-src 'self'";

fn plain_refusal(status: StatusCode, msg: &str) -> Response {
    poem::web::Html(error_html(status, msg))
        .with_status(status)
        .into_response()
}

fn add_headers(resp: &mut Response, request_id: &str) {
    let h = resp.headers_mut();
    let set = |h: &mut poem::http::HeaderMap, k: &'static str, v: &str| {
        if let Ok(v) = poem::http::HeaderValue::from_str(v) {
            h.insert(k, v);
        }
    };
    set(h, "content-security-policy", CSP);
    set(h, "x-content-type-options", "nosniff");
    set(h, "referrer-policy", "same-origin");
    set(h, "x-frame-options", "DENY");
    set(h, "x-request-id", request_id);
    // Pages differ for htmx requests (fragment vs. whole page).
    set(h, "vary", "HX-Request, Cookie");
}

/// The middleware: context, CSRF, security headers, request id and an access log line.
pub async fn middleware<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let state = req
        .data::<Arc<AppState>>()
        .cloned()
        .expect("AppState is attached to every request");
    let request_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let span = tracing::info_span!("request", id = %request_id, %method, %path);
    let _enter = span.enter();
    drop(_enter);

    let lang = i18n::normalize_lang(&cookie(&req, LANG_COOKIE).unwrap_or_default());
    let ip = req
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_string());

    // Who is signed in.
    let mut user = None;
    let mut session_key = None;
    let session_token = cookie(&req, SESSION_COOKIE);
    if let Some(token) = &session_token {
        let key = hash_token(token);
        match store::sessions::user_of(&state.db, &key).await {
            Ok(Some(row)) => {
                user = row.to_user();
                session_key = Some(key);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = ?e, "session lookup failed");
                return Ok(plain_refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Внутренняя ошибка. Повторите попытку позже.",
                ));
            }
        }
    }

    // What binds the CSRF token: the live session, else an anonymous cookie.
    let mut new_anon = None;
    let binding = match (&session_key, cookie(&req, ANON_COOKIE)) {
        (Some(_), _) => format!("s:{}", session_token.clone().unwrap_or_default()),
        (None, Some(anon)) if anon.len() >= 20 => format!("a:{anon}"),
        _ => {
            let anon = random_token();
            new_anon = Some(anon.clone());
            format!("a:{anon}")
        }
    };
    let csrf = csrf_for(&state.secret, &binding);
    let htmx = req.headers().contains_key("hx-request");
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let current_url = req.header("hx-current-url").unwrap_or_default().to_string();

    // `/api/ais/*` is called by АИС with a bearer token, never with a browser's cookies.
    if is_state_changing(&method) && !path.starts_with("/api/ais/") {
        let mut presented = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if presented.is_none() && is_form {
            let body = req.take_body();
            let bytes = match body.into_bytes_limit(MAX_FORM_BYTES).await {
                Ok(b) => b,
                Err(_) => {
                    let mut r =
                        plain_refusal(StatusCode::PAYLOAD_TOO_LARGE, "Слишком большой запрос");
                    add_headers(&mut r, &request_id);
                    return Ok(r);
                }
            };
            presented = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
                .ok()
                .and_then(|pairs| {
                    pairs
                        .into_iter()
                        .find(|(k, _)| k == "csrf_token")
                        .map(|(_, v)| v)
                });
            req.set_body(bytes);
        }
        let ok = presented
            .is_some_and(|p| subtle::ConstantTimeEq::ct_eq(p.as_bytes(), csrf.as_bytes()).into());
        if !ok {
            tracing::warn!(request_id = %request_id, %path, "CSRF token missing or wrong");
            let mut r = plain_refusal(
                StatusCode::FORBIDDEN,
                i18n::t(
                    lang,
                    "Недействительный токен формы. Обновите страницу и повторите.",
                ),
            );
            add_headers(&mut r, &request_id);
            return Ok(r);
        }
    }

    req.extensions_mut().insert(Ctx {
        user,
        session_key,
        lang,
        csrf,
        htmx,
        request_id: request_id.clone(),
        ip,
        path: path_and_query,
        current_url,
    });

    let mut resp = match ep.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => {
            // Errors from extractors (a malformed form, a bad path) become a clear 4xx page.
            let status = e.status();
            if status.is_server_error() {
                tracing::error!(error = %e, "handler error");
                e.into_response()
            } else if e.is::<crate::error::AppError>() {
                e.into_response()
            } else {
                let msg = match status {
                    StatusCode::NOT_FOUND => "Страница не найдена".to_string(),
                    StatusCode::PAYLOAD_TOO_LARGE => "Слишком большой запрос".to_string(),
                    StatusCode::METHOD_NOT_ALLOWED => "Метод не поддерживается".to_string(),
                    _ => "Некорректный запрос".to_string(),
                };
                plain_refusal(status, i18n::t(lang, &msg))
            }
        }
    };
    // An htmx request follows a 303 inside the XHR and would swap the next page into a
    // fragment's place (the sign-in page into the table when a session expired). Tell htmx to
    // navigate instead.
    if htmx && resp.status() == StatusCode::SEE_OTHER {
        if let Some(location) = resp.headers().get(header::LOCATION).cloned() {
            resp.set_status(StatusCode::OK);
            resp.headers_mut().remove(header::LOCATION);
            resp.headers_mut().insert("hx-redirect", location);
        }
    }
    if let Some(anon) = new_anon {
        if let Ok(v) = set_cookie(&state, ANON_COOKIE, &anon, None).parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    add_headers(&mut resp, &request_id);
    tracing::info!(
        request_id = %request_id,
        %method,
        %path,
        status = resp.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(resp)
}
