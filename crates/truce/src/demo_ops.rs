//! Field operations in the demo mission: hazard areas with tasks at several
//! stages, a minefield record handed over by a party, land release and a
//! release certificate; corridors along real roads (`assets/demo/corridors.geojson`,
//! built from the OSM roads by `corridors.py`), convoys with manifests, a
//! warehouse with stock movements, and protected sites.
//!
//! Every change goes through the same core functions as the API actions
//! (`apply_release`, `certify`, ...), so the demo's journal reads like a
//! mission's.

use anyhow::{Result, anyhow};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use truce_core::logistics::{
    Convoy, ConvoyStatus, Corridor, CorridorStatus, CorridorStatusChange, ManifestLine, Obstacle,
    RouteCheckRecord, StockMovement, Warehouse, round_t,
};
use truce_core::mine::{HazardArea, LandRelease, ReleaseCertificate, ReleaseMethod};
use truce_core::record::Record;
use truce_core::{EntityKind, Sensitivity, ValidRecord, ValidationContext};
use truce_store::{Change, Command};
use uuid::Uuid;

/// The two demo corridors, as continuous road LineStrings.
pub const CORRIDORS: &str = include_str!("../assets/demo/corridors.geojson");

/// Builds the commands of the field-operations part of the scenario.
struct Ops {
    now: Timestamp,
    out: Vec<Command>,
}

impl Ops {
    fn ago(&self, hours: i64) -> Timestamp {
        self.now - SignedDuration::from_hours(hours)
    }

    fn valid(&self, kind: EntityKind, data: Value) -> Result<ValidRecord> {
        kind.validate_json(data, &ValidationContext { now: self.now })
            .map_err(|e| anyhow!("demo {kind}: {e}"))
    }

    fn push(&mut self, actor: &str, change: Change) {
        self.out.push(Command {
            actor: actor.into(),
            reason: Some("demo scenario".into()),
            idempotency: None,
            change,
        });
    }

    fn create_json(&mut self, actor: &str, kind: EntityKind, data: Value) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let record = self.valid(kind, data)?;
        self.push(
            actor,
            Change::Create {
                kind,
                id,
                sensitivity: Sensitivity::Mission,
                record,
            },
        );
        Ok(id)
    }

    fn create<T: Record + Serialize>(&mut self, actor: &str, r: &T) -> Result<Uuid> {
        self.create_json(actor, T::KIND, serde_json::to_value(r)?)
    }

    fn change<T: Record + Serialize>(&self, id: Uuid, r: &T) -> Result<Change> {
        Ok(Change::Update {
            kind: T::KIND,
            id,
            if_version: None,
            sensitivity: None,
            record: self.valid(T::KIND, serde_json::to_value(r)?)?,
        })
    }
}

/// An irregular hexagon of roughly `rx` by `ry` metres around (lon, lat).
fn blob(lon: f64, lat: f64, rx: f64, ry: f64) -> Value {
    let k = [1.0, 0.8, 1.1, 0.9, 1.05, 0.85];
    let mut ring: Vec<[f64; 2]> = (0..6)
        .map(|i| {
            let a = (i as f64) * std::f64::consts::TAU / 6.0 + 0.3;
            let dx = rx * k[i] * a.cos();
            let dy = ry * k[i] * a.sin();
            let x = lon + dx / (111_320.0 * lat.to_radians().cos());
            let y = lat + dy / 111_320.0;
            [(x * 1e6).round() / 1e6, (y * 1e6).round() / 1e6]
        })
        .collect();
    ring.push(ring[0]);
    json!({"type": "Polygon", "coordinates": [ring]})
}

/// The coordinates of demo corridor `i` (0: Lachin corridor, 1: Aghdam road).
pub fn corridor_coords(i: usize) -> Result<Vec<[f64; 2]>> {
    let doc: Value = serde_json::from_str(CORRIDORS)?;
    let c = &doc["features"][i]["geometry"]["coordinates"];
    Ok(serde_json::from_value(c.clone())?)
}

/// The field-operations commands, after the mission's parties exist.
pub fn scenario(now: Timestamp, parties: [Uuid; 2]) -> Result<Vec<Command>> {
    let mut ops = Ops {
        now,
        out: Vec::new(),
    };
    let corridor_hazard = mine_action(&mut ops, parties)?;
    logistics(&mut ops, corridor_hazard)?;
    sites(&mut ops)?;
    Ok(ops.out)
}

