//! A search by a long IIN prefix (a date of birth and more) reads the region's matches from one
//! key range of `iin_at` (migration 0016) and cuts the page and the total from them: the same
//! rows, order and total as a scan of the region, on every page, for oblast and district users;
//! and the records follow every edit, move and deletion.

use chrono::NaiveDate;
use surrealdb::types::SurrealValue;
use talapker::domain::applicant::ValidApplicant;
use talapker::domain::iin::{make_iin, Gender};
use talapker::domain::kato::{Scope, ScopeField};
use talapker::store::{self, applicants, Db};

fn applicant(day: u32, n: u32) -> ValidApplicant {
    let date = NaiveDate::from_ymd_opt(1990, 1, day).unwrap();
    let iin = (0..10)
        .find_map(|s| make_iin(date, Gender::Male, n * 10 + s))
        .unwrap();
    ValidApplicant {
        iin,
        last_name: "Серіков".into(),
        first_name: "Асан".into(),
        middle_name: String::new(),
        birth_date: date,
        gender: Gender::Male,
        kato: "711310000".into(),
        street: String::new(),
        house: String::new(),
        flat: String::new(),
        applicant_category: "grad11".into(),
        employment_category: "unemployed".into(),
        mg_refused: false,
        mg_reason: String::new(),
    }
}

async fn scanned(db: &Db, field: &str, region: &str, prefix: &str) -> Vec<String> {
    db.query(format!(
        "SELECT VALUE record::id(id) FROM applicant WHERE {field} = $r AND string::starts_with(iin, $q) ORDER BY rank, id"
    ))
    .bind(("r", region.to_string()))
    .bind(("q", prefix.to_string()))
    .await
    .unwrap()
    .take(0)
    .unwrap()
}

async fn app_db() -> Db {
    let db = surrealdb::engine::any::connect("mem://").await.unwrap();
    db.use_ns("t").use_db("t").await.unwrap();
    store::migrate(&db, &store::embedded_migrations())
        .await
        .unwrap();
    db
}

#[tokio::test]
async fn long_iin_prefixes_page_and_count_like_a_scan() {
    let db = app_db().await;
    let places = [
        ("710000000", "711310000"),
        ("710000000", ""),
        ("750000000", ""),
    ];
    for n in 0..60u32 {
        let (oblast, district) = places[(n % 3) as usize];
        let scope = Scope {
            oblast: oblast.into(),
            district: district.into(),
        };
        let a = applicant(1 + n % 2, n);
        let created = applicants::create(&db, &a, &scope, "t", &format!("k{n}"), None)
            .await
            .unwrap();
        assert!(matches!(created, applicants::Created::New(_)));
    }
    let cases = [
        (ScopeField::Oblast, "oblast", "710000000"),
        (ScopeField::District, "district", "711310000"),
        (ScopeField::Oblast, "oblast", "750000000"),
    ];
    let first = applicant(1, 0).iin.as_str().to_string();
    for prefix in ["900101", "900102", &first[..8], &first, "900103"] {
        for (field, col, region) in cases {
            let want = scanned(&db, col, region, prefix).await;
            let search = applicants::Search {
                fio: Vec::new(),
                iin: Some(prefix.to_string()),
            };
            let mut got = Vec::new();
            for page in 0..3 {
                let (rows, total) = applicants::page(&db, field, region, &search, page * 7, 7)
                    .await
                    .unwrap();
                assert_eq!(total, want.len() as i64, "{prefix} {region}");
                assert!(rows.len() <= 7);
                got.extend(rows.into_iter().map(|r| r.id));
            }
            let shown = want.len().min(21);
            assert_eq!(got, want[..shown], "{prefix} {region}");
        }
    }
    // The case above is not empty: 900101 holds 30 applicants, 20 of them in Astana.
    assert_eq!(
        scanned(&db, "oblast", "710000000", "900101").await.len(),
        20
    );
}

/// Every IIN-by-oblast record (`iin_at`, migration 0016) as (oblast, iin, key), sorted.
async fn iin_records(db: &Db) -> Vec<(String, String, String)> {
    let mut got: Vec<(String, String, String)> = db
        .query("SELECT VALUE [id[0], id[1], id[2]] FROM iin_at")
        .await
        .unwrap()
        .take::<Vec<Vec<String>>>(0)
        .unwrap()
        .into_iter()
        .map(|v| (v[0].clone(), v[1].clone(), v[2].clone()))
        .collect();
    got.sort();
    got
}

