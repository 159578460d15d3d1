/* SPDX-License-Identifier: MIT */
/* Plugin strings reach terminals (`modlab plugins`, `--describe`), checkpoints
 * ("kind/name@version") and meta.json, so the registry refuses the ones that are not
 * printable: an ANSI escape in a summary or a newline in a version used to be printed raw
 * (issue 18). Printable: ASCII 0x20..0x7e and well-formed UTF-8, without C1 controls, line
 * separators or bidirectional overrides; a version is a token of [A-Za-z0-9._+~-]. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "runtime/registry.h"
#include "tap.h"
#include <modlab/modlab.h>

static int l_create(const ml_host *h, ml_ctx *c, const ml_opts *o, const ml_shape *in,
                    void **self, ml_err *err)
{
    (void)h, (void)c, (void)o, (void)in, (void)err;
    *self = NULL;
    return ML_OK;
}
static void l_destroy(void *self) { (void)self; }
static int l_infer(void *self, const ml_shape *in, ml_shape *out, ml_err *err)
{
    (void)self, (void)err;
    *out = *in;
    return ML_OK;
}
static int l_forward(void *self, ml_ctx *c, const ml_view *in, ml_view *out, void *ws,
                     ml_err *err)
{
    (void)self, (void)c, (void)in, (void)out, (void)ws, (void)err;
    return ML_OK;
}

static const ml_layer_vtable vt = {
    ML_ABI_INIT(ml_layer_vtable), .create = l_create, .destroy = l_destroy,
    .infer_shape = l_infer, .forward = l_forward,
};

static int nth;

/* Register a layer with these strings; 0 or the error code (the message in *err). */
static int reg_with(ml_registry *r, const char *version, const char *summary,
                    const ml_opt_spec *opts, ml_err *err)
{
    static char names[64][32];
    ml_entry e = {ML_ABI_INIT(ml_entry), .kind = ML_KIND_LAYER, .version = version,
                  .summary = summary, .options = opts, .vtable = &vt};
    snprintf(names[nth % 64], sizeof names[0], "strings_%d", nth);
    e.name = names[nth++ % 64];
    return mli_registry_register(r, &e, err);
}

static void refused(ml_registry *r, const char *version, const char *summary,
                    const ml_opt_spec *opts, const char *want, const char *what)
{
    ml_err err;
    mli_err_clear(&err);
    int rc = reg_with(r, version, summary, opts, &err);
    char name[256];
    ok(rc != 0, "%s is refused", what);
    snprintf(name, sizeof name, "%s: the message names the field", what);
    like(err.msg, want, name);
    ok(!strpbrk(err.msg, "\n\r\033"), "%s: the message itself is printable", what);
}

static void accepted(ml_registry *r, const char *version, const char *summary,
                     const ml_opt_spec *opts, const char *what)
{
    ml_err err;
    mli_err_clear(&err);
    if (!ok(reg_with(r, version, summary, opts, &err) == 0, "%s is accepted", what))
        tap_diag("%s", err.msg);
}

static const char *warning_for(ml_registry *reg, const char *file)
{
    for (int32_t i = 0; i < ml_registry_nwarnings(reg); i++)
        if (strstr(ml_registry_warning(reg, i), file))
            return ml_registry_warning(reg, i);
    return NULL;
}

