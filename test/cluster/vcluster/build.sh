#!/usr/bin/env bash
# Builds the vcluster release prenv deploys (the syncer of PRENV_VCLUSTER_IMAGE), kine (the
# SQLite-backed etcd shim vcluster runs as its default store) and CoreDNS at the release that
# vcluster deploys as the virtual cluster's DNS, from the Go module proxy, at the versions pinned in
# go.mod, kine/go.mod and coredns/go.mod next to this script, and keeps the release's chart values
# and schema beside them (prenv writes vcluster's complete configuration; the unit tests check it
# against exactly these files). Then packs the images of the control-plane pod prenv renders,
# tagged exactly as prenv deploys them (the defaults in src/runtime/env-schema.ts), so the test
# node runs that pod as any cluster would:
#   PRENV_VCLUSTER_IMAGE             /vcluster, entrypoint `vcluster start`, as the release image
#   PRENV_VCLUSTER_KUBERNETES_IMAGE  /kubernetes/: kube-apiserver, kube-controller-manager and
#                                    kube-scheduler of the control plane's build (../k8s, the same
#                                    pin) and kine; /bin/cp (Debian's static BusyBox) for the pod's
#                                    init container, `cp -a /kubernetes/. /binaries/`
#   vcluster's CoreDNS image         /coredns, under the reference vcluster's own code renders for
#                                    the virtual cluster's Kubernetes minor
# Each reference is checked against the pins, so no image carries a version other than its own.
#
#   build.sh         binaries, chart files and images; prints the cache directory on stdout's last line
#   build.sh images  the same, but prints the images' directory (images.json, <name>.tar)
#   build.sh chart   chart files only (seconds: one module download); prints their directory
#
# Output goes to a cache outside the repository:
#   ${PRENV_VCLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-vcluster}/<key>/{bin,chart,images/<ikey>}
# where <key> hashes the three modules' go.mod and go.sum, CoreDNS's main.go, this script and the
# Go version, so a rebuild happens only when a pin changes; <ikey> adds what the images take from
# elsewhere: the control plane's and the node's build directories (named by their own keys),
# BusyBox and the references.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"
cd "$here"
mode="${1:-all}"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: Go is not installed; install Go >= 1.26 to build the vcluster syncer" >&2
  exit 3
fi

pinned() { # module go.mod -> its version there
  awk -v m="$1" '{for (i = 1; i < NF; i++) if ($i == m) {print $(i + 1); exit}}' "$2"
}
vcluster_version="$(pinned github.com/loft-sh/vcluster go.mod)"
kine_version="$(pinned github.com/k3s-io/kine kine/go.mod)"
coredns_version="$(pinned github.com/coredns/coredns coredns/go.mod)"
key="$( (cat go.mod go.sum kine/go.mod kine/go.sum coredns/go.mod coredns/go.sum coredns/main.go "$self"; go version) | sha256sum | cut -c1-16)"
cache_root="${PRENV_VCLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-vcluster}"
out="$cache_root/$key"
chart="$out/chart"
bin="$out/bin"
module_dir() { go mod download -json "github.com/loft-sh/vcluster@$vcluster_version" | awk -F'"' '$2=="Dir"{print $4}'; }

# The release's chart files, from its module (the same zip the binary is built from).
chart_files=(values.yaml values.schema.json templates/role.yaml)
have_chart=1
for f in "${chart_files[@]}"; do [[ -s "$chart/$f" ]] || have_chart=0; done
if [[ $have_chart == 0 ]]; then
  dir="$(module_dir)"
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

build_binaries() {
  if [[ -x "$bin/vcluster" && -x "$bin/kine" && -x "$bin/coredns" ]]; then
    echo "vcluster $vcluster_version / kine $kine_version / CoreDNS $coredns_version already built in $bin" >&2
    return
  fi
  mkdir -p "$bin"
  local start
  start=$(date +%s)
  echo "building vcluster $vcluster_version, kine $kine_version and CoreDNS $coredns_version into $bin (first build takes several minutes)" >&2
  if [[ ! -x "$bin/vcluster" ]]; then
    # The syncer as its release image has it: static, no cgo, the release version stamped in.
    CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X github.com/loft-sh/vcluster/pkg/telemetry.SyncerVersion=$vcluster_version" \
      -o "$bin/vcluster.tmp" github.com/loft-sh/vcluster/cmd/vcluster
    mv "$bin/vcluster.tmp" "$bin/vcluster"
    echo "  built vcluster ($(($(date +%s) - start))s)" >&2
  fi
  if [[ ! -x "$bin/kine" ]]; then
    # kine as its releases are built: cgo SQLite (mattn/go-sqlite3), linked statically so the
    # same file runs in a minimal image.
    (
      cd kine
      CGO_ENABLED=1 go build -trimpath -tags "sqlite_unlock_notify,netgo,osusergo" \
        -ldflags "-s -w -X github.com/k3s-io/kine/pkg/version.Version=$kine_version -extldflags -static" \
        -o "$bin/kine.tmp" github.com/k3s-io/kine
    )
    mv "$bin/kine.tmp" "$bin/kine"
    echo "  built kine ($(($(date +%s) - start))s)" >&2
  fi
  if [[ ! -x "$bin/coredns" ]]; then
    (
      cd coredns
      CGO_ENABLED=0 go build -trimpath \
        -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$coredns_version" \
        -o "$bin/coredns.tmp" .
    )
    mv "$bin/coredns.tmp" "$bin/coredns"
    echo "  built CoreDNS ($(($(date +%s) - start))s)" >&2
  fi
  echo "vcluster, kine and CoreDNS built in $(($(date +%s) - start))s" >&2
}

