use std::time::Instant;
use talapker::config::Settings;
use talapker::store;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::args().nth(1).unwrap();
    let mut s = Settings::for_tests(dir.clone().into());
    s.db = None;
    let db = store::connect(&s).await?;
    let qs: Vec<(&str, String)> = std::env::args().skip(2).map(|q| ("q", q)).collect();
    for (_, q) in qs {
        for round in 0..3 {
            let t = Instant::now();
            let n = if std::env::var_os("PRINT").is_some() {
                1
            } else {
                50
            };
            for _ in 0..n {
                let mut r = db
                    .query(q.as_str())
                    .bind(("region", "710000000"))
                    .bind(("limit", 20))
                    .bind(("offset", 0))
                    .await?;
                let v: surrealdb::types::Value = r.take(0)?;
                if std::env::var_os("PRINT").is_some() && round == 0 {
                    println!("{}", format!("{v:?}").chars().take(600).collect::<String>());
                }
            }
            println!(
                "{:>9.3} ms  {}",
                t.elapsed().as_secs_f64() * 1000.0 / 50.0,
                if round == 0 { q.as_str() } else { "" }
            );
        }
    }
    Ok(())
}
