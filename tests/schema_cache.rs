//! SurrealDB builds a table's definitions (their SurrealQL parsed, their regexes compiled) once
//! per distinct stored form and shares them across transactions
//! (`vendor/surrealdb-datastore/TALAPKER.md`). A definition that changes must still count at
//! once, on reads and on writes, and one written by a cancelled transaction nowhere.

use surrealdb::engine::any::{connect, Any};
use surrealdb::Surreal;

async fn db() -> Surreal<Any> {
    let db = connect("mem://").await.unwrap();
    db.use_ns("t").use_db("t").await.unwrap();
    db.query(
        "DEFINE TABLE person SCHEMAFULL;
         DEFINE FIELD code ON person TYPE string ASSERT $value = /^[0-9]+$/;
         DEFINE FIELD shown ON person COMPUTED code + '!';",
    )
    .await
    .unwrap()
    .check()
    .unwrap();
    db
}

async fn run(db: &Surreal<Any>, sql: &str) -> Result<(), String> {
    db.query(sql)
        .await
        .map_err(|e| e.to_string())?
        .check()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn shown(db: &Surreal<Any>) -> Vec<Option<String>> {
    db.query("SELECT VALUE shown FROM person ORDER BY id")
        .await
        .unwrap()
        .take(0)
        .unwrap()
}

#[tokio::test]
async fn a_redefined_field_counts_at_once_on_reads_and_writes() {
    let db = db().await;
    run(&db, "CREATE person:1 SET code = '12'").await.unwrap();
    // Read twice: the second read is served by the definitions built for the first.
    assert_eq!(shown(&db).await, vec![Some("12!".to_string())]);
    assert_eq!(shown(&db).await, vec![Some("12!".to_string())]);
    assert!(run(&db, "CREATE person:2 SET code = 'ab'").await.is_err());

    // The computed field, redefined: the next read computes the new expression.
    run(
        &db,
        "DEFINE FIELD OVERWRITE shown ON person COMPUTED code + '?'",
    )
    .await
    .unwrap();
    assert_eq!(shown(&db).await, vec![Some("12?".to_string())]);

    // The assertion's regex, redefined: the next write is checked against the new one.
    run(
        &db,
        "DEFINE FIELD OVERWRITE code ON person TYPE string ASSERT $value = /^[a-z]+$/",
    )
    .await
    .unwrap();
    run(&db, "CREATE person:2 SET code = 'ab'").await.unwrap();
    let refused = run(&db, "CREATE person:3 SET code = '34'").await;
    assert!(refused.is_err(), "the old regex still applied");
    assert_eq!(
        shown(&db).await,
        vec![Some("12?".to_string()), Some("ab?".to_string())]
    );

    // Removed: it is no longer computed.
    run(&db, "REMOVE FIELD shown ON person").await.unwrap();
    assert_eq!(shown(&db).await, vec![None, None]);
}

#[tokio::test]
async fn a_field_defined_in_a_transaction_counts_there_and_a_cancelled_one_nowhere() {
    let db = db().await;
    run(&db, "CREATE person:1 SET code = '1'").await.unwrap();
    assert_eq!(shown(&db).await, vec![Some("1!".to_string())]);

    let mut res = db
        .query(
            "BEGIN;
             DEFINE FIELD extra ON person TYPE int;
             CREATE person:2 SET code = '2', extra = 5;
             SELECT VALUE extra FROM person:2;
             COMMIT;",
        )
        .await
        .unwrap();
    let extra: Vec<i64> = res.take(3).unwrap();
    assert_eq!(extra, vec![5]);

    // A cancelled transaction's statements report that they were not executed.
    let cancelled = run(
        &db,
        "BEGIN;
         DEFINE FIELD other ON person TYPE int;
         CREATE person:3 SET code = '3', other = 1;
         CANCEL;",
    )
    .await;
    assert!(cancelled.is_err());
    // The cancelled definition is not there: a schemafull table refuses the unknown field.
    let refused = run(&db, "CREATE person:3 SET code = '3', other = 1").await;
    assert!(refused.is_err(), "a cancelled field definition was kept");
    run(&db, "CREATE person:3 SET code = '3', extra = 7")
        .await
        .unwrap();
    let extras: Vec<Option<i64>> = db
        .query("SELECT VALUE extra FROM person ORDER BY id")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert_eq!(extras, vec![None, Some(5), Some(7)]);
}
