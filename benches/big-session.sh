#!/usr/bin/env bash
# Finding 1 of the journal review, at full size: a session whose snapshot
# is over the 64 MiB that replay accepts of one record must come back
# whole, twice. Runs the two ignored tests of tests/process/records.rs on a
# release build and prints what they measured, among it the replay time of
# each restart (from the server's "journal replayed" log line):
#
#   - 100,000 participants x 7 questions, made through the HTTP API
#     (about 80 MB of journal; BIG_PARTICIPANTS=N for another size);
#   - one session of 290 questions of 240 KB each (about 70 MB).
#
#   benches/big-session.sh            # both
#   benches/big-session.sh 100000     # only the participants one
#
# Everything runs on 127.0.0.1; each test stops its servers when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

filter=${1:-a_session_}
case $filter in
100000 | participants) filter=a_session_of_100000_participants ;;
questions | 64) filter=a_session_over_64_mib ;;
esac
exec cargo test --release --test process "records::$filter" -- --ignored --nocapture \
    --test-threads 1
