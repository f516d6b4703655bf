#!/usr/bin/env bash
# Builds the test world's Gateway API data plane (ADR 11): Traefik Proxy with its Kubernetes
# Gateway provider, from the Go module proxy at the release pinned below, plus `tlsecho` (a TLS
# test backend, ./tlsecho), packs both as images for the test node, and keeps the Gateway API
# CRDs (standard channel) of the gateway-api release that Traefik release is built against.
#
# Traefik cannot be built as a dependency of a module of ours: its go.mod's `replace` directives
# (a nested module, two forks) apply only where Traefik's own module is the main module. So the
# release's source is taken from the module cache (checksum-verified) into a build directory and
# built there, with three changes made by this script and nothing else:
#  1. the nested module github.com/traefik/traefik/dynamic/ext is not in the release's module zip
#     and the proxy does not serve it: it holds the open-source build's extension points, which
#     are empty types; this script writes them (4 declarations, no behaviour);
#  2. the containous/go-http-auth fork at the commit the release pins is not served: the fork's
#     previous pin (the one Traefik v3.6 uses) is, and only the BasicAuth/DigestAuth middlewares,
#     which the test world does not use, import it;
#  3. lego's DNS-01 provider registry imports ~180 DNS providers, about 15 of whose SDKs the proxy
#     refuses (403): the registry is rewritten from lego's own generated file keeping only
#     `exec`, `httpreq` and `manual`. The test world uses no ACME at all; this also spares the
#     build every cloud DNS SDK.
#
# Output goes to a cache outside the repository:
#   ${PRENV_GATEWAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-gateway}/<key>/{bin,images,crds}
# where <key> hashes this script, tlsecho's sources and the Go version. Prints that directory on
# stdout's last line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# Pinned releases and the checksums (go.sum h1: hashes) their module zips must have.
TRAEFIK=github.com/traefik/traefik/v3
TRAEFIK_V=v3.7.13
TRAEFIK_SUM="h1:T8wy9KuaFzCkmXCqAzDy7t73pBDR1DHrJe3pqXpNXTw="
LEGO=github.com/go-acme/lego/v5
LEGO_V=v5.4.1
LEGO_SUM="h1:Jt6xAP9xQrJ3SLLGgxejfDDd3pzdrmuLCWe4oTqHHQc="
GATEWAY_API=sigs.k8s.io/gateway-api
GATEWAY_API_V=v1.6.1
GATEWAY_API_SUM="h1:mock6phZbI6rvZerwrVNk7hVNymQgHo+6sJ81Ia7ftY="
HTTP_AUTH_FORK=github.com/containous/go-http-auth@v0.4.1-0.20200324110947-a37a7636d23e
LEGO_DNS_KEEP="exec httpreq manual"

if ! command -v go >/dev/null 2>&1; then
  echo "gateway/build.sh: Go is not installed; install Go >= 1.26" >&2
  exit 3
fi

key="$( (cat build.sh; find tlsecho -type f | LC_ALL=C sort | xargs cat; go version) | sha256sum | cut -c1-16)"
cache_root="${PRENV_GATEWAY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-gateway}"
out="$cache_root/$key"
if [[ -f "$out/complete" ]]; then
  echo "gateway data plane already built in $out" >&2
  echo "$out"
  exit 0
fi

# The node's image packer (built by ../node/build.sh, cached).
node_dir="$(bash ../node/build.sh | tail -1)"
imgpack="$node_dir/bin/imgpack"

tmp="$out.tmp.$$"
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/images" "$tmp/crds" "$tmp/src"
start=$(date +%s)
echo "building Traefik $TRAEFIK_V (Gateway API $GATEWAY_API_V) into $out (first build takes several minutes)" >&2

module_dir() { # path version expected-sum -> directory in the module cache
  local json dir sum
  json="$(go mod download -json "$1@$2")"
  dir="$(sed -n 's/^\t"Dir": "\(.*\)",$/\1/p' <<<"$json")"
  sum="$(sed -n 's/^\t"Sum": "\(.*\)",$/\1/p' <<<"$json")"
  if [[ "$sum" != "$3" ]]; then
    echo "gateway/build.sh: $1@$2 has checksum $sum, expected $3" >&2
    exit 1
  fi
  echo "$dir"
}
traefik_src="$(module_dir "$TRAEFIK" "$TRAEFIK_V" "$TRAEFIK_SUM")"
lego_src="$(module_dir "$LEGO" "$LEGO_V" "$LEGO_SUM")"
gwapi_src="$(module_dir "$GATEWAY_API" "$GATEWAY_API_V" "$GATEWAY_API_SUM")"
if ! grep -q "^	$GATEWAY_API $GATEWAY_API_V$" "$traefik_src/go.mod"; then
  echo "gateway/build.sh: Traefik $TRAEFIK_V is not built against $GATEWAY_API $GATEWAY_API_V" >&2
  exit 1
