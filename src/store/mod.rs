//! Every SurrealQL string lives in this folder. Functions take the database handle, bind every
//! value (nothing is formatted into a query) and return plain Rust types.

pub mod applicants;
pub mod audit;
pub mod backup;
pub mod dictionaries;
pub mod lists;
pub mod passkeys;
pub mod sessions;
pub mod signing;
pub mod users;

use anyhow::{bail, Context};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};
use surrealdb::engine::any::Any;
use surrealdb::types::SurrealValue;
use surrealdb::Surreal;

use crate::config::Settings;

pub type Db = Surreal<Any>;

/// SurrealKV's SSTable block size: LevelDB's 4 KiB rather than upstream's 64 KiB.
pub const SURREALKV_BLOCK_SIZE: u64 = 4 * 1024;

/// The most one transaction may write (bytes; 0 = no known limit). Embedded SurrealKV must fit a
/// transaction in one memtable: a larger one fails, and SurrealKV then cannot replay its log
/// until it is opened with a larger memtable.
static TRANSACTION_BUDGET: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

pub fn set_transaction_budget(bytes: u64) {
    TRANSACTION_BUDGET.store(bytes, std::sync::atomic::Ordering::SeqCst);
}

/// A migration marked with this line rewrites every applicant in its one transaction.
const PER_APPLICANT_MARK: &str = "-- talapker: rewrites every applicant";

/// What one applicant costs such a migration in the memtable, generously (a 10 000-verdict
/// АИС result, two records and their index entries per verdict, did not fit in 32 MiB).
const BYTES_PER_APPLICANT: u64 = 4 * 1024;

#[derive(RustEmbed)]
#[folder = "migrations/"]
#[include = "*.surql"]
struct MigrationFiles;

/// Opens the database the settings name. For embedded SurrealKV the data directory is created
/// and every commit is synced to disk (`sync=every`), so an acknowledged write survives a crash.
pub async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    let mut url = settings.db_url();
    if let Some(path) = url.strip_prefix("surrealkv://") {
        let path = path.split('?').next().unwrap_or(path);
        std::fs::create_dir_all(path)
            .with_context(|| format!("creating the database directory {path}"))?;
        if !url.contains('?') {
            url.push_str("?sync=every");
        }
        // Every point read copies one SSTable block: upstream's 64 KiB blocks made an update of
        // an applicant (a dozen point reads) cost ~400 µs, most of it memcpy (perf, BENCHMARKS).
        surrealdb_kvs_surrealkv::set_block_size(SURREALKV_BLOCK_SIZE);
        // Bound SurrealKV's memory (upstream sizes its block cache at half of the RAM); one
        // transaction must fit in a memtable.
        let memtable = settings.db_memtable_mb.max(16) * 1024 * 1024;
        set_transaction_budget(memtable);
        surrealdb_kvs_surrealkv::set_memory_limits(
            settings.db_cache_mb.max(8) * 1024 * 1024,
            memtable,
        );
    }
    let db = surrealdb::engine::any::connect(url.as_str())
        .await
        .with_context(|| format!("opening the database at {}", redact(&url)))?;
    if let (Some(user), Some(pass)) = (&settings.db_user, &settings.db_password) {
        db.signin(surrealdb::opt::auth::Root {
            username: user.clone(),
            password: pass.clone(),
        })
        .await
        .context("signing in to the remote SurrealDB")?;
    }
    db.use_ns(settings.db_ns.as_str())
        .use_db(settings.db_name.as_str())
        .await
        .context("selecting the namespace and database")?;
    Ok(db)
}

fn redact(url: &str) -> String {
    // A URL may carry credentials after '@'; keep only the scheme and host part.
    match url.split_once('@') {
        Some((_, host)) => format!("***@{host}"),
        None => url.to_string(),
    }
}

/// Refuses, before it starts, a migration that rewrites every applicant when they would not fit
/// in one transaction, saying how to run it instead.
async fn check_budget(db: &Db, m: &Migration) -> anyhow::Result<()> {
    let budget = TRANSACTION_BUDGET.load(std::sync::atomic::Ordering::SeqCst);
    if budget == 0 || !m.sql.contains(PER_APPLICANT_MARK) {
        return Ok(());
    }
    let n: Option<i64> = db
        .query("RETURN (SELECT count() FROM applicant GROUP ALL)[0].count ?? 0")
        .await?
        .take(0)
        .context("counting applicants before a migration")?;
    let n = n.unwrap_or(0).max(0) as u64;
    let need = n * BYTES_PER_APPLICANT;
    if need > budget {
        bail!(
            "migration {} rewrites all {n} applicants in one transaction, about {} MiB, more than \
             the {} MiB memtable allows: start once with --db-memtable-mb {} (or more), then as before",
            m.name,
            need / 1024 / 1024,
            budget / 1024 / 1024,
            need / 1024 / 1024 + 1
        );
    }
    Ok(())
}

/// A migration file and the checksum of its text.
pub struct Migration {
    pub name: String,
    pub sql: String,
    pub checksum: String,
}

pub fn embedded_migrations() -> Vec<Migration> {
    let mut names: Vec<String> = MigrationFiles::iter().map(|n| n.to_string()).collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|name| {
            let file = MigrationFiles::get(&name)?;
            let sql = String::from_utf8_lossy(&file.data).into_owned();
            Some(Migration {
                checksum: hex::encode(Sha256::digest(sql.as_bytes())),
                name,
                sql,
            })
        })
        .collect()
}

