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
            if !settings.no_demo_pki {
                write_demo_pki(settings)?;
            }
        } else {
            println!(
                "The database has no accounts. Add one with:\n  echo 'PASSWORD' | talapker user add --login LOGIN --role mobile_group --region 710000000 --iin IIN --name \"ФИО\" --password-stdin"
            );
        }
    }
    let trust = load_trust(settings)?;
    Ok(Arc::new(AppState {
        db,
        settings: settings.clone(),
        ais_callback_token: ais_callback_token(settings, &secret),
        secret,
        dict,
        views: Views::new(),
        trust,
        public_url: std::sync::OnceLock::new(),
        outbox_wake: Arc::new(tokio::sync::Notify::new()),
        totals: Default::default(),
    }))
}

/// A token derived from the secret key, for the built-in АИС simulator.
pub fn derived_token(secret: &[u8], purpose: &str) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(purpose.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The token the portal presents to АИС.
pub fn ais_token(settings: &Settings, secret: &[u8]) -> String {
    settings
        .ais_token
        .clone()
        .unwrap_or_else(|| derived_token(secret, "ais-packages"))
}

/// The token АИС presents to the portal's results endpoint.
pub fn ais_callback_token(settings: &Settings, secret: &[u8]) -> String {
    settings
        .ais_callback_token
        .clone()
        .unwrap_or_else(|| derived_token(secret, "ais-callback"))
}

/// The trust store: every PEM file of the trust directory (none: nothing is trusted).
pub fn load_trust(settings: &Settings) -> anyhow::Result<crate::signing::TrustStore> {
    let dir = settings.trust_dir();
    if !dir.exists() {
        tracing::warn!(dir = %dir.display(), "no trust directory: no ЭЦП signature will be accepted");
        return Ok(crate::signing::TrustStore::empty());
    }
    let trust = crate::signing::TrustStore::from_dir(&dir)?;
    tracing::info!(dir = %dir.display(), roots = trust.len(), "ЭЦП trust store loaded");
    Ok(trust)
}

/// The demo PKI of a fresh demo database: `<data-dir>/pki/keys/AUTH_*_<login>.p12` (password
/// [`crate::signing::pki::DEMO_P12_PASSWORD`]) and its root, which is put into the trust
/// directory so that the demo keys are accepted. Nothing else puts the demo root there.
pub fn write_demo_pki(settings: &Settings) -> anyhow::Result<()> {
    let users: Vec<(&str, &str, &str)> = DEMO_ACCOUNTS
        .iter()
        .map(|(login, _, _, iin, name)| (*login, *name, *iin))
        .collect();
    let dir = settings.data_dir.join("pki");
    let pki =
        crate::signing::pki::write_demo_pki(&dir, &users, crate::signing::pki::DEMO_P12_PASSWORD)?;
    let trust = settings.trust_dir();
    std::fs::create_dir_all(&trust)?;
    std::fs::copy(&pki.root_pem, trust.join("demo-root.pem"))?;
    println!(
        "Demo ЭЦП keys written to {} (password «{}»); the demo root is trusted through {}.",
        dir.join("keys").display(),
        crate::signing::pki::DEMO_P12_PASSWORD,
        trust.join("demo-root.pem").display()
    );
    Ok(())
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

/// Binds `listen` (port 0 picks a free port) and tells the address it got.
async fn bind(listen: SocketAddr) -> anyhow::Result<(impl Acceptor + Send + 'static, SocketAddr)> {
    let acceptor = TcpListener::bind(listen.to_string())
        .into_acceptor()
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .context("reading the bound address")?;
    Ok((acceptor, addr))
}

type ServerTask = tokio::task::JoinHandle<std::io::Result<()>>;

/// Serves `app` until the returned sender fires or a signal comes, letting in-flight requests
/// finish within `grace`.
fn serve(
    acceptor: impl Acceptor + Send + 'static,
    app: impl poem::Endpoint + 'static,
    grace: Duration,
) -> (tokio::sync::oneshot::Sender<()>, ServerTask) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
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
                Some(grace),
            )
            .await
    });
    (stop, task)
}

