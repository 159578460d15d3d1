# SPDX-License-Identifier: MIT
# Headless Chromium with the network off, for report.html checks (tests/e2e/report_browser.sh,
# bench/report_load.sh). Source it; it sets $chromium ("" when there is none: callers skip).
#   chromium_run PROFILE_DIR ARGS...     e.g. --dump-dom file:///..., --screenshot=F.png
# Network off: every host resolves to nothing and any proxied request goes to a closed port,
# on top of the page's own Content-Security-Policy (default-src 'none').
chromium=${MODLAB_CHROMIUM:-}
if [ -z "$chromium" ]; then
    for c in chromium chromium-browser google-chrome; do
        if command -v "$c" > /dev/null 2>&1; then chromium=$(command -v "$c"); break; fi
    done
fi
chromium_run() {
    _profile=$1; shift
    # --no-sandbox: tests run as root on CI machines, where the sandbox refuses to start.
    "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
        --no-default-browser-check --disable-extensions --disable-background-networking \
        --disable-sync --disable-dev-shm-usage \
        --user-data-dir="$_profile" --proxy-server=127.0.0.1:9 \
        --host-resolver-rules='MAP * ~NOTFOUND' "$@"
}
# The self-check block report.js writes (one "key value..." line each), from a DOM dump.
selfcheck_of() { sed -n '/<pre id="modlab-selfcheck"/,/<\/pre>/p' | sed 's/<[^>]*>//g'; }
