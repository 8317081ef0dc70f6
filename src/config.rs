//! Settings from defaults, environment variables and flags. Secrets are never printed.

use clap::{Args, Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "talapker",
    version,
    about = "Talapker: the mobile-group cabinet for applicants to state-funded ТиПО training",
    long_about = "Talapker serves the mobile-group cabinet (applicants, lists, ЭЦП signing, the exchange \
with АИС «Рынок труда»). Without a subcommand it starts the web server."
)]
pub struct Cli {
    #[command(flatten)]
    pub settings: Settings,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "TALAPKER_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub listen: SocketAddr,

    /// Database URL: surrealkv://PATH (embedded, on disk), mem:// (in memory, for tests) or
    /// ws://HOST:PORT (a remote SurrealDB server or cluster). Defaults to surrealkv:// under the
    /// data directory.
    #[arg(long, env = "TALAPKER_DB", global = true)]
    pub db: Option<String>,

    /// User name for a remote SurrealDB (ws://, wss://).
    #[arg(long, env = "TALAPKER_DB_USER", global = true)]
    pub db_user: Option<String>,

    /// Password for a remote SurrealDB (ws://, wss://). Never printed.
    #[arg(
        long,
        env = "TALAPKER_DB_PASSWORD",
        global = true,
        hide_env_values = true
    )]
    pub db_password: Option<String>,

    /// Embedded SurrealKV: the block cache, in MiB (SurrealKV's own default is half of the RAM).
    #[arg(
        long,
        env = "TALAPKER_DB_CACHE_MB",
        default_value_t = 64,
        global = true
    )]
    pub db_cache_mb: u64,

    /// Embedded SurrealKV: the largest memtable, in MiB. One transaction must fit in it: a
    /// larger one fails, and SurrealKV then cannot replay its log until the memtable is made
    /// larger (a 10 000-verdict АИС result needs more than 32).
    #[arg(
        long,
        env = "TALAPKER_DB_MEMTABLE_MB",
        default_value_t = 128,
        global = true
    )]
    pub db_memtable_mb: u64,

    /// SurrealDB namespace.
    #[arg(
        long,
        env = "TALAPKER_DB_NS",
        default_value = "talapker",
        global = true
    )]
    pub db_ns: String,

    /// SurrealDB database name.
    #[arg(long, env = "TALAPKER_DB_NAME", default_value = "main", global = true)]
    pub db_name: String,

    /// Directory for the embedded database and the persisted secret key.
    #[arg(
        long,
        env = "TALAPKER_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Log filter (tracing syntax), e.g. info or talapker=debug,info.
    #[arg(long, env = "TALAPKER_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Log as JSON lines instead of human-readable text.
    #[arg(long, env = "TALAPKER_LOG_JSON", global = true)]
    pub log_json: bool,

    /// Mark cookies Secure (set this when the server is behind TLS).
    #[arg(long, env = "TALAPKER_SECURE_COOKIES", global = true)]
    pub secure_cookies: bool,

    /// Create the demo accounts on an empty database even when not bound to loopback.
    /// (On loopback they are created anyway.)
    #[arg(long, env = "TALAPKER_DEMO", global = true)]
    pub demo: bool,

    /// Session lifetime in minutes.
    #[arg(
        long,
        env = "TALAPKER_SESSION_MINUTES",
        default_value_t = 720,
        global = true
    )]
    pub session_minutes: i64,

    /// Passkeys: the relying-party id, the domain passkeys are bound to (a host name, never an
    /// IP address). Changing it makes every registered passkey unusable.
    #[arg(
        long,
        env = "TALAPKER_RP_ID",
        default_value = "localhost",
        global = true
    )]
    pub rp_id: String,

    /// Passkeys: the origin browsers reach the site at, scheme, host and port
    /// (e.g. https://talapker.example.kz); its host must be the RP id or under it.
    #[arg(
        long,
        env = "TALAPKER_RP_ORIGIN",
        default_value = "http://localhost:8080",
        global = true
    )]
    pub rp_origin: String,

    /// АИС «Рынок труда»: the base URL packages are delivered to (`{url}/api/packages`).
    /// Unset: the АИС simulator runs inside this process at /ais-sim.
    #[arg(long, env = "TALAPKER_AIS_URL", global = true)]
    pub ais_url: Option<String>,

    /// АИС: the bearer token the portal presents to АИС (and `ais-sim` expects). Unset: derived
    /// from the secret key (enough for the built-in simulator only). Never printed.
    #[arg(
        long,
        env = "TALAPKER_AIS_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub ais_token: Option<String>,

    /// АИС: the bearer token АИС must present to the results endpoint (`POST
    /// /api/ais/results`), and that `ais-sim` presents. Unset: derived from the secret key.
    #[arg(
        long,
        env = "TALAPKER_AIS_CALLBACK_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub ais_callback_token: Option<String>,

    /// The URL АИС reaches this portal at, for the results callback. Unset: http://<listen>.
    #[arg(long, env = "TALAPKER_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// ЭЦП: a directory of PEM certificates of the trusted root CAs. Defaults to
    /// <data-dir>/trust. Nothing is trusted that is not there.
    #[arg(long, env = "TALAPKER_TRUST_DIR", global = true)]
    pub trust_dir: Option<PathBuf>,

    /// The АИС simulator (built-in or `ais-sim`): how long a check takes, in milliseconds.
    #[arg(
        long,
        env = "TALAPKER_AIS_DELAY_MS",
        default_value_t = 3000,
        global = true
    )]
    pub ais_delay_ms: u64,

    /// The АИС simulator's person registry (CSV). Defaults to <data-dir>/ais-registry.csv,
    /// generated on first use.
    #[arg(long, env = "TALAPKER_AIS_REGISTRY", global = true)]
    pub ais_registry: Option<PathBuf>,

    /// Scheduled backups: a directory the server writes `talapker-<time>.surql` into every
    /// --backup-every-minutes (the embedded database is locked by the server, so this is how
    /// a running embedded server is backed up). Unset: no scheduled backups.
    #[arg(long, env = "TALAPKER_BACKUP_DIR", global = true)]
    pub backup_dir: Option<PathBuf>,

    /// Scheduled backups: minutes between two backups.
    #[arg(
        long,
        env = "TALAPKER_BACKUP_EVERY_MINUTES",
        default_value_t = 1440,
        global = true
    )]
    pub backup_every_minutes: u64,

    /// Scheduled backups: how many to keep.
    #[arg(
        long,
        env = "TALAPKER_BACKUP_KEEP",
        default_value_t = 14,
        global = true
    )]
    pub backup_keep: usize,

    /// Do not write the demo PKI (<data-dir>/pki) when the demo accounts are created.
    #[arg(long, env = "TALAPKER_NO_DEMO_PKI", global = true)]
    pub no_demo_pki: bool,
}

