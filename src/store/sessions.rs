//! Server-side sessions. The cookie holds a random token; the database holds its SHA-256.

use anyhow::Context;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use surrealdb::types::SurrealValue;

use super::users::UserRow;
use super::Db;

pub async fn create(
    db: &Db,
    token_hash: &str,
    user_id: &str,
    expires_at: DateTime<Utc>,
    ip: Option<String>,
) -> anyhow::Result<()> {
    db.query(
        "CREATE type::record('session', $key) CONTENT { user: type::record('user', $uid), \
         created_at: time::now(), expires_at: $exp, ip: $ip }",
    )
    .bind(("key", token_hash.to_string()))
    .bind(("uid", user_id.to_string()))
    .bind(("exp", expires_at))
    .bind(("ip", ip))
    .await?
    .check()
    .context("creating a session")?;
    Ok(())
}

/// A session looked up recently: its user and when the session ends.
#[derive(Debug, Clone, SurrealValue)]
struct SessionUser {
    user: UserRow,
    expires_at: DateTime<Utc>,
}

/// How long a looked-up session is answered from memory. Every request of a page (the page, its
/// htmx fragments, its polls) would otherwise read the session and its user from the store, a
/// sixth of a tab fragment's cost (BENCHMARKS.md). Signing out and a new sign-in forget the
/// session at once in this process; another server process sharing a remote database sees a
/// signed-out session for at most this long, and the session's own end is always checked.
const CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);
/// At most this many sessions are remembered; past it the memory starts over.
const CACHE_MAX: usize = 10_000;

type Cache = std::sync::Mutex<HashMap<String, (SessionUser, std::time::Instant)>>;

fn cache() -> std::sync::MutexGuard<'static, HashMap<String, (SessionUser, std::time::Instant)>> {
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    CACHE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn cached(token_hash: &str) -> Option<SessionUser> {
    let map = cache();
    let (session, at) = map.get(token_hash)?;
    (at.elapsed() < CACHE_TTL && session.expires_at > Utc::now()).then(|| session.clone())
}

fn remember(token_hash: &str, session: &SessionUser) {
    let mut map = cache();
    if map.len() >= CACHE_MAX {
        map.clear();
    }
    map.insert(
        token_hash.to_string(),
        (session.clone(), std::time::Instant::now()),
    );
}

/// Forgets every remembered session (an account changed: its sessions are read afresh).
pub fn forget_all() {
    cache().clear();
}

/// The user of a live session, if the session exists, has not expired, and the account is enabled.
pub async fn user_of(db: &Db, token_hash: &str) -> anyhow::Result<Option<UserRow>> {
    let found = match cached(token_hash) {
        Some(session) => Some(session),
        None => {
            let rows: Vec<SessionUser> = db
                .query(
                    "SELECT { id: record::id(user), login: user.login, full_name: user.full_name, \
                     iin: user.iin, role: user.role, region: user.region, \
                     disabled: user.disabled, password_hash: '' } AS user, expires_at \
                     FROM type::record('session', $key) WHERE expires_at > time::now()",
                )
                .bind(("key", token_hash.to_string()))
                .await?
                .take(0)
                .context("looking up a session")?;
            let found = rows.into_iter().next();
            if let Some(session) = &found {
                remember(token_hash, session);
            }
            found
        }
    };
    Ok(found.map(|s| s.user).filter(|u| !u.disabled))
}

pub async fn delete(db: &Db, token_hash: &str) -> anyhow::Result<()> {
    cache().remove(token_hash);
    db.query("DELETE type::record('session', $key)")
        .bind(("key", token_hash.to_string()))
        .await?
        .check()
        .context("deleting a session")?;
    Ok(())
}

pub async fn delete_expired(db: &Db) -> anyhow::Result<()> {
    db.query("DELETE session WHERE expires_at <= time::now()")
        .await?
        .check()
        .context("deleting expired sessions")?;
    Ok(())
}
