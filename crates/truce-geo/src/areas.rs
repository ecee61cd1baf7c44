//! Areas of responsibility and observation posts: who is responsible for a
//! point, nearest posts, and incident counts per AoR per day.

use std::collections::BTreeMap;

use geo::MultiPolygon;
use rstar::{AABB, RTree, primitives::GeomWithData, primitives::Rectangle};
use uuid::Uuid;

use crate::error::GeoError;
use crate::geom::{bbox, covers_point, validate_multipolygon};
use crate::incidents::{IncidentIndex, IncidentQuery};
use crate::network::{geodesic_m, valid_lon_lat};

/// An area of responsibility.
#[derive(Debug, Clone)]
pub struct AorArea {
    /// Record id.
    pub id: Uuid,
    /// Its area.
    pub polygon: MultiPolygon<f64>,
}

/// An observation post.
#[derive(Debug, Clone, PartialEq)]
pub struct PostPoint {
    /// Record id.
    pub id: Uuid,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
}

/// A post and its geodesic distance from the query point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearPost {
    /// The post.
    pub id: Uuid,
    /// Geodesic metres.
    pub distance_m: f64,
}

/// Who is responsible for a point.
#[derive(Debug, Clone, PartialEq)]
pub struct Responsible {
    /// AoRs covering the point (inside or on the boundary), by id order.
    pub aors: Vec<Uuid>,
    /// The nearest post.
    pub post: Option<NearPost>,
}

/// Index of AoRs and posts.
#[derive(Debug)]
pub struct AreaIndex {
    aors: Vec<AorArea>,
    aor_tree: RTree<GeomWithData<Rectangle<[f64; 2]>, u32>>,
    posts: Vec<PostPoint>,
    post_tree: RTree<GeomWithData<[f64; 2], u32>>,
}

impl AreaIndex {
    /// Builds the index; invalid polygons or coordinates are refused.
    pub fn new(aors: Vec<AorArea>, posts: Vec<PostPoint>) -> Result<AreaIndex, GeoError> {
        let mut rects = Vec::new();
        for (i, a) in aors.iter().enumerate() {
            validate_multipolygon(&a.polygon)?;
            if let Some((min, max)) = bbox(&a.polygon) {
                rects.push(GeomWithData::new(
                    Rectangle::from_corners(min, max),
                    i as u32,
                ));
            }
        }
        for p in &posts {
            if !valid_lon_lat(p.lon, p.lat) {
                return Err(GeoError::InvalidGeometry(format!(
                    "post {} at ({}, {})",
                    p.id, p.lon, p.lat
                )));
            }
        }
        let post_tree = RTree::bulk_load(
            posts
                .iter()
                .enumerate()
                .map(|(i, p)| GeomWithData::new([p.lon, p.lat], i as u32))
                .collect(),
        );
        Ok(AreaIndex {
            aors,
            aor_tree: RTree::bulk_load(rects),
            posts,
            post_tree,
        })
    }

    /// AoRs covering a (lon, lat) point, sorted by id.
    pub fn aors_at(&self, p: [f64; 2]) -> Vec<Uuid> {
        let mut out: Vec<Uuid> = self
            .aor_tree
            .locate_all_at_point(&p)
            .filter(|r| covers_point(&self.aors[r.data as usize].polygon, p))
            .map(|r| self.aors[r.data as usize].id)
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The `k` nearest posts by geodesic distance (ties by id).
    pub fn nearest_posts(&self, p: [f64; 2], k: usize) -> Vec<NearPost> {
        if k == 0 || !valid_lon_lat(p[0], p[1]) {
            return Vec::new();
        }
        // Planar order in degrees; a planar degree is at least this many metres near p.
        let metres_per_deg = 110_000.0 * (p[1].abs() + 2.0).min(89.9).to_radians().cos() * 0.99;
        let mut found: Vec<NearPost> = Vec::new();
        for (cand, d2) in self.post_tree.nearest_neighbor_iter_with_distance_2(&p) {
            if found.len() >= k && d2.sqrt() * metres_per_deg > found[k - 1].distance_m {
                break;
            }
            let post = &self.posts[cand.data as usize];
            found.push(NearPost {
                id: post.id,
                distance_m: geodesic_m(p, [post.lon, post.lat]),
            });
            found.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m).then(a.id.cmp(&b.id)));
        }
        found.truncate(k);
        found
    }

    /// The AoRs covering the point and the nearest post.
    pub fn responsible(&self, p: [f64; 2]) -> Responsible {
        Responsible {
            aors: self.aors_at(p),
            post: self.nearest_posts(p, 1).first().copied(),
        }
    }

    /// Incidents matching `q`, counted per AoR per UTC day (an incident in
    /// two overlapping AoRs counts in both).
    pub fn counts_per_aor_per_day(
        &self,
        incidents: &IncidentIndex,
        q: &IncidentQuery,
    ) -> BTreeMap<(Uuid, jiff::civil::Date), u64> {
        let mut out = BTreeMap::new();
        incidents.for_each_match(q, |_, lon, lat, t| {
            let aors = self.aors_at([lon, lat]);
            if aors.is_empty() {
                return;
            }
            let Ok(ts) = jiff::Timestamp::from_second(t) else {
                return;
            };
            let day = ts.to_zoned(jiff::tz::TimeZone::UTC).date();
            for a in aors {
                *out.entry((a, day)).or_insert(0) += 1;
            }
        });
        out
    }

    /// AoRs whose bounding box meets a (lon, lat) box.
    pub fn aors_in_box(&self, min: [f64; 2], max: [f64; 2]) -> Vec<Uuid> {
        self.aor_tree
            .locate_in_envelope_intersecting(&AABB::from_corners(min, max))
            .map(|r| self.aors[r.data as usize].id)
            .collect()
    }
}