/// Returns the hazard area across the Lachin corridor (id, record).
fn mine_action(ops: &mut Ops, [party_a, _party_b]: [Uuid; 2]) -> Result<(Uuid, HazardArea)> {
    let ma = "mine_action";
    let ngo = ops.create_json(
        ma,
        EntityKind::Organisation,
        json!({"name": "Humanitarian Demining Group (illustrative)", "short_name": "HDG", "kind": "ngo"}),
    )?;
    let engineers = ops.create_json(
        ma,
        EntityKind::Organisation,
        json!({"name": "Military Engineer Battalion (illustrative)", "short_name": "MEB", "kind": "military"}),
    )?;
    let mfr = ops.create_json(
        ma,
        EntityKind::MinefieldRecord,
        json!({
            "code": "MFR-2026-01",
            "handed_over_by": party_a,
            "received_at": ops.ago(24 * 26),
            "packages": 12,
            "sheets": ["K-38-90-A", "K-38-90-B", "K-38-91-A"],
            "notes": "Hand-over witnessed by the mission; 3 of 12 packages partly illegible.",
        }),
    )?;
    let lachin = corridor_coords(0)?;
    let on_road = lachin[lachin.len() / 2];
    let near_road = lachin[lachin.len() / 4];

    let hazard = |code: &str, class: &str, area: Value, source: &str, extra: Value| {
        let mut v = json!({
            "code": code,
            "classification": class,
            "area": area,
            "source": source,
            "contamination": ["ap_mine"],
        });
        if let (Value::Object(m), Value::Object(x)) = (&mut v, extra) {
            m.extend(x);
        }
        v
    };
    let ha = |ops: &mut Ops, v: Value| -> Result<(Uuid, HazardArea)> {
        let h: HazardArea = serde_json::from_value(v)?;
        Ok((ops.create(ma, &h)?, h))
    };

    // 1. Digitised from the minefield record, fully released and handed over.
    let (h1, cha1) = ha(
        ops,
        hazard(
            "CHA-001",
            "confirmed",
            blob(46.955, 40.002, 260.0, 180.0),
            "minefield_record",
            json!({"name": "Aghdam east orchards", "minefield_record": mfr, "map_sheet": "K-38-90-A",
                   "area_m2": 182_400.0, "party": party_a, "contamination": ["ap_mine", "at_mine"],
                   "recorded_at": ops.ago(24 * 25)}),
        ),
    )?;
    let t1 = ops.create_json(
        ma,
        EntityKind::MineTask,
        json!({"code": "T-001", "hazard_area": h1, "task_type": "clearance", "organisation": ngo,
               "status": "completed", "started_at": ops.ago(24 * 22), "completed_at": ops.ago(24 * 6),
               "progress_percent": 100,
               "ordnance": [{"category": "ap_mine", "found": 37, "destroyed": 37}, {"category": "at_mine", "found": 4, "destroyed": 4}, {"category": "uxo", "found": 9, "destroyed": 9}]}),
    )?;
    let mut cur = cha1;
    for (method, m2, days) in [
        (ReleaseMethod::Cancelled, 60_000.0, 20),
        (ReleaseMethod::Reduced, 42_400.0, 14),
        (ReleaseMethod::Cleared, 80_000.0, 6),
    ] {
        let rel = LandRelease {
            hazard_area: h1,
            task: Some(t1),
            method,
            area_m2: m2,
            released_at: ops.ago(24 * days),
            outline: None,
            notes: None,
        };
        cur = release(ops, h1, &cur, &rel)?;
    }
    let cert = ReleaseCertificate {
        code: "RC-2026-001".into(),
        hazard_area: h1,
        area: Some(cur.area.clone()),
        certified_by: "Quality management officer, National Mine Action Agency".into(),
        organisation: None,
        certified_at: ops.ago(24 * 4),
        handed_over_to: Some("Aghdam municipality".into()),
        land_use: vec![
            truce_core::mine::LandUse::Agriculture,
            truce_core::mine::LandUse::Housing,
        ],
        evidence: vec![
            "Completion report T-001".into(),
            "QA sampling report QA-2026-014".into(),
        ],
        notes: None,
    };
    let next = cur.certify()?;
    let c = ops.valid(EntityKind::ReleaseCertificate, serde_json::to_value(&cert)?)?;
    let u = ops.change(h1, &next)?;
    ops.push(
        ma,
        Change::Atomic(vec![
            Change::Create {
                kind: EntityKind::ReleaseCertificate,
                id: Uuid::now_v7(),
                sensitivity: Sensitivity::Mission,
                record: c,
            },
            u,
        ]),
    );

    // 2. From the same record; clearance under way, part released.
    let (h2, cha2) = ha(
        ops,
        hazard(
            "CHA-002",
            "confirmed",
            blob(47.152, 39.612, 420.0, 300.0),
            "minefield_record",
            json!({"name": "Fuzuli north fields", "minefield_record": mfr, "map_sheet": "K-38-91-A",
                   "party": party_a, "contamination": ["ap_mine", "cluster_submunition"],
                   "recorded_at": ops.ago(24 * 25)}),
        ),
    )?;
    let t2 = ops.create_json(
        ma,
        EntityKind::MineTask,
        json!({"code": "T-002", "hazard_area": h2, "task_type": "clearance", "organisation": engineers,
               "status": "in_progress", "started_at": ops.ago(24 * 12), "progress_percent": 45,
               "ordnance": [{"category": "ap_mine", "found": 21, "destroyed": 19}, {"category": "cluster_submunition", "found": 6, "destroyed": 6}]}),
    )?;
    let size2 = cha2.size_m2();
    let rel = LandRelease {
        hazard_area: h2,
        task: Some(t2),
        method: ReleaseMethod::Cleared,
        area_m2: (size2 * 0.45).round(),
        released_at: ops.ago(30),
        outline: None,
        notes: Some("Lanes 1-9 cleared to 20 cm.".into()),
    };
    release(ops, h2, &cha2, &rel)?;

    // 3. Community report beside the Lachin corridor; survey planned.
    let (h3, _) = ha(
        ops,
        hazard(
            "SHA-003",
            "suspected",
            blob(near_road[0] + 0.004, near_road[1] + 0.002, 150.0, 120.0),
            "community_report",
            json!({"name": "Slope above the corridor", "contamination": ["uxo"], "recorded_at": ops.ago(24 * 9),
                   "notes": "Shepherd reported shells on the slope."}),
        ),
    )?;
    ops.create_json(
        ma,
        EntityKind::MineTask,
        json!({"code": "T-003", "hazard_area": h3, "task_type": "non_technical_survey", "organisation": ngo,
               "status": "planned", "progress_percent": 0}),
    )?;

    // 4. Known from an accident near Shusha.
    let (h4, _) = ha(
        ops,
        hazard(
            "SHA-004",
            "suspected",
            blob(46.738, 39.748, 200.0, 160.0),
            "accident",
            json!({"name": "Hayfield south of Shusha", "recorded_at": ops.ago(24 * 3)}),
        ),
    )?;
    ops.create_json(
        ma,
        EntityKind::MineAccident,
        json!({"occurred_at": ops.ago(24 * 3 + 5), "location": {"lat": 39.7479, "lon": 46.7383},
               "hazard_area": h4, "ordnance": "ap_mine", "activity": "haymaking",
               "victims": {"killed": 0, "injured": 2, "children": 1},
               "notes": "Two farm workers injured; evacuated to the district hospital."}),
    )?;

    // 5. Across the Lachin corridor: technical survey in progress.
    let (h5, cha5) = ha(
        ops,
        hazard(
            "CHA-005",
            "confirmed",
            blob(on_road[0], on_road[1], 180.0, 140.0),
            "technical_survey",
            json!({"name": "Corridor shoulder", "contamination": ["at_mine", "uxo"], "recorded_at": ops.ago(24 * 7),
                   "notes": "AT mines found on the road shoulder; the asphalt has been verified."}),
        ),
    )?;
    let t5 = ops.create_json(
        ma,
        EntityKind::MineTask,
        json!({"code": "T-005", "hazard_area": h5, "task_type": "technical_survey", "organisation": engineers,
               "status": "in_progress", "started_at": ops.ago(24 * 5), "progress_percent": 30,
               "ordnance": [{"category": "at_mine", "found": 2, "destroyed": 0}]}),
    )?;
    let rel = LandRelease {
        hazard_area: h5,
        task: Some(t5),
        method: ReleaseMethod::Reduced,
        area_m2: (cha5.size_m2() * 0.3).round(),
        released_at: ops.ago(20),
        outline: None,
        notes: None,
    };
    let cha5 = release(ops, h5, &cha5, &rel)?;

    // 6. A spot task on a single item.
    ops.create_json(
        ma,
        EntityKind::MineTask,
        json!({"code": "T-006", "hazard_area": h4, "task_type": "spot_eod", "organisation": engineers,
               "status": "completed", "started_at": ops.ago(24 * 2), "completed_at": ops.ago(24 * 2 - 3),
               "progress_percent": 100, "ordnance": [{"category": "uxo", "found": 1, "destroyed": 1}]}),
    )?;
    Ok((h5, cha5))
}

