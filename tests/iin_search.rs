//! A search by a long IIN prefix (a date of birth and more) reads its matches once through the
//! unique IIN index and cuts the page and the total from them: the same rows, order and total
//! as a scan of the region, on every page, for oblast and district users.

use chrono::NaiveDate;
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

#[tokio::test]
async fn long_iin_prefixes_page_and_count_like_a_scan() {
    let db = surrealdb::engine::any::connect("mem://").await.unwrap();
    db.use_ns("t").use_db("t").await.unwrap();
    store::migrate(&db, &store::embedded_migrations())
        .await
        .unwrap();
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
        let created = applicants::create(&db, &a, &scope, "t", &format!("k{n}"))
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
