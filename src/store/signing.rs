//! Signing a list and the exchange with АИС: the list's canonical payload, committing a signed
//! version together with its outbox package, the outbox itself, and applying АИС results.

use anyhow::Context;
use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;

use super::applicants::{ApplicantRow, FIELDS as APPLICANT_FIELDS};
use super::lists::ListRow;
use super::{scope_sql, Db};
use crate::ais::{ListPayload, PayloadApplicant, Results, AIS_ACTOR, PAYLOAD_FORMAT};
use crate::domain::kato::ScopeField;

/// Every applicant of a list, ordered by id: what the payload is built from.
pub async fn members_by_id(db: &Db, list: &str) -> anyhow::Result<Vec<ApplicantRow>> {
    let rows: Vec<ApplicantRow> = db
        .query(format!(
            "SELECT {APPLICANT_FIELDS} FROM applicant WHERE list = $list ORDER BY id"
        ))
        .bind(("list", list.to_string()))
        .await?
        .take(0)
        .context("reading a list's applicants for its payload")?;
    Ok(rows)
}

/// What the stored applicants of a list looked like when a payload was built: an edit bumps
/// an applicant's version and a deletion changes the count, so a changed list is noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub count: i64,
    pub version_sum: i64,
}

/// The canonical payload of version `version` of `list`, signed by the user with `signer_iin`.
pub fn build_payload(
    list: &ListRow,
    version: i64,
    signer_iin: &str,
    rows: &[ApplicantRow],
) -> (ListPayload, Fingerprint) {
    let applicants = rows
        .iter()
        .map(|r| PayloadApplicant {
            id: r.id.clone(),
            iin: r.iin.clone(),
            last_name: r.last_name.clone(),
            first_name: r.first_name.clone(),
            middle_name: r.middle_name.clone(),
            birth_date: r.birth_date.clone(),
            gender: r.gender.clone(),
            kato: r.kato.clone(),
            street: r.street.clone(),
            house: r.house.clone(),
            flat: r.flat.clone(),
            applicant_category: r.applicant_category.clone(),
            employment_category: r.employment_category.clone(),
            status: r.status.clone(),
            mg_reason: r.mg_reason.clone(),
        })
        .collect();
    let fp = Fingerprint {
        count: rows.len() as i64,
        version_sum: rows.iter().map(|r| r.version).sum(),
    };
    (
        ListPayload {
            format: PAYLOAD_FORMAT.into(),
            list: list.id.clone(),
            num: list.num,
            region: list.region.clone(),
            version,
            signer_iin: signer_iin.to_string(),
            applicants,
        },
        fp,
    )
}

