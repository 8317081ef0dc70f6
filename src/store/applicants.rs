//! Applicants: scoped listing and search, the card, history, and writes that keep the rules
//! (unique IIN, idempotent replays, optimistic concurrency) inside the database transaction.

use anyhow::Context;
use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;

use super::{is_unique_violation, scope_sql, Db};
use crate::domain::applicant::ValidApplicant;
use crate::domain::kato::{Scope, ScopeField};

#[derive(Debug, Clone, SurrealValue, serde::Serialize)]
pub struct ApplicantRow {
    pub id: String,
    pub iin: String,
    pub last_name: String,
    pub first_name: String,
    pub middle_name: String,
    pub birth_date: String,
    pub gender: String,
    pub kato: String,
    pub street: String,
    pub house: String,
    pub flat: String,
    pub applicant_category: String,
    pub employment_category: String,
    pub status: String,
    pub ais_reason: String,
    pub mg_reason: String,
    pub list: String,
    pub sent: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// −(nanoseconds of `created_at`): ascending is newest first (migrations/0010).
    pub rank: i64,
}

/// Every field, and the key as `id`: the row takes the fields it names and ignores the rest.
/// Naming each field instead evaluated 25 expressions a row (a page of 20 at 1M: 0.76 ms against
/// 0.66 ms this way).
pub const FIELDS: &str = "*, record::id(id) AS id";

/// At most this many words of a ФИО search are used.
pub const FIO_WORDS_MAX: usize = 5;

/// What the search line asked for (manual §4). Both parts may be given; each narrows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    /// Words of the ФИО, lower-cased with ё folded into е: every word must occur in the ФИО,
    /// in any order («Айнур Жаншакимова» finds «Жаншакимова Айнур Мараловна»).
    pub fio: Vec<String>,
    /// An IIN prefix (digits only).
    pub iin: Option<String>,
}

impl Search {
    pub fn is_all(&self) -> bool {
        self.fio.is_empty() && self.iin.is_none()
    }
}

/// The IIN part of a search (fixed text) and the values it binds; the ФИО part goes through the
/// word index (`fio_one_word_page`, `fio_search_keys`).
fn iin_filter(search: &Search) -> (String, Vec<(String, String)>) {
    // A prefix is a range on the IIN: [prefix, prefix + ':') since ':' follows '9'.
    match &search.iin {
        Some(q) => (
            " AND iin >= $q AND iin < $q_end".into(),
            vec![("q".into(), q.clone()), ("q_end".into(), format!("{q}:"))],
        ),
        None => (String::new(), Vec::new()),
    }
}

fn applicant_ids(keys: &[String]) -> Vec<surrealdb::types::RecordId> {
    keys.iter()
        .map(|k| surrealdb::types::RecordId::new("applicant", k.as_str()))
        .collect()
}

#[derive(Debug, SurrealValue)]
struct Posting {
    rank: i64,
    key: String,
}

/// The rank and applicant key of a posting's id, `fio_post:[oblast, word, rank, key]`: a page
/// of postings is read as bare ids, cheaper than projecting two fields of each (0.44 against
/// 0.52 ms a page at 1 000 000 applicants, in-process).
fn posting_of(id: &surrealdb::types::RecordId) -> Option<(i64, String)> {
    use surrealdb::types::{Number, RecordIdKey, Value};
    let RecordIdKey::Array(parts) = &id.key else {
        return None;
    };
    match (parts.get(2), parts.get(3)) {
        (Some(Value::Number(Number::Int(rank))), Some(Value::String(key))) => {
            Some((*rank, key.clone()))
        }
        _ => None,
    }
}

/// How many word ranges one statement reads.
const RANGES_PER_QUERY: usize = 64;

/// The oblast whose postings hold a region's applicants, and the condition a district adds.
fn posting_scope(field: ScopeField, region: &str) -> (String, Option<&'static str>) {
    match field {
        ScopeField::Oblast => (region.to_string(), None),
        ScopeField::District => (
            format!("{}0000000", region.get(..2).unwrap_or(region)),
            Some("district = $region"),
        ),
    }
}

