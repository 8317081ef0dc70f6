//! The benchmark harness the project keeps (never timed tests).
//!
//!   cargo run --release --bin bench -- --applicants 1000000      # the national-scale run
//!   cargo run --release --bin bench -- --applicants 50000 --seconds 3   # a quick one
//!
//! 1. Seeds an embedded on-disk database straight through the store: valid IINs, Kazakh and
//!    Russian names, КАТО places over every region with a realistic skew (Astana holds 10 %),
//!    30 % of the applicants in lists that came back from АИС with results, and 10 000 new
//!    applicants in one district for the list-forming scenario. `--data DIR` keeps the seeded
//!    database for the next run (seeding 1 000 000 takes minutes).
//! 2. Measures the storage floor: the same store queries in-process against SurrealDB.
//! 3. Starts the real server binary (`talapker`, beside this one) on that database, times its
//!    cold start to a healthy /healthz, and drives it over loopback with `--clients` concurrent
//!    clients; the HTTP ceiling is a tiny static asset served by the same server.
//! 4. Prints one table: scenario, requests, p50, p99, max, throughput, the target and by how
//!    much it is missed, and the ratios to the floor and to the ceiling; then the server's peak
//!    RSS over the whole run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use base64::Engine;
use chrono::{DateTime, Utc};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use surrealdb::types::{RecordId, SurrealValue};
use talapker::config::Settings;
use talapker::domain::iin::{make_iin, Gender};
use talapker::domain::kato::{normalize_search, Dictionaries, ScopeField};
use talapker::domain::user::{hash_password, Role};
use talapker::store::{self, Db};

#[derive(Parser)]
#[command(
    about = "Talapker's benchmark harness: seeds, starts the server, measures, prints a table"
)]
struct Args {
    /// How many applicants the database holds.
    #[arg(long, default_value_t = 1_000_000)]
    applicants: usize,
    /// Concurrent HTTP clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds each throughput scenario runs.
    #[arg(long, default_value_t = 8)]
    seconds: u64,
    /// Keep the seeded database here and reuse it when it already holds this many applicants.
    #[arg(long)]
    data: Option<PathBuf>,
    /// SurrealKV block cache of the server, MiB.
    #[arg(long, default_value_t = 64)]
    db_cache_mb: u64,
    /// Seed (or check) the data set in --data and stop, measuring nothing: a copy of it then
    /// serves several runs that each start from the same store.
    #[arg(long)]
    seed_only: bool,
}

const ASTANA: &str = "710000000";
/// The district whose 10 000 new applicants are formed into one list.
const FORM_DISTRICT_OBLAST: &str = "100000000";
const BENCH_LOGIN: &str = "bench_mg";
const BENCH_IIN: &str = "941109450905";
const CALLBACK_TOKEN: &str = "bench-callback-token";
const FORM_BATCH: usize = 10_000;

/// Oblasts and cities with their share of applicants (per mille); the rest share equally.
const SKEW: &[(&str, u32)] = &[
    ("710000000", 100),
    ("750000000", 120),
    ("790000000", 70),
    ("610000000", 90),
];

const SURNAMES: &[(&str, &str)] = &[
    ("Ахметов", "Ахметова"),
    ("Жумабаев", "Жумабаева"),
    ("Сейткали", "Сейткали"),
    ("Касымов", "Касымова"),
    ("Нурланов", "Нурланова"),
    ("Омаров", "Омарова"),
    ("Искаков", "Искакова"),
    ("Тулегенов", "Тулегенова"),
    ("Абдрахманов", "Абдрахманова"),
    ("Иванов", "Иванова"),
    ("Ким", "Ким"),
    ("Серікбаев", "Серікбаева"),
    ("Бекмуратов", "Бекмуратова"),
    ("Кабылдинов", "Кабылдинова"),
    ("Есенов", "Есенова"),
    ("Мухамедиев", "Мухамедиева"),
    ("Туменбай", "Туменбай"),
    ("Шайкенов", "Шайкенова"),
    ("Байжанов", "Байжанова"),
    ("Жаншакимов", "Жаншакимова"),
    ("Васильев", "Васильева"),
    ("Токтаров", "Токтарова"),
    ("Дюсенгалиев", "Дюсенгалиева"),
    ("Нұрпейісов", "Нұрпейісова"),
];
const MALE: &[&str] = &[
    "Нурлан",
    "Ерлан",
    "Арман",
    "Данияр",
    "Асхат",
    "Бауыржан",
    "Ержан",
    "Айдос",
    "Куаныш",
    "Тимур",
    "Дмитрий",
    "Руслан",
    "Мирас",
    "Әлібек",
];
const FEMALE: &[&str] = &[
    "Айгерим",
    "Динара",
    "Гульнара",
    "Жанар",
    "Асель",
    "Айнур",
    "Мадина",
    "Камила",
    "Сауле",
    "Елена",
    "Аружан",
    "Томирис",
    "Жазира",
    "Әйгерім",
];
const PATRONYMICS: &[(&str, &str)] = &[
    ("Ерланович", "Ерлановна"),
    ("Серикович", "Сериковна"),
    ("Маратович", "Маратовна"),
    ("Болатұлы", "Болатқызы"),
    ("Андреевич", "Андреевна"),
    ("", ""),
];
const REASONS: &[&str] = &[
    "ИИН не найден в ГБД ФЛ",
    "ФИО не совпадает с данными ГБД ФЛ",
    "Претендент трудоустроен",
    "Некорректные данные",
];

#[derive(Debug, Clone, SurrealValue)]
struct SeedRow {
    id: RecordId,
    iin: String,
    last_name: String,
    first_name: String,
    middle_name: String,
    birth_date: String,
    gender: String,
    kato: String,
    oblast: String,
    district: String,
    street: String,
    house: String,
    flat: String,
    applicant_category: String,
    employment_category: String,
    status: String,
    ais_reason: String,
    mg_reason: String,
    list: String,
    sent: bool,
    version: i64,
    fio_search: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    created_by: String,
    idem_key: String,
    rank: i64,
}

