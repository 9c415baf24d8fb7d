#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine, then runs every test.
# Idempotent; safe to run again. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Browser tests need Debian's chromium and chromedriver (no driver download); the shared
# session store test needs redis-server (the test starts its own on a free loopback port).
if ! command -v chromedriver >/dev/null 2>&1 || [ ! -x /usr/bin/chromium ] || ! command -v redis-server >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver redis-server >/dev/null
fi

# The independent OAuth/OpenID peer (oidc-provider, pinned by tests/peer/package-lock.json).
# npm ci only when node_modules is missing or was installed from another lockfile.
peer=tests/peer
lock_sum=$(sha256sum "$peer/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$peer/node_modules/.lock-sha256" 2>/dev/null)" != "$lock_sum" ]; then
  (cd "$peer" && npm ci --no-audit --no-fund)
  echo "$lock_sum" >"$peer/node_modules/.lock-sha256"
fi

# The peer, browser and Redis tests are #[ignore]d so a plain `cargo test` needs no outside program;
# here they run too.
# cargo-nextest is used when present (faster on 2 cores: one process per test), else cargo test.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast --run-ignored all "$@"
else
  cargo test --no-fail-fast "$@" -- --include-ignored
fi