/// `fio_post:[$oblast, $d0]..[$oblast, $e0], …`: the postings of `n` words in the oblast.
fn word_ranges(n: usize) -> String {
    // [oblast, word] sorts before every posting of the word, [oblast, word + NUL] after them
    // all and before the next word.
    (0..n)
        .map(|i| format!("fio_post:[$oblast, $d{i}]..[$oblast, $e{i}]"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A query reading postings: the oblast, the region and each word's range bounds bound.
fn postings_query<'a>(
    db: &'a Db,
    sql: String,
    oblast: &str,
    region: &str,
    words: &[String],
) -> surrealdb::method::Query<'a, surrealdb::engine::any::Any> {
    let mut query = db
        .query(sql)
        .bind(("oblast", oblast.to_string()))
        .bind(("region", region.to_string()));
    for (i, d) in words.iter().enumerate() {
        query = query
            .bind((format!("d{i}"), d.clone()))
            .bind((format!("e{i}"), format!("{d}\0")));
    }
    query
}

/// The dictionary words that contain `w` (one key range of `fio_sfx`).
async fn words_containing(db: &Db, w: &str) -> anyhow::Result<Vec<String>> {
    let mut dict: Vec<String> = db
        .query("SELECT VALUE id[1] FROM fio_sfx:[$w]..[$w_end]")
        .bind(("w", w.to_string()))
        .bind(("w_end", format!("{w}{}", char::MAX)))
        .await?
        .take(0)
        .context("finding the words of a ФИО search")?;
    dict.sort_unstable();
    dict.dedup();
    Ok(dict)
}

/// The keys of the region's applicants whose ФИО contains every search word, newest first
/// (ascending rank, then key). Reads the word index (`migrations/0012_fio_index.surql`): the
/// dictionary words containing each search word are one key range of `fio_sfx`, and each such
/// word's postings in the oblast one key range of `fio_post`; nothing else of the region.
async fn fio_matches(
    db: &Db,
    field: ScopeField,
    region: &str,
    words: &[String],
) -> anyhow::Result<Vec<(i64, String)>> {
    use std::collections::HashMap;
    let (oblast, district) = posting_scope(field, region);
    let district_filter = district.map(|c| format!(" WHERE {c}")).unwrap_or_default();
    let mut found: Option<HashMap<String, i64>> = None;
    for w in words.iter().take(FIO_WORDS_MAX) {
        let dict = words_containing(db, w).await?;
        let mut these: HashMap<String, i64> = HashMap::new();
        for chunk in dict.chunks(RANGES_PER_QUERY) {
            let sql = format!(
                "SELECT rank, id[3] AS key FROM {}{district_filter}",
                word_ranges(chunk.len())
            );
            let query = postings_query(db, sql, &oblast, region, chunk);
            let postings: Vec<Posting> = query
                .await?
                .take(0)
                .context("reading the ФИО search index")?;
            for p in postings {
                let keep = match &found {
                    None => true,
                    Some(prev) => prev.contains_key(&p.key),
                };
                if keep {
                    these.insert(p.key, p.rank);
                }
            }
        }
        let empty = these.is_empty();
        found = Some(these);
        if empty {
            break;
        }
    }
    let mut out: Vec<(i64, String)> = found
        .unwrap_or_default()
        .into_iter()
        .map(|(k, rank)| (rank, k))
        .collect();
    out.sort_unstable();
    Ok(out)
}

/// At most this many dictionary words make a one-word search's page a merge of their pages.
const MERGED_WORDS_MAX: usize = 16;

/// A page of a one-word ФИО search — the common case — without reading every match: each
/// dictionary word holding the search word gives its newest `offset + limit` postings (a
/// forward scan of `fio_post_word` that stops there), and the page is their merge. In an oblast
/// the total is the sum of each word's counters (`fio_count`, migration 0017) corrected for
/// applicants holding several of the words; in a district, the distinct applicants of the
/// ranges, counted inside the database. None when the search is not of that kind.
pub async fn fio_one_word_page(
    db: &Db,
    field: ScopeField,
    region: &str,
    search: &Search,
    offset: i64,
    limit: i64,
) -> anyhow::Result<Option<(Vec<String>, i64)>> {
    let [w] = search.fio.as_slice() else {
        return Ok(None);
    };
    if search.iin.is_some() {
        return Ok(None);
    }
    let dict = words_containing(db, w).await?;
    if dict.is_empty() {
        return Ok(Some((Vec::new(), 0)));
    }
    if dict.len() > MERGED_WORDS_MAX {
        return Ok(None);
    }
    let (oblast, district) = posting_scope(field, region);
    let and_district = district.map(|c| format!(" AND {c}")).unwrap_or_default();
    let mut sql: String = (0..dict.len())
        .map(|i| {
            format!(
                "SELECT VALUE id FROM fio_post WHERE oblast = $oblast AND word = $d{i}{and_district}
                     ORDER BY rank LIMIT $n;\n"
            )
        })
        .collect();
    // The total. In an oblast, by inclusion and exclusion: each word's applicants (its counter
    // records, migration 0017), minus those holding two of the words, plus those holding three,
    // … (key-only counts of `fio_combo` records, migration 0016). In a district, or over many
    // words, the distinct applicants of the postings, counted inside the database.
    let by_combos = district.is_none() && dict.len() <= COMBO_WORDS_MAX;
    if by_combos {
        for i in 0..dict.len() {
            sql.push_str(&format!("RETURN {};\n", word_total(i)));
        }
    } else {
        sql.push_str(&format!(
            "RETURN array::len(array::distinct(SELECT VALUE id[3] FROM {}{}));",
            word_ranges(dict.len()),
            district.map(|c| format!(" WHERE {c}")).unwrap_or_default()
        ));
    }
    let query =
        postings_query(db, sql, &oblast, region, &dict).bind(("n", offset.max(0) + limit.max(0)));
    let mut res = query.await?;
    let mut merged: Vec<(i64, String)> = Vec::new();
    for i in 0..dict.len() {
        let page: Vec<surrealdb::types::RecordId> =
            res.take(i).context("reading a page of a ФИО search")?;
        merged.extend(page.iter().filter_map(posting_of));
    }
    let total = if by_combos {
        let mut total = 0i64;
        for i in 0..dict.len() {
            let n: Option<i64> = res.take(dict.len() + i).context("counting a ФИО search")?;
            total += n.unwrap_or(0);
        }
        total + combos_correction(db, &oblast, &dict).await?
    } else {
        let n: Option<i64> = res.take(dict.len()).context("counting a ФИО search")?;
        n.unwrap_or(0)
    };
    merged.sort_unstable();
    merged.dedup_by(|a, b| a.1 == b.1);
    let keys = merged
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(0))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|(_, k)| k)
        .collect();
    Ok(Some((keys, total)))
}

