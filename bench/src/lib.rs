//! Shared pieces of the Truce benchmark tools: durations on the command
//! line and a deterministic generator of valid incidents.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use rand::Rng;

/// Parses `30s`, `500ms`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 30s, 500ms or 2m"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?}; use ms, s, m or h")),
    };
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("{s:?} is not a duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The mission region incidents are scattered over: (min_lat, min_lon, max_lat, max_lon).
pub const REGION: (f64, f64, f64, f64) = (39.0, 45.5, 40.5, 47.5);

/// (event_type, sub_event_type, violation kind, perception) combinations
/// that pass validation; every one is a ceasefire violation.
pub const KINDS: &[(&str, &str, &str, &str)] = &[
    (
        "explosions_remote_violence",
        "shelling_artillery_missile_attack",
        "explosion",
        "heard",
    ),
    (
        "explosions_remote_violence",
        "air_drone_strike",
        "explosion",
        "seen",
    ),
    (
        "explosions_remote_violence",
        "remote_explosive_landmine_ied",
        "explosion",
        "heard",
    ),
    ("battles", "armed_clash", "burst", "heard"),
    ("battles", "armed_clash", "shot", "seen"),
    ("battles", "armed_clash", "muzzle_flash", "camera"),
    (
        "explosions_remote_violence",
        "grenade",
        "projectile_in_flight",
        "uav",
    ),
];

/// One generated incident's fields.
pub struct Incident {
    /// Client-chosen record id.
    pub id: uuid::Uuid,
    /// RFC 3339 time within the last 30 days of `now`.
    pub occurred_at: String,
    /// Index into [`KINDS`].
    pub kind: usize,
    /// Latitude within [`REGION`].
    pub lat: f64,
    /// Longitude within [`REGION`].
    pub lon: f64,
    /// How many events (1..=20).
    pub count: u32,
}

impl Incident {
    /// A random incident within [`REGION`] and the 30 days before `now`,
    /// with a random (v4) id.
    pub fn random(rng: &mut impl Rng, now: Timestamp) -> Incident {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        Incident::with_id(
            rng,
            now,
            uuid::Builder::from_random_bytes(bytes).into_uuid(),
        )
    }

    /// A random incident with the given id.
    pub fn with_id(rng: &mut impl Rng, now: Timestamp, id: uuid::Uuid) -> Incident {
        let secs = rng.gen_range(0..30 * 86_400);
        let at = now - SignedDuration::from_secs(secs);
        Incident {
            id,
            occurred_at: at.round(jiff::Unit::Second).unwrap_or(at).to_string(),
            kind: rng.gen_range(0..KINDS.len()),
            lat: round5(rng.gen_range(REGION.0..REGION.2)),
            lon: round5(rng.gen_range(REGION.1..REGION.3)),
            count: rng.gen_range(1..=20),
        }
    }

    /// The POST body for `/api/v1/incidents`.
    pub fn json(&self) -> String {
        let (et, st, kind, perception) = KINDS[self.kind];
        serde_json::json!({
            "id": self.id,
            "occurred_at": self.occurred_at,
            "event_type": et,
            "sub_event_type": st,
            "location": {"lat": self.lat, "lon": self.lon},
            "ceasefire_violation": {"kind": kind, "perception": perception, "count": self.count},
            "notes": "load test",
        })
        .to_string()
    }
}

fn round5(x: f64) -> f64 {
    (x * 1e5).round() / 1e5
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("3 parsecs").is_err());
    }

    #[test]
    fn incidents_are_valid_records() {
        use rand::SeedableRng;
        let now: Timestamp = "2026-11-21T00:00:00Z".parse().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let i = Incident::random(&mut rng, now);
            let v: serde_json::Value = serde_json::from_str(&i.json()).unwrap();
            assert_eq!(v["id"], i.id.to_string());
            let t: Timestamp = i.occurred_at.parse().unwrap();
            assert!(t <= now && t > now - SignedDuration::from_hours(30 * 24));
            assert!((REGION.0..REGION.2).contains(&i.lat));
            let mut data = v;
            data.as_object_mut().unwrap().remove("id");
            let ctx = truce_core::ValidationContext { now };
            truce_core::EntityKind::Incident
                .validate_json(data, &ctx)
                .unwrap_or_else(|e| panic!("{} is not valid: {e}", i.json()));
        }
    }
}
