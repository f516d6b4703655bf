#!/usr/bin/env bash
# Builds the tools prenv renders Helm charts and Kustomize overlays with (helm, kustomize) from the
# Go module proxy, at the versions pinned in helm/go.mod and kustomize/go.mod next to this script
# (each module requires only its tool, so the tool builds with its own released dependencies).
#
# Two targets, static (CGO_ENABLED=0):
#   linux-arm64  the worker Lambda's architecture; zipped as the worker's layer (bin/helm,
#                bin/kustomize, found at /opt/bin on Lambda)
#   linux-amd64  this machine's, for the tests and `npm start` (same versions, same flags)
# See docs/adr/0007-render-tools-as-an-arm64-layer.md for the choice.
#
# Output goes to a cache outside the repository:
#   ${PRENV_RENDER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-render}/<key>/
#     linux-amd64/{helm,kustomize}  linux-arm64/{helm,kustomize}  layer-arm64.zip
# where <key> hashes both modules, this script and the Go version: a rebuild happens only when a
# pin changes. Prints that directory on stdout's last line.
#
# Usage: bash tools/render/build.sh [--check]
#   --check  build nothing: print the directory if it is complete, else exit 4 (tests use this)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! command -v go >/dev/null 2>&1; then
  echo "render build: Go is not installed; install Go >= 1.24 to build helm and kustomize" >&2
  exit 3
fi

helm_version="$(awk '$1=="require" && $2=="helm.sh/helm/v4"{print $3; exit}' helm/go.mod)"
kustomize_version="$(awk '$1=="require" && $2=="sigs.k8s.io/kustomize/kustomize/v5"{print $3; exit}' kustomize/go.mod)"
[[ -n "$helm_version" && -n "$kustomize_version" ]] || { echo "render build: cannot read the pinned versions" >&2; exit 1; }
helm_ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version -X helm.sh/helm/v4/internal/version.gitTreeState=clean"
kustomize_ldflags="-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$kustomize_version -X sigs.k8s.io/kustomize/api/provenance.buildDate=1970-01-01T00:00:00Z"
targets=(linux-amd64 linux-arm64)
# The recipe: both pins, the Go version, the flags and targets (not this script's comments).
key="$( (cat helm/go.mod helm/go.sum kustomize/go.mod kustomize/go.sum; go version
  echo "CGO_ENABLED=0 -trimpath $helm_ldflags $kustomize_ldflags ${targets[*]} layer-v1") | sha256sum | cut -c1-16)"
cache_root="${PRENV_RENDER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-render}"
out="$cache_root/$key"

if [[ -f "$out/.complete" ]]; then
  echo "helm $helm_version and kustomize $kustomize_version already built in $out" >&2
  echo "$out"
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "helm $helm_version and kustomize $kustomize_version are not built yet: run npm run render:build" >&2
  exit 4
fi

mkdir -p "$out"
start=$(date +%s)
echo "building helm $helm_version and kustomize $kustomize_version for ${targets[*]} into $out" >&2
export CGO_ENABLED=0
for target in "${targets[@]}"; do
  mkdir -p "$out/$target"
  export GOOS="${target%-*}" GOARCH="${target#*-}"
  t0=$(date +%s)
  (cd helm && go build -trimpath -ldflags "$helm_ldflags" -o "$out/$target/helm.tmp" helm.sh/helm/v4/cmd/helm)
  mv "$out/$target/helm.tmp" "$out/$target/helm"
  t1=$(date +%s)
  (cd kustomize && go build -trimpath -ldflags "$kustomize_ldflags" -o "$out/$target/kustomize.tmp" sigs.k8s.io/kustomize/kustomize/v5)
  mv "$out/$target/kustomize.tmp" "$out/$target/kustomize"
  echo "  $target: helm $((t1 - t0))s, kustomize $(($(date +%s) - t1))s" >&2
done
unset GOOS GOARCH

# The worker's layer: Lambda extracts it under /opt, so the tools are /opt/bin/helm and /opt/bin/kustomize.
# Fixed timestamps and order, so the same binaries give the same zip (and the same layer version).
python3 - "$out/linux-arm64" "$out/layer-arm64.zip.tmp" <<'PY'
import os, sys, zipfile
src, dest = sys.argv[1:]
with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for name in ("helm", "kustomize"):
        info = zipfile.ZipInfo(f"bin/{name}", date_time=(1980, 1, 1, 0, 0, 0))
        info.external_attr = 0o100755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(src, name), "rb") as f:
            z.writestr(info, f.read())
PY
mv "$out/layer-arm64.zip.tmp" "$out/layer-arm64.zip"
touch "$out/.complete"
echo "render tools built in $(($(date +%s) - start))s" >&2
echo "$out"
