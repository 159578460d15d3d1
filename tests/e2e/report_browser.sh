# SPDX-License-Identifier: MIT
# report.html in a real browser: a real run, a real sweep and a hand-made run directory with
# layer diagnostics and PGM images (tests/fixtures/report/diag_run) are opened in headless Chromium
# with the network off. The page's self-check block (report.js) must list no errors, no
# fetched resource and every expected plot with its data points; a page with an injected
# error must fail the same check. Screenshots land in tests/out/report/ for people to look at.
. "$top_srcdir/tests/support/tap.sh"
. "$top_srcdir/tests/e2e/report_chromium.sh"
[ -n "$chromium" ] ||
    skip_all "no chromium (Debian: apt-get install chromium; ./bootstrap does)"
make_tmpdir
shots="$top_builddir/tests/out/report"
mkdir -p "$shots"

# check NAME DIR [HEIGHT]: open DIR/report.html, keep the self-check in $check, save NAME.png.
check() {
    chromium_run "$t/profile" --virtual-time-budget=5000 --dump-dom \
        "file://$2/report.html" 2> "$t/$1.stderr" | selfcheck_of > "$t/$1.check"
    check=$(cat "$t/$1.check")
    if [ -z "$check" ]; then   # the browser did not get as far as the page: say why
        echo "# chromium gave no self-check for $1; its stderr ends:"
        tail -5 "$t/$1.stderr" | sed 's/^/#   /'
    fi
    rm -f "$shots/$1.png"
    chromium_run "$t/profile" --virtual-time-budget=5000 --window-size=1400,${3:-2400} \
        --hide-scrollbars --screenshot="$shots/$1.png" "file://$2/report.html" \
        > /dev/null 2>&1
    ok $([ -s "$shots/$1.png" ]; echo $?) "$1: screenshot $shots/$1.png"
    like "$check" "^status ok" "$1: the page's self-check passes"
    like "$check" "^errors 0" "$1: no console or page errors"
    like "$check" "^resources 0" "$1: nothing fetched"
}
# has_plot ID_PART KIND MIN_POINTS DESCRIPTION: a drawn plot (canvas) with enough points.
has_plot() {
    line=$(printf '%s\n' "$check" | grep "^plot plot-[0-9]*-$1 $2 " | head -1)
    n=$(printf '%s' "$line" | awk '{ print $4 }')
    ok $([ -n "$line" ] && [ "${n:-0}" -ge "$3" ] && printf '%s' "$line" | grep -q canvas=1
         echo $?) "$4 ($2, ${n:-no} points)"
}

# A real run.
"$MODLAB" run "$top_srcdir/recipes/synthetic.lua" --set epochs=4 --out "$t/run" --report \
    > "$t/run.out" 2>&1
ok $? "modlab run --report"
run=$(ls -d "$t"/run/synthetic-*)
check run "$run"
has_plot loss-epoch line 12 "run: loss vs epoch, train/valid/test"
has_plot accuracy-epoch line 12 "run: accuracy vs epoch"
has_plot loss-wall line 12 "run: loss vs wall time"
has_plot accuracy-wall line 12 "run: accuracy vs wall time"

# A real sweep: three learning rates.
cat > "$t/sweep.yaml" <<Y
name: report-lr
program: $top_srcdir/recipes/synthetic.lua
method: grid
metric: {name: valid_accuracy, goal: maximize}
parameters:
  lr: {values: [0.03, 0.1, 0.3]}
  epochs: {value: 3}
modlab: {workers: 1}
Y
"$MODLAB" sweep "$t/sweep.yaml" --out "$t/sweep" --report > "$t/sweep.out" 2>&1
ok $? "modlab sweep --report"
check sweep "$t/sweep"
has_plot param-lr scatter 3 "sweep: metric vs lr"
has_plot parallel parallel 3 "sweep: parallel coordinates"
has_plot best-metric line 9 "sweep: curves of the best trials"
chromium_run "$t/profile" --virtual-time-budget=5000 --dump-dom \
    "file://$t/sweep/report.html" 2> /dev/null > "$t/sweep.dom"
is "$(grep -o '<table class="sortable" id="results">.*</table>' "$t/sweep.dom" |
      grep -o '<tr>' | wc -l)" 4 "sweep: results table has a header and 3 trial rows"

# Sorting: a script added to a copy of the page clicks the lr header twice and writes down
# which lr comes first each time.
cat > "$t/sort.js" <<'J'
<script>
const th = [...document.querySelectorAll('#results th')].find((e) => e.textContent === 'lr');
const k = [...th.parentNode.children].indexOf(th);
const first = () => document.querySelector('#results tbody tr').children[k].textContent;
th.click(); const up = first(); th.click(); const down = first();
document.body.appendChild(Object.assign(document.createElement('pre'),
  { id: 'sortcheck', textContent: 'sorted ' + up + ' then ' + down }));
</script>
J
sed "/<\/body>/{
r $t/sort.js
}" "$t/sweep/report.html" > "$t/sorted.html"
sorted=$(chromium_run "$t/profile" --virtual-time-budget=5000 --dump-dom \
    "file://$t/sorted.html" 2> /dev/null | grep -o 'sorted [0-9.]* then [0-9.]*')
is "$sorted" "sorted 0.03 then 0.3" "sweep: a click on a column sorts up, another down"

# Hand-made diagnostics and images (what the structure-learning layers will report).
cp -r "$top_srcdir/tests/fixtures/report/diag_run" "$t/diag"
chmod -R u+w "$t/diag"
"$MODLAB" report "$t/diag" > /dev/null 2>&1
ok $? "modlab report on the diagnostics fixture"
check diag "$t/diag" 3400
has_plot '1.graphsync.allocation' heatmap 40 "diag: 10x4 allocation matrix as a heat map"
has_plot '1.graphsync.cooccurrence' heatmap 40 "diag: 4x10 co-occurrence as a heat map"
has_plot '3.switcher.gate_map' heatmap 784 "diag: 28x28 gate map as a heat map"
has_plot '1.graphsync.module_sizes' bar 4 "diag: module sizes as bars"
has_plot '1.graphsync.balance_loss' line 9 "diag: a scalar as a line over epochs"
has_plot '1.graphsync.routing.effective_modules' line 9 "diag: a nested scalar too"
like "$check" "^image adjacency.pgm 16x16" "diag: P2 image drawn"
like "$check" "^image gates.pgm 28x28" "diag: P5 image drawn"
like "$check" "^image images/ramp16.pgm 64x8" "diag: 16-bit P5 image one folder down drawn"

# The check can fail: an error and an external image put into a copy of the page.
planted='<img src="http://example.invalid/x.png"><script>console.error("planted")</script>'
sed "s|<div id=\"app\"></div>|&$planted|" "$t/diag/report.html" > "$t/bad.html"
chromium_run "$t/profile" --virtual-time-budget=5000 --dump-dom "file://$t/bad.html" \
    2> /dev/null | selfcheck_of > "$t/bad.check"
bad=$(cat "$t/bad.check")
like "$bad" "^status fail" "a planted error fails the self-check"
like "$bad" "^error console.error: planted" "and is listed"
like "$bad" "^resource http://example.invalid/x.png" "and so is the external image"
done_testing
