//! `truce-gen-csv`: writes N valid incidents as the dotted-column CSV that
//! `truce import` reads, deterministically from a seed.

use std::io::Write;

use anyhow::{Context, Result};
use clap::Parser;
use rand::SeedableRng;
use truce_bench::{Incident, KINDS};

#[derive(Parser)]
#[command(
    name = "truce-gen-csv",
    about = "Generate an incident CSV for `truce import`"
)]
struct Args {
    /// Number of incidents.
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    /// Output file; standard output when absent.
    #[arg(long, short)]
    out: Option<std::path::PathBuf>,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The columns written; all are in the importer's INCIDENT_COLUMNS.
const COLUMNS: [&str; 10] = [
    "id",
    "occurred_at",
    "event_type",
    "sub_event_type",
    "location.lat",
    "location.lon",
    "ceasefire_violation.kind",
    "ceasefire_violation.perception",
    "ceasefire_violation.count",
    "notes",
];

fn main() -> Result<()> {
    let args = Args::parse();
    let out: Box<dyn Write> = match &args.out {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 20)
        .from_writer(out);
    w.write_record(COLUMNS)?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);
    let now = jiff::Timestamp::now();
    for n in 0..args.rows {
        let i = Incident::random(&mut rng, now);
        let (et, st, kind, perception) = KINDS[i.kind];
        let id = i.id.to_string();
        let count = i.count.to_string();
        let (lat, lon) = (i.lat.to_string(), i.lon.to_string());
        let notes = format!("generated incident {n}");
        w.write_record([
            id.as_str(),
            i.occurred_at.as_str(),
            et,
            st,
            lat.as_str(),
            lon.as_str(),
            kind,
            perception,
            count.as_str(),
            notes.as_str(),
        ])?;
    }
    w.flush()?;
    eprintln!("wrote {} incidents", args.rows);
    Ok(())
}
