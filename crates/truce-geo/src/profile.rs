//! Routing profiles: which OpenStreetMap ways a vehicle may use, in which
//! direction, and how fast.
//!
//! The **car** profile follows these rules exactly (independent checks
//! compare against another implementation):
//! - usable `highway` values: motorway, motorway_link, trunk, trunk_link,
//!   primary, primary_link, secondary, secondary_link, tertiary,
//!   tertiary_link, unclassified, residential, living_street, service, road,
//!   track;
//! - not usable when `access`, `motor_vehicle` or `motorcar` is `no` or
//!   `private`, or when `area=yes`;
//! - `oneway` = yes/true/1: forward only; `oneway=-1`: backward only;
//!   otherwise `junction=roundabout` and highway motorway/motorway_link are
//!   forward only unless `oneway=no`.
//!
//! **truck** is car without `track` and without ways tagged `hgv` no/private,
//! `maxweight` below 7.5 t or `maxheight` below 4.0 m. **4x4** is car with
//! faster tracks. **foot** adds footway, path, pedestrian, steps, bridleway
//! and cycleway, drops motorways, ignores `oneway`, and honours `foot`.

use std::fmt;
use std::str::FromStr;

/// Road classes (OSM `highway` values the engine knows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum RoadClass {
    /// motorway
    Motorway = 0,
    /// motorway_link
    MotorwayLink,
    /// trunk
    Trunk,
    /// trunk_link
    TrunkLink,
    /// primary
    Primary,
    /// primary_link
    PrimaryLink,
    /// secondary
    Secondary,
    /// secondary_link
    SecondaryLink,
    /// tertiary
    Tertiary,
    /// tertiary_link
    TertiaryLink,
    /// unclassified
    Unclassified,
    /// residential
    Residential,
    /// living_street
    LivingStreet,
    /// service
    Service,
    /// road
    Road,
    /// track
    Track,
    /// footway
    Footway,
    /// path
    Path,
    /// pedestrian
    Pedestrian,
    /// steps
    Steps,
    /// bridleway
    Bridleway,
    /// cycleway
    Cycleway,
}

impl RoadClass {
    /// Every class, in code order.
    pub const ALL: [RoadClass; 22] = [
        RoadClass::Motorway,
        RoadClass::MotorwayLink,
        RoadClass::Trunk,
        RoadClass::TrunkLink,
        RoadClass::Primary,
        RoadClass::PrimaryLink,
        RoadClass::Secondary,
        RoadClass::SecondaryLink,
        RoadClass::Tertiary,
        RoadClass::TertiaryLink,
        RoadClass::Unclassified,
        RoadClass::Residential,
        RoadClass::LivingStreet,
        RoadClass::Service,
        RoadClass::Road,
        RoadClass::Track,
        RoadClass::Footway,
        RoadClass::Path,
        RoadClass::Pedestrian,
        RoadClass::Steps,
        RoadClass::Bridleway,
        RoadClass::Cycleway,
    ];

    /// The OSM `highway` value.
    pub fn as_str(self) -> &'static str {
        match self {
            RoadClass::Motorway => "motorway",
            RoadClass::MotorwayLink => "motorway_link",
            RoadClass::Trunk => "trunk",
            RoadClass::TrunkLink => "trunk_link",
            RoadClass::Primary => "primary",
            RoadClass::PrimaryLink => "primary_link",
            RoadClass::Secondary => "secondary",
            RoadClass::SecondaryLink => "secondary_link",
            RoadClass::Tertiary => "tertiary",
            RoadClass::TertiaryLink => "tertiary_link",
            RoadClass::Unclassified => "unclassified",
            RoadClass::Residential => "residential",
            RoadClass::LivingStreet => "living_street",
            RoadClass::Service => "service",
            RoadClass::Road => "road",
            RoadClass::Track => "track",
            RoadClass::Footway => "footway",
            RoadClass::Path => "path",
            RoadClass::Pedestrian => "pedestrian",
            RoadClass::Steps => "steps",
            RoadClass::Bridleway => "bridleway",
            RoadClass::Cycleway => "cycleway",
        }
    }

    /// Parses an OSM `highway` value; `None` for values no profile uses.
    pub fn parse(s: &str) -> Option<RoadClass> {
        RoadClass::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// From the stored code.
    pub fn from_code(code: u8) -> Option<RoadClass> {
        RoadClass::ALL.get(code as usize).copied()
    }

    /// True for the sixteen values the car profile may use.
    pub fn is_car_class(self) -> bool {
        (self as u8) <= RoadClass::Track as u8
    }
}

