#!/usr/bin/env bash
# What one hot session costs Redis, and how that work spreads over the shards
# of a Redis Cluster with `--redis-slots` (BENCHMARKS.md, "One session beyond
# one Redis shard"). Redis servers and release nodes all on 127.0.0.1; each
# scenario prints, per Redis server, the EVALSHA calls and usec_per_call
# (`INFO commandstats`) and the server's CPU time over the run (/proc).
#
#   cargo build --release --bins
#   benches/redis-shards.sh                # every scenario
#   benches/redis-shards.sh shards-1 shards-3
#
# Scenarios:
#   script-alone  the vote script alone on one Redis, driven by
#                 redis-benchmark (no node): 200,000 votes of 100,000
#                 participants, pipelined 16 deep and one at a time; Redis
#                 CPU per vote at its best
#   ceiling-1     one Redis, one node, one session flat out (3,000 phones)
#   ceiling-3     one Redis, three nodes, the same
#   shards-S      a 3-shard Redis Cluster, three nodes with --redis-slots S,
#                 3,000 phones, 10,000 votes at 1,000/s (S = 1, 3, 6, ...)
#   shards-flat-S the same cluster flat out for 10 s
#
# Environment: BIN (default target/release), OUT (default
# target/load-results), REDIS_SERVER (default redis-server). Every run is
# bounded: 3,000 phones, at most 20 s of voting.
set -euo pipefail

BIN=${BIN:-target/release}
OUT=${OUT:-target/load-results}
REDIS_SERVER=${REDIS_SERVER:-redis-server}
for b in handsup handsup-load; do
    [ -x "$BIN/$b" ] || { echo "$BIN/$b not found: cargo build --release --bins, or set BIN" >&2; exit 2; }
done
mkdir -p "$OUT"
TCK=$(getconf CLK_TCK)

