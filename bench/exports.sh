#!/usr/bin/env bash
# Truce export benchmark: export of N incidents from a SQLite mission
# database, rows/s and resident memory through the export (see
# crates/truce-exchange/examples/export_bench.rs).
#
#   bench/exports.sh                           # SIZES="100000 1000000"
#   SIZES="10000000" FORMATS="csv" bench/exports.sh
#
# Each database is built through the Store's apply_stream (the import path,
# ~5,000 rows/s on 2 cores: 1,000,000 rows take minutes, 10,000,000 hours)
# and deleted at the end unless KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${SIZES:-100000 1000000}
FORMATS=${FORMATS:-csv hxl acled ucdp geojson}
OUT=${OUT:-target/bench/exports-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/truce-exports.XXXXXX")
cleanup() {
  local rc=$?
  if [[ "${KEEP:-0}" != 1 ]]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(free -h | awk '/^Mem:/ {print $2}') RAM; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%M:%SZ)"
log "git: $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (dirty)')"
cargo build --release -p truce-exchange --example export_bench
BENCH=$PWD/target/release/examples/export_bench
for n in $SIZES; do
  # shellcheck disable=SC2086
  "$BENCH" "$WORK/m$n.db" "$n" $FORMATS | while read -r line; do log "$n: $line"; done
  rm -f "$WORK/m$n.db"*
done
log "results in $OUT/summary.txt"
