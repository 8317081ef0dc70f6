//! The АИС «Рынок труда» simulator: the other side of the exchange, for demos and tests.
//!
//! `talapker ais-sim` runs it as a separate process with its own embedded store; with no АИС
//! endpoint configured the portal mounts it at `/ais-sim` inside its own process so that the
//! whole cycle works out of the box. Either way it:
//! 1. takes a package (`POST /api/packages`, bearer token), verifies its CMS signature itself
//!    (trust store, signer's IIN from the payload), and stores it once per package id;
//! 2. after a configurable delay checks every new or changed applicant against the person
//!    registry and the programme rules ([`super::registry`]);
//! 3. posts the verdicts to the package's callback URL with its own token, retrying with
//!    backoff until the portal accepts them (the result id makes that idempotent).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use poem::http::StatusCode;
use poem::web::{Data, Json, Path};
use poem::{get, handler, post, EndpointExt, IntoResponse, Request, Response, Route};
use surrealdb::types::SurrealValue;
use tokio::sync::Notify;

use super::registry::Registry;
use super::{ListPayload, Package, Results, Verdict};
use crate::signing::{verify_list_signature, TrustStore};
use crate::store::Db;

pub struct SimState {
    pub db: Db,
    pub registry: Registry,
    pub trust: TrustStore,
    /// What the portal must present.
    pub token_in: String,
    /// What the simulator presents to the portal's results endpoint.
    pub token_out: String,
    /// How long «checking» takes.
    pub delay: Duration,
    pub wake: Arc<Notify>,
}

const SCHEMA: &str = "
DEFINE TABLE IF NOT EXISTS package SCHEMAFULL;
DEFINE FIELD IF NOT EXISTS list ON package TYPE string;
DEFINE FIELD IF NOT EXISTS version ON package TYPE int;
DEFINE FIELD IF NOT EXISTS body ON package TYPE string;
DEFINE FIELD IF NOT EXISTS signer ON package TYPE string;
DEFINE FIELD IF NOT EXISTS received_at ON package TYPE datetime;
-- received | answered
DEFINE FIELD IF NOT EXISTS state ON package TYPE string;
DEFINE FIELD IF NOT EXISTS due_at ON package TYPE datetime;
DEFINE FIELD IF NOT EXISTS attempts ON package TYPE int;
DEFINE FIELD IF NOT EXISTS results ON package TYPE string;
DEFINE FIELD IF NOT EXISTS answered_at ON package TYPE option<datetime>;
DEFINE FIELD IF NOT EXISTS last_error ON package TYPE string;
DEFINE INDEX IF NOT EXISTS package_due ON package FIELDS state, due_at;
";

/// Opens (creates) the simulator's store.
pub async fn open_store(url: &str) -> anyhow::Result<Db> {
    let mut url = url.to_string();
    if let Some(path) = url.strip_prefix("surrealkv://") {
        std::fs::create_dir_all(path.split('?').next().unwrap_or(path))?;
        if !url.contains('?') {
            url.push_str("?sync=every");
        }
    }
    let db = surrealdb::engine::any::connect(url.as_str())
        .await
        .with_context(|| format!("opening the simulator's store at {url}"))?;
    db.use_ns("ais").use_db("sim").await?;
    db.query(SCHEMA)
        .await
        .map_err(anyhow::Error::from)
        .and_then(crate::store::all_errors)
        .context("defining the simulator's schema")?;
    Ok(db)
}

/// Whether the request carries `Authorization: Bearer <token>` (compared in constant time); an
/// empty configured token accepts nothing. Used by both sides of the exchange.
pub fn bearer_ok(req: &Request, token: &str) -> bool {
    let presented = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or_default();
    !token.is_empty()
        && subtle::ConstantTimeEq::ct_eq(presented.as_bytes(), token.as_bytes()).into()
}

fn json_status(status: StatusCode, value: serde_json::Value) -> Response {
    Json(value).with_status(status).into_response()
}

/// The simulator's HTTP API.
pub fn routes(state: Arc<SimState>) -> impl poem::Endpoint {
    Route::new()
        .at("/api/packages", post(receive))
        .at("/api/packages/:id", get(package_state))
        .at("/api/stats", get(stats))
        .at("/healthz", get(healthz))
        .data(state)
}

#[handler]
fn healthz() -> &'static str {
    "ok"
}

