//! Builds the application: database, migrations, dictionaries, demo accounts, the HTTP server,
//! and graceful shutdown.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::Server;
use rand::RngCore;

use crate::config::Settings;
use crate::domain::user::{hash_password, Role};
use crate::store::{self, Db};
use crate::views::Views;
use crate::web::{self, AppState};

/// The secret key (CSRF tokens), generated on first start and kept in the data directory so
/// that tokens and sessions survive a restart.
pub fn load_or_create_secret(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let path = data_dir.join("secret.key");
    if let Ok(text) = std::fs::read_to_string(&path) {
        if let Ok(bytes) = hex::decode(text.trim()) {
            if bytes.len() >= 32 {
                return Ok(bytes);
            }
        }
        anyhow::bail!(
            "{} is not a valid secret key (64 hex digits)",
            path.display()
        );
    }
    let mut key = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    std::fs::write(&path, hex::encode(&key))
        .with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(key)
}

/// The demo accounts of the README, created on an empty database.
pub const DEMO_ACCOUNTS: &[(&str, Role, &str, &str, &str)] = &[
    (
        "mg_admin",
        Role::MobileGroup,
        "710000000",
        "941008400880",
        "Туменбай Улбосын Абайкызы",
    ),
    (
        "mg_field",
        Role::MobileGroup,
        "711310000",
        "941109450905",
        "Дюсенгалиев Арман Кентаевич",
    ),
    (
        "office",
        Role::Office,
        "710000000",
        "930122451117",
        "Базарова Балжан Аскарбеккызы",
    ),
    (
        "admin",
        Role::Admin,
        "710000000",
        "860929400441",
        "Асанова Жазира Бекболатовна",
    ),
];
pub const DEMO_PASSWORD: &str = "demo";

pub async fn create_demo_accounts(db: &Db) -> anyhow::Result<bool> {
    if store::users::count(db).await? > 0 {
        return Ok(false);
    }
    for (login, role, region, iin, name) in DEMO_ACCOUNTS {
        store::users::create(
            db,
            store::users::NewUser {
                login,
                full_name: name,
                iin,
                role: *role,
                region,
                password_hash: hash_password(DEMO_PASSWORD)?,
            },
        )
        .await?;
    }
    Ok(true)
}

/// Opens the database, applies migrations, loads dictionaries and, on an empty database bound
/// to loopback, creates the demo accounts.
pub async fn prepare(settings: &Settings) -> anyhow::Result<Arc<AppState>> {
    let db = store::connect(settings).await?;
    store::migrate(&db, &store::embedded_migrations()).await?;
    let dict = store::dictionaries::load(&db).await?;
    let secret = load_or_create_secret(&settings.data_dir)?;
    if store::users::count(&db).await? == 0 {
        if settings.listen.ip().is_loopback() || settings.demo {
            create_demo_accounts(&db).await?;
            println!(
                "Demo accounts created (password «{DEMO_PASSWORD}»): mg_admin (mobile group, Astana), mg_field (mobile group, район Сарыарка), office (Astana), admin."
            );
        } else {
            println!(
                "The database has no accounts. Add one with:\n  echo 'PASSWORD' | talapker user add --login LOGIN --role mobile_group --region 710000000 --iin IIN --name \"ФИО\" --password-stdin"
            );
        }
    }
    Ok(Arc::new(AppState {
        db,
        settings: settings.clone(),
        secret,
        dict,
        views: Views::new(),
    }))
}

/// A running server: its address, and a handle that stops it.
pub struct Running {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    background: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Waits until the server stops (a signal, or `stop`).
    pub async fn wait(self) {
        let _ = self.task.await;
        for b in &self.background {
            b.abort();
        }
    }

    /// Stops the server after in-flight requests and ends the background tasks, so that the
    /// last database handles go and the embedded store can close.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        for b in self.background {
            b.abort();
            let _ = b.await;
        }
    }
}

/// Binds the listener (port 0 picks a free port) and serves until `stop` or a signal.
pub async fn spawn(state: Arc<AppState>) -> anyhow::Result<Running> {
    let acceptor = TcpListener::bind(state.settings.listen.to_string())
        .into_acceptor()
        .await
        .with_context(|| format!("listening on {}", state.settings.listen))?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .context("reading the bound address")?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = web::routes(state.clone());
    let sweeper_db = state.db.clone();
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = store::sessions::delete_expired(&sweeper_db).await {
                tracing::warn!(error = ?e, "sweeping expired sessions");
            }
        }
    });
    let task = tokio::spawn(async move {
        Server::new_with_acceptor(acceptor)
            .run_with_graceful_shutdown(
                app,
                async move {
                    tokio::select! {
                        _ = stopped => {},
                        _ = shutdown_signal() => {},
                    }
                },
                Some(Duration::from_secs(10)),
            )
            .await
    });
    Ok(Running {
        addr,
        state,
        stop,
        task,
        background: vec![sweeper],
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested: finishing in-flight requests");
}