/// At most this many dictionary words make a one-word search's total a sum of key-only counts
/// (pairs of them: 15 ranges; larger sets only where every smaller one has applicants).
const COMBO_WORDS_MAX: usize = 6;

/// The number of the oblast's applicants holding dictionary word `$d{i}`: the sum of its
/// counter records (`fio_count:[oblast, word, shard]`, migration 0017), each read by its key
/// like a region's total.
fn word_total(i: usize) -> String {
    shard_sum(&format!("fio_count:[$oblast, $d{i}"))
}

/// `SELECT count()` of a key range, which SurrealDB answers from the keys alone.
fn key_count(range: &str) -> String {
    format!("(SELECT count() FROM {range} GROUP ALL)[0].count ?? 0")
}

/// The inclusion–exclusion terms past the single words: for every set of two or more of the
/// (sorted) dictionary words, (−1)^(size+1) × the applicants holding all of them, one key-only
/// count of `fio_combo:[oblast, 'w1 w2 …']`. Sets are counted size by size, and a set only when
/// every set one word smaller has applicants (none otherwise), so the usual search, whose words
/// never meet in one name, costs the pairs alone.
async fn combos_correction(db: &Db, oblast: &str, dict: &[String]) -> anyhow::Result<i64> {
    // A set of words is a bit mask over `dict` (at most COMBO_WORDS_MAX words).
    let mut correction = 0i64;
    // The sets of the last size that have applicants.
    let mut alive: std::collections::HashSet<u32> = (0..dict.len()).map(|i| 1 << i).collect();
    for size in 2..=dict.len() {
        // Each set grows by a word past its last one, and is counted only when every set one
        // word smaller has applicants.
        let mut sets: Vec<u32> = Vec::new();
        for &base in &alive {
            for next in (32 - base.leading_zeros() as usize)..dict.len() {
                let set = base | 1 << next;
                let mut words = (0..dict.len()).filter(|i| set & 1 << i != 0);
                if words.all(|i| alive.contains(&(set & !(1 << i)))) {
                    sets.push(set);
                }
            }
        }
        if sets.is_empty() {
            break;
        }
        let sql: String = (0..sets.len())
            .map(|k| {
                format!(
                    "RETURN {};\n",
                    key_count(&format!("fio_combo:[$oblast, $c{k}]..[$oblast, $ce{k}]"))
                )
            })
            .collect();
        let mut query = db.query(sql).bind(("oblast", oblast.to_string()));
        for (k, set) in sets.iter().enumerate() {
            let combo = (0..dict.len())
                .filter(|i| set & 1 << i != 0)
                .map(|i| dict[i].as_str())
                .collect::<Vec<_>>()
                .join(" ");
            // [oblast, combo] sorts before every record of the set, [oblast, combo + NUL] after
            // them all and before the larger sets that start with it (a space follows NUL).
            query = query
                .bind((format!("ce{k}"), format!("{combo}\0")))
                .bind((format!("c{k}"), combo));
        }
        let mut res = query.await.context("counting a ФИО search's word sets")?;
        let sign = if size % 2 == 0 { -1 } else { 1 };
        let mut next_alive = std::collections::HashSet::new();
        for (k, set) in sets.into_iter().enumerate() {
            let n: Option<i64> = res.take(k).context("counting a ФИО search's word sets")?;
            let n = n.unwrap_or(0);
            if n > 0 {
                correction += sign * n;
                next_alive.insert(set);
            }
        }
        if next_alive.is_empty() {
            break;
        }
        alive = next_alive;
    }
    Ok(correction)
}