/// Binds the listener (port 0 picks a free port) and serves until `stop` or a signal.
pub async fn spawn(state: Arc<AppState>) -> anyhow::Result<Running> {
    let (acceptor, addr) = bind(state.settings.listen).await?;
    let public = state
        .settings
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let _ = state
        .public_url
        .set(public.trim_end_matches('/').to_string());
    let mut background = Vec::new();
    // АИС: the configured endpoint, or the simulator inside this process.
    let (endpoint, sim) = match &state.settings.ais_url {
        Some(url) => (url.clone(), None),
        None => {
            let sim = built_in_simulator(&state).await?;
            background.push(tokio::spawn(crate::ais::sim::worker(sim.clone())));
            (format!("http://{addr}/ais-sim"), Some(sim))
        }
    };
    background.push(tokio::spawn(crate::ais::delivery::worker(
        state.db.clone(),
        crate::ais::delivery::Endpoint {
            base: endpoint,
            token: ais_token(&state.settings, &state.secret),
        },
        state.outbox_wake.clone(),
    )));
    if let Some(dir) = state.settings.backup_dir.clone() {
        background.push(tokio::spawn(scheduled_backups(
            state.db.clone(),
            dir,
            Duration::from_secs(state.settings.backup_every_minutes.max(1) * 60),
            state.settings.backup_keep.max(1),
        )));
    }
    let app = web::routes(state.clone(), sim);
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
    let (stop, task) = serve(acceptor, app, Duration::from_secs(10));
    Ok(Running {
        addr,
        state,
        stop,
        task,
        background: {
            background.push(sweeper);
            background
        },
    })
}

/// The АИС simulator inside the portal: its own store (in memory with an in-memory portal,
/// else `<data-dir>/ais-sim`), the registry (generated on first use), the portal's trust store.
async fn built_in_simulator(state: &AppState) -> anyhow::Result<Arc<crate::ais::sim::SimState>> {
    let settings = &state.settings;
    let url = if settings.db_url().starts_with("mem://") {
        "mem://".to_string()
    } else {
        format!(
            "surrealkv://{}",
            settings.data_dir.join("ais-sim").display()
        )
    };
    let db = crate::ais::sim::open_store(&url).await?;
    let registry = load_or_generate_registry(settings)?;
    Ok(Arc::new(crate::ais::sim::SimState {
        db,
        registry,
        trust: state.trust.clone(),
        token_in: ais_token(settings, &state.secret),
        token_out: state.ais_callback_token.clone(),
        delay: Duration::from_millis(settings.ais_delay_ms),
        wake: Arc::new(tokio::sync::Notify::new()),
    }))
}

/// The simulator's registry: the configured file, generated (10 000 people) when missing.
pub fn load_or_generate_registry(
    settings: &Settings,
) -> anyhow::Result<crate::ais::registry::Registry> {
    let path = settings.ais_registry();
    if !path.exists() {
        let n = crate::ais::registry::generate(&path, 10_000, 2026)?;
        tracing::info!(path = %path.display(), people = n, "АИС simulator: registry generated");
    }
    crate::ais::registry::Registry::load(&path)
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

/// A running standalone АИС simulator (`talapker ais-sim`).
pub struct SimRunning {
    pub addr: SocketAddr,
    pub state: Arc<crate::ais::sim::SimState>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    worker: tokio::task::JoinHandle<()>,
}

impl SimRunning {
    pub async fn wait(self) {
        let _ = self.task.await;
        self.worker.abort();
    }
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        self.worker.abort();
        let _ = self.worker.await;
    }
}

/// Starts the АИС simulator as its own server: `--listen`, its store at `--db` (default
/// `<data-dir>/ais-sim`), `--ais-registry`, `--trust-dir`, `--ais-token` (expected from the
/// portal), `--ais-callback-token` (presented to the portal), `--ais-delay-ms`.
pub async fn spawn_simulator(settings: &Settings) -> anyhow::Result<SimRunning> {
    let url = settings.db.clone().unwrap_or_else(|| {
        format!(
            "surrealkv://{}",
            settings.data_dir.join("ais-sim").display()
        )
    });
    let db = crate::ais::sim::open_store(&url).await?;
    let secret = load_or_create_secret(&settings.data_dir)?;
    let state = Arc::new(crate::ais::sim::SimState {
        db,
        registry: load_or_generate_registry(settings)?,
        trust: load_trust(settings)?,
        token_in: ais_token(settings, &secret),
        token_out: ais_callback_token(settings, &secret),
        delay: Duration::from_millis(settings.ais_delay_ms),
        wake: Arc::new(tokio::sync::Notify::new()),
    });
    let (acceptor, addr) = bind(settings.listen).await?;
    let (stop, task) = serve(
        acceptor,
        crate::ais::sim::routes(state.clone()),
        Duration::from_secs(5),
    );
    let worker = tokio::spawn(crate::ais::sim::worker(state.clone()));
    Ok(SimRunning {
        addr,
        state,
        stop,
        task,
        worker,
    })
}

/// Writes a backup every `every` into `dir`, keeping the newest `keep`.
async fn scheduled_backups(db: Db, dir: std::path::PathBuf, every: Duration, keep: usize) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let path = store::backup::scheduled_name(&dir);
        match store::backup::export(&db, &path).await {
            Ok(size) => {
                tracing::info!(path = %path.display(), size, "scheduled backup written");
                if let Err(e) = store::backup::prune(&dir, keep) {
                    tracing::warn!(error = ?e, "pruning old backups");
                }
            }
            Err(e) => tracing::error!(error = ?e, "the scheduled backup failed"),
        }
    }
}
