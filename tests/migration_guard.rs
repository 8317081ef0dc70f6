//! A migration that rewrites every applicant in one transaction is refused, before it starts,
//! when the applicants would not fit in one embedded SurrealKV transaction (a larger one fails
//! and leaves a log SurrealKV cannot replay with the same memtable), with the way out in the
//! message; with room enough it runs.

use talapker::store;

#[tokio::test]
async fn a_migration_too_large_for_one_transaction_is_refused_with_the_way_out() {
    let db = surrealdb::engine::any::connect("mem://").await.unwrap();
    db.use_ns("t").use_db("t").await.unwrap();
    let before: Vec<_> = store::embedded_migrations()
        .into_iter()
        .take_while(|m| !m.name.starts_with("0010"))
        .collect();
    store::migrate(&db, &before).await.unwrap();
    for i in 0..20 {
        db.query(
            "CREATE type::record('applicant', $key) CONTENT {
                iin: $iin, last_name: 'Ахметов', first_name: 'Нурлан', middle_name: '',
                birth_date: '1990-01-01', gender: 'male', kato: '711310000', oblast: '710000000',
                district: '711310000', street: '', house: '', flat: '', applicant_category: '',
                employment_category: '', status: 'new', fio_search: 'ахметов нурлан',
                created_at: time::now(), updated_at: time::now(), created_by: 't'
            }",
        )
        .bind(("key", format!("k{i}")))
        .bind(("iin", format!("9001013000{i:02}")))
        .await
        .unwrap()
        .check()
        .unwrap();
    }
    // Room for ten applicants' worth of writes, not twenty.
    store::set_transaction_budget(10 * 4 * 1024);
    let err = store::migrate(&db, &store::embedded_migrations())
        .await
        .expect_err("refused");
    let text = format!("{err:#}");
    assert!(
        text.contains("0010")
            && text.contains("20 applicants")
            && text.contains("--db-memtable-mb"),
        "{text}"
    );
    let applied: Vec<String> = db
        .query("SELECT VALUE name FROM migration WHERE name CONTAINS '0010'")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert!(applied.is_empty(), "nothing of it ran: {applied:?}");
    // With the memtable the message asks for, it runs and every applicant gets its rank.
    store::set_transaction_budget(1024 * 1024);
    store::migrate(&db, &store::embedded_migrations())
        .await
        .unwrap();
    let unranked: Vec<String> = db
        .query("SELECT VALUE record::id(id) FROM applicant WHERE rank = NONE")
        .await
        .unwrap()
        .take(0)
        .unwrap();
    assert!(unranked.is_empty(), "{unranked:?}");
}
