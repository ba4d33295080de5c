# A Docker engine of the test's own, sourced by tests/docker/run.sh.
#
# engine_start starts dockerd with its own data root (kept between runs under
# HANDSUP_DOCKER_CACHE, so base images and the build cache survive), its own
# exec root, pid file, config file and socket (under a temporary folder), no
# iptables rules and no default bridge, and exports DOCKER_HOST for it.
# engine_stop stops that process, by its pid, and nothing else: a daemon the
# test did not start is never touched (the default socket is never used).
# One run at a time per cache folder (flock), since two engines cannot share a
# data root.

ENGINE_PID=
ENGINE_RUN=

engine_start() {
  HANDSUP_DOCKER_CACHE=${HANDSUP_DOCKER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/handsup-docker}
  mkdir -p "$HANDSUP_DOCKER_CACHE"
  exec 9>"$HANDSUP_DOCKER_CACHE/lock"
  if ! flock -n 9; then
    echo "docker: another run holds $HANDSUP_DOCKER_CACHE/lock; waiting for it"
    flock -w 1800 9 || { echo "docker: gave up waiting for $HANDSUP_DOCKER_CACHE/lock" >&2; return 1; }
  fi
  ENGINE_RUN=$(mktemp -d /tmp/handsup-dockerd.XXXXXX)
  echo '{}' > "$ENGINE_RUN/daemon.json"
  dockerd \
    --config-file "$ENGINE_RUN/daemon.json" \
    --data-root "$HANDSUP_DOCKER_CACHE/data" \
    --exec-root "$ENGINE_RUN/exec" \
    --pidfile "$ENGINE_RUN/dockerd.pid" \
    --host "unix://$ENGINE_RUN/docker.sock" \
    --iptables=false --ip-masq=false --bridge=none \
    >"$ENGINE_RUN/dockerd.log" 2>&1 &
  ENGINE_PID=$!
  export DOCKER_HOST="unix://$ENGINE_RUN/docker.sock"
  local i
  for i in $(seq 1 120); do
    if docker version >/dev/null 2>&1; then
      return 0
    fi
    if ! kill -0 "$ENGINE_PID" 2>/dev/null; then
      break
    fi
    sleep 0.5
  done
  echo "docker: dockerd did not start; its log:" >&2
  tail -20 "$ENGINE_RUN/dockerd.log" >&2
  engine_stop
  return 1
}

engine_stop() {
  if [ -n "$ENGINE_PID" ] && kill -0 "$ENGINE_PID" 2>/dev/null; then
    kill -TERM "$ENGINE_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 60); do
      kill -0 "$ENGINE_PID" 2>/dev/null || break
      sleep 0.5
    done
    if kill -0 "$ENGINE_PID" 2>/dev/null; then
      echo "docker: dockerd $ENGINE_PID did not stop in 30 s; killing it" >&2
      kill -KILL "$ENGINE_PID" 2>/dev/null || true
      # and the containerd it started, by the pid file in its exec root
      local cpid
      cpid=$(cat "$ENGINE_RUN/exec/containerd/containerd.pid" 2>/dev/null || true)
      [ -n "$cpid" ] && kill -KILL "$cpid" 2>/dev/null || true
    fi
    wait "$ENGINE_PID" 2>/dev/null || true
  fi
  ENGINE_PID=
  if [ -n "$ENGINE_RUN" ]; then
    # What the engine left mounted in its exec root (after a hard stop), then the folder.
    awk -v d="$ENGINE_RUN/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount 2>/dev/null || true
    rm -rf "$ENGINE_RUN" 2>/dev/null || true
    ENGINE_RUN=
  fi
}
