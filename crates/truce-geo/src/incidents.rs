//! In-memory index of incidents for map queries: bounding box + time window
//! + category/status/party, in microseconds.
//!
//! Layout: columns (id, lon, lat, time, interned category/status/party,
//! sensitivity)
//! sorted into **time slabs** (consecutive runs in time order), each slab
//! sorted along a Hilbert curve and cut into blocks of 64 incidents with a
//! bounding box, a time range and a category bitmask. A query visits the
//! slabs overlapping its time window and the blocks overlapping its box.
//! Changes go to a small unsorted delta (with tombstones for replaced or
//! removed incidents) until [`IncidentIndex::compact`] rebuilds.
//! About 52 bytes per incident including the id lookup and the
//! sensitivity (one byte, so a server needs no map from id to sensitivity
//! beside the index: at 10M incidents such a map would take ~30 bytes more
//! per incident).

use std::collections::HashMap;

use truce_core::Sensitivity;
use uuid::Uuid;

use crate::error::GeoError;
use crate::network::valid_lon_lat;

const BLOCK: usize = 64;
const SLAB: usize = 1 << 16;

/// One incident as the index sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentPoint {
    /// Record id.
    pub id: Uuid,
    /// Longitude (WGS84).
    pub lon: f64,
    /// Latitude (WGS84).
    pub lat: f64,
    /// When it happened, Unix seconds.
    pub time: i64,
    /// Category (event type).
    pub category: String,
    /// Status (verification state).
    pub status: String,
    /// Party held responsible (or empty).
    pub party: String,
    /// The record's sensitivity: callers drop rows a role may not see.
    pub sensitivity: Sensitivity,
}

/// One indexed incident as a query sees it (borrowed attributes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IncidentRow<'a> {
    /// Record id.
    pub id: Uuid,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// Unix seconds.
    pub time: i64,
    /// Category.
    pub category: &'a str,
    /// Status.
    pub status: &'a str,
    /// Party (or empty).
    pub party: &'a str,
    /// The record's sensitivity.
    pub sensitivity: Sensitivity,
}

/// A map query. Every present condition must hold.
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    /// [min lon, min lat, max lon, max lat], inclusive.
    pub bbox: Option<[f64; 4]>,
    /// Time window start (inclusive), Unix seconds.
    pub from: Option<i64>,
    /// Time window end (exclusive), Unix seconds.
    pub to: Option<i64>,
    /// Any of these categories.
    pub categories: Option<Vec<String>>,
    /// Any of these statuses.
    pub statuses: Option<Vec<String>>,
    /// Any of these parties.
    pub parties: Option<Vec<String>>,
}

#[derive(Debug, Default)]
struct Dict {
    names: Vec<String>,
    ids: HashMap<String, u16>,
}

impl Dict {
    fn intern(&mut self, s: &str) -> Result<u16, GeoError> {
        if let Some(&i) = self.ids.get(s) {
            return Ok(i);
        }
        let i = u16::try_from(self.names.len())
            .map_err(|_| GeoError::InvalidGeometry("more than 65,535 distinct values".into()))?;
        self.names.push(s.to_string());
        self.ids.insert(s.to_string(), i);
        Ok(i)
    }
    fn get(&self, s: &str) -> Option<u16> {
        self.ids.get(s).copied()
    }
}

#[derive(Debug, Clone, Copy)]
struct BlockMeta {
    min: [f64; 2],
    max: [f64; 2],
    tmin: i64,
    tmax: i64,
    cats: u64,
}

/// The incident index.
#[derive(Debug, Default)]
pub struct IncidentIndex {
    ids: Vec<u128>,
    lon: Vec<f64>,
    lat: Vec<f64>,
    time: Vec<i64>,
    cat: Vec<u16>,
    status: Vec<u16>,
    party: Vec<u16>,
    sens: Vec<Sensitivity>,
    dead: Vec<u64>,
    /// Sorted part: rows `0..sorted`; the rest is the delta.
    sorted: usize,
    blocks: Vec<BlockMeta>,
    /// Per slab: (tmin, tmax, first block, end block).
    slabs: Vec<(i64, i64, u32, u32)>,
    /// Rows of the sorted part ordered by id (binary search).
    by_id: Vec<u32>,
    /// Rows of the delta by id.
    delta_pos: HashMap<u128, u32>,
    cats: Dict,
    statuses: Dict,
    parties: Dict,
    live: usize,
}

