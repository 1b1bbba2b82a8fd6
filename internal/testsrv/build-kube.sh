#!/usr/bin/env bash
# Builds the Kubernetes test servers into a cache directory keyed by
# version, once: kube-apiserver (k8s.io/kubernetes, from the Go module
# proxy through a throwaway module, since its go.mod replaces the staging
# modules with local paths), etcd and kwok. Prints nothing when they are
# already there. Used by `make tools`; tests find the binaries through
# $FERRY_KUBE_TOOLS (default ~/.cache/ferry/tools/kube-<version>).
#
# Cold: ~700 MB of modules and ~10 CPU-minutes; warm: nothing.
set -euo pipefail

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-v3.7.3}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
dir="${FERRY_KUBE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/ferry/tools/kube-$KUBE_VERSION}"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

if [[ ! -x "$dir/kube-apiserver" ]]; then
  echo "build-kube: building kube-apiserver $KUBE_VERSION into $dir (several minutes, once)" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  gomod="$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
  minor="${KUBE_VERSION#v1.}"
  minor="${minor%%.*}"
  patch="${KUBE_VERSION##*.}"
  {
    echo "module ferrykubebuild"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes $KUBE_VERSION"
    echo
    # Each staging module k8s.io/X => ./staging/... becomes k8s.io/X v0.MINOR.PATCH.
    sed -n 's#^[[:space:]]*\(k8s.io/[a-z0-9-]*\) => ./staging/.*#\1#p' "$gomod" |
      grep -v -e sample-cli-plugin -e sample-controller |
      while read -r m; do echo "replace $m => $m v0.$minor.$patch"; done
  } >"$work/go.mod"
  cat >"$work/tools.go" <<'GO'
//go:build tools

package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
GO
  (cd "$work" && go mod tidy >/dev/null 2>&1 &&
    go build -trimpath -o "$dir/kube-apiserver" -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$KUBE_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" k8s.io/kubernetes/cmd/kube-apiserver)
  rm -rf "$work"
  trap - EXIT
fi

if [[ ! -x "$dir/etcd" ]]; then
  echo "build-kube: building etcd $ETCD_VERSION" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  printf 'module ferryetcdbuild\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$work/tools.go"
  (cd "$work" && go mod tidy >/dev/null 2>&1 && go build -trimpath -ldflags "-s -w" -o "$dir/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$work"
  trap - EXIT
fi

if [[ ! -x "$dir/kwok" ]]; then
  echo "build-kube: building kwok $KWOK_VERSION" >&2
  GOBIN="$dir" go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
fi