/// A verified signature, ready to be stored with its version.
#[derive(Debug, Clone)]
pub struct SignedVersion {
    pub list: String,
    pub version: i64,
    pub package: String,
    pub payload: String,
    pub signature: String,
    pub cert_subject: String,
    pub cert_issuer: String,
    pub cert_serial: String,
    pub cert_not_after: DateTime<Utc>,
    pub algorithm: String,
    pub signer_iin: String,
    pub signed_by: String,
    pub applicants: i64,
    pub to_check: i64,
    pub refused: i64,
    /// The JSON body delivered to АИС.
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignOutcome {
    Sent,
    /// The list is not unsent / returned, or another version was signed meanwhile.
    WrongState,
    /// An applicant changed after the payload was built.
    Changed,
}

/// Stores a signed version in one transaction: the list becomes «отправлен в АИС «Рынок
/// труда»», its applicants are marked sent (no more edits), the version and its outbox package
/// are written. Nothing of it happens if the list or its applicants changed meanwhile.
pub async fn commit_signature(
    db: &Db,
    field: ScopeField,
    region: &str,
    v: &SignedVersion,
    fp: Fingerprint,
) -> anyhow::Result<SignOutcome> {
    let sql = format!(
        "BEGIN TRANSACTION;
         LET $l = UPDATE type::record('list', $list) SET status = 'sent', signed = $version,
             status_changed_at = time::now(), status_changed_by = $by
             WHERE status IN ['draft', 'received'] AND (signed ?? 0) = $version - 1 AND {scope}
             RETURN VALUE id;
         IF array::len($l) = 0 {{ THROW 'sign_wrong_state' }};
         LET $fp = (SELECT count() AS n, math::sum(version) AS v FROM applicant WHERE list = $list GROUP ALL)[0];
         IF ($fp.n ?? 0) != $count OR ($fp.v ?? 0) != $vsum {{ THROW 'sign_payload_changed' }};
         {mark_sent}
         CREATE list_version CONTENT {{
             list: $list, version: $version, package: $package, payload: $payload, signature: $signature,
             cert_subject: $cert_subject, cert_issuer: $cert_issuer, cert_serial: $cert_serial,
             cert_not_after: $cert_not_after, algorithm: $algorithm, signer_iin: $signer_iin,
             signed_at: time::now(), signed_by: $by, applicants: $count, to_check: $to_check,
             refused: $refused, delivered_at: NONE, result_at: NONE, passed: 0, failed: 0
         }};
         CREATE type::record('outbox', $package) CONTENT {{
             list: $list, version: $version, body: $body, state: 'pending', attempts: 0,
             next_at: time::now(), created_at: time::now(), delivered_at: NONE, last_error: ''
         }};
         CREATE list_event CONTENT {{ list: $list, at: time::now(), by: $by, status: 'sent' }};
         COMMIT TRANSACTION;",
        scope = scope_sql(field),
        mark_sent = super::bookkeeping_update(
            "UPDATE applicant SET sent = true WHERE list = $list AND sent = false RETURN NONE;"
        )
    );
    let res = db
        .query(sql)
        .bind(("list", v.list.clone()))
        .bind(("region", region.to_string()))
        .bind(("version", v.version))
        .bind(("by", v.signed_by.clone()))
        .bind(("count", fp.count))
        .bind(("vsum", fp.version_sum))
        .bind(("package", v.package.clone()))
        .bind(("payload", v.payload.clone()))
        .bind(("signature", v.signature.clone()))
        .bind(("cert_subject", v.cert_subject.clone()))
        .bind(("cert_issuer", v.cert_issuer.clone()))
        .bind(("cert_serial", v.cert_serial.clone()))
        .bind(("cert_not_after", v.cert_not_after))
        .bind(("algorithm", v.algorithm.clone()))
        .bind(("signer_iin", v.signer_iin.clone()))
        .bind(("to_check", v.to_check))
        .bind(("refused", v.refused))
        .bind(("body", v.body.clone()))
        .await
        .map_err(anyhow::Error::from)
        .and_then(super::all_errors);
    match res {
        Ok(_) => Ok(SignOutcome::Sent),
        Err(e) => {
            let text = format!("{e:#}");
            if text.contains("sign_wrong_state") || super::is_write_conflict(&e) {
                Ok(SignOutcome::WrongState)
            } else if text.contains("sign_payload_changed") {
                Ok(SignOutcome::Changed)
            } else {
                Err(e.context("storing a signed list version"))
            }
        }
    }
}

/// A signed version, for the list page.
#[derive(Debug, Clone, SurrealValue, serde::Serialize)]
pub struct VersionRow {
    pub version: i64,
    pub package: String,
    pub cert_subject: String,
    pub cert_issuer: String,
    pub cert_serial: String,
    pub cert_not_after: DateTime<Utc>,
    pub algorithm: String,
    pub signed_at: DateTime<Utc>,
    pub signed_by: String,
    pub applicants: i64,
    pub to_check: i64,
    pub refused: i64,
    pub delivered_at: Option<DateTime<Utc>>,
    pub result_at: Option<DateTime<Utc>>,
    pub passed: i64,
    pub failed: i64,
    pub rejected: String,
}

pub async fn versions(db: &Db, list: &str) -> anyhow::Result<Vec<VersionRow>> {
    let rows: Vec<VersionRow> = db
        .query(
            "SELECT version, package, cert_subject, cert_issuer, cert_serial, cert_not_after, algorithm,
                    signed_at, signed_by, applicants, to_check, refused, delivered_at, result_at,
                    passed, failed, rejected
             FROM list_version WHERE list = $list ORDER BY version DESC",
        )
        .bind(("list", list.to_string()))
        .await?
        .take(0)
        .context("reading a list's versions")?;
    Ok(rows)
}

/// The payload and signature stored with a version (for audits and tests).
pub async fn stored_signature(
    db: &Db,
    list: &str,
    version: i64,
) -> anyhow::Result<Option<(String, String)>> {
    #[derive(SurrealValue)]
    struct Row {
        payload: String,
        signature: String,
    }
    let rows: Vec<Row> = db
        .query(
            "SELECT payload, signature FROM list_version WHERE list = $list AND version = $version",
        )
        .bind(("list", list.to_string()))
        .bind(("version", version))
        .await?
        .take(0)?;
    Ok(rows.into_iter().next().map(|r| (r.payload, r.signature)))
}

// ---- The outbox ----

#[derive(Debug, Clone, SurrealValue)]
pub struct OutboxRow {
    pub id: String,
    pub list: String,
    pub version: i64,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub next_at: DateTime<Utc>,
    pub last_error: String,
}

const OUTBOX_FIELDS: &str =
    "record::id(id) AS id, list, version, body, state, attempts, next_at, last_error";

/// Pending packages whose time has come, oldest first.
pub async fn outbox_due(db: &Db, limit: i64) -> anyhow::Result<Vec<OutboxRow>> {
    let rows: Vec<OutboxRow> = db
        .query(format!(
            "SELECT {OUTBOX_FIELDS} FROM outbox WHERE state = 'pending' AND next_at <= time::now()
             ORDER BY next_at LIMIT $limit"
        ))
        .bind(("limit", limit))
        .await?
        .take(0)
        .context("reading the outbox")?;
    Ok(rows)
}

/// When the next pending package is due, if any.
pub async fn outbox_next_at(db: &Db) -> anyhow::Result<Option<DateTime<Utc>>> {
    let at: Option<DateTime<Utc>> = db
        .query("(SELECT VALUE next_at FROM outbox WHERE state = 'pending' ORDER BY next_at LIMIT 1)[0]")
        .await?
        .take(0)
        .context("reading the outbox")?;
    Ok(at)
}

pub async fn outbox_all(db: &Db) -> anyhow::Result<Vec<OutboxRow>> {
    let rows: Vec<OutboxRow> = db
        .query(format!(
            "SELECT {OUTBOX_FIELDS} FROM outbox ORDER BY created_at"
        ))
        .await?
        .take(0)?;
    Ok(rows)
}

/// The package reached АИС: the outbox row and the version record it.
pub async fn outbox_delivered(db: &Db, id: &str) -> anyhow::Result<()> {
    db.query(
        "BEGIN TRANSACTION;
         LET $o = UPDATE type::record('outbox', $id) SET state = 'delivered', delivered_at = time::now(),
             attempts += 1, last_error = '' WHERE state = 'pending' RETURN AFTER;
         UPDATE list_version SET delivered_at = time::now() WHERE package = $id AND delivered_at = NONE;
         COMMIT TRANSACTION;",
    )
    .bind(("id", id.to_string()))
    .await
    .map_err(anyhow::Error::from)
    .and_then(super::all_errors)
    .context("marking a package delivered")?;
    Ok(())
}

/// A failed attempt: try again at `next_at`.
pub async fn outbox_retry(
    db: &Db,
    id: &str,
    next_at: DateTime<Utc>,
    error: &str,
) -> anyhow::Result<()> {
    db.query(
        "UPDATE type::record('outbox', $id) SET attempts += 1, next_at = $next_at, last_error = $error
         WHERE state = 'pending'",
    )
    .bind(("id", id.to_string()))
    .bind(("next_at", next_at))
    .bind(("error", error.chars().take(500).collect::<String>()))
    .await
    .map_err(anyhow::Error::from)
    .and_then(super::all_errors)
    .context("rescheduling a package")?;
    Ok(())
}

/// АИС refused the package for good (e.g. it could not verify the signature).
pub async fn outbox_rejected(db: &Db, id: &str, error: &str) -> anyhow::Result<()> {
    let error: String = error.chars().take(500).collect();
    db.query(
        "BEGIN TRANSACTION;
         UPDATE type::record('outbox', $id) SET state = 'rejected', attempts += 1, last_error = $error
             WHERE state = 'pending';
         UPDATE list_version SET rejected = $error WHERE package = $id;
         COMMIT TRANSACTION;",
    )
    .bind(("id", id.to_string()))
    .bind(("error", error))
    .await
    .map_err(anyhow::Error::from)
    .and_then(super::all_errors)
    .context("marking a package rejected")?;
    Ok(())
}

// ---- Results from АИС ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsOutcome {
    Applied {
        passed: i64,
        failed: i64,
    },
    /// This result id was applied before: nothing changes.
    Duplicate,
    /// No list version is waiting for these results.
    Unexpected,
}

