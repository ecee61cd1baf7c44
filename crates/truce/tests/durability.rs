//! Durability under crashes: a client sends 10,000 incidents with
//! client-chosen ids and idempotency keys, 32 at a time, retrying whatever
//! was not acknowledged, while the test SIGKILLs the server at random moments
//! and restarts it on the same database and port. In the end exactly the
//! 10,000 incidents exist, once each, and the journal verifies.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Api, Mission, Server, incident};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use uuid::Uuid;

const TOTAL: usize = 10_000;
const IN_FLIGHT: usize = 32;
/// Fixed so that a failure can be replayed with the same kill points.
const SEED: u64 = 0x7275_6365_2d6b_696c;
/// The whole run must finish well within this.
const DEADLINE: Duration = Duration::from_secs(110);

struct Load {
    ids: Vec<Uuid>,
    next: AtomicUsize,
    acked: AtomicUsize,
    retries: AtomicU64,
    replayed: AtomicU64,
    url: String,
    token: String,
}

fn body(i: usize, id: Uuid) -> Value {
    let mut b = incident();
    b["id"] = json!(id);
    b["location"] =
        json!({"lat": 39.2 + (i % 100) as f64 * 0.01, "lon": 46.0 + (i / 100) as f64 * 0.01});
    b["notes"] = json!(format!("durability row {i}"));
    b
}

/// Sends incident `i` until the server acknowledges it (201).
async fn send_until_acked(load: &Load, client: &reqwest::Client, i: usize) {
    let id = load.ids[i];
    let payload = serde_json::to_vec(&body(i, id)).expect("json");
    let key = format!("durability-{i}");
    loop {
        let res = client
            .post(&load.url)
            .bearer_auth(&load.token)
            .header("idempotency-key", &key)
            .header("content-type", "application/json")
            .body(payload.clone())
            .send()
            .await;
        let outcome = match res {
            Ok(r) => {
                let status = r.status().as_u16();
                let replayed = r.headers().contains_key("idempotent-replayed");
                match r.text().await {
                    Ok(text) => Some((status, replayed, text)),
                    Err(_) => None,
                }
            }
            Err(_) => None,
        };
        match outcome {
            Some((201, replayed, text)) => {
                let v: Value = serde_json::from_str(&text).expect("201 body is JSON");
                assert_eq!(v["id"], json!(id), "acknowledged another record: {text}");
                if replayed {
                    load.replayed.fetch_add(1, Ordering::Relaxed);
                }
                load.acked.fetch_add(1, Ordering::SeqCst);
                return;
            }
            // Connection refused or reset, body cut off, or the server
            // failing while it dies: not acknowledged, so send it again.
            None => {}
            Some((status, _, _)) if status >= 500 => {}
            Some((status, _, text)) => {
                panic!("incident {i} ({id}): unexpected {status}: {text}")
            }
        }
        load.retries.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn worker(load: Arc<Load>) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    loop {
        let i = load.next.fetch_add(1, Ordering::SeqCst);
        if i >= TOTAL {
            return;
        }
        send_until_acked(&load, &client, i).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill_exactly_once() {
    let started = Instant::now();
    let m = Mission::init();
    let token = m.user_with_token("field", "observer");
    let mut server = Server::serve(&m.db).await;
    let port = server.port;
    let api = Api::new(&server, Some(&token));
    let head_before = api.head_seq().await;

    let mut rng = StdRng::seed_from_u64(SEED);
    // Kill points: progress thresholds drawn at random within bands (so
    // every kill lands while writes are in flight), plus a random delay.
    let mut kill_at: Vec<(usize, u64)> = [(300, 2_500), (3_000, 5_500), (6_000, 8_500)]
        .into_iter()
        .map(|(lo, hi)| (rng.gen_range(lo..hi), rng.gen_range(0..40)))
        .collect();
    if rng.gen_bool(0.5) {
        kill_at.push((rng.gen_range(8_700..9_700), rng.gen_range(0..40)));
    }

    let load = Arc::new(Load {
        ids: (0..TOTAL).map(|_| Uuid::new_v4()).collect(),
        next: AtomicUsize::new(0),
        acked: AtomicUsize::new(0),
        retries: AtomicU64::new(0),
        replayed: AtomicU64::new(0),
        url: server.url("/api/v1/incidents"),
        token: token.clone(),
    });
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|_| tokio::spawn(worker(load.clone())))
        .collect();

    let mut kills = Vec::new();
    'kills: for (threshold, delay_ms) in kill_at {
        while load.acked.load(Ordering::SeqCst) < threshold {
            // A worker that ended before the work ran out panicked: stop
            // killing and let awaiting it below report why.
            if load.next.load(Ordering::SeqCst) < TOTAL && workers.iter().any(|w| w.is_finished()) {
                break 'kills;
            }
            assert!(started.elapsed() < DEADLINE, "too slow: {kills:?}");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let at = load.acked.load(Ordering::SeqCst);
        server.kill();
        kills.push(at);
        server = Server::serve_on(&m.db, port).await;
    }
    for w in workers {
        w.await.expect("worker panicked");
    }
    assert!(kills.len() >= 3, "kills: {kills:?}");
    assert_eq!(load.acked.load(Ordering::SeqCst), TOTAL);
    eprintln!(
        "sent {TOTAL} incidents; SIGKILLs after {kills:?} acknowledgements; {} retries, {} replayed; {:.1} s",
        load.retries.load(Ordering::Relaxed),
        load.replayed.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    assert!(
        load.retries.load(Ordering::Relaxed) > 0,
        "no request was ever cut off: the kills did not test anything"
    );

    // Exactly the ids sent, once each.
    let api = Api::new(&server, Some(&token));
    let listed = api.all_ids("incidents").await;
    assert_eq!(listed.len(), TOTAL, "incidents listed");
    let listed: HashSet<Uuid> = listed.iter().map(|s| s.parse().unwrap()).collect();
    let sent: HashSet<Uuid> = load.ids.iter().copied().collect();
    assert_eq!(listed.len(), TOTAL, "duplicate ids listed");
    assert_eq!(listed, sent);
    // One journal entry per incident: retries and replays wrote nothing.
    assert_eq!(api.head_seq().await, head_before + TOTAL as u64);

    // A last crash, then the CLI's own view of the database.
    server.kill();
    let csv = common::truce_ok(&m.db, &["export", "--kind", "incidents", "--format", "csv"]);
    assert_eq!(csv.lines().count(), TOTAL + 1, "CSV rows plus header");
    let out = common::assert_verifies(&m.db);
    assert!(
        out.contains(&format!("{} journal entries", head_before + TOTAL as u64)),
        "{out}"
    );
    assert!(started.elapsed() < DEADLINE, "took {:?}", started.elapsed());
}
