# SPDX-License-Identifier: MIT
# The plugin SDK end to end, as a third party meets it: install modlab to a temporary root,
# `modlab plugin new` a layer, an optimizer, a dataset, a router and a transform, build each with only
# pkg-config (warnings are errors), pass `modlab plugin check` and the project's own test,
# install the layer and train with it from a recipe. Also: `plugin check` exits 1 on the
# broken fixtures, and bad usage exits 2.
. "$top_srcdir/tests/support/tap.sh"
command -v pkg-config >/dev/null || skip_all "pkg-config not installed"
command -v make >/dev/null || skip_all "make not installed"
make_tmpdir
dest="$t/dest"
make -s -C "$top_builddir" install DESTDIR="$dest" > "$t/install.log" 2>&1
ok $? "make install DESTDIR=... works"
pc=$(find "$dest" -name modlab.pc | head -1)
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$dest"
prefix=$(pkg-config --variable=prefix modlab)
plugindir=$(pkg-config --variable=plugindir modlab)
bin="$prefix/bin/modlab"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export MODLAB_PLUGIN_PATH="$plugindir" MODLAB_RUNS="$t/runs"
ok $([ -x "$bin" ] && [ -f "$prefix/include/modlab/sdk.h" ]; echo $?) \
    "the installed tree has modlab and the SDK header"
docs=$(find "$dest" -name PLUGINS.md | head -1)
ok $([ -n "$docs" ]; echo $?) "the plugin author's guide is installed (${docs#$dest})"
man=$(find "$dest" -name modlab-plugin.1 | head -1)
ok $([ -n "$man" ]; echo $?) "the modlab-plugin(1) man page is installed (${man#$dest})"

