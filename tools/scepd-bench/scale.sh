#!/usr/bin/env bash
# Cost per enrollment against the number of certificates already stored (issue 7: "unchanged
# from 1,000 to 10,000,000"). For each N: a fresh data directory (RSA-2048 CA), N synthetic
# certificates with their transactions seeded straight into SQLite (64-byte DER stand-ins,
# distinct serials, subjects and key hashes, so every index is as deep as with real rows), then
# scepd serve and one scepd-bench run at concurrency C.
#
#   tools/scepd-bench/scale.sh 2000 16 1000 10000000
#
# Needs the release binaries (cargo build --release -p scepd -p scepd-bench) and sqlite3.
# 10,000,000 rows take about 7.5 GB of disk (hex text keys and their indexes); seeding runs
# without a journal (it is set up, not the product's write path), WAL is switched back on after.
set -euo pipefail
COUNT=${1:?enrollments per run}
C=${2:?concurrency}
shift 2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCEPD=$ROOT/target/release/scepd
BENCH=$ROOT/target/release/scepd-bench
PORT=${PORT:-18491}
KEYS=${KEY_CACHE:-/tmp/scepd-bench-keys.bin}
WORK=$(mktemp -d)
trap 'kill "${SERVER_PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

echo "| stored certificates | C | ok/sent | errors | dup serials | enroll/s | p50 ms | p95 ms | p99 ms | server CPU ms/enroll | server peak RSS MiB | client CPU s |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in "$@"; do
    dir=$WORK/$n
    mkdir -p "$dir"
    "$SCEPD" init --data-dir "$dir/data" --ca-key rsa-2048 >/dev/null 2>&1
    sed -i 's/^# max_outstanding_per_admin = 50$/max_outstanding_per_admin = 1000000/' \
        "$dir/data/scepd.toml"
    # One load-generator address stands in for many devices (see bench.sh).
    sed -i 's/^# max_failed_attempts = 10$/max_failed_attempts = 1000/' "$dir/data/scepd.toml"
    start=$(date +%s)
    sqlite3 "$dir/data/scepd.db" >/dev/null <<SQL
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $n)
INSERT INTO certificates (serial, der, subject, not_before, not_after, template,
                          transaction_id, issued_at, delivered_at, subject_key_sha256)
SELECT printf('7f%030x', i), zeroblob(64), 'CN=seeded-' || i, 1700000000, 1900000000,
       'device', 'seeded-' || i, 1700000000, 1700000000, printf('%064x', i)
FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $n)
INSERT INTO transactions (transaction_id, signer_key_sha256, request_sha256, status, serial,
                          challenge_hash, created_at)
SELECT 'seeded-' || i, printf('%064x', i), printf('%064x', i), 'issued', printf('7f%030x', i),
       NULL, 1700000000
FROM n;
COMMIT;
PRAGMA journal_mode = WAL;
SQL
    echo "seeded $n certificates in $(( $(date +%s) - start )) s ($(du -sh "$dir/data/scepd.db" | cut -f1))" >&2
    "$SCEPD" serve --data-dir "$dir/data" --scep-listen "127.0.0.1:$PORT" \
        --admin-listen "127.0.0.1:0" >"$dir/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$PORT/scep?operation=GetCACaps" >/dev/null && break
        sleep 0.2
    done
    "$BENCH" --url "http://127.0.0.1:$PORT/scep" --count "$COUNT" --concurrency "$C" \
        --max-seconds 180 --challenge-command "$SCEPD challenge issue --data-dir $dir/data" \
        --server-pid "$SERVER_PID" --key-cache "$KEYS" --label "$n" --row 2>"$dir/bench.err" \
        || cat "$dir/bench.err" >&2
    kill "$SERVER_PID" && wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$dir"
done
