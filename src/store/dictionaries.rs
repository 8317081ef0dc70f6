//! Loading the КАТО and category dictionaries.

use anyhow::Context;
use surrealdb::types::SurrealValue;

use super::Db;
use crate::domain::kato::{Category, Dictionaries, Place};

#[derive(SurrealValue)]
struct PlaceRow {
    code: String,
    level: String,
    prefix: String,
    oblast: String,
    parent: Option<String>,
    name_ru: String,
    name_kk: String,
    search: String,
}

#[derive(SurrealValue)]
struct CategoryRow {
    kind: String,
    #[allow(dead_code)]
    ord: i64,
    code: String,
    name_ru: String,
    name_kk: String,
}

pub async fn load(db: &Db) -> anyhow::Result<Dictionaries> {
    let mut res = db
        .query("SELECT code, level, prefix, oblast, parent, name_ru, name_kk, search FROM kato ORDER BY code")
        .query("SELECT kind, code, name_ru, name_kk, ord FROM category ORDER BY kind, ord")
        .await
        .context("loading dictionaries")?;
    let places: Vec<PlaceRow> = res.take(0).context("reading КАТО")?;
    let cats: Vec<CategoryRow> = res.take(1).context("reading categories")?;
    Ok(Dictionaries::new(
        places
            .into_iter()
            .map(|p| Place {
                code: p.code,
                level: p.level,
                prefix: p.prefix,
                oblast: p.oblast,
                parent: p.parent,
                name_ru: p.name_ru,
                name_kk: p.name_kk,
                search: p.search,
            })
            .collect(),
        cats.into_iter()
            .map(|c| Category {
                kind: c.kind,
                code: c.code,
                name_ru: c.name_ru,
                name_kk: c.name_kk,
            })
            .collect(),
    ))
}
