#!/usr/bin/env bash
# Runs the real-client suite: @jupyterlab/services (npm) in Node against a
# running `ferry lab` (notebookd), with the Ferry kernel and Debian's
# ipykernel. `make node-test` calls it; by hand:
#   FERRY_BIN=bin/ferry bash test/services/run.sh [FILE.test.mjs ...]
# Without FERRY_BIN it uses <repo>/bin/ferry, building it when missing.
# node_modules is (re)installed with `npm ci` when it is missing or does not
# match package-lock.json.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

if [[ -n "${FERRY_BIN:-}" ]]; then
  FERRY_BIN="$(cd "$(dirname "$FERRY_BIN")" && pwd)/$(basename "$FERRY_BIN")"
else
  FERRY_BIN="$repo/bin/ferry"
  if [[ ! -x "$FERRY_BIN" ]]; then
    (cd "$repo" && go build -tags duckdb_arrow -o bin/ ./cmd/ferry ./cmd/ferry-kernel)
  fi
fi
if [[ ! -x "$FERRY_BIN" ]]; then
  echo "run.sh: no ferry binary at $FERRY_BIN; build it with 'go build -tags duckdb_arrow -o bin/ ./cmd/ferry ./cmd/ferry-kernel' or set FERRY_BIN" >&2
  exit 1
fi
export FERRY_BIN

cd "$here"
stamp=node_modules/.package-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -d node_modules || ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
fi

if [[ $# -eq 0 ]]; then
  set -- *.test.mjs
fi
# --test-force-exit: @lumino/polling leaves its timers (up to 61 s) running
# after the managers are disposed, which would keep each file's process alive.
# Files run one at a time: each starts its own server and kernels, and the
# machines running CI have few cores.
exec node --test --test-force-exit --test-concurrency=1 "$@"
