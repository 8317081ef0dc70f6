//! Benchmarks the project keeps (never timed tests). Starts the real server in-process over an
//! embedded on-disk database, seeds realistic data, drives it over HTTP on loopback and prints
//! a table.
//!
//!   cargo run --release --bin bench -- export --rows 100000
//!
//! Scenario `export`: one list of N applicants exported to Excel; reports the time to the last
//! byte, the file size, and the server's peak RSS growth while exporting.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Parser, Subcommand};
use talapker::config::Settings;
use talapker::domain::iin::{make_iin, Gender};
use talapker::startup;

#[derive(Parser)]
struct Args {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Excel export of one list of N applicants.
    Export {
        #[arg(long, default_value_t = 100_000)]
        rows: usize,
    },
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Seeds `n` applicants of Astana into one list, in batches, straight into the database.
async fn seed_list(db: &talapker::store::Db, n: usize) -> anyhow::Result<String> {
    let list = uuid::Uuid::now_v7().simple().to_string();
    let districts = [
        "711110000",
        "711210000",
        "711310000",
        "711410000",
        "711510000",
        "711610000",
    ];
    let names = [
        "Жаншакимова",
        "Васильев",
        "Кабылдинов",
        "Туменбай",
        "Токтарова",
        "Ахметов",
        "Сейткали",
    ];
    let mut made = 0usize;
    let mut serial = 0u32;
    let start = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("date");
    while made < n {
        let mut batch = Vec::with_capacity(1000);
        while batch.len() < 1000 && made + batch.len() < n {
            serial += 1;
            let date = start + chrono::Duration::days(i64::from(serial % 12_000));
            let gender = if serial % 2 == 0 {
                Gender::Female
            } else {
                Gender::Male
            };
            let Some(iin) = make_iin(date, gender, serial / 12_000 + serial % 7) else {
                continue;
            };
            let kato = districts[serial as usize % districts.len()];
            let last = names[serial as usize % names.len()];
            batch.push(serde_json::json!({
                "id": uuid::Uuid::now_v7().simple().to_string(),
                "iin": iin.as_str(), "last_name": last, "first_name": "Айнур", "middle_name": "Мараловна",
                "birth_date": date.format("%Y-%m-%d").to_string(), "gender": gender.code(),
                "kato": kato, "oblast": "710000000", "district": kato,
                "street": "Сейфуллина", "house": "37", "flat": "256",
                "applicant_category": "grad11", "employment_category": "unemployed",
                "status": "new", "ais_reason": "", "mg_reason": "", "list": list, "sent": false, "version": 1,
                "fio_search": format!("{} айнур мараловна", last.to_lowercase()),
                "created_by": "bench", "idem_key": "",
            }));
        }
        let len = batch.len();
        db.query("FOR $r IN $rows { CREATE type::record('applicant', $r.id) CONTENT { iin: $r.iin, last_name: $r.last_name, first_name: $r.first_name, middle_name: $r.middle_name, birth_date: $r.birth_date, gender: $r.gender, kato: $r.kato, oblast: $r.oblast, district: $r.district, street: $r.street, house: $r.house, flat: $r.flat, applicant_category: $r.applicant_category, employment_category: $r.employment_category, status: $r.status, ais_reason: '', mg_reason: '', list: $r.list, sent: false, version: 1, fio_search: $r.fio_search, created_at: time::now(), updated_at: time::now(), created_by: 'bench', idem_key: '' } RETURN NONE; }")
            .bind(("rows", serde_json::Value::Array(batch)))
            .await?
            .check()
            .context("seeding applicants")?;
        made += len;
    }
    db.query("CREATE type::record('list', $id) CONTENT { num: 1, region: '710000000', oblast: '710000000', district: '', note: 'bench', status: 'draft', members: $n, created_at: time::now(), created_by: 'bench', status_changed_at: time::now(), status_changed_by: 'bench' }")
        .bind(("id", list.clone()))
        .bind(("n", n as i64))
        .await?
        .check()
        .context("creating the list")?;
    Ok(list)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BENCH_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let dir = tempfile::tempdir()?;
    let mut settings = Settings::for_tests(dir.path().to_path_buf());
    settings.db = Some(format!("surrealkv://{}", dir.path().join("db").display()));
    let state = startup::prepare(&settings).await?;
    let running = startup::spawn(state.clone()).await?;
    let base = format!("http://{}", running.addr);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    // Sign in as the demo mobile group.
    let login = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let marker = "name=\"csrf_token\" value=\"";
    let i = login.find(marker).context("csrf")? + marker.len();
    let token = login[i..].split('"').next().unwrap_or_default().to_string();
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("login", "mg_admin"),
            ("password", "demo"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await?;
    anyhow::ensure!(r.status() == 303, "sign-in failed: {}", r.status());

    match args.scenario {
        Scenario::Export { rows } => {
            let t = Instant::now();
            let list = seed_list(&state.db, rows).await?;
            let seeded = t.elapsed();
            let before = rss_kib();
            let peak = Arc::new(AtomicU64::new(before));
            let stop = Arc::new(AtomicBool::new(false));
            let sampler = {
                let (peak, stop) = (peak.clone(), stop.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        peak.fetch_max(rss_kib(), Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                })
            };
            let t = Instant::now();
            let resp = client
                .get(format!("{base}/cabinet/lists/{list}/export.xlsx"))
                .send()
                .await?;
            anyhow::ensure!(resp.status() == 200, "export failed: {}", resp.status());
            let bytes = resp.bytes().await?;
            let took = t.elapsed();
            stop.store(true, Ordering::Relaxed);
            sampler.await?;
            let growth_mib = (peak.load(Ordering::Relaxed).saturating_sub(before)) as f64 / 1024.0;
            println!("| scenario | rows | seed | time to last byte | file | peak RSS growth |");
            println!("|---|---|---|---|---|---|");
            println!(
                "| excel export of one list | {rows} | {:.1} s | {:.2} s | {:.1} MiB | {:.1} MiB |",
                seeded.as_secs_f64(),
                took.as_secs_f64(),
                bytes.len() as f64 / 1048576.0,
                growth_mib
            );
        }
    }
    running.stop().await;
    Ok(())
}