/// The keys of every applicant a ФИО search finds (with its IIN prefix, if any), newest first.
pub async fn fio_search_keys(
    db: &Db,
    field: ScopeField,
    region: &str,
    search: &Search,
) -> anyhow::Result<Vec<String>> {
    let mut keys: Vec<String> = fio_matches(db, field, region, &search.fio)
        .await?
        .into_iter()
        .map(|(_, k)| k)
        .collect();
    if search.iin.is_some() {
        let (filter, binds) = iin_filter(search);
        let mut kept = std::collections::HashSet::new();
        for chunk in keys.chunks(1000) {
            let mut query = db
                .query(format!(
                    "SELECT VALUE record::id(id) FROM $ids WHERE true{filter}"
                ))
                .bind(("ids", applicant_ids(chunk)));
            for (k, v) in binds.iter().cloned() {
                query = query.bind((k, v));
            }
            let hits: Vec<String> = query
                .await?
                .take(0)
                .context("narrowing a ФИО search by IIN")?;
            kept.extend(hits);
        }
        keys.retain(|k| kept.contains(k));
    }
    Ok(keys)
}

/// The keys of the oblast's applicants whose IIN starts with `prefix`: one key range of
/// `iin_at` (`[oblast, iin, key]`, written by the `applicant_index` event, migration 0016).
async fn iin_prefix_keys(db: &Db, oblast: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
    // [oblast, prefix] sorts before every IIN starting with the prefix, [oblast, prefix + ':']
    // after them all (':' follows '9').
    db.query("SELECT VALUE id[2] FROM iin_at:[$oblast, $q]..[$oblast, $q_end]")
        .bind(("oblast", oblast.to_string()))
        .bind(("q", prefix.to_string()))
        .bind(("q_end", format!("{prefix}:")))
        .await?
        .take(0)
        .context("finding applicants by IIN prefix")
}

/// The applicants with these keys in the user's region, in the order of the keys.
pub async fn rows_by_keys(
    db: &Db,
    field: ScopeField,
    region: &str,
    keys: &[String],
) -> anyhow::Result<Vec<ApplicantRow>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT {FIELDS} FROM $ids WHERE {}", scope_sql(field));
    let rows: Vec<ApplicantRow> = db
        .query(sql)
        .bind(("ids", applicant_ids(keys)))
        .bind(("region", region.to_string()))
        .await?
        .take(0)
        .context("reading applicants by key")?;
    let mut by_key: std::collections::HashMap<String, ApplicantRow> =
        rows.into_iter().map(|r| (r.id.clone(), r)).collect();
    Ok(keys.iter().filter_map(|k| by_key.remove(k)).collect())
}

/// One page of the applicants of a region, newest first, with the total count.
pub async fn page(
    db: &Db,
    field: ScopeField,
    region: &str,
    search: &Search,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<ApplicantRow>, i64)> {
    page_remembering(db, None, field, region, search, offset, limit).await
}

/// `page`, with the region's total taken from `totals` when it was read there in the last
/// second (the server's applicants tab).
pub async fn page_remembering(
    db: &Db,
    totals: Option<&Totals>,
    field: ScopeField,
    region: &str,
    search: &Search,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<ApplicantRow>, i64)> {
    if let Some((keys, total)) = fio_one_word_page(db, field, region, search, offset, limit).await?
    {
        let rows = rows_by_keys(db, field, region, &keys).await?;
        return Ok((rows, total));
    }
    if !search.fio.is_empty() {
        let keys = fio_search_keys(db, field, region, search).await?;
        let start = usize::try_from(offset).unwrap_or(0).min(keys.len());
        let end = start
            .saturating_add(usize::try_from(limit).unwrap_or(0))
            .min(keys.len());
        let rows = rows_by_keys(db, field, region, &keys[start..end]).await?;
        return Ok((rows, keys.len() as i64));
    }
    let (filter, binds) = iin_filter(search);
    // A long IIN prefix (6+ digits, a date of birth) holds a handful of people even nationwide:
    // the region's are one key range of `iin_at` (migration 0016), read with them, and the page
    // and its total are cut from them.
    if let Some(q) = search.iin.as_ref().filter(|q| q.len() >= 6) {
        let (oblast, _) = posting_scope(field, region);
        let keys = iin_prefix_keys(db, &oblast, q).await?;
        let mut rows = rows_by_keys(db, field, region, &keys).await?;
        rows.sort_unstable_by(|a, b| (a.rank, &a.id).cmp(&(b.rank, &b.id)));
        let total = rows.len() as i64;
        let rows = rows
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(0))
            .take(usize::try_from(limit).unwrap_or(0))
            .collect();
        return Ok((rows, total));
    }
    // The whole region's total comes from its counters (kept by an event), or from memory when
    // they were read in the last second and nothing changed here since; a search counts.
    let totals = totals.filter(|_| search.is_all());
    let generation = totals.map(Totals::generation).unwrap_or_default();
    let remembered = totals.and_then(|t| t.get(region));
    let count = if remembered.is_some() {
        "RETURN NONE".to_string()
    } else if search.is_all() {
        count_sql().to_string()
    } else {
        format!(
            "(SELECT count() AS n FROM applicant WHERE {scope}{filter} GROUP ALL)[0].n",
            scope = scope_sql(field)
        )
    };
    // Newest first (ascending rank, a forward scan of the region index); the record key breaks
    // ties between applicants added in the same instant, so pages never overlap or skip a row.
    let sql = format!(
        "SELECT {FIELDS} FROM applicant WHERE {scope}{filter} ORDER BY rank, id LIMIT $limit START $offset;
         {count};",
        scope = scope_sql(field)
    );
    let mut query = db
        .query(sql)
        .bind(("region", region.to_string()))
        .bind(("limit", limit))
        .bind(("offset", offset));
    for (k, v) in binds {
        query = query.bind((k, v));
    }
    let mut res = query.await.context("listing applicants")?;
    let rows: Vec<ApplicantRow> = res.take(0).context("reading applicants")?;
    if let Some(total) = remembered {
        return Ok((rows, total));
    }
    let total: Option<i64> = res.take(1).context("counting applicants")?;
    let total = total.unwrap_or(0);
    if let Some(t) = totals {
        t.put(region, generation, total);
    }
    Ok((rows, total))
}

