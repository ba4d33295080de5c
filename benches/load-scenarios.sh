#!/usr/bin/env bash
# Runs the load scenarios of BENCHMARKS.md, each against a fresh release
# server on 127.0.0.1, and keeps every report as JSON.
#
#   cargo build --release --bins   # handsup, and handsup-load (crates/handsup-load)
#   benches/load-scenarios.sh                 # every scenario, in order
#   benches/load-scenarios.sh rate-2000 burst # some of them
#
# Environment: BIN (where the two binaries are; default target/release),
# OUT (where reports go; default target/load-results); NO_WAIT_QUIET=1 skips
# waiting for the machine to be idle before each run.
# Every scenario is bounded: at most 19,500 phones, at most 60 s of voting,
# and handsup-load stops itself after --max-seconds.
set -euo pipefail

BIN=${BIN:-target/release}
OUT=${OUT:-target/load-results}
for b in handsup handsup-load; do
    [ -x "$BIN/$b" ] || { echo "$BIN/$b not found: cargo build --release --bins, or set BIN" >&2; exit 2; }
done
mkdir -p "$OUT"

SERVER_PID=
PORT=

start_server() {
    rm -f "$OUT/server.out"
    # Tens of thousands of phones come from a handful of loopback addresses
    # here: lift the per-address limits, which are sized for real rooms.
    "$BIN/handsup" serve --addr 127.0.0.1:0 \
        --ip-connections-burst 1000000 --ip-participants-burst 1000000 \
        --ip-max-sockets 1000000 \
        "$@" >"$OUT/server.out" 2>"$OUT/server.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        if grep -q '^listening on ' "$OUT/server.out" 2>/dev/null; then break; fi
        sleep 0.1
    done
    PORT=$(head -1 "$OUT/server.out" | sed 's/.*://')
    [ -n "$PORT" ] || { echo "the server did not start" >&2; exit 1; }
}

stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

. "$(dirname "$0")/quiet.sh"

# load NAME [handsup-load flags...]: one run against the server started last.
load() {
    local name=$1
    shift
    echo "== $name" >&2
    [ -n "${NO_WAIT_QUIET:-}" ] || wait_quiet
    "$BIN/handsup-load" --url "http://127.0.0.1:$PORT" --server-pid "$SERVER_PID" \
        --label "$name" --json "$OUT/$name.json" "$@" | tee "$OUT/$name.txt" || true
}

scenario() {
    case $1 in
    hold-1000 | hold-5000 | hold-10000)
        start_server --in-memory
        load "$1" --mode connect --phones "${1#hold-}"
        stop_server
        ;;
    hold-19500)
        # Every phone connected at 2,000/s, then held idle for 60 s (past the
        # server's 20 s ping and 60 s silence limit).
        start_server --in-memory
        load "$1" --mode connect --phones 19500 --connect-rate 2000 --hold 60
        stop_server
        ;;
    connect-rate)
        # Unpaced: as fast as the server welcomes them, 512 handshakes in flight.
        start_server --in-memory
        load "$1" --mode connect --phones 10000 --connect-rate 0 --connect-concurrency 512
        stop_server
        ;;
    rate-2000)
        local dir
        dir=$(mktemp -d)
        start_server --data-dir "$dir"
        load "$1" --phones 19500 --vote-rate 2000 --duration 60 --revote 0.1
        stop_server
        rm -rf "$dir"
        ;;
    rate-2000-memory)
        start_server --in-memory
        load "$1" --phones 19500 --vote-rate 2000 --duration 60 --revote 0.1
        stop_server
        ;;
    burst-memory)
        start_server --in-memory
        load "$1" --phones 19500 --burst
        stop_server
        ;;
    burst)
        local dir
        dir=$(mktemp -d)
        start_server --data-dir "$dir"
        load "$1" --phones 19500 --burst
        stop_server
        rm -rf "$dir"
        ;;
    burst-revote)
        start_server --in-memory
        load "$1" --phones 19500 --burst --revote 0.1
        stop_server
        ;;
    flat-out)
        # The default per-connection limit (20/s, bursts of 40): 3,000 phones
        # at 18 votes/s each offer at most 54,000 votes/s.
        start_server --in-memory
        load "$1" --phones 3000 --mode flat-out --phone-rate 18 --duration 20
        stop_server
        ;;
    flat-out-fast-phones)
        # The per-connection limit raised so that 500 phones each vote as soon
        # as their last vote is acked.
        start_server --in-memory --rate-per-sec 100000 --rate-burst 100000
        load "$1" --phones 500 --mode flat-out --phone-rate 10000 --duration 20
        stop_server
        ;;
    flat-out-journal)
        local dir
        dir=$(mktemp -d)
        start_server --data-dir "$dir"
        load "$1" --phones 3000 --mode flat-out --phone-rate 18 --duration 20
        stop_server
        rm -rf "$dir"
        ;;
    *)
        echo "unknown scenario $1" >&2
        exit 2
        ;;
    esac
}

ALL="hold-1000 hold-5000 hold-10000 hold-19500 connect-rate rate-2000 rate-2000-memory burst burst-memory burst-revote flat-out flat-out-fast-phones flat-out-journal"
trap stop_server EXIT
for s in ${@:-$ALL}; do
    scenario "$s"
done
