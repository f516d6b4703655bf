#!/usr/bin/env bash
# Builds the vcluster release prenv deploys (the syncer of PRENV_VCLUSTER_IMAGE) and kine (the
# SQLite-backed etcd shim vcluster runs as its default store) from the Go module proxy, at the
# versions pinned in go.mod and kine/go.mod next to this script, and keeps the release's chart
# values and schema beside them (prenv writes vcluster's complete configuration; the unit tests
# check it against exactly these files).
#
#   build.sh         binaries and chart files; prints the cache directory on stdout's last line
#   build.sh chart   chart files only (seconds: one module download); prints their directory
#
# Output goes to a cache outside the repository:
#   ${PRENV_VCLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-vcluster}/<key>/{bin,chart}
# where <key> hashes both modules' go.mod and go.sum, this script and the Go version, so a
# rebuild happens only when a pin changes.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
cd "$here"
mode="${1:-all}"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: Go is not installed; install Go >= 1.26 to build the vcluster syncer" >&2
  exit 3
fi

vcluster_version="$(awk '{for (i = 1; i < NF; i++) if ($i == "github.com/loft-sh/vcluster") {print $(i + 1); exit}}' go.mod)"
kine_version="$(awk '{for (i = 1; i < NF; i++) if ($i == "github.com/k3s-io/kine") {print $(i + 1); exit}}' kine/go.mod)"
key="$( (cat go.mod go.sum kine/go.mod kine/go.sum "$self"; go version) | sha256sum | cut -c1-16)"
cache_root="${PRENV_VCLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-vcluster}"
out="$cache_root/$key"
chart="$out/chart"
bin="$out/bin"

# The release's chart files, from its module (the same zip the binary is built from).
chart_files=(values.yaml values.schema.json templates/role.yaml)
have_chart=1
for f in "${chart_files[@]}"; do [[ -s "$chart/$f" ]] || have_chart=0; done
if [[ $have_chart == 0 ]]; then
  dir="$(go mod download -json "github.com/loft-sh/vcluster@$vcluster_version" | awk -F'"' '$2=="Dir"{print $4}')"
  [[ -d "$dir/chart" ]] || { echo "build.sh: no chart/ in the vcluster $vcluster_version module ($dir)" >&2; exit 1; }
  mkdir -p "$chart.tmp/templates"
  for f in "${chart_files[@]}"; do cp "$dir/chart/$f" "$chart.tmp/$f"; done
  chmod -R u+w "$chart.tmp"
  echo "$vcluster_version" >"$chart.tmp/VERSION"
  rm -rf "$chart" && mv "$chart.tmp" "$chart"
fi
if [[ $mode == chart ]]; then
  echo "$chart"
  exit 0
fi

if [[ -x "$bin/vcluster" && -x "$bin/kine" ]]; then
  echo "vcluster $vcluster_version / kine $kine_version already built in $bin" >&2
  echo "$out"
  exit 0
fi

mkdir -p "$bin"
start=$(date +%s)
echo "building vcluster $vcluster_version and kine $kine_version into $bin (first build takes several minutes)" >&2
# The syncer as its release image has it: static, no cgo, the release version stamped in.
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X github.com/loft-sh/vcluster/pkg/telemetry.SyncerVersion=$vcluster_version" \
  -o "$bin/vcluster.tmp" github.com/loft-sh/vcluster/cmd/vcluster
mv "$bin/vcluster.tmp" "$bin/vcluster"
echo "  built vcluster ($(( $(date +%s) - start ))s)" >&2
# kine as its releases are built: cgo SQLite (mattn/go-sqlite3), linked statically so the same
# file runs in a minimal image.
(
  cd kine
  CGO_ENABLED=1 go build -trimpath -tags "sqlite_unlock_notify,netgo,osusergo" \
    -ldflags "-s -w -X github.com/k3s-io/kine/pkg/version.Version=$kine_version -extldflags -static" \
    -o "$bin/kine.tmp" github.com/k3s-io/kine
)
mv "$bin/kine.tmp" "$bin/kine"
echo "  built kine" >&2
echo "vcluster and kine built in $(( $(date +%s) - start ))s" >&2
echo "$out"
