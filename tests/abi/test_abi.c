/* SPDX-License-Identifier: MIT */
/* The loader against hostile and old plugins: another major, a newer minor, an older
 * shorter struct (accepted), a duplicate name, a missing entry symbol and a non-ELF file.
 * Each gets a one-line message naming the file; nothing crashes; the others still load. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tap.h"
#include "tap_fs.h"
#include <modlab/modlab.h>

static const char *warning_for(ml_registry *reg, const char *file)
{
    for (int32_t i = 0; i < ml_registry_nwarnings(reg); i++)
        if (strstr(ml_registry_warning(reg, i), file))
            return ml_registry_warning(reg, i);
    return NULL;
}

static void link_into(const char *dir, const char *target, const char *name)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%.1024s/%.1024s", dir, name);
    if (symlink(target, path) != 0)
        tap_diag("symlink %s -> %s failed", path, target);
}

int main(void)
{
    const char *top = getenv("top_builddir");
    char dir[] = "/tmp/modlab-abi-XXXXXX", src[PATH_MAX + 64], path[PATH_MAX + 64];
    static const char *fixtures[] = {"fx_major", "fx_minor", "fx_old", "zz_dup", "fx_nosym"};
    ml_err err;
    if (!top || !mkdtemp(dir)) {
        ok(0, "setup (top_builddir set, temp dir)");
        return done_testing();
    }
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
        snprintf(src, sizeof src, "%.*s/tests/abi/.libs/%s.so", 1024, top, fixtures[i]);
        snprintf(path, sizeof path, "%s.so", fixtures[i]);
        link_into(dir, src, path);
    }
    snprintf(src, sizeof src, "%.*s/build-plugins/nn.so", 1024, top);
    link_into(dir, src, "nn.so");
    snprintf(path, sizeof path, "%s/notes.so", dir);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs("this is not a plugin\n", f);
        fclose(f);
    }
    unsetenv("MODLAB_PLUGIN_PATH");

    ml_registry *reg = ml_registry_new(&err);
    ok(ml_registry_load_default(reg, dir, &err) == 0, "loading a hostile directory returns");
    for (int32_t i = 0; i < ml_registry_nwarnings(reg); i++)
        tap_diag("warning: %s", ml_registry_warning(reg, i));

    char want[128];
    const char *w = warning_for(reg, "fx_major.so");
    snprintf(want, sizeof want, "built for modlab ABI %d.%d but this modlab has ABI %d.%d",
             ML_ABI_MAJOR + 1, ML_ABI_MINOR, ML_ABI_MAJOR, ML_ABI_MINOR);
    like(w, want, "other major rejected");
    like(w, "rebuild the plugin", "major message says what to do");
    w = warning_for(reg, "fx_minor.so");
    snprintf(want, sizeof want, "needs modlab ABI %d.%d but this modlab has ABI %d.%d",
             ML_ABI_MAJOR, ML_ABI_MINOR + 1, ML_ABI_MAJOR, ML_ABI_MINOR);
    like(w, want, "newer minor rejected");
    like(w, "upgrade modlab", "minor message says what to do");
    ok(!warning_for(reg, "fx_old.so"), "older, shorter struct accepted");
    int32_t old = ml_registry_find(reg, ML_KIND_LAYER, "fx_identity_old");
    ok(old >= 0, "the old plugin's layer is registered");
    if (old >= 0)
        ok(ml_registry_entry(reg, old)->extension == NULL,
           "fields the old plugin did not have read as NULL");
    w = warning_for(reg, "zz_dup.so");
    like(w, "duplicate layer 'linear': already registered by", "duplicate name rejected");
    like(w, "nn.so", "duplicate message names the first provider");
    w = warning_for(reg, "fx_nosym.so");
    like(w, "no entry point ml_plugin_fx_nosym_init()", "missing entry symbol reported");
    w = warning_for(reg, "notes.so");
    like(w, "not a plugin (not an ELF shared object)", "non-ELF file reported");
    for (int32_t i = 0; i < ml_registry_nwarnings(reg); i++)
        ok(strchr(ml_registry_warning(reg, i), '\n') == NULL, "warning %d is one line", i);
    ok(ml_registry_find(reg, ML_KIND_LAYER, "linear") >= 0 &&
       ml_registry_find(reg, ML_KIND_LOSS, "cross_entropy") >= 0,
       "the good plugin (nn.so) still loaded");

    /* The old plugin's layer works inside a model. */
    ml_model *m = ml_model_new(reg, 1, &err);
    ml_shape in = {1, {3}};
    float x[6] = {1, 2, 3, 4, 5, 6};
    ok(ml_model_add(m, "fx_identity_old", ml_opts_new(&err), &err) == 0 &&
       ml_model_build(m, &in, 2, &err) == 0, "old plugin's layer builds");
    const float *y = ml_model_forward(m, x, 2, &err);
    ok(y && y[5] == 6.0f, "and runs");
    ml_model_free(m);
    ml_registry_free(reg);

    ok(tap_rmtree(dir) == 0, "cleanup");
    return done_testing();
}