/// Unique valid IINs, walking dates and serials.
struct IinSource {
    n: u64,
}

impl IinSource {
    fn next(&mut self, gender: Gender) -> String {
        loop {
            self.n += 1;
            let day = (self.n % 16_000) as i64;
            let serial = (self.n / 16_000) as u32;
            let date = chrono::NaiveDate::from_ymd_opt(1966, 1, 1).expect("date")
                + chrono::Duration::days(day);
            // One gender per (date, serial) keeps the numbers unique.
            let g = if serial % 2 == 0 {
                Gender::Female
            } else {
                Gender::Male
            };
            if g != gender && self.n % 3 != 0 {
                continue;
            }
            if let Some(iin) = make_iin(date, g, serial) {
                return iin.to_string();
            }
        }
    }
}

fn person(
    rng: &mut StdRng,
    iins: &mut IinSource,
) -> (String, String, String, String, String, String) {
    let male = rng.gen_bool(0.5);
    let iin = iins.next(if male { Gender::Male } else { Gender::Female });
    let parsed = talapker::domain::iin::Iin::parse(&iin).expect("valid");
    let male = parsed.gender() == Gender::Male;
    let (m, f) = SURNAMES[rng.gen_range(0..SURNAMES.len())];
    let (pm, pf) = PATRONYMICS[rng.gen_range(0..PATRONYMICS.len())];
    let (last, first, middle) = if male {
        (m, MALE[rng.gen_range(0..MALE.len())], pm)
    } else {
        (f, FEMALE[rng.gen_range(0..FEMALE.len())], pf)
    };
    (
        iin,
        last.to_string(),
        first.to_string(),
        middle.to_string(),
        parsed.birth_date().format("%Y-%m-%d").to_string(),
        parsed.gender().code().to_string(),
    )
}

struct Places {
    /// (oblast, its districts)
    oblasts: Vec<(String, Vec<String>, u32)>,
    /// The district that receives exactly FORM_BATCH new applicants.
    form_district: String,
}

fn places(dict: &Dictionaries, all: &[talapker::domain::kato::Place]) -> anyhow::Result<Places> {
    let mut oblasts: Vec<(String, Vec<String>, u32)> = Vec::new();
    for p in all.iter().filter(|p| p.level == "oblast") {
        let districts: Vec<String> = all
            .iter()
            .filter(|d| {
                d.oblast == p.code && d.level != "oblast" && dict.scope_of(&d.code).is_some()
            })
            .map(|d| d.code.clone())
            .collect();
        let weight = SKEW
            .iter()
            .find(|(c, _)| *c == p.code)
            .map(|(_, w)| *w)
            .unwrap_or(0);
        oblasts.push((
            p.code.clone(),
            if districts.is_empty() {
                vec![p.code.clone()]
            } else {
                districts
            },
            weight,
        ));
    }
    let rest: u32 = 1000 - SKEW.iter().map(|(_, w)| w).sum::<u32>();
    let others = oblasts.iter().filter(|o| o.2 == 0).count() as u32;
    for o in oblasts.iter_mut().filter(|o| o.2 == 0) {
        o.2 = (rest / others.max(1)).max(1);
    }
    let form = oblasts
        .iter_mut()
        .find(|o| o.0 == FORM_DISTRICT_OBLAST)
        .context("the list-forming oblast")?;
    let form_district = form.1.remove(0);
    Ok(Places {
        oblasts,
        form_district,
    })
}

fn pick<'a>(rng: &mut StdRng, places: &'a Places) -> &'a str {
    let total: u32 = places.oblasts.iter().map(|o| o.2).sum();
    let mut x = rng.gen_range(0..total);
    for (_, districts, w) in &places.oblasts {
        if x < *w {
            return &districts[rng.gen_range(0..districts.len())];
        }
        x -= w;
    }
    &places.oblasts[0].1[0]
}

#[allow(clippy::too_many_arguments)]
fn row(
    rng: &mut StdRng,
    iins: &mut IinSource,
    dict: &Dictionaries,
    kato: &str,
    list: &str,
    status: &str,
    reason: &str,
) -> SeedRow {
    let (iin, last, first, middle, birth, gender) = person(rng, iins);
    let scope = dict.scope_of(kato).expect("a known place");
    let created = Utc::now() - chrono::Duration::seconds(rng.gen_range(0..365 * 86_400));
    let fio = talapker::domain::applicant::fio(&last, &first, &middle);
    SeedRow {
        id: RecordId::new("applicant", uuid::Uuid::new_v4().simple().to_string()),
        iin,
        fio_search: normalize_search(&fio),
        last_name: last,
        first_name: first,
        middle_name: middle,
        birth_date: birth,
        gender,
        kato: kato.to_string(),
        oblast: scope.oblast,
        district: scope.district,
        street: "Сейфуллина".into(),
        house: rng.gen_range(1..200).to_string(),
        flat: rng.gen_range(1..300).to_string(),
        applicant_category: "grad11".into(),
        employment_category: "unemployed".into(),
        status: status.into(),
        ais_reason: reason.into(),
        mg_reason: String::new(),
        list: list.into(),
        sent: !list.is_empty(),
        version: 1,
        created_at: created,
        updated_at: created,
        created_by: "bench".into(),
        idem_key: String::new(),
        rank: -created.timestamp_nanos_opt().expect("a date in range"),
    }
}

/// A posting of the ФИО search index (`migrations/0012_fio_index.surql`).
#[derive(SurrealValue)]
struct PostRow {
    id: RecordId,
    oblast: String,
    word: String,
    rank: i64,
    district: String,
}