fn line(category: &str, item: &str, quantity: f64, unit: &str, mass: Option<f64>) -> Value {
    json!({"category": category, "item": item, "quantity": quantity, "unit": unit, "unit_mass_kg": mass})
}

fn logistics(ops: &mut Ops, (h5, cha5): (Uuid, HazardArea)) -> Result<()> {
    let lg = "logistics";
    let iho = ops.create_json(
        lg,
        EntityKind::Organisation,
        json!({"name": "Relief Logistics Cluster (illustrative)", "short_name": "RLC", "kind": "un_agency"}),
    )?;
    let doc: Value = serde_json::from_str(CORRIDORS)?;
    let mut corridors = Vec::new();
    for (i, (name, checkpoints)) in [
        (
            "Lachin corridor",
            json!([{"name": "Kornidzor checkpoint", "location": {"lat": 39.5463, "lon": 46.3927}},
                   {"name": "Lachin bridge", "location": {"lat": 39.6339, "lon": 46.5467}}]),
        ),
        (
            "Aghdam road",
            json!([{"name": "Askeran checkpoint", "location": {"lat": 39.9364, "lon": 46.8330}}]),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let cor: Corridor = serde_json::from_value(json!({
            "name": name,
            "route": doc["features"][i]["geometry"],
            "status": {"status": "open", "at": ops.ago(24 * 27), "reason": "Opened under the humanitarian arrangement"},
            "checkpoints": checkpoints,
            "notes": doc["features"][i]["properties"]["name"],
        }))?;
        let id = ops.create(lg, &cor)?;
        corridors.push((id, cor));
    }
    // The Aghdam road was closed for two days after shelling, then restricted.
    let (aghdam, cor) = corridors[1].clone();
    let closed = cor.set_status(CorridorStatusChange {
        status: CorridorStatus::Closed,
        at: ops.ago(24 * 9),
        reason: Some("Shelling near Askeran".into()),
    })?;
    let restricted = closed.set_status(CorridorStatusChange {
        status: CorridorStatus::Restricted,
        at: ops.ago(24 * 7),
        reason: Some("Daylight movement only, escort required".into()),
    })?;
    for c in [&closed, &restricted] {
        let ch = ops.change(aghdam, c)?;
        ops.push(lg, ch);
    }
    let lachin = corridors[0].0;

    // A warehouse at Goris with receipts and issues.
    let mut wh: Warehouse = serde_json::from_value(json!({
        "code": "WH-GOR", "name": "Goris logistics hub", "location": {"lat": 39.5074, "lon": 46.3386},
        "organisation": iho, "capacity_t": 2000.0,
    }))?;
    let wid = ops.create(lg, &wh)?;
    for (dir, cat, item, q, unit, mass, hours) in [
        ("in", "food", "wheat flour", 120.0, "t", None, 24 * 20),
        ("in", "fuel", "diesel", 40_000.0, "l", None, 24 * 19),
        (
            "in",
            "construction_material",
            "cement",
            300.0,
            "t",
            None,
            24 * 18,
        ),
        (
            "in",
            "hygiene",
            "family hygiene kit",
            2000.0,
            "kits",
            Some(4.5),
            24 * 15,
        ),
        (
            "in",
            "medical",
            "emergency health kit",
            2500.0,
            "kg",
            None,
            24 * 12,
        ),
        (
            "out",
            "construction_material",
            "cement",
            150.0,
            "t",
            None,
            24 * 6,
        ),
        ("out", "food", "wheat flour", 40.0, "t", None, 24 * 3),
        ("out", "fuel", "diesel", 20_000.0, "l", None, 24 * 3),
        (
            "out",
            "medical",
            "emergency health kit",
            2500.0,
            "kg",
            None,
            24 * 3,
        ),
        ("out", "food", "wheat flour", 30.0, "t", None, 12),
    ] {
        let m: StockMovement = serde_json::from_value(json!({
            "warehouse": wid, "direction": dir, "category": cat, "item": item, "quantity": q,
            "unit": unit, "unit_mass_kg": mass, "at": ops.ago(hours),
            "counterpart": if dir == "in" { "Donor pipeline" } else { "Convoy loading" },
        }))?;
        let next = wh.apply_movement(&m)?;
        let c = ops.valid(EntityKind::StockMovement, serde_json::to_value(&m)?)?;
        let u = ops.change(wid, &next)?;
        ops.push(
            lg,
            Change::Atomic(vec![
                Change::Create {
                    kind: EntityKind::StockMovement,
                    id: Uuid::now_v7(),
                    sensitivity: Sensitivity::Mission,
                    record: c,
                },
                u,
            ]),
        );
        wh = next;
    }

    // Convoys: (code, corridor, destination, lines, statuses with hours ago).
    type Steps = &'static [(ConvoyStatus, i64, Option<&'static str>)];
    use ConvoyStatus::*;
    let convoys: [(&str, Uuid, &str, Vec<Value>, Steps); 5] = [
        (
            "CV-2026-001",
            aghdam,
            "Aghdam",
            vec![
                line("construction_material", "cement", 150.0, "t", None),
                line(
                    "construction_material",
                    "roofing sheets",
                    1200.0,
                    "sheets",
                    Some(9.5),
                ),
            ],
            &[
                (Dispatched, 24 * 6, None),
                (InTransit, 24 * 6 - 1, None),
                (Arrived, 24 * 6 - 5, None),
            ],
        ),
        (
            "CV-2026-002",
            lachin,
            "Khankendi",
            vec![
                line("food", "wheat flour", 40.0, "t", None),
                line("fuel", "diesel", 20_000.0, "l", None),
                line("medical", "emergency health kit", 2500.0, "kg", None),
            ],
            &[
                (Dispatched, 48, None),
                (InTransit, 47, None),
                (Delayed, 45, Some("Checkpoint inspection")),
                (InTransit, 42, None),
                (Arrived, 40, None),
            ],
        ),
        (
            "CV-2026-003",
            lachin,
            "Khankendi",
            vec![
                line("food", "wheat flour", 30.0, "t", None),
                line("water", "bottled water", 18.0, "m3", None),
            ],
            &[(Dispatched, 4, None), (InTransit, 3, None)],
        ),
        (
            "CV-2026-004",
            aghdam,
            "Askeran",
            vec![line("shelter", "family tent", 300.0, "tents", Some(32.0))],
            &[
                (Dispatched, 24 * 9 + 2, None),
                (Delayed, 24 * 9 + 1, Some("Shelling near Askeran")),
                (TurnedBack, 24 * 9, Some("Corridor closed")),
            ],
        ),
        (
            "CV-2026-005",
            lachin,
            "Khankendi",
            vec![
                line("hygiene", "family hygiene kit", 1500.0, "kits", Some(4.5)),
                line("food", "wheat flour", 20.0, "t", None),
            ],
            &[],
        ),
    ];
    let route_line = corridors[0].1.route.to_geo().map_err(|e| anyhow!("{e}"))?;
    let cha5_poly = cha5.area.to_geo().map_err(|e| anyhow!("{e}"))?;
    for (code, corridor, dest, lines, steps) in convoys {
        let cor = &corridors
            .iter()
            .find(|c| c.0 == corridor)
            .expect("corridor")
            .1;
        let planned_at = ops.ago(steps.first().map_or(-10, |s| s.1 + 6));
        let mut convoy: Convoy = serde_json::from_value(json!({
            "code": code, "corridor": corridor, "route": cor.route, "origin": "Goris", "destination": dest,
            "organisation": iho, "escort": "Mission patrol",
            "vehicles": [{"kind": "truck 20 t", "registration": format!("{code}-1")}, {"kind": "truck 20 t", "registration": format!("{code}-2")}],
            "planned_departure": planned_at,
        }))?;
        if corridor == lachin {
            let hits = truce_geo::check_route(
                &route_line,
                &[Obstacle::Area {
                    id: h5,
                    label: cha5.code.clone(),
                    polygon: cha5_poly.clone(),
                }],
                1000.0,
            );
            convoy.route_check = Some(RouteCheckRecord {
                at: planned_at.min(ops.now),
                override_reason: hits.iter().any(|h| h.blocking).then(|| {
                    "Asphalt verified by the technical survey team; vehicles keep to the road surface".to_string()
                }),
                override_by: hits.iter().any(|h| h.blocking).then(|| "logistics".to_string()),
                hits,
            });
        }
        let cid = ops.create(lg, &convoy)?;
        let mut parts = Vec::new();
        let mut line_recs = Vec::new();
        for l in lines {
            let mut l = l;
            l["convoy"] = json!(cid);
            l["corridor"] = json!(corridor);
            let ml: ManifestLine = serde_json::from_value(l)?;
            convoy.manifest_lines += 1;
            convoy.manifest_tonnes = round_t(convoy.manifest_tonnes + ml.tonnes()?);
            let id = Uuid::now_v7();
            parts.push(Change::Create {
                kind: EntityKind::ManifestLine,
                id,
                sensitivity: Sensitivity::Mission,
                record: ops.valid(EntityKind::ManifestLine, serde_json::to_value(&ml)?)?,
            });
            line_recs.push((id, ml));
        }
        parts.push(ops.change(cid, &convoy)?);
        ops.push(lg, Change::Atomic(parts));
        for (status, hours, reason) in steps {
            let at = ops.ago(*hours);
            convoy = convoy.transition(*status, at, lg, reason.map(str::to_string))?;
            let mut parts = Vec::new();
            if *status == Arrived {
                let mut delivered = 0.0;
                for (id, ml) in &mut line_recs {
                    // One truck of roofing sheets arrived short.
                    let q = if ml.item == "roofing sheets" {
                        ml.quantity - 50.0
                    } else {
                        ml.quantity
                    };
                    ml.delivered_quantity = Some(q);
                    ml.delivered_at = Some(at);
                    delivered += ml.delivered_tonnes();
                    parts.push(ops.change(*id, &*ml)?);
                }
                convoy.delivered_tonnes = round_t(delivered);
            }
            parts.push(ops.change(cid, &convoy)?);
            ops.push(lg, Change::Atomic(parts));
        }
    }
    // Needs by destination.
    for (dest, lat, lon, cat, item, q, unit, mass) in [
        (
            "Khankendi",
            39.8153,
            46.7519,
            "food",
            "wheat flour",
            200.0,
            "t",
            None,
        ),
        (
            "Khankendi",
            39.8153,
            46.7519,
            "fuel",
            "diesel",
            60_000.0,
            "l",
            None,
        ),
        (
            "Aghdam",
            39.9931,
            46.9307,
            "construction_material",
            "cement",
            500.0,
            "t",
            None,
        ),
        (
            "Askeran",
            39.9364,
            46.8330,
            "shelter",
            "family tent",
            300.0,
            "tents",
            Some(32.0),
        ),
    ] {
        ops.create_json(
            lg,
            EntityKind::Need,
            json!({"destination": dest, "location": {"lat": lat, "lon": lon}, "category": cat, "item": item,
                   "quantity": q, "unit": unit, "unit_mass_kg": mass, "status": "partly_met",
                   "needed_by": ops.ago(-24 * 7), "requested_by": "Municipal authorities"}),
        )?;
    }
    Ok(())
}

