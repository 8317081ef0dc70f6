//! Server-side sessions. The cookie holds a random token; the database holds its SHA-256.

use anyhow::Context;
use chrono::{DateTime, Utc};

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

/// The user of a live session, if the session exists, has not expired, and the account is enabled.
pub async fn user_of(db: &Db, token_hash: &str) -> anyhow::Result<Option<UserRow>> {
    let rows: Vec<UserRow> = db
        .query(
            "SELECT record::id(user) AS id, user.login AS login, user.full_name AS full_name, \
             user.iin AS iin, user.role AS role, user.region AS region, user.disabled AS disabled, \
             '' AS password_hash \
             FROM type::record('session', $key) WHERE expires_at > time::now()",
        )
        .bind(("key", token_hash.to_string()))
        .await?
        .take(0)
        .context("looking up a session")?;
    Ok(rows.into_iter().next().filter(|u| !u.disabled))
}

pub async fn delete(db: &Db, token_hash: &str) -> anyhow::Result<()> {
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