/// A record with only a key (the index's dictionary and suffixes).
#[derive(SurrealValue)]
struct KeyRow {
    id: RecordId,
}

#[derive(SurrealValue)]
struct CountRow {
    id: RecordId,
    n: i64,
}

fn array_key(parts: Vec<surrealdb::types::Value>) -> surrealdb::types::RecordIdKey {
    surrealdb::types::Array::from(parts).into()
}

/// What the `applicant_index` event (`migrations/0017`) would write for these rows, in one pass:
/// the ФИО postings (each oblast's words are counted in `words`; the dictionary and the word
/// counters are written once at the end), the IIN-by-oblast records and the word-set records.
struct IndexRecords {
    posts: Vec<PostRow>,
    iins: Vec<KeyRow>,
    combos: Vec<KeyRow>,
}

fn index_records(rows: &[SeedRow], words: &mut WordCounts) -> IndexRecords {
    use surrealdb::types::Value;
    let mut out = IndexRecords {
        posts: Vec::with_capacity(rows.len() * 3),
        iins: Vec::with_capacity(rows.len()),
        combos: Vec::with_capacity(rows.len() * 4),
    };
    for r in rows {
        let surrealdb::types::RecordIdKey::String(key) = &r.id.key else {
            continue;
        };
        let keyed = |table: &str, middle: Value, rank: bool| {
            let mut parts = vec![Value::String(r.oblast.clone()), middle];
            if rank {
                parts.push(Value::Number(r.rank.into()));
            }
            parts.push(Value::String(key.clone()));
            RecordId::new(table, array_key(parts))
        };
        for w in talapker::domain::kato::fio_words(&r.fio_search) {
            *words.entry((r.oblast.clone(), w.clone())).or_default() += 1;
            out.posts.push(PostRow {
                id: keyed("fio_post", Value::String(w.clone()), true),
                oblast: r.oblast.clone(),
                word: w,
                rank: r.rank,
                district: r.district.clone(),
            });
        }
        for c in talapker::domain::kato::fio_combos(&r.fio_search) {
            out.combos.push(KeyRow {
                id: keyed("fio_combo", Value::String(c), true),
            });
        }
        out.iins.push(KeyRow {
            id: keyed("iin_at", Value::String(r.iin.clone()), false),
        });
    }
    out
}

/// How many applicants of an oblast hold a word: (oblast, word) → n.
type WordCounts = std::collections::BTreeMap<(String, String), i64>;