#[derive(Debug, SurrealValue)]
struct AppliedMigration {
    name: String,
    checksum: String,
}

/// Applies, in order, every migration not yet applied. Each runs in one transaction with its
/// bookkeeping row. A migration already applied whose text has changed stops everything:
/// migrations are append-only, and a silent divergence between databases is worse than a
/// refusal to start.
pub async fn migrate(db: &Db, migrations: &[Migration]) -> anyhow::Result<usize> {
    // The bookkeeping table may not exist yet on an empty database.
    let applied: Vec<AppliedMigration> = db
        .query("SELECT name, checksum FROM migration")
        .await
        .context("reading applied migrations")?
        .take(0)
        .unwrap_or_default();
    let mut count = 0;
    for m in migrations {
        if let Some(done) = applied.iter().find(|a| a.name == m.name) {
            if done.checksum != m.checksum {
                bail!(
                    "migration {} was changed after it was applied (checksum {} in the database, {} in the file); \
                     migrations are append-only: restore the file and add a new migration instead",
                    m.name,
                    done.checksum,
                    m.checksum
                );
            }
            continue;
        }
        check_budget(db, m).await?;
        let sql = format!(
            "BEGIN TRANSACTION;\n{}\n;CREATE migration CONTENT {{ name: $name, checksum: $checksum, applied_at: time::now() }};\nCOMMIT TRANSACTION;",
            m.sql
        );
        let response = db
            .query(sql)
            .bind(("name", m.name.clone()))
            .bind(("checksum", m.checksum.clone()))
            .await
            .with_context(|| format!("applying migration {}", m.name))?;
        response
            .check()
            .with_context(|| format!("applying migration {}", m.name))?;
        tracing::info!(migration = %m.name, "migration applied");
        count += 1;
    }
    Ok(count)
}

/// True when a database error is a UNIQUE violation of the named index.
pub fn is_unique_violation(err: &anyhow::Error, index: &str) -> bool {
    err.chain().any(|e| {
        let s = e.to_string();
        s.contains(index)
            && (s.contains("already contains") || s.contains("unique") || s.contains("Unique"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_embedded_in_order_with_checksums() {
        let ms = embedded_migrations();
        assert!(ms.len() >= 3);
        assert_eq!(ms[0].name, "0001_schema.surql");
        let mut sorted: Vec<_> = ms.iter().map(|m| m.name.clone()).collect();
        sorted.sort();
        assert_eq!(
            sorted,
            ms.iter().map(|m| m.name.clone()).collect::<Vec<_>>()
        );
        assert!(ms.iter().all(|m| m.checksum.len() == 64));
    }

    #[test]
    fn credentials_are_not_printed() {
        assert_eq!(redact("ws://root:secret@db:8000"), "***@db:8000");
    }
}

/// Like `check()`, but the error names every failed statement. In a failed transaction the
/// first errors are "not executed due to a failed transaction"; the statement that failed
/// (a THROW, a unique index) is further down, and callers match on its message.
pub fn all_errors(mut res: surrealdb::IndexedResults) -> anyhow::Result<surrealdb::IndexedResults> {
    let errors = res.take_errors();
    if errors.is_empty() {
        return Ok(res);
    }
    let mut errors: Vec<(usize, String)> = errors
        .into_iter()
        .map(|(i, e)| (i, e.to_string()))
        .collect();
    errors.sort();
    let text = errors
        .into_iter()
        .filter(|(_, e)| !e.contains("not executed due to a failed transaction"))
        .map(|(i, e)| format!("statement {i}: {e}"))
        .collect::<Vec<_>>()
        .join("; ");
    Err(anyhow::anyhow!(if text.is_empty() {
        "the transaction failed".to_string()
    } else {
        text
    }))
}

/// True when the store refused a transaction because another one wrote the same keys first;
/// such a transaction can simply be run again.
pub fn is_write_conflict(err: &anyhow::Error) -> bool {
    let s = format!("{err:#}").to_lowercase();
    s.contains("transaction conflict")
        || s.contains("write conflict")
        || s.contains("can be retried")
}

/// The fixed condition that scopes a query to a user's region (applicants and lists carry the
/// same `oblast` / `district` fields); the region itself is always bound as `$region`.
pub(crate) fn scope_sql(field: crate::domain::kato::ScopeField) -> &'static str {
    match field {
        crate::domain::kato::ScopeField::Oblast => "oblast = $region",
        crate::domain::kato::ScopeField::District => "district = $region",
    }
}

/// Wraps a bulk `UPDATE` of applicants that sets only their bookkeeping (`list`, `sent`) in
/// `OPTION IMPORT`: SurrealDB then skips, for each applicant, the table's field clauses and its
/// event (it still writes the indexes), and returns no rows. Neither has anything to do for such
/// a change — the event `applicant_index` keeps the ФИО, IIN and region records, the clauses
/// check what an addition or an edit sets — and together they were most of the time of forming
/// a list of 10 000 (BENCHMARKS.md, fifth session). Never for a statement that sets a field
/// those clauses or that event read.
pub(crate) fn bookkeeping_update(statement: &str) -> String {
    format!("OPTION IMPORT;\n{statement}\nOPTION IMPORT = false;")
}
