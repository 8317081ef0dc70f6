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
    let app = App::start().await;
    let p = plan(
        &app,
        "SELECT * FROM applicant WHERE oblast = $region ORDER BY created_at DESC, id DESC LIMIT 20",
    )
    .await;
    assert!(
        p.contains("applicant_oblast")
            && p.contains("Backward")
            && p.contains("\"limit\": String(\"20\")"),
        "{p}"
    );
    let p = plan(
        &app,
        "SELECT * FROM applicant WHERE district = $region ORDER BY created_at DESC LIMIT 20",
    )
    .await;
    assert!(
        p.contains("applicant_district") && p.contains("Backward"),
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
        "applicant_list",
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
        "applicant_list",
    )
    .await;
    app.stop().await;
}
