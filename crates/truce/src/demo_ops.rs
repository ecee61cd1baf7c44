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
    mine_action(&mut ops, parties)?;
    Ok(ops.out)
}

fn mine_action(ops: &mut Ops, [party_a, _party_b]: [Uuid; 2]) -> Result<()> {
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
    release(ops, h5, &cha5, &rel)?;

    // 6. A spot task on a single item.
    ops.create_json(
        ma,
        EntityKind::MineTask,
        json!({"code": "T-006", "hazard_area": h4, "task_type": "spot_eod", "organisation": engineers,
               "status": "completed", "started_at": ops.ago(24 * 2), "completed_at": ops.ago(24 * 2 - 3),
               "progress_percent": 100, "ordnance": [{"category": "uxo", "found": 1, "destroyed": 1}]}),
    )?;
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
    }
}