fi

cp -r "$traefik_src" "$tmp/src/traefik"
cp -r "$lego_src" "$tmp/src/lego"
chmod -R u+w "$tmp/src"

# 1. The extension points' module.
ext="$tmp/src/traefik/pkg/config/dynamic/ext"
mkdir -p "$ext"
printf 'module github.com/traefik/traefik/dynamic/ext\n\ngo 1.24.0\n' >"$ext/go.mod"
cat >"$ext/ext.go" <<'EOF'
// Package ext: extension points of Traefik's dynamic configuration; the open-source build has none.
package ext

type HTTP struct{}

type Router struct{}

type RouterIng struct{}

func (RouterIng) ToRouter() Router { return Router{} }
EOF

# 3. lego's DNS provider registry, from its own generated file: imports and cases of the kept
# providers only (each case is one line followed by its return).
registry="$tmp/src/lego/providers/dns/zz_gen_dns_providers.go"
awk -v keep="$LEGO_DNS_KEEP" '
  BEGIN { n = split(keep, k, " "); for (i = 1; i <= n; i++) K[k[i]] = 1 }
  /^\t"github.com\/go-acme\/lego\/v5\/providers\/dns\// {
    p = $0; sub(/.*\/dns\//, "", p); sub(/"$/, "", p); if (!(p in K)) next
  }
  /^\tcase "/ {
    c = $0; getline r; p = r; sub(/^\t\treturn /, "", p); sub(/\..*/, "", p)
    if (p in K) { print c; print r }
    next
  }
  { print }' "$registry" >"$registry.new"
mv "$registry.new" "$registry"
kept="$(grep -c '^	case "' "$registry")"
if [[ "$kept" != "$(wc -w <<<"$LEGO_DNS_KEEP")" ]]; then
  echo "gateway/build.sh: lego's provider registry changed shape (kept $kept providers)" >&2
  exit 1
fi

# 2. and 3. in Traefik's go.mod: its own replaces stay, two are added.
(
  cd "$tmp/src/traefik"
  go mod edit -replace "$LEGO=../lego" -replace "github.com/abbot/go-http-auth=$HTTP_AUTH_FORK"
  CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath \
    -ldflags "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_V" \
    -o "$tmp/bin/traefik" ./cmd/traefik
)
echo "  built traefik $TRAEFIK_V ($(( $(date +%s) - start ))s)" >&2
(cd tlsecho && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/bin/tlsecho" .)
echo "  built tlsecho ($(( $(date +%s) - start ))s)" >&2

# Gateway API CRDs, standard channel, of the release Traefik is built against.
cp "$gwapi_src"/config/crd/standard/*.yaml "$tmp/crds/"
chmod u+w "$tmp/crds"/*

# Images for the node: one static program each, non-root.
"$imgpack" -o "$tmp/images/traefik.tar" -ref "prenv.test/traefik:$TRAEFIK_V" \
  -file "/traefik=$tmp/bin/traefik:0755" -entrypoint /traefik -user 65532:65532
"$imgpack" -o "$tmp/images/tlsecho.tar" -ref prenv.test/tlsecho:v1 \
  -file "/tlsecho=$tmp/bin/tlsecho:0755" -entrypoint /tlsecho -user 65532:65532
cat >"$tmp/images.json" <<EOF
{"traefik": "prenv.test/traefik:$TRAEFIK_V", "tlsecho": "prenv.test/tlsecho:v1"}
EOF
cat >"$tmp/versions.json" <<EOF
{
  "traefik": "$TRAEFIK_V",
  "gateway-api": "$GATEWAY_API_V",
  "lego": "$LEGO_V",
  "go": "$(go env GOVERSION)"
}
EOF
rm -rf "$tmp/src"
touch "$tmp/complete"
mkdir -p "$cache_root"
# Another build of the same key may have finished first: keep whichever landed.
mv -T "$tmp" "$out" 2>/dev/null || rm -rf "$tmp"
trap - EXIT
echo "gateway data plane built in $(( $(date +%s) - start ))s" >&2
echo "$out"
