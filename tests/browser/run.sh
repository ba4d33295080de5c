#!/usr/bin/env bash
# Runs the browser tests against the server binary (HANDSUP_BIN, default ../../target/debug/handsup).
set -euo pipefail
cd "$(dirname "$0")"

if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "Chromium not found: apt-get install -y chromium (or set CHROMIUM_PATH)" >&2
  exit 1
fi

# Install the pinned npm dependencies when missing or out of date (never a browser download).
if [ ! -d node_modules/playwright-core ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
fi

exec node --test --test-concurrency=1 "$@"
