//! The append-only audit log: writing an entry, and the admin page's filtered, scoped pages.

use anyhow::Context;
use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;

use super::Db;
use crate::domain::kato::ScopeField;

/// One entry to write.
#[derive(Debug, Clone)]
pub struct Entry {
    pub actor: String,
    pub ip: String,
    pub action: String,
    pub object: String,
    pub details: String,
    pub oblast: String,
    pub district: String,
}

/// The statement that writes an entry, its values bound as `$audit_*` (`bind`): on its own, or
/// inside the transaction of the change it records.
pub(crate) const CREATE_SQL: &str =
    "CREATE audit CONTENT { at: time::now(), actor: $audit_actor, ip: $audit_ip, action: $audit_action,
        object: $audit_object, details: $audit_details, oblast: $audit_oblast, district: $audit_district } RETURN NONE";

/// Binds an entry's values for `CREATE_SQL`.
pub(crate) fn bind<'a>(
    query: surrealdb::method::Query<'a, surrealdb::engine::any::Any>,
    e: &Entry,
) -> surrealdb::method::Query<'a, surrealdb::engine::any::Any> {
    query
        .bind(("audit_actor", e.actor.clone()))
        .bind(("audit_ip", e.ip.clone()))
        .bind(("audit_action", e.action.clone()))
        .bind(("audit_object", e.object.clone()))
        .bind((
            "audit_details",
            e.details.chars().take(1000).collect::<String>(),
        ))
        .bind(("audit_oblast", e.oblast.clone()))
        .bind(("audit_district", e.district.clone()))
}

pub async fn record(db: &Db, e: &Entry) -> anyhow::Result<()> {
    bind(db.query(CREATE_SQL), e)
        .await
        .map_err(anyhow::Error::from)
        .and_then(super::all_errors)
        .context("writing the audit log")?;
    Ok(())
}

#[derive(Debug, Clone, SurrealValue, serde::Serialize)]
pub struct AuditRow {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub ip: String,
    pub action: String,
    pub object: String,
    pub details: String,
}

/// The admin page's filters; empty ones do not narrow.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub actor: String,
    pub action: String,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A page of the region's entries (and those of unknown actors), newest first.
pub async fn page(
    db: &Db,
    field: ScopeField,
    region: &str,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<AuditRow>, i64)> {
    let scope = match field {
        ScopeField::Oblast => "oblast",
        ScopeField::District => "district",
    };
    // Two index ranges (the region's entries, the unattributed ones) merged newest first.
    let mut cond = String::new();
    if !f.actor.is_empty() {
        cond.push_str(" AND actor = $actor");
    }
    if !f.action.is_empty() {
        cond.push_str(" AND action = $action");
    }
    if f.from.is_some() {
        cond.push_str(" AND at >= $from");
    }
    if f.to.is_some() {
        cond.push_str(" AND at < $to");
    }
    let sql = format!(
        "SELECT at, actor, ip, action, object, details FROM audit
             WHERE ({scope} = $region OR (oblast = '' AND district = '')){cond}
             ORDER BY at DESC LIMIT $limit START $offset;
         (SELECT count() AS n FROM audit WHERE ({scope} = $region OR (oblast = '' AND district = '')){cond} GROUP ALL)[0].n;"
    );
    let mut res = db
        .query(sql)
        .bind(("region", region.to_string()))
        .bind(("actor", f.actor.clone()))
        .bind(("action", f.action.clone()))
        .bind(("from", f.from))
        .bind(("to", f.to))
        .bind(("limit", limit))
        .bind(("offset", offset))
        .await
        .context("reading the audit log")?;
    let rows: Vec<AuditRow> = res.take(0).context("reading the audit log")?;
    let total: Option<i64> = res.take(1).context("counting the audit log")?;
    Ok((rows, total.unwrap_or(0)))
}
