//! Lists: forming one atomically from the region's new applicants, the scoped table,
//! renaming and deleting while unsent, and reading a list's applicants in batches.

use anyhow::Context;
use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;

use super::applicants::ApplicantRow;
use super::{scope_sql, Db};
use crate::domain::kato::{Scope, ScopeField};

#[derive(Debug, Clone, SurrealValue, serde::Serialize)]
pub struct ListRow {
    pub id: String,
    pub num: i64,
    pub region: String,
    pub note: String,
    pub status: String,
    pub members: i64,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub status_changed_at: DateTime<Utc>,
    pub status_changed_by: String,
    /// How many versions were signed and sent (0 while never sent).
    pub signed: i64,
}

const FIELDS: &str =
    "record::id(id) AS id, num, region, note, status, members, created_at, created_by, \
                      status_changed_at, status_changed_by, signed ?? 0 AS signed";

pub enum Formed {
    New {
        id: String,
        num: i64,
        members: i64,
    },
    /// «Нет претендентов для формирования нового списка»
    NoApplicants,
}

fn is_retryable(e: &anyhow::Error) -> bool {
    super::is_write_conflict(e) || format!("{e:#}").contains("list_taken")
}

/// Forms a list of every applicant of the region that is in no list yet and still new.
/// The applicants are claimed with a condition on `list = ''` inside the transaction and the
/// count is checked, so two people forming lists at once never share an applicant: the loser's
/// transaction fails and is retried against what is left.
/// The claim is a bookkeeping update (`super::bookkeeping_update`), which returns no rows, so
/// it is counted through the `list` index afterwards.
pub async fn form(
    db: &Db,
    field: ScopeField,
    region: &str,
    scope: &Scope,
    note: &str,
    by: &str,
) -> anyhow::Result<Formed> {
    let sql = format!(
        "BEGIN TRANSACTION;
         LET $ids = SELECT VALUE id FROM applicant WHERE {scope} AND list = '' AND status = 'new';
         IF array::len($ids) = 0 {{ THROW 'no_applicants' }};
         LET $n = (UPSERT type::record('counter', 'lists') SET value = (value ?? 0) + 1 RETURN VALUE value)[0];
         {claim}
         IF (SELECT count() FROM applicant WHERE list = $key GROUP ALL)[0].count != array::len($ids) {{ THROW 'list_taken' }};
         CREATE type::record('list', $key) CONTENT {{
             num: $n, region: $region_code, oblast: $oblast, district: $district, note: $note,
             status: 'draft', members: array::len($ids), created_at: time::now(), created_by: $by,
             status_changed_at: time::now(), status_changed_by: $by
         }};
         CREATE list_event CONTENT {{ list: $key, at: time::now(), by: $by, status: 'draft' }};
         COMMIT TRANSACTION;",
        scope = scope_sql(field),
        claim = super::bookkeeping_update("UPDATE $ids SET list = $key WHERE list = '' RETURN NONE;")
    );
    for attempt in 0..8 {
        let key = uuid::Uuid::now_v7().simple().to_string();
        let res = db
            .query(sql.as_str())
            .bind(("key", key.clone()))
            .bind(("region", region.to_string()))
            .bind(("region_code", region.to_string()))
            .bind(("oblast", scope.oblast.clone()))
            .bind(("district", scope.district.clone()))
            .bind(("note", note.to_string()))
            .bind(("by", by.to_string()))
            .await
            .map_err(anyhow::Error::from)
            .and_then(super::all_errors);
        match res {
            Ok(_) => {
                let row = get(db, field, region, &key)
                    .await?
                    .context("reading the new list")?;
                return Ok(Formed::New {
                    id: key,
                    num: row.num,
                    members: row.members,
                });
            }
            Err(e) if format!("{e:#}").contains("no_applicants") => {
                return Ok(Formed::NoApplicants)
            }
            Err(e) if is_retryable(&e) && attempt < 7 => {
                tracing::debug!(error = %e, attempt, "forming a list: retrying after a conflict");
                tokio::time::sleep(std::time::Duration::from_millis(10 * (attempt + 1))).await;
            }
            Err(e) => return Err(e.context("forming a list")),
        }
    }
    unreachable!("the loop returns on its last attempt")
}

