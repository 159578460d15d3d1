#!/bin/sh
# SPDX-License-Identifier: MIT
# Re-fetch the vendored Apache ECharts build that `modlab report` inlines into report.html.
# The minified file is checked in (a fresh clone builds with no network); this script only
# shows where it came from and refreshes it: it downloads the npm tarball with `npm pack`,
# checks the pinned sha256 of the tarball and of dist/echarts.min.js, and copies the file
# with its LICENSE and NOTICE here. To move to another version, change the three pins below,
# run it, and review the diff.
set -eu
version=5.6.0
tgz_sha256=e1b82487dd7f8d9f0438eec1f1433051148e0095ac7a15d4db890afda45cf610
min_sha256=bf4a223524e40b77c304bec67e1222cf551f14880cf42c69dc046558e11c07b1
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/rp_echarts.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "echarts@$version" >/dev/null 2>&1
echo "$tgz_sha256  echarts-$version.tgz" | sha256sum -c -
tar xzf "echarts-$version.tgz"
echo "$min_sha256  package/dist/echarts.min.js" | sha256sum -c -
cp package/dist/echarts.min.js package/LICENSE package/NOTICE "$here/"
echo "vendored echarts $version into $here"
