//! Passkeys and the server-side state of WebAuthn ceremonies.
//!
//! A passkey row keeps webauthn-rs's `Passkey` as JSON text; the store does not look inside it.
//! A ceremony row keeps the state of one registration or sign-in between its two requests,
//! under the SHA-256 of the random id the browser holds: it expires, and `take` deletes it, so a
//! state is used at most once.

use anyhow::Context;
use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;

use super::users::UserRow;
use super::Db;

/// How long a ceremony may take, from its options to the authenticator's answer.
pub const CEREMONY_MINUTES: i64 = 5;

#[derive(Debug, Clone, SurrealValue)]
pub struct PasskeyRow {
    pub id: String,
    pub user: String,
    pub name: String,
    pub credential: String,
    pub cred_id: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub counter: i64,
}

const FIELDS: &str = "record::id(id) AS id, record::id(user) AS user, name, credential, cred_id, \
                      created_at, last_used_at, counter";

pub struct NewPasskey<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub credential: String,
    pub cred_id: String,
    pub counter: i64,
}

/// Why a passkey was not saved.
#[derive(Debug)]
pub enum Saved {
    Ok(String),
    /// The credential id is registered already (to this account or another).
    Duplicate,
}

pub async fn create(db: &Db, p: NewPasskey<'_>) -> anyhow::Result<Saved> {
    let key = uuid::Uuid::now_v7().simple().to_string();
    let res = db
        .query(
            "CREATE type::record('passkey', $key) CONTENT { user: type::record('user', $uid), \
             name: $name, credential: $credential, cred_id: $cred_id, created_at: time::now(), \
             last_used_at: NONE, counter: $counter }",
        )
        .bind(("key", key.clone()))
        .bind(("uid", p.user_id.to_string()))
        .bind(("name", p.name.to_string()))
        .bind(("credential", p.credential))
        .bind(("cred_id", p.cred_id))
        .bind(("counter", p.counter))
        .await
        .map_err(anyhow::Error::from)
        .and_then(super::all_errors);
    match res {
        Ok(_) => Ok(Saved::Ok(key)),
        Err(e) if super::is_unique_violation(&e, "passkey_cred_id") => Ok(Saved::Duplicate),
        Err(e) => Err(e.context("saving a passkey")),
    }
}

/// A user's passkeys, oldest first.
pub async fn list_for_user(db: &Db, user_id: &str) -> anyhow::Result<Vec<PasskeyRow>> {
    let rows: Vec<PasskeyRow> = db
        .query(format!(
            "SELECT {FIELDS} FROM passkey WHERE user = type::record('user', $uid) ORDER BY created_at"
        ))
        .bind(("uid", user_id.to_string()))
        .await?
        .take(0)
        .context("listing passkeys")?;
    Ok(rows)
}

pub async fn find_by_cred_id(db: &Db, cred_id: &str) -> anyhow::Result<Option<PasskeyRow>> {
    let rows: Vec<PasskeyRow> = db
        .query(format!(
            "SELECT {FIELDS} FROM passkey WHERE cred_id = $cred_id LIMIT 1"
        ))
        .bind(("cred_id", cred_id.to_string()))
        .await?
        .take(0)
        .context("finding a passkey")?;
    Ok(rows.into_iter().next())
}

/// Renames a passkey of `user_id`; false when it is not theirs or does not exist.
pub async fn rename(db: &Db, user_id: &str, id: &str, name: &str) -> anyhow::Result<bool> {
    let updated: Vec<String> = db
        .query(
            "UPDATE type::record('passkey', $id) SET name = $name \
             WHERE user = type::record('user', $uid) RETURN VALUE record::id(id)",
        )
        .bind(("id", id.to_string()))
        .bind(("uid", user_id.to_string()))
        .bind(("name", name.to_string()))
        .await?
        .take(0)
        .context("renaming a passkey")?;
    Ok(!updated.is_empty())
}

/// Deletes a passkey of `user_id`; false when it is not theirs or does not exist.
pub async fn delete(db: &Db, user_id: &str, id: &str) -> anyhow::Result<bool> {
    let deleted: Option<i64> = db
        .query(
            "LET $gone = DELETE type::record('passkey', $id) \
             WHERE user = type::record('user', $uid) RETURN BEFORE;
             RETURN array::len($gone);",
        )
        .bind(("id", id.to_string()))
        .bind(("uid", user_id.to_string()))
        .await?
        .check()
        .context("deleting a passkey")?
        .take(1)
        .context("deleting a passkey")?;
    Ok(deleted.unwrap_or(0) > 0)
}