/// The next batch of applicants matching the search, newest first, for the export: a keyset
/// on the region's (`rank`) index, so each batch is one forward index range and every row is
/// read once. `after` is the last batch's last rank and the ids already written with it (rows
/// sharing that instant are filtered out rather than skipped); rows from `until` on are left
/// out, so a batch shorter than `limit` is the last one.
pub async fn export_batch(
    db: &Db,
    field: ScopeField,
    region: &str,
    search: &Search,
    after: Option<(i64, Vec<String>)>,
    until: Option<i64>,
    limit: i64,
) -> anyhow::Result<Vec<ApplicantRow>> {
    let (filter, binds) = iin_filter(search);
    let hint = match &search.iin {
        Some(q) if q.len() >= 6 => " WITH INDEX applicant_iin",
        _ => "",
    };
    // The upper bound is applied here, not in the query: SurrealDB's planner scans the index
    // from `after` and filters `rank < until` above the scan, so the query that finds the
    // slice's end would walk the rest of the region.
    let keyset = if after.is_some() {
        " AND rank >= $after"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {FIELDS} FROM applicant{hint} WHERE {scope}{filter}{keyset} ORDER BY rank LIMIT $limit",
        scope = scope_sql(field)
    );
    let (after, seen) = after.unwrap_or((i64::MIN, Vec::new()));
    let mut query = db
        .query(sql)
        .bind(("region", region.to_string()))
        .bind(("after", after))
        .bind(("limit", limit + seen.len() as i64));
    for (k, v) in binds {
        query = query.bind((k, v));
    }
    let rows: Vec<ApplicantRow> = query
        .await?
        .take(0)
        .context("reading applicants to export")?;
    Ok(rows
        .into_iter()
        .filter(|r| !seen.contains(&r.id))
        .take_while(|r| until.is_none_or(|u| r.rank < u))
        .collect())
}

/// The newest and the oldest rank of the region's applicants (None when it has none): two
/// index reads, each stopping at its first entry.
pub async fn rank_bounds(
    db: &Db,
    field: ScopeField,
    region: &str,
) -> anyhow::Result<Option<(i64, i64)>> {
    let sql = format!(
        "SELECT VALUE rank FROM applicant WHERE {scope} ORDER BY rank LIMIT 1;
         SELECT VALUE rank FROM applicant WHERE {scope} ORDER BY rank DESC LIMIT 1;",
        scope = scope_sql(field)
    );
    let mut res = db
        .query(sql)
        .bind(("region", region.to_string()))
        .await
        .context("finding the region's rank bounds")?;
    let first: Vec<i64> = res.take(0)?;
    let last: Vec<i64> = res.take(1)?;
    Ok(first.first().copied().zip(last.first().copied()))
}

/// One applicant, only if it lies in the user's region.
pub async fn get(
    db: &Db,
    field: ScopeField,
    region: &str,
    id: &str,
) -> anyhow::Result<Option<ApplicantRow>> {
    let sql = format!(
        "SELECT {FIELDS} FROM type::record('applicant', $id) WHERE {}",
        scope_sql(field)
    );
    let rows: Vec<ApplicantRow> = db
        .query(sql)
        .bind(("id", id.to_string()))
        .bind(("region", region.to_string()))
        .await?
        .take(0)
        .context("reading an applicant")?;
    Ok(rows.into_iter().next())
}

/// The list an applicant belongs to, as far as the applicants' rules need it.
#[derive(Debug, Clone, SurrealValue)]
pub struct ListInfo {
    pub id: String,
    pub num: i64,
    /// draft | sent | received
    pub status: String,
}

