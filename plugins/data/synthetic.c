/* SPDX-License-Identifier: MIT */
/* synthetic: generated datasets that need no files (two spirals, Gaussian blobs), a pure
 * function of (seed, split, index) so every split is reproducible and disjoint. */
#include <math.h>
#include <string.h>

#include <modlab/plugin.h>

typedef struct synth {
    const ml_host *h;
    int spirals;         /* 1: spirals, 0: blobs */
    int64_t size;
    int32_t classes, dims;
    float noise;
    uint64_t seed, split;
} synth;

static const ml_opt_spec options[] = {
    {"kind", ML_OPT_STRING, "spirals", "which generator", "spirals|blobs"},
    {"size", ML_OPT_INT, "2000", "examples in this split", NULL},
    {"classes", ML_OPT_INT, "2", "number of classes (spiral arms or blobs)", NULL},
    {"dims", ML_OPT_INT, "2", "input dimensions (blobs only; spirals are 2-D)", NULL},
    {"noise", ML_OPT_FLOAT, "0.1", "standard deviation of the added noise", NULL},
    {"seed", ML_OPT_INT, "1", "generator seed", NULL},
    {"split", ML_OPT_STRING, "train", "split name; each split draws different points",
     "train|valid|test"},
    {NULL, 0, NULL, NULL, NULL},
};

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in (0, 1] from (seed, split, index, k). */
static double u01(const synth *s, int64_t i, int k)
{
    uint64_t v = mix(s->seed * 0x9e3779b97f4a7c15ULL ^ mix(s->split + 31 * (uint64_t)i) ^
                     mix((uint64_t)k + 0x1234567ULL));
    return ((v >> 11) + 1.0) * (1.0 / 9007199254740992.0);
}

static double gauss(const synth *s, int64_t i, int k)
{
    return sqrt(-2.0 * log(u01(s, i, k))) * cos(6.283185307179586 * u01(s, i, k + 1));
}

static int sy_open(const ml_host *h, const ml_opts *opts, void **self, ml_err *err)
{
    synth *s;
    const char *split = h->opt_str(opts, "split");
    int64_t size = h->opt_int(opts, "size"), classes = h->opt_int(opts, "classes");
    int64_t dims = h->opt_int(opts, "dims");
    if (size < 1 || classes < 2 || classes > 1000 || dims < 1 || dims > 4096)
        return h->error(err, ML_ERR_INVALID, "synthetic: need size >= 1, 2 <= classes <= 1000 "
                        "and 1 <= dims <= 4096");
    if (!(s = h->zalloc(sizeof *s)))
        return h->error(err, ML_ERR_NOMEM, "synthetic: out of memory");
    s->h = h;
    s->spirals = strcmp(h->opt_str(opts, "kind"), "spirals") == 0;
    s->size = size;
    s->classes = (int32_t)classes;
    s->dims = s->spirals ? 2 : (int32_t)dims;
    s->noise = (float)h->opt_float(opts, "noise");
    s->seed = (uint64_t)h->opt_int(opts, "seed");
    s->split = split[0] == 't' && split[1] == 'r' ? 1 : split[0] == 'v' ? 2 : 3;
    *self = s;
    return ML_OK;
}

static void sy_close(void *self)
{
    synth *s = self;
    s->h->free(s);
}

static int sy_info(void *self, ml_data_info *info, ml_err *err)
{
    synth *s = self;
    memset(info, 0, sizeof *info);
    info->size = s->size;
    info->x_shape.ndim = 1;
    info->x_shape.dim[0] = s->dims;
    info->y_shape.ndim = 0;
    info->classes = s->classes;
    return ML_OK;
}

static void sy_point(const synth *s, int64_t i, float *x, float *y)
{
    int32_t c = (int32_t)(i % s->classes);
    *y = (float)c;
    if (s->spirals) {
        /* Arm c: radius grows with the angle; arms are rotated copies. */
        double t = u01(s, i, 0);
        double r = t, a = 4.0 * t * 3.141592653589793 / 1.3 +
                          2.0 * 3.141592653589793 * c / s->classes;
        x[0] = (float)(r * cos(a) + s->noise * 0.25 * gauss(s, i, 1));
        x[1] = (float)(r * sin(a) + s->noise * 0.25 * gauss(s, i, 3));
    } else {
        /* Blob c centred on a fixed pseudo-random point in [-2, 2]^dims. */
        synth centre = *s;
        centre.split = 0;
        for (int32_t d = 0; d < s->dims; d++)
            x[d] = (float)(4.0 * u01(&centre, c, 2 * d) - 2.0 + s->noise * gauss(s, i, 10 + 2 * d));
    }
}

static int sy_read(void *self, const int64_t *idx, int32_t n, float *x, float *y, ml_err *err)
{
    synth *s = self;
    for (int32_t i = 0; i < n; i++)
        sy_point(s, idx[i], x + (int64_t)i * s->dims, y + i);
    return ML_OK;
}

const ml_entry ml_data_synthetic_entry = ML_ENTRY_INIT(ML_KIND_DATASET, "synthetic", "1.0.0",
    "generated data needing no files: two (or more) spirals, Gaussian blobs", options, NULL,
    ml_dataset_vtable, .open = sy_open, .close = sy_close, .info = sy_info, .read = sy_read);
