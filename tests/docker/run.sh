#!/usr/bin/env bash
# The container tests: builds docker/Dockerfile and runs docker/compose.yaml
# and docker/cluster.compose.yaml, unchanged, on a Docker engine of the test's
# own (tests/docker/engine.sh), with the base images from scripts/docker-images.
#
#   1. the image: built; runs as the non-root user; /data is a volume; the
#      health check turns healthy; stops cleanly on SIGTERM; its size;
#   2. compose.yaml: a session, a vote; the container restarted, then removed
#      and created again: the vote is still there (the journal on the volume);
#   3. cluster.compose.yaml: three nodes, Redis, nginx; phones through nginx
#      (tests/docker/phones.mjs): spread over the nodes, the same exact counts
#      everywhere, a node killed and Redis killed while they vote, nothing
#      acknowledged lost.
#
# Installs what it needs (docker.io, docker-compose, mmdebstrap) when missing.
# Skipped, with a line saying so, when HANDSUP_SKIP_DOCKER=1 or when this user
# cannot start a Docker engine (not root, or no namespaces).
set -euo pipefail
cd "$(dirname "$0")/../.."

started=$(date +%s)
say() { echo "docker: $*"; }
skip() {
  echo "docker: SKIPPED: $*"
  exit 0
}
fail() {
  echo "docker: FAIL: $*" >&2
  exit 1
}
since() { echo $(($(date +%s) - $1)); }

[ "${HANDSUP_SKIP_DOCKER:-0}" = 1 ] && skip "HANDSUP_SKIP_DOCKER=1"
[ "$(id -u)" -eq 0 ] || skip "a Docker engine of the test's own needs root (this is $(id -un))"
unshare --mount --net --pid --fork true 2>/dev/null \
  || skip "this user may not make namespaces, so dockerd cannot run containers here"

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
command -v curl >/dev/null 2>&1 || need+=(curl)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v docker >/dev/null 2>&1 || fail "no docker client"

# shellcheck source=tests/docker/engine.sh
source tests/docker/engine.sh

SINGLE=hstest1
CLUSTER=hstest3
IMAGE=handsup:test
dc1() { docker-compose -p "$SINGLE" -f docker/compose.yaml -f tests/docker/compose.test.yaml "$@"; }
dc3() { docker-compose -p "$CLUSTER" -f docker/cluster.compose.yaml -f tests/docker/cluster.test.yaml "$@"; }