# A free port whose cluster bus port (the port + 10000) is free too.
free_port() {
    python3 -c '
import random, socket
while True:
    p = random.randint(20000, 29999)
    try:
        for q in (p, p + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass'
}

PIDS=()
RPIDS=()
RPORTS=()
NPIDS=()
URLS=
DIRS=()

wait_port() {
    for _ in $(seq 100); do
        (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on $1" >&2
    return 1
}

# start_redis N CLUSTER: N redis-servers; with CLUSTER=yes joined into one
# Redis Cluster (no replicas).
start_redis() {
    local n=$1 cluster=$2
    RPIDS=()
    RPORTS=()
    for i in $(seq "$n"); do
        local dir port
        dir=$(mktemp -d)
        DIRS+=("$dir")
        port=$(free_port)
        "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --dir "$dir" \
            --appendonly yes --appendfsync everysec --save '' \
            --cluster-enabled "$cluster" --cluster-config-file nodes.conf \
            >"$OUT/redis$i.out" 2>&1 &
        RPIDS+=($!)
        PIDS+=($!)
        RPORTS+=("$port")
    done
    for p in "${RPORTS[@]}"; do wait_port "$p"; done
    if [ "$cluster" = yes ]; then
        local hosts=()
        for p in "${RPORTS[@]}"; do hosts+=("127.0.0.1:$p"); done
        redis-cli --cluster create "${hosts[@]}" --cluster-replicas 0 --cluster-yes >/dev/null
        for _ in $(seq 100); do
            redis-cli -p "${RPORTS[0]}" cluster info | grep -q 'cluster_state:ok' && break
            sleep 0.1
        done
    fi
}

# start_nodes N SLOTS: N release nodes on the Redis servers started last.
start_nodes() {
    local n=$1 slots=$2 redis_args=()
    if [ "${#RPORTS[@]}" -gt 1 ]; then
        for p in "${RPORTS[@]}"; do redis_args+=(--redis "redis://127.0.0.1:$p"); done
        redis_args+=(--redis-cluster)
    else
        redis_args=(--redis "redis://127.0.0.1:${RPORTS[0]}")
    fi
    URLS=
    NPIDS=()
    for i in $(seq "$n"); do
        rm -f "$OUT/node$i.out"
        # The slots go by the environment, so the same script measures a
        # build from before the setting existed (every session on one slot).
        HANDSUP_REDIS_SLOTS=$slots "$BIN/handsup" serve --addr 127.0.0.1:0 "${redis_args[@]}" \
            --ip-connections-burst 1000000 --ip-participants-burst 1000000 \
            --ip-max-sockets 1000000 \
            >"$OUT/node$i.out" 2>"$OUT/node$i.err" &
        NPIDS+=($!)
        PIDS+=($!)
        for _ in $(seq 100); do
            grep -q '^listening on ' "$OUT/node$i.out" 2>/dev/null && break
            sleep 0.1
        done
        local url
        url=$(head -1 "$OUT/node$i.out" | sed 's/^listening on //')
        [ -n "$url" ] || { echo "node $i did not start" >&2; exit 1; }
        URLS="${URLS:+$URLS,}$url"
    done
}

stop_all() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    PIDS=()
    for d in "${DIRS[@]}"; do rm -rf "$d"; done
    DIRS=()
}
trap stop_all EXIT

cpu_ticks() {
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# run NAME [handsup-load flags...]: one load run, then per Redis server its
# EVALSHA calls, usec_per_call and CPU, and each node's CPU.
run() {
    local name=$1
    shift
    echo "== $name" >&2
    local before=() nbefore=()
    for i in "${!RPORTS[@]}"; do
        redis-cli -p "${RPORTS[$i]}" config resetstat >/dev/null
        before+=("$(cpu_ticks "${RPIDS[$i]}")")
    done
    for p in "${NPIDS[@]}"; do nbefore+=("$(cpu_ticks "$p")"); done
    "$BIN/handsup-load" --url "$URLS" --label "$name" --json "$OUT/$name.json" \
        --quiet --keep-session --max-seconds 90 "$@" | tee "$OUT/$name.txt" || true
    local code
    code=$(sed -n 's/.*(session \([0-9]*\)).*/\1/p' "$OUT/$name.txt" | head -1)
    {
        for i in "${!RPORTS[@]}"; do
            local cpu stats held
            cpu=$(( $(cpu_ticks "${RPIDS[$i]}") - before[i] ))
            stats=$(redis-cli -p "${RPORTS[$i]}" info commandstats | tr -d '\r')
            # Which of the session's keys this server holds: its log, and
            # how many slots of ballots (the session is kept: --keep-session).
            held="log=$(redis-cli -p "${RPORTS[$i]}" --scan --pattern "{$code}:log" | wc -l) ballot_slots=$(redis-cli -p "${RPORTS[$i]}" --scan --pattern "{$code*:b:*" | wc -l)"
            held="$held $(redis-cli -p "${RPORTS[$i]}" info stats | tr -d '\r' | grep -E '^total_net_(input|output)_bytes:' | tr '\n' ' ')"
            echo "redis $((i + 1)) $held cpu_s=$(awk -v t="$cpu" -v k="$TCK" 'BEGIN{printf "%.2f", t/k}')" \
                "$(echo "$stats" | grep '^cmdstat_evalsha:' | sed 's/^cmdstat_//')" \
                "$(echo "$stats" | grep '^cmdstat_hgetall:' | sed 's/^cmdstat_//;s/,rejected.*//')"
        done
        for i in "${!NPIDS[@]}"; do
            local cpu
            cpu=$(( $(cpu_ticks "${NPIDS[$i]}") - nbefore[i] ))
            echo "node $((i + 1)) cpu_s=$(awk -v t="$cpu" -v k="$TCK" 'BEGIN{printf "%.2f", t/k}')"
        done
    } | tee "$OUT/$name.shards.txt"
}

# The vote script alone: redis-benchmark sends EVALSHA of src/store/redis/vote.lua
# with random participants, and Redis's CPU is read around each run.
script_alone() {
    start_redis 1 no
    local port=${RPORTS[0]} sha q=00000000-0000-0000-0000-000000000001
    sha=$(redis-cli -p "$port" script load "$(cat src/store/redis/vote.lua)")
    redis-cli -p "$port" hset '{S}:open' "$q" 0 >/dev/null
    for pipeline in 16 1; do
        redis-cli -p "$port" config resetstat >/dev/null
        local before after
        before=$(cpu_ticks "${RPIDS[0]}")
        redis-benchmark -p "$port" -n 200000 -c 20 -P "$pipeline" -r 100000 -q \
            evalsha "$sha" 3 '{S}:open' "{S}:b:$q" "{S}:t:$q" "$q" __rand_int__ \
            '{"c":1,"d":["o1",1]}' | tr '\r' '\n' | tail -1
        after=$(cpu_ticks "${RPIDS[0]}")
        echo "script-alone pipeline=$pipeline votes=200000 redis_cpu_s=$(awk -v t="$((after - before))" -v k="$TCK" 'BEGIN{printf "%.2f", t/k}')" \
            "$(redis-cli -p "$port" info commandstats | tr -d '\r' | grep '^cmdstat_evalsha:' | sed 's/^cmdstat_//')" \
            "$(redis-cli -p "$port" info stats | tr -d '\r' | grep -E '^total_net_(input|output)_bytes:' | tr '\n' ' ')"
    done | tee "$OUT/script-alone.txt"
    stop_all
}

scenario() {
    case $1 in
    script-alone)
        script_alone
        ;;
    ceiling-1 | ceiling-3)
        start_redis 1 no
        start_nodes "${1#ceiling-}" 1
        run "$1" --phones 3000 --mode flat-out --phone-rate 18 --duration 15
        stop_all
        ;;
    shards-flat-*)
        start_redis 3 yes
        start_nodes 3 "${1#shards-flat-}"
        run "$1" --phones 3000 --mode flat-out --phone-rate 18 --duration 10
        stop_all
        ;;
    shards-*)
        start_redis 3 yes
        start_nodes 3 "${1#shards-}"
        run "$1" --phones 3000 --vote-rate 1000 --duration 10
        stop_all
        ;;
    *)
        echo "unknown scenario $1" >&2
        exit 2
        ;;
    esac
}

ALL="script-alone ceiling-1 ceiling-3 shards-1 shards-3 shards-6 shards-flat-1 shards-flat-3"
for s in ${@:-$ALL}; do
    scenario "$s"
done
