/* SPDX-License-Identifier: MIT */
/* The transforms plugin: invariants on every dtype (flip twice, crop with padding 0, an
 * erasing that changes one box only, an affine without shift or rotation, noise with std 0,
 * normalize by hand), fixed-seed outputs against references written differently (a padded
 * canvas, reversed indices, the box from replayed draws), determinism per stream, and every
 * bad option refused at create with its message. Rotations and noise are checked against
 * numpy in test_transforms_ref.c. */
#include <stdio.h>

#include "tap.h"
#include "tf_test.h"

static const int32_t DTYPES[] = {ML_DTYPE_U8, ML_DTYPE_I16, ML_DTYPE_F16, ML_DTYPE_F32};
enum { NDT = 4, STREAMS = 24 };

static const char *dn(int32_t d)
{
    return d == ML_DTYPE_U8 ? "uint8" : d == ML_DTYPE_I16 ? "int16" : d == ML_DTYPE_F16
           ? "float16" : "float32";
}

/* Apply `name opts` to a fresh example for each of STREAMS streams; count the streams whose
 * output equals the input. Returns -1 on an error. */
static int count_identity(const char *name, const char *opts, ml_shape s, int32_t dtype)
{
    tfx t;
    ml_err err;
    int same = 0;
    if (tfx_new(&t, name, opts, s, dtype, &err)) {
        tap_diag("%s %s: %s", name, opts, err.msg);
        return -1;
    }
    void *x = example(dtype, t.numel, 7);
    for (uint64_t k = 0; k < STREAMS; k++) {
        void *y = dup_bytes(x, (size_t)t.numel * t.esize);
        if (tfx_apply(&t, y, 11, k, &err))
            same = -1000;
        same += memcmp(x, y, (size_t)t.numel * t.esize) == 0;
        free(y);
    }
    free(x);
    tfx_free(&t);
    return same;
}

static void test_identities(void)
{
    ml_shape s = shape3(3, 5, 6);
    for (int d = 0; d < NDT; d++) {
        int32_t dt = DTYPES[d];
        is_int(count_identity("random_crop", "padding=0", s, dt), STREAMS,
               "random_crop padding=0 is the identity");
        is_int(count_identity("random_affine", "degrees=0 shift=0", s, dt), STREAMS,
               "random_affine degrees=0 shift=0 is the identity");
        is_int(count_identity("hflip", "p=0", s, dt), STREAMS, "hflip p=0 is the identity");
        is_int(count_identity("random_erasing", "p=0", s, dt), STREAMS,
               "random_erasing p=0 changes nothing");
        /* The same calls can fail: these change every example (or nearly). */
        is_int(count_identity("hflip", "p=1", s, dt), 0, "hflip p=1 changes every example");
        ok(count_identity("random_crop", "padding=2", s, dt) < STREAMS / 2,
           "random_crop padding=2 moves most examples (%s)", dn(dt));
    }
    is_int(count_identity("gaussian_noise", "std=0", s, ML_DTYPE_F32), STREAMS,
           "gaussian_noise std=0 is the identity");
    is_int(count_identity("gaussian_noise", "std=0.1", s, ML_DTYPE_F32), 0,
           "gaussian_noise std=0.1 changes every example");
    is_int(count_identity("normalize", "mean=0 std=1", s, ML_DTYPE_F32), STREAMS,
           "normalize mean=0 std=1 is the identity");
}

static void test_flip_twice(void)
{
    ml_err err;
    ml_shape shapes[2] = {shape3(3, 5, 6), {2, {4, 7}}};
    for (int d = 0; d < NDT; d++)
        for (int k = 0; k < 2; k++) {
            tfx t;
            if (tfx_new(&t, "hflip", "p=1", shapes[k], DTYPES[d], &err)) {
                ok(0, "hflip: %s", err.msg);
                continue;
            }
            size_t es = t.esize, bytes = (size_t)t.numel * es;
            int32_t w = shapes[k].dim[shapes[k].ndim - 1];
            unsigned char *x = example(DTYPES[d], t.numel, 3), *y = dup_bytes(x, bytes);
            tfx_apply(&t, y, 1, 1, &err);
            /* Against reversed indices: y[r][j] == x[r][w-1-j]. */
            int mirrored = 1;
            for (int64_t r = 0; r < t.numel / w; r++)
                for (int32_t j = 0; j < w; j++)
                    mirrored &= !memcmp(y + ((size_t)r * w + j) * es,
                                        x + ((size_t)r * w + (w - 1 - j)) * es, es);
            tfx_apply(&t, y, 1, 2, &err);
            ok(mirrored && !memcmp(x, y, bytes), "hflip p=1 mirrors each row and twice is the "
               "identity (%s, %s)", dn(DTYPES[d]), k ? "{H,W} odd width" : "{C,H,W}");
            free(x), free(y);
            tfx_free(&t);
        }
}

