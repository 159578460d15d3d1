#!/bin/sh
# SPDX-License-Identifier: MIT
# Rebuild echarts.report.min.js, the Apache ECharts build that `modlab report` inlines into
# report.html. The file is checked in (a fresh clone builds with no network); this script
# shows how it was made and remakes it: it installs the pinned npm packages into a temporary
# directory, bundles echarts-entry.js (only the charts and components report.js uses:
# 583 kB instead of the full 1 MB dist/echarts.min.js, so the page opens faster) with
# esbuild, checks the result against the pinned sha256 (the build is deterministic) and
# copies it and the licences here. To move to other versions, change the pins, run it with
# --accept (it then prints the new sum to pin) and review the diff.
set -eu
echarts=5.6.0      # pulls zrender 5.6.1 and tslib 2.3.0, pinned exactly by echarts itself
esbuild=0.25.0
sha256=df703beeeca42fb6fb2be610fc2f8fc04d4dcb53f07d1a15d9ff40761f94bee5
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/rp_echarts.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm install --silent --no-save --no-audit --no-fund "echarts@$echarts" "esbuild@$esbuild" \
    > /dev/null 2>&1
cp "$here/echarts-entry.js" entry.js
node_modules/.bin/esbuild entry.js --bundle --minify --format=iife --target=es2017 \
    --legal-comments=inline --log-level=warning --outfile=echarts.report.min.js
got=$(sha256sum echarts.report.min.js | cut -d' ' -f1)
if [ "$got" != "$sha256" ] && [ "${1:-}" != "--accept" ]; then
    echo "build-echarts.sh: sha256 $got, pinned $sha256 (run with --accept to take it)" >&2
    exit 1
fi
cp echarts.report.min.js "$here/"
cp node_modules/echarts/LICENSE "$here/LICENSE"
cp node_modules/echarts/NOTICE "$here/NOTICE"
cp node_modules/zrender/LICENSE "$here/LICENSE.zrender"
cp node_modules/tslib/LICENSE.txt "$here/LICENSE.tslib"
echo "built echarts.report.min.js ($got) into $here"
