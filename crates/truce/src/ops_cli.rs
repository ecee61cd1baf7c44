//! Field-operations subcommands: `truce convoy`, `truce stock`, `truce
//! totals`. They run the server's own actions on the database, as an
//! administrator named after the local user, so the rules and journal
//! entries are exactly those of the API.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, anyhow};
use clap::Subcommand;
use serde_json::{Value, json};
use truce_core::Role;
use truce_server::auth::Principal;
use truce_server::logistics;
use truce_server::problem::Problem;
use uuid::Uuid;

/// `truce convoy ...`.
#[derive(Subcommand)]
pub enum ConvoyCmd {
    /// Move a convoy to a new status (planned, dispatched, in_transit,
    /// delayed, arrived, turned_back, cancelled); at arrival every line is
    /// recorded as delivered in full.
    Status {
        /// Convoy id.
        id: Uuid,
        /// New status.
        status: String,
        /// When (RFC 3339); now when absent.
        #[arg(long)]
        at: Option<jiff::Timestamp>,
        /// Why (required for delayed and turned_back).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `truce stock ...`.
#[derive(Subcommand)]
pub enum StockCmd {
    /// Record a movement into or out of a warehouse.
    Move {
        /// Warehouse id.
        warehouse: Uuid,
        /// in or out.
        #[arg(long)]
        direction: String,
        /// food, medical, fuel, shelter, construction_material, water, hygiene.
        #[arg(long)]
        category: String,
        /// Item, e.g. "wheat flour".
        #[arg(long)]
        item: String,
        /// Amount in `--unit`.
        #[arg(long)]
        quantity: f64,
        /// t, kg, l, m3, pcs, kits...
        #[arg(long)]
        unit: String,
        /// kg per piece for count units.
        #[arg(long)]
        unit_mass_kg: Option<f64>,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Compare a warehouse's stock with the sum of its movements.
    Reconcile {
        /// Warehouse id.
        warehouse: Uuid,
    },
}

/// `truce totals`: tonnes delivered for a period, corridor and category.
#[derive(clap::Args)]
pub struct TotalsArgs {
    /// From (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    from: Option<String>,
    /// To (RFC 3339 or YYYY-MM-DD).
    #[arg(long)]
    to: Option<String>,
    /// The last N days instead of --from.
    #[arg(long)]
    days: Option<u32>,
    /// Corridor id.
    #[arg(long)]
    corridor: Option<Uuid>,
    /// Category.
    #[arg(long)]
    category: Option<String>,
}

fn principal() -> Principal {
    Principal {
        username: super::cli_actor(),
        role: Role::Admin,
    }
}

fn problem(p: Problem) -> anyhow::Error {
    let fields: Vec<String> = p
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    anyhow!(
        "{} ({}){}",
        p.detail.unwrap_or_default(),
        p.status,
        if fields.is_empty() {
            String::new()
        } else {
            format!("\n  {}", fields.join("\n  "))
        }
    )
}

fn print(v: &Value) -> Result<ExitCode> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(ExitCode::SUCCESS)
}

/// Runs `truce convoy`.
pub async fn convoy(db: &Path, cmd: ConvoyCmd) -> Result<ExitCode> {
    let store = super::open(db).await?;
    match cmd {
        ConvoyCmd::Status {
            id,
            status,
            at,
            reason,
        } => {
            let body = json!({"status": status, "at": at, "reason": reason});
            let v = logistics::set_status(&store, &principal(), id, body)
                .await
                .map_err(problem)?;
            print(&json!({"code": v["code"], "status": v["status"], "history": v["history"]}))
        }
    }
}

/// Runs `truce stock`.
pub async fn stock(db: &Path, cmd: StockCmd) -> Result<ExitCode> {
    let store = super::open(db).await?;
    match cmd {
        StockCmd::Move {
            warehouse,
            direction,
            category,
            item,
            quantity,
            unit,
            unit_mass_kg,
            reason,
        } => {
            let body = json!({"direction": direction, "category": category, "item": item,
                "quantity": quantity, "unit": unit, "unit_mass_kg": unit_mass_kg, "reason": reason});
            let (_, v) = logistics::move_stock(&store, &principal(), warehouse, body, None)
                .await
                .map_err(problem)?;
            print(&json!({"warehouse": v["warehouse"]["code"], "stock": v["warehouse"]["stock"]}))
        }
        StockCmd::Reconcile { warehouse } => {
            let v = logistics::reconcile(&store, &principal(), warehouse)
                .await
                .map_err(problem)?;
            let ok = v["reconciliation"]["consistent"] == json!(true);
            print(&v)?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// Runs `truce totals`.
pub async fn totals(db: &Path, a: TotalsArgs) -> Result<ExitCode> {
    let store = super::open(db).await?;
    let mut params = HashMap::new();
    for (k, v) in [
        ("from", a.from),
        ("to", a.to),
        ("days", a.days.map(|d| d.to_string())),
        ("corridor", a.corridor.map(|c| c.to_string())),
        ("category", a.category),
    ] {
        if let Some(v) = v {
            params.insert(k.to_string(), v);
        }
    }
    let p = principal();
    let q = logistics::totals_query(&p, &params).map_err(problem)?;
    let t = logistics::TotalsCache::default()
        .totals(&store, &q)
        .await
        .map_err(problem)?;
    print(
        &json!({"from": q.from, "to": q.to, "tonnes": t.tonnes, "lines": t.lines, "by_category": t.by_category}),
    )
}
