# SPDX-License-Identifier: MIT
# `modlab report` without a browser: what it writes, what it refuses and how it says so.
# Damaged input (a torn metrics.jsonl line, a bad PGM) is skipped with a warning naming the
# file and line, on stderr and in the page; a directory modlab did not write exits 2.
# tests/e2e/report_browser.sh opens the pages in Chromium.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
cd "$t" || exit 1

out=$("$MODLAB" report 2>&1); is $? 2 "report without a directory exits 2"
like "$out" "^modlab report: which DIR?" "and says what it wants"
mkdir empty
out=$("$MODLAB" report empty 2>&1); is $? 2 "a directory that is neither run nor sweep exits 2"
like "$out" "empty is neither a run directory .* nor a sweep directory" "and says so"
out=$("$MODLAB" report nosuch 2>&1); is $? 2 "a missing directory exits 2"
like "$out" "nosuch does not exist" "and says so"
out=$("$MODLAB" report --frob 2>&1); is $? 2 "an unknown option exits 2"

# A run, with the report written at its end.
out=$("$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --set epochs=2 --out runs --report 2>&1)
ok $? "run --report exits 0"
run=$(ls -d runs/synthetic-*)
ok $([ -s "$run/report.html" ]; echo $?) "run --report writes report.html"
like "$out" "report: .*/report.html" "and names it"
page=$(cat "$run/report.html")
like "$page" "Content-Security-Policy\" content=\"default-src 'none'" "fetching is forbidden"
# No reference to anything outside the page: no src/href/url() to a URL, no import.
pattern="(src|href) *= *[\"']?[a-z]+:|url\( *[\"']?[a-z]+:|@import"
refs=$(grep -Eoi "$pattern" "$run/report.html" | grep -vi "data:" | head -3)
is "$refs" "" "the page references no external URL"
like "$page" '"kind":"run"' "the page carries the run's data"
like "$page" '"test_accuracy"' "including its metrics"
like "$page" "Apache ECharts\|echarts" "and the charting library inline"

# A recipe that fails after training still gets its report, and still exits 1.
cat > fails.lua <<'L'
local ml = require "modlab"
local data = assert(ml.dataset("synthetic", { kind = "spirals", size = 200 }))
ml.train { model = ml.sequential { ml.layer("linear", { out = 2 }) }, data = data,
  loss = "cross_entropy", optimizer = ml.optimizer("sgd", { lr = 0.1 }), epochs = 1,
  batch = 32 }
error("after training")
L
out=$("$MODLAB" run fails.lua --out failed --report 2>&1); is $? 1 "a failing recipe exits 1"
like "$out" "fails.lua:6: after training" "with the recipe's own error"
ok $([ -s "$(ls -d failed/fails-*)/report.html" ]; echo $?) "and its run still gets a report"

# Damaged input: a torn metrics line and a truncated image are skipped with warnings.
printf '{"epoch":3,"train_loss":0.1' >> "$run/metrics.jsonl"
printf 'P5\n28 28\n255\nabc' > "$run/broken.pgm"
out=$("$MODLAB" report "$run" 2>&1); ok $? "a torn metrics line does not stop the report"
like "$out" "warning: .*metrics.jsonl:3: unreadable line skipped" "it is named, file and line"
like "$out" "warning: .*broken.pgm: truncated raster" "so is a truncated PGM"
like "$(cat "$run/report.html")" "metrics.jsonl:3: unreadable line skipped" \
     "and the page shows the warnings"

# A sweep: --report after the sweep; a sweep with no results.csv yet is refused clearly.
cat > s.yaml <<Y
name: rep
program: $top_srcdir/recipes/synthetic.lua
method: grid
metric: {name: valid_accuracy, goal: maximize}
parameters: {lr: {values: [0.05, 0.1]}, epochs: {value: 2}}
Y
out=$("$MODLAB" sweep s.yaml --out sw --report 2>&1); ok $? "sweep --report exits 0"
ok $([ -s sw/report.html ]; echo $?) "sweep --report writes report.html"
like "$(cat sw/report.html)" '"kind":"sweep"' "with the sweep's data"
like "$(cat sw/report.html)" '"header":\["rank","index","trial"' "and its results table"
"$MODLAB" sweep plan s.yaml --out planned > /dev/null 2>&1
out=$("$MODLAB" report planned 2>&1); is $? 1 "a sweep with no results yet exits 1"
like "$out" "no results.csv yet: run .modlab sweep planned --resume" "and says what to do"
out=$("$MODLAB" sweep s.yaml --out sw --dry-run --report 2>&1); ok $? "--dry-run --report"
done_testing