/* random_crop against a padded canvas: pad with fill, cut the window at (p+dy, p+dx). */
static void test_crop_reference(void)
{
    ml_err err;
    const int C = 2, H = 6, W = 5, P = 3;
    for (int d = 0; d < NDT; d++) {
        tfx t;
        if (tfx_new(&t, "random_crop", "padding=3 fill=0", shape3(C, H, W), DTYPES[d], &err)) {
            ok(0, "random_crop: %s", err.msg);
            continue;
        }
        size_t es = t.esize, bytes = (size_t)t.numel * es;
        int bad = 0, moved = 0;
        unsigned char *x = example(DTYPES[d], t.numel, 5);
        int PH = H + 2 * P, PW = W + 2 * P;
        unsigned char *canvas = calloc((size_t)C * PH * PW, es);   /* fill 0: zero bytes */
        for (int c = 0; c < C; c++)
            for (int i = 0; i < H; i++)
                memcpy(canvas + (((size_t)c * PH + i + P) * PW + P) * es,
                       x + (((size_t)c * H + i) * W) * es, (size_t)W * es);
        for (uint64_t k = 0; k < STREAMS; k++) {
            unsigned char *y = dup_bytes(x, bytes);
            tfx_apply(&t, y, 99, k, &err);
            replay rp;
            replay_init(&rp, 99, k);
            int dy = (int)replay_below(&rp, 2 * P + 1) - P;
            int dx = (int)replay_below(&rp, 2 * P + 1) - P;
            moved += dy || dx;
            for (int c = 0; c < C; c++)
                for (int i = 0; i < H; i++)
                    bad |= memcmp(y + (((size_t)c * H + i) * W) * es,
                                  canvas + (((size_t)c * PH + P + dy + i) * PW + P + dx) * es,
                                  (size_t)W * es) != 0;
            free(y);
        }
        ok(!bad && moved > STREAMS / 2, "random_crop matches the padded-canvas window of the "
           "replayed shift on %d streams (%s)", STREAMS, dn(DTYPES[d]));
        free(x), free(canvas);
        tfx_free(&t);
    }
}

/* random_affine without rotation is a shift of whole pixels: check it pixel by pixel. */
static void test_affine_shift_reference(void)
{
    ml_err err;
    const int C = 3, H = 7, W = 8;
    for (int d = 0; d < NDT; d++) {
        tfx t;
        if (tfx_new(&t, "random_affine", "degrees=0 shift=0.3 fill=9", shape3(C, H, W),
                    DTYPES[d], &err)) {
            ok(0, "random_affine: %s", err.msg);
            continue;
        }
        size_t es = t.esize, bytes = (size_t)t.numel * es;
        unsigned char fill[4];
        void *fx = example(DTYPES[d], 1, 0);   /* only for its size; fill written below */
        free(fx);
        if (DTYPES[d] == ML_DTYPE_U8) fill[0] = 9;
        else if (DTYPES[d] == ML_DTYPE_I16) { int16_t v = 9; memcpy(fill, &v, 2); }
        else if (DTYPES[d] == ML_DTYPE_F16) { uint16_t v = 0x4880; memcpy(fill, &v, 2); }
        else { float v = 9; memcpy(fill, &v, 4); }
        unsigned char *x = example(DTYPES[d], t.numel, 8);
        int bad = 0, moved = 0;
        for (uint64_t k = 0; k < STREAMS; k++) {
            unsigned char *y = dup_bytes(x, bytes);
            tfx_apply(&t, y, 5, k, &err);
            replay rp;
            replay_init(&rp, 5, k);
            (void)replay_uniform(&rp, -0.0f, 0.0f);
            int tx = (int)lround(replay_uniform(&rp, -0.3f * W, 0.3f * W));
            int ty = (int)lround(replay_uniform(&rp, -0.3f * H, 0.3f * H));
            moved += tx || ty;
            for (int c = 0; c < C; c++)
                for (int i = 0; i < H; i++)
                    for (int j = 0; j < W; j++) {
                        int si = i - ty, sj = j - tx;
                        const unsigned char *want = si >= 0 && si < H && sj >= 0 && sj < W
                            ? x + (((size_t)c * H + si) * W + sj) * es : fill;
                        bad |= memcmp(y + (((size_t)c * H + i) * W + j) * es, want, es) != 0;
                    }
            free(y);
        }
        ok(!bad && moved > STREAMS / 2, "random_affine degrees=0 is the replayed whole-pixel "
           "shift with fill (%s)", dn(DTYPES[d]));
        free(x);
        tfx_free(&t);
    }
}

