//! A bounded load run (#9.5): the real binary on an on-disk database, 16 concurrent clients
//! on loopback for a fixed time, mixed reads and writes. Zero 5xx, zero lost writes, and the
//! server's memory stays bounded. Not a benchmark: it asserts no timings, it prints them.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use talapker::domain::iin::{make_iin, Gender};

const CLIENTS: usize = 16;
const RUN: Duration = Duration::from_secs(8);
/// The server's resident memory must stay under this (bytes).
const RSS_LIMIT: u64 = 512 * 1024 * 1024;

fn rss_of(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_reads_and_writes_under_load_lose_nothing_and_never_fail() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_talapker"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--log",
            "warn",
            "--no-demo-pki",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let probe = reqwest::Client::new();
    for _ in 0..300 {
        if probe
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut sessions = Vec::new();
    for login in ["mg_admin", "mg_field", "office", "mg_admin"] {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let page = client
            .get(format!("{base}/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let token = common::csrf_of(&page);
        let r = client
            .post(format!("{base}/login"))
            .form(&[
                ("login", login),
                ("password", "demo"),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 303);
        let page = client
            .get(format!("{base}/cabinet/applicants"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        sessions.push((login, client, common::csrf_of(&page)));
    }
    let serial = Arc::new(AtomicU64::new(0));
    let written = Arc::new(Mutex::new(Vec::<String>::new()));
    let server_errors = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let peak = Arc::new(AtomicU64::new(rss_of(pid)));
    let started = Instant::now();
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_of(pid), Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut tasks = Vec::new();
    for c in 0..CLIENTS {
        let (login, client, token) = sessions[c % sessions.len()].clone();
        let (base, serial, written, server_errors, requests) = (
            base.clone(),
            serial.clone(),
            written.clone(),
            server_errors.clone(),
            requests.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while started.elapsed() < RUN {
                n += 1;
                let status = if login != "office" && n % 3 == 0 {
                    // A write: a new applicant with a unique IIN.
                    let k = serial.fetch_add(1, Ordering::SeqCst);
                    let date = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap()
                        + chrono::Duration::days((k % 9000) as i64);
                    let Some(iin) = (0..10)
                        .find_map(|s| make_iin(date, Gender::Female, (k / 9000) as u32 * 10 + s))
                    else {
                        continue;
                    };
                    let iin = iin.to_string();
                    let birth = date.format("%d.%m.%Y").to_string();
                    let r = client
                        .post(format!("{base}/cabinet/applicants"))
                        .form(&[
                            ("iin", iin.as_str()),
                            ("last_name", "Нагрузова"),
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
                            ("csrf_token", token.as_str()),
                        ])
                        .send()
                        .await;
                    match r {
                        Ok(r) => {
                            if r.status() == 303 {
                                written.lock().unwrap().push(iin);
                            }
                            r.status().as_u16()
                        }
                        Err(_) => 599,
                    }
                } else {
                    let path = match n % 4 {
                        0 => "/cabinet/applicants?page=2".to_string(),
                        1 => "/cabinet/applicants?fio=нагрузова".to_string(),
                        2 => format!("/cabinet/applicants?iin={}", 800000 + n % 1000),
                        _ => "/cabinet/lists".to_string(),
                    };
                    match client.get(format!("{base}{path}")).send().await {
                        Ok(r) => r.status().as_u16(),
                        Err(_) => 599,
                    }
                };
                requests.fetch_add(1, Ordering::SeqCst);
                if status >= 500 {
                    server_errors.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    sampler.abort();
    let elapsed = started.elapsed().as_secs_f64();
    let written = written.lock().unwrap().clone();
    let total = requests.load(Ordering::SeqCst);
    let peak = peak.load(Ordering::SeqCst);
    println!(
        "load: {total} requests in {elapsed:.1} s ({:.0} req/s), {} writes, peak server RSS {} MiB",
        total as f64 / elapsed,
        written.len(),
        peak / 1024 / 1024
    );
    assert_eq!(
        server_errors.load(Ordering::SeqCst),
        0,
        "no 5xx and no dropped connection"
    );
    assert!(written.len() > 20, "writes happened: {}", written.len());
    assert!(peak > 0 && peak < RSS_LIMIT, "peak RSS {peak} bytes");
    // Zero lost writes: every acknowledged applicant is there (the total is checked too).
    let (_, client, _) = &sessions[0];
    let html = client
        .get(format!("{base}/cabinet/applicants"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "data-testid=\"total\">";
    let i = html.find(marker).unwrap() + marker.len();
    let shown: usize = html[i..].split('<').next().unwrap().parse().unwrap();
    assert_eq!(
        shown,
        written.len(),
        "every acknowledged write, and nothing else"
    );
    for iin in written.iter().step_by(written.len().max(50) / 50) {
        let html = client
            .get(format!("{base}/cabinet/applicants?iin={iin}"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(html.matches("<tr id=\"applicant-").count(), 1, "{iin}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
