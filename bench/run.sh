#!/usr/bin/env bash
# Truce foundation benchmarks: sustained durable POST of incidents through
# the HTTP API, and `truce import` of a large incident CSV.
#
#   bench/run.sh                      # defaults below
#   DURATION=30s WARMUP=5s CONCURRENCY="64 256" ROWS=1000000 bench/run.sh
#   NICE=-15 bench/run.sh             # as root: favour the benchmark over
#                                     # other work on a shared machine
#   IDS=v7 bench/run.sh               # time-ordered client ids (default v4)
#   BIN=/some/dir bench/run.sh        # run binaries built earlier, no build
#   PAGE_SIZE=2048 bench/run.sh       # load database with 2 KiB pages
#   EXTRA_SQL='CREATE INDEX ...' bench/run.sh   # extra SQL on the load
#                                     # database before serving (both need
#                                     # the sqlite3 command)
#
# Everything it starts (the server) is stopped on exit, also on failure.
# Results go to $OUT (default target/bench/<timestamp>/).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-30s}
WARMUP=${WARMUP:-5s}
CONCURRENCY=${CONCURRENCY:-64 256}
ROWS=${ROWS:-1000000}
PORT=${PORT:-18080}
SKIP_IMPORT=${SKIP_IMPORT:-0}
SKIP_LOAD=${SKIP_LOAD:-0}
NICE=${NICE:-0}
IDS=${IDS:-v4}
OUT=${OUT:-target/bench/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/truce-bench.XXXXXX")
SERVER_PID=

cleanup() {
  local rc=$?
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ "${KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
RUN=()
if [[ "$NICE" != 0 ]]; then RUN=(nice -n "$NICE"); fi
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

if [[ ! -x /usr/bin/time ]]; then
  echo "installing GNU time (Debian package 'time')" >&2
  apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
fi

log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -h | awk '/^Mem:/ {print $2}') RAM; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
log "git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)')"

# BIN=DIR runs the binaries in DIR as they are (e.g. a copy of an older
# build for a before/after comparison) instead of building them.
if [[ -z "${BIN:-}" ]]; then
  cargo build --release -p truce -p truce-bench
  BIN=$PWD/target/release
fi
TRUCE=$BIN/truce
LOAD=$BIN/truce-load
GEN=$BIN/truce-gen-csv
# PAGE_SIZE=N makes the load database with N-byte pages (SQLite's default
# is 4096), to measure what the page size does to the write path.
PAGE_SIZE=${PAGE_SIZE:-}
export RUST_LOG=${RUST_LOG:-warn}

peak_rss() { awk '/^VmHWM/ {print $2 " " $3}' "/proc/$1/status"; }

# --------------------------------------------------------------------------
# 1. Sustained POST /api/v1/incidents
if [[ "$SKIP_LOAD" != 1 ]]; then
  DB=$WORK/load.db
  "$TRUCE" --db "$DB" init --name Bench --admin admin >/dev/null
  if [[ -n "$PAGE_SIZE" ]]; then
    # `truce init` makes a new file only; a WAL database changes its page
    # size by a VACUUM outside WAL mode.
    sqlite3 "$DB" "PRAGMA journal_mode = DELETE; PRAGMA page_size = $PAGE_SIZE; VACUUM; PRAGMA journal_mode = WAL;" >/dev/null
    echo "== page size: $(sqlite3 "$DB" 'PRAGMA page_size')"
  fi
  # EXTRA_SQL='CREATE INDEX ...' runs on the load database before the
  # server starts, e.g. to measure what an index costs per write.
  if [[ -n "${EXTRA_SQL:-}" ]]; then sqlite3 "$DB" "$EXTRA_SQL"; fi
  printf 'load-password-0123456789\n' | "$TRUCE" --db "$DB" user add loader --role observer --password-stdin >/dev/null
  TOKEN=$("$TRUCE" --db "$DB" token create --user loader --name load | sed -n 's/^secret (shown once): //p')
  [[ -n "$TOKEN" ]] || { echo "no token secret in the output of token create" >&2; exit 1; }

  "${RUN[@]}" "$TRUCE" --db "$DB" serve --addr "127.0.0.1:$PORT" >"$OUT/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server.log" >&2; exit 1; }
    sleep 0.1
  done

  for c in $CONCURRENCY; do
    log "load: concurrency $c, ids $IDS, page size $(sqlite3 "$DB" 'PRAGMA page_size' 2>/dev/null || echo '?'), warm-up $WARMUP, measured $DURATION (nice $NICE; load average before: $(loadavg))"
    "${RUN[@]}" "$LOAD" --url "http://127.0.0.1:$PORT" --token "$TOKEN" --warmup "$WARMUP" \
      --duration "$DURATION" --concurrency "$c" --ids "$IDS" --server-pid "$SERVER_PID" --json "$OUT/load-c$c.json" \
      | grep -v '^{' | tee -a "$OUT/summary.txt"
    log "server peak RSS so far (VmHWM): $(peak_rss "$SERVER_PID"); load average after: $(loadavg)"
  done

  log "server peak RSS (VmHWM): $(peak_rss "$SERVER_PID"); database $(du -sh "$WORK"/load.db* | awk '{s=s" "$2"="$1} END {print s}')"
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=
  V=$("$TRUCE" --db "$DB" verify) || { log "verify load.db FAILED: $V"; exit 1; }
  log "verify load.db: $V"
fi

# --------------------------------------------------------------------------
# 2. truce import of a large CSV
if [[ "$SKIP_IMPORT" != 1 ]]; then
  CSV=$WORK/big.csv
  "$GEN" --rows "$ROWS" --out "$CSV" --seed 1
  log "import: $ROWS rows, $(du -h "$CSV" | cut -f1) CSV (nice $NICE; load average before: $(loadavg))"
  DB2=$WORK/import.db
  "$TRUCE" --db "$DB2" init --name Import --admin admin >/dev/null
  "${RUN[@]}" /usr/bin/time -v "$TRUCE" --db "$DB2" import "$CSV" >"$OUT/import.out" 2>"$OUT/import.time"
  cat "$OUT/import.out" | tee -a "$OUT/summary.txt"
  WALL=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$OUT/import.time")
  RSS=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$OUT/import.time")
  CPU=$(sed -n 's/.*Percent of CPU this job got: //p' "$OUT/import.time")
  SECS=$(awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }' <<<"$WALL")
  log "import wall $WALL (${SECS} s) = $(awk -v n="$ROWS" -v s="$SECS" 'BEGIN {printf "%.0f", n / s}') rows/s; peak RSS $((RSS / 1024)) MiB; CPU $CPU; database $(du -sh "$DB2" | cut -f1); load average after: $(loadavg)"
  START=$(date +%s.%N)
  V=$("$TRUCE" --db "$DB2" verify) || { log "verify import.db FAILED: $V"; exit 1; }
  log "verify import.db: $V ($(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s)"
fi

log "results in $OUT"