/* random_erasing p=1: exactly one box changed, all of it to the fill, in every channel,
 * and it is the box the replayed draws give. */
static void test_erasing_box(void)
{
    ml_err err;
    const int C = 3, H = 9, W = 8;
    for (int d = 0; d < NDT; d++) {
        tfx t;
        if (tfx_new(&t, "random_erasing", "p=1 fill=250", shape3(C, H, W), DTYPES[d], &err)) {
            ok(0, "random_erasing: %s", err.msg);
            continue;
        }
        size_t es = t.esize, bytes = (size_t)t.numel * es;
        unsigned char *x = example(DTYPES[d], t.numel, 4), fill[4];
        unsigned char *probe = dup_bytes(x, bytes);
        int erased = 0, one_box = 1, replayed = 1;
        for (uint64_t k = 0; k < STREAMS; k++) {
            unsigned char *y = dup_bytes(x, bytes);
            tfx_apply(&t, y, 3, k, &err);
            int i0 = H, i1 = -1, j0 = W, j1 = -1;
            for (int c = 0; c < C; c++)
                for (int i = 0; i < H; i++)
                    for (int j = 0; j < W; j++) {
                        size_t o = (((size_t)c * H + i) * W + j) * es;
                        if (memcmp(x + o, y + o, es)) {
                            memcpy(fill, y + o, es);
                            i0 = i < i0 ? i : i0, i1 = i > i1 ? i : i1;
                            j0 = j < j0 ? j : j0, j1 = j > j1 ? j : j1;
                        }
                    }
            if (i1 >= 0) {
                erased++;
                for (int c = 0; c < C; c++)
                    for (int i = 0; i < H; i++)
                        for (int j = 0; j < W; j++) {
                            size_t o = (((size_t)c * H + i) * W + j) * es;
                            int in = i >= i0 && i <= i1 && j >= j0 && j <= j1;
                            one_box &= in ? !memcmp(y + o, fill, es) : !memcmp(y + o, x + o, es);
                        }
            }
            /* The replayed draws: u, then (s, l) per attempt until the box fits. */
            replay rp;
            replay_init(&rp, 3, k);
            (void)replay_uniform(&rp, 0.0f, 1.0f);
            int bh = 0, bw = 0, top = -1, left = -1;
            for (int a = 0; a < 10 && top < 0; a++) {
                double s = replay_uniform(&rp, 0.02f, 0.33f);
                double r = exp((double)replay_uniform(&rp, (float)log(0.3), (float)log(3.3)));
                bh = (int)floor(sqrt(s * H * W * r) + 0.5);
                bw = (int)floor(sqrt(s * H * W / r) + 0.5);
                if (bh >= 1 && bh <= H && bw >= 1 && bw <= W) {
                    top = (int)replay_below(&rp, H - bh + 1);
                    left = (int)replay_below(&rp, W - bw + 1);
                }
            }
            replayed &= top < 0 ? i1 < 0 : i0 == top && j0 == left && i1 == top + bh - 1 &&
                                           j1 == left + bw - 1;
            free(y);
        }
        ok(erased > STREAMS * 3 / 4 && one_box, "random_erasing p=1 changes one axis-aligned "
           "box only, to the fill in every channel (%d of %d streams erased; %s)", erased,
           STREAMS, dn(DTYPES[d]));
        ok(replayed, "and it is the box of the replayed draws (%s)", dn(DTYPES[d]));
        free(x), free(probe);
        tfx_free(&t);
    }
}