fn hilbert(x: u32, y: u32) -> u64 {
    // 16-bit Hilbert index (x, y in 0..65536).
    let (mut x, mut y) = (x, y);
    let mut d: u64 = 0;
    let mut s: u32 = 1 << 15;
    while s > 0 {
        let rx = u32::from(x & s > 0);
        let ry = u32::from(y & s > 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = 65535 - x;
                y = 65535 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    d
}

fn cat_bit(c: u16) -> u64 {
    1u64 << (c % 64)
}

impl IncidentIndex {
    /// Builds the index from incidents (later duplicates of an id replace earlier ones).
    pub fn build(rows: impl IntoIterator<Item = IncidentPoint>) -> Result<IncidentIndex, GeoError> {
        let mut idx = IncidentIndex::default();
        for r in rows {
            idx.upsert(&r)?;
        }
        idx.compact();
        Ok(idx)
    }

    /// Number of live incidents.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no incident is indexed.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    fn is_dead(&self, i: usize) -> bool {
        self.dead[i / 64] & (1 << (i % 64)) != 0
    }

    fn kill(&mut self, i: usize) {
        self.dead[i / 64] |= 1 << (i % 64);
        self.live -= 1;
    }

    /// Adds or replaces an incident (kept in step with the store on every write).
    pub fn upsert(&mut self, r: &IncidentPoint) -> Result<(), GeoError> {
        if !valid_lon_lat(r.lon, r.lat) {
            return Err(GeoError::InvalidGeometry(format!(
                "incident {} at ({}, {})",
                r.id, r.lon, r.lat
            )));
        }
        let (c, s, p) = (
            self.cats.intern(&r.category)?,
            self.statuses.intern(&r.status)?,
            self.parties.intern(&r.party)?,
        );
        let key = r.id.as_u128();
        if let Some(old) = self.find(key) {
            self.kill(old);
        }
        let i = self.ids.len();
        self.ids.push(key);
        self.lon.push(r.lon);
        self.lat.push(r.lat);
        self.time.push(r.time);
        self.cat.push(c);
        self.status.push(s);
        self.party.push(p);
        self.sens.push(r.sensitivity);
        if self.dead.len() * 64 <= i {
            self.dead.push(0);
        }
        self.delta_pos.insert(key, i as u32);
        self.live += 1;
        if self.ids.len() - self.sorted > 4096 && self.ids.len() - self.sorted > self.sorted / 8 {
            self.compact();
        }
        Ok(())
    }

    /// Removes an incident (retracted); true when it was indexed.
    pub fn remove(&mut self, id: Uuid) -> bool {
        let key = id.as_u128();
        match self.find(key) {
            Some(i) => {
                self.kill(i);
                self.delta_pos.remove(&key);
                true
            }
            None => false,
        }
    }

    /// The live row of an id.
    fn find(&self, key: u128) -> Option<usize> {
        if let Some(&i) = self.delta_pos.get(&key) {
            return (!self.is_dead(i as usize)).then_some(i as usize);
        }
        let k = self
            .by_id
            .binary_search_by_key(&key, |&r| self.ids[r as usize])
            .ok()?;
        let i = self.by_id[k] as usize;
        (!self.is_dead(i)).then_some(i)
    }

    /// Rebuilds the sorted layout from the live rows.
    pub fn compact(&mut self) {
        let mut order: Vec<u32> = (0..self.ids.len() as u32)
            .filter(|&i| !self.is_dead(i as usize))
            .collect();
        order.sort_by_key(|&i| (self.time[i as usize], i));
        // Within each slab, Hilbert order.
        let key = |i: u32| {
            let x = ((self.lon[i as usize] + 180.0) / 360.0 * 65535.0) as u32;
            let y = ((self.lat[i as usize] + 90.0) / 180.0 * 65535.0) as u32;
            hilbert(x, y)
        };
        for slab in order.chunks_mut(SLAB) {
            slab.sort_by_cached_key(|&i| key(i));
        }
        fn permute<T: Copy>(v: &[T], order: &[u32]) -> Vec<T> {
            order.iter().map(|&i| v[i as usize]).collect()
        }
        self.ids = permute(&self.ids, &order);
        self.lon = permute(&self.lon, &order);
        self.lat = permute(&self.lat, &order);
        self.time = permute(&self.time, &order);
        self.cat = permute(&self.cat, &order);
        self.status = permute(&self.status, &order);
        self.party = permute(&self.party, &order);
        self.sens = permute(&self.sens, &order);
        let n = order.len();
        self.dead = vec![0; n.div_ceil(64)];
        self.sorted = n;
        self.live = n;
        self.delta_pos = HashMap::new();
        let mut by_id: Vec<u32> = (0..n as u32).collect();
        by_id.sort_unstable_by_key(|&r| self.ids[r as usize]);
        self.by_id = by_id;
        self.blocks.clear();
        self.slabs.clear();
        for s in (0..n).step_by(SLAB) {
            let first = self.blocks.len() as u32;
            let (mut stmin, mut stmax) = (i64::MAX, i64::MIN);
            for b in (s..(s + SLAB).min(n)).step_by(BLOCK) {
                let e = (b + BLOCK).min(n).min(s + SLAB);
                let mut m = BlockMeta {
                    min: [f64::INFINITY; 2],
                    max: [f64::NEG_INFINITY; 2],
                    tmin: i64::MAX,
                    tmax: i64::MIN,
                    cats: 0,
                };
                for i in b..e {
                    m.min = [m.min[0].min(self.lon[i]), m.min[1].min(self.lat[i])];
                    m.max = [m.max[0].max(self.lon[i]), m.max[1].max(self.lat[i])];
                    m.tmin = m.tmin.min(self.time[i]);
                    m.tmax = m.tmax.max(self.time[i]);
                    m.cats |= cat_bit(self.cat[i]);
                }
                stmin = stmin.min(m.tmin);
                stmax = stmax.max(m.tmax);
                self.blocks.push(m);
            }
            self.slabs
                .push((stmin, stmax, first, self.blocks.len() as u32));
        }
        self.ids.shrink_to_fit();
        self.lon.shrink_to_fit();
        self.lat.shrink_to_fit();
        self.time.shrink_to_fit();
        self.cat.shrink_to_fit();
        self.status.shrink_to_fit();
        self.party.shrink_to_fit();
        self.sens.shrink_to_fit();
        self.blocks.shrink_to_fit();
    }

    /// Row positions matching the query, in index order.
    fn matching(&self, q: &IncidentQuery, mut f: impl FnMut(usize)) {
        let ids = |d: &Dict, v: &Option<Vec<String>>| -> Option<Vec<u16>> {
            v.as_ref()
                .map(|v| v.iter().filter_map(|s| d.get(s)).collect())
        };
        let cats = ids(&self.cats, &q.categories);
        let stats = ids(&self.statuses, &q.statuses);
        let parts = ids(&self.parties, &q.parties);
        if [&cats, &stats, &parts]
            .iter()
            .any(|v| v.as_ref().is_some_and(|v| v.is_empty()))
        {
            return;
        }
        let catmask = cats
            .as_ref()
            .map_or(u64::MAX, |v| v.iter().fold(0, |m, &c| m | cat_bit(c)));
        let [x0, y0, x1, y1] = q.bbox.unwrap_or([-180.0, -90.0, 180.0, 90.0]);
        let (t0, t1) = (q.from.unwrap_or(i64::MIN), q.to.unwrap_or(i64::MAX));
        if t0 >= t1 {
            return;
        }
        let row_ok = |i: usize| -> bool {
            let (x, y, t) = (self.lon[i], self.lat[i], self.time[i]);
            x >= x0
                && x <= x1
                && y >= y0
                && y <= y1
                && t >= t0
                && t < t1
                && cats.as_ref().is_none_or(|v| v.contains(&self.cat[i]))
                && stats.as_ref().is_none_or(|v| v.contains(&self.status[i]))
                && parts.as_ref().is_none_or(|v| v.contains(&self.party[i]))
                && !self.is_dead(i)
        };
        for &(stmin, stmax, b0, b1) in &self.slabs {
            if stmax < t0 || stmin >= t1 {
                continue;
            }
            for b in b0..b1 {
                let m = &self.blocks[b as usize];
                if m.max[0] < x0
                    || m.min[0] > x1
                    || m.max[1] < y0
                    || m.min[1] > y1
                    || m.tmax < t0
                    || m.tmin >= t1
                    || m.cats & catmask == 0
                {
                    continue;
                }
                let start = b as usize * BLOCK;
                let end = (start + BLOCK).min(self.sorted);
                for i in start..end {
                    if row_ok(i) {
                        f(i);
                    }
                }
            }
        }
        for i in self.sorted..self.ids.len() {
            if row_ok(i) {
                f(i);
            }
        }
    }

    /// Ids of the incidents matching the query.
    pub fn query(&self, q: &IncidentQuery) -> Vec<Uuid> {
        let mut out = Vec::new();
        self.matching(q, |i| out.push(Uuid::from_u128(self.ids[i])));
        out
    }

    /// Number of incidents matching the query.
    pub fn count(&self, q: &IncidentQuery) -> usize {
        let mut n = 0;
        self.matching(q, |_| n += 1);
        n
    }

    /// Calls `f(lon, lat, time)` for every match (used for per-area counts).
    pub fn for_each_match(&self, q: &IncidentQuery, mut f: impl FnMut(Uuid, f64, f64, i64)) {
        self.matching(q, |i| {
            f(
                Uuid::from_u128(self.ids[i]),
                self.lon[i],
                self.lat[i],
                self.time[i],
            )
        });
    }

    /// Calls `f` with every match and its attributes (for callers that
    /// filter further, e.g. by what a role may read, or build their own output).
    pub fn for_each_row(&self, q: &IncidentQuery, mut f: impl FnMut(IncidentRow<'_>)) {
        self.matching(q, |i| {
            f(IncidentRow {
                id: Uuid::from_u128(self.ids[i]),
                lon: self.lon[i],
                lat: self.lat[i],
                time: self.time[i],
                category: &self.cats.names[self.cat[i] as usize],
                status: &self.statuses.names[self.status[i] as usize],
                party: &self.parties.names[self.party[i] as usize],
                sensitivity: self.sens[i],
            })
        });
    }

    /// The matches as a GeoJSON FeatureCollection (id, time, category, status, party).
    pub fn query_geojson(&self, q: &IncidentQuery) -> serde_json::Value {
        let mut features = Vec::new();
        self.matching(q, |i| {
            features.push(serde_json::json!({
                "type": "Feature",
                "id": Uuid::from_u128(self.ids[i]).to_string(),
                "geometry": {"type": "Point", "coordinates": [self.lon[i], self.lat[i]]},
                "properties": {
                    "time": jiff::Timestamp::from_second(self.time[i]).map(|t| t.to_string()).unwrap_or_default(),
                    "category": self.cats.names[self.cat[i] as usize],
                    "status": self.statuses.names[self.status[i] as usize],
                    "party": self.parties.names[self.party[i] as usize],
                }
            }));
        });
        serde_json::json!({"type": "FeatureCollection", "features": features})
    }

    /// Heap bytes held by the index (columns, blocks, id maps, dictionaries).
    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        let map = self.by_id.capacity() * 4 + self.delta_pos.capacity() * 33 * 8 / 7;
        self.ids.capacity() * 16
            + (self.lon.capacity() + self.lat.capacity()) * 8
            + self.time.capacity() * 8
            + (self.cat.capacity() + self.status.capacity() + self.party.capacity()) * 2
            + self.sens.capacity()
            + self.dead.capacity() * 8
            + self.blocks.capacity() * size_of::<BlockMeta>()
            + self.slabs.capacity() * 24
            + map
            + [&self.cats, &self.statuses, &self.parties]
                .iter()
                .map(|d| d.names.iter().map(|s| 2 * s.len() + 56).sum::<usize>())
                .sum::<usize>()
    }
}