impl ListInfo {
    /// The list came back from АИС «Рынок труда» for rework (manual §10).
    pub fn returned(&self) -> bool {
        self.status == "received"
    }
}

/// The lists with these record keys (missing ones are left out).
pub async fn lists_of(
    db: &Db,
    keys: &[String],
) -> anyhow::Result<std::collections::HashMap<String, ListInfo>> {
    let mut ids: Vec<surrealdb::types::RecordId> = keys
        .iter()
        .filter(|k| !k.is_empty())
        .map(|k| surrealdb::types::RecordId::new("list", k.as_str()))
        .collect();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<ListInfo> = db
        .query("SELECT record::id(id) AS id, num, status FROM $ids")
        .bind(("ids", ids))
        .await?
        .take(0)
        .context("reading the lists of applicants")?;
    Ok(rows.into_iter().map(|l| (l.id.clone(), l)).collect())
}

/// The list of one applicant, if it is in one.
pub async fn list_of(db: &Db, key: &str) -> anyhow::Result<Option<ListInfo>> {
    Ok(lists_of(db, &[key.to_string()]).await?.remove(key))
}

#[derive(Debug, SurrealValue)]
pub struct Owner {
    pub id: String,
    pub oblast: String,
    pub district: String,
    pub idem_key: String,
}

/// Who holds an IIN (any region): for the duplicate message and its link.
pub async fn by_iin(db: &Db, iin: &str) -> anyhow::Result<Option<Owner>> {
    let rows: Vec<Owner> = db
        .query("SELECT record::id(id) AS id, oblast, district, idem_key FROM applicant WHERE iin = $iin LIMIT 1")
        .bind(("iin", iin.to_string()))
        .await?
        .take(0)
        .context("finding an applicant by IIN")?;
    Ok(rows.into_iter().next())
}

async fn by_idem(db: &Db, key: &str) -> anyhow::Result<Option<String>> {
    if key.is_empty() {
        return Ok(None);
    }
    let rows: Vec<String> = db
        .query("SELECT VALUE record::id(id) FROM applicant WHERE idem_key = $key LIMIT 1")
        .bind(("key", key.to_string()))
        .await?
        .take(0)
        .context("finding an applicant by idempotency key")?;
    Ok(rows.into_iter().next())
}

pub enum Created {
    New(String),
    /// The same idempotency key was saved before: the saved applicant.
    Replayed(String),
    /// Another applicant holds this IIN.
    DuplicateIin(Owner),
}

/// How many additions were tried again after a write conflict since the process started.
/// Additions in flight together write no common key (migration 0015), so under any load this
/// stays near zero: two replays of one entry at the same instant, or two new words alike.
pub static CREATE_RETRIES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Counter records per region (migration 0015): an addition takes the next one in turn.
pub const COUNT_SHARDS: u64 = 16;

/// A region's total: the sum of its counter records, each read by its key (a point read finds
/// the newest version at once; a range read would walk every version still in the memtable).
static COUNT_SQL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| shard_sum("applicant_count:[$region"));

/// The sum of `n` over the counter records `{key_start}, 0]` … `{key_start}, 15]`, each fetched
/// by its id.
fn shard_sum(key_start: &str) -> String {
    let ids: Vec<String> = (0..COUNT_SHARDS)
        .map(|s| format!("{key_start}, {s}]"))
        .collect();
    format!("math::sum(SELECT VALUE n FROM [{}])", ids.join(", "))
}

/// Region totals read in the last second, kept in memory by the server (one per running
/// application, in its state): every page of the applicants tab shows its region's total, and
/// the 16 counter reads were about a third of a page's time in the store. The server forgets
/// them all on any addition, deletion or edit of an applicant it makes, so here they are exact;
/// a change made by another server sharing a remote database shows within a second.
#[derive(Default)]
pub struct Totals {
    generation: std::sync::atomic::AtomicU64,
    memory: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, i64)>>,
}

impl Totals {
    const TTL: std::time::Duration = std::time::Duration::from_secs(1);

