#!/usr/bin/env bash
# Runs the cluster scenarios of BENCHMARKS.md: one redis-server and three
# release nodes on 127.0.0.1, the phones spread over the nodes in turn, the
# projector on the third node and the moderator on the first. Every report is
# kept as JSON.
#
#   cargo build --release --bins   # handsup, and handsup-load (crates/handsup-load)
#   benches/cluster-scenarios.sh                        # every scenario
#   benches/cluster-scenarios.sh cluster-first-votes    # some of them
#
# Environment: BIN (default target/release), OUT (default
# target/load-results), REDIS_SERVER (default redis-server), APPENDFSYNC
# (Redis's AOF fsync policy, default everysec), RUN (a suffix for the
# reports' names, for repeated runs), PERF (set: `perf record` the first
# node during each run, into OUT/NAME.node1.perf). Every scenario is bounded: at
# most 50,000 phones (16,667 per node, and per generator process with
# --processes 3) and 60 s of voting, and handsup-load stops itself after
# --max-seconds. Each run waits up to 30 s for the machine to be quiet, and
# reports the CPU other work took (`other work`).
set -euo pipefail

BIN=${BIN:-target/release}
OUT=${OUT:-target/load-results}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
APPENDFSYNC=${APPENDFSYNC:-everysec}
for b in handsup handsup-load; do
    [ -x "$BIN/$b" ] || { echo "$BIN/$b not found: cargo build --release --bins, or set BIN" >&2; exit 2; }
done
mkdir -p "$OUT"

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

PIDS=()
NODE_PIDS=
REDIS_PID=
URLS=
rport=
REDIS_DIR=

start_cluster() {
    local nodes=$1
    REDIS_DIR=$(mktemp -d)
    rport=$(free_port)
    "$REDIS_SERVER" --port "$rport" --bind 127.0.0.1 --dir "$REDIS_DIR" \
        --appendonly yes --appendfsync "$APPENDFSYNC" --save '' \
        >"$OUT/redis.out" 2>&1 &
    PIDS=($!)
    REDIS_PID=$!
    NODE_PIDS=
    for _ in $(seq 100); do
        (echo >/dev/tcp/127.0.0.1/"$rport") 2>/dev/null && break
        sleep 0.05
    done
    URLS=
    for n in $(seq "$nodes"); do
        rm -f "$OUT/node$n.out"
        # Tens of thousands of phones come from a handful of loopback
        # addresses here: lift the per-address limits sized for real rooms.
        "$BIN/handsup" serve --addr 127.0.0.1:0 --redis "redis://127.0.0.1:$rport" \
            --ip-connections-burst 1000000 --ip-participants-burst 1000000 \
            --ip-max-sockets 1000000 \
            >"$OUT/node$n.out" 2>"$OUT/node$n.err" &
        PIDS+=($!)
        NODE_PIDS="${NODE_PIDS:+$NODE_PIDS,}$!"
        for _ in $(seq 100); do
            grep -q '^listening on ' "$OUT/node$n.out" 2>/dev/null && break
            sleep 0.1
        done
        local url
        url=$(head -1 "$OUT/node$n.out" | sed 's/^listening on //')
        [ -n "$url" ] || { echo "node $n did not start" >&2; exit 1; }
        URLS="${URLS:+$URLS,}$url"
    done
}

# One node with its own journal, no Redis: the single-node figures.
# `start_single memory`: the same node in memory.
start_single() {
    rport=
    REDIS_PID=
    REDIS_DIR=$(mktemp -d)
    local store=(--data-dir "$REDIS_DIR")
    [ "${1:-}" != memory ] || store=(--in-memory)
    rm -f "$OUT/node1.out"
    "$BIN/handsup" serve --addr 127.0.0.1:0 "${store[@]}" \
        --ip-connections-burst 1000000 --ip-participants-burst 1000000 \
        --ip-max-sockets 1000000 \
        >"$OUT/node1.out" 2>"$OUT/node1.err" &
    PIDS=($!)
    NODE_PIDS=$!
    for _ in $(seq 100); do
        grep -q '^listening on ' "$OUT/node1.out" 2>/dev/null && break
        sleep 0.1
    done
    URLS=$(head -1 "$OUT/node1.out" | sed 's/^listening on //')
}

stop_cluster() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
    rm -rf "$REDIS_DIR"
}
trap stop_cluster EXIT

. "$(dirname "$0")/quiet.sh"

