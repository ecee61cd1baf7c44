//! `truce-load`: sustained durable-write load against a running Truce
//! server. It starts nothing itself.
//!
//! Each of `--concurrency` workers owns one HTTP/1.1 keep-alive connection
//! (a fixed pool of N connections, reconnecting after errors) and POSTs
//! valid incidents to `/api/v1/incidents` back to back, each with a fresh
//! client-chosen UUID `id` and a unique `Idempotency-Key`. Only `201
//! Created` counts as acknowledged. Every request completed inside the
//! measured window (after `--warmup`) has its latency recorded in an HDR
//! histogram; the summary is printed as text and, on its last line, JSON.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use clap::Parser;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;
use rand::SeedableRng;
use serde_json::json;
use truce_bench::{Incident, parse_duration};

#[derive(Parser)]
#[command(
    name = "truce-load",
    about = "POST valid incidents to a running Truce server and report acknowledged/s and latency"
)]
struct Args {
    /// Server base URL, e.g. http://127.0.0.1:8080 (plain HTTP only).
    #[arg(long)]
    url: String,
    /// API token (sent as `Authorization: Bearer TOKEN`).
    #[arg(long, env = "TRUCE_TOKEN")]
    token: String,
    /// Measured period, e.g. 30s.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Load before measuring starts (not counted), e.g. 5s.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    warmup: Duration,
    /// Concurrent requests in flight (= keep-alive connections).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Give up on one request after this long (counted as an error).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// Also write the JSON summary to this file.
    #[arg(long)]
    json: Option<std::path::PathBuf>,
    /// Seed of the incident generator (each worker adds its number);
    /// random by default, so repeated runs against one database never
    /// reuse an id or an idempotency key.
    #[arg(long)]
    seed: Option<u64>,
    /// Print acknowledged/s every second to standard error.
    #[arg(long)]
    progress: bool,
    /// Record ids (and so idempotency keys): random UUID v4, or
    /// time-ordered UUID v7 as the server itself assigns.
    #[arg(long, value_enum, default_value = "v4")]
    ids: Ids,
    /// Process id of the server (Linux): its CPU time and bytes written to
    /// storage over the measured window are reported per acknowledged
    /// incident, beside this generator's own CPU time.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// CPU seconds (user + system) and bytes written to storage by a process,
/// from /proc (clock ticks at Linux's fixed USER_HZ of 100).
#[derive(Clone, Copy, Default)]
struct Usage {
    cpu_s: f64,
    write_bytes: u64,
}

fn usage(pid: &str) -> Option<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    let write_bytes = io
        .lines()
        .find_map(|l| l.strip_prefix("write_bytes: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    Some(Usage {
        cpu_s: ticks as f64 / 100.0,
        write_bytes,
    })
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Ids {
    V4,
    V7,
}

/// Where to send requests.
struct Target {
    addr: SocketAddr,
    authority: String,
    path: String,
    auth: String,
}

/// What one worker saw in the measured window.
struct Tally {
    hist: Histogram<u64>,
    acked: u64,
    statuses: BTreeMap<u16, u64>,
    errors: BTreeMap<String, u64>,
    sample: Option<String>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            // 1 µs .. 120 s at 3 significant figures.
            hist: Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds"),
            acked: 0,
            statuses: BTreeMap::new(),
            errors: BTreeMap::new(),
            sample: None,
        }
    }

    fn merge(&mut self, o: Tally) {
        self.hist.add(&o.hist).expect("same bounds");
        self.acked += o.acked;
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in o.errors {
            *self.errors.entry(k).or_default() += v;
        }
        if self.sample.is_none() {
            self.sample = o.sample;
        }
    }
}

