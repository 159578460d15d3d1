/* SPDX-License-Identifier: MIT */
/* Core units: option schemas, the RNG, the allocator's accounting and failure injection,
 * crash-safe writes. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/err.h"
#include "base/mem.h"
#include "runtime/opts.h"
#include "runtime/registry.h"
#include "tap.h"
#include "tap_fs.h"
#include <modlab/modlab.h>

static const ml_opt_spec schema[] = {
    {"out", ML_OPT_INT, NULL, "outputs", NULL},
    {"rate", ML_OPT_FLOAT, "0.5", "a rate", NULL},
    {"bias", ML_OPT_BOOL, "true", "bias", NULL},
    {"act", ML_OPT_STRING, "relu", "activation", "relu|tanh"},
    {NULL, 0, NULL, NULL, NULL},
};

static int validate(const char *text, ml_err *err)
{
    ml_opts *o = ml_opts_new(err);
    int rc = ml_opts_parse(o, text, err);
    if (!rc)
        rc = ml_opts_validate(o, schema, "layer 1 (demo)", err);
    ml_opts_free(o);
    return rc;
}

static void test_options(void)
{
    ml_err err;
    ml_opts *o = ml_opts_new(&err);
    ok(ml_opts_parse(o, "out=10 rate=0.25", &err) == 0, "parse key=value pairs");
    ok(ml_opts_validate(o, schema, "demo", &err) == 0, "valid options pass");
    is_int(mli_opts_get_int(o, "out"), 10, "int option read back");
    is_near(mli_opts_get_float(o, "rate"), 0.25, 1e-12, "float option read back");
    is_int(mli_opts_get_bool(o, "bias"), 1, "bool default filled");
    is_str(mli_opts_get_str(o, "act"), "relu", "string default filled");
    is_str(ml_opts_json(o), "{\"out\":10,\"rate\":0.25,\"bias\":true,\"act\":\"relu\"}",
           "canonical JSON of the values");
    ml_opts_free(o);

    is_int(validate("out=10 outt=3", &err), ML_ERR_INVALID, "unknown option rejected");
    like(err.msg, "layer 1 (demo): unknown option 'outt'", "message names layer and option");
    like(err.msg, "options: out, rate, bias, act", "message lists the known options");
    is_int(validate("out=2.5", &err), ML_ERR_INVALID, "fraction for an int rejected");
    like(err.msg, "option 'out' wants an integer", "message says what type is wanted");
    is_int(validate("out=abc", &err), ML_ERR_INVALID, "string for an int rejected");
    like(err.msg, "wants an integer, got a string 'abc'", "wrong type message");
    is_int(validate("out=3 bias=1", &err), ML_ERR_INVALID, "number for a bool rejected");
    is_int(validate("out=3 act=sigmoid", &err), ML_ERR_INVALID, "value outside choices");
    like(err.msg, "choose one of relu|tanh", "choices listed");
    is_int(validate("rate=1", &err), ML_ERR_INVALID, "missing required option");
    like(err.msg, "option 'out' is required", "required option named");
    is_int(validate("out", &err), ML_ERR_INVALID, "item without '=' rejected");

    /* A number given for a text option is its text ("mean=0.5" of normalize); a boolean
     * is not. */
    static const ml_opt_spec text_schema[] = {
        {"mean", ML_OPT_STRING, NULL, "a list", NULL},
        {NULL, 0, NULL, NULL, NULL},
    };
    o = ml_opts_new(&err);
    ok(o && ml_opts_parse(o, "mean=0.50", &err) == 0 &&
       ml_opts_validate(o, text_schema, "demo", &err) == 0, "a number for a string option");
    is_str(o ? mli_opts_get_str(o, "mean") : "", "0.50", "keeps the text as written");
    ml_opts_free(o);
    o = ml_opts_new(&err);
    ok(o && ml_opts_parse(o, "mean=true", &err) == 0, "parse a boolean");
    is_int(o ? ml_opts_validate(o, text_schema, "demo", &err) : -1, ML_ERR_INVALID,
           "a boolean for a string option rejected");
    like(err.msg, "option 'mean' wants a string, got a boolean 'true'", "and says so");
    ml_opts_free(o);
}