async fn insert(db: &Db, rows: Vec<SeedRow>, words: &mut WordCounts) -> anyhow::Result<()> {
    // OPTION IMPORT: no events while seeding; the region counters and the ФИО index's
    // dictionary and word counters are written at the end, its postings, word sets and IIN
    // records here.
    let IndexRecords {
        posts,
        iins,
        combos,
    } = index_records(&rows, words);
    db.query("OPTION IMPORT; INSERT INTO applicant $rows RETURN NONE; INSERT INTO fio_post $posts RETURN NONE;
              INSERT INTO iin_at $iins RETURN NONE; INSERT INTO fio_combo $combos RETURN NONE;")
        .bind(("rows", rows))
        .bind(("posts", posts))
        .bind(("iins", iins))
        .bind(("combos", combos))
        .await?
        .check()
        .context("seeding applicants")?;
    Ok(())
}

/// The ФИО index's dictionary (every word and every suffix of it) and its word counters, one
/// record per oblast and word (shard 0).
async fn insert_dictionary(db: &Db, counts: &WordCounts) -> anyhow::Result<()> {
    use surrealdb::types::Value;
    let words: std::collections::BTreeSet<&String> = counts.keys().map(|(_, w)| w).collect();
    let counters: Vec<CountRow> = counts
        .iter()
        .map(|((oblast, w), n)| CountRow {
            id: RecordId::new(
                "fio_count",
                array_key(vec![
                    Value::String(oblast.clone()),
                    Value::String(w.clone()),
                    Value::Number(0.into()),
                ]),
            ),
            n: *n,
        })
        .collect();
    let dict: Vec<KeyRow> = words
        .iter()
        .map(|w| KeyRow {
            id: RecordId::new("fio_dict", w.as_str()),
        })
        .collect();
    let mut sfx = Vec::new();
    for w in words {
        for (i, _) in w.char_indices() {
            sfx.push(KeyRow {
                id: RecordId::new(
                    "fio_sfx",
                    array_key(vec![
                        Value::String(w[i..].to_string()),
                        Value::String(w.to_string()),
                    ]),
                ),
            });
        }
    }
    db.query("OPTION IMPORT; INSERT IGNORE INTO fio_dict $dict RETURN NONE; INSERT IGNORE INTO fio_sfx $sfx RETURN NONE;
              INSERT INTO fio_count $counters RETURN NONE;")
        .bind(("dict", dict))
        .bind(("sfx", sfx))
        .bind(("counters", counters))
        .await?
        .check()
        .context("seeding the ФИО index's dictionary")?;
    Ok(())
}

async fn create_list(
    db: &Db,
    id: &str,
    num: i64,
    kato: &str,
    members: i64,
    status: &str,
    dict: &Dictionaries,
) -> anyhow::Result<()> {
    let scope = dict.scope_of(kato).context("place")?;
    db.query(
        "CREATE type::record('list', $id) CONTENT { num: $num, region: $region, oblast: $oblast, district: $district,
            note: 'bench', status: $status, members: $members, created_at: time::now(), created_by: 'bench',
            status_changed_at: time::now(), status_changed_by: 'bench', signed: IF $status = 'draft' THEN 0 ELSE 1 END }",
    )
    .bind(("id", id.to_string()))
    .bind(("num", num))
    .bind(("region", scope.oblast.clone()))
    .bind(("oblast", scope.oblast))
    .bind(("district", scope.district))
    .bind(("status", status.to_string()))
    .bind(("members", members))
    .await?
    .check()
    .context("creating a list")?;
    Ok(())
}

/// Seeds `n` applicants (plus the list-forming district's batch) and the accounts.
async fn seed(
    db: &Db,
    dict: &Dictionaries,
    all: &[talapker::domain::kato::Place],
    n: usize,
) -> anyhow::Result<()> {
    let places = places(dict, all)?;
    let mut rng = StdRng::seed_from_u64(2026);
    let mut iins = IinSource { n: 0 };
    let started = Instant::now();
    let mut made = 0usize;
    let mut list_num = 0i64;
    let mut words = WordCounts::new();
    // 30 % in lists of 500 returned from АИС: each list in one district.
    while made < n {
        let in_list = rng.gen_bool(0.3);
        let kato = pick(&mut rng, &places).to_string();
        let size = if in_list { 500 } else { 2_000 }.min(n - made);
        let list = if in_list {
            list_num += 1;
            let id = uuid::Uuid::now_v7().simple().to_string();
            create_list(db, &id, list_num, &kato, size as i64, "received", dict).await?;
            id
        } else {
            String::new()
        };
        let mut rows = Vec::with_capacity(size);
        for _ in 0..size {
            let kato = if in_list {
                kato.clone()
            } else {
                pick(&mut rng, &places).to_string()
            };
            let (status, reason) = if in_list {
                if rng.gen_bool(0.8) {
                    ("passed", "")
                } else {
                    ("failed", REASONS[rng.gen_range(0..REASONS.len())])
                }
            } else {
                ("new", "")
            };
            rows.push(row(&mut rng, &mut iins, dict, &kato, &list, status, reason));
        }
        insert(db, rows, &mut words).await?;
        made += size;
        if made % 100_000 < size {
            eprintln!(
                "  seeded {made} applicants in {:.0} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    // The district whose new applicants are formed into one list.
    for _ in 0..FORM_BATCH / 2_000 {
        let rows = (0..2_000)
            .map(|_| {
                row(
                    &mut rng,
                    &mut iins,
                    dict,
                    &places.form_district,
                    "",
                    "new",
                    "",
                )
            })
            .collect();
        insert(db, rows, &mut words).await?;
    }
    insert_dictionary(db, &words).await?;
    talapker::startup::create_demo_accounts(db).await?;
    store::users::create(
        db,
        store::users::NewUser {
            login: BENCH_LOGIN,
            full_name: "Бенчмарков Арман",
            iin: BENCH_IIN,
            role: Role::MobileGroup,
            region: &places.form_district,
            password_hash: hash_password("demo")?,
        },
    )
    .await?;
    db.query(
        "DELETE applicant_count;
         FOR $g IN (SELECT oblast, count() AS n FROM applicant GROUP BY oblast) {
             CREATE type::record('applicant_count', [$g.oblast, 0]) CONTENT { region: $g.oblast, n: $g.n };
         };
         FOR $g IN (SELECT district, count() AS n FROM applicant WHERE district != '' GROUP BY district) {
             CREATE type::record('applicant_count', [$g.district, 0]) CONTENT { region: $g.district, n: $g.n };
         };",
    )
    .await?
    .check()
    .context("counting the regions")?;
    db.query("UPSERT type::record('counter', 'lists') SET value = $n")
        .bind(("n", list_num))
        .await?
        .check()?;
    db.query("UPSERT type::record('meta', 'bench') CONTENT { applicants: $n, form_district: $d }")
        .bind(("n", n as i64))
        .bind(("d", places.form_district.clone()))
        .await?
        .check()?;
    eprintln!(
        "  seeded {} applicants in {:.0} s",
        n + FORM_BATCH,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

// ---- Measuring ----

#[derive(Default, Clone)]
struct Stats {
    latencies: Vec<Duration>,
    elapsed: Duration,
    errors: u64,
}

impl Stats {
    /// One timed operation (forming, exporting, signing, ingesting).
    fn once(took: Duration, ok: bool) -> Stats {
        Stats {
            latencies: vec![took],
            elapsed: took,
            errors: u64::from(!ok),
        }
    }

    fn pct(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut v = self.latencies.clone();
        v.sort();
        v[((v.len() as f64 - 1.0) * p).round() as usize]
    }
    fn max(&self) -> Duration {
        self.latencies.iter().max().copied().unwrap_or_default()
    }
    fn throughput(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Runs `op` from `clients` tasks for `seconds`; op gets (client index, iteration).
async fn drive<F, Fut>(clients: usize, seconds: u64, op: F) -> Stats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            let mut i = 0;
            while Instant::now() < deadline {
                let t = Instant::now();
                let ok = op(c, i).await;
                lat.push(t.elapsed());
                if !ok {
                    errors += 1;
                }
                i += 1;
            }
            (lat, errors)
        }));
    }
    let mut stats = Stats::default();
    for t in tasks {
        if let Ok((lat, errors)) = t.await {
            stats.latencies.extend(lat);
            stats.errors += errors;
        }
    }
    stats.elapsed = started.elapsed();
    stats
}

/// Runs `op` `n` times in sequence (the in-process floor).
async fn floor<F, Fut>(n: usize, op: F) -> Stats
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let started = Instant::now();
    let mut stats = Stats::default();
    for i in 0..n {
        let t = Instant::now();
        if op(i as u64).await.is_err() {
            stats.errors += 1;
        }
        stats.latencies.push(t.elapsed());
    }
    stats.elapsed = started.elapsed();
    stats
}

fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
            })
        })
        .unwrap_or(0)
        * 1024
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(data: &Path, port: u16, cache_mb: u64) -> anyhow::Result<Server> {
    let bin = std::env::current_exe()?.with_file_name("talapker");
    if !bin.exists() {
        bail!(
            "{} is missing: build it with `cargo build --release --bins`",
            bin.display()
        );
    }
    // The server's warnings and errors, for a look after the run.
    let log = std::fs::File::create(data.join("server.log")).context("creating server.log")?;
    let child = Command::new(&bin)
        .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data)
        .args(["--log", "warn", "--no-demo-pki", "--trust-dir"])
        .arg(data.join("pki").join("trust"))
        .args([
            "--ais-url",
            "http://127.0.0.1:9",
            "--ais-token",
            "bench",
            "--ais-callback-token",
            CALLBACK_TOKEN,
        ])
        .args(["--db-cache-mb", &cache_mb.to_string()])
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    Ok(Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
    })
}

