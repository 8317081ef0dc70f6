//! The region counters behind the applicants tab's «Всего» (migrations 0009 and 0014): many
//! additions in one district at the same instant never collide in the store, and the totals
//! stay exact through additions, moves and deletions, before and after the server folds them.

use talapker::domain::kato::ScopeField;
use talapker::store::{self, applicants, Db};

async fn app_db() -> Db {
    let db = surrealdb::engine::any::connect("mem://").await.unwrap();
    db.use_ns("t").use_db("t").await.unwrap();
    store::migrate(&db, &store::embedded_migrations())
        .await
        .unwrap();
    db
}

/// Adds one applicant in a single statement, with no retry: a write conflict is an error here.
async fn add(db: Db, n: u64, oblast: &'static str, district: &'static str) -> Result<(), String> {
    db.query(
        "CREATE type::record('applicant', $key) CONTENT {
            iin: $iin, last_name: 'Жаңаева', first_name: 'Айым', middle_name: '', birth_date: '1990-01-01',
            gender: 'female', kato: '711310000', oblast: $oblast, district: $district, street: '',
            house: '', flat: '', applicant_category: '', employment_category: '', status: 'new',
            fio_search: 'жаңаева айым', created_at: time::now(), updated_at: time::now(), created_by: 't'
        } RETURN NONE",
    )
    .bind(("iin", format!("{}", 900_101_400_000 + n)))
    .bind(("key", format!("a{n:02}")))
    .bind(("oblast", oblast.to_string()))
    .bind(("district", district.to_string()))
    .await
    .map_err(|e| e.to_string())?
    .check()
    .map(|_| ())
    .map_err(|e| e.to_string())
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

async fn counter_records(db: &Db, region: &str) -> usize {
    let ids: Vec<i64> = db
        .query("SELECT VALUE n FROM applicant_count WHERE region = $r")
        .bind(("r", region.to_string()))
        .await
        .unwrap()
        .take(0)
        .unwrap();
    ids.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_additions_in_one_district_never_conflict_and_totals_stay_exact() {
    let db = app_db().await;
    // The first applicant of a name brings its words into the ФИО dictionary (0012); later ones
    // only read them.
    add(db.clone(), 100, "710000000", "711310000")
        .await
        .unwrap();
    // 64 additions at once, all in one district of one oblast: under 0009's 16 shared shards
    // most of these transactions were refused as write conflicts.
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(add(db, i, "710000000", "711310000"))
        })
        .collect();
    let mut failures = Vec::new();
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} additions failed: {:?}",
        failures.len(),
        failures.first()
    );
    assert_eq!(total(&db, ScopeField::Oblast, "710000000").await, 65);
    assert_eq!(total(&db, ScopeField::District, "711310000").await, 65);

    // A move to another oblast and a deletion write their own −1 records.
    db.query("UPDATE applicant:a00 SET oblast = '750000000', district = ''; DELETE applicant:a01;")
        .await
        .unwrap()
        .check()
        .unwrap();
    for (field, col, region) in [
        (ScopeField::Oblast, "oblast", "710000000"),
        (ScopeField::District, "district", "711310000"),
        (ScopeField::Oblast, "oblast", "750000000"),
    ] {
        assert_eq!(
            total(&db, field, region).await,
            counted(&db, col, region).await,
            "{region}"
        );
    }
    assert_eq!(total(&db, ScopeField::Oblast, "710000000").await, 63);
    assert_eq!(total(&db, ScopeField::Oblast, "750000000").await, 1);
    assert!(counter_records(&db, "710000000").await > 60);

    // Folding leaves one record per region and every total as it was.
    assert_eq!(applicants::fold_counts(&db).await.unwrap(), 2);
    for (field, region, n) in [
        (ScopeField::Oblast, "710000000", 63),
        (ScopeField::District, "711310000", 63),
        (ScopeField::Oblast, "750000000", 1),
    ] {
        assert_eq!(counter_records(&db, region).await, 1, "{region}");
        assert_eq!(total(&db, field, region).await, n, "{region}");
    }
    // Nothing left to fold; later changes add to the folded record.
    assert_eq!(applicants::fold_counts(&db).await.unwrap(), 0);
    add(db.clone(), 101, "710000000", "711310000")
        .await
        .unwrap();
    assert_eq!(total(&db, ScopeField::Oblast, "710000000").await, 64);
    assert_eq!(applicants::fold_counts(&db).await.unwrap(), 2);
    assert_eq!(total(&db, ScopeField::District, "711310000").await, 64);
}
