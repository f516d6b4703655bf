#!/usr/bin/env bash
# Builds the Kubernetes binaries the cluster test tier runs against (kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd, and the node's kubelet and kube-proxy) from the
# Go module proxy, at the versions pinned in go.mod next to this script. kubectl of the same
# release only with PRENV_WITH_KUBECTL=1 (`npm run bench` compares prenv's apply with
# `kubectl apply --server-side` and asks for it; the tests never run it, so CI does not build it).
#
# Output goes to a cache outside the repository:
#   ${PRENV_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-cluster}/<key>/bin
# where <key> hashes go.mod, go.sum and the Go version, so a rebuild happens only when the
# pin changes. Prints the bin directory on stdout's last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! command -v go >/dev/null 2>&1; then
  echo "build.sh: Go is not installed; install Go >= 1.24 or set PRENV_TEST_KUBECONFIG to use an existing cluster" >&2
  exit 3
fi

k8s_version="$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' go.mod)"
etcd_version="$(awk '$1=="go.etcd.io/etcd/server/v3"{print $2; exit}' go.mod)"
key="$( (cat go.mod go.sum; go version) | sha256sum | cut -c1-16)"
cache_root="${PRENV_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-cluster}"
bin="$cache_root/$key/bin"
binaries=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy etcd)
[[ "${PRENV_WITH_KUBECTL:-}" == 1 ]] && binaries+=(kubectl)

have_all=1
for b in "${binaries[@]}"; do [[ -x "$bin/$b" ]] || have_all=0; done
if [[ $have_all == 1 ]]; then
  echo "Kubernetes $k8s_version / etcd $etcd_version already built in $bin" >&2
  echo "$bin"
  exit 0
fi

mkdir -p "$bin"
minor="${k8s_version#v1.}"; minor="${minor%%.*}"
pkgs="k8s.io/component-base/version k8s.io/client-go/pkg/version"
ldflags="-s -w"
for p in $pkgs; do
  ldflags+=" -X $p.gitVersion=$k8s_version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
  ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
done

start=$(date +%s)
echo "building Kubernetes $k8s_version, etcd $etcd_version into $bin (first build takes several minutes)" >&2
export CGO_ENABLED=0
# Two cores: let go parallelise packages, but build the binaries one at a time so peak
# memory stays bounded (the apiserver link alone needs ~2 GiB).
for b in "${binaries[@]}"; do
  [[ "$b" == etcd || -x "$bin/$b" ]] && continue
  go build -trimpath -ldflags "$ldflags" -o "$bin/$b.tmp" "k8s.io/kubernetes/cmd/$b"
  mv "$bin/$b.tmp" "$bin/$b"
  echo "  built $b" >&2
done
if [[ ! -x "$bin/etcd" ]]; then
  go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$bin/etcd.tmp" "$bin/etcd"
  echo "  built etcd" >&2
fi
echo "Kubernetes binaries built in $(( $(date +%s) - start ))s" >&2
echo "$bin"