cd "$t" || exit 1
for kind in layer optimizer dataset router; do
    name="my_$kind"
    out=$("$bin" plugin new "$name" --kind "$kind" 2>&1)
    ok $? "plugin new $name --kind $kind"
    like "$out" "make check" "it says what to do next"
    ok $([ -f "$name/$name.c" ] && [ -f "$name/Makefile" ] && [ -f "$name/test_$name.lua" ] \
         && [ -f "$name/recipe.lua" ]; echo $?) \
        "$name: one C file, a Makefile, a test, a recipe"
    make -s -C "$name" CFLAGS="-O2 -Werror" > "$t/$name-build.log" 2>&1
    ok $? "$name builds with only pkg-config (-Wall -Wextra -Werror)"
    [ -f "$name/$name.so" ] || sed 's/^/#   /' "$t/$name-build.log"
    out=$(make -s -C "$name" check MODLAB="$bin" 2>&1); rc=$?
    ok $rc "$name: make check (plugin check + its own test) passes against the installed modlab"
    [ $rc -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /' | tail -20
    like "$out" "$name.so: [0-9]* passed, 0 failed" "$name: plugin check passes"
    out=$(cd "$name" && "$bin" --plugin-path "./$name.so" run recipe.lua --set epochs=2 2>&1)
    ok $? "$name: its recipe runs"
    like "$out" "test accuracy" "$name: and reports an accuracy"
done
# A transform: built and checked like the others; its test and recipe train through
# ml.train{augment}, which the test skips (and the recipe is not run) until modlab has it.
out=$("$bin" plugin new my_transform --kind transform 2>&1)
ok $? "plugin new my_transform --kind transform"
make -s -C my_transform CFLAGS="-O2 -Werror" > "$t/my_transform-build.log" 2>&1
ok $? "my_transform builds with only pkg-config (-Wall -Wextra -Werror)"
out=$(make -s -C my_transform check MODLAB="$bin" 2>&1); rc=$?
ok $rc "my_transform: make check passes against the installed modlab"
[ $rc -eq 0 ] || printf '%s\n' "$out" | sed 's/^/#   /' | tail -20
like "$out" "my_transform.so: [0-9]* passed, 0 failed" "my_transform: plugin check passes"
like "$out" "transform/my_transform *apply" "and applies it on guarded buffers"
if ! printf '%s\n' "$out" | grep -q "SKIP this modlab has no ml.transform"; then
    out=$(cd my_transform && "$bin" --plugin-path ./my_transform.so run recipe.lua \
          --set epochs=2 2>&1)
    ok $? "my_transform: its recipe runs"
    like "$out" "test accuracy" "my_transform: and reports an accuracy"
fi
out=$("$bin" plugin check my_layer/my_layer.so --no-fork 2>&1)
ok $? "plugin check --no-fork passes too"
if command -v nm >/dev/null; then
    syms=$(nm -D --defined-only my_layer/my_layer.so | awk '$2 == "T" { print $3 }' |
           tr '\n' ' ')
    is "$syms" "ml_plugin_my_layer_init " "the generated plugin exports only its entry point"
fi
out=$("$bin" plugin check my_layer/my_layer.so --with "$plugindir/nn.so" 2>&1)
ok $? "plugin check --with DEPS passes"
ok $(printf '%s\n' "$out" | grep -q 'layer/linear'; [ $? -ne 0 ]; echo $?) \
    "and checks only the plugin's own entries"

# Install the layer where modlab looks, and use it from a recipe without --plugin-path.
make -s -C my_layer install PLUGINDIR="$t/installed-plugins" > /dev/null 2>&1
ok $([ -f "$t/installed-plugins/my_layer.so" ]; echo $?) "make install PLUGINDIR=... copies it"
cat > use.lua <<'L'
local ml = require "modlab"
local run = ml.train {
  model = ml.sequential { ml.layer("linear", { out = 16 }),
                          ml.layer("my_layer", { bias = false }),
                          ml.layer("relu"), ml.layer("linear", { out = 2 }) },
  data = assert(ml.dataset("synthetic", { kind = "blobs", size = 400 })),
  optimizer = ml.optimizer("my_optimizer", { lr = 0.05 }), epochs = 3, batch = 20, quiet = true,
}
print(("test accuracy %.4f"):format(run.summary.test_accuracy))
L
cp my_optimizer/my_optimizer.so "$t/installed-plugins/"
out=$(MODLAB_PLUGIN_PATH="$t/installed-plugins:$plugindir" "$bin" run use.lua 2>&1)
ok $? "a recipe trains with the generated layer and optimizer"
acc=$(printf "%s\n" "$out" | sed -n "s/^test accuracy //p")
ok $(awk -v a="$acc" 'BEGIN { exit !(a > 0.9) }'; echo $?) \
    "and learns: test accuracy $acc > 0.9"
out=$(MODLAB_PLUGIN_PATH="$t/installed-plugins:$plugindir" "$bin" plugins 2>&1)
like "$out" "layer *my_layer *0.1.0 *1\.[0-9][0-9]*" "modlab plugins lists it"

# `make install prefix=DIR` (no DESTDIR): modlab.pc is written at install time, so it points
# at DIR, and a plugin project builds against it with nothing else set.
make -s -C "$top_builddir" install prefix="$t/pfx" > "$t/install-prefix.log" 2>&1
ok $? "make install prefix=DIR works"
pfxpc="$t/pfx/lib/pkgconfig"
is "$(PKG_CONFIG_PATH=$pfxpc PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=prefix modlab)" "$t/pfx" \
    "its modlab.pc says prefix=DIR"
is "$(PKG_CONFIG_PATH=$pfxpc PKG_CONFIG_SYSROOT_DIR= pkg-config --variable=plugindir modlab)" \
    "$t/pfx/lib/modlab/plugins" "and plugindir under DIR"
rm -f my_layer/my_layer.so
PKG_CONFIG_PATH=$pfxpc PKG_CONFIG_SYSROOT_DIR= make -s -C my_layer CFLAGS="-O2 -Werror" \
    > "$t/pfx-build.log" 2>&1
ok $([ -f my_layer/my_layer.so ]; echo $?) "a plugin project builds against the prefix=DIR install"

# Broken fixtures through the command line: exit 1, the failing check named.
fx="$top_builddir/tests/abi/.libs"
out=$("$bin" plugin check "$fx/fx_badgrad.so" 2>&1); rc=$?
is "$rc" 1 "plugin check exits 1 on a wrong gradient"
like "$out" "FAIL layer/fx_badgrad *gradient" "and names the gradient check"
out=$("$bin" plugin check "$fx/fx_leak.so" 2>&1); rc=$?
is "$rc" 1 "plugin check exits 1 on a leak"
like "$out" "FAIL layer/fx_leak *leaks *1 block (100 bytes) still allocated" \
    "and names the leak"
out=$("$bin" plugin check "$fx/fx_crash.so" 2>&1); rc=$?
is "$rc" 1 "a crashing plugin is a failed check, not a crashed checker"
like "$out" "crashed with SIGSEGV .* in forward\|sanitizer" "and says so, naming the call"
out=$("$bin" plugin check "$fx/fx_tfcrash.so" 2>&1); rc=$?
is "$rc" 1 "a transform that crashes in apply fails the check"
like "$out" "FAIL transform/fx_tfcrash *apply *crashed with SIGSEGV .* in apply\|sanitizer" \
    "naming the check and the call"
out=$("$bin" plugin check "$fx/fx_tfover.so" 2>&1); rc=$?
is "$rc" 1 "a transform that writes past its example fails the check"
like "$out" "FAIL transform/fx_tfover *apply .*wrote past the end of its example" "saying so"

# The router plugs into a multipath block by name.
out=$(MODLAB_PLUGIN_PATH="$t/my_router/my_router.so:$plugindir" "$bin" plugins 2>&1)
like "$out" "layer *mp_route_my_router " "the router registers as mp_route_my_router"

# Usage errors, existing directories.
out=$("$bin" plugin new Bad-Name --kind layer 2>&1); is "$?" 2 "a bad NAME is a usage error"
out=$("$bin" plugin new x --kind widget 2>&1); is "$?" 2 "an unknown kind is a usage error"
out=$("$bin" plugin new my_layer --kind layer 2>&1); rc=$?
is "$rc" 1 "plugin new refuses to overwrite a project"
out=$("$bin" plugin check 2>&1); is "$?" 2 "plugin check without a file is a usage error"
out=$("$bin" plugin check "$t/nothing.so" 2>&1)
is "$?" 1 "plugin check on a missing file fails"
done_testing