/// What the records must be: one per applicant, in its oblast.
async fn expected_records(db: &Db) -> Vec<(String, String, String)> {
    #[derive(SurrealValue)]
    struct Row {
        id: String,
        iin: String,
        oblast: String,
    }
    let rows: Vec<Row> = db
        .query("SELECT record::id(id) AS id, iin, oblast FROM applicant")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    let mut want: Vec<(String, String, String)> =
        rows.into_iter().map(|r| (r.oblast, r.iin, r.id)).collect();
    want.sort();
    want
}

#[tokio::test]
async fn the_region_iin_records_follow_edits_moves_and_deletions() {
    let db = app_db().await;
    let astana = Scope {
        oblast: "710000000".into(),
        district: "711310000".into(),
    };
    let mut ids = Vec::new();
    for n in 0..6u32 {
        match applicants::create(&db, &applicant(1, n), &astana, "t", &format!("k{n}"), None)
            .await
            .unwrap()
        {
            applicants::Created::New(id) => ids.push(id),
            _ => panic!("not created"),
        }
    }
    assert_eq!(iin_records(&db).await.len(), 6);
    assert_eq!(iin_records(&db).await, expected_records(&db).await);

    // An edit that changes the IIN, one that moves the applicant to another oblast (no
    // district), one that changes only the street: the records follow the first two.
    let search = |q: &str| applicants::Search {
        fio: Vec::new(),
        iin: Some(q.to_string()),
    };
    let edit = |a: ValidApplicant, id: String, scope: Scope| {
        let db = db.clone();
        async move {
            let row = applicants::get(&db, ScopeField::Oblast, "710000000", &id)
                .await
                .unwrap()
                .unwrap();
            let res = applicants::update(
                &db,
                ScopeField::Oblast,
                "710000000",
                &id,
                row.version,
                &a,
                &scope,
                "new",
                false,
                Vec::new(),
            )
            .await
            .unwrap();
            assert!(matches!(res, applicants::Updated::Ok));
        }
    };
    let renumbered = applicant(2, 40);
    edit(renumbered.clone(), ids[0].clone(), astana.clone()).await;
    let mut moved = applicant(1, 1);
    moved.kato = "750000000".into();
    edit(
        moved.clone(),
        ids[1].clone(),
        Scope {
            oblast: "750000000".into(),
            district: String::new(),
        },
    )
    .await;
    let mut street = applicant(1, 2);
    street.street = "Абая".into();
    edit(street, ids[2].clone(), astana.clone()).await;
    applicants::delete(&db, ScopeField::Oblast, "710000000", &ids[3])
        .await
        .unwrap();
    assert_eq!(iin_records(&db).await, expected_records(&db).await);
    assert_eq!(iin_records(&db).await.len(), 5);

    // The searches agree: the renumbered one is found by its new date, not its old; the moved
    // one only in its new oblast; the deleted one nowhere.
    let find = |field: ScopeField, region: &'static str, q: String| {
        let db = db.clone();
        let s = search(&q);
        async move {
            applicants::page(&db, field, region, &s, 0, 20)
                .await
                .unwrap()
                .0
                .into_iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
        }
    };
    let new_iin = renumbered.iin.as_str().to_string();
    assert_eq!(
        find(ScopeField::District, "711310000", new_iin.clone()).await,
        vec![ids[0].clone()]
    );
    let old_iin = applicant(1, 0).iin.as_str().to_string();
    assert!(find(ScopeField::Oblast, "710000000", old_iin)
        .await
        .is_empty());
    let moved_iin = moved.iin.as_str().to_string();
    assert!(find(ScopeField::Oblast, "710000000", moved_iin.clone())
        .await
        .is_empty());
    assert!(find(ScopeField::District, "711310000", moved_iin.clone())
        .await
        .is_empty());
    assert_eq!(
        find(ScopeField::Oblast, "750000000", moved_iin).await,
        vec![ids[1].clone()]
    );
    let gone = applicant(1, 3).iin.as_str().to_string();
    assert!(find(ScopeField::Oblast, "710000000", gone).await.is_empty());
    let still: Vec<String> = find(ScopeField::Oblast, "710000000", "900101".into()).await;
    assert_eq!(still.len(), 3, "k2, k4, k5 remain under 900101 in Astana");
}
