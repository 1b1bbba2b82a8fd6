#!/usr/bin/env bash
# Browser test: real JupyterLab in headless Debian Chromium (playwright-core)
# against notebookd. `make browser-test` sets FERRY_BIN and FERRY_LAB_ASSETS;
# run directly, it uses bin/ferry and builds (or reuses) the JupyterLab app.
# Screenshots and logs: ${FERRY_TEST_ARTIFACTS:-<repo>/test-artifacts}/browser/.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

export FERRY_BIN="${FERRY_BIN:-$repo/bin/ferry}"
[[ -x "$FERRY_BIN" ]] || { echo "browser test: $FERRY_BIN not found: run make build (or set FERRY_BIN)" >&2; exit 1; }
if [[ -z "${FERRY_LAB_ASSETS:-}" ]]; then
  FERRY_LAB_ASSETS="$(bash "$repo/labextension/build.sh")"
fi
export FERRY_LAB_ASSETS
export FERRY_CHROMIUM="${FERRY_CHROMIUM:-/usr/bin/chromium}"
[[ -x "$FERRY_CHROMIUM" ]] || { echo "browser test: $FERRY_CHROMIUM not found: apt-get install chromium (or set FERRY_CHROMIUM)" >&2; exit 1; }
command -v node >/dev/null || { echo "browser test: node not found (Node 20+ needed)" >&2; exit 1; }

# Artifacts land relative to where the test was started, not test/browser.
if [[ -n "${FERRY_TEST_ARTIFACTS:-}" ]]; then
  mkdir -p "$FERRY_TEST_ARTIFACTS"
  FERRY_TEST_ARTIFACTS="$(cd "$FERRY_TEST_ARTIFACTS" && pwd)"
  export FERRY_TEST_ARTIFACTS
fi

cd "$here"
# npm ci only when node_modules does not match the committed lockfile.
lock_hash="$(sha256sum package-lock.json | cut -c1-64)"
if [[ "$(cat node_modules/.ferry-lock-hash 2>/dev/null || true)" != "$lock_hash" ]]; then
  echo "browser test: npm ci" >&2
  npm ci --no-audit --no-fund --ignore-scripts >&2
  echo "$lock_hash" > node_modules/.ferry-lock-hash
fi

# Each *.test.mjs starts its own notebookd and Chromium: run them one after
# another (in parallel they would fight over two cores), all of them even
# when one fails. The artifacts folder is emptied once, here, so each test
# file adds its own files (named with its prefix) to it.
artifacts="${FERRY_TEST_ARTIFACTS:-$repo/test-artifacts}/browser"
rm -rf "$artifacts"
mkdir -p "$artifacts"
export FERRY_BROWSER_KEEP_ARTIFACTS=1
failed=()
for t in *.test.mjs; do
  echo "browser test: $t" >&2
  node --test --test-reporter=spec "$t" || failed+=("$t")
done
if ((${#failed[@]})); then
  echo "browser test: failed: ${failed[*]} (artifacts: $artifacts)" >&2
  exit 1
fi