impl Settings {
    pub fn trust_dir(&self) -> PathBuf {
        self.trust_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("trust"))
    }

    pub fn ais_registry(&self) -> PathBuf {
        self.ais_registry
            .clone()
            .unwrap_or_else(|| self.data_dir.join("ais-registry.csv"))
    }

    pub fn db_url(&self) -> String {
        match &self.db {
            Some(url) => url.clone(),
            None => format!("surrealkv://{}", self.data_dir.join("db").display()),
        }
    }

    /// Settings for tests: in-memory database, port 0, a given data directory.
    pub fn for_tests(data_dir: PathBuf) -> Settings {
        Settings {
            listen: "127.0.0.1:0".parse().expect("valid address"),
            db: Some("mem://".into()),
            db_user: None,
            db_password: None,
            db_cache_mb: 64,
            db_memtable_mb: 128,
            db_ns: "talapker".into(),
            db_name: "main".into(),
            data_dir,
            log: "warn".into(),
            log_json: false,
            secure_cookies: false,
            demo: true,
            session_minutes: 720,
            rp_id: "localhost".into(),
            rp_origin: "http://localhost:8080".into(),
            ais_url: None,
            ais_token: None,
            ais_callback_token: None,
            public_url: None,
            trust_dir: None,
            ais_delay_ms: 100,
            ais_registry: None,
            no_demo_pki: true,
            backup_dir: None,
            backup_every_minutes: 1440,
            backup_keep: 14,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the web server (the default).
    Serve,
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage staff accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// ЭЦП: the demo PKI.
    #[command(subcommand)]
    Pki(PkiCommand),
    /// Write the whole database to FILE (SurrealQL). For the embedded database, stop the
    /// server first or use the scheduled backups (--backup-dir).
    Backup { file: PathBuf },
    /// Load a backup FILE into an empty database (a fresh --data-dir or --db).
    Restore { file: PathBuf },
    /// The АИС «Рынок труда» simulator as its own process: its API on --listen, its own
    /// embedded store (--db, default <data-dir>/ais-sim), the registry (--ais-registry), the
    /// trust store (--trust-dir), tokens (--ais-token expected from the portal,
    /// --ais-callback-token presented to it) and the check delay (--ais-delay-ms).
    AisSim {
        /// Only write a realistic person registry CSV to this file and exit.
        #[arg(long)]
        generate_registry: Option<PathBuf>,
        /// How many people the generated registry has (besides the fixed demo people).
        #[arg(long, default_value_t = 10_000)]
        people: usize,
        /// The seed of the generated registry (the same seed gives the same file).
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum PkiCommand {
    /// Write a demo root certificate (trust/demo-root.pem) and .p12 keys of the demo accounts
    /// (keys/AUTH_RSA256_<login>.p12, keys/AUTH_ECDSA_<login>.p12). Nothing demo is trusted
    /// unless configured.
    Demo {
        /// Where to write; defaults to <data-dir>/pki.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The password of the .p12 files.
        #[arg(long, default_value = "demo1234")]
        password: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account. The password is read from standard input.
    Add {
        #[arg(long)]
        login: String,
        /// mobile_group, office or admin.
        #[arg(long)]
        role: String,
        /// КАТО code of the region (9 digits).
        #[arg(long)]
        region: String,
        /// The employee's IIN (used to match signature certificates).
        #[arg(long)]
        iin: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Read the password from standard input (required).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change an account's password, read from standard input.
    Passwd {
        login: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List the accounts.
    List,
}