/// Writes a land release and the hazard area's new totals together.
fn release(ops: &mut Ops, id: Uuid, h: &HazardArea, rel: &LandRelease) -> Result<HazardArea> {
    let next = h.apply_release(rel)?;
    let c = ops.valid(EntityKind::LandRelease, serde_json::to_value(rel)?)?;
    let u = ops.change(id, &next)?;
    ops.push(
        "mine_action",
        Change::Atomic(vec![
            Change::Create {
                kind: EntityKind::LandRelease,
                id: Uuid::now_v7(),
                sensitivity: Sensitivity::Mission,
                record: c,
            },
            u,
        ]),
    );
    Ok(next)
}

/// Protected sites (real places, approximate coordinates) with
/// illustrative condition assessments.
fn sites(ops: &mut Ops) -> Result<()> {
    let who = "commander";
    for (name, alt, cat, lat, lon, custodian, radius, assessments) in [
        (
            "Ghazanchetsots Cathedral",
            "Holy Saviour Cathedral",
            "religious_heritage",
            39.7580,
            46.7531,
            "Diocese (illustrative)",
            800.0,
            vec![
                ("intact", 24 * 26, vec![]),
                ("minor_damage", 24 * 4, vec!["Mission photo set PS-0412"]),
            ],
        ),
        (
            "Govhar Agha Mosque",
            "Yukhari Govhar Agha Mosque",
            "religious_heritage",
            39.7604,
            46.7500,
            "Heritage service (illustrative)",
            800.0,
            vec![("intact", 24 * 20, vec![])],
        ),
        (
            "Hakari bridge at Lachin",
            "Lachin bridge",
            "bridge",
            39.6339,
            46.5467,
            "Road authority (illustrative)",
            1000.0,
            vec![("intact", 24 * 10, vec![])],
        ),
        (
            "Sarsang reservoir dam",
            "Sarsang",
            "water",
            40.1381,
            46.5494,
            "Water authority (illustrative)",
            2000.0,
            vec![("unknown", 24 * 15, vec![])],
        ),
        (
            "Aghdam Juma Mosque",
            "Aghdam mosque",
            "religious_heritage",
            39.9931,
            46.9296,
            "Heritage service (illustrative)",
            1500.0,
            vec![(
                "major_damage",
                24 * 25,
                vec![
                    "Satellite imagery 2026-10 (illustrative)",
                    "Site visit report SV-07",
                ],
            )],
        ),
        (
            "Khankendi regional hospital",
            "Republican hospital",
            "hospital",
            39.8185,
            46.7580,
            "Health department (illustrative)",
            1000.0,
            vec![("intact", 24 * 2, vec![])],
        ),
    ] {
        let site = ops.create_json(
            who,
            EntityKind::Site,
            json!({"name": name, "alt_names": [alt], "category": cat, "location": {"lat": lat, "lon": lon},
                   "custodian": custodian, "watch_radius_m": radius}),
        )?;
        for (condition, hours, evidence) in assessments {
            ops.create_json(
                who,
                EntityKind::SiteAssessment,
                json!({"site": site, "assessed_at": ops.ago(hours), "condition": condition,
                       "assessed_by": "Mission patrol", "method": "site visit", "evidence": evidence}),
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corridors_are_long_road_lines() {
        for i in 0..2 {
            let c = corridor_coords(i).unwrap();
            assert!(c.len() > 50, "corridor {i}: {} points", c.len());
        }
    }

    #[test]
    fn field_operations_are_valid() {
        let cmds = scenario(Timestamp::now(), [Uuid::now_v7(), Uuid::now_v7()]).unwrap();
        let count = |k: EntityKind| {
            cmds.iter()
                .flat_map(|c| match &c.change {
                    Change::Atomic(v) => v.iter().collect::<Vec<_>>(),
                    other => vec![other],
                })
                .filter(|c| matches!(c, Change::Create { kind, .. } if *kind == k))
                .count()
        };
        assert_eq!(count(EntityKind::HazardArea), 5);
        assert!(count(EntityKind::MineTask) >= 5);
        assert_eq!(count(EntityKind::ReleaseCertificate), 1);
        assert_eq!(count(EntityKind::LandRelease), 5);
        assert_eq!(count(EntityKind::Corridor), 2);
        assert_eq!(count(EntityKind::Convoy), 5);
        assert_eq!(count(EntityKind::Warehouse), 1);
        assert!(count(EntityKind::ManifestLine) >= 10);
        assert_eq!(count(EntityKind::Site), 6);
    }
}