/// A vehicle (or walker) profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Passenger car; the exact rules in the module documentation.
    Car,
    /// Heavy goods vehicle (7.5 t, 4.0 m): no tracks, weight/height limits respected.
    Truck,
    /// Off-road vehicle: car rules, tracks at 30 km/h.
    FourByFour,
    /// On foot, 5 km/h, both directions everywhere.
    Foot,
}

impl Profile {
    /// All profiles.
    pub const ALL: [Profile; 4] = [
        Profile::Car,
        Profile::Truck,
        Profile::FourByFour,
        Profile::Foot,
    ];

    /// Bit index of this profile's forward flag (backward is the next bit).
    fn shift(self) -> u8 {
        match self {
            Profile::Car => 0,
            Profile::Truck => 2,
            Profile::FourByFour => 4,
            Profile::Foot => 6,
        }
    }

    /// The flag bit meaning "this profile may drive a → b".
    pub fn forward_bit(self) -> u8 {
        1 << self.shift()
    }

    /// The flag bit meaning "this profile may drive b → a".
    pub fn backward_bit(self) -> u8 {
        2 << self.shift()
    }

    /// Highest speed of the profile in km/h (the time heuristic divides by it).
    pub fn max_speed_kmh(self) -> f64 {
        match self {
            Profile::Car | Profile::FourByFour => 130.0,
            Profile::Truck => 80.0,
            Profile::Foot => 5.0,
        }
    }

    /// Speed in km/h on a road of this class, with the way's `maxspeed` (0 = none).
    pub fn speed_kmh(self, class: RoadClass, maxspeed_kmh: u16) -> f64 {
        use RoadClass::*;
        if self == Profile::Foot {
            return if class == Steps { 3.0 } else { 5.0 };
        }
        let default = match class {
            Motorway => 100.0,
            MotorwayLink => 60.0,
            Trunk => 80.0,
            TrunkLink => 50.0,
            Primary => 65.0,
            PrimaryLink => 45.0,
            Secondary => 55.0,
            SecondaryLink => 40.0,
            Tertiary => 45.0,
            TertiaryLink => 35.0,
            Unclassified => 35.0,
            Residential => 25.0,
            LivingStreet => 10.0,
            Service => 15.0,
            Road => 30.0,
            Track => {
                if self == Profile::FourByFour {
                    30.0
                } else {
                    15.0
                }
            }
            _ => 5.0,
        };
        let s = if maxspeed_kmh > 0 {
            f64::from(maxspeed_kmh)
        } else {
            default
        };
        s.clamp(1.0, self.max_speed_kmh())
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Profile::Car => "car",
            Profile::Truck => "truck",
            Profile::FourByFour => "4x4",
            Profile::Foot => "foot",
        })
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "car" => Ok(Profile::Car),
            "truck" | "hgv" => Ok(Profile::Truck),
            "4x4" | "fourbyfour" | "offroad" => Ok(Profile::FourByFour),
            "foot" | "walk" => Ok(Profile::Foot),
            _ => Err(format!(
                "unknown profile {s:?}; one of car, truck, 4x4, foot"
            )),
        }
    }
}

/// What a shortest path minimises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Sum of WGS84 geodesic segment lengths, metres.
    Distance,
    /// Travel time at the profile's speeds, seconds.
    Time,
}

