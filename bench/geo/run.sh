#!/usr/bin/env bash
# Spatial engine benchmark, side by side: Truce (in memory, crates/truce-geo)
# vs PostgreSQL 15 + PostGIS 3 + pgRouting on the same data and queries.
#
#   bench/geo/run.sh
#   N=1000000 N10=10000000 QUERIES=1000 PAIRS=1000 GRID=1000 bench/geo/run.sh
#   SKIP_INCIDENTS=1 SKIP_HAZARDS=1 bench/geo/run.sh     # routing only
#   N10=10000000 SKIP_ROUTING=1 bench/geo/run.sh         # map queries + hazards only
#   GEO_BENCH=path/to/geo_bench bench/geo/run.sh         # use a built binary
#
# Installs the Debian packages when missing (apt-get), starts its own server
# on 127.0.0.1 in a temporary data directory, checks that both sides give the
# same answers, and stops the server on exit (also on failure).
# Results: $OUT/results.jsonl and a summary on standard output.
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${N:-1000000}            # incidents
N10=${N10:-0}              # also run with this many incidents (e.g. 10000000); 0 = skip
QUERIES=${QUERIES:-1000}   # map queries
POINTS=${POINTS:-1000000}  # hazard check points
POLYS=${POLYS:-10000}      # hazard polygons
PAIRS=${PAIRS:-1000}       # routing O-D pairs
AVOID=${AVOID:-50}         # avoid polygons
GRID=${GRID:-1000}         # generated network: GRID x GRID nodes
GRID_PAIRS=${GRID_PAIRS:-$PAIRS}
PBF=${PBF:-../shared/data/osm/andorra.osm.pbf}
PORT=${PORT:-54329}
OUT=${OUT:-target/bench/geo-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
PGBIN=/usr/lib/postgresql/15/bin

if [[ ! -f /usr/share/postgresql/15/extension/postgis.control || ! -f /usr/share/postgresql/15/extension/pgrouting.control ]]; then
  echo "installing postgresql-15, postgis 3 and pgrouting (Debian packages) ..."
  SUDO=; [[ $(id -u) != 0 ]] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql-15 postgresql-15-postgis-3 postgresql-15-pgrouting >/dev/null
fi

if [[ -n "${GEO_BENCH:-}" ]]; then BENCH=$GEO_BENCH; else
  cargo build --release -q -p truce-geo --example geo_bench
  BENCH=$(pwd)/target/release/examples/geo_bench
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/truce-geo-bench.XXXXXX")
chmod 755 "$WORK"
run_pg() { if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
STARTED=0
cleanup() {
  local rc=$?
  if [[ $STARTED == 1 ]]; then run_pg "$PGBIN/pg_ctl" stop -D "$WORK/pg" -m fast -w >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT INT TERM
mkdir -p "$WORK/pg" "$WORK/data"
[[ $(id -u) == 0 ]] && chown postgres "$WORK/pg"
run_pg "$PGBIN/initdb" -D "$WORK/pg" -U bench --auth=trust -E UTF8 >/dev/null
run_pg "$PGBIN/pg_ctl" start -D "$WORK/pg" -w -l "$WORK/pg/server.log" -o \
  "-c listen_addresses=127.0.0.1 -p $PORT -k $WORK/pg -c shared_buffers=2GB -c work_mem=256MB -c maintenance_work_mem=1GB -c max_wal_size=8GB -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null
STARTED=1
PSQL=(psql -h 127.0.0.1 -p "$PORT" -U bench -d postgres -v ON_ERROR_STOP=1 -qAt)
psql_() { "${PSQL[@]}" "$@"; }
psql_ -c "CREATE EXTENSION postgis; CREATE EXTENSION pgrouting;"
echo "PostgreSQL $(psql_ -c 'SHOW server_version'), PostGIS $(psql_ -c 'SELECT postgis_lib_version()'), pgRouting $(psql_ -c 'SELECT pgr_version()')" | tee "$OUT/versions.txt"
psql_ -c "CREATE TABLE timings(name text, ms float8, a bigint, b bigint);"
D=$WORK/data

# The machine is shared: record the load average at each stage.
load() { echo "{\"bench\":\"load\",\"stage\":\"$1\",\"at\":\"$(date -u +%H:%M:%S)\",\"loadavg\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" | tee -a "$OUT/results.jsonl"; }

incidents() { # $1 = count
  local n=$1
  echo "== map query: $n incidents, $QUERIES queries (bbox + 7-day window + category)"
  load "incidents $n truce"
  "$BENCH" incidents "$n" "$QUERIES" "$D" | tee -a "$OUT/results.jsonl"
  load "incidents $n postgis"
  psql_ <<SQL
DROP TABLE IF EXISTS inc_raw, incidents, q, qres;
CREATE UNLOGGED TABLE inc_raw(n bigint, id uuid, lon float8, lat float8, t bigint, category text, status text, party text);
\copy inc_raw FROM '$D/incidents.csv' CSV
CREATE TABLE incidents AS SELECT n, id, t, category, status, party, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom FROM inc_raw;
DROP TABLE inc_raw;
CREATE INDEX ON incidents USING gist (geom);
CREATE INDEX ON incidents (t);
CREATE INDEX ON incidents (category);
VACUUM ANALYZE incidents;
CREATE TABLE q(qid int, x0 float8, y0 float8, x1 float8, y1 float8, t0 bigint, t1 bigint, cat text);
\copy q FROM '$D/queries.csv' CSV
CREATE TABLE qres(qid int, cnt bigint, s numeric, ms float8);
SQL
  # Twice: the first pass warms the cache; the second is measured.
  for pass in 1 2; do
    psql_ <<'SQL'
TRUNCATE qres;
DO $$
DECLARE r record; c bigint; s numeric; t0 timestamptz;
BEGIN
  FOR r IN SELECT * FROM q ORDER BY qid LOOP
    t0 := clock_timestamp();
    EXECUTE 'SELECT count(*), coalesce(sum(n), 0) FROM incidents WHERE ST_Intersects(geom, ST_MakeEnvelope($1, $2, $3, $4, 4326)) AND t >= $5 AND t < $6 AND category = $7'
      INTO c, s USING r.x0, r.y0, r.x1, r.y1, r.t0, r.t1, r.cat;
    INSERT INTO qres VALUES (r.qid, c, s, extract(epoch FROM clock_timestamp() - t0) * 1000);
  END LOOP;
END $$;
SQL
  done
  psql_ -c "\copy (SELECT qid, cnt, s FROM qres ORDER BY qid) TO '$D/pg_incidents.csv' CSV"
  local p50 p95 bytes
  p50=$(psql_ -c "SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) * 1000)::numeric, 1) FROM qres")
  p95=$(psql_ -c "SELECT round((percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) * 1000)::numeric, 1) FROM qres")
  bytes=$(psql_ -c "SELECT pg_total_relation_size('incidents')")
  # Keep both answer files (1 line per query) with the results.
  cp "$D/truce_incidents.csv" "$OUT/truce_incidents_$n.csv"; cp "$D/pg_incidents.csv" "$OUT/pg_incidents_$n.csv"
  load "incidents $n done"
  if diff -q "$D/truce_incidents.csv" "$D/pg_incidents.csv" >/dev/null; then same=true; else same=false; diff "$D/truce_incidents.csv" "$D/pg_incidents.csv" | head -5 || true; fi
  echo "{\"bench\":\"incidents_postgis\",\"n\":$n,\"p50_us\":$p50,\"p95_us\":$p95,\"table_and_index_bytes_per_incident\":$((bytes / n)),\"same_results\":$same}" | tee -a "$OUT/results.jsonl"
  psql_ -c "DROP TABLE incidents, q, qres"
}

if [[ "${SKIP_INCIDENTS:-0}" != 1 ]]; then
  incidents "$N"
  if [[ "$N10" != 0 ]]; then incidents "$N10"; fi
fi

if [[ "${SKIP_HAZARDS:-0}" != 1 ]]; then
echo "== hazard check: $POINTS points vs $POLYS polygons (ST_Intersects)"
load "hazards truce"
"$BENCH" hazards "$POINTS" "$POLYS" "$D" | tee -a "$OUT/results.jsonl"
load "hazards postgis"
psql_ <<SQL
CREATE TABLE hz(id int, geom geometry(Polygon, 4326));
\copy hz FROM '$D/hazards.csv' CSV
CREATE UNLOGGED TABLE pts_raw(n int, lon float8, lat float8);
\copy pts_raw FROM '$D/points.csv' CSV
CREATE TABLE pts AS SELECT n, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geometry(Point, 4326) AS geom FROM pts_raw;
CREATE INDEX ON hz USING gist (geom);
CREATE INDEX ON pts USING gist (geom);
VACUUM ANALYZE hz; VACUUM ANALYZE pts;
DO \$\$
DECLARE t0 timestamptz; a bigint; b bigint;
BEGIN
  FOR pass IN 1..2 LOOP
    t0 := clock_timestamp();
    SELECT count(*), count(DISTINCT p.n) INTO a, b FROM pts p JOIN hz h ON ST_Intersects(h.geom, p.geom);
    IF pass = 2 THEN INSERT INTO timings VALUES ('hazards', extract(epoch FROM clock_timestamp() - t0) * 1000, a, b); END IF;
  END LOOP;
END \$\$;
SQL
psql_ -F, -c "SELECT ms, a, b FROM timings WHERE name = 'hazards'" | while IFS=, read -r ms a b; do
  echo "{\"bench\":\"hazards_postgis\",\"check_s\":$(echo "scale=3; $ms/1000" | bc),\"pairs\":$a,\"points_inside\":$b}" | tee -a "$OUT/results.jsonl"
done
psql_ -c "DROP TABLE hz, pts, pts_raw"
load "hazards done"
fi

route() { # $1 = network (PBF or grid:SIDE), $2 = pairs, $3 = label
  echo "== routing on $3: $2 O-D pairs, $AVOID avoid polygons (car, distance)"
  "$BENCH" route "$1" "$2" "$AVOID" "$D" | tee -a "$OUT/results.jsonl"
  psql_ <<SQL
DROP TABLE IF EXISTS edges, avoid, pairs, pg_routes;
CREATE TABLE edges(id bigint, source bigint, target bigint, cost float8, reverse_cost float8, geom geometry(LineString, 4326));
\copy edges FROM '$D/edges.csv' CSV
CREATE TABLE avoid(id int, geom geometry(Polygon, 4326));
\copy avoid FROM '$D/avoid.csv' CSV
CREATE TABLE pairs(source bigint, target bigint);
\copy pairs FROM '$D/pairs.csv' CSV
CREATE INDEX ON edges USING gist (geom);
CREATE INDEX ON avoid USING gist (geom);
VACUUM ANALYZE edges; VACUUM ANALYZE avoid; VACUUM ANALYZE pairs;
DELETE FROM timings WHERE name = 'route';
DO \$\$
DECLARE t0 timestamptz;
BEGIN
  t0 := clock_timestamp();
  CREATE TABLE pg_routes AS
    SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstra(
      'SELECT id, source, target, cost, reverse_cost FROM edges e
        WHERE NOT EXISTS (SELECT 1 FROM avoid a WHERE ST_Intersects(a.geom, e.geom))',
      'SELECT source, target FROM pairs', true)
    WHERE edge = -1;
  INSERT INTO timings VALUES ('route', extract(epoch FROM clock_timestamp() - t0) * 1000, (SELECT count(*) FROM pg_routes), 0);
END \$\$;
\copy (SELECT start_vid, end_vid, agg_cost FROM pg_routes) TO '$D/pg_routes.csv' CSV
SQL
  local ms
  ms=$(psql_ -c "SELECT ms FROM timings WHERE name = 'route'")
  python3 - "$D/truce_routes.csv" "$D/pg_routes.csv" "$ms" "$3" <<'PY' | tee -a "$OUT/results.jsonl"
import csv, json, sys
truce = {}
for s, t, c in csv.reader(open(sys.argv[1])):
    truce[(int(s), int(t))] = float(c) if c else None
pg = {(int(s), int(t)): float(c) for s, t, c in csv.reader(open(sys.argv[2]))}
bad = 0; worst = 0.0; compared = 0
for (s, t), c in truce.items():
    if s == t:
        continue  # pgr_dijkstra returns no row for s = t
    p = pg.get((s, t))
    if c is None or p is None:
        bad += (c is None) != (p is None)
        continue
    compared += 1
    rel = abs(c - p) / max(abs(c), abs(p), 1e-12)
    worst = max(worst, rel)
    bad += rel > 1e-6
print(json.dumps({"bench": "route_pgrouting", "network": sys.argv[4], "routes_s": float(sys.argv[3]) / 1000,
                  "compared": compared, "mismatches": bad, "max_rel_diff": worst}))
PY
  psql_ -c "DROP TABLE edges, avoid, pairs, pg_routes"
}

if [[ "${SKIP_ROUTING:-0}" != 1 ]]; then
  route "$PBF" "$PAIRS" andorra
  route "grid:$GRID" "$GRID_PAIRS" "grid${GRID}x${GRID}"
fi

echo "results: $OUT/results.jsonl"
