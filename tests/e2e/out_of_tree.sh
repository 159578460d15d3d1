# SPDX-License-Identifier: MIT
# A third party's plugin: install modlab to a temporary root, build a plugin outside the
# tree with nothing but `pkg-config --cflags modlab`, load it through MODLAB_PLUGIN_PATH
# with the installed modlab, and train with it from a recipe.
. "$top_srcdir/tests/support/tap.sh"
command -v pkg-config >/dev/null || skip_all "pkg-config not installed"
make_tmpdir
dest="$t/dest"
make -s -C "$top_builddir" install DESTDIR="$dest" > "$t/install.log" 2>&1
ok $? "make install DESTDIR=... works"
pc=$(find "$dest" -name modlab.pc | head -1)
ok $([ -n "$pc" ]; echo $?) "modlab.pc installed"
export PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$dest"
cflags=$(pkg-config --cflags modlab); ok $? "pkg-config --cflags modlab: $cflags"
plugindir=$(pkg-config --variable=plugindir modlab)
ok $([ -f "$plugindir/nn.so" ]; echo $?) "plugindir variable points at the installed plugins"
prefix=$(pkg-config --variable=prefix modlab)

mkdir -p "$t/src" "$t/plugins"
cat > "$t/src/halve.c" <<'C'
/* A layer from outside the tree: y = x / 2, the simplest differentiable thing. */
#include <modlab/plugin.h>
static int create(const ml_host *h, ml_ctx *c, const ml_opts *o, const ml_shape *in,
                  void **self, ml_err *err) { *self = (void *)h; return ML_OK; }
static void destroy(void *self) { (void)self; }
static int infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{ *out = *in; return ML_OK; }
static int forward(void *self, ml_ctx *c, const ml_view *in, ml_view *out, void *ws, ml_err *err)
{
    for (int64_t i = 0; i < in->batch * ml_shape_numel(&in->shape); i++)
        out->data[i] = 0.5f * in->data[i];
    return ML_OK;
}
static int backward(void *self, ml_ctx *c, const ml_view *in, const ml_view *out,
                    const ml_view *gout, ml_view *gin, void *ws, ml_err *err)
{
    for (int64_t i = 0; i < in->batch * ml_shape_numel(&in->shape); i++)
        gin->data[i] = 0.5f * gout->data[i];
    return ML_OK;
}
static const ml_layer_vtable vt = { ML_ABI_INIT(ml_layer_vtable), .create = create,
    .destroy = destroy, .infer_shape = infer, .forward = forward, .backward_input = backward };
static const ml_entry entry = { ML_ABI_INIT(ml_entry), .kind = ML_KIND_LAYER,
    .name = "halve", .version = "0.1.0", .summary = "y = x / 2 (third-party test plugin)",
    .vtable = &vt };
ML_PLUGIN_EXPORT int ml_plugin_halve_init(const ml_host *h, ml_registry *r, ml_err *e);
int ml_plugin_halve_init(const ml_host *h, ml_registry *r, ml_err *e)
{ return h->register_entry(r, &entry, e); }
C
${CC:-cc} -std=c11 -Wall -Werror -fPIC -shared -fvisibility=hidden $cflags \
    -o "$t/plugins/halve.so" "$t/src/halve.c"
ok $? "the plugin builds with only pkg-config's flags"

# pkg-config already prefixes the sysroot to prefix and plugindir.
bin="$prefix/bin/modlab"
export LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export MODLAB_PLUGIN_PATH="$t/plugins:$plugindir"
out=$("$bin" plugins 2>&1); ok $? "installed modlab lists plugins"
like "$out" "layer *halve *0.1.0 *1\.[0-9][0-9]* *$t/plugins/halve.so" "the third-party layer is loaded"
cat > "$t/use_halve.lua" <<'L'
local ml = require "modlab"
local run = ml.train {
  model = ml.sequential { ml.layer("linear", { out = 32 }), ml.layer("halve"),
                          ml.layer("relu"), ml.layer("linear", { out = 2 }) },
  data = assert(ml.dataset("synthetic", { kind = "blobs", size = 400 })),
  optimizer = ml.optimizer("sgd", { lr = 0.1 }), epochs = 3, batch = 20, quiet = true,
}
print(("test accuracy %.4f"):format(run.summary.test_accuracy))
L
out=$(cd "$t" && "$bin" run use_halve.lua --out "$t/runs" 2>&1); ok $? "a recipe trains with it"
acc=$(printf "%s\n" "$out" | sed -n "s/^test accuracy //p")
ok $(awk -v a="$acc" "BEGIN { exit !(a > 0.9) }"; echo $?) "and it learns: test accuracy $acc > 0.9 (blobs are easy)"
like "$(cat "$t"/runs/use_halve-*/meta.json)" '"name":"halve"' "meta.json records the plugin"
done_testing