static void test_normalize_by_hand(void)
{
    ml_err err;
    tfx t;
    /* {3,1,2}: channel values (1, 2), (3, 4), (5, 6). */
    float x[6] = {1, 2, 3, 4, 5, 6};
    const float want[6] = {(1 - 0.5f) / 0.5f, (2 - 0.5f) / 0.5f, (3 - 1) / 2.0f, (4 - 1) / 2.0f,
                           (5 - 6) / 4.0f, (6 - 6) / 4.0f};   /* 1, 3, 1, 1.5, -0.25, 0 */
    if (tfx_new(&t, "normalize", "mean=0.5/1/6 std=0.5/2/4", shape3(3, 1, 2), ML_DTYPE_F32,
                &err) == 0) {
        tfx_apply(&t, x, 1, 0, &err);
        ok(!memcmp(x, want, sizeof x) && x[1] == 3.0f && x[4] == -0.25f,
           "normalize per channel: (x - mean[c]) / std[c]");
        tfx_free(&t);
    } else
        ok(0, "normalize: %s", err.msg);
    /* From Lua the list arrives as one string, commas and all. */
    const ml_reg_entry *re = mli_registry_lookup(reg, ML_KIND_TRANSFORM, "normalize", &err);
    ml_opts *o = ml_opts_new(&err);
    void *self = NULL;
    float v[3] = {1, 1, 1};
    ml_shape c3 = shape3(3, 1, 1);
    ml_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    if (re && o && !ml_opts_set(o, "mean", ML_OPT_STRING, "0.5,0.25,2", &err) &&
        !ml_opts_set(o, "std", ML_OPT_STRING, "0.5, 0.25 ,1", &err) &&
        !ml_opts_validate(o, re->entry.options, "normalize", &err) &&
        !re->vt.transform.create(mli_host_table(), o, &c3, ML_DTYPE_F32, &self, &err)) {
        re->vt.transform.apply(self, &ctx, v, NULL, NULL, &err);
        ok(v[0] == 1 && v[1] == 3 && v[2] == -1, "normalize: comma-separated lists");
        re->vt.transform.destroy(self);
    } else
        ok(0, "normalize with comma lists: %s", err.msg);
    ml_opts_free(o);
    ml_shape hw = {2, {2, 2}};
    float z[4] = {0, 1, 2, 3};
    if (tfx_new(&t, "normalize", "mean=1 std=0.25", hw, ML_DTYPE_F32, &err) == 0) {
        tfx_apply(&t, z, 1, 0, &err);
        ok(z[0] == -4 && z[1] == 0 && z[2] == 4 && z[3] == 8,
           "normalize {H,W}: one mean and std for all");
        tfx_free(&t);
    } else
        ok(0, "normalize: %s", err.msg);
}

static void test_determinism(void)
{
    static const struct { const char *name, *opts; int32_t dtype; } cs[] = {
        {"random_crop", "padding=4", ML_DTYPE_U8}, {"hflip", "", ML_DTYPE_U8},
        {"random_erasing", "p=1", ML_DTYPE_F32}, {"random_affine", "degrees=30", ML_DTYPE_U8},
        {"random_affine", "", ML_DTYPE_F32}, {"gaussian_noise", "", ML_DTYPE_F32},
    };
    ml_err err;
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        tfx t;
        if (tfx_new(&t, cs[i].name, cs[i].opts, shape3(3, 12, 12), cs[i].dtype, &err)) {
            ok(0, "%s: %s", cs[i].name, err.msg);
            continue;
        }
        size_t bytes = (size_t)t.numel * t.esize;
        void *x = example(cs[i].dtype, t.numel, 1);
        void *a = dup_bytes(x, bytes), *b = dup_bytes(x, bytes);
        tfx_apply(&t, a, 42, 7, &err);
        tfx_apply(&t, b, 42, 7, &err);
        int same = !memcmp(a, b, bytes), differ = 0;
        for (uint64_t k = 8; k < 8 + STREAMS; k++) {
            memcpy(b, x, bytes);
            tfx_apply(&t, b, 42, k, &err);
            differ += memcmp(a, b, bytes) != 0;
        }
        memcpy(b, x, bytes);
        tfx_apply(&t, b, 43, 7, &err);
        ok(same, "%s %s: the same stream gives the same output", cs[i].name, cs[i].opts);
        ok(differ > STREAMS / 4 && memcmp(a, b, bytes),
           "%s %s: other streams and another seed give other outputs (%d of %d differ)",
           cs[i].name, cs[i].opts, differ, STREAMS);
        free(x), free(a), free(b);
        tfx_free(&t);
    }
}