/// Saves what a successful sign-in changed: the credential (its counter), the counter, the time.
/// The row is updated only if its counter is still the one the sign-in was checked against, so
/// two sign-ins racing with one counter value cannot both pass; false when the row changed or
/// was deleted meanwhile.
pub async fn record_use(
    db: &Db,
    id: &str,
    old_counter: i64,
    credential: String,
    counter: i64,
) -> anyhow::Result<bool> {
    let updated: Vec<String> = db
        .query(
            "UPDATE type::record('passkey', $id) SET credential = $credential, counter = $counter, \
             last_used_at = time::now() WHERE counter = $old RETURN VALUE record::id(id)",
        )
        .bind(("id", id.to_string()))
        .bind(("old", old_counter))
        .bind(("credential", credential))
        .bind(("counter", counter))
        .await?
        .take(0)
        .context("recording a passkey's use")?;
    Ok(!updated.is_empty())
}

/// The account a passkey belongs to, with its `disabled` flag.
pub async fn owner(db: &Db, user_id: &str) -> anyhow::Result<Option<UserRow>> {
    let rows: Vec<UserRow> = db
        .query(
            "SELECT record::id(id) AS id, login, full_name, iin, role, region, disabled, \
             '' AS password_hash FROM type::record('user', $uid)",
        )
        .bind(("uid", user_id.to_string()))
        .await?
        .take(0)
        .context("reading a passkey's account")?;
    Ok(rows.into_iter().next())
}

/// When the session was created (for «a fresh sign-in»), if it exists.
pub async fn session_created_at(
    db: &Db,
    token_hash: &str,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let rows: Vec<DateTime<Utc>> = db
        .query("SELECT VALUE created_at FROM type::record('session', $key)")
        .bind(("key", token_hash.to_string()))
        .await?
        .take(0)
        .context("reading a session's age")?;
    Ok(rows.into_iter().next())
}

/// Ceremony kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Register,
    Authenticate,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Kind::Register => "register",
            Kind::Authenticate => "authenticate",
        }
    }
}

#[derive(Debug, Clone, SurrealValue)]
pub struct CeremonyRow {
    pub kind: String,
    pub user: Option<String>,
    pub state: String,
    pub binding: String,
    pub expires_at: DateTime<Utc>,
}

/// Stores a ceremony's state under `key_hash` for `CEREMONY_MINUTES`, and sweeps expired ones.
pub async fn create_ceremony(
    db: &Db,
    key_hash: &str,
    kind: Kind,
    user_id: Option<&str>,
    state: String,
    binding: &str,
) -> anyhow::Result<()> {
    let user_expr = if user_id.is_some() {
        "type::record('user', $uid)"
    } else {
        "NONE"
    };
    db.query(format!(
        "DELETE webauthn_ceremony WHERE expires_at <= time::now();
         CREATE type::record('webauthn_ceremony', $key) CONTENT {{ kind: $kind, user: {user_expr}, \
         state: $state, binding: $binding, created_at: time::now(), \
         expires_at: time::now() + $ttl }};"
    ))
    .bind(("key", key_hash.to_string()))
    .bind(("kind", kind.code().to_string()))
    .bind(("uid", user_id.unwrap_or_default().to_string()))
    .bind(("state", state))
    .bind(("binding", binding.to_string()))
    .bind((
        "ttl",
        std::time::Duration::from_secs(CEREMONY_MINUTES as u64 * 60),
    ))
    .await
    .map_err(anyhow::Error::from)
    .and_then(super::all_errors)
    .context("saving a ceremony")?;
    Ok(())
}

/// Takes a ceremony: deletes it and returns what it held, whether or not it has expired (the
/// caller refuses an expired one). None when there is no such ceremony (never was, or used).
pub async fn take_ceremony(db: &Db, key_hash: &str) -> anyhow::Result<Option<CeremonyRow>> {
    let rows: Vec<CeremonyRow> = db
        .query(
            "LET $gone = DELETE type::record('webauthn_ceremony', $key) RETURN BEFORE;
             SELECT kind, (IF user = NONE { NONE } ELSE { record::id(user) }) AS user, state, \
             binding, expires_at FROM $gone;",
        )
        .bind(("key", key_hash.to_string()))
        .await?
        .check()
        .context("taking a ceremony")?
        .take(1)
        .context("taking a ceremony")?;
    Ok(rows.into_iter().next())
}
