# SPDX-License-Identifier: MIT
# The plugin search-path policy (core/runtime/loader.c, PLUGINS.md "Where plugins are loaded from"):
# empty entries are ignored with a warning, relative ones are refused from MODLAB_PLUGIN_PATH
# and resolved from --plugin-path, the current directory is never searched by itself, and a
# directory or .so that someone else could write is refused with a warning naming it and
# MODLAB_ALLOW_INSECURE_PLUGINS=1, which loads it anyway.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
unset MODLAB_ALLOW_INSECURE_PLUGINS
fx="$top_builddir/tests/abi/.libs"
mkdir "$t/good" "$t/ww" "$t/open" && cp "$fx/fx_good.so" "$t/good/" && \
    cp "$fx/fx_good.so" "$t/ww/" && cp "$fx/fx_good.so" "$t/open/"
chmod 755 "$t/good" "$t/open" && chmod 644 "$t/good/fx_good.so" "$t/open/fx_good.so"
chmod 777 "$t/ww"   # world-writable, no sticky bit
listed() { printf '%s\n' "$1" | grep -q "^layer *fx_good .*$2"; }
run() { "$MODLAB" "$@" plugins 2>&1; }   # MODLAB_PLUGIN_PATH as set by the caller

out=$(MODLAB_PLUGIN_PATH="$t/good" run)
listed "$out" "$t/good/fx_good.so"; ok $? "a private directory on MODLAB_PLUGIN_PATH loads"

out=$(MODLAB_PLUGIN_PATH="$t/good::" run)
like "$out" "MODLAB_PLUGIN_PATH has an empty entry .*ignored: an empty entry never means the \
current directory" "an empty MODLAB_PLUGIN_PATH entry is ignored with a warning"
listed "$out"; ok $? "and the other entries still load"
out=$(cd "$t/good" && MODLAB_PLUGIN_PATH=":" run)
like "$out" "MODLAB_PLUGIN_PATH has an empty entry" "MODLAB_PLUGIN_PATH=: warns"
listed "$out"
ok $((! $?)) "and does not load the .so in the current directory"
out=$(cd "$t/good" && run --plugin-path ":")
like "$out" "^modlab: warning: --plugin-path has an empty entry" "--plugin-path : warns too"
listed "$out"; ok $((! $?)) "and does not load from the current directory either"
out=$(cd "$t/good" && unset MODLAB_PLUGIN_PATH && run)
listed "$out"; ok $((! $?)) "with no path at all, the current directory is not searched"

out=$(cd "$t" && MODLAB_PLUGIN_PATH="good" run)
like "$out" "MODLAB_PLUGIN_PATH entry 'good' is relative; ignored .*with --plugin-path" \
    "a relative MODLAB_PLUGIN_PATH entry is refused with a warning"
listed "$out"; ok $((! $?)) "and not loaded"
out=$(cd "$t" && run --plugin-path good)
listed "$out" "$t/good/fx_good.so"
ok $? "a relative --plugin-path entry is resolved against the current directory"
out=$(cd "$t/good" && run --plugin-path ./fx_good.so)
listed "$out" "$t/good/./fx_good.so"; ok $? "so is a relative .so (the plugin SDK's make check)"

out=$(MODLAB_PLUGIN_PATH="$t/ww" run)
like "$out" "$t/ww: refusing to load plugins from this directory: it is world-writable.*\
MODLAB_ALLOW_INSECURE_PLUGINS=1" "a world-writable directory is refused, naming the override"
listed "$out"; ok $((! $?)) "and nothing in it is loaded"
out=$(run --plugin-path "$t/ww")
like "$out" "$t/ww: refusing" "also when given with --plugin-path"
out=$(MODLAB_ALLOW_INSECURE_PLUGINS=1 MODLAB_PLUGIN_PATH="$t/ww" run)
listed "$out" "$t/ww/fx_good.so"; ok $? "MODLAB_ALLOW_INSECURE_PLUGINS=1 loads it anyway"
out=$(MODLAB_PLUGIN_PATH="$t/ww/fx_good.so" run)
like "$out" "$t/ww/fx_good.so: refusing to load this plugin: its directory $t/ww is \
world-writable without the sticky bit" "a .so in a world-writable directory is refused"
out=$(MODLAB_PLUGIN_PATH="/tmp" run)
like "$out" "/tmp: refusing to load plugins from this directory: it is world-writable (sti" \
    "/tmp itself is refused as a scanned plugin directory"

