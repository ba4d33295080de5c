#!/usr/bin/env bash
# The crash loop of tests/process/records.rs at full length: ROUNDS rounds
# (default 50) of phones voting, re-voting, retracting, asking and
# upvoting, sessions being created, segments of 1 MiB so that compactions
# happen under load, and a `kill -9` at a random moment of each round.
# After each restart every acked change must be there; then the server is
# stopped and `handsup verify` must find the journal sound.
#
#   benches/crash-loop.sh          # 50 rounds, a random seed
#   benches/crash-loop.sh 200      # 200 rounds
#   CRASH_SEED=7 benches/crash-loop.sh   # a seed printed by an earlier run
#   PROFILE=dev benches/crash-loop.sh    # on the debug build
#
# Prints a line per round, then: rounds, acks, lost, verify failures,
# compactions under load, and every failure found. Exits non-zero when
# anything acked was lost or verify failed. Everything runs on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

export CRASH_ROUNDS=${1:-50}
profile=()
[ "${PROFILE:-release}" = dev ] || profile=(--release)
exec cargo test "${profile[@]}" --test process records::the_crash_loop_in_full -- \
    --ignored --nocapture --exact
