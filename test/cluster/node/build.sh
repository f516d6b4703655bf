#!/usr/bin/env bash
# Builds the test node's binaries and images from the Go module proxy, at the versions pinned in
# go.mod next to this script: containerd with its runc shim and ctr, runc (cgo, seccomp), the CNI
# plugins (bridge, host-local, loopback, portmap), CoreDNS with the plugins the cluster DNS uses,
# kube-router's network policy controller, and the programs of this module (the test workloads,
# pause, the image packer). Then packs the images the node runs (pause, CoreDNS, the workloads)
# as OCI image tarballs. kubelet and kube-proxy are built by ../k8s/build.sh.
#
# Output goes to a cache outside the repository:
#   ${PRENV_TESTNODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-testnode}/<key>/{bin,images}
# where <key> hashes go.mod, go.sum, this script, the module's own sources and the Go version.
# Prints that directory on stdout's last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! command -v go >/dev/null 2>&1; then
  echo "node/build.sh: Go is not installed; install Go >= 1.26.8" >&2
  exit 3
fi
if ! command -v gcc >/dev/null 2>&1 || ! pkg-config --exists libseccomp 2>/dev/null; then
  echo "node/build.sh: runc needs cgo and libseccomp: apt-get install gcc pkg-config libseccomp-dev" >&2
  exit 3
fi

version() { awk -v m="$1" '$1==m{print $2; exit}' go.mod; }
key="$( (cat go.mod go.sum build.sh; find cmd imgpack -name '*.go' | LC_ALL=C sort | xargs cat; go version) | sha256sum | cut -c1-16)"
cache_root="${PRENV_TESTNODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-testnode}"
out="$cache_root/$key"
if [[ -f "$out/complete" ]]; then
  echo "test node already built in $out" >&2
  echo "$out"
  exit 0
fi

containerd_v="$(version github.com/containerd/containerd/v2)"
runc_v="$(version github.com/opencontainers/runc)"
coredns_v="$(version github.com/coredns/coredns)"
tmp="$out.tmp.$$"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/images"
start=$(date +%s)
echo "building the test node into $out (first build takes several minutes)" >&2

# One `go build` for every pure-Go program: packages they share are compiled once. Tags drop
# containerd's snapshotters and tracing that the node does not use.
CGO_ENABLED=0 go build -trimpath -tags "no_btrfs no_devmapper no_zfs no_tracing" \
  -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$containerd_v" \
  -o "$tmp/bin/" \
  github.com/containerd/containerd/v2/cmd/containerd \
  github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 \
  github.com/containerd/containerd/v2/cmd/ctr \
  github.com/containernetworking/plugins/plugins/main/bridge \
  github.com/containernetworking/plugins/plugins/main/loopback \
  github.com/containernetworking/plugins/plugins/ipam/host-local \
  github.com/containernetworking/plugins/plugins/meta/portmap \
  ./cmd/coredns ./cmd/netpol ./cmd/testapp ./cmd/pause ./cmd/imgpack
echo "  built containerd $containerd_v, CNI plugins, CoreDNS $coredns_v, netpol, workloads ($(( $(date +%s) - start ))s)" >&2

CGO_ENABLED=1 go build -trimpath -tags "seccomp urfave_cli_no_docs" \
  -ldflags "-s -w -X main.gitCommit=$runc_v" -o "$tmp/bin/runc" github.com/opencontainers/runc
echo "  built runc $runc_v ($(( $(date +%s) - start ))s)" >&2

# The CNI plugins in a directory of their own (containerd's cni.bin_dirs).
mkdir -p "$tmp/bin/cni"
mv "$tmp/bin/bridge" "$tmp/bin/loopback" "$tmp/bin/host-local" "$tmp/bin/portmap" "$tmp/bin/cni/"

# Images: one static program each, a non-root user, no registry. images.json maps each image's
# short name to its reference, for the harness and the tests.
images_json="{"
pack() { # name ref binary [imgpack flags...]
  local name="$1" ref="$2" binary="$3"
  shift 3
  "$tmp/bin/imgpack" -o "$tmp/images/$name.tar" -ref "$ref" -file "/$binary=$tmp/bin/$binary:0755" \
    -entrypoint "/$binary" "$@"
  images_json+="$([[ $images_json == "{" ]] || echo ,)\"$name\": \"$ref\""
}
pack pause prenv.test/pause:3.10 pause
pack coredns "prenv.test/coredns:$coredns_v" coredns -arg -conf -arg /etc/coredns/Corefile
for mode in web unready crash hog; do
  pack "$mode" "prenv.test/$mode:v1" testapp -arg "$mode"
done
echo "$images_json}" >"$tmp/images.json"
cat >"$tmp/versions.json" <<EOF
{
  "containerd": "$containerd_v",
  "runc": "$runc_v",
  "cni-plugins": "$(version github.com/containernetworking/plugins)",
  "coredns": "$coredns_v",
  "kube-router": "$(version github.com/cloudnativelabs/kube-router/v2)",
  "go-containerregistry": "$(version github.com/google/go-containerregistry)",
  "go": "$(go env GOVERSION)"
}
EOF
touch "$tmp/complete"
mkdir -p "$cache_root"
# Another build of the same key may have finished first: keep whichever landed.
mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp"
trap - EXIT
echo "test node built in $(( $(date +%s) - start ))s" >&2
echo "$out"
