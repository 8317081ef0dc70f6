//! Backups: the whole database as a SurrealQL file (SurrealDB export), and restoring one into
//! an empty database (import). Used by `talapker backup|restore` and the scheduled backups.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use super::Db;

/// Writes the database to `path`, atomically: a temporary file beside it is renamed at the end,
/// so a crash never leaves a half-written backup under the final name.
pub async fn export(db: &Db, path: &Path) -> anyhow::Result<u64> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    let tmp = path.with_extension("partial");
    db.export(&tmp)
        .await
        .with_context(|| format!("exporting the database to {}", tmp.display()))?;
    let size = std::fs::metadata(&tmp)?.len();
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(size)
}

/// How many migrations a database has applied (0: empty).
pub async fn applied_migrations(db: &Db) -> anyhow::Result<i64> {
    let n: Option<i64> = db
        .query("(SELECT count() AS n FROM migration GROUP ALL)[0].n")
        .await?
        .take(0)
        .unwrap_or(None);
    Ok(n.unwrap_or(0))
}

/// Loads a backup into an empty database; refuses a database that has anything in it.
pub async fn restore(db: &Db, path: &Path) -> anyhow::Result<()> {
    if !path.is_file() {
        bail!("{} is not a backup file", path.display());
    }
    if applied_migrations(db).await? > 0 {
        bail!(
            "the database is not empty: restore into a fresh one (another --data-dir or --db), \
             then point the server at it"
        );
    }
    db.import(path)
        .await
        .with_context(|| format!("importing {}", path.display()))?;
    Ok(())
}

/// The file name of a scheduled backup taken now.
pub fn scheduled_name(dir: &Path) -> PathBuf {
    dir.join(format!(
        "talapker-{}.surql",
        chrono::Utc::now().format("%Y%m%d-%H%M%S")
    ))
}

/// Keeps the newest `keep` scheduled backups in `dir`, deleting older ones.
pub fn prune(dir: &Path, keep: usize) -> anyhow::Result<usize> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("talapker-") && n.ends_with(".surql"))
        })
        .collect();
    files.sort();
    let excess = files.len().saturating_sub(keep);
    for f in &files[..excess] {
        std::fs::remove_file(f)?;
    }
    Ok(excess)
}
