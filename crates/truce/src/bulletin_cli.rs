//! `truce key` and `truce bulletin`: make, sign and verify bulletins.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use jiff::civil::Date;
use truce_report::{
    Format, MissionKey, Period, compute, extract_signed, recompute_and_compare, render,
    verify_signature,
};
use truce_store::sqlite::SqliteStore;

/// Where a database's mission key lives unless `--key` says otherwise.
pub fn key_path(db: &Path) -> PathBuf {
    db.with_extension("key")
}

/// Options of `truce bulletin`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BulletinArgs {
    #[command(subcommand)]
    command: Option<BulletinCmd>,
    /// The day reported on (YYYY-MM-DD); default today (UTC).
    #[arg(long)]
    date: Option<Date>,
    /// First day of a longer period.
    #[arg(long)]
    from: Option<Date>,
    /// Last day of a longer period.
    #[arg(long)]
    to: Option<Date>,
    /// html, pdf, md or json.
    #[arg(long, default_value = "html")]
    format: String,
    /// Output file; standard output when absent (not for pdf).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Mission key file (default: the database path with `.key`).
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum BulletinCmd {
    /// Check a bulletin: signature, file bytes, and every figure against the journal.
    Verify {
        /// The bulletin (.json, .md, .html, or .pdf with its .json beside it).
        file: PathBuf,
        /// The mission's public key, hex (default: from the key file).
        #[arg(long)]
        public_key: Option<String>,
        /// Mission key file (default: the database path with `.key`).
        #[arg(long)]
        key: Option<PathBuf>,
    },
}

/// `truce key`: creates the mission key if missing and shows its public half.
pub fn key(db: &Path, path: Option<PathBuf>) -> Result<()> {
    let path = path.unwrap_or_else(|| key_path(db));
    let (k, created) =
        MissionKey::load_or_create(&path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    if created {
        println!("created mission key {}", path.display());
    }
    println!("public key (ed25519): {}", k.public_hex());
    Ok(())
}

fn format_of(path: &Path) -> Result<Format> {
    path.extension()
        .and_then(|e| e.to_str())
        .and_then(Format::parse)
        .ok_or_else(|| {
            anyhow!(
                "{}: cannot tell the format from the name (.json, .md, .html, .pdf)",
                path.display()
            )
        })
}

/// `truce bulletin ...`.
pub async fn bulletin(db: &Path, args: BulletinArgs) -> Result<ExitCode> {
    if let Some(BulletinCmd::Verify {
        file,
        public_key,
        key,
    }) = args.command
    {
        return verify(db, &file, public_key, key).await;
    }
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let day = args.date.unwrap_or(today);
    let period = Period::new(args.from.unwrap_or(day), args.to.unwrap_or(day))
        .map_err(|e| anyhow!("{e}"))?;
    let format = Format::parse(&args.format)
        .ok_or_else(|| anyhow!("--format must be html, pdf, md or json"))?;
    if !db.exists() {
        bail!("{} does not exist", db.display());
    }
    let key_file = args.key.unwrap_or_else(|| key_path(db));
    let (key, created) = MissionKey::load_or_create(&key_file)
        .map_err(|e| anyhow!("{}: {e}", key_file.display()))?;
    if created {
        eprintln!(
            "created mission key {} (public {})",
            key_file.display(),
            key.public_hex()
        );
    }
    let store = SqliteStore::open(db).await?;
    let signed = key.sign(compute(&store, period).await?);
    let bytes = render(&signed, format)?;
    match (&args.out, format) {
        (Some(out), _) => {
            std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
            if format == Format::Pdf {
                let sidecar = out.with_extension("json");
                std::fs::write(&sidecar, render(&signed, Format::Json)?)?;
                eprintln!(
                    "wrote {} and its signed content {}",
                    out.display(),
                    sidecar.display()
                );
            } else {
                eprintln!("wrote {}", out.display());
            }
        }
        (None, Format::Pdf) => bail!("a PDF needs --out FILE.pdf"),
        (None, _) => {
            use std::io::Write;
            std::io::stdout().write_all(&bytes)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn verify(
    db: &Path,
    file: &Path,
    public_key: Option<String>,
    key: Option<PathBuf>,
) -> Result<ExitCode> {
    let format = format_of(file)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let signed = if format == Format::Pdf {
        let sidecar = file.with_extension("json");
        let json = std::fs::read(&sidecar).with_context(|| {
            format!(
                "a PDF is verified with its signed content {}",
                sidecar.display()
            )
        })?;
        extract_signed(&json, Format::Json)?
    } else {
        extract_signed(&bytes, format)?
    };
    let expected = match public_key {
        Some(k) => Some(k),
        None => {
            let path = key.unwrap_or_else(|| key_path(db));
            if path.exists() {
                Some(
                    MissionKey::load(&path)
                        .map_err(|e| anyhow!("{e}"))?
                        .public_hex(),
                )
            } else {
                None
            }
        }
    };
    let mut failures = Vec::new();
    match &expected {
        None => failures.push(
            "no mission public key to check against (give --public-key or --key)".to_string(),
        ),
        Some(k) => {
            if let Err(e) = verify_signature(&signed, Some(k)) {
                failures.push(format!("signature: {e}"));
            }
        }
    }
    if render(&signed, format)? != bytes {
        failures.push(format!(
            "{} is not the faithful rendering of its signed content (altered)",
            file.display()
        ));
    }
    if db.exists() {
        let store = SqliteStore::open(db).await?;
        let dir = tempfile::tempdir()?;
        let scratch = SqliteStore::open(&dir.path().join("replay.db")).await?;
        for d in recompute_and_compare(&store, &scratch, &signed.bulletin).await? {
            failures.push(format!("figure {d}"));
        }
    } else {
        failures.push(format!(
            "{} does not exist: figures not recomputed",
            db.display()
        ));
    }
    if failures.is_empty() {
        println!(
            "OK: signed by {}; file intact; every figure recomputed from journal entry {}",
            signed.signature.public_key, signed.bulletin.journal.seq
        );
        Ok(ExitCode::SUCCESS)
    } else {
        for f in failures {
            println!("FAILED: {f}");
        }
        Ok(ExitCode::from(1))
    }
}
