//! The queries behind the tables use indexes: checked with EXPLAIN, never timed.

mod common;

use common::App;

async fn plan(app: &App, sql: &str) -> String {
    let mut res = app
        .state()
        .db
        .query(format!("{sql} EXPLAIN"))
        .bind(("region", "710000000"))
        .bind(("list", "x"))
        .bind(("iin", "920526450510"))
        .bind(("q", "9205"))
        .bind(("q_end", "9205:"))
        .bind(("key", "k"))
        .await
        .unwrap();
    let v: surrealdb::types::Value = res.take(0).unwrap();
    format!("{v:?}")
}

async fn assert_uses(app: &App, sql: &str, index: &str) {
    let p = plan(app, sql).await;
    assert!(
        p.contains("IndexScan") && p.contains(index),
        "{sql} should use {index}: {p}"
    );
    assert!(!p.contains("TableScan"), "{sql} scans the table: {p}");
}

#[tokio::test]
async fn the_applicants_tab_pages_through_the_region_index_newest_first() {
    // Newest first is ascending rank: a forward scan that stops after the page (SurrealKV
    // walks backwards far more slowly, see migrations/0010).
    // The page query's own projection (every field and the key as `id`).
    let fields = talapker::store::applicants::FIELDS;
    let app = App::start().await;
    let p = plan(
        &app,
        &format!(
            "SELECT {fields} FROM applicant WHERE oblast = $region ORDER BY rank, id LIMIT 20"
        ),
    )
    .await;
    assert!(
        p.contains("applicant_oblast")
            && p.contains("Forward")
            && p.contains("\"limit\": String(\"20\")"),
        "{p}"
    );
    assert!(!p.contains("Sort"), "the index gives the order: {p}");
    let p = plan(
        &app,
        &format!(
            "SELECT {fields} FROM applicant WHERE district = $region ORDER BY rank, id LIMIT 20"
        ),
    )
    .await;
    assert!(
        p.contains("applicant_district") && p.contains("Forward") && !p.contains("Sort"),
        "{p}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_fio_search_reads_its_word_ranges_and_a_one_word_page_stops_after_its_rows() {
    let app = App::start().await;
    let db = &app.state().db;
    let explain = |sql: &'static str| async move {
        let mut res = db
            .query(format!("{sql} EXPLAIN"))
            .bind(("oblast", "710000000"))
            .bind(("w", "шаки"))
            .bind(("w_end", "шаки\u{10ffff}"))
            .bind(("d", "жаншакимова"))
            .bind(("e", "жаншакимова\0"))
            .await
            .unwrap();
        let v: surrealdb::types::Value = res.take(0).unwrap();
        format!("{v:?}")
    };
    // The dictionary words holding the search word: one key range.
    let p = explain("SELECT VALUE id[1] FROM fio_sfx:[$w]..[$w_end]").await;
    assert!(
        p.contains("RecordIdScan") && !p.contains("TableScan"),
        "{p}"
    );
    // A word's postings: one key range; its count reads keys only.
    let p = explain("SELECT rank, id[3] AS key FROM fio_post:[$oblast, $d]..[$oblast, $e]").await;
    assert!(
        p.contains("RecordIdScan") && !p.contains("TableScan"),
        "{p}"
    );
    let p = explain("SELECT count() FROM fio_post:[$oblast, $d]..[$oblast, $e] GROUP ALL").await;
    assert!(p.contains("CountScan"), "{p}");
    // A word's total: its counter records, fetched by id (migration 0017), no scan.
    let p =
        explain("SELECT VALUE n FROM [fio_count:[$oblast, $d, 0], fio_count:[$oblast, $d, 15]]")
            .await;
    assert!(
        p.contains("SourceExpr") && !p.contains("TableScan") && !p.contains("IndexScan"),
        "{p}"
    );
    // A one-word page: a forward scan of the word index with the limit pushed down.
    let p = explain(
        "SELECT VALUE id FROM fio_post WHERE oblast = $oblast AND word = $d ORDER BY rank LIMIT 20",
    )
    .await;
    assert!(
        p.contains("fio_post_word")
            && p.contains("Forward")
            && p.contains("\"limit\": String(\"20\")")
            && !p.contains("Sort"),
        "{p}"
    );
    app.stop().await;
}