/// Applies АИС's verdicts in one transaction: each checked applicant becomes ✓ or ⊗ with the
/// reason, the list becomes «получен из АИС «Рынок труда»», the version records the counts.
/// Idempotent by the result id.
pub async fn apply_results(db: &Db, r: &Results) -> anyhow::Result<ResultsOutcome> {
    // A concurrent change between the read and the transaction (a second delivery of the same
    // result racing this one) makes the transaction refuse; the next attempt sees it.
    let mut attempt = 0;
    loop {
        match apply_results_once(db, r).await {
            Err(e) if attempt < 3 && format!("{e:#}").contains("results_moved") => attempt += 1,
            other => return other,
        }
    }
}

async fn apply_results_once(db: &Db, r: &Results) -> anyhow::Result<ResultsOutcome> {
    use std::collections::{BTreeMap, HashMap, HashSet};
    use surrealdb::types::RecordId;
    #[derive(SurrealValue)]
    struct Current {
        key: String,
        iin: String,
        status: String,
    }
    #[derive(SurrealValue)]
    struct History {
        applicant: String,
        at: DateTime<Utc>,
        by: String,
        field: String,
        old: String,
        new: String,
    }
    // The verdicts' applicants still awaiting a verdict: of this list, new or changed.
    let mut keys: Vec<&str> = r.verdicts.iter().map(|v| v.applicant_id.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    let ids: Vec<RecordId> = keys
        .iter()
        .map(|k| RecordId::new("applicant", *k))
        .collect();
    let current: Vec<Current> = db
        .query(
            "SELECT record::id(id) AS key, iin, status FROM $ids
                 WHERE list = $list AND status IN ['new', 'changed']",
        )
        .bind(("ids", ids))
        .bind(("list", r.list_id.clone()))
        .await?
        .take(0)
        .context("reading the applicants of АИС's verdicts")?;
    let current: HashMap<String, Current> =
        current.into_iter().map(|c| (c.key.clone(), c)).collect();
    // Each verdict whose applicant awaits one and carries its IIN (the first verdict of an
    // applicant counts), grouped by what it sets, so that each group is one UPDATE.
    let now = Utc::now();
    let mut groups: BTreeMap<(&str, String), Vec<RecordId>> = BTreeMap::new();
    let mut history = Vec::new();
    let mut seen = HashSet::new();
    for v in &r.verdicts {
        if !seen.insert(v.applicant_id.as_str()) {
            continue;
        }
        let Some(c) = current.get(&v.applicant_id).filter(|c| c.iin == v.iin) else {
            continue;
        };
        let status = if v.passed { "passed" } else { "failed" };
        let reason: String = if v.passed {
            String::new()
        } else {
            v.reason.chars().take(500).collect()
        };
        groups
            .entry((status, reason))
            .or_default()
            .push(RecordId::new("applicant", v.applicant_id.as_str()));
        history.push(History {
            applicant: v.applicant_id.clone(),
            at: now,
            by: AIS_ACTOR.to_string(),
            field: "status".into(),
            old: c.status.clone(),
            new: status.into(),
        });
    }
    let updates: String = (0..groups.len())
        .map(|i| {
            format!(
                "LET $u{i} = UPDATE $g{i} SET status = $s{i}, ais_reason = $r{i}, version += 1, updated_at = $now
                     WHERE list = $list AND status IN ['new', 'changed'] RETURN VALUE id;\n"
            )
        })
        .collect();
    let updated: String = (0..groups.len())
        .map(|i| format!(" + array::len($u{i})"))
        .collect();
    let sql = format!(
        "BEGIN TRANSACTION;
         CREATE type::record('ais_result', $rid) CONTENT {{
             package: $package, list: $list, version: $version, verdicts: $verdicts, at: $now
         }};
         LET $l = SELECT VALUE id FROM type::record('list', $list) WHERE status = 'sent' AND signed = $version;
         IF array::len($l) = 0 {{ THROW 'results_unexpected' }};
         LET $v = SELECT VALUE id FROM list_version WHERE list = $list AND version = $version AND package = $package;
         IF array::len($v) = 0 {{ THROW 'results_unexpected' }};
         {updates}
         IF 0{updated} != $expected {{ THROW 'results_moved' }};
         INSERT INTO applicant_change $history RETURN NONE;
         UPDATE type::record('list', $list) SET status = 'received', status_changed_at = $now,
             status_changed_by = $actor;
         UPDATE list_version SET result_at = $now, passed = $passed, failed = $failed
             WHERE list = $list AND version = $version;
         CREATE list_event CONTENT {{ list: $list, at: $now, by: $actor, status: 'received' }};
         COMMIT TRANSACTION;"
    );
    let passed = r.verdicts.iter().filter(|v| v.passed).count() as i64;
    let failed = r.verdicts.len() as i64 - passed;
    let mut query = db
        .query(sql)
        .bind(("rid", r.result_id.clone()))
        .bind(("package", r.package_id.clone()))
        .bind(("list", r.list_id.clone()))
        .bind(("version", r.version))
        .bind(("verdicts", r.verdicts.len() as i64))
        .bind(("expected", history.len() as i64))
        .bind(("history", history))
        .bind(("now", now))
        .bind(("passed", passed))
        .bind(("failed", failed))
        .bind(("actor", AIS_ACTOR.to_string()));
    for (i, ((status, reason), ids)) in groups.into_iter().enumerate() {
        query = query
            .bind((format!("g{i}"), ids))
            .bind((format!("s{i}"), status.to_string()))
            .bind((format!("r{i}"), reason));
    }
    let res = query
        .await
        .map_err(anyhow::Error::from)
        .and_then(super::all_errors);
    match res {
        Ok(_) => Ok(ResultsOutcome::Applied { passed, failed }),
        Err(e) => {
            let text = format!("{e:#}");
            if text.contains("results_unexpected") {
                // A result already applied leaves the list received: tell the two apart.
                let seen: Option<String> = db
                    .query("(SELECT VALUE record::id(id) FROM type::record('ais_result', $rid))[0]")
                    .bind(("rid", r.result_id.clone()))
                    .await?
                    .take(0)?;
                Ok(if seen.is_some() {
                    ResultsOutcome::Duplicate
                } else {
                    ResultsOutcome::Unexpected
                })
            } else if text.contains("already exists") {
                Ok(ResultsOutcome::Duplicate)
            } else {
                Err(e.context("applying АИС results"))
            }
        }
    }
}

/// Whether any of these lists (in the user's region) changed status after `since`: open pages
/// poll this to show АИС's results without a manual reload.
pub async fn lists_changed_since(
    db: &Db,
    field: ScopeField,
    region: &str,
    ids: &[String],
    since: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let ids: Vec<surrealdb::types::RecordId> = ids
        .iter()
        .take(100)
        .map(|k| surrealdb::types::RecordId::new("list", k.as_str()))
        .collect();
    if ids.is_empty() {
        return Ok(false);
    }
    let n: Option<i64> = db
        .query(format!(
            "(SELECT count() AS n FROM $ids WHERE status_changed_at > $since AND {} GROUP ALL)[0].n",
            scope_sql(field)
        ))
        .bind(("ids", ids))
        .bind(("since", since))
        .bind(("region", region.to_string()))
        .await?
        .take(0)
        .context("polling lists")?;
    Ok(n.unwrap_or(0) > 0)
}