impl FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "distance" => Ok(Metric::Distance),
            "time" | "duration" => Ok(Metric::Time),
            _ => Err(format!("unknown metric {s:?}; one of distance, time")),
        }
    }
}

/// What the profiles need to know about one way, from its tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WayAttrs {
    /// Road class.
    pub class: RoadClass,
    /// `maxspeed` in km/h, 0 when absent or unparseable.
    pub maxspeed_kmh: u16,
    /// Per-profile direction bits (see [`Profile::forward_bit`]).
    pub flags: u8,
}

fn is_no(v: Option<&str>) -> bool {
    matches!(v, Some("no" | "private"))
}

/// Parses `maxspeed` values such as `50`, `50 km/h`, `30 mph`; `None` otherwise.
pub fn parse_maxspeed(v: &str) -> Option<u16> {
    let v = v.trim();
    let (num, mph) = if let Some(n) = v.strip_suffix("mph") {
        (n.trim(), true)
    } else if let Some(n) = v.strip_suffix("km/h").or_else(|| v.strip_suffix("kmh")) {
        (n.trim(), false)
    } else {
        (v, false)
    };
    let n: f64 = num.parse().ok()?;
    if !(n > 0.0 && n < 400.0) {
        return None;
    }
    let kmh = if mph { n * 1.609_344 } else { n };
    Some(kmh.round() as u16)
}

fn parse_tonnes_or_metres(v: Option<&str>) -> Option<f64> {
    let v = v?.trim();
    let v = v
        .trim_end_matches(" t")
        .trim_end_matches('t')
        .trim_end_matches(" m")
        .trim_end_matches('m')
        .trim();
    v.parse::<f64>().ok().filter(|x| x.is_finite() && *x > 0.0)
}