# The image reference prenv deploys by default for `const` (src/runtime/env-schema.ts).
default_image() {
  sed -n "s/^export const $1 = \"\\(.*\\)\";\$/\\1/p" "$here/../../../src/runtime/env-schema.ts"
}

images_dir=""
build_images() {
  local k8s_bin node_dir vcluster_ref kubernetes_ref k8s_version minor module coredns_ref registry busybox ikey
  k8s_bin="$(bash "$here/../k8s/build.sh" | tail -1)"
  node_dir="$(bash "$here/../node/build.sh" | tail -1)"
  vcluster_ref="$(default_image VCLUSTER_IMAGE)"
  kubernetes_ref="$(default_image VCLUSTER_KUBERNETES_IMAGE)"
  k8s_version="$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$here/../k8s/go.mod")"
  if [[ -z "$vcluster_ref" || "${vcluster_ref##*:}" != "${vcluster_version#v}" || "${kubernetes_ref##*:}" != "$k8s_version" ]]; then
    echo "build.sh: prenv deploys '$vcluster_ref' and '$kubernetes_ref' but the suite pins vcluster $vcluster_version and Kubernetes $k8s_version: pin what is tested (src/runtime/env-schema.ts, go.mod, ../k8s/go.mod)" >&2
    exit 1
  fi
  # vcluster renders its DNS with the image its code maps the virtual cluster's minor to, under
  # its default registry (prenv sets no controlPlane.advanced.defaultImageRegistry).
  module="$(module_dir)"
  minor="${k8s_version#v}"
  minor="${minor%.*}"
  coredns_ref="$(awk -F'"' -v m="$minor" '$2==m{print $4; exit}' "$module/pkg/constants/coredns.go")"
  registry="$(awk -F'"' '/DefaultImageRegistry *=/{print $2; exit}' "$module/pkg/coredns/coredns.go")"
  if [[ -z "$coredns_ref" || -z "$registry" || "${coredns_ref##*:}" != "${coredns_version#v}" ]]; then
    echo "build.sh: vcluster $vcluster_version deploys CoreDNS '${coredns_ref:-?}' for Kubernetes $minor but coredns/go.mod pins $coredns_version" >&2
    exit 1
  fi
  coredns_ref="$registry/$coredns_ref"
  busybox="$(command -v busybox || true)"
  if [[ -z "$busybox" ]] || ldd "$busybox" >/dev/null 2>&1; then
    echo "build.sh: the distro image's init container needs a static cp: apt-get install busybox-static" >&2
    exit 3
  fi
  ikey="$( (echo "$k8s_bin $node_dir $vcluster_ref $kubernetes_ref $coredns_ref"; sha256sum <"$busybox") | sha256sum | cut -c1-16)"
  images_dir="$out/images/$ikey"
  if [[ -f "$images_dir/images.json" ]]; then
    echo "vcluster images already packed in $images_dir" >&2
    return
  fi
  local tmp="$images_dir.tmp.$$" imgpack="$node_dir/bin/imgpack" start
  start=$(date +%s)
  rm -rf "$tmp" && mkdir -p "$tmp"
  # As the release images: root by default (the pod sets its user), entrypoint `vcluster start`.
  "$imgpack" -o "$tmp/vcluster.tar" -ref "$vcluster_ref" -file "/vcluster=$bin/vcluster:0755" \
    -entrypoint /vcluster -arg start -user 0:0
  "$imgpack" -o "$tmp/kubernetes.tar" -ref "$kubernetes_ref" \
    -file "/kubernetes/kube-apiserver=$k8s_bin/kube-apiserver:0755" \
    -file "/kubernetes/kube-controller-manager=$k8s_bin/kube-controller-manager:0755" \
    -file "/kubernetes/kube-scheduler=$k8s_bin/kube-scheduler:0755" \
    -file "/kubernetes/kine=$bin/kine:0755" \
    -file "/bin/cp=$busybox:0755" -entrypoint /bin/cp -user 0:0
  "$imgpack" -o "$tmp/coredns.tar" -ref "$coredns_ref" -file "/coredns=$bin/coredns:0755" \
    -entrypoint /coredns -user 0:0
  printf '{ "vcluster": "%s", "kubernetes": "%s", "coredns": "%s" }\n' \
    "$vcluster_ref" "$kubernetes_ref" "$coredns_ref" >"$tmp/images.json"
  # Another build of the same key may have finished first: keep whichever landed.
  mv -T "$tmp" "$images_dir" 2>/dev/null || rm -rf "$tmp"
  echo "  packed $vcluster_ref, $kubernetes_ref and $coredns_ref in $(($(date +%s) - start))s" >&2
}

build_binaries
build_images
if [[ $mode == images ]]; then
  echo "$images_dir"
else
  echo "$out"
fi
