#!/usr/bin/env bash
# Bulletin at scale (issue 6): builds the benchmark mission if it is missing,
# then times `truce bulletin` (HTML and PDF, cold and warm page cache) and
# `GET /api/v1/bulletins/{date}` on a running server. See bench/README.md,
# "Bulletin at scale".
#
# Environment: DB (default /work/bench-data/scale10m/mission.db), INCIDENTS
# (10000000), LINES (1000000), YEARS (10), SEED (7), DATE (the last full UTC
# day of the data: yesterday), BIN (target/release), PORT (18093), RUNS (3
# warm runs each), SKIP_BUILD=1 (only measure).
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${DB:-/work/bench-data/scale10m/mission.db}
INCIDENTS=${INCIDENTS:-10000000}
LINES=${LINES:-1000000}
YEARS=${YEARS:-10}
SEED=${SEED:-7}
BIN=${BIN:-target/release}
PORT=${PORT:-18093}
RUNS=${RUNS:-3}
DATE=${DATE:-$(date -u -d yesterday +%F)}
TRUCE="$BIN/truce"
OUT=${OUT:-target/bench/bulletin-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT" "$(dirname "$DB")"
command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null

if [[ -z "${SKIP_BUILD:-}" && ! -f "$DB" ]]; then
  days=$(awk "BEGIN { printf \"%d\", $YEARS * 365.25 }")
  echo "building $DB: demo, then $INCIDENTS incidents and $LINES delivered lines over $YEARS years"
  /usr/bin/time -v "$TRUCE" --db "$DB" demo --load-only --days "$days" 2>"$OUT/demo.time"
  /usr/bin/time -v "$BIN/truce-gen-mission" --db "$DB" --incidents "$INCIDENTS" \
    --lines "$LINES" --years "$YEARS" --seed "$SEED" 2>&1 | tee "$OUT/gen.log"
  /usr/bin/time -v "$TRUCE" --db "$DB" verify 2>&1 | tee "$OUT/verify.log"
  ls -l "$DB"* | tee -a "$OUT/gen.log"
fi

"$TRUCE" --db "$DB" key >/dev/null
evict() { # drop the database's pages from the page cache (this file only)
  for f in "$DB" "$DB-wal"; do
    if [[ -f "$f" ]]; then dd if="$f" iflag=nocache count=0 status=none; fi
  done
}
run() { # label, format
  local label=$1 fmt=$2 ext=$2
  /usr/bin/time -f "%e s wall, %M KiB max RSS" -o "$OUT/$label.time" \
    "$TRUCE" --db "$DB" bulletin --date "$DATE" --format "$fmt" -o "$OUT/bulletin.$ext"
  printf '%-14s %s (%s bytes)\n' "$label" "$(cat "$OUT/$label.time")" "$(stat -c %s "$OUT/bulletin.$ext")"
}
echo "bulletin for $DATE from $DB ($(du -h "$DB" | cut -f1)); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for fmt in html pdf; do
  evict
  run "$fmt-cold" "$fmt"
  for i in $(seq "$RUNS"); do run "$fmt-warm$i" "$fmt"; done
done

# The same bulletin from a running server.
"$TRUCE" --db "$DB" user add bulletin-bench --role viewer >/dev/null 2>&1 || true
TOKEN=$("$TRUCE" --db "$DB" token create --user bulletin-bench --name bench | sed -n 's/^secret (shown once): //p')
"$TRUCE" --db "$DB" serve --addr "127.0.0.1:$PORT" >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
  sleep 0.5
done
# Let the start-up warm-ups (totals, spatial indexes) finish before timing.
sleep "${SETTLE:-30}"
for fmt in html pdf; do
  for i in $(seq "$RUNS"); do
    curl -fsS -H "Authorization: Bearer $TOKEN" -o "$OUT/served.$fmt" \
      -w "GET $fmt run $i: %{http_code} %{time_total} s, %{size_download} bytes\n" \
      "http://127.0.0.1:$PORT/api/v1/bulletins/$DATE?format=$fmt"
  done
done
echo "server peak RSS: $(grep VmHWM /proc/$SERVER/status)"
kill $SERVER
wait $SERVER 2>/dev/null || true
trap - EXIT
echo "results in $OUT"