static void test_bad_options(void)
{
    static const struct { const char *name, *opts; ml_shape in; int32_t dtype; const char *msg; } cs[] = {
        {"random_erasing", "p=1.5", {3, {3, 8, 8}}, ML_DTYPE_U8,
         "random_erasing: p=1.5 is not a probability; use 0 <= p <= 1"},
        {"hflip", "p=-0.1", {3, {3, 8, 8}}, ML_DTYPE_U8, "hflip: p=-0.1 is not a probability"},
        {"random_crop", "padding=-1", {3, {3, 8, 8}}, ML_DTYPE_U8,
         "padding=-1 is negative; use padding >= 0"},
        {"random_crop", "padding=9", {3, {3, 8, 8}}, ML_DTYPE_F32,
         "padding=9 is larger than the 8x8 image"},
        {"random_crop", "padding=5", {3, {1, 4, 12}}, ML_DTYPE_F32, "use 0 <= padding <= 4"},
        {"random_crop", "", {1, {784}}, ML_DTYPE_U8,
         "random_crop: examples of shape {784} are not images; it wants {C,H,W} or {H,W}"},
        {"hflip", "", {4, {1, 2, 3, 4}}, ML_DTYPE_U8, "shape {1,2,3,4} are not images"},
        {"random_affine", "", {0, {0}}, ML_DTYPE_U8, "shape {} are not images"},
        {"random_erasing", "", {1, {10}}, ML_DTYPE_U8, "are not images"},
        {"random_crop", "fill=300", {3, {3, 8, 8}}, ML_DTYPE_U8,
         "fill=300 does not fit the uint8 values of this dataset; use an integer in [0, 255]"},
        {"random_affine", "fill=0.5", {3, {3, 8, 8}}, ML_DTYPE_I16, "use an integer in [-32768"},
        {"random_erasing", "scale_min=0", {3, {3, 8, 8}}, ML_DTYPE_U8,
         "use 0 < scale_min <= scale_max <= 1"},
        {"random_erasing", "scale_max=1.5", {3, {3, 8, 8}}, ML_DTYPE_U8, "scale_max <= 1"},
        {"random_erasing", "scale_min=0.5 scale_max=0.4", {3, {3, 8, 8}}, ML_DTYPE_U8,
         "is not a range of area fractions"},
        {"random_erasing", "ratio_min=0", {3, {3, 8, 8}}, ML_DTYPE_U8,
         "use 0 < ratio_min <= ratio_max"},
        {"random_erasing", "ratio_min=4", {3, {3, 8, 8}}, ML_DTYPE_U8, "ratio_min <= ratio_max"},
        {"random_affine", "degrees=200", {3, {3, 8, 8}}, ML_DTYPE_U8,
         "degrees=200 is out of range; use 0 <= degrees <= 180"},
        {"random_affine", "degrees=-1", {3, {3, 8, 8}}, ML_DTYPE_U8, "degrees=-1 is out of range"},
        {"random_affine", "shift=1.5", {3, {3, 8, 8}}, ML_DTYPE_U8,
         "shift=1.5 is out of range; use 0 <= shift <= 1"},
        {"gaussian_noise", "std=-1", {1, {5}}, ML_DTYPE_F32, "std=-1 is out of range; use std >= 0"},
        {"gaussian_noise", "", {3, {3, 8, 8}}, ML_DTYPE_U8,
         "gaussian_noise: works on float32 values, got uint8"},
        {"normalize", "mean=0 std=1", {3, {3, 8, 8}}, ML_DTYPE_F16, "got float16"},
        {"normalize", "mean=0.5 std=0", {3, {3, 8, 8}}, ML_DTYPE_F32,
         "normalize: std value 0 in '0' is not > 0"},
        {"normalize", "mean=0.5 std=1/-2/1", {3, {3, 8, 8}}, ML_DTYPE_F32, "std value -2"},
        {"normalize", "mean=0.1/0.2 std=1", {3, {3, 8, 8}}, ML_DTYPE_F32,
         "mean='0.1/0.2' has 2 values for 3 channels; give one value for all channels or "
         "exactly 3"},
        {"normalize", "mean=1/2/3/4/5 std=1", {3, {3, 8, 8}}, ML_DTYPE_F32,
         "has more than 3 values for 3 channels"},
        {"normalize", "mean=0 std=1/2", {2, {8, 8}}, ML_DTYPE_F32, "for 1 channel;"},
        {"normalize", "mean=abc std=1", {3, {3, 8, 8}}, ML_DTYPE_F32,
         "mean='abc' is not a list of numbers"},
        {"normalize", "mean=0.5/ std=1", {3, {3, 8, 8}}, ML_DTYPE_F32, "is not a list"},
        {"normalize", "mean=0.5x std=1", {3, {3, 8, 8}}, ML_DTYPE_F32, "is not a list"},
        {"normalize", "mean=nan std=1", {3, {3, 8, 8}}, ML_DTYPE_F32, "is not a list"},
        {"normalize", "mean=1e999 std=1", {3, {3, 8, 8}}, ML_DTYPE_F32, "is not a list"},
        {"normalize", "mean=0.5", {3, {3, 8, 8}}, ML_DTYPE_F32, "option 'std' is required"},
        {"hflip", "", {3, {3, 8, 8}}, 9, "hflip: unknown value type 9"},
        {"hflip", "q=1", {3, {3, 8, 8}}, ML_DTYPE_U8, "unknown option 'q'"},
    };
    ml_err err;
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
        const char *m = tfx_create_error(cs[i].name, cs[i].opts, cs[i].in, cs[i].dtype, &err);
        if (!tap_ok(*m && strstr(m, cs[i].msg) != NULL, "%s %s refused at create", cs[i].name,
                    cs[i].opts))
            tap_diag("  message '%s' lacks '%s'", m, cs[i].msg);
    }
    /* The edges of the ranges are fine. */
    ok(!*tfx_create_error("random_crop", "padding=8", shape3(1, 8, 9), ML_DTYPE_U8, &err) &&
       !*tfx_create_error("hflip", "p=1", shape3(1, 2, 2), ML_DTYPE_U8, &err) &&
       !*tfx_create_error("random_erasing", "p=0 scale_min=1 scale_max=1 ratio_min=1 ratio_max=1",
                          shape3(1, 2, 2), ML_DTYPE_U8, &err) &&
       !*tfx_create_error("random_affine", "degrees=180 shift=1 fill=255", shape3(1, 2, 2),
                          ML_DTYPE_U8, &err) &&
       !*tfx_create_error("random_affine", "fill=-32768", shape3(1, 2, 2), ML_DTYPE_I16, &err) &&
       !*tfx_create_error("normalize", "mean=-1/2 std=0.1/1e-3", shape3(2, 2, 2), ML_DTYPE_F32,
                          &err), "the ends of every range are accepted (%s)", err.msg);
}

int main(void)
{
    ml_err err;
    reg = ml_registry_new(&err);
    if (!reg || ml_registry_load_default(reg, ML_ABS_BUILDDIR "/build-plugins", &err) ||
        ml_registry_find(reg, ML_KIND_TRANSFORM, "random_crop") < 0) {
        printf("not ok 1 - transforms.so loads (%s)\n1..1\n", err.msg);
        return 1;
    }
    test_identities();
    test_flip_twice();
    test_crop_reference();
    test_affine_shift_reference();
    test_erasing_box();
    test_normalize_by_hand();
    test_determinism();
    test_bad_options();
    ml_registry_free(reg);
    return done_testing();
}
