#!/usr/bin/env bash
# The test command: installs what the tests need on a fresh machine, then runs every test.
# Idempotent; safe to run again. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tests need only the Rust toolchain today (the fake EHR is built in). cargo-nextest is
# used when present (faster on 2 cores: one process per test), else cargo test.
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --no-fail-fast "$@"
else
  cargo test --no-fail-fast "$@"
fi
