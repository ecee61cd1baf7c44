//! `truce`: the command line of the Truce operations information system.
//! Every subcommand works on one mission database (`--db`, default
//! `truce.db`); `demo` makes its own in a temporary directory.
#![forbid(unsafe_code)]

/// mimalloc instead of glibc's allocator, whose own work was 9-11 % of the
/// server's and a bulletin's CPU (bench/README.md, sixth session).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bulletin_cli;
mod demo;
mod demo_intake;
mod demo_ops;
mod demo_people;
mod exchange;
mod geo_cli;
mod intake_cli;
mod ops_cli;
mod people_cli;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use jiff::Timestamp;
use serde_json::json;
use truce_core::{EntityKind, Role, Sensitivity, ValidationContext};
use truce_server::{AppState, ServerConfig};
use truce_store::sqlite::SqliteStore;
use truce_store::{AccountChange, Change, Command, Store, VerifyError};
use uuid::Uuid;

use crate::exchange::Format;

#[derive(Parser)]
#[command(
    name = "truce",
    version,
    about = "Truce: one trusted record for ceasefire-monitoring, peacekeeping and humanitarian missions"
)]
struct Cli {
    /// The mission database (SQLite file).
    #[arg(long, global = true, env = "TRUCE_DB", default_value = "truce.db")]
    db: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a mission database with its first admin.
    Init {
        /// Mission name.
        #[arg(long)]
        name: String,
        /// First day of operations (YYYY-MM-DD); default today.
        #[arg(long)]
        started_on: Option<jiff::civil::Date>,
        /// Admin user name.
        #[arg(long, default_value = "admin")]
        admin: String,
    },
    /// Serve the API and web app.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Mark cookies Secure (when behind a TLS proxy).
        #[arg(long)]
        secure_cookies: bool,
    },
    /// Run the illustrative demo mission in a temporary database.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: SocketAddr,
        /// Seed of the incident generator.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Days of incidents to generate.
        #[arg(long, default_value_t = 28)]
        days: i64,
        /// Load the demo into `--db` (a new file) and exit instead of serving
        /// a temporary database: the base of the benchmark missions.
        #[arg(long)]
        load_only: bool,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCmd,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCmd,
    },
    /// Import records: incidents from CSV, HXL, ACLED- or UCDP-shaped CSV or
    /// XLSX, any kind from GeoJSON; all or nothing.
    Import {
        /// Collection, e.g. incidents, posts, aors.
        #[arg(long, default_value = "incidents")]
        kind: String,
        /// Format; guessed from the file name when absent.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Who is importing (journaled as the actor).
        #[arg(long, default_value = "import")]
        actor: String,
        /// The file.
        file: PathBuf,
    },
    /// Export records: incidents as CSV, HXL, ACLED- or UCDP-shaped CSV or
    /// XLSX, any kind as GeoJSON; streaming.
    Export {
        /// Collection, e.g. incidents.
        #[arg(long, default_value = "incidents")]
        kind: String,
        /// Format; guessed from the output name when absent.
        #[arg(long, value_enum)]
        format: Option<Format>,
        /// Output file; standard output when absent.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// The role the file is meant for: it holds only the records that
        /// role may read, and names in people records are redacted unless
        /// it may read them. Without it: every record, names redacted.
        #[arg(long)]
        role: Option<String>,
    },
    /// Walk the journal's hash chain and check current state against it.
    Verify,
    /// Create the mission key if missing and show its public half.
    Key {
        /// Key file (default: the database path with `.key`).
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Compute, sign and render a bulletin, or verify one.
    Bulletin(bulletin_cli::BulletinArgs),
    /// Write a consistent copy of the database while it is in use.
    Backup {
        /// Target file (must not exist).
        file: PathBuf,
    },
    /// The mission's road network (OSM PBF or GeoJSON lines).
    Roads {
        #[command(subcommand)]
        command: geo_cli::RoadsCmd,
    },
    /// Shortest route by road, avoiding areas; on the mission's network or `--pbf FILE`.
    Route(geo_cli::RouteArgs),
    /// Open-source intake: candidate facts from press releases and bulletins.
    Intake {
        #[command(subcommand)]
        command: intake_cli::IntakeCmd,
    },
    /// Convoys: status transitions (the API's rules and journal).
    Convoy {
        #[command(subcommand)]
        command: ops_cli::ConvoyCmd,
    },
    /// Warehouse stock: movements and reconciliation.
    Stock {
        #[command(subcommand)]
        command: ops_cli::StockCmd,
    },
    /// Tonnes delivered for a period, corridor and category.
    Totals(ops_cli::TotalsArgs),
    /// People and shelter: totals, occupancy, redacted exports.
    People {
        #[command(subcommand)]
        command: people_cli::PeopleCmd,
    },
    /// Replace the database with a verified backup (stop the server first).
    Restore {
        /// Backup file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user; the password is read from standard input, or generated.
    Add {
        /// User name.
        name: String,
        /// Role.
        #[arg(long)]
        role: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users.
    List,
    /// Disable a user and end their sessions.
    Disable {
        /// User name.
        name: String,
    },
}

#[derive(Subcommand)]
enum TokenCmd {
    /// Create an API token for a user; the secret is shown once.
    Create {
        /// Owner.
        #[arg(long)]
        user: String,
        /// Label.
        #[arg(long)]
        name: String,
    },
    /// Revoke a token by id.
    Revoke {
        /// Token id.
        id: Uuid,
    },
    /// List tokens.
    List,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn cli_actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn cmd(change: Change, reason: &str) -> Command {
    Command {
        actor: cli_actor(),
        reason: Some(reason.into()),
        idempotency: None,
        change,
    }
}

fn kind_arg(s: &str) -> Result<EntityKind> {
    EntityKind::from_collection(s)
        .or_else(|| EntityKind::parse(s))
        .ok_or_else(|| {
            anyhow!(
                "unknown kind {s:?}; one of: {}",
                EntityKind::ALL
                    .iter()
                    .map(|k| k.collection())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

fn generate_password() -> String {
    truce_server::auth::new_secret("").0[..20].to_string()
}

async fn open(db: &Path) -> Result<SqliteStore> {
    SqliteStore::open(db)
        .await
        .with_context(|| format!("opening {}", db.display()))
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let db = cli.db;
    match cli.command {
        Cmd::Init {
            name,
            started_on,
            admin,
        } => {
            if db.exists() {
                bail!("{} already exists", db.display());
            }
            let store = open(&db).await?;
            let started_on = started_on
                .unwrap_or_else(|| Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date());
            let record = EntityKind::Mission
                .validate_json(
                    json!({"name": name, "started_on": started_on}),
                    &ValidationContext {
                        now: Timestamp::now(),
                    },
                )
                .map_err(|e| anyhow!("{e}"))?;
            let password = generate_password();
            store
                .apply_all(vec![
                    cmd(
                        Change::Create {
                            kind: EntityKind::Mission,
                            id: Uuid::now_v7(),
                            sensitivity: Sensitivity::Public,
                            record,
                        },
                        "init",
                    ),
                    cmd(
                        Change::Account(AccountChange::CreateUser {
                            username: admin.clone(),
                            role: Role::Admin,
                            password_hash: truce_server::auth::hash_password(&password),
                        }),
                        "init",
                    ),
                ])
                .await?;
            println!(
                "created {}\nadmin user: {admin}\npassword:   {password}",
                db.display()
            );
        }
        Cmd::Serve {
            addr,
            secure_cookies,
        } => {
            if !db.exists() {
                bail!(
                    "{} does not exist; run `truce init` first (or `truce demo`)",
                    db.display()
                );
            }
            let store = open(&db).await?;
            let key_file = bulletin_cli::key_path(&db);
            let (key, _) = truce_report::MissionKey::load_or_create(&key_file)
                .map_err(|e| anyhow!("{}: {e}", key_file.display()))?;
            serve(
                Arc::new(store),
                addr,
                ServerConfig {
                    secure_cookies,
                    ..Default::default()
                },
                None,
                Some(key),
            )
            .await?;
        }
        Cmd::Demo {
            seed,
            days,
            load_only: true,
            ..
        } => {
            demo::load_into(&db, seed, days).await?;
        }
        Cmd::Demo {
            addr, seed, days, ..
        } => {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("demo.db");
            let store = open(&path).await?;
            eprintln!(
                "loading the illustrative demo mission into {} ...",
                path.display()
            );
            let n = demo::load(&store, seed, days).await?;
            let incidents = store.count(EntityKind::Incident).await?;
            let mut banner = format!(
                "\nTruce demo mission: {n} records journaled, {incidents} incidents.\n{}\n\nOpen http://{addr}/ and sign in as:\n",
                demo::NOTICE
            );
            for (user, _, password) in demo::logins() {
                banner.push_str(&format!("  {user:<12} password {password}\n"));
            }
            banner.push_str(&format!(
                "API docs: http://{addr}/api/docs   Stop with Ctrl-C.\n"
            ));
            let key = truce_report::MissionKey::generate();
            banner.push_str(&format!(
                "Bulletins are signed with the demo key {}.\n",
                key.public_hex()
            ));
            serve(
                Arc::new(store),
                addr,
                ServerConfig::default(),
                Some(banner),
                Some(key),
            )
            .await?;
            drop(dir);
        }
        Cmd::User { command } => {
            let store = open(&db).await?;
            match command {
                UserCmd::Add {
                    name,
                    role,
                    password_stdin,
                } => {
                    let role = Role::parse(&role).ok_or_else(|| {
                        anyhow!(
                            "unknown role {role:?}; one of: {}",
                            Role::ALL.map(|r| r.as_str()).join(", ")
                        )
                    })?;
                    let (password, show) = if password_stdin {
                        let mut s = String::new();
                        std::io::stdin().read_to_string(&mut s)?;
                        (s.trim_end_matches(['\n', '\r']).to_string(), false)
                    } else {
                        (generate_password(), true)
                    };
                    if password.chars().count() < 10 {
                        bail!("the password must have at least 10 characters");
                    }
                    store
                        .apply(cmd(
                            Change::Account(AccountChange::CreateUser {
                                username: name.clone(),
                                role,
                                password_hash: truce_server::auth::hash_password(&password),
                            }),
                            "user add",
                        ))
                        .await?;
                    println!("added {name} ({role})");
                    if show {
                        println!("password: {password}");
                    }
                }
                UserCmd::List => {
                    for u in store.users().await? {
                        println!(
                            "{:<20} {:<12} {}",
                            u.username,
                            u.role,
                            if u.disabled { "disabled" } else { "active" }
                        );
                    }
                }
                UserCmd::Disable { name } => {
                    store
                        .apply(cmd(
                            Change::Account(AccountChange::SetDisabled {
                                username: name.clone(),
                                disabled: true,
                            }),
                            "user disable",
                        ))
                        .await?;
                    println!("disabled {name}");
                }
            }
        }
        Cmd::Token { command } => {
            let store = open(&db).await?;
            match command {
                TokenCmd::Create { user, name } => {
                    let (secret, hash) = truce_server::auth::new_secret("truce_");
                    let applied = store
                        .apply(cmd(
                            Change::Account(AccountChange::CreateToken {
                                username: user.clone(),
                                name,
                                token_hash: hash,
                            }),
                            "token create",
                        ))
                        .await?;
                    println!(
                        "token id: {}\nsecret (shown once): {secret}",
                        applied.created_id.unwrap_or_default()
                    );
                }
                TokenCmd::Revoke { id } => {
                    store
                        .apply(cmd(
                            Change::Account(AccountChange::RevokeToken { id }),
                            "token revoke",
                        ))
                        .await?;
                    println!("revoked {id}");
                }
                TokenCmd::List => {
                    for t in store.tokens(None).await? {
                        println!(
                            "{}  {:<16} {:<24} {} {}",
                            t.id,
                            t.username,
                            t.name,
                            t.created_at,
                            if t.revoked { "revoked" } else { "active" }
                        );
                    }
                }
            }
        }
        Cmd::Import {
            kind,
            format,
            actor,
            file,
        } => {
            let kind = kind_arg(&kind)?;
            let format = format.or_else(|| Format::from_path(&file)).ok_or_else(|| {
                anyhow!(
                    "{}: say --format csv, hxl, acled, ucdp, xlsx or geojson",
                    file.display()
                )
            })?;
            let store = open(&db).await?;
            let started = std::time::Instant::now();
            let n = exchange::import(&store, kind, &file, format, &actor).await?;
            let secs = started.elapsed().as_secs_f64();
            println!(
                "imported {n} {} in {secs:.1} s ({:.0} rows/s)",
                kind.collection(),
                n as f64 / secs.max(1e-9)
            );
            // Durable already; this leaves the file compact for what reads it next.
            let folding = std::time::Instant::now();
            let emptied = store.fold_wal().await?;
            println!(
                "write-ahead log folded into the database in {:.1} s{}",
                folding.elapsed().as_secs_f64(),
                if emptied {
                    ""
                } else {
                    " (another process still reads it; its own checkpoints finish the job)"
                }
            );
        }
        Cmd::Export {
            kind,
            format,
            out,
            role,
        } => {
            let kind = kind_arg(&kind)?;
            let role = role
                .map(|r| Role::parse(&r).ok_or_else(|| anyhow!("--role: unknown role {r:?}")))
                .transpose()?;
            let to = exchange::ExportFor {
                role,
                actor: cli_actor(),
            };
            let format = format
                .or_else(|| out.as_deref().and_then(Format::from_path))
                .unwrap_or(Format::Geojson);
            let store: Arc<dyn Store> = Arc::new(open(&db).await?);
            let n = match &out {
                Some(p) => {
                    let mut f = std::io::BufWriter::new(std::fs::File::create(p)?);
                    exchange::export(store, kind, format, &mut f, &to).await?
                }
                None => {
                    exchange::export(store, kind, format, &mut std::io::stdout().lock(), &to)
                        .await?
                }
            };
            eprintln!("exported {n} {}", kind.collection());
        }
        Cmd::Key { key } => bulletin_cli::key(&db, key)?,
        Cmd::Bulletin(args) => return bulletin_cli::bulletin(&db, args).await,
        Cmd::Verify => {
            if !db.exists() {
                bail!("{} does not exist", db.display());
            }
            let store = open(&db).await?;
            match store.verify().await {
                Ok(r) => println!(
                    "OK: {} journal entries chain correctly; {} records match the journal; head {} {}",
                    r.entries,
                    r.records,
                    r.head.seq,
                    hex_str(&r.head.hash)
                ),
                Err(VerifyError::Store(e)) => return Err(e.into()),
                Err(e) => {
                    println!("FAILED: {e}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Cmd::Backup { file } => {
            let store = open(&db).await?;
            let head = store.backup(&file).await?;
            println!(
                "backup {} at journal head {} {}",
                file.display(),
                head.seq,
                hex_str(&head.hash)
            );
        }
        Cmd::Roads { command } => {
            let store = open(&db).await?;
            return geo_cli::roads(&store, cli_actor(), command).await;
        }
        Cmd::Route(args) => return geo_cli::route(&db, args).await,
        Cmd::Intake { command } => intake_cli::run(command)?,
        Cmd::Convoy { command } => return ops_cli::convoy(&db, command).await,
        Cmd::Stock { command } => return ops_cli::stock(&db, command).await,
        Cmd::Totals(args) => return ops_cli::totals(&db, args).await,
        Cmd::People { command } => {
            let store = open(&db).await?;
            people_cli::run(&store, cli_actor(), command).await?;
        }
        Cmd::Restore { file } => {
            let r = SqliteStore::restore(&file, &db)
                .await
                .map_err(|e| anyhow!("{}: {e}; nothing was restored", file.display()))?;
            println!(
                "restored {} from {}: {} entries verified, head {}",
                db.display(),
                file.display(),
                r.entries,
                r.head.seq
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn hex_str(h: &[u8]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

async fn serve(
    store: Arc<dyn Store>,
    addr: SocketAddr,
    config: ServerConfig,
    banner: Option<String>,
    key: Option<truce_report::MissionKey>,
) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("listening on {addr}"))?;
    let local = listener.local_addr()?;
    match banner {
        Some(b) => println!("{b}"),
        None => println!("Truce listening on http://{local}/"),
    }
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("signal handler");
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    };
    let mut state = AppState::new(store, config);
    state.mission_key = key.map(Arc::new);
    state
        .spatial
        .rebuild(state.store.clone())
        .await
        .map_err(|p| anyhow::anyhow!("spatial index: {}", p.detail.unwrap_or_default()))?;
    truce_server::serve(listener, state, shutdown).await?;
    Ok(())
}