#[handler]
async fn receive(req: &Request, body: poem::Body, Data(sim): Data<&Arc<SimState>>) -> Response {
    if !bearer_ok(req, &sim.token_in) {
        return json_status(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "unauthorized"}),
        );
    }
    let bytes = match body.into_bytes_limit(256 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return json_status(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::json!({"error": "too large"}),
            )
        }
    };
    let package: Package = match serde_json::from_slice(&bytes) {
        Ok(p) => p,
        Err(e) => {
            return json_status(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": format!("bad package: {e}")}),
            )
        }
    };
    let payload: ListPayload = match serde_json::from_str(&package.payload) {
        Ok(p) => p,
        Err(e) => {
            return json_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::json!({"error": format!("Некорректные данные: {e}")}),
            )
        }
    };
    if payload.list != package.list_id || payload.version != package.version {
        return json_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            serde_json::json!({"error": "Пакет не соответствует подписанным данным"}),
        );
    }
    use base64::Engine;
    let cms = match base64::engine::general_purpose::STANDARD.decode(package.signature.trim()) {
        Ok(c) => c,
        Err(_) => {
            return json_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::json!({"error": "Некорректный формат подписи"}),
            )
        }
    };
    let signer = match verify_list_signature(
        &cms,
        package.payload.as_bytes(),
        &sim.trust,
        &payload.signer_iin,
        Utc::now(),
    ) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(package = %package.package_id, error = %e, "АИС sim: signature refused");
            return json_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                serde_json::json!({"error": e.to_string()}),
            );
        }
    };
    let due = Utc::now() + chrono::Duration::from_std(sim.delay).unwrap_or_default();
    let res = sim
        .db
        .query(
            "CREATE type::record('package', $id) CONTENT {
                list: $list, version: $version, body: $body, signer: $signer, received_at: time::now(),
                state: 'received', due_at: $due, attempts: 0, results: '', answered_at: NONE, last_error: ''
            }",
        )
        .bind(("id", package.package_id.clone()))
        .bind(("list", package.list_id.clone()))
        .bind(("version", package.version))
        .bind(("body", String::from_utf8_lossy(&bytes).into_owned()))
        .bind(("signer", signer.subject.clone()))
        .bind(("due", due))
        .await
        .map_err(anyhow::Error::from)
        .and_then(crate::store::all_errors);
    match res {
        Ok(_) => {
            tracing::info!(package = %package.package_id, list = %package.list_id, version = package.version, "АИС sim: package accepted");
            sim.wake.notify_one();
            json_status(
                StatusCode::ACCEPTED,
                serde_json::json!({"status": "accepted"}),
            )
        }
        Err(e) if format!("{e:#}").contains("already exists") => json_status(
            StatusCode::CONFLICT,
            serde_json::json!({"status": "duplicate"}),
        ),
        Err(e) => {
            tracing::error!(error = ?e, "АИС sim: storing a package");
            json_status(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({"error": "storage"}),
            )
        }
    }
}

#[derive(Debug, Clone, SurrealValue, serde::Serialize)]
pub struct PackageState {
    pub id: String,
    pub list: String,
    pub version: i64,
    pub state: String,
    pub attempts: i64,
    pub results: String,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub body: String,
    pub last_error: String,
}

const PACKAGE_FIELDS: &str =
    "record::id(id) AS id, list, version, state, attempts, results, received_at, due_at, body, last_error";

#[handler]
async fn package_state(
    req: &Request,
    Path(id): Path<String>,
    Data(sim): Data<&Arc<SimState>>,
) -> Response {
    if !bearer_ok(req, &sim.token_in) {
        return json_status(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "unauthorized"}),
        );
    }
    let rows: Result<Vec<PackageState>, _> = async {
        sim.db
            .query(format!(
                "SELECT {PACKAGE_FIELDS} FROM type::record('package', $id)"
            ))
            .bind(("id", id))
            .await?
            .take(0)
    }
    .await;
    match rows {
        Ok(rows) => match rows.into_iter().next() {
            Some(p) => Json(serde_json::json!({
                "id": p.id, "list": p.list, "version": p.version, "state": p.state,
                "attempts": p.attempts, "results": p.results,
            }))
            .into_response(),
            None => json_status(
                StatusCode::NOT_FOUND,
                serde_json::json!({"error": "not found"}),
            ),
        },
        Err(e) => json_status(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"error": e.to_string()}),
        ),
    }
}

/// Package counts, for tests and monitoring.
pub async fn package_count(db: &Db) -> anyhow::Result<(i64, i64)> {
    let mut res = db
        .query(
            "(SELECT count() AS n FROM package GROUP ALL)[0].n;
             (SELECT count() AS n FROM package WHERE state = 'answered' GROUP ALL)[0].n;",
        )
        .await?;
    let all: Option<i64> = res.take(0)?;
    let answered: Option<i64> = res.take(1)?;
    Ok((all.unwrap_or(0), answered.unwrap_or(0)))
}

#[handler]
async fn stats(req: &Request, Data(sim): Data<&Arc<SimState>>) -> Response {
    if !bearer_ok(req, &sim.token_in) {
        return json_status(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "unauthorized"}),
        );
    }
    match package_count(&sim.db).await {
        Ok((all, answered)) => {
            Json(serde_json::json!({"packages": all, "answered": answered})).into_response()
        }
        Err(e) => json_status(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"error": e.to_string()}),
        ),
    }
}

/// The verdicts for a package: every applicant АИС must check, against the registry.
pub fn check_package(
    registry: &Registry,
    payload: &ListPayload,
    today: chrono::NaiveDate,
) -> Vec<Verdict> {
    payload
        .applicants
        .iter()
        .filter(|a| a.to_check())
        .map(|a| {
            let outcome = registry.check(a, today);
            Verdict {
                applicant_id: a.id.clone(),
                iin: a.iin.clone(),
                passed: outcome.is_ok(),
                reason: outcome.err().unwrap_or_default().to_string(),
            }
        })
        .collect()
}