pub async fn page(
    db: &Db,
    field: ScopeField,
    region: &str,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<ListRow>, i64)> {
    let sql = format!(
        "SELECT {FIELDS} FROM list WHERE {scope} ORDER BY created_at DESC LIMIT $limit START $offset;
         (SELECT count() AS n FROM list WHERE {scope} GROUP ALL)[0].n;",
        scope = scope_sql(field)
    );
    let mut res = db
        .query(sql)
        .bind(("region", region.to_string()))
        .bind(("limit", limit))
        .bind(("offset", offset))
        .await
        .context("listing lists")?;
    let rows: Vec<ListRow> = res.take(0).context("reading lists")?;
    let total: Option<i64> = res.take(1).context("counting lists")?;
    Ok((rows, total.unwrap_or(0)))
}

pub async fn get(
    db: &Db,
    field: ScopeField,
    region: &str,
    id: &str,
) -> anyhow::Result<Option<ListRow>> {
    let sql = format!(
        "SELECT {FIELDS} FROM type::record('list', $id) WHERE {}",
        scope_sql(field)
    );
    let rows: Vec<ListRow> = db
        .query(sql)
        .bind(("id", id.to_string()))
        .bind(("region", region.to_string()))
        .await?
        .take(0)
        .context("reading a list")?;
    Ok(rows.into_iter().next())
}

/// Renames an unsent list. False when the list is not (or no longer) unsent.
pub async fn rename(
    db: &Db,
    field: ScopeField,
    region: &str,
    id: &str,
    note: &str,
) -> anyhow::Result<bool> {
    let sql = format!(
        "UPDATE type::record('list', $id) SET note = $note WHERE status = 'draft' AND {} RETURN VALUE id",
        scope_sql(field)
    );
    let rows: Vec<surrealdb::types::Value> = db
        .query(sql)
        .bind(("id", id.to_string()))
        .bind(("region", region.to_string()))
        .bind(("note", note.to_string()))
        .await?
        .take(0)
        .context("renaming a list")?;
    Ok(!rows.is_empty())
}

/// Deletes an unsent list; its applicants go back to being new, in the same transaction.
pub async fn delete(db: &Db, field: ScopeField, region: &str, id: &str) -> anyhow::Result<bool> {
    let sql = format!(
        "BEGIN TRANSACTION;
         LET $gone = DELETE type::record('list', $id) WHERE status = 'draft' AND {} RETURN BEFORE;
         IF array::len($gone) = 0 {{ THROW 'list_not_deletable' }};
         {}
         DELETE list_event WHERE list = $id;
         COMMIT TRANSACTION;",
        scope_sql(field),
        super::bookkeeping_update("UPDATE applicant SET list = '' WHERE list = $id RETURN NONE;")
    );
    let res = db
        .query(sql)
        .bind(("id", id.to_string()))
        .bind(("region", region.to_string()))
        .await
        .map_err(anyhow::Error::from)
        .and_then(super::all_errors);
    match res {
        Ok(_) => Ok(true),
        Err(e) if format!("{e:#}").contains("list_not_deletable") => Ok(false),
        Err(e) => Err(e.context("deleting a list")),
    }
}

use super::applicants::FIELDS as APPLICANT_FIELDS;

/// A page of a list's applicants, in the order they were registered.
pub async fn members(
    db: &Db,
    list: &str,
    offset: i64,
    limit: i64,
) -> anyhow::Result<Vec<ApplicantRow>> {
    let rows: Vec<ApplicantRow> = db
        .query(format!(
            "SELECT {APPLICANT_FIELDS} FROM applicant WHERE list = $list ORDER BY created_at, id LIMIT $limit START $offset"
        ))
        .bind(("list", list.to_string()))
        .bind(("limit", limit))
        .bind(("offset", offset))
        .await?
        .take(0)
        .context("reading a list's applicants")?;
    Ok(rows)
}

/// Every applicant record of a list, in key order (keys only: a 100 000-member list is a few
/// megabytes). The export reads the rows behind them in batches by key, which are direct
/// lookups; a keyset on the list index would rescan the list for every batch.
pub async fn member_ids(db: &Db, list: &str) -> anyhow::Result<Vec<surrealdb::types::RecordId>> {
    let ids: Vec<surrealdb::types::RecordId> = db
        .query("SELECT VALUE id FROM applicant WHERE list = $list ORDER BY id")
        .bind(("list", list.to_string()))
        .await?
        .take(0)
        .context("reading a list's members")?;
    Ok(ids)
}

/// The rows behind a batch of record ids, in the same order.
pub async fn rows_of(
    db: &Db,
    ids: &[surrealdb::types::RecordId],
) -> anyhow::Result<Vec<ApplicantRow>> {
    let rows: Vec<ApplicantRow> = db
        .query(format!("SELECT {APPLICANT_FIELDS} FROM $ids"))
        .bind(("ids", ids.to_vec()))
        .await?
        .take(0)
        .context("reading a batch of applicants")?;
    Ok(rows)
}
