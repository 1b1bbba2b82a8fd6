#!/usr/bin/env bash
# Build Ferry's JupyterLab application (labextension/app) and print the
# directory that holds it (static/, schemas/, themes/).
#
# The build is cached under ${FERRY_CACHE_DIR:-$HOME/.cache/ferry}/lab-build/<key>/,
# where <key> hashes package-lock.json together with the build inputs
# (package.json, rspack.config.js, src/, scripts/), so a warm machine reuses it.
# FERRY_LAB_FORCE=1 rebuilds even when the cache entry exists.
# All progress goes to stderr; stdout is only the build directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$here/app"
cache_root="${FERRY_CACHE_DIR:-$HOME/.cache/ferry}/lab-build"

key="$(cd "$app" && cat package-lock.json package.json rspack.config.js \
        $(find src scripts -type f | LC_ALL=C sort) | sha256sum | cut -c1-16)"
out="$cache_root/$key"

if [[ -f "$out/.complete" && "${FERRY_LAB_FORCE:-0}" != 1 ]]; then
  echo "lab build: cache hit $out" >&2
  echo "$out"
  exit 0
fi

command -v npm >/dev/null || { echo "lab build: npm not found (Node 20+ needed)" >&2; exit 1; }

start=$SECONDS
cd "$app"
# npm ci only when node_modules does not already match the lockfile.
lock_hash="$(sha256sum package-lock.json | cut -c1-64)"
if [[ "$(cat node_modules/.ferry-lock-hash 2>/dev/null || true)" != "$lock_hash" ]]; then
  echo "lab build: npm ci" >&2
  npm ci --no-audit --no-fund --ignore-scripts >&2
  echo "$lock_hash" > node_modules/.ferry-lock-hash
fi

mkdir -p "$cache_root"
tmp="$(mktemp -d "$cache_root/.tmp.$key.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "lab build: rspack -> $tmp" >&2
FERRY_LAB_BUILD_DIR="$tmp" npm run --silent build >&2
test -f "$tmp/static/index.html"
touch "$tmp/.complete"
rm -rf "$out"
mv -T "$tmp" "$out"
trap - EXIT
echo "lab build: done in $((SECONDS - start)) s, $(du -sh "$out" | cut -f1)" >&2
echo "$out"