# load NAME [handsup-load flags...]: one run against the cluster started last.
# RUN (default empty) is added to the report's name, for repeated runs.
load() {
    local name=$1$RUN_SUFFIX
    shift
    echo "== $name" >&2
    wait_quiet 10
    [ -z "$rport" ] || redis-cli -p "$rport" config resetstat >/dev/null
    # PERF=1: the first node's profile over the whole run, for perf report.
    local perf=
    if [ -n "${PERF:-}" ]; then
        perf record -F 199 -g -o "$OUT/$name.node1.perf" -p "${NODE_PIDS%%,*}" 2>/dev/null &
        perf=$!
    fi
    "$BIN/handsup-load" --url "$URLS" --label "$name" --json "$OUT/$name.json" \
        --server-pid "$NODE_PIDS" ${REDIS_PID:+--redis-pid "$REDIS_PID"} \
        --quiet "$@" | tee "$OUT/$name.txt" || true
    [ -z "$perf" ] || { kill -INT "$perf"; wait "$perf" || true; }
    # What Redis did for the run: calls per command (the cost per vote),
    # and the bytes it read and sent.
    if [ -n "$rport" ]; then
        redis-cli -p "$rport" info commandstats | tr -d '\r' \
            | grep '^cmdstat_' | tee "$OUT/$name.redis.txt" >&2
        redis-cli -p "$rport" info stats | tr -d '\r' \
            | grep -E '^total_net_(input|output)_bytes' | tee -a "$OUT/$name.redis.txt" >&2
    fi
    # Each node's memory at the end (and its peak), and its counts of
    # results by group.
    local k=0 pid url
    for pid in ${NODE_PIDS//,/ }; do
        k=$((k + 1))
        url=$(echo "$URLS" | cut -d, -f"$k")
        {
            echo "node $k: $(grep -E '^(VmRSS|VmHWM)' /proc/"$pid"/status 2>/dev/null | tr -s ' \t' ' ' | paste -sd' ')"
            curl -s "$url/metrics" | grep '^handsup_group' || true
        } | tee -a "$OUT/$name.nodes.txt" >&2
    done
}

scenario() {
    case $1 in
    cluster-rate-2000)
        # The single-node scenario rate-2000, over three nodes.
        start_cluster 3
        load "$1" --phones 19500 --connect-rate 2000 --vote-rate 2000 --duration 60
        stop_cluster
        ;;
    cluster-first-votes)
        # 18,000 first votes at 1,500/s: every ack moves the projector's
        # total, so each vote's time to the projector is measured.
        start_cluster 3
        load "$1" --phones 19500 --connect-rate 2000 --vote-rate 1500 --duration 12
        stop_cluster
        ;;
    journal-first-votes)
        # The same on one node with its own journal (no Redis).
        start_single
        load "$1" --phones 19500 --connect-rate 2000 --vote-rate 1500 --duration 12
        stop_cluster
        ;;
    single-first-votes)
        # The same on one node in cluster mode (Redis, every phone on it).
        start_cluster 1
        load "$1" --phones 19500 --connect-rate 2000 --vote-rate 1500 --duration 12
        stop_cluster
        ;;
    cluster-rate-2000-segment | cluster-first-votes-segment | redis-calls-3-segment)
        # The same runs with results by group: a segment question of three
        # options every phone answers once welcomed, the question under
        # load broken down by it (what a breakdown costs per vote).
        local base=${1%-segment}
        case $base in
        cluster-rate-2000) set -- "$1" --phones 19500 --connect-rate 2000 --vote-rate 2000 --duration 60 ;;
        cluster-first-votes) set -- "$1" --phones 19500 --connect-rate 2000 --vote-rate 1500 --duration 12 ;;
        redis-calls-3) set -- "$1" --phones 3000 --vote-rate 1000 --duration 10 ;;
        esac
        start_cluster 3
        load "$@" --segment
        stop_cluster
        ;;
    cluster-burst)
        start_cluster 3
        load "$1" --phones 19500 --connect-rate 2000 --mode burst
        stop_cluster
        ;;
    cluster-50k-rate)
        # One session of 50,000 phones over three nodes (16,667 each), from
        # three generator processes: 2,000 votes/s for 60 s, a projector
        # watching through every node.
        start_cluster 3
        load "$1" --processes 3 --phones 50000 --connect-rate 2500 \
            --vote-rate 2000 --duration 60
        stop_cluster
        ;;
    cluster-50k-burst)
        # The same 50,000 phones all voting at once.
        start_cluster 3
        load "$1" --processes 3 --phones 50000 --connect-rate 2500 --mode burst
        stop_cluster
        ;;
    single-16667-memory | single-16667-journal)
        # One node's share of the 50,000 on one node alone, held: its memory
        # per phone, the reference of the cluster nodes' (same build).
        start_single "${1#single-16667-}"
        load "$1" --phones 16667 --connect-rate 2500 --mode connect --hold 5
        stop_cluster
        ;;
    redis-calls-1 | redis-calls-3)
        # Redis commands per vote with one node and with three: 10,000 votes.
        start_cluster "${1#redis-calls-}"
        load "$1" --phones 3000 --vote-rate 1000 --duration 10
        stop_cluster
        ;;
    cluster-flat-out)
        start_cluster 3
        load "$1" --phones 3000 --mode flat-out --phone-rate 18 --duration 20
        stop_cluster
        ;;
    *)
        echo "unknown scenario $1" >&2
        exit 2
        ;;
    esac
}

RUN_SUFFIX=${RUN:+-$RUN}
ALL="cluster-rate-2000 cluster-first-votes journal-first-votes single-first-votes cluster-burst cluster-flat-out redis-calls-1 redis-calls-3"
for s in ${@:-$ALL}; do
    scenario "$s"
done