# Symlinks are judged by what they resolve to (issue 18: a link in a private directory to
# a .so in a world-writable one used to load). The target's directory must pass the rule a
# scanned plugin directory passes, and no directory above it may be world-writable
# without the sticky bit; the warning names the link and its target.
mkdir "$t/links" "$t/sticky" "$t/ww/sub" "$t/linkfile" && chmod 755 "$t/links" "$t/linkfile"
cp "$fx/fx_good.so" "$t/sticky/" && chmod 1777 "$t/sticky"
cp "$fx/fx_good.so" "$t/ww/sub/" && chmod 755 "$t/ww/sub"
ln -s "$t/ww/fx_good.so" "$t/links/fx_good.so"
out=$(MODLAB_PLUGIN_PATH="$t/links" run)
like "$out" "$t/links/fx_good.so: refusing to load this plugin: it resolves to \
$t/ww/fx_good.so, whose directory $t/ww is world-writable" \
    "a link to a .so in a world-writable directory is refused, naming link and target"
listed "$out"; ok $((! $?)) "and not loaded"
out=$(MODLAB_PLUGIN_PATH="$t/links/fx_good.so" run)
like "$out" "$t/links/fx_good.so: refusing to load this plugin: it resolves to $t/ww/" \
    "also when the link is named on the path itself"
listed "$out"; ok $((! $?)) "which is not loaded either"
ln -sf "$t/sticky/fx_good.so" "$t/links/fx_good.so"
out=$(MODLAB_PLUGIN_PATH="$t/links" run)
like "$out" "it resolves to $t/sticky/fx_good.so, whose directory $t/sticky is \
world-writable (sticky" "a link into a sticky world-writable directory (like /tmp) is refused"
ln -sf "$t/ww/sub/fx_good.so" "$t/links/fx_good.so"
out=$(MODLAB_PLUGIN_PATH="$t/links" run)
like "$out" "it resolves to $t/ww/sub/fx_good.so, and $t/ww above it is world-writable \
without the sticky bit" "a link below a world-writable directory is refused"
listed "$out"; ok $((! $?)) "and not loaded"
ln -s "$t/links" "$t/linkfile/dir"
out=$(MODLAB_PLUGIN_PATH="$t/linkfile/dir" run)
like "$out" "$t/linkfile/dir/fx_good.so: refusing to load this plugin: it resolves to \
$t/ww/sub/fx_good.so" "a linked plugin directory is judged by where its files resolve to"
out=$(MODLAB_ALLOW_INSECURE_PLUGINS=1 MODLAB_PLUGIN_PATH="$t/links" run)
listed "$out" "$t/links/fx_good.so"; ok $? "MODLAB_ALLOW_INSECURE_PLUGINS=1 loads it anyway"
ln -sf "$t/good/fx_good.so" "$t/links/fx_good.so"
out=$(MODLAB_PLUGIN_PATH="$t/links" run)
listed "$out" "$t/links/fx_good.so"; ok $? "a link to a .so in a private directory loads"
printf '%s' "$out" | grep -q "warning"; ok $((! $?)) "without a warning"
ln -s "$t/links/fx_good.so" "$t/linkfile/fx_good.so"
out=$(MODLAB_PLUGIN_PATH="$t/linkfile" run)
listed "$out" "$t/linkfile/fx_good.so"; ok $? "so does a chain of links ending there"

chmod 666 "$t/open/fx_good.so"
out=$(MODLAB_PLUGIN_PATH="$t/open" run)
like "$out" "$t/open/fx_good.so: refusing to load this plugin: it is world-writable" \
    "a world-writable .so in a private directory is refused"
listed "$out"; ok $((! $?)) "and not loaded"
chmod 644 "$t/open/fx_good.so"
if [ "$(id -u)" -eq 0 ]; then
    chown 54321 "$t/open/fx_good.so"
    out=$(MODLAB_PLUGIN_PATH="$t/open" run)
    like "$out" "$t/open/fx_good.so: refusing .*owned by another user (uid 54321)" \
        "a .so owned by another (non-root) user is refused"
    chown 0:54321 "$t/open/fx_good.so" && chmod 664 "$t/open/fx_good.so"
    out=$(MODLAB_PLUGIN_PATH="$t/open" run)
    like "$out" "$t/open/fx_good.so: refusing .*writable by group 54321, which you are not in" \
        "a .so writable by a group the user is not in is refused"
    chown 0:0 "$t/open/fx_good.so"
    out=$(MODLAB_PLUGIN_PATH="$t/open" run)
    listed "$out" "$t/open/fx_good.so"; ok $? "group-writable by the user's own group loads"
else
    ok 0 "# SKIP chown needs root"
fi
done_testing
