//! The illustrative demo mission: real geography (gazetteer, boundaries,
//! OpenStreetMap roads from `assets/demo`), invented posts, sectors and a
//! few weeks of incidents from a seeded generator. Every record passes the
//! same validation and journal as real data.

use anyhow::{Context, Result};
use jiff::{SignedDuration, Timestamp, ToSpan};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::{Value, json};
use truce_core::{EntityKind, Role, Sensitivity, ValidationContext};
use truce_store::{AccountChange, Change, Command, Store};
use uuid::Uuid;

const COUNTRIES: &str = include_str!("../assets/demo/countries.geojson");
const ADMIN1: &str = include_str!("../assets/demo/admin1.geojson");
const ROADS: &str = include_str!("../assets/demo/roads.geojson");
const PLACES: &str = include_str!("../assets/demo/places.csv");
const POSTS: &str = include_str!("../assets/demo/posts.json");
const AORS: &str = include_str!("../assets/demo/aors.json");

/// The notice shown with every screen and API answer about the mission.
pub const NOTICE: &str = "Illustrative scenario for demonstration only: the geography is real (GeoNames, Natural Earth, © OpenStreetMap contributors), but the parties, posts, sectors and incidents are invented and describe no real event.";

/// Mission area `[min_lon, min_lat, max_lon, max_lat]`.
const BBOX: [f64; 4] = [45.9, 39.2, 47.4, 40.4];

#[derive(Deserialize)]
struct DemoPost {
    code: String,
    name: String,
    lat: f64,
    lon: f64,
    aor: String,
    staffed: bool,
}

#[derive(Deserialize)]
struct DemoAor {
    code: String,
    name: String,
    polygon: Value,
}

/// The demo's sign-in names: one user per role, password `<role>-demo`.
pub fn logins() -> Vec<(String, Role, String)> {
    Role::ALL
        .iter()
        .map(|r| (r.as_str().to_string(), *r, format!("{}-demo", r.as_str())))
        .collect()
}

fn cmd(actor: &str, change: Change) -> Command {
    Command {
        actor: actor.into(),
        reason: Some("demo scenario".into()),
        idempotency: None,
        change,
    }
}

fn create(
    kind: EntityKind,
    id: Uuid,
    sensitivity: Sensitivity,
    data: Value,
    now: Timestamp,
) -> Result<Command> {
    let record = kind
        .validate_json(data, &ValidationContext { now })
        .map_err(|e| anyhow::anyhow!("demo {kind}: {e}"))?;
    Ok(cmd(
        "system",
        Change::Create {
            kind,
            id,
            sensitivity,
            record,
        },
    ))
}

/// Places as GeoJSON points for the basemap.
fn places_geojson() -> Result<String> {
    let mut rdr = csv::Reader::from_reader(PLACES.as_bytes());
    let mut features = Vec::new();
    for row in rdr.deserialize::<std::collections::HashMap<String, String>>() {
        let r = row?;
        let num = |k: &str| r.get(k).and_then(|v| v.parse::<f64>().ok());
        let (Some(lat), Some(lon)) = (num("lat"), num("lon")) else {
            continue;
        };
        features.push(json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {
                "name": r.get("name"),
                "geonameid": r.get("geonameid"),
                "population": num("population").unwrap_or(0.0),
                "alt_names": r.get("alt_names"),
            }
        }));
    }
    Ok(json!({"type": "FeatureCollection", "features": features}).to_string())
}

