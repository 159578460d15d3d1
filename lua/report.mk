# SPDX-License-Identifier: MIT
# `modlab report`: the Lua that reads run and sweep directories, and the page's parts
# (script, style, the vendored Apache ECharts build), embedded into the binary as strings
# (embed.lua's text: modules) so that report.html is written with no files installed.
report_lua = lua/modlab/report/init.lua lua/modlab/report/files.lua \
	lua/modlab/report/run.lua lua/modlab/report/sweep.lua
report_assets = lua/report/report.js lua/report/prelude.js lua/report/report.css \
	lua/report/vendor/echarts.report.min.js
embedded_lua_files += $(report_lua) $(report_assets)
embedded_lua_args += modlab.report=$(top_srcdir)/lua/modlab/report/init.lua \
	modlab.report.files=$(top_srcdir)/lua/modlab/report/files.lua \
	modlab.report.run=$(top_srcdir)/lua/modlab/report/run.lua \
	modlab.report.sweep=$(top_srcdir)/lua/modlab/report/sweep.lua \
	text:modlab.report_js=$(top_srcdir)/lua/report/report.js \
	text:modlab.report_prelude=$(top_srcdir)/lua/report/prelude.js \
	text:modlab.report_css=$(top_srcdir)/lua/report/report.css \
	text:modlab.report_echarts=$(top_srcdir)/lua/report/vendor/echarts.report.min.js
modlab_reportluadir = $(luadir)/modlab/report
dist_modlab_reportlua_DATA = $(report_lua)
EXTRA_DIST += $(report_assets) lua/report/vendor/LICENSE lua/report/vendor/NOTICE \
	lua/report/vendor/README lua/report/vendor/build-echarts.sh \
	lua/report/vendor/echarts-entry.js lua/report/vendor/LICENSE.zrender \
	lua/report/vendor/LICENSE.tslib

# Tests: the command and its errors (no browser), then the pages in headless Chromium.
TESTS += tests/e2e/report.sh tests/e2e/report_browser.sh tests/lua/test_report_readers.lua
EXTRA_DIST += tests/e2e/report.sh tests/e2e/report_browser.sh tests/e2e/report_chromium.sh \
	tests/lua/test_report_readers.lua \
	tests/fixtures/report/README tests/fixtures/report/diag_run/config.json tests/fixtures/report/diag_run/meta.json \
	tests/fixtures/report/diag_run/metrics.jsonl tests/fixtures/report/diag_run/timing.jsonl \
	tests/fixtures/report/diag_run/summary.json tests/fixtures/report/diag_run/adjacency.pgm \
	tests/fixtures/report/diag_run/gates.pgm tests/fixtures/report/diag_run/images/ramp16.pgm