fn csrf_of(html: &str) -> Option<String> {
    let marker = "name=\"csrf_token\" value=\"";
    let i = html.find(marker)? + marker.len();
    Some(html[i..].split('"').next()?.to_string())
}

async fn sign_in(base: &str, login: &str) -> anyhow::Result<(reqwest::Client, String)> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(4)
        .build()?;
    let page = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let token = csrf_of(&page).context("csrf")?;
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("login", login),
            ("password", "demo"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await?;
    if r.status() != 303 {
        bail!("sign-in of {login}: {}", r.status());
    }
    let page = client
        .get(format!("{base}/cabinet/applicants?iin=0"))
        .send()
        .await?
        .text()
        .await?;
    Ok((client, csrf_of(&page).context("csrf")?))
}

struct Line {
    name: String,
    /// The server's peak RSS so far, when the scenario ended.
    peak_rss: u64,
    stats: Stats,
    floor: Option<Stats>,
    /// (p99 limit ms, throughput minimum) when targets exist.
    target: String,
    missed: Option<String>,
}

fn check(p99_limit_ms: Option<f64>, min_rps: Option<f64>, s: &Stats) -> (String, Option<String>) {
    let mut target = Vec::new();
    let mut missed = Vec::new();
    if let Some(l) = p99_limit_ms {
        target.push(format!("p99 < {l} ms"));
        let p99 = s.pct(0.99).as_secs_f64() * 1000.0;
        if p99 >= l {
            missed.push(format!("p99 {:.1}× over", p99 / l));
        }
    }
    if let Some(r) = min_rps {
        target.push(format!("> {r} req/s"));
        if s.throughput() <= r {
            missed.push(format!(
                "throughput at {:.0} % of it",
                100.0 * s.throughput() / r
            ));
        }
    }
    (
        target.join(", "),
        (!missed.is_empty()).then(|| missed.join("; ")),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BENCH_LOG")
                .unwrap_or_else(|_| "error".into()),
        )
        .init();
    let tmp;
    let data = match &args.data {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let mut settings = Settings::for_tests(data.clone());
    settings.db = Some(format!("surrealkv://{}", data.join("db").display()));
    settings.db_cache_mb = args.db_cache_mb;

    // 1. Seed (or reuse), 2. the storage floor, in-process.
    let floors;
    {
        let db = store::connect(&settings).await?;
        store::migrate(&db, &store::embedded_migrations()).await?;
        let dict = store::dictionaries::load(&db).await?;
        let seeded: Option<i64> = db
            .query("(SELECT VALUE applicants FROM type::record('meta', 'bench'))[0]")
            .await?
            .take(0)
            .unwrap_or(None);
        if seeded != Some(args.applicants as i64) {
            if seeded.is_some() {
                bail!(
                    "{} holds another data set; use an empty --data directory",
                    data.display()
                );
            }
            eprintln!(
                "seeding {} applicants into {} …",
                args.applicants,
                data.display()
            );
            let all = dict.places.clone();
            seed(&db, &dict, &all, args.applicants).await?;
            let users = [(BENCH_LOGIN, "Бенчмарков Арман", BENCH_IIN)];
            talapker::signing::pki::write_demo_pki(&data.join("pki"), &users, "demo1234")?;
            if args.seed_only {
                return Ok(());
            }
        } else if args.seed_only {
            eprintln!(
                "{} already holds the {} applicants",
                data.display(),
                args.applicants
            );
            return Ok(());
        } else {
            eprintln!(
                "reusing the {} applicants in {}",
                args.applicants,
                data.display()
            );
            // Undo what the last run changed: its added applicants (born in 2010), and the list
            // formed, signed and answered in the list-forming district.
            let d: Option<String> = db
                .query("(SELECT VALUE form_district FROM type::record('meta', 'bench'))[0]")
                .await?
                .take(0)?;
            let d = d.context("the bench metadata")?;
            db.query(
                "DELETE applicant WHERE iin >= '100101' AND iin < '101232' RETURN NONE;
                 LET $lists = SELECT VALUE record::id(id) FROM list WHERE district = $d;
                 DELETE list_version WHERE list IN $lists;
                 DELETE outbox WHERE list IN $lists;
                 DELETE list WHERE district = $d;
                 UPDATE applicant SET list = '', status = 'new', sent = false, ais_reason = '' WHERE district = $d RETURN NONE;",
            )
            .bind(("d", d))
            .await?
            .check()
            .context("resetting the last run")?;
        }
        let sample: Vec<String> = db
            .query("SELECT VALUE iin FROM applicant WHERE oblast = $r LIMIT 500")
            .bind(("r", ASTANA))
            .await?
            .take(0)?;
        let field = ScopeField::Oblast;
        let all = store::applicants::Search::default();
        let db2 = db.clone();
        let tab = floor(200, |_| {
            let db = db2.clone();
            let all = all.clone();
            async move {
                store::applicants::page(&db, field, ASTANA, &all, 0, 20)
                    .await
                    .map(|_| ())
            }
        })
        .await;
        let sample2 = sample.clone();
        let iin = floor(200, |i| {
            let db = db.clone();
            let q = sample2[i as usize % sample2.len()][..6].to_string();
            async move {
                let s = store::applicants::Search {
                    fio: vec![],
                    iin: Some(q),
                };
                store::applicants::page(&db, field, ASTANA, &s, 0, 20)
                    .await
                    .map(|_| ())
            }
        })
        .await;
        let skip_fio = std::env::var_os("BENCH_SKIP_FIO").is_some();
        let fio = floor(if skip_fio { 0 } else { 50 }, |i| {
            let db = db.clone();
            let w = normalize_search(
                &SURNAMES[i as usize % SURNAMES.len()]
                    .0
                    .chars()
                    .take(5)
                    .collect::<String>(),
            );
            async move {
                let s = store::applicants::Search {
                    fio: vec![w],
                    iin: None,
                };
                store::applicants::page(&db, field, ASTANA, &s, 0, 20)
                    .await
                    .map(|_| ())
            }
        })
        .await;
        floors = (tab, iin, fio);
        drop(db);
        // The embedded store's lock outlives the handle for a moment.
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }

    // 3. The server: cold start, then the scenarios over HTTP.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    // The in-process store may hold its file lock for a while after the handle is gone: a
    // server that exits on it is started again; the cold start is the start that came up.
    let (server, cold) = {
        let mut tries = 0;
        loop {
            let mut server = start_server(&data, port, args.db_cache_mb)?;
            let t = Instant::now();
            let mut up = None;
            while t.elapsed() < Duration::from_secs(120) {
                if server.child.try_wait()?.is_some() {
                    break;
                }
                if let Ok(r) = reqwest::Client::new()
                    .get(format!("{}/healthz", server.base))
                    .send()
                    .await
                {
                    if r.status() == 200 {
                        up = Some(t.elapsed());
                        break;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            match up {
                Some(cold) => break (server, cold),
                None if tries < 60 => {
                    tries += 1;
                    drop(server);
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                None => bail!("the server did not start"),
            }
        }
    };
    let pid = server.child.id();
    let rss_at_start = rss_of(pid);
    let peak = Arc::new(AtomicU64::new(rss_at_start));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_of(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let base = server.base.clone();
    let mut sessions = Vec::new();
    for _ in 0..args.clients {
        sessions.push(sign_in(&base, "mg_admin").await?);
    }
    let sessions = Arc::new(sessions);
    let sample: Arc<Vec<String>> = {
        let (c, _) = &sessions[0];
        let html = c
            .get(format!("{base}/cabinet/applicants"))
            .send()
            .await?
            .text()
            .await?;
        let mut v = Vec::new();
        let mut rest = html.as_str();
        while let Some(i) = rest.find("class=\"mono\">") {
            rest = &rest[i + 13..];
            v.push(rest[..12].to_string());
        }
        Arc::new(v)
    };
    let mut lines = Vec::new();

    // The HTTP ceiling: a tiny static asset.
    let s = sessions.clone();
    let b = base.clone();
    let ceiling = drive(args.clients, args.seconds, move |c, _| {
        let (client, _) = s[c].clone();
        let url = format!("{b}/static/icons/icon.svg");
        async move {
            client
                .get(url)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200)
        }
    })
    .await;
    let ceiling_peak = peak.load(Ordering::Relaxed);

    let s = sessions.clone();
    let b = base.clone();
    let stats = drive(args.clients, args.seconds, move |c, _| {
        let (client, _) = s[c].clone();
        let url = format!("{b}/cabinet/applicants");
        async move {
            match client
                .get(url)
                .header("HX-Request", "true")
                .header("HX-Target", "applicant-table")
                .send()
                .await
            {
                Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    let (target, missed) = check(Some(25.0), Some(1500.0), &stats);
    lines.push(Line {
        peak_rss: peak.load(Ordering::Relaxed),
        name: "applicants tab fragment, page 1 (Astana)".into(),
        stats,
        floor: Some(floors.0.clone()),
        target,
        missed,
    });

    let s = sessions.clone();
    let b = base.clone();
    let smp = sample.clone();
    let stats = drive(args.clients, args.seconds, move |c, i| {
        let (client, _) = s[c].clone();
        let q = smp
            .get((c * 7 + i as usize) % smp.len().max(1))
            .map(|x| x[..6].to_string())
            .unwrap_or_else(|| "900101".into());
        let url = format!("{b}/cabinet/applicants?iin={q}");
        async move {
            match client
                .get(url)
                .header("HX-Request", "true")
                .header("HX-Target", "applicant-table")
                .send()
                .await
            {
                Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    let (target, missed) = check(Some(25.0), None, &stats);
    lines.push(Line {
        peak_rss: peak.load(Ordering::Relaxed),
        name: "search by IIN prefix (6 digits)".into(),
        stats,
        floor: Some(floors.1.clone()),
        target,
        missed,
    });

    let s = sessions.clone();
    let b = base.clone();
    let fio_seconds = if std::env::var_os("BENCH_SKIP_FIO").is_some() {
        0
    } else {
        args.seconds
    };
    let stats = drive(args.clients, fio_seconds, move |c, i| {
        let (client, _) = s[c].clone();
        let part: String = SURNAMES[(c + i as usize) % SURNAMES.len()]
            .0
            .chars()
            .take(5)
            .collect();
        let url = format!("{b}/cabinet/applicants?fio={}", urlencode(&part));
        async move {
            match client
                .get(url)
                .header("HX-Request", "true")
                .header("HX-Target", "applicant-table")
                .send()
                .await
            {
                Ok(r) => r.status() == 200 && r.bytes().await.is_ok(),
                Err(_) => false,
            }
        }
    })
    .await;
    let (target, missed) = check(Some(50.0), None, &stats);
    lines.push(Line {
        peak_rss: peak.load(Ordering::Relaxed),
        name: "search by part of a surname (Astana)".into(),
        stats,
        floor: Some(floors.2.clone()),
        target,
        missed,
    });

    // Adding applicants: durable commits.
    let s = sessions.clone();
    let b = base.clone();
    let counter = Arc::new(AtomicU64::new(0));
    let stats = drive(args.clients, args.seconds, move |c, _| {
        let (client, token) = s[c].clone();
        let k = counter.fetch_add(1, Ordering::SeqCst);
        let url = format!("{b}/cabinet/applicants");
        async move {
            let date = chrono::NaiveDate::from_ymd_opt(2010, 1, 1).expect("date")
                + chrono::Duration::days((k % 300) as i64);
            // Born in 2010 (the seed stops in 2009): a day per k % 300, serials in blocks of 10 per k / 300.
            let Some(iin) = (0..10)
                .find_map(|s| make_iin(date, Gender::Female, ((k / 300) as u32 * 10 + s) % 10_000))
            else {
                return false;
            };
            let iin = iin.to_string();
            let birth = date.format("%d.%m.%Y").to_string();
            let form = [
                ("iin", iin.as_str()),
                ("last_name", "Жаңаева"),
                ("first_name", "Айым"),
                ("middle_name", ""),
                ("birth_date", birth.as_str()),
                ("gender", "female"),
                ("kato", "711310000"),
                ("street", "Абая"),
                ("house", "1"),
                ("flat", ""),
                ("applicant_category", "grad11"),
                ("employment_category", "unemployed"),
                ("csrf_token", token.as_str()),
            ];
            match client.post(url).form(&form).send().await {
                Ok(r) if r.status() == 303 => true,
                Ok(r) => {
                    if std::env::var_os("BENCH_DEBUG").is_some() {
                        eprintln!(
                            "add applicant {iin}: {} {}",
                            r.status(),
                            r.text()
                                .await
                                .unwrap_or_default()
                                .chars()
                                .take(300)
                                .collect::<String>()
                        );
                    }
                    false
                }
                Err(_) => false,
            }
        }
    })
    .await;
    let (target, missed) = check(Some(50.0), Some(400.0), &stats);
    lines.push(Line {
        peak_rss: peak.load(Ordering::Relaxed),
        name: "add applicant (durable commit)".into(),
        stats,
        floor: None,
        target,
        missed,
    });

    // Forming a list of the district's 10 000 new applicants.
    let (bench, bench_token) = sign_in(&base, BENCH_LOGIN).await?;
    let t = Instant::now();
    let r = bench
        .post(format!("{base}/cabinet/lists/new"))
        .form(&[("note", "бенчмарк"), ("csrf_token", bench_token.as_str())])
        .send()
        .await?;
    let took = t.elapsed();
    let formed = r.status() == 303;
    let stats = Stats::once(took, formed);
    let (target, missed) = limit("< 2 s", took, Duration::from_secs(2));
    lines.push(Line {
        peak_rss: peak.load(Ordering::Relaxed),
        name: "form a list of 10 000 new applicants".into(),
        stats,
        floor: None,
        target,
        missed,
    });

    // Excel export of a 100 000-row result (the Astana tab).
    let before = rss_of(pid);
    let export_peak = Arc::new(AtomicU64::new(before));
    let export_stop = Arc::new(AtomicBool::new(false));
    let export_sampler = {
        let (p, st) = (export_peak.clone(), export_stop.clone());
        tokio::spawn(async move {
            while !st.load(Ordering::Relaxed) {
                p.fetch_max(rss_of(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let (client, _) = sessions[0].clone();
    let t = Instant::now();
    let resp = client
        .get(format!("{base}/cabinet/applicants/export.xlsx"))
        .send()
        .await?;
    let ok = resp.status() == 200;
    let bytes = resp.bytes().await?.len();
    let took = t.elapsed();
    export_stop.store(true, Ordering::Relaxed);
    let _ = export_sampler.await;
    let growth = export_peak.load(Ordering::Relaxed).saturating_sub(before);
    let stats = Stats::once(took, ok);
    let (mut target, mut missed) = limit("< 3 s", took, Duration::from_secs(3));
    target.push_str(", RSS growth < 64 MB");
    if growth >= 64 * 1024 * 1024 {
        let m = format!("RSS growth {} MiB", growth / 1024 / 1024);
        missed = Some(missed.map(|x| format!("{x}; {m}")).unwrap_or(m));
    }
    let export_name = format!(
        "Excel export ({:.1} MiB, +{} MiB RSS)",
        bytes as f64 / 1048576.0,
        growth / 1024 / 1024
    );
    lines.push(Line {
        peak_rss: peak.load(Ordering::Relaxed),
        name: export_name,
        stats,
        floor: None,
        target,
        missed,
    });

    // Signing the 10 000 list and ingesting АИС results for it.
    let html = bench
        .get(format!("{base}/cabinet/lists"))
        .send()
        .await?
        .text()
        .await?;
    let list = html
        .find("id=\"list-")
        .map(|i| {
            html[i + 9..]
                .split('"')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .context("the formed list")?;
    let payload = bench
        .get(format!("{base}/cabinet/lists/{list}/payload"))
        .send()
        .await?
        .bytes()
        .await?;
    let key = talapker::signing::pki::read_pkcs12(
        &std::fs::read(data.join("pki/keys/AUTH_RSA256_bench_mg.p12"))?,
        "demo1234",
    )?;
    let cms = talapker::signing::pki::sign_cms(&key, &payload, &Default::default())?;
    let t = Instant::now();
    let r = bench
        .post(format!("{base}/cabinet/lists/{list}/sign"))
        .header("X-CSRF-Token", &bench_token)
        .json(&serde_json::json!({"version": 1, "signature": base64::engine::general_purpose::STANDARD.encode(cms)}))
        .send()
        .await?;
    if r.status() != 200 {
        bail!(
            "signing the benchmark list: {} {}",
            r.status(),
            r.text().await?
        );
    }
    // No target: its line shows what the signature's check and the version's record cost,
    // apart from the results.
    let took = t.elapsed();
    lines.push(Line {
        peak_rss: peak.load(Ordering::Relaxed),
        name: "sign and send the list of 10 000 (no target)".into(),
        stats: Stats::once(took, true),
        floor: None,
        target: String::new(),
        missed: None,
    });
    let parsed: talapker::ais::ListPayload = serde_json::from_slice(&payload)?;
    let results = talapker::ais::Results {
        result_id: format!("bench-{list}"),
        package_id: String::new(),
        list_id: list.clone(),
        version: 1,
        verdicts: parsed
            .applicants
            .iter()
            .enumerate()
            .map(|(i, a)| talapker::ais::Verdict {
                applicant_id: a.id.clone(),
                iin: a.iin.clone(),
                passed: i % 4 != 0,
                reason: if i % 4 == 0 {
                    "ИИН не найден в ГБД ФЛ".into()
                } else {
                    String::new()
                },
            })
            .collect(),
    };
    // АИС answers with the package id of the signed version.
    let results = with_package(results, &bench, &base).await?;
    let t = Instant::now();
    let r = reqwest::Client::new()
        .post(format!("{base}/api/ais/results"))
        .bearer_auth(CALLBACK_TOKEN)
        .json(&results)
        .send()
        .await?;
    let took = t.elapsed();
    let ok = r.status() == 200;
    if !ok {
        eprintln!(
            "results: {} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
    }
    let stats = Stats::once(took, ok);
    let (target, missed) = limit("< 5 s", took, Duration::from_secs(5));
    lines.push(Line {
        peak_rss: peak.load(Ordering::Relaxed),
        name: "ingest АИС results for 10 000 applicants".into(),
        stats,
        floor: None,
        target,
        missed,
    });

    stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let peak = peak.load(Ordering::Relaxed);

    // 4. The table.
    println!();
    println!(
        "{} applicants, {} clients, {} s per scenario; server: {}",
        args.applicants,
        args.clients,
        args.seconds,
        std::env::consts::ARCH
    );
    println!();
    println!("| scenario | requests | errors | p50 ms | p99 ms | max ms | req/s | target | missed by | floor p50 ms | × floor | × ceiling p50 | peak RSS so far MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| HTTP ceiling: a tiny static asset | {} | {} | {} | {} | {} | {:.0} | | | | | 1.0 | {} |",
        ceiling.latencies.len(),
        ceiling.errors,
        ms(ceiling.pct(0.5)),
        ms(ceiling.pct(0.99)),
        ms(ceiling.max()),
        ceiling.throughput(),
        ceiling_peak / 1024 / 1024
    );
    for l in &lines {
        let (floor_p50, x_floor) = match &l.floor {
            Some(f) => (
                ms(f.pct(0.5)),
                format!(
                    "{:.1}",
                    l.stats.pct(0.5).as_secs_f64() / f.pct(0.5).as_secs_f64().max(1e-9)
                ),
            ),
            None => (String::new(), String::new()),
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {:.1} | {} |",
            l.name,
            l.stats.latencies.len(),
            l.stats.errors,
            ms(l.stats.pct(0.5)),
            ms(l.stats.pct(0.99)),
            ms(l.stats.max()),
            l.stats.throughput(),
            l.target,
            // A request that failed is never a target met, however fast it failed.
            match (&l.missed, l.target.is_empty(), l.stats.errors) {
                (Some(m), _, 0) => m.clone(),
                (Some(m), _, e) => format!("{m}; {e} errors"),
                (None, _, e) if e > 0 => format!("{e} errors"),
                (None, true, _) => String::new(),
                (None, false, _) => "met".into(),
            },
            floor_p50,
            x_floor,
            l.stats.pct(0.5).as_secs_f64() / ceiling.pct(0.5).as_secs_f64().max(1e-9),
            l.peak_rss / 1024 / 1024,
        );
    }
    let cold_missed = if cold >= Duration::from_secs(2) {
        format!("{:.1}× over", cold.as_secs_f64() / 2.0)
    } else {
        "met".into()
    };
    println!(
        "| cold start to a healthy /healthz | 1 | 0 | {} | | | | < 2 s | {cold_missed} | | | | {} |",
        ms(cold),
        rss_at_start / 1024 / 1024
    );
    let rss_missed = if peak >= 512 * 1024 * 1024 {
        format!("{:.1}× over", peak as f64 / (512.0 * 1048576.0))
    } else {
        "met".into()
    };
    println!(
        "| server peak RSS over the run | | | {} MiB | | | | < 512 MB | {rss_missed} | | | | |",
        peak / 1024 / 1024
    );
    drop(server);
    Ok(())
}

fn limit(text: &str, took: Duration, max: Duration) -> (String, Option<String>) {
    (
        text.to_string(),
        (took >= max).then(|| format!("{:.1}× over", took.as_secs_f64() / max.as_secs_f64())),
    )
}

fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .unwrap_or_default()
        .trim_start_matches("x=")
        .to_string()
}

/// Fills in the package id of the list's version, as АИС would echo it (the list page carries
/// it on the version's row).
async fn with_package(
    mut r: talapker::ais::Results,
    client: &reqwest::Client,
    base: &str,
) -> anyhow::Result<talapker::ais::Results> {
    let html = client
        .get(format!("{base}/cabinet/lists/{}", r.list_id))
        .send()
        .await?
        .text()
        .await?;
    let marker = "data-package=\"";
    let i = html.find(marker).context("the version's package id")? + marker.len();
    r.package_id = html[i..].split('"').next().unwrap_or_default().to_string();
    Ok(r)
}