int main(void)
{
    const char *top = getenv("top_builddir");
    char path[PATH_MAX];
    ml_err err;
    ml_registry *r = ml_registry_new(&err);
    if (!top || !r) {
        ok(0, "setup (top_builddir set, a registry)");
        return done_testing();
    }

    /* The fixture plugins: the whole .so is refused, with a warning naming file and field. */
    static const struct { const char *stem, *want, *entry; } fx[] = {
        {"fx_ansi", "fx_ansi.so: layer 'fx_identity_ansi': summary has control character "
                    "0x1b at byte 12", "fx_identity_ansi"},
        {"fx_nlver", "fx_nlver.so: layer 'fx_identity_nlver': version has character 0x0a at "
                     "byte 5", "fx_identity_nlver"},
    };
    for (size_t i = 0; i < sizeof fx / sizeof *fx; i++) {
        snprintf(path, sizeof path, "%.*s/tests/abi/.libs/%s.so", 1024, top, fx[i].stem);
        ok(ml_registry_load_file(r, path, &err) != 0, "%s.so does not load", fx[i].stem);
        const char *w = warning_for(r, path);
        char name[128];
        snprintf(name, sizeof name, "%s.so: the warning names the file, the entry and the "
                 "field", fx[i].stem);
        like(w, fx[i].want, name);
        ok(w && !strpbrk(w, "\n\r\033"), "%s.so: the warning is one printable line",
           fx[i].stem);
        ok(ml_registry_find(r, ML_KIND_LAYER, fx[i].entry) < 0, "%s is not registered",
           fx[i].entry);
    }

    /* Summaries: one printable line of UTF-8 text; quotes are fine (JSON escapes them). */
    accepted(r, "1.0.0", "plain \"quoted\" and 'single' text, 100% <html> & {json}",
             NULL, "a summary with quotes and markup characters");
    accepted(r, "1.0.0", "Schätzer für Module – 模块 ✓", NULL, "a UTF-8 summary");
    accepted(r, "1.0.0", "", NULL, "an empty summary");
    refused(r, "1.0.0", "two\nlines", NULL, "summary has control character 0x0a at byte 3",
            "a newline in the summary");
    refused(r, "1.0.0", "tab\there", NULL, "summary has control character 0x09", "a tab in "
            "the summary");
    refused(r, "1.0.0", "bell\a", NULL, "summary has control character 0x07", "a bell");
    refused(r, "1.0.0", "del\x7f", NULL, "summary has control character 0x7f", "DEL");
    refused(r, "1.0.0", "bad \xff byte", NULL, "summary has invalid UTF-8 at byte 4",
            "a byte that is not UTF-8");
    refused(r, "1.0.0", "overlong \xc0\xaf", NULL, "summary has invalid UTF-8 at byte 9",
            "an overlong encoding");
    refused(r, "1.0.0", "c1 \xc2\x9b" "31m", NULL, "summary has control character U+009B",
            "a C1 control (CSI)");
    refused(r, "1.0.0", "rtl \xe2\x80\xae" "txt", NULL,
            "summary has control character U+202E", "a bidirectional override");
    refused(r, "1.0.0", "sep \xe2\x80\xa8", NULL, "summary has control character U+2028",
            "a line separator");

    /* Versions: a token, since "kind/name@version" names checkpoints' layers. */
    accepted(r, "1.0.0-rc.1+build.5~x_y", "v", NULL, "a semver version");
    accepted(r, NULL, "v", NULL, "no version (reads as \"0\")");
    refused(r, "", "v", NULL, "version is empty", "an empty version");
    refused(r, "1.0 beta", "v", NULL, "version has character 0x20 at byte 3", "a space in "
            "the version");
    refused(r, "1.0\"", "v", NULL, "version has character 0x22 at byte 3", "a quote");
    refused(r, "1@2/3", "v", NULL, "version has character 0x40 at byte 1", "an '@'");
    refused(r, "1.0.0-0123456789012345678901234567890123456789012345678901234567890", "v",
            NULL, "version is longer than 64 bytes", "a 66-byte version");

    /* Option schemas: docs, defaults and choices are printed by --describe. */
    ml_opt_spec good[] = {{"size", ML_OPT_INT, "3", "size of the thing, in \"units\"", NULL},
                          {"act", ML_OPT_STRING, "relu", "activation", "relu|tanh"},
                          {NULL, 0, NULL, NULL, NULL}};
    accepted(r, "1.0.0", "v", good, "printable option docs, defaults and choices");
    ml_opt_spec bad_doc[] = {{"size", ML_OPT_INT, "3", "size\033[8m hidden", NULL},
                             {NULL, 0, NULL, NULL, NULL}};
    refused(r, "1.0.0", "v", bad_doc, "option 'size': doc has control character 0x1b",
            "an escape in an option's doc");
    ml_opt_spec bad_def[] = {{"act", ML_OPT_STRING, "relu\n", "activation", NULL},
                             {NULL, 0, NULL, NULL, NULL}};
    refused(r, "1.0.0", "v", bad_def, "option 'act': default has control character 0x0a",
            "a newline in an option's default");
    ml_opt_spec bad_choices[] = {{"act", ML_OPT_STRING, "relu", "activation", "relu|\rtanh"},
                                 {NULL, 0, NULL, NULL, NULL}};
    refused(r, "1.0.0", "v", bad_choices, "option 'act': choices has control character 0x0d",
            "a carriage return in an option's choices");

    ml_registry_free(r);
    return done_testing();
}
