use std::io::Read;

use anyhow::{bail, Context};
use clap::Parser;
use tracing_subscriber::EnvFilter;

use talapker::config::{Cli, Command, PkiCommand, UserCommand};
use talapker::domain::iin::Iin;
use talapker::domain::user::{hash_password, Role};
use talapker::{startup, store};

/// The server allocates through jemalloc, whose options (`JEMALLOC_SYS_WITH_MALLOC_CONF` in
/// .cargo/config.toml) are built into it: the benchmark's peak RSS at 200 000 applicants was
/// 584 MiB with mimalloc and 404–417 with these options (BENCHMARKS.md, fifth session).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn read_password() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading the password from standard input")?;
    let p = s.trim_end_matches(['\n', '\r']).to_string();
    if p.len() < 4 {
        bail!("the password must have at least 4 characters");
    }
    Ok(p)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = cli.settings;
    let filter = EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    if settings.log_json {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }

    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let state = startup::prepare(&settings).await?;
            let running = startup::spawn(state.clone()).await?;
            println!("Talapker is listening on http://{}", running.addr);
            if running.addr.ip().is_loopback() {
                println!(
                    "Open http://localhost:{}/ and sign in.",
                    running.addr.port()
                );
            }
            running.wait().await;
            // Close the database cleanly before exiting.
            drop(state);
        }
        Command::AisSim {
            generate_registry: Some(path),
            people,
            seed,
        } => {
            let n = talapker::ais::registry::generate(&path, people, seed)?;
            println!("{n} people written to {}", path.display());
        }
        Command::AisSim {
            generate_registry: None,
            ..
        } => {
            let sim = startup::spawn_simulator(&settings).await?;
            println!(
                "АИС «Рынок труда» simulator listening on http://{} ({} people in the registry, {} trusted roots)",
                sim.addr,
                sim.state.registry.len(),
                sim.state.trust.len()
            );
            sim.wait().await;
        }
        Command::Backup { file } => {
            let db = store::connect(&settings).await?;
            let size = store::backup::export(&db, &file).await?;
            println!("backup written to {} ({size} bytes)", file.display());
        }
        Command::Restore { file } => {
            let db = store::connect(&settings).await?;
            store::backup::restore(&db, &file).await?;
            let n = store::migrate(&db, &store::embedded_migrations()).await?;
            println!(
                "{} restored into {} ({n} newer migration(s) applied)",
                file.display(),
                settings.db_url()
            );
        }
        Command::Migrate => {
            let db = store::connect(&settings).await?;
            let n = store::migrate(&db, &store::embedded_migrations()).await?;
            println!("{n} migration(s) applied");
        }
        Command::Pki(PkiCommand::Demo { dir, password }) => {
            let dir = dir.unwrap_or_else(|| settings.data_dir.join("pki"));
            let users: Vec<(&str, &str, &str)> = startup::DEMO_ACCOUNTS
                .iter()
                .map(|(login, _, _, iin, name)| (*login, *name, *iin))
                .collect();
            let pki = talapker::signing::pki::write_demo_pki(&dir, &users, &password)?;
            println!("demo root certificate: {}", pki.root_pem.display());
            for path in &pki.key_files {
                println!("key: {}", path.display());
            }
            println!(
                "the .p12 password is «{password}»; the demo root is trusted only if configured"
            );
        }
        Command::User(cmd) => {
            let db = store::connect(&settings).await?;
            store::migrate(&db, &store::embedded_migrations()).await?;
            match cmd {
                UserCommand::Add {
                    login,
                    role,
                    region,
                    iin,
                    name,
                    password_stdin,
                } => {
                    if !password_stdin {
                        bail!("pass --password-stdin and give the password on standard input");
                    }
                    let role =
                        Role::parse(&role).context("role must be mobile_group, office or admin")?;
                    let iin = Iin::parse(&iin).map_err(|e| anyhow::anyhow!("IIN: {e}"))?;
                    let dict = store::dictionaries::load(&db).await?;
                    if dict.place(&region).is_none() {
                        bail!("region {region} is not a КАТО code of an oblast, district or city district");
                    }
                    if store::users::find_by_login(&db, &login).await?.is_some() {
                        bail!("a user with login {login} already exists");
                    }
                    let hash = hash_password(&read_password()?)?;
                    store::users::create(
                        &db,
                        store::users::NewUser {
                            login: &login,
                            full_name: &name,
                            iin: iin.as_str(),
                            role,
                            region: &region,
                            password_hash: hash,
                        },
                    )
                    .await?;
                    println!("user {login} added");
                }
                UserCommand::Passwd {
                    login,
                    password_stdin,
                } => {
                    if !password_stdin {
                        bail!("pass --password-stdin and give the password on standard input");
                    }
                    let hash = hash_password(&read_password()?)?;
                    if !store::users::set_password(&db, &login, hash).await? {
                        bail!("no user with login {login}");
                    }
                    println!("password of {login} changed");
                }
                UserCommand::List => {
                    println!(
                        "{:<20} {:<14} {:<10} {:<12} {}",
                        "login", "role", "region", "iin", "name"
                    );
                    for u in store::users::list(&db).await? {
                        println!(
                            "{:<20} {:<14} {:<10} {:<12} {}{}",
                            u.login,
                            u.role,
                            u.region,
                            u.iin,
                            u.full_name,
                            if u.disabled { " (disabled)" } else { "" }
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