fn target(url: &str, token: &str) -> Result<Target> {
    let uri: Uri = url.parse().with_context(|| format!("bad --url {url:?}"))?;
    if uri.scheme_str() != Some("http") {
        bail!("--url must be plain http://HOST:PORT");
    }
    let host = uri.host().ok_or_else(|| anyhow!("--url has no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))?
        .next()
        .ok_or_else(|| anyhow!("{host} does not resolve"))?;
    let base = uri.path().trim_end_matches('/');
    Ok(Target {
        addr,
        authority: format!("{host}:{port}"),
        path: format!("{base}/api/v1/incidents"),
        auth: format!("Bearer {token}"),
    })
}

type Sender = http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request; returns the status and, for failures, the body.
async fn post(sender: &mut Sender, t: &Target, body: String, key: String) -> Result<StatusCode> {
    sender.ready().await?;
    let req = Request::builder()
        .method(Method::POST)
        .uri(t.path.as_str())
        .header(header::HOST, t.authority.as_str())
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, t.auth.as_str())
        .header("idempotency-key", key)
        .body(Full::new(Bytes::from(body)))?;
    let res = sender.send_request(req).await?;
    let status = res.status();
    let body = res.into_body().collect().await?.to_bytes();
    if status != StatusCode::CREATED {
        bail!(
            "HTTP {}: {}",
            status.as_u16(),
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    }
    Ok(status)
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    n: u64,
    t: Arc<Target>,
    seed: u64,
    measure_from: Instant,
    end: Instant,
    timeout: Duration,
    ids: Ids,
    live: Arc<AtomicU64>,
) -> Tally {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed.wrapping_mul(1_000_003).wrapping_add(n));
    let mut tally = Tally::new();
    let mut sender: Option<Sender> = None;
    let now = jiff::Timestamp::now();
    while Instant::now() < end {
        let s = match sender.as_mut() {
            Some(s) => s,
            None => match connect(t.addr).await {
                Ok(s) => sender.insert(s),
                Err(e) => {
                    if Instant::now() >= measure_from {
                        *tally.errors.entry(format!("connect: {e}")).or_default() += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let incident = match ids {
            Ids::V4 => Incident::random(&mut rng, now),
            Ids::V7 => Incident::with_id(&mut rng, now, uuid::Uuid::now_v7()),
        };
        let key = format!("load-{}", incident.id);
        let body = incident.json();
        let started = Instant::now();
        let res = tokio::time::timeout(timeout, post(s, &t, body, key)).await;
        let done = Instant::now();
        let counted = started >= measure_from && done <= end;
        let micros = done.duration_since(started).as_micros() as u64;
        match res {
            Ok(Ok(_)) => {
                if counted {
                    tally.hist.saturating_record(micros.max(1));
                    tally.acked += 1;
                    *tally.statuses.entry(201).or_default() += 1;
                    live.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(Err(e)) => {
                let msg = e.to_string();
                if counted {
                    tally.hist.saturating_record(micros.max(1));
                    let status = msg
                        .strip_prefix("HTTP ")
                        .and_then(|s| s.get(..3))
                        .and_then(|s| s.parse::<u16>().ok());
                    match status {
                        Some(code) => *tally.statuses.entry(code).or_default() += 1,
                        None => *tally.errors.entry(short(&msg)).or_default() += 1,
                    }
                    if tally.sample.is_none() {
                        tally.sample = Some(msg.clone());
                    }
                }
                if !msg.starts_with("HTTP ") {
                    // The connection is gone or broken: open a new one.
                    sender = None;
                }
            }
            Err(_) => {
                if counted {
                    tally.hist.saturating_record(micros.max(1));
                    *tally.errors.entry("timeout".into()).or_default() += 1;
                }
                sender = None;
            }
        }
    }
    tally
}

fn short(msg: &str) -> String {
    msg.chars().take(80).collect()
}

fn main() -> Result<()> {
    let args = Args::parse();
    if args.concurrency == 0 {
        bail!("--concurrency must be at least 1");
    }
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    let t = Arc::new(target(&args.url, &args.token)?);
    let seed = args.seed.unwrap_or_else(|| {
        let mut b = [0u8; 8];
        rand::Rng::fill(&mut rand::thread_rng(), &mut b);
        u64::from_le_bytes(b)
    });
    // Fail fast on a wrong URL or token before starting the clock.
    {
        let mut s = connect(t.addr)
            .await
            .with_context(|| format!("cannot connect to {}", t.addr))?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed ^ 0x5eed);
        let i = Incident::random(&mut rng, jiff::Timestamp::now());
        post(&mut s, &t, i.json(), format!("load-probe-{}", i.id))
            .await
            .context("probe POST /api/v1/incidents")?;
    }
    let start = Instant::now();
    let measure_from = start + args.warmup;
    let end = measure_from + args.duration;
    let live = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::with_capacity(args.concurrency);
    for n in 0..args.concurrency {
        handles.push(tokio::spawn(worker(
            n as u64,
            t.clone(),
            seed,
            measure_from,
            end,
            args.timeout,
            args.ids,
            live.clone(),
        )));
    }
    // Acknowledged per second of the measured window.
    let per_second = {
        let live = live.clone();
        let progress = args.progress;
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            let mut out = Vec::new();
            let mut last = 0;
            let mut tick = tokio::time::interval_at(
                (measure_from + Duration::from_secs(1)).into(),
                Duration::from_secs(1),
            );
            while Instant::now() + Duration::from_millis(500) < end {
                tick.tick().await;
                let now = live.load(Ordering::Relaxed);
                out.push(now - last);
                if progress {
                    eprintln!("  t={:>3}s  {:>7} acknowledged/s", out.len(), now - last);
                }
                last = now;
            }
            out
        })
    };
    // Server and generator usage over exactly the measured window.
    let usage_window = {
        let pid = args.server_pid.map(|p| p.to_string());
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            let s0 = pid.as_deref().and_then(usage);
            let g0 = usage("self");
            tokio::time::sleep_until(end.into()).await;
            let s1 = pid.as_deref().and_then(usage);
            let g1 = usage("self");
            let diff = |a: Option<Usage>, b: Option<Usage>| {
                a.zip(b).map(|(a, b)| Usage {
                    cpu_s: b.cpu_s - a.cpu_s,
                    write_bytes: b.write_bytes.saturating_sub(a.write_bytes),
                })
            };
            (diff(s0, s1), diff(g0, g1))
        })
    };
    let mut total = Tally::new();
    for h in handles {
        total.merge(h.await?);
    }
    let per_second = per_second.await?;
    let (server_usage, own_usage) = usage_window.await?;
    let secs = args.duration.as_secs_f64();
    let acked = total.acked.max(1) as f64;
    let per_ack = |u: Option<Usage>| {
        u.map(|u| {
            json!({
                "cpu_s": u.cpu_s,
                "cpu_us_per_ack": (u.cpu_s * 1e6 / acked).round(),
                "write_bytes": u.write_bytes,
                "write_bytes_per_ack": (u.write_bytes as f64 / acked).round(),
            })
        })
    };
    let h = &total.hist;
    let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
    let summary = json!({
        "url": args.url,
        "concurrency": args.concurrency,
        "ids": if args.ids == Ids::V4 { "v4" } else { "v7" },
        "warmup_s": args.warmup.as_secs_f64(),
        "duration_s": secs,
        "acknowledged": total.acked,
        "throughput_per_s": (total.acked as f64 / secs).round(),
        "latency_ms": {
            "p50": q(0.50),
            "p90": q(0.90),
            "p99": q(0.99),
            "p999": q(0.999),
            "max": h.max() as f64 / 1000.0,
            "mean": (h.mean() / 1000.0 * 1000.0).round() / 1000.0,
        },
        "statuses": total.statuses.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "errors": total.errors,
        "first_failure": total.sample,
        "acknowledged_per_second": per_second,
        "server_usage": per_ack(server_usage),
        "generator_usage": per_ack(own_usage),
    });
    println!(
        "truce-load: {} concurrency {} for {:.0} s (after {:.0} s warm-up)",
        args.url,
        args.concurrency,
        secs,
        args.warmup.as_secs_f64()
    );
    println!(
        "  acknowledged (201): {}  throughput: {:.0} acknowledged/s",
        total.acked,
        total.acked as f64 / secs
    );
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        q(0.50),
        q(0.90),
        q(0.99),
        q(0.999),
        h.max() as f64 / 1000.0
    );
    if let Some(u) = server_usage {
        println!(
            "  server: {:.1} s CPU = {:.0} µs per acknowledged; {:.1} MB written to storage = {:.0} bytes per acknowledged",
            u.cpu_s,
            u.cpu_s * 1e6 / acked,
            u.write_bytes as f64 / 1e6,
            u.write_bytes as f64 / acked
        );
    }
    if let Some(u) = own_usage {
        println!(
            "  load generator: {:.1} s CPU = {:.0} µs per acknowledged",
            u.cpu_s,
            u.cpu_s * 1e6 / acked
        );
    }
    let failures: u64 = total
        .statuses
        .iter()
        .filter(|(k, _)| **k != 201)
        .map(|(_, v)| v)
        .sum::<u64>()
        + total.errors.values().sum::<u64>();
    if failures > 0 {
        println!(
            "  NOT acknowledged: {failures} (statuses {:?}, errors {:?})",
            total.statuses, total.errors
        );
        if let Some(s) = &total.sample {
            println!("  first failure: {s}");
        }
    }
    let line = summary.to_string();
    println!("{line}");
    if let Some(path) = &args.json {
        std::fs::write(path, format!("{line}\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