static void test_rng(void)
{
    int64_t a[100], b[100];
    int seen[100] = {0}, perm = 1, same = 1;
    for (int i = 0; i < 100; i++)
        a[i] = b[i] = i;
    ml_shuffle(a, 100, 42, 3);
    ml_shuffle(b, 100, 42, 3);
    for (int i = 0; i < 100; i++) {
        same &= a[i] == b[i];
        if (a[i] >= 0 && a[i] < 100)
            seen[a[i]]++;
    }
    for (int i = 0; i < 100; i++)
        perm &= seen[i] == 1;
    ok(same, "same seed and stream, same shuffle");
    ok(perm, "shuffle is a permutation");
    ok(ml_rng_at(1, 2, 3) == ml_rng_at(1, 2, 3), "counter-based values replay");
    ok(ml_rng_at(1, 2, 3) != ml_rng_at(1, 3, 3), "streams differ");
    ok(ml_rng_at(1, 2, 3) != ml_rng_at(2, 2, 3), "seeds differ");
    /* Crude uniformity: the mean of 10000 top bits is near 0.5. */
    double mean = 0.0;
    for (int k = 0; k < 10000; k++)
        mean += (double)(ml_rng_at(7, 0, (uint64_t)k) >> 11) / 9007199254740992.0;
    is_near(mean / 10000, 0.5, 0.02, "uniform mean near 0.5");
}

static void test_memory(void)
{
    int64_t before = ml_mem_live_bytes(), blocks = ml_mem_live_blocks();
    char *p = mli_alloc(1000);
    ok(p && ((uintptr_t)p % 64) == 0, "allocations are 64-byte aligned");
    is_int(ml_mem_live_bytes() - before, 1000, "live bytes count the block");
    p = mli_realloc(p, 5000);
    is_int(ml_mem_live_bytes() - before, 5000, "realloc accounted");
    mli_free(p);
    is_int(ml_mem_live_bytes(), before, "free returns the bytes");
    is_int(ml_mem_live_blocks(), blocks, "and the block");
    ml_mem_fail_at(2);
    void *a = mli_alloc(8), *b = mli_alloc(8), *c = mli_alloc(8);
    ok(a && !b && c, "fail_at(2) fails exactly the second allocation");
    mli_free(a);
    mli_free(c);
    ml_mem_fail_at(0);
}

/* Two call sites here, one through the host table as a plugin allocates: each is its own
 * site (the plugin's call, not the host wrapper's), and the injected failure lands on one. */
/* Each must stay one call site however the loop below is unrolled: not inlined, and the
 * empty asm after the call keeps it from becoming a tail call (whose return address would
 * be the loop's). */
__attribute__((noinline)) static void *site_a(void)
{
    void *p = mli_alloc(8);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}
__attribute__((noinline)) static void *site_b(const ml_host *h)
{
    void *p = h->alloc(8);
    __asm__ volatile("" : : "r"(p) : "memory");
    return p;
}

static void test_sites(void)
{
    void *p[6];
    const void *site;
    int64_t calls = 0, inj = 0;
    char name[160];
    mli_mem_sites_record(1);
    ml_mem_fail_at(5);
    for (int i = 0; i < 6; i += 2) {
        p[i] = site_a();
        p[i + 1] = site_b(mli_host_table());
    }
    ml_mem_fail_at(0);
    mli_mem_sites_record(0);
    ok(p[0] && p[1] && p[2] && p[3] && !p[4] && p[5], "the 5th allocation failed");
    is_int(mli_mem_sites_count(), 2, "two distinct sites reached (the host wrapper is none)");
    is_int(mli_mem_sites_injected(), 1, "a failure injected at one of them");
    ok(mli_mem_site_get(0, &site, &calls, &inj) == 0 && calls == 3 && inj == 1,
       "site_a: 3 calls, 1 injected failure");
    mli_mem_site_name(site, name, sizeof name);
    like(name, "test_core", "the site is named in the test program");
    tap_diag("site_a: %s", name);
    ok(mli_mem_site_get(1, &site, &calls, &inj) == 0 && calls == 3 && inj == 0,
       "site_b (through the host table): 3 calls, none failed");
    mli_mem_site_name(site, name, sizeof name);
    like(name, "test_core", "site_b is the caller of host->alloc, not the host wrapper");
    ok(mli_mem_site_get(2, &site, &calls, &inj) != 0, "no third site");
    for (int i = 0; i < 6; i++)
        mli_free(p[i]);
}

static void test_atomic_write(void)
{
    char dir[] = "/tmp/modlab-test-XXXXXX", path[256], buf[32] = {0};
    ml_err err;
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    snprintf(path, sizeof path, "%s/a/b/file.json", dir);
    char sub[256];
    snprintf(sub, sizeof sub, "%s/a/b", dir);
    ok(ml_mkdirs(sub, &err) == 0, "mkdirs creates nested directories");
    ok(ml_file_write_atomic(path, "{\"x\":1}", 7, &err) == 0, "atomic write succeeds");
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    ok(n == 7 && !strcmp(buf, "{\"x\":1}"), "file holds the new content");
    snprintf(path, sizeof path, "%s/missing/dir/file", dir);
    is_int(ml_file_write_atomic(path, "x", 1, &err), ML_ERR_IO, "unwritable path is an error");
    like(err.msg, "cannot create", "error says why");
    ok(tap_rmtree(dir) == 0, "cleanup");
}

int main(void)
{
    test_options();
    test_rng();
    test_memory();
    test_sites();
    test_atomic_write();
    return done_testing();
}
