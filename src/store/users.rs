//! Accounts and the sign-in lock-out.

use anyhow::Context;
use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;

use super::Db;
use crate::domain::user::{Role, User};

#[derive(Debug, Clone, SurrealValue)]
pub struct UserRow {
    pub id: String,
    pub login: String,
    pub full_name: String,
    pub iin: String,
    pub role: String,
    pub region: String,
    pub disabled: bool,
    pub password_hash: String,
}

impl UserRow {
    pub fn to_user(&self) -> Option<User> {
        Some(User {
            id: self.id.clone(),
            login: self.login.clone(),
            full_name: self.full_name.clone(),
            iin: self.iin.clone(),
            role: Role::parse(&self.role)?,
            region: self.region.clone(),
        })
    }
}

pub struct NewUser<'a> {
    pub login: &'a str,
    pub full_name: &'a str,
    pub iin: &'a str,
    pub role: Role,
    pub region: &'a str,
    pub password_hash: String,
}

const USER_FIELDS: &str =
    "record::id(id) AS id, login, full_name, iin, role, region, disabled, password_hash";

pub async fn create(db: &Db, u: NewUser<'_>) -> anyhow::Result<String> {
    let key = uuid::Uuid::now_v7().to_string();
    db.query(
        "CREATE type::record('user', $key) CONTENT { login: $login, full_name: $full_name, iin: $iin, \
         role: $role, region: $region, password_hash: $hash, disabled: false, created_at: time::now() }",
    )
    .bind(("key", key.clone()))
    .bind(("login", u.login.to_string()))
    .bind(("full_name", u.full_name.to_string()))
    .bind(("iin", u.iin.to_string()))
    .bind(("role", u.role.code().to_string()))
    .bind(("region", u.region.to_string()))
    .bind(("hash", u.password_hash))
    .await?
    .check()
    .context("creating a user")?;
    Ok(key)
}

pub async fn find_by_login(db: &Db, login: &str) -> anyhow::Result<Option<UserRow>> {
    let rows: Vec<UserRow> = db
        .query(format!(
            "SELECT {USER_FIELDS} FROM user WHERE login = $login LIMIT 1"
        ))
        .bind(("login", login.to_string()))
        .await?
        .take(0)
        .context("finding a user by login")?;
    Ok(rows.into_iter().next())
}

pub async fn list(db: &Db) -> anyhow::Result<Vec<UserRow>> {
    let rows: Vec<UserRow> = db
        .query(format!("SELECT {USER_FIELDS} FROM user ORDER BY login"))
        .await?
        .take(0)
        .context("listing users")?;
    Ok(rows)
}

pub async fn count(db: &Db) -> anyhow::Result<i64> {
    let n: Option<i64> = db
        .query("RETURN count(SELECT VALUE id FROM user)")
        .await?
        .take(0)
        .context("counting users")?;
    Ok(n.unwrap_or(0))
}

pub async fn set_password(db: &Db, login: &str, hash: String) -> anyhow::Result<bool> {
    let updated: Vec<String> = db
        .query("UPDATE user SET password_hash = $hash WHERE login = $login RETURN VALUE login")
        .bind(("login", login.to_string()))
        .bind(("hash", hash))
        .await?
        .take(0)
        .context("setting a password")?;
    super::sessions::forget_all();
    Ok(!updated.is_empty())
}

#[derive(Debug, SurrealValue)]
struct Attempt {
    failures: i64,
    locked_until: Option<DateTime<Utc>>,
}

/// When the login is locked out, the time the lock ends.
pub async fn locked_until(db: &Db, login: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
    let rows: Vec<Attempt> = db
        .query("SELECT failures, locked_until FROM login_attempt WHERE login = $login LIMIT 1")
        .bind(("login", login.to_string()))
        .await?
        .take(0)
        .context("reading sign-in attempts")?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|a| a.locked_until)
        .filter(|t| *t > Utc::now()))
}

/// Counts a failed sign-in; after `max` failures in a row the login is locked for `lock`.
/// Returns the number of failures so far.
pub async fn record_failure(
    db: &Db,
    login: &str,
    max: i64,
    lock: chrono::Duration,
) -> anyhow::Result<i64> {
    let rows = db
        .query(
            "BEGIN TRANSACTION;
             LET $row = (SELECT * FROM login_attempt WHERE login = $login LIMIT 1)[0];
             LET $n = IF $row = NONE OR ($row.locked_until != NONE AND $row.locked_until <= time::now()) { 1 } ELSE { $row.failures + 1 };
             LET $until = IF $n >= $max { time::now() + $lock } ELSE { NONE };
             IF $row = NONE {
                 CREATE login_attempt CONTENT { login: $login, failures: $n, locked_until: $until, last_at: time::now() };
             } ELSE {
                 UPDATE $row.id SET failures = $n, locked_until = $until, last_at = time::now();
             };
             COMMIT TRANSACTION;",
        )
        .bind(("login", login.to_string()))
        .bind(("max", max))
        .bind(("lock", lock.to_std().unwrap_or_default()))
        .await?
        .check()
        .context("recording a failed sign-in")?;
    let _ = rows;
    let rows: Vec<Attempt> = db
        .query("SELECT failures, locked_until FROM login_attempt WHERE login = $login LIMIT 1")
        .bind(("login", login.to_string()))
        .await?
        .take(0)
        .context("reading the failure count")?;
    Ok(rows.first().map(|a| a.failures).unwrap_or(1))
}

pub async fn clear_failures(db: &Db, login: &str) -> anyhow::Result<()> {
    db.query("DELETE login_attempt WHERE login = $login")
        .bind(("login", login.to_string()))
        .await?
        .check()
        .context("clearing failed sign-ins")?;
    Ok(())
}