/// Evaluates a way's tags for every profile; `None` when no profile may use it.
///
/// `tag` looks a key up in the way's tags.
pub fn way_attrs<'a>(tag: impl Fn(&str) -> Option<&'a str>) -> Option<WayAttrs> {
    let class = RoadClass::parse(tag("highway")?)?;
    if tag("area") == Some("yes") {
        return None;
    }
    let maxspeed_kmh = tag("maxspeed").and_then(parse_maxspeed).unwrap_or(0);

    // Direction rules shared by the vehicle profiles (car rules, exactly).
    let oneway = tag("oneway");
    let (fwd, bwd) = match oneway {
        Some("yes" | "true" | "1") => (true, false),
        Some("-1") => (false, true),
        Some("no") => (true, true),
        _ => {
            let implied = tag("junction") == Some("roundabout")
                || matches!(class, RoadClass::Motorway | RoadClass::MotorwayLink);
            (true, !implied)
        }
    };
    let dir_bits = |p: Profile| -> u8 {
        (if fwd { p.forward_bit() } else { 0 }) | (if bwd { p.backward_bit() } else { 0 })
    };

    let motor_blocked =
        is_no(tag("access")) || is_no(tag("motor_vehicle")) || is_no(tag("motorcar"));
    let mut flags = 0u8;
    if class.is_car_class() && !motor_blocked {
        flags |= dir_bits(Profile::Car) | dir_bits(Profile::FourByFour);
        let too_heavy = parse_tonnes_or_metres(tag("maxweight")).is_some_and(|w| w < 7.5);
        let too_low = parse_tonnes_or_metres(tag("maxheight")).is_some_and(|h| h < 4.0);
        if class != RoadClass::Track && !is_no(tag("hgv")) && !too_heavy && !too_low {
            flags |= dir_bits(Profile::Truck);
        }
    }
    let foot_class = !matches!(class, RoadClass::Motorway | RoadClass::MotorwayLink);
    let foot_tag = tag("foot");
    let foot_ok = match foot_tag {
        Some("no" | "private") => false,
        Some("yes" | "designated" | "permissive") => true,
        _ => !is_no(tag("access")),
    };
    if foot_class && foot_ok {
        flags |= Profile::Foot.forward_bit() | Profile::Foot.backward_bit();
    }
    (flags != 0).then_some(WayAttrs {
        class,
        maxspeed_kmh,
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn attrs(tags: &[(&str, &str)]) -> Option<WayAttrs> {
        let m: HashMap<&str, &str> = tags.iter().copied().collect();
        way_attrs(|k| m.get(k).copied())
    }

    fn car(tags: &[(&str, &str)]) -> (bool, bool) {
        attrs(tags).map_or((false, false), |a| {
            (
                a.flags & Profile::Car.forward_bit() != 0,
                a.flags & Profile::Car.backward_bit() != 0,
            )
        })
    }

    #[test]
    fn car_rules() {
        assert_eq!(car(&[("highway", "residential")]), (true, true));
        assert_eq!(car(&[("highway", "track")]), (true, true));
        assert_eq!(car(&[("highway", "path")]), (false, false));
        assert_eq!(car(&[("highway", "footway")]), (false, false));
        assert_eq!(
            car(&[("highway", "primary"), ("access", "private")]),
            (false, false)
        );
        assert_eq!(
            car(&[("highway", "primary"), ("motor_vehicle", "no")]),
            (false, false)
        );
        assert_eq!(
            car(&[("highway", "primary"), ("motorcar", "private")]),
            (false, false)
        );
        assert_eq!(
            car(&[
                ("highway", "primary"),
                ("access", "no"),
                ("motorcar", "yes")
            ]),
            (false, false)
        );
        assert_eq!(
            car(&[("highway", "service"), ("area", "yes")]),
            (false, false)
        );
        assert_eq!(
            car(&[("highway", "primary"), ("oneway", "yes")]),
            (true, false)
        );
        assert_eq!(
            car(&[("highway", "primary"), ("oneway", "true")]),
            (true, false)
        );
        assert_eq!(
            car(&[("highway", "primary"), ("oneway", "1")]),
            (true, false)
        );
        assert_eq!(
            car(&[("highway", "primary"), ("oneway", "-1")]),
            (false, true)
        );
        assert_eq!(car(&[("highway", "motorway")]), (true, false));
        assert_eq!(car(&[("highway", "motorway_link")]), (true, false));
        assert_eq!(
            car(&[("highway", "motorway"), ("oneway", "no")]),
            (true, true)
        );
        assert_eq!(
            car(&[("highway", "primary"), ("junction", "roundabout")]),
            (true, false)
        );
        assert_eq!(
            car(&[
                ("highway", "primary"),
                ("junction", "roundabout"),
                ("oneway", "no")
            ]),
            (true, true)
        );
        assert_eq!(
            car(&[
                ("highway", "primary"),
                ("junction", "roundabout"),
                ("oneway", "-1")
            ]),
            (false, true)
        );
        assert_eq!(
            car(&[("highway", "trunk"), ("oneway", "reversible")]),
            (true, true)
        );
    }

    #[test]
    fn other_profiles() {
        let a = attrs(&[("highway", "track")]).unwrap();
        assert_eq!(a.flags & Profile::Truck.forward_bit(), 0);
        assert_ne!(a.flags & Profile::FourByFour.forward_bit(), 0);
        let a = attrs(&[("highway", "primary"), ("maxweight", "3.5")]).unwrap();
        assert_eq!(a.flags & Profile::Truck.forward_bit(), 0);
        let a = attrs(&[("highway", "path")]).unwrap();
        assert_eq!(
            a.flags,
            Profile::Foot.forward_bit() | Profile::Foot.backward_bit()
        );
        assert!(attrs(&[("highway", "motorway"), ("foot", "no")]).is_some());
        assert_eq!(parse_maxspeed("50"), Some(50));
        assert_eq!(parse_maxspeed("30 mph"), Some(48));
        assert_eq!(parse_maxspeed("none"), None);
    }
}
