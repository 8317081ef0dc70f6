//! Backups (#9.6): `talapker backup` / `talapker restore` round-trip a populated database.

mod common;

use common::App;
use talapker::config::Settings;

const FORM: &[(&str, &str)] = &[
    ("iin", "920526450510"),
    ("last_name", "Жаншакимова"),
    ("first_name", "Айнур"),
    ("middle_name", "Мараловна"),
    ("birth_date", "26.05.1992"),
    ("gender", "female"),
    ("kato", "711310000"),
    ("street", "<script>alert(1)</script>"),
    ("house", "37"),
    ("flat", ""),
    ("applicant_category", "grad11"),
    ("employment_category", "unemployed"),
];

async fn counts(db: &talapker::store::Db) -> Vec<i64> {
    let mut out = Vec::new();
    for table in [
        "user",
        "applicant",
        "list",
        "list_event",
        "audit",
        "migration",
        "kato",
        "category",
    ] {
        let n: Option<i64> = db
            .query(format!("(SELECT count() AS n FROM {table} GROUP ALL)[0].n"))
            .await
            .unwrap()
            .take(0)
            .unwrap();
        out.push(n.unwrap_or(0));
    }
    out
}

#[tokio::test]
async fn a_populated_database_survives_backup_and_restore() {
    let app = App::start().await;
    let b = app.signed_in("mg_admin").await;
    assert_eq!(
        b.submit("/cabinet/applicants", "/cabinet/applicants", FORM)
            .await
            .status(),
        303
    );
    assert_eq!(
        b.submit(
            "/cabinet/lists",
            "/cabinet/lists/new",
            &[("note", "резерв")]
        )
        .await
        .status(),
        303
    );
    let before = counts(&app.state().db).await;
    assert!(before.iter().all(|&n| n > 0), "{before:?}");
    let backups = tempfile::tempdir().unwrap();
    let file = backups.path().join("talapker.surql");
    let size = talapker::store::backup::export(&app.state().db, &file)
        .await
        .unwrap();
    assert!(size > 1000);
    assert!(!backups.path().join("talapker.partial").exists());
    app.stop().await;

    // Restore into a fresh on-disk database, then start the server on it.
    let dir = tempfile::tempdir().unwrap();
    let mut s = Settings::for_tests(dir.path().to_path_buf());
    s.db = Some(format!("surrealkv://{}", dir.path().join("db").display()));
    {
        let db = talapker::store::connect(&s).await.unwrap();
        talapker::store::backup::restore(&db, &file).await.unwrap();
        assert_eq!(counts(&db).await, before);
        // A second restore into the now populated database is refused.
        let err = talapker::store::backup::restore(&db, &file)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not empty"), "{err}");
        assert_eq!(
            talapker::store::migrate(&db, &talapker::store::embedded_migrations())
                .await
                .unwrap(),
            0
        );
    }
    let app = App::start_with(s, dir).await;
    assert_eq!(counts(&app.state().db).await[..5], before[..5]);
    let b = app.signed_in("mg_admin").await;
    let (_, html) = b.get_text("/cabinet/applicants").await;
    assert!(html.contains("Жаншакимова Айнур Мараловна"));
    assert!(
        html.contains("data-testid=\"total\">1<"),
        "the restored counters are not counted twice"
    );
    let (_, html) = b.get_text("/cabinet/lists").await;
    assert!(html.contains("резерв"));
    app.stop().await;
}

#[tokio::test]
async fn the_command_line_backs_up_and_restores_an_embedded_database() {
    let bin = env!("CARGO_BIN_EXE_talapker");
    let src = tempfile::tempdir().unwrap();
    let dst = tempfile::tempdir().unwrap();
    let file = src.path().join("b.surql");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(args)
            .env("TALAPKER_LOG", "warn")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let data = src.path().to_str().unwrap();
    let (ok, out) = run(&["--data-dir", data, "migrate"]);
    assert!(ok, "{out}");
    let (ok, out) = run(&["--data-dir", data, "backup", file.to_str().unwrap()]);
    assert!(ok, "{out}");
    assert!(out.contains("backup written"), "{out}");
    let (ok, out) = run(&[
        "--data-dir",
        dst.path().to_str().unwrap(),
        "restore",
        file.to_str().unwrap(),
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("restored"), "{out}");
    // Restoring over it again is refused with a reason.
    let (ok, out) = run(&[
        "--data-dir",
        dst.path().to_str().unwrap(),
        "restore",
        file.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(out.contains("not empty"), "{out}");
}

#[test]
fn old_scheduled_backups_are_pruned() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..5 {
        std::fs::write(
            dir.path().join(format!("talapker-2026120{i}-000000.surql")),
            "x",
        )
        .unwrap();
    }
    std::fs::write(dir.path().join("other.txt"), "x").unwrap();
    assert_eq!(talapker::store::backup::prune(dir.path(), 2).unwrap(), 3);
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "other.txt",
            "talapker-20261203-000000.surql",
            "talapker-20261204-000000.surql"
        ]
    );
}
