#!/usr/bin/env bash
# Rebuilds assets/map/world.vgm from the npm packages world-atlas (Natural
# Earth) and us-atlas (US Census), both public-domain data. Needs node and
# npm; the result is committed, so building vigie needs neither.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm pack --silent world-atlas@2.0.2 us-atlas@3.0.1 >/dev/null
for pkg in world-atlas us-atlas; do
  mkdir "$pkg"
  tar xzf "$pkg"-*.tgz -C "$pkg" --strip-components=1
done
node "$here/convert.mjs" "$tmp/world-atlas" "$tmp/us-atlas" "$repo/assets/map/world.vgm"
