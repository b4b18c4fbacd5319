#!/usr/bin/env bash
# The server comparison of BENCHMARKS.md: for each concurrency, a fresh micromdm scepserver
# (RSA-2048 CA, and RSA-3072 for parity with scepd's default CA key) and a fresh scepd on its
# embedded default (RSA-3072 CA), each driven by scepd-bench with the same cached client keys.
# SERVERS may add scepd-rsa2048 (`scepd init --ca-key rsa-2048`: issue 7's target
# configuration, RSA-2048 CA and RA keys) and scepd-p256 (ECDSA P-256 CA, RSA-2048 RA keys).
# SCEPD_BIN_BEFORE=path adds a "-before" row per scepd server from that binary (its own
# `init` makes its data directory and its own `challenge issue` the challenges), so
# before/after numbers come from one run.
#
#   cargo build --release -p scepd -p scepd-bench
#   tools/scepd-bench/bench.sh [COUNT] [CONCURRENCY...]     # default: 1000  1 16 64
#   SERVERS="scepd-rsa2048 scepd" SCEPD_BIN_BEFORE=/tmp/scepd-old tools/scepd-bench/bench.sh 2000 1 16 64
#
# Servers are started here and stopped by their PID. Output: one markdown row per run.
set -euo pipefail
COUNT=${1:-1000}
shift || true
CONCURRENCIES=${*:-1 16 64}
SERVERS=${SERVERS:-micromdm-2048 micromdm-3072 scepd}
if [ -n "${SCEPD_BIN_BEFORE:-}" ]; then
    with_before=
    for s in $SERVERS; do
        case $s in scepd*) with_before="$with_before $s-before $s" ;; *) with_before="$with_before $s" ;; esac
    done
    SERVERS=$with_before
fi
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
SCEPD=${SCEPD_BIN:-$ROOT/target/release/scepd}
BENCH=${BENCH_BIN:-$ROOT/target/release/scepd-bench}
WORK=$(mktemp -d /tmp/scepd-bench.XXXXXX)
KEYS=${KEY_CACHE:-$WORK/keys.bin}
PORT=${PORT:-18480}
SERVER_PID=

stop() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
}
trap stop EXIT

wait_up() {
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$PORT/scep?operation=GetCACaps" >/dev/null && return 0
        sleep 0.1
    done
    echo "server did not come up" >&2
    return 1
}

echo "work dir $WORK, key cache $KEYS" >&2

header_done=
for c in $CONCURRENCIES; do
    for server in $SERVERS; do
        dir=$WORK/$server-c$c
        mkdir -p "$dir"
        case $server in
        micromdm-*)
            bits=${server#micromdm-}
            (cd "$dir" && scepserver ca -init -depot depot -keySize "$bits" >/dev/null 2>&1)
            (cd "$dir" && exec scepserver -depot depot -port "$PORT" -challenge benchsecret \
                -allowrenew 0 >server.log 2>&1) &
            SERVER_PID=$!
            challenge=(--challenge benchsecret)
            ;;
        scepd*)
            bin=$SCEPD
            base=${server%-before}
            [ "$base" != "$server" ] && bin=$SCEPD_BIN_BEFORE
            case $base in
            scepd-p256) "$bin" init --data-dir "$dir/data" --ca-key p-256 >/dev/null 2>&1 ;;
            scepd-rsa2048) "$bin" init --data-dir "$dir/data" --ca-key rsa-2048 >/dev/null 2>&1 ;;
            *) "$bin" init --data-dir "$dir/data" >/dev/null 2>&1 ;;
            esac
            # One challenge per device is issued before the clock, all by one administrator.
            sed -i 's/^# max_outstanding_per_admin = 50$/max_outstanding_per_admin = 1000000/' \
                "$dir/data/scepd.toml"
            # The load generator is one address standing in for many devices; a source's
            # attempts in flight count against its lockout limit, so that limit is raised to
            # above the concurrency (the devices it stands for would each be their own source).
            sed -i 's/^# max_failed_attempts = 10$/max_failed_attempts = 1000/' "$dir/data/scepd.toml"
            "$bin" serve --data-dir "$dir/data" --scep-listen "127.0.0.1:$PORT" >"$dir/server.log" 2>&1 &
            SERVER_PID=$!
            challenge=(--challenge-command "$bin challenge issue --data-dir $dir/data")
            ;;
        esac
        wait_up
        if [ -z "$header_done" ]; then
            echo "| run | C | ok/sent | errors | dup serials | enroll/s | p50 ms | p95 ms | p99 ms | server CPU ms/enroll | server peak RSS MiB | client CPU s |"
            echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
            header_done=1
        fi
        "$BENCH" --url "http://127.0.0.1:$PORT/scep" --count "$COUNT" --concurrency "$c" \
            --max-seconds 120 "${challenge[@]}" --server-pid "$SERVER_PID" \
            --key-cache "$KEYS" --label "$server" >"$dir/report.txt" 2>"$dir/bench.err" || true
        tail -n 1 "$dir/report.txt"
        stop
    done
done
