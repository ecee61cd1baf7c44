#!/usr/bin/env bash
# What SQLite alone needs to write the rows a `truce import` writes: the
# floor under the import benchmark of bench/run.sh, on this machine.
#
#   ROWS=1000000 bench/import_floor.sh
#   IDS=none bench/import_floor.sh     # CSV without an id column: Truce
#                                      # mints time-ordered (v7) ids, as
#                                      # for any CSV not exported by Truce
#
# 1. imports a generated CSV with `truce import` (timed);
# 2. copies the journal entries, records and R-tree rows that import wrote
#    into a second new mission database with plain SQL, in one transaction,
#    the way the import's bulk path does it (secondary indexes dropped
#    first and rebuilt before the commit), each step timed by sqlite3;
# 3. writes the same number of bytes with dd and fdatasync: the disk's
#    own floor.
# Needs the sqlite3 command (Debian package sqlite3). Results go to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."

ROWS=${ROWS:-1000000}
IDS=${IDS:-v4}
OUT=${OUT:-target/bench/floor-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/truce-floor.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
command -v sqlite3 >/dev/null || apt-get install -y sqlite3 >/dev/null

if [[ -z "${BIN:-}" ]]; then
  cargo build --release -p truce -p truce-bench
  BIN=$PWD/target/release
fi
log() { echo "== $*" | tee -a "$OUT/summary.txt"; }
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(date -u +%Y-%m-%dT%H:%M:%SZ); git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

"$BIN/truce-gen-csv" --rows "$ROWS" --out "$WORK/big.csv" --seed 1 2>/dev/null
if [[ "$IDS" == none ]]; then
  cut -d, -f2- "$WORK/big.csv" >"$WORK/noid.csv" && mv "$WORK/noid.csv" "$WORK/big.csv"
fi
"$BIN/truce" --db "$WORK/import.db" init --name Import --admin admin >/dev/null
START=$(date +%s.%N)
"$BIN/truce" --db "$WORK/import.db" import "$WORK/big.csv" | tee -a "$OUT/summary.txt"
log "truce import: $(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s wall, the WAL fold included ($IDS ids)"
sqlite3 "$WORK/import.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
BYTES=$(stat -c %s "$WORK/import.db")
log "database after import: $BYTES bytes = $((BYTES / ROWS)) bytes per row"

"$BIN/truce" --db "$WORK/floor.db" init --name Floor --admin admin >/dev/null
# The index statements are read from the schema, as the import's bulk path
# reads them, so the copy rebuilds exactly the indexes the import rebuilds.
WHICH="FROM sqlite_schema WHERE type = 'index' AND tbl_name IN ('records', 'journal') AND sql IS NOT NULL ORDER BY name"
{
  echo "PRAGMA cache_size = -262144;"
  echo "ATTACH '$WORK/import.db' AS src;"
  echo ".timer on"
  echo "BEGIN;"
  sqlite3 "$WORK/floor.db" "SELECT 'DROP INDEX \"' || name || '\";' $WHICH"
  echo "INSERT INTO journal SELECT * FROM src.journal WHERE seq > (SELECT max(seq) FROM main.journal);"
  echo "INSERT INTO records SELECT * FROM src.records WHERE rid > (SELECT max(rid) FROM main.records);"
  echo "INSERT INTO records_rtree SELECT * FROM src.records_rtree WHERE rid > (SELECT coalesce(max(rid), 0) FROM main.records_rtree);"
  sqlite3 "$WORK/floor.db" "SELECT sql || ';' $WHICH"
  echo "COMMIT;"
} >"$WORK/floor.sql"
START=$(date +%s.%N)
sqlite3 -bail "$WORK/floor.db" <"$WORK/floor.sql" >"$OUT/floor.timings" 2>&1 || { cat "$OUT/floor.timings" >&2; exit 1; }
WALL=$(awk -v a="$START" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
# Timed statements, in order: BEGIN, the drops, three copies, the index
# rebuilds, COMMIT.
ND=$(grep -c '^DROP INDEX' "$WORK/floor.sql")
log "SQLite alone, the same rows: $WALL s wall; $(grep -o 'real [0-9.]*' "$OUT/floor.timings" | awk -v nd="$ND" '
  { t[NR] = $2 } END {
    for (i = 1; i <= nd; i++) idx += t[1 + nd + 3 + i]
    printf "journal copy %.1f s, records copy %.1f s, R-tree copy %.1f s, %d index rebuilds %.1f s, COMMIT %.1f s", t[nd + 2], t[nd + 3], t[nd + 4], nd, idx, t[NR]
  }')"
cp "$WORK/floor.sql" "$OUT/floor.sql"
log "copied rows: journal $(sqlite3 "$WORK/floor.db" 'SELECT count(*) FROM journal'), records $(sqlite3 "$WORK/floor.db" 'SELECT count(*) FROM records'), integrity $(sqlite3 "$WORK/floor.db" 'PRAGMA quick_check')"

MIB=$((BYTES / 1048576))
DD=$(dd if=/dev/zero of="$WORK/dd" bs=1M count="$MIB" conv=fdatasync 2>&1 | tail -1)
log "disk: $DD"