    fn memory(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, (std::time::Instant, i64)>>
    {
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Read before the counters are: a total read while something changed is not kept.
    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn get(&self, region: &str) -> Option<i64> {
        let (at, n) = *self.memory().get(region)?;
        (at.elapsed() < Self::TTL).then_some(n)
    }

    fn put(&self, region: &str, generation: u64, n: i64) {
        let mut memory = self.memory();
        if generation != self.generation() {
            return;
        }
        if memory.len() > 10_000 {
            memory.clear();
        }
        memory.insert(region.to_string(), (std::time::Instant::now(), n));
    }

    /// After any addition, deletion or edit of an applicant, whatever its outcome.
    pub fn forget(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.memory().clear();
    }
}

/// The statement that reads a region's total (bound: `$region`).
pub fn count_sql() -> &'static str {
    &COUNT_SQL
}

/// The next addition's counter shard. Round robin, from a random start so that two server
/// processes sharing a remote database rarely walk in step.
fn next_count_shard() -> i64 {
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();
    let next = NEXT.get_or_init(|| std::sync::atomic::AtomicU64::new(rand::random::<u64>()));
    (next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % COUNT_SHARDS) as i64
}

/// Adds an applicant. The idempotency key is stored in the same record, and the unique IIN
/// index makes two concurrent replays of one entry create one applicant.
///
/// `audit`, when given, is written in the same transaction, its object the new applicant: an
/// addition is never without its entry, and costs one durable commit rather than two.
pub async fn create(
    db: &Db,
    a: &ValidApplicant,
    scope: &Scope,
    created_by: &str,
    idem_key: &str,
    audit: Option<&super::audit::Entry>,
) -> anyhow::Result<Created> {
    // Two replays of one entry at the same instant (the page and the service worker) can
    // collide in the store as a write conflict: try again, and the second attempt finds the
    // first one's applicant by its key.
    let mut attempt = 0u64;
    loop {
        match create_once(db, a, scope, created_by, idem_key, audit).await {
            Err(e) if attempt < 5 && super::is_write_conflict(&e) => {
                attempt += 1;
                CREATE_RETRIES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tracing::debug!(attempt, "an addition met a write conflict; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(5 * attempt)).await;
            }
            other => return other,
        }
    }
}

async fn create_once(
    db: &Db,
    a: &ValidApplicant,
    scope: &Scope,
    created_by: &str,
    idem_key: &str,
    audit: Option<&super::audit::Entry>,
) -> anyhow::Result<Created> {
    if let Some(id) = by_idem(db, idem_key).await? {
        return Ok(Created::Replayed(id));
    }
    let key = uuid::Uuid::now_v7().simple().to_string();
    let mut sql = String::from("BEGIN TRANSACTION;\n");
    sql.push_str(
        "CREATE type::record('applicant', $key) CONTENT {
                iin: $iin, last_name: $last_name, first_name: $first_name, middle_name: $middle_name,
                birth_date: $birth_date, gender: $gender, kato: $kato, oblast: $oblast, district: $district,
                street: $street, house: $house, flat: $flat,
                applicant_category: $applicant_category, employment_category: $employment_category,
                status: 'new', ais_reason: '', mg_reason: '', list: '', sent: false, version: 1,
                fio_search: $fio_search, created_at: time::now(), updated_at: time::now(),
                created_by: $created_by, idem_key: $idem_key
            } RETURN NONE;\n",
    );
    let audit = audit.map(|e| super::audit::Entry {
        object: format!("applicant:{key}"),
        ..e.clone()
    });
    if audit.is_some() {
        sql.push_str(super::audit::CREATE_SQL);
        sql.push_str(";\n");
    }
    sql.push_str("COMMIT TRANSACTION;");
    let mut query = db
        .query(sql)
        .bind(("key", key.clone()))
        .bind(("iin", a.iin.as_str().to_string()))
        .bind(("last_name", a.last_name.clone()))
        .bind(("first_name", a.first_name.clone()))
        .bind(("middle_name", a.middle_name.clone()))
        .bind(("birth_date", a.birth_date.format("%Y-%m-%d").to_string()))
        .bind(("gender", a.gender.code().to_string()))
        .bind(("kato", a.kato.clone()))
        .bind(("oblast", scope.oblast.clone()))
        .bind(("district", scope.district.clone()))
        .bind(("street", a.street.clone()))
        .bind(("house", a.house.clone()))
        .bind(("flat", a.flat.clone()))
        .bind(("applicant_category", a.applicant_category.clone()))
        .bind(("employment_category", a.employment_category.clone()))
        .bind(("fio_search", a.fio_search()))
        .bind(("created_by", created_by.to_string()))
        .bind(("idem_key", idem_key.to_string()))
        // Read by the counters' event (migration 0015), not by the statement.
        .bind(("count_shard", next_count_shard()));
    if let Some(e) = &audit {
        query = super::audit::bind(query, e);
    }
    let res = query
        .await
        .map_err(anyhow::Error::from)
        .and_then(super::all_errors);
    match res {
        Ok(_) => Ok(Created::New(key)),
        Err(e) if is_unique_violation(&e, "applicant_iin") => {
            // A concurrent replay of the same entry won the race: answer with its result.
            if let Some(id) = by_idem(db, idem_key).await? {
                return Ok(Created::Replayed(id));
            }
            match by_iin(db, a.iin.as_str()).await? {
                Some(owner) => Ok(Created::DuplicateIin(owner)),
                None => Err(e.context("creating an applicant")),
            }
        }
        Err(e) => Err(e.context("creating an applicant")),
    }
}

#[derive(Debug, Clone, SurrealValue)]
pub struct Change {
    pub applicant: String,
    pub by: String,
    pub field: String,
    pub old: String,
    pub new: String,
}

pub enum Updated {
    Ok,
    /// Someone saved first; nothing was written.
    Conflict,
    DuplicateIin(Owner),
}

/// Saves an edit if nobody saved since `version`, with its history, in one transaction.
#[allow(clippy::too_many_arguments)]
pub async fn update(
    db: &Db,
    field: ScopeField,
    region: &str,
    id: &str,
    version: i64,
    a: &ValidApplicant,
    scope: &Scope,
    status: &str,
    sent: bool,
    changes: Vec<Change>,
) -> anyhow::Result<Updated> {
    let sql = format!(
        "BEGIN TRANSACTION;
         LET $u = UPDATE type::record('applicant', $id) SET
            iin = $iin, last_name = $last_name, first_name = $first_name, middle_name = $middle_name,
            birth_date = $birth_date, gender = $gender, kato = $kato, oblast = $oblast, district = $district,
            street = $street, house = $house, flat = $flat,
            applicant_category = $applicant_category, employment_category = $employment_category,
            status = $status, mg_reason = $mg_reason, fio_search = $fio_search,
            version = version + 1, updated_at = time::now()
            WHERE version = $version AND sent = $sent AND {} RETURN VALUE id;
         IF array::len($u) = 0 {{ THROW 'version_conflict' }};
         FOR $c IN $changes {{ CREATE applicant_change CONTENT {{ applicant: $c.applicant, by: $c.by, field: $c.field, old: $c.old, new: $c.new, at: time::now() }}; }};
         COMMIT TRANSACTION;",
        scope_sql(field)
    );
    let res = db
        .query(sql)
        .bind(("id", id.to_string()))
        .bind(("region", region.to_string()))
        .bind(("version", version))
        .bind(("iin", a.iin.as_str().to_string()))
        .bind(("last_name", a.last_name.clone()))
        .bind(("first_name", a.first_name.clone()))
        .bind(("middle_name", a.middle_name.clone()))
        .bind(("birth_date", a.birth_date.format("%Y-%m-%d").to_string()))
        .bind(("gender", a.gender.code().to_string()))
        .bind(("kato", a.kato.clone()))
        .bind(("oblast", scope.oblast.clone()))
        .bind(("district", scope.district.clone()))
        .bind(("street", a.street.clone()))
        .bind(("house", a.house.clone()))
        .bind(("flat", a.flat.clone()))
        .bind(("applicant_category", a.applicant_category.clone()))
        .bind(("employment_category", a.employment_category.clone()))
        .bind(("status", status.to_string()))
        .bind(("mg_reason", a.mg_reason.clone()))
        .bind(("fio_search", a.fio_search()))
        .bind(("sent", sent))
        .bind(("changes", changes))
        .await
        .map_err(anyhow::Error::from)
        .and_then(super::all_errors);
    match res {
        Ok(_) => Ok(Updated::Ok),
        Err(e) if format!("{e:#}").contains("version_conflict") => Ok(Updated::Conflict),
        Err(e) if is_unique_violation(&e, "applicant_iin") => {
            match by_iin(db, a.iin.as_str()).await? {
                Some(owner) => Ok(Updated::DuplicateIin(owner)),
                None => Err(e.context("updating an applicant")),
            }
        }
        Err(e) => Err(e.context("updating an applicant")),
    }
}

/// Deletes an applicant never sent to АИС. Returns false when the rules refuse.
pub async fn delete(db: &Db, field: ScopeField, region: &str, id: &str) -> anyhow::Result<bool> {
    // An applicant of an unsent list leaves it: the list's member count follows, in the same
    // transaction.
    let sql = format!(
        "BEGIN TRANSACTION;
         LET $gone = DELETE type::record('applicant', $id) WHERE sent = false AND {} RETURN BEFORE;
         IF array::len($gone) = 0 {{ THROW 'not_deletable' }};
         IF $gone[0].list != '' {{
             UPDATE type::record('list', $gone[0].list) SET members = members - 1;
         }};
         COMMIT TRANSACTION;",
        scope_sql(field)
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
        Err(e) if format!("{e:#}").contains("not_deletable") => Ok(false),
        Err(e) => Err(e.context("deleting an applicant")),
    }
}

#[derive(Debug, Clone, SurrealValue)]
pub struct HistoryRow {
    pub at: DateTime<Utc>,
    pub by: String,
    pub field: String,
    pub old: String,
    pub new: String,
}

pub async fn history(db: &Db, id: &str) -> anyhow::Result<Vec<HistoryRow>> {
    let rows: Vec<HistoryRow> = db
        .query("SELECT at, by, field, old, new FROM applicant_change WHERE applicant = $id ORDER BY at DESC LIMIT 200")
        .bind(("id", id.to_string()))
        .await?
        .take(0)
        .context("reading an applicant's history")?;
    Ok(rows)
}
