//! The region counters behind the applicants tab's «Всего» (migrations 0009, 0015): many
//! additions in one district at the same instant never collide in the store, the totals stay
//! exact through additions, moves and deletions, and a region never has more than 16 counter
//! records, all updated in place.

use chrono::NaiveDate;
use talapker::domain::applicant::ValidApplicant;
use talapker::domain::iin::{make_iin, Gender};
use talapker::domain::kato::{Scope, ScopeField};
use talapker::store::{self, applicants, Db};

/// The shards' round robin belongs to the process: the tests here that add take turns, or the
/// additions of one would take turns out of the other's 16 and collide.
static ADDING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn app_db() -> Db {
    let db = surrealdb::engine::any::connect("mem://").await.unwrap();
    db.use_ns("t").use_db("t").await.unwrap();
    store::migrate(&db, &store::embedded_migrations())
        .await
        .unwrap();
    db
}

fn applicant(n: u32) -> ValidApplicant {
    let date = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
    let iin = (0..10)
        .find_map(|s| make_iin(date, Gender::Female, n * 10 + s))
        .unwrap();
    ValidApplicant {
        iin,
        last_name: "Жаңаева".into(),
        first_name: "Айым".into(),
        middle_name: String::new(),
        birth_date: date,
        gender: Gender::Female,
        kato: "711310000".into(),
        street: "Абая".into(),
        house: "1".into(),
        flat: String::new(),
        applicant_category: "grad11".into(),
        employment_category: "unemployed".into(),
        mg_refused: false,
        mg_reason: String::new(),
    }
}

/// Adds through the store, as the server does; the key of the new applicant.
async fn add(db: Db, n: u32) -> anyhow::Result<String> {
    let scope = Scope {
        oblast: "710000000".into(),
        district: "711310000".into(),
    };
    match applicants::create(&db, &applicant(n), &scope, "t", &format!("idem-{n}"), None).await? {
        applicants::Created::New(key) => Ok(key),
        _ => anyhow::bail!("applicant {n} was not new"),
    }
}

async fn total(db: &Db, field: ScopeField, region: &str) -> i64 {
    let all = applicants::Search {
        fio: Vec::new(),
        iin: None,
    };
    applicants::page(db, field, region, &all, 0, 20)
        .await
        .unwrap()
        .1
}

async fn counted(db: &Db, field: &str, region: &str) -> i64 {
    let n: Option<i64> = db
        .query(format!(
            "RETURN (SELECT count() FROM applicant WHERE {field} = $r GROUP ALL)[0].count ?? 0"
        ))
        .bind(("r", region.to_string()))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    n.unwrap_or(0)
}

/// The region's counter records: all of them keyed [region, 0..15].
async fn counter_keys(db: &Db, region: &str) -> Vec<i64> {
    db.query("SELECT VALUE id[1] FROM applicant_count WHERE region = $r")
        .bind(("r", region.to_string()))
        .await
        .unwrap()
        .take(0)
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_additions_in_one_district_never_conflict_and_totals_stay_exact() {
    let _turn = ADDING.lock().await;
    let db = app_db().await;
    // The first applicant of a name brings its words into the ФИО dictionary (0012); later ones
    // only read them.
    let first = add(db.clone(), 100).await.unwrap();
    let retries = applicants::CREATE_RETRIES.load(std::sync::atomic::Ordering::Relaxed);
    // 16 additions at once, all in one district: with 0009's randomly chosen shards, most of
    // such transactions were refused as write conflicts and had to be tried again.
    let tasks: Vec<_> = (0..16).map(|i| tokio::spawn(add(db.clone(), i))).collect();
    let mut keys = Vec::new();
    for t in tasks {
        keys.push(t.await.unwrap().unwrap());
    }
    assert_eq!(
        applicants::CREATE_RETRIES.load(std::sync::atomic::Ordering::Relaxed),
        retries,
        "additions in flight together collided"
    );
    // More at once than there are shards: some collide, are tried again, and all are saved.
    let tasks: Vec<_> = (16..64).map(|i| tokio::spawn(add(db.clone(), i))).collect();
    for t in tasks {
        keys.push(t.await.unwrap().unwrap());
    }
    assert_eq!(total(&db, ScopeField::Oblast, "710000000").await, 65);
    assert_eq!(total(&db, ScopeField::District, "711310000").await, 65);

    // A move to another oblast and a deletion count down where they left.
    db.query("UPDATE type::record('applicant', $a) SET oblast = '750000000', district = ''; DELETE type::record('applicant', $b);")
        .bind(("a", keys[0].clone()))
        .bind(("b", keys[1].clone()))
        .await
        .unwrap()
        .check()
        .unwrap();
    for (field, col, region, n) in [
        (ScopeField::Oblast, "oblast", "710000000", 63),
        (ScopeField::District, "district", "711310000", 63),
        (ScopeField::Oblast, "oblast", "750000000", 1),
    ] {
        assert_eq!(total(&db, field, region).await, n, "{region}");
        assert_eq!(counted(&db, col, region).await, n, "{region}");
    }
    // Never more than 16 records a region, whatever the number of changes.
    let shards = counter_keys(&db, "710000000").await;
    assert!(shards.len() <= 16, "{} records", shards.len());
    assert!(shards.iter().all(|s| (0..16).contains(s)), "{shards:?}");
    assert!(
        applicants::delete(&db, ScopeField::District, "711310000", &first)
            .await
            .unwrap()
    );
    assert_eq!(total(&db, ScopeField::District, "711310000").await, 62);
    assert_eq!(total(&db, ScopeField::Oblast, "710000000").await, 62);
}

/// The server remembers a region's total for a second (`applicants::Totals`): exact after the
/// changes it makes and forgets, and a change made elsewhere (another server sharing the
/// database) shows once the second has passed.
#[tokio::test]
async fn remembered_totals_are_exact_after_forgetting_and_at_most_a_second_old() {
    let _turn = ADDING.lock().await;
    let db = app_db().await;
    let totals = applicants::Totals::default();
    let all = applicants::Search {
        fio: Vec::new(),
        iin: None,
    };
    let shown = |region: &'static str, field: ScopeField| {
        let (db, all) = (db.clone(), all.clone());
        let totals = &totals;
        async move {
            applicants::page_remembering(&db, Some(totals), field, region, &all, 0, 20)
                .await
                .unwrap()
                .1
        }
    };
    for n in 0..3 {
        add(db.clone(), n).await.unwrap();
    }
    totals.forget();
    assert_eq!(shown("711310000", ScopeField::District).await, 3);
    assert_eq!(shown("710000000", ScopeField::Oblast).await, 3);
    // This server's own addition: forgotten, so exact at once.
    let fourth = add(db.clone(), 3).await.unwrap();
    totals.forget();
    assert_eq!(shown("711310000", ScopeField::District).await, 4);
    // Another server's deletion: the remembered total for at most a second, then the new one.
    assert!(
        applicants::delete(&db, ScopeField::Oblast, "710000000", &fourth)
            .await
            .unwrap()
    );
    assert_eq!(total(&db, ScopeField::District, "711310000").await, 3);
    assert_eq!(shown("711310000", ScopeField::District).await, 4);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(shown("711310000", ScopeField::District).await, 3);
    assert_eq!(shown("710000000", ScopeField::Oblast).await, 3);
}