#[tokio::test]
async fn lookups_by_iin_prefix_list_and_idempotency_key_use_their_indexes() {
    let app = App::start().await;
    assert_uses(
        &app,
        "SELECT * FROM applicant WHERE iin = $iin",
        "applicant_iin",
    )
    .await;
    assert_uses(
        &app,
        "SELECT * FROM applicant WHERE oblast = $region AND iin >= $q AND iin < $q_end",
        "applicant_iin",
    )
    .await;
    assert_uses(
        &app,
        "SELECT * FROM applicant WHERE list = $list ORDER BY id LIMIT 1000",
        "applicant_list_created",
    )
    .await;
    assert_uses(
        &app,
        "SELECT * FROM applicant WHERE idem_key = $key LIMIT 1",
        "applicant_idem",
    )
    .await;
    assert_uses(
        &app,
        "SELECT * FROM list WHERE oblast = $region ORDER BY created_at DESC LIMIT 20",
        "list_oblast",
    )
    .await;
    assert_uses(
        &app,
        "SELECT * FROM user WHERE login = $key LIMIT 1",
        "user_login",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn the_outbox_list_versions_and_a_lists_payload_use_their_indexes() {
    let app = App::start().await;
    assert_uses(
        &app,
        "SELECT * FROM outbox WHERE state = 'pending' AND next_at <= time::now() ORDER BY next_at LIMIT 20",
        "outbox_due",
    )
    .await;
    assert_uses(
        &app,
        "SELECT * FROM list_version WHERE list = $list ORDER BY version DESC",
        "list_version_list",
    )
    .await;
    assert_uses(
        &app,
        "SELECT * FROM list_version WHERE package = $key",
        "list_version_package",
    )
    .await;
    assert_uses(
        &app,
        "SELECT * FROM applicant WHERE list = $list ORDER BY id",
        "applicant_list_created",
    )
    .await;
    app.stop().await;
}

async fn real_and_counted(app: &App, region: &str, field: &str) -> (i64, i64) {
    let mut res = app
        .state()
        .db
        .query(format!(
            "(SELECT count() AS n FROM applicant WHERE {field} = $r GROUP ALL)[0].n ?? 0;
             math::sum(SELECT VALUE n FROM applicant_count WHERE region = $r);"
        ))
        .bind(("r", region.to_string()))
        .await
        .unwrap();
    let real: Option<i64> = res.take(0).unwrap();
    let counted: Option<i64> = res.take(1).unwrap();
    (real.unwrap_or(0), counted.unwrap_or(0))
}

#[tokio::test]
async fn region_totals_come_from_counters_that_always_match_a_real_count() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let form = |iin: &str, kato: &str| {
        let birth = talapker::domain::iin::Iin::parse(iin)
            .unwrap()
            .birth_date()
            .format("%d.%m.%Y")
            .to_string();
        vec![
            ("iin", iin.to_string()),
            ("last_name", "Счетова".into()),
            ("first_name", "Айым".into()),
            ("middle_name", "".into()),
            ("birth_date", birth),
            ("gender", "female".into()),
            ("kato", kato.to_string()),
            ("street", "Абая".into()),
            ("house", "1".into()),
            ("flat", "".into()),
            ("applicant_category", "grad11".into()),
            ("employment_category", "unemployed".into()),
        ]
    };
    let iins = ["920526450510", "850315400025", "941008400880"];
    for (iin, kato) in iins.iter().zip(["711310000", "711310000", "711110000"]) {
        let f = form(iin, kato);
        let fields: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(
            b.submit("/cabinet/applicants", "/cabinet/applicants", &fields)
                .await
                .status(),
            303
        );
    }
    let id_of = |iin: &'static str| {
        let db = app.state().db.clone();
        async move {
            let id: Option<String> = db
                .query("(SELECT VALUE record::id(id) FROM applicant WHERE iin = $i)[0]")
                .bind(("i", iin))
                .await
                .unwrap()
                .take(0)
                .unwrap();
            id.unwrap()
        }
    };
    // Moved to another district; one deleted.
    let moved = id_of("920526450510").await;
    let mut f = form("920526450510", "711110000");
    f.push(("version", "1".into()));
    let fields: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        b.submit(
            "/cabinet/applicants",
            &format!("/cabinet/applicants/{moved}"),
            &fields
        )
        .await
        .status(),
        303
    );
    let gone = id_of("850315400025").await;
    assert_eq!(
        b.submit(
            "/cabinet/applicants",
            &format!("/cabinet/applicants/{gone}/delete"),
            &[]
        )
        .await
        .status(),
        303
    );
    for (region, field, want) in [
        ("710000000", "oblast", 2),
        ("711310000", "district", 0),
        ("711110000", "district", 2),
    ] {
        assert_eq!(
            real_and_counted(&app, region, field).await,
            (want, want),
            "{region}"
        );
    }
    let (_, html) = b.get_text("/cabinet/applicants").await;
    assert!(
        html.contains("data-testid=\"total\">2<"),
        "the tab shows the counted total"
    );
    // The counter reads its 16 records by key; the IIN prefix uses its index.
    let sql = talapker::store::applicants::count_sql()
        .trim_start_matches("math::sum(")
        .trim_end_matches(')')
        .to_string();
    let p = plan(&app, &sql).await;
    assert!(
        !p.contains("TableScan") && !p.contains("IndexScan") && !p.contains("RecordIdScan"),
        "{sql}: {p}"
    );
    assert_uses(
        &app,
        "SELECT * FROM applicant WITH INDEX applicant_iin WHERE oblast = $region AND iin >= $q AND iin < $q_end",
        "applicant_iin",
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn the_export_reads_the_region_once_in_batches_even_across_equal_timestamps() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    let iins = [
        "920526450510",
        "850315400025",
        "941008400880",
        "860929400441",
        "930122451117",
    ];
    for iin in iins {
        let birth = talapker::domain::iin::Iin::parse(iin)
            .unwrap()
            .birth_date()
            .format("%d.%m.%Y")
            .to_string();
        let f = [
            ("iin", iin),
            ("last_name", "Выгрузова"),
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
        ];
        assert_eq!(
            b.submit("/cabinet/applicants", "/cabinet/applicants", &f)
                .await
                .status(),
            303
        );
    }
    // Three of them registered at the very same instant, straddling a batch boundary.
    app.state()
        .db
        .query("UPDATE applicant SET created_at = d'2026-01-01T00:00:00Z' WHERE iin IN ['850315400025', '941008400880', '860929400441']")
        .await
        .unwrap()
        .check()
        .unwrap();
    let field = talapker::domain::kato::ScopeField::Oblast;
    let all = talapker::store::applicants::Search::default();
    let mut after = None;
    let mut seen = Vec::new();
    loop {
        let batch = talapker::store::applicants::export_batch(
            &app.state().db,
            field,
            "710000000",
            &all,
            after.clone(),
            None,
            2,
        )
        .await
        .unwrap();
        let Some(last) = batch.last() else { break };
        let oldest = last.rank;
        let mut same: Vec<String> = batch
            .iter()
            .filter(|r| r.rank == oldest)
            .map(|r| r.id.clone())
            .collect();
        if let Some((t, prev)) = &after {
            if *t == oldest {
                same.extend(prev.iter().cloned());
            }
        }
        seen.extend(batch.iter().map(|r| r.iin.clone()));
        after = Some((oldest, same));
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(seen.len(), 5, "every row once: {seen:?}");
    assert_eq!(sorted.len(), 5);
    assert_uses(
        &app,
        "SELECT * FROM applicant WHERE oblast = $region AND rank >= -1 ORDER BY rank LIMIT 1000",
        "applicant_oblast",
    )
    .await;
    app.stop().await;
}