async fn answer(sim: &SimState, client: &reqwest::Client, p: &PackageState) -> anyhow::Result<()> {
    let package: Package = serde_json::from_str(&p.body)?;
    let payload: ListPayload = serde_json::from_str(&package.payload)?;
    let today = Utc::now()
        .with_timezone(&chrono_tz::Asia::Almaty)
        .date_naive();
    let results = Results {
        result_id: format!("{}.r", package.package_id),
        package_id: package.package_id.clone(),
        list_id: package.list_id.clone(),
        version: package.version,
        verdicts: check_package(&sim.registry, &payload, today),
    };
    let res = client
        .post(&package.callback)
        .bearer_auth(&sim.token_out)
        .json(&results)
        .send()
        .await;
    let done = match &res {
        Ok(r) => r.status().is_success() || r.status() == reqwest::StatusCode::CONFLICT,
        Err(_) => false,
    };
    if done {
        let summary = serde_json::to_string(&results.verdicts)?;
        sim.db
            .query("UPDATE type::record('package', $id) SET state = 'answered', answered_at = time::now(), results = $r, attempts += 1")
            .bind(("id", p.id.clone()))
            .bind(("r", summary))
            .await?
            .check()?;
        tracing::info!(package = %p.id, verdicts = results.verdicts.len(), "АИС sim: results delivered");
    } else {
        let why = match res {
            Ok(r) => format!("{}", r.status()),
            Err(e) => e.to_string(),
        };
        let wait = super::delivery::backoff(p.attempts);
        let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        tracing::warn!(package = %p.id, %why, "АИС sim: posting results failed; will retry");
        sim.db
            .query("UPDATE type::record('package', $id) SET attempts += 1, due_at = $next, last_error = $why")
            .bind(("id", p.id.clone()))
            .bind(("next", next))
            .bind(("why", why))
            .await?
            .check()?;
    }
    Ok(())
}

/// The checking loop: answers every package whose delay has passed. Runs until aborted.
pub async fn worker(sim: Arc<SimState>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    loop {
        let due: anyhow::Result<Vec<PackageState>> = async {
            Ok(sim
                .db
                .query(format!(
                    "SELECT {PACKAGE_FIELDS} FROM package WHERE state = 'received' AND due_at <= time::now() ORDER BY due_at LIMIT 10"
                ))
                .await?
                .take(0)?)
        }
        .await;
        match due {
            Ok(rows) => {
                for p in rows {
                    if let Err(e) = answer(&sim, &client, &p).await {
                        tracing::error!(package = %p.id, error = ?e, "АИС sim: answering a package");
                    }
                }
            }
            Err(e) => tracing::error!(error = ?e, "АИС sim: reading packages"),
        }
        let wait = sim
            .delay
            .clamp(Duration::from_millis(200), Duration::from_secs(2));
        tokio::select! {
            _ = sim.wake.notified() => { tokio::time::sleep(sim.delay.min(Duration::from_secs(2))).await; },
            _ = tokio::time::sleep(wait) => {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ais::{PayloadApplicant, PAYLOAD_FORMAT};

    #[test]
    fn only_new_and_changed_applicants_are_checked() {
        let mut reg = Registry::default();
        reg.insert(crate::ais::registry::Person {
            iin: "920526450510".into(),
            last_name: "Жаншакимова".into(),
            first_name: "Айнур".into(),
            middle_name: "Мараловна".into(),
            birth_date: chrono::NaiveDate::from_ymd_opt(1992, 5, 26).unwrap(),
            gender: "female".into(),
            employment: "unemployed".into(),
        });
        let a = |id: &str, iin: &str, status: &str| PayloadApplicant {
            id: id.into(),
            iin: iin.into(),
            last_name: "Жаншакимова".into(),
            first_name: "Айнур".into(),
            middle_name: "Мараловна".into(),
            birth_date: "1992-05-26".into(),
            gender: "female".into(),
            kato: "710000000".into(),
            street: "s".into(),
            house: "1".into(),
            flat: "".into(),
            applicant_category: "neet".into(),
            employment_category: "unemployed".into(),
            status: status.into(),
            mg_reason: "".into(),
        };
        let payload = ListPayload {
            format: PAYLOAD_FORMAT.into(),
            list: "l".into(),
            num: 1,
            region: "710000000".into(),
            version: 2,
            signer_iin: "941008400880".into(),
            applicants: vec![
                a("1", "920526450510", "changed"),
                a("2", "920526450521", "new"),
                a("3", "920526450510", "refused"),
                a("4", "920526450510", "passed"),
            ],
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let v = check_package(&reg, &payload, today);
        assert_eq!(v.len(), 2);
        assert!(v[0].passed && v[0].reason.is_empty());
        assert!(!v[1].passed);
        assert_eq!(v[1].reason, "ИИН не найден в ГБД ФЛ");
    }
}
