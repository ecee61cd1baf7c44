//! `truce convoy`, `truce stock`, `truce totals` and `truce people`: the
//! real binary on a mission database. Records are set up over HTTP (the
//! server runs meanwhile, as in the field); each subcommand is checked for
//! success, for a refusal that exits non-zero naming what is wrong with
//! nothing written (the journal head does not move), and totals against a
//! naive recomputation over the records.

mod common;

use common::{Api, Mission, Server, describe, truce};
use serde_json::{Value, json};

/// Runs a subcommand that must succeed and prints JSON; returns it.
fn cli_json(m: &Mission, args: &[&str]) -> Value {
    let o = truce(&m.db, args);
    assert!(o.status.success(), "truce {args:?}: {}", describe(&o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", describe(&o)))
}

/// Runs a subcommand that must fail; asserts exit code 1, that standard
/// error contains every one of `words`, and that the journal did not move.
async fn cli_refused(api: &Api, m: &Mission, args: &[&str], words: &[&str]) {
    let head = api.head_seq().await;
    let o = truce(&m.db, args);
    assert_eq!(o.status.code(), Some(1), "truce {args:?}: {}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    for w in words {
        assert!(
            err.contains(w),
            "truce {args:?}: {w:?} not in {}",
            describe(&o)
        );
    }
    assert_eq!(
        api.head_seq().await,
        head,
        "truce {args:?} wrote to the journal"
    );
}

/// Borrowed arguments.
fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Tonnes of a quantity in t or kg: the naive conversion.
fn tonnes(q: f64, unit: &str) -> f64 {
    match unit {
        "t" => q,
        "kg" => q / 1000.0,
        u => panic!("unit {u} not used by this test"),
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn convoy_stock_totals_on_the_command_line() {
    let m = Mission::init();
    let lou = m.user_with_token("lou", "logistics");
    let server = Server::serve(&m.db).await;
    let lou = Api::new(&server, Some(&lou));

    let route = json!({"type": "LineString", "coordinates": [[46.30, 39.50], [46.40, 39.50]]});
    let mut corridors = Vec::new();
    for name in ["North road", "South road"] {
        let r = lou
            .post(
                "/corridors",
                &json!({"name": name, "route": route, "status": {"status": "open", "at": "2026-11-01T00:00:00Z"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        corridors.push(r.json["id"].as_str().unwrap().to_string());
    }
    // Two convoys with manifests in t and kg, one per corridor.
    let manifests = [
        vec![
            ("food", 20.0, "t"),
            ("fuel", 7500.0, "kg"),
            ("food", 250.0, "kg"),
        ],
        vec![("fuel", 12.5, "t"), ("construction_material", 4000.0, "kg")],
    ];
    let mut convoys = Vec::new();
    for (i, lines) in manifests.iter().enumerate() {
        let r = lou
            .post(
                "/convoys/plan",
                &json!({"code": format!("CV-{i}"), "corridor": corridors[i], "origin": "A",
                        "destination": "B", "planned_departure": "2026-11-20T06:00:00Z"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        let cid = r.json["id"].as_str().unwrap().to_string();
        let body: Vec<Value> = lines
            .iter()
            .map(|(c, q, u)| json!({"category": c, "item": "goods", "quantity": q, "unit": u}))
            .collect();
        let r = lou
            .post(&format!("/convoys/{cid}/manifest"), &json!({"lines": body}))
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        convoys.push(cid);
    }

    // -- truce convoy --
    // Arriving a convoy never dispatched: refused, naming both statuses.
    cli_refused(
        &lou,
        &m,
        &["convoy", "status", &convoys[0], "arrived"],
        &["planned", "arrived", "(409"],
    )
    .await;
    // An unknown status: 422 naming the field.
    cli_refused(
        &lou,
        &m,
        &["convoy", "status", &convoys[0], "landed"],
        &["status", "(422"],
    )
    .await;
    // Delayed needs a reason.
    cli_refused(
        &lou,
        &m,
        &["convoy", "status", &convoys[0], "delayed"],
        &["reason"],
    )
    .await;
    for (i, cid) in convoys.iter().enumerate() {
        for (status, at) in [
            ("dispatched", "2026-11-20T06:00:00Z"),
            ("in_transit", "2026-11-20T07:00:00Z"),
            ("arrived", "2026-11-20T15:00:00Z"),
        ] {
            let head = lou.head_seq().await;
            let v = cli_json(&m, &["convoy", "status", cid, status, "--at", at]);
            assert_eq!(v["status"], status, "{v}");
            assert_eq!(v["code"], format!("CV-{i}"));
            // One entry for the convoy; at arrival one more per manifest
            // line, whose delivered quantity is recorded in the same change.
            let lines = if status == "arrived" {
                manifests[i].len() as u64
            } else {
                0
            };
            assert_eq!(
                lou.head_seq().await,
                head + 1 + lines,
                "journal entries of {status}"
            );
        }
        let r = lou.get(&format!("/convoys/{cid}")).await;
        assert_eq!(r.json["status"], "arrived", "the API sees the CLI's change");
        assert_eq!(r.json["history"].as_array().unwrap().len(), 3, "{}", r.text);
    }
    // Arrived is final.
    cli_refused(
        &lou,
        &m,
        &["convoy", "status", &convoys[1], "dispatched"],
        &["arrived", "(409"],
    )
    .await;
    // No such convoy.
    cli_refused(
        &lou,
        &m,
        &[
            "convoy",
            "status",
            "0190f5a2-7b1c-7c3e-8a9b-0123456789ab",
            "dispatched",
        ],
        &["(404"],
    )
    .await;

    // -- truce totals, against a naive sum over the manifest lines --
    let lines = lou.get("/manifest_lines?limit=1000").await;
    assert_eq!(lines.status, 200, "{}", lines.text);
    let lines = lines.json["items"].as_array().unwrap().clone();
    assert_eq!(lines.len(), 5);
    let naive = |category: Option<&str>, corridor: Option<&str>| -> (f64, u64) {
        lines
            .iter()
            .filter(|l| category.is_none_or(|c| l["category"] == c))
            .filter(|l| corridor.is_none_or(|c| l["corridor"] == c))
            .fold((0.0, 0), |(t, n), l| {
                let q = l["delivered_quantity"].as_f64().expect("delivered");
                (t + tonnes(q, l["unit"].as_str().unwrap()), n + 1)
            })
    };
    let cases: Vec<(Vec<&str>, Option<&str>, Option<&str>)> = vec![
        (vec![], None, None),
        (vec!["--category", "fuel"], Some("fuel"), None),
        (vec!["--category", "food"], Some("food"), None),
        (vec!["--corridor", &corridors[1]], None, Some(&corridors[1])),
        (
            vec!["--corridor", &corridors[0], "--category", "fuel"],
            Some("fuel"),
            Some(&corridors[0]),
        ),
        (
            vec!["--from", "2026-11-20", "--to", "2026-11-21"],
            None,
            None,
        ),
    ];
    for (args, cat, cor) in cases {
        let mut a = vec!["totals"];
        a.extend(args.iter().copied());
        let v = cli_json(&m, &a);
        let (t, n) = naive(cat, cor);
        assert!(
            close(v["tonnes"].as_f64().unwrap(), t),
            "{a:?}: {v} vs naive {t}"
        );
        assert_eq!(v["lines"], n, "{a:?}: {v}");
    }
    // A period before the deliveries: nothing.
    let v = cli_json(
        &m,
        &["totals", "--from", "2026-01-01", "--to", "2026-02-01"],
    );
    assert_eq!(v["lines"], 0, "{v}");
    assert!(close(v["tonnes"].as_f64().unwrap(), 0.0), "{v}");
    // Bad parameters name themselves; totals never write.
    cli_refused(
        &lou,
        &m,
        &["totals", "--category", "gold"],
        &["category", "(422"],
    )
    .await;
    cli_refused(
        &lou,
        &m,
        &["totals", "--from", "2026-12-01", "--to", "2026-11-01"],
        &["from", "(422"],
    )
    .await;

    // -- truce stock --
    let r = lou
        .post(
            "/warehouses",
            &json!({"code": "WH-1", "name": "Hub", "location": {"lat": 39.5, "lon": 46.3}}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let wid = r.json["id"].as_str().unwrap().to_string();
    let mv = |dir: &'static str, q: &'static str, unit: &'static str| {
        vec![
            "stock",
            "move",
            &wid,
            "--direction",
            dir,
            "--category",
            "food",
            "--item",
            "flour",
            "--quantity",
            q,
            "--unit",
            unit,
        ]
        .into_iter()
        .map(str::to_string)
        .collect::<Vec<String>>()
    };
    // Out of an empty warehouse: refused, nothing written.
    let a = mv("out", "1", "t");
    cli_refused(&lou, &m, &strs(&a), &["holds 0 t of flour", "(409"]).await;
    let a = mv("in", "5", "furlongs");
    cli_refused(&lou, &m, &strs(&a), &["unit", "(422"]).await;
    let a = mv("sideways", "5", "t");
    cli_refused(&lou, &m, &strs(&a), &["direction", "(422"]).await;
    let head = lou.head_seq().await;
    let v = cli_json(&m, &strs(&mv("in", "6", "t")));
    assert_eq!(v["warehouse"], "WH-1");
    assert!(close(v["stock"][0]["tonnes"].as_f64().unwrap(), 6.0), "{v}");
    let v = cli_json(&m, &strs(&mv("out", "1500", "kg")));
    assert!(close(v["stock"][0]["tonnes"].as_f64().unwrap(), 4.5), "{v}");
    assert_eq!(
        lou.head_seq().await,
        head + 4,
        "two entries per movement: the movement and the warehouse's stock"
    );
    // More than is left: refused, stock unchanged.
    let a = mv("out", "4.6", "t");
    cli_refused(&lou, &m, &strs(&a), &["holds 4.5 t of flour", "(409"]).await;
    let r = lou.get(&format!("/warehouses/{wid}")).await;
    assert_eq!(r.json["stock"][0]["tonnes"], 4.5, "{}", r.text);
    // Reconciliation: stock equals the movements' sum; exit 0.
    let v = cli_json(&m, &["stock", "reconcile", &wid]);
    assert_eq!(v["reconciliation"]["consistent"], true, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_on_the_command_line() {
    let m = Mission::init();
    let admin = m.token("admin");
    let prot = m.user_with_token("pat", "protection");
    let server = Server::serve(&m.db).await;
    let admin = Api::new(&server, Some(&admin));
    let prot = Api::new(&server, Some(&prot));
    let party = |name: &str| json!({"name": name});
    let a = admin
        .post("/parties", &party("Party A (illustrative)"))
        .await;
    let b = admin
        .post("/parties", &party("Party B (illustrative)"))
        .await;
    let (a, b) = (
        a.json["id"].as_str().unwrap().to_string(),
        b.json["id"].as_str().unwrap().to_string(),
    );
    // Return flows: 120 + 30 since 2026-11-01, 1000 before.
    for (date, persons, ver) in [
        ("2026-11-02", 120, "verified"),
        ("2026-11-10", 30, "reported"),
        ("2026-10-01", 1000, "verified"),
    ] {
        let r = prot
            .post(
                "/movements",
                &json!({"kind": "return", "date": date, "from_place": "Camp", "to_place": "Village",
                        "persons": persons, "verification": ver}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
    }
    let r = prot
        .post(
            "/person_cases",
            &json!({"kind": "detainee", "reference": "PC-9", "name": "Армен Оринакян",
                    "status": "held", "sex": "male", "birth_year": 1990, "party_holding": a}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = prot
        .post(
            "/exchanges",
            &json!({"at": "2026-11-15T10:00:00Z", "place": "Crossing",
                    "legs": [{"from_party": a, "to_party": b, "persons": 7},
                             {"from_party": b, "to_party": a, "persons": 3, "remains": 2}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    let o = truce(&m.db, &["people", "totals", "--since", "2026-11-01"]);
    assert!(o.status.success(), "{}", describe(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("150 people returned home since 2026-11-01 (120 verified"),
        "{out}"
    );
    let line_of = |party: &str| {
        out.lines()
            .find(|l| l.contains(party))
            .unwrap_or_else(|| panic!("{party} in {out}"))
            .split_whitespace()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
    };
    // Reversed: exchanges, remains, persons.
    assert_eq!(line_of("Party B"), ["1", "0", "7"], "{out}");
    assert_eq!(line_of("Party A"), ["1", "2", "3"], "{out}");

    // Export for an analyst: names redacted; for protection: names kept.
    let o = truce(&m.db, &["people", "export", "--role", "analyst"]);
    assert!(o.status.success(), "{}", describe(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.contains("Оринакян"), "{out}");
    assert!(out.contains("PC-9"), "{out}");
    let o = truce(&m.db, &["people", "export", "--role", "protection"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("Армен Оринакян"));

    // The general export redacts people records by default and for roles
    // that may not read them (the core's redact), and journals the read.
    for (role, shows) in [
        (None, false),
        (Some("analyst"), false),
        (Some("protection"), true),
    ] {
        let head = prot.head_seq().await;
        let mut a = vec!["export", "--kind", "person_cases", "--format", "geojson"];
        a.extend(role.iter().flat_map(|r| ["--role", *r]));
        let o = truce(&m.db, &a);
        assert!(o.status.success(), "{a:?}: {}", describe(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        let fc: Value = serde_json::from_str(&out).expect("GeoJSON");
        let props = &fc["features"][0]["properties"];
        assert_eq!(props["reference"], "PC-9", "{out}");
        if shows {
            assert_eq!(props["name"], "Армен Оринакян", "{out}");
        } else {
            assert_eq!(props["name"], "[redacted]", "{a:?}: {out}");
            assert!(!out.contains("Оринакян"), "{a:?}: {out}");
        }
        assert_eq!(
            prot.head_seq().await,
            head + 1,
            "{a:?}: the read is journaled"
        );
    }
    // Other kinds are exported as they are, without a journaled read.
    let head = prot.head_seq().await;
    let o = truce(
        &m.db,
        &["export", "--kind", "parties", "--format", "geojson"],
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("Party A (illustrative)"));
    assert_eq!(prot.head_seq().await, head);
    cli_refused(
        &prot,
        &m,
        &["export", "--kind", "person_cases", "--role", "pope"],
        &["--role", "pope"],
    )
    .await;

    // Refusals: exit 1 naming the option, nothing journaled.
    cli_refused(
        &prot,
        &m,
        &["people", "totals", "--period", "decade"],
        &["--period"],
    )
    .await;
    cli_refused(
        &prot,
        &m,
        &["people", "export", "--role", "pope"],
        &["role", "pope"],
    )
    .await;
    cli_refused(
        &prot,
        &m,
        &[
            "people",
            "export",
            "--role",
            "analyst",
            "--kind",
            "incidents",
        ],
        &["incidents", "not a people collection"],
    )
    .await;
}