/// Builds the whole scenario as one list of commands, deterministic for a
/// given seed and day.
pub fn scenario(seed: u64, days: i64, now: Timestamp) -> Result<Vec<Command>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let [x0, y0, x1, y1] = BBOX;
    let mission_area = json!({"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]});
    out.push(create(
        EntityKind::Mission,
        Uuid::now_v7(),
        Sensitivity::Public,
        json!({
            "name": "Illustrative Monitoring Mission, South Caucasus",
            "mandate": "Monitor the ceasefire, support mine action and humanitarian convoys, and report daily.",
            "area": mission_area,
            "started_on": today.checked_sub(days.days()).context("date")?.to_string(),
            "illustrative": true,
            "notice": NOTICE,
        }),
        now,
    )?);
    let party_a = Uuid::now_v7();
    let party_b = Uuid::now_v7();
    for (id, name, short) in [
        (party_a, "Party A (illustrative)", "A"),
        (party_b, "Party B (illustrative)", "B"),
    ] {
        out.push(create(
            EntityKind::Party,
            id,
            Sensitivity::Public,
            json!({"name": name, "short_name": short}),
            now,
        )?);
    }
    for (name, short, kind) in [
        ("Illustrative Monitoring Mission", "IMM", "mission"),
        (
            "National Mine Action Agency (illustrative)",
            "NMAA",
            "national_authority",
        ),
        (
            "International Humanitarian Organisation (illustrative)",
            "IHO",
            "ngo",
        ),
    ] {
        out.push(create(
            EntityKind::Organisation,
            Uuid::now_v7(),
            Sensitivity::Public,
            json!({"name": name, "short_name": short, "kind": kind}),
            now,
        )?);
    }
    let aors: Vec<DemoAor> = serde_json::from_str(AORS)?;
    let mut aor_ids = std::collections::HashMap::new();
    for a in aors {
        let id = Uuid::now_v7();
        aor_ids.insert(a.code.clone(), id);
        out.push(create(
            EntityKind::Aor,
            id,
            Sensitivity::Public,
            json!({"code": a.code, "name": a.name, "area": a.polygon}),
            now,
        )?);
    }
    let posts: Vec<DemoPost> = serde_json::from_str(POSTS)?;
    let mut post_ids = Vec::new();
    for p in &posts {
        let id = Uuid::now_v7();
        post_ids.push(id);
        out.push(create(
            EntityKind::Post,
            id,
            Sensitivity::Public,
            json!({"code": p.code, "name": p.name, "location": {"lat": p.lat, "lon": p.lon}, "aor": aor_ids.get(&p.aor), "staffed": p.staffed}),
            now,
        )?);
    }
    // Incidents: violations cluster near staffed posts, a few other events.
    let kinds = [
        "explosion",
        "shot",
        "burst",
        "projectile_in_flight",
        "muzzle_flash",
        "illumination_flare",
    ];
    let perceptions = ["heard", "heard", "heard", "seen", "camera", "uav"];
    for day in 0..days {
        let n = rng.gen_range(2..12);
        for _ in 0..n {
            let (pi, p) = loop {
                let i = rng.gen_range(0..posts.len());
                if posts[i].staffed {
                    break (i, &posts[i]);
                }
            };
            let bearing: f64 = rng.gen_range(0.0..360.0);
            let dist_m: f64 = rng.gen_range(800.0..6000.0);
            let (dlat, dlon) = (
                dist_m * bearing.to_radians().cos() / 111_320.0,
                dist_m * bearing.to_radians().sin() / (111_320.0 * p.lat.to_radians().cos()),
            );
            let at = now
                - SignedDuration::from_hours(24 * day)
                - SignedDuration::from_mins(rng.gen_range(0..24 * 60));
            let age_days = day;
            let status = match (age_days, rng.gen_range(0..10)) {
                (0, _) => "reported",
                (1..=2, 0..=5) => "under_verification",
                (_, 0..=6) => "verified",
                (_, 7) => "refuted",
                (_, 8) => "unverified",
                _ => "reported",
            };
            let is_violation = rng.gen_bool(0.85);
            let mut data = if is_violation {
                let kind = kinds[rng.gen_range(0..kinds.len())];
                let explosion = kind == "explosion";
                json!({
                    "event_type": if explosion { "explosions_remote_violence" } else { "battles" },
                    "sub_event_type": if explosion { "shelling_artillery_missile_attack" } else { "armed_clash" },
                    "ceasefire_violation": {
                        "kind": kind,
                        "explosion_subtype": if explosion { json!((["impact", "outgoing", "airburst", "undetermined"][rng.gen_range(0..4)])) } else { Value::Null },
                        "perception": (perceptions[rng.gen_range(0..perceptions.len())]),
                        "direction_deg": ((bearing * 10.0).round() / 10.0) % 360.0,
                        "distance_min_m": (dist_m * 0.7).round(),
                        "distance_max_m": (dist_m * 1.3).round(),
                        "observing_post": (post_ids[pi]),
                        "count": rng.gen_range(1..15),
                        "attributed_to": match rng.gen_range(0..3) { 0 => json!(party_a), 1 => json!(party_b), _ => Value::Null },
                    },
                    "source": format!("{} observation post", p.code),
                    "source_scale": "Mission",
                    "source_grading": {"reliability": "A", "credibility": rng.gen_range(1..4)},
                })
            } else {
                json!({
                    "event_type": "strategic_developments",
                    "sub_event_type": (["looting_property_destruction", "arrests", "other"][rng.gen_range(0..3)]),
                    "source": "Local partner report",
                    "source_scale": "Local partner",
                    "source_grading": {"reliability": (["B", "C", "D"][rng.gen_range(0..3)]), "credibility": rng.gen_range(2..6)},
                })
            };
            data["occurred_at"] = json!(at);
            data["location"] = json!({"lat": ((p.lat + dlat) * 1e5).round() / 1e5, "lon": ((p.lon + dlon) * 1e5).round() / 1e5});
            data["location_name"] = json!(format!("near {}", p.name));
            data["time_precision"] = json!(1);
            data["geo_precision"] = json!(if is_violation { 2 } else { 1 });
            data["verification"] = json!({"status": status, "by": if status == "reported" { Value::Null } else { json!("analyst") }});
            data["notes"] = json!(if is_violation {
                format!("Observed from {} ({}).", p.code, p.name)
            } else {
                "Reported by a local partner; not observed by the mission.".to_string()
            });
            let sensitivity = if rng.gen_bool(0.05) {
                Sensitivity::Restricted
            } else if rng.gen_bool(0.5) {
                Sensitivity::Public
            } else {
                Sensitivity::Mission
            };
            out.push(create(
                EntityKind::Incident,
                Uuid::now_v7(),
                sensitivity,
                data,
                now,
            )?);
        }
    }
    out.extend(crate::demo_ops::scenario(now, [party_a, party_b])?);
    out.extend(crate::demo_people::scenario(now, [party_a, party_b])?);
    for (name, body) in [
        ("countries", COUNTRIES.to_string()),
        ("admin1", ADMIN1.to_string()),
        ("roads", ROADS.to_string()),
        ("places", places_geojson()?),
    ] {
        out.push(cmd(
            "system",
            Change::PutAsset {
                name: format!("basemap/{name}"),
                content_type: "application/geo+json".into(),
                body: body.into_bytes(),
            },
        ));
    }
    out.push(demo_road_network()?);
    Ok(out)
}

/// The demo's routable road network (asset `roads/graph`, what `truce roads
/// import` stores), built from the same OpenStreetMap-derived lines as the
/// basemap, so `POST /api/v1/routes` and convoy routes follow real roads.
fn demo_road_network() -> Result<Command> {
    let net = truce_geo::roads_from_geojson(ROADS, &Default::default())?;
    Ok(cmd(
        "system",
        Change::PutAsset {
            name: truce_server::spatial::ROADS_ASSET.into(),
            content_type: crate::geo_cli::ROADS_CONTENT_TYPE.into(),
            body: net.to_bytes(),
        },
    ))
}

/// Loads the scenario and the demo users into an empty store.
pub async fn load(store: &dyn Store, seed: u64, days: i64) -> Result<usize> {
    let now = Timestamp::now();
    let mut cmds = scenario(seed, days, now)?;
    for (username, role, password) in logins() {
        cmds.push(cmd(
            "system",
            Change::Account(AccountChange::CreateUser {
                username,
                role,
                password_hash: truce_server::auth::hash_password(&password),
            }),
        ));
    }
    let n = cmds.len();
    store.apply_all(cmds).await?;
    let documents = crate::demo_intake::load(store, now).await?;
    Ok(n + documents)
}

/// Loads the scenario into a new database file at `path` and reports what
/// it holds (`truce demo --load-only`): benchmarks build their large
/// missions on top of it, so they have the demo's posts, areas and modules.
pub async fn load_into(path: &std::path::Path, seed: u64, days: i64) -> Result<()> {
    if path.exists() {
        anyhow::bail!("{} already exists", path.display());
    }
    let store = truce_store::sqlite::SqliteStore::open(path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let n = load(&store, seed, days).await?;
    let incidents = store.count(EntityKind::Incident).await?;
    println!(
        "loaded the demo mission into {}: {n} records journaled, {incidents} incidents",
        path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_is_valid_and_has_18_posts() {
        let cmds = scenario(7, 28, Timestamp::now()).unwrap();
        let posts = cmds
            .iter()
            .filter(|c| {
                matches!(
                    &c.change,
                    Change::Create {
                        kind: EntityKind::Post,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(posts, 18);
        let incidents = cmds
            .iter()
            .filter(|c| {
                matches!(
                    &c.change,
                    Change::Create {
                        kind: EntityKind::Incident,
                        ..
                    }
                )
            })
            .count();
        assert!(incidents > 28, "{incidents}");
    }
}