cleanup() {
  local rc=$?
  if [ -n "${DOCKER_HOST:-}" ] && [ -n "$ENGINE_PID" ]; then
    if [ $rc -ne 0 ]; then
      say "logs of the containers, for the failure above:"
      for c in $(docker ps -aq 2>/dev/null); do
        echo "---- $(docker inspect -f '{{.Name}}' "$c")"
        docker logs --tail 15 "$c" 2>&1 | sed 's/^/    /'
      done
    fi
    dc1 down -v --remove-orphans >/dev/null 2>&1 || true
    dc3 down -v --remove-orphans >/dev/null 2>&1 || true
    docker rm -f hstest-image >/dev/null 2>&1 || true
    docker network rm hstest-net >/dev/null 2>&1 || true
  fi
  engine_stop
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

engine_start || fail "dockerd did not start (see its log above)"
say "engine up: $(docker version -f '{{.Server.Version}}') on $DOCKER_HOST (data in $HANDSUP_DOCKER_CACHE)"
# Whatever an interrupted run left in this engine (its own) goes first.
dc1 down -v --remove-orphans >/dev/null 2>&1 || true
dc3 down -v --remove-orphans >/dev/null 2>&1 || true
docker rm -f hstest-image >/dev/null 2>&1 || true
docker network rm hstest-net >/dev/null 2>&1 || true

t=$(date +%s)
scripts/docker-images
say "base images ready in $(since "$t") s"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
health_of() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$1"; }
wait_healthy() { # wait_healthy CONTAINER SECONDS
  local i status
  for i in $(seq 1 $(($2 * 2))); do
    status=$(health_of "$1")
    [ "$status" = healthy ] && return 0
    sleep 0.5
  done
  fail "$(docker inspect -f '{{.Name}}' "$1") is $status after $2 s, not healthy"
}
wait_http() { # wait_http URL SECONDS: until it answers 200
  local i
  for i in $(seq 1 $(($2 * 4))); do
    curl -fsS -m 2 "$1" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  fail "$1 does not answer after $2 s"
}
api() { # api METHOD URL [TOKEN [BODY]]: prints the body, fails on a non-2xx
  local args=(-fsS -X "$1" "$2" -H 'content-type: application/json')
  [ -n "${3:-}" ] && args+=(-H "authorization: Bearer $3")
  [ -n "${4:-}" ] && args+=(-d "$4")
  curl "${args[@]}"
}
json() { python3 -c "import json,sys; v=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }

# ---- 1. the image ----------------------------------------------------------
say "1. building docker/Dockerfile"
t=$(date +%s)
DOCKER_BUILDKIT=0 docker build --network host -f docker/Dockerfile -t "$IMAGE" . > /tmp/hstest-build.$$ 2>&1 \
  || { tail -30 /tmp/hstest-build.$$; rm -f /tmp/hstest-build.$$; fail "docker build failed"; }
build_s=$(since "$t")
cached=$(grep -c 'Using cache' /tmp/hstest-build.$$ || true)
steps=$(grep -c '^Step ' /tmp/hstest-build.$$ || true)
rm -f /tmp/hstest-build.$$
size_mb=$(( $(docker image inspect -f '{{.Size}}' "$IMAGE") / 1000000 ))
say "built in ${build_s} s (${cached} of ${steps} steps from the cache); image ${size_mb} MB"
[ "$size_mb" -lt 150 ] || fail "the image is ${size_mb} MB, more than 150 MB"
[ "$(docker image inspect -f '{{.Config.User}}' "$IMAGE")" = handsup ] || fail "the image's user is not handsup"
docker image inspect -f '{{json .Config.Volumes}}' "$IMAGE" | grep -q '"/data"' || fail "/data is not a volume"
[ "$(docker image inspect -f '{{.Config.Healthcheck.Test}}' "$IMAGE")" != "[]" ] || fail "no health check"

port=$(free_port)
# The engine has no default bridge (--bridge=none): the container goes on a
# network of its own, as compose puts it on one.
docker network create hstest-net >/dev/null
docker run -d --name hstest-image --network hstest-net -p "127.0.0.1:$port:8080" "$IMAGE" >/dev/null
t=$(date +%s)
wait_healthy hstest-image 60
say "the health check turned healthy in $(since "$t") s"
uid=$(docker exec hstest-image sh -c 'awk "/^Uid:/ {print \$2}" /proc/1/status')
[ "$uid" = 10001 ] || fail "the server runs as uid $uid, not 10001 (handsup)"
[ "$(docker exec hstest-image id -un)" = handsup ] || fail "docker exec does not run as handsup"
[ "$(docker exec hstest-image stat -c %U /data)" = handsup ] || fail "/data does not belong to handsup"
api GET "http://127.0.0.1:$port/healthz" | grep -q '"ok"' || fail "/healthz through the published port"
code=$(api POST "http://127.0.0.1:$port/api/sessions" "" '{"title": "Image check"}' | json 'v["code"]')
docker exec hstest-image sh -c 'ls -A /data' | grep -q . || fail "nothing written to /data after creating a session"
t=$(date +%s)
docker stop -t 20 hstest-image >/dev/null
stop_s=$(since "$t")
exit_code=$(docker inspect -f '{{.State.ExitCode}}' hstest-image)
[ "$exit_code" = 0 ] || fail "the server exited with $exit_code on SIGTERM"
[ "$stop_s" -le 10 ] || fail "the server took $stop_s s to stop on SIGTERM"
docker rm hstest-image >/dev/null
docker network rm hstest-net >/dev/null
say "runs as handsup (uid 10001), /data a volume it owns (session $code journalled there), stops on SIGTERM in ${stop_s} s with 0"

# ---- 2. compose.yaml: one node, its journal on a named volume ----------------
say "2. docker/compose.yaml"
t=$(date +%s)
port=$(free_port)
export HANDSUP_PORT=$port HANDSUP_PUBLIC_URL=http://127.0.0.1:$port
dc1 up -d --build >/tmp/hstest-up.$$ 2>&1 || { cat /tmp/hstest-up.$$; fail "compose up"; }
rm -f /tmp/hstest-up.$$
c=$(dc1 ps -q handsup)
base=http://127.0.0.1:$port
wait_http "$base/healthz" 60
created=$(api POST "$base/api/sessions" "" '{"title": "Compose check", "questions": [{"kind": "single", "prompt": "Which?", "options": ["A", "B", "C"]}]}')
code=$(echo "$created" | json 'v["code"]')
token=$(echo "$created" | json 'v["moderator_token"]')
qid=$(api GET "$base/api/sessions/$code" "$token" | json 'v["questions"][0]["id"]')
api POST "$base/api/sessions/$code/questions/$qid/open" "$token" '{}' >/dev/null
ptoken=$(api POST "$base/api/sessions/$code/participants" "" '{}' | json 'v["participant_token"]')
api PUT "$base/api/sessions/$code/questions/$qid/ballot" "$ptoken" '{"choice": 1}' >/dev/null
counts() { api GET "$base/api/sessions/$code/results" "$token" | json 'v["questions"][0]["tally"]["counts"]'; }
[ "$(counts)" = "[0, 1, 0]" ] || fail "after the vote the counts are $(counts)"
dc1 restart handsup >/dev/null 2>&1
wait_http "$base/healthz" 60
[ "$(counts)" = "[0, 1, 0]" ] || fail "after a restart the counts are $(counts)"
dc1 down >/dev/null 2>&1
dc1 up -d >/dev/null 2>&1
c2=$(dc1 ps -q handsup)
[ "$c2" != "$c" ] || fail "compose down and up kept the same container"
wait_http "$base/healthz" 60
[ "$(counts)" = "[0, 1, 0]" ] || fail "in a new container on the same volume the counts are $(counts)"
api PUT "$base/api/sessions/$code/questions/$qid/ballot" "$ptoken" '{"choice": 2}' >/dev/null
[ "$(counts)" = "[0, 0, 1]" ] || fail "the participant's token no longer works: $(counts)"
dc1 down -v >/dev/null 2>&1
say "a vote survived a restart and a new container on the volume, and the phone's token still worked ($(since "$t") s)"

# ---- 3. cluster.compose.yaml: three nodes, Redis, nginx ------------------------
say "3. docker/cluster.compose.yaml"
t=$(date +%s)
port=$(free_port)
export HANDSUP_PORT=$port HANDSUP_PUBLIC_URL=http://127.0.0.1:$port
dc3 up -d --build >/tmp/hstest-up.$$ 2>&1 || { cat /tmp/hstest-up.$$; fail "compose up"; }
rm -f /tmp/hstest-up.$$
nodes=() ids=()
for n in node1 node2 node3; do
  id=$(dc3 ps -q $n)
  ids+=("$id")
  nodes+=("http://$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$id"):8080")
  wait_http "${nodes[-1]}/healthz" 90
done
redis=$(dc3 ps -q redis)
[ "$(health_of "$redis")" = healthy ] || fail "redis is not healthy"
for i in $(seq 1 60); do
  curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null | grep -q '"redis":true' && break
  [ "$i" = 60 ] && fail "nginx does not answer on port $port"
  sleep 0.5
done
say "up in $(since "$t") s: nodes at ${nodes[*]}, nginx on 127.0.0.1:$port"
aof=$(docker exec "$redis" redis-cli config get appendonly | tail -1)
fsync=$(docker exec "$redis" redis-cli config get appendfsync | tail -1)
[ "$aof" = yes ] || fail "Redis runs without its append-only file"
[ "$fsync" = always ] || fail "Redis does not fsync each write (appendfsync $fsync): acks would not mean durable"
say "Redis persistence: appendonly $aof, appendfsync $fsync"
if ! node --experimental-websocket tests/docker/phones.mjs \
  --lb "http://127.0.0.1:$port" \
  --nodes "$(IFS=,; echo "${nodes[*]}")" \
  --node-containers "$(IFS=,; echo "${ids[*]}")" \
  --redis-container "$redis" \
  --phones "${HANDSUP_DOCKER_PHONES:-60}" 2>&1 | sed 's/^/    /'; then
  fail "the phones' checks failed"
fi
dc3 down -v >/dev/null 2>&1
say "cluster checks passed ($(since "$t") s)"

say "all passed in $(since "$started") s (build ${build_s} s, image ${size_mb} MB)"
