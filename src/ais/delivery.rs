//! The outbox worker: delivers signed packages to АИС «Рынок труда».
//!
//! A package is written to the outbox in the same transaction as the list's status change, so
//! it survives a crash or restart. The worker posts each due package; a 2xx or 409 (АИС already
//! has this package id) marks it delivered; 400/422 (АИС refuses it for good) marks it
//! rejected; anything else (network errors, 401/403/5xx) schedules a retry with exponential
//! backoff up to five minutes. АИС deduplicates by package id, so a package posted again after a
//! crash between the post and the mark is still one package.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::Rng;
use tokio::sync::Notify;

use crate::store::{signing as store, Db};

/// Where and how to deliver.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The АИС base URL; packages go to `{base}/api/packages`.
    pub base: String,
    /// Sent as `Authorization: Bearer`.
    pub token: String,
}

/// The delay before attempt `attempts + 1`: 1 s, 2 s, 4 s … capped at 300 s, ±20 % jitter.
pub fn backoff(attempts: i64) -> Duration {
    let base = 2f64.powi(attempts.clamp(0, 9) as i32).min(300.0);
    let jitter = rand::thread_rng().gen_range(0.8..1.2);
    Duration::from_millis((base * jitter * 1000.0) as u64)
}

enum Attempt {
    Delivered,
    Rejected(String),
    Retry(String),
}

async fn post(client: &reqwest::Client, ep: &Endpoint, body: &str) -> Attempt {
    let url = format!("{}/api/packages", ep.base.trim_end_matches('/'));
    let res = client
        .post(&url)
        .bearer_auth(&ep.token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    match res {
        Err(e) => Attempt::Retry(format!("{url}: {e}")),
        Ok(r) => {
            let status = r.status();
            let text = r.text().await.unwrap_or_default();
            let text: String = text.chars().take(300).collect();
            if status.is_success() || status == reqwest::StatusCode::CONFLICT {
                Attempt::Delivered
            } else if status == reqwest::StatusCode::BAD_REQUEST
                || status == reqwest::StatusCode::UNPROCESSABLE_ENTITY
            {
                Attempt::Rejected(text)
            } else {
                Attempt::Retry(format!("{status}: {text}"))
            }
        }
    }
}

/// Delivers every due package once. Returns how many were delivered.
pub async fn run_once(db: &Db, client: &reqwest::Client, ep: &Endpoint) -> anyhow::Result<usize> {
    let mut delivered = 0;
    for row in store::outbox_due(db, 20).await? {
        match post(client, ep, &row.body).await {
            Attempt::Delivered => {
                store::outbox_delivered(db, &row.id).await?;
                tracing::info!(package = %row.id, list = %row.list, version = row.version, "package delivered to АИС");
                delivered += 1;
            }
            Attempt::Rejected(why) => {
                tracing::error!(package = %row.id, list = %row.list, %why, "АИС rejected the package");
                store::outbox_rejected(db, &row.id, &why).await?;
            }
            Attempt::Retry(why) => {
                let wait = backoff(row.attempts);
                tracing::warn!(package = %row.id, attempts = row.attempts + 1, %why, retry_in_ms = wait.as_millis() as u64, "delivery to АИС failed");
                let next = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                store::outbox_retry(db, &row.id, next, &why).await?;
            }
        }
    }
    Ok(delivered)
}

/// The worker loop: runs until aborted. `wake` is notified when a package is written.
pub async fn worker(db: Db, ep: Endpoint, wake: Arc<Notify>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(5))
        .build()
        .expect("an HTTP client with default TLS settings");
    loop {
        if let Err(e) = run_once(&db, &client, &ep).await {
            tracing::error!(error = ?e, "the outbox worker failed; retrying");
        }
        // Sleep until the next package is due, a new one is written, or 5 s pass.
        let mut wait = Duration::from_secs(5);
        if let Ok(Some(at)) = store::outbox_next_at(&db).await {
            let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            wait = wait.min(until.max(Duration::from_millis(50)));
        }
        tokio::select! {
            _ = wake.notified() => {},
            _ = tokio::time::sleep(wait) => {},
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        for _ in 0..50 {
            let first = backoff(0).as_millis();
            assert!((800..=1200).contains(&first), "{first}");
            let fourth = backoff(3).as_millis();
            assert!((6400..=9600).contains(&fourth), "{fourth}");
            let late = backoff(40).as_millis();
            assert!((240_000..=360_000).contains(&late), "{late}");
        }
    }
}
