/* SPDX-License-Identifier: MIT */
/* idx: MNIST-style IDX image and label files (gzip or raw), held in memory as bytes. */
#include "data_entries.h"
#include "datafile.h"

#include <string.h>

enum { IDX_MAGIC_IMAGES = 0x00000803, IDX_MAGIC_LABELS = 0x00000801, IDX_TYPE_U8 = 0x08 };

/* Pixels stay bytes (47 MB for Fashion-MNIST's training split instead of 188 MB as floats);
 * read converts the examples it is asked for. */
typedef struct idx_set {
    const ml_host *host;
    uint8_t *pixels;   /* count x rows x cols */
    uint8_t *labels;   /* count */
    int64_t count;
    int32_t rows, cols;
    int32_t classes;
    float div;         /* 255 (scale) or 1 */
} idx_set;

/* One checked IDX file: dims from its header, the payload in a host buffer. */
typedef struct idx_file {
    uint32_t dim[3];
    int64_t payload;   /* bytes after the header */
    uint8_t *data;
} idx_file;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *idx_type_name(unsigned t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown type";
    }
}

/* "..., file holds N" for a file that ended early; for gzip the count is uncompressed. */
static int idx_truncated(const ml_host *host, const ml_data_file *f, int64_t promised,
                         int64_t holds, const char *dataset, ml_err *err)
{
    char advice[160];
    return host->error(err, ML_ERR_FORMAT,
                       "idx: %s: truncated: header promises %lld bytes, file holds %lld%s; %s",
                       f->base, (long long)promised, (long long)holds,
                       f->compressed ? " (uncompressed)" : "",
                       ml_data_advice(advice, sizeof advice, dataset));
}

/* Read and check one IDX file of `ndim` dimensions (3: images, 1: labels). Every header
 * field is checked against what the stream really holds before it is trusted. */
static int idx_load(const ml_host *host, const char *path, int ndim, const char *dataset,
                    idx_file *out, ml_err *err)
{
    const uint32_t want_magic = ndim == 3 ? IDX_MAGIC_IMAGES : IDX_MAGIC_LABELS;
    const char *what = ndim == 3 ? "images" : "labels";
    ml_data_file f;
    uint8_t hdr[16];
    const int64_t hdr_len = 4 + 4 * (int64_t)ndim;
    uint64_t payload = 1;
    uint8_t *data = NULL;
    size_t got = 0;
    char advice[160];
    int rc;

    rc = ml_data_file_open(host, &f, path, "idx", err);
    if (rc)
        return rc;
    ml_data_advice(advice, sizeof advice, dataset);

    rc = ml_data_file_read(host, &f, hdr, 4, &got, err);
    if (rc)
        goto fail;
    if (got < 4) {
        rc = host->error(err, ML_ERR_FORMAT,
                         "idx: %s: %zu bytes is too short for an IDX file (4-byte magic); %s",
                         f.base, got, advice);
        goto fail;
    }
    const uint32_t magic = be32(hdr);
    if (hdr[0] != 0 || hdr[1] != 0) {
        rc = host->error(err, ML_ERR_FORMAT,
                         "idx: %s: bad magic 0x%08x: not an IDX file (IDX %s start with "
                         "0x%08x); %s",
                         f.base, magic, what, want_magic, advice);
        goto fail;
    }
    if (hdr[2] != IDX_TYPE_U8) {
        rc = host->error(err, ML_ERR_FORMAT,
                         "idx: %s: element type 0x%02x (%s) is not supported: the idx reader "
                         "reads unsigned-byte files (type 0x08, as MNIST ships)",
                         f.base, hdr[2], idx_type_name(hdr[2]));
        goto fail;
    }
    if (hdr[3] != ndim) {
        rc = host->error(err, ML_ERR_FORMAT,
                         "idx: %s: magic 0x%08x declares %u dimension%s, but IDX %s have %d "
                         "(magic 0x%08x); check that the images and labels options are not "
                         "swapped",
                         f.base, magic, hdr[3], hdr[3] == 1 ? "" : "s", what, ndim,
                         want_magic);
        goto fail;
    }

    rc = ml_data_file_read(host, &f, hdr + 4, (size_t)(4 * ndim), &got, err);
    if (rc)
        goto fail;
    if ((int64_t)got < 4 * ndim) {
        rc = host->error(err, ML_ERR_FORMAT,
                         "idx: %s: truncated inside its header (%lld of %lld bytes); %s",
                         f.base, (long long)(4 + got), (long long)hdr_len, advice);
        goto fail;
    }
    for (int i = 0; i < ndim; i++) {
        out->dim[i] = be32(hdr + 4 + 4 * i);
        if (out->dim[i] == 0) {
            rc = host->error(err, ML_ERR_FORMAT,
                             "idx: %s: header size %d is 0: the file holds no %s; %s", f.base,
                             i, what, advice);
            goto fail;
        }
        if (__builtin_mul_overflow(payload, (uint64_t)out->dim[i], &payload)) {
            rc = host->error(err, ML_ERR_FORMAT,
                             "idx: %s: header sizes overflow (dimension %d is %u); the file is "
                             "corrupt or not IDX",
                             f.base, i, out->dim[i]);
            goto fail;
        }
    }
    /* One example must fit an int32 shape, the whole set an int64 and a size_t. */
    if ((ndim == 3 && (uint64_t)out->dim[1] * out->dim[2] > INT32_MAX) ||
        payload > (uint64_t)INT64_MAX - 16 || payload > SIZE_MAX) {
        rc = host->error(err, ML_ERR_FORMAT,
                         "idx: %s: header sizes %u x %u x %u are too large; the file is "
                         "corrupt or not IDX",
                         f.base, out->dim[0], ndim == 3 ? out->dim[1] : 1,
                         ndim == 3 ? out->dim[2] : 1);
        goto fail;
    }
    const int64_t promised = hdr_len + (int64_t)payload;

    /* Check the promise against the file before allocating for it. */
    if (!f.compressed && f.disk_bytes < promised) {
        rc = idx_truncated(host, &f, promised, f.disk_bytes, dataset, err);
        goto fail;
    }
    if (!f.compressed && f.disk_bytes > promised) {
        rc = host->error(err, ML_ERR_FORMAT,
                         "idx: %s: %lld bytes of trailing data: header promises %lld bytes, "
                         "file holds %lld; the file is corrupt or not IDX",
                         f.base, (long long)(f.disk_bytes - promised), (long long)promised,
                         (long long)f.disk_bytes);
        goto fail;
    }
    if (f.compressed &&
        payload > (uint64_t)f.disk_bytes * ML_DATA_GZ_MAX_RATIO + 4096) {
        int64_t rest = 0;
        rc = ml_data_file_skip_rest(host, &f, f.disk_bytes * ML_DATA_GZ_MAX_RATIO + 4096,
                                    &rest, err);
        if (rc == 0)
            rc = idx_truncated(host, &f, promised, hdr_len + rest, dataset, err);
        goto fail;
    }

    /* A gzip file held decoded (libdeflate) hands its payload over; otherwise read it. */
    data = ml_data_file_take(&f, (size_t)payload);
    if (!data) {
        data = ml_data_alloc(host, (size_t)payload, "idx", f.base, err);
        if (!data) {
            rc = ML_ERR_NOMEM;
            goto fail;
        }
        rc = ml_data_file_read(host, &f, data, (size_t)payload, &got, err);
        if (rc)
            goto fail;
        if ((uint64_t)got < payload) {
            rc = idx_truncated(host, &f, promised, hdr_len + (int64_t)got, dataset, err);
            goto fail;
        }
    }
    /* Read past the end: finds trailing data, and makes zlib check the gzip trailer. */
    uint8_t extra;
    rc = ml_data_file_read(host, &f, &extra, 1, &got, err);
    if (rc)
        goto fail;
    if (got) {
        int64_t rest = 0;
        rc = ml_data_file_skip_rest(host, &f, INT64_C(1) << 32, &rest, err);
        if (rc)
            goto fail;
        rc = host->error(err, ML_ERR_FORMAT,
                         "idx: %s: %s%lld bytes of trailing data after the %lld bytes the "
                         "header promises; the file is corrupt or not IDX",
                         f.base, rest == INT64_C(1) << 32 ? "over " : "", (long long)(rest + 1),
                         (long long)promised);
        goto fail;
    }
    if (f.truncated) {
        rc = host->error(err, ML_ERR_FORMAT,
                         "idx: %s: truncated: the gzip stream ends without its trailer, so "
                         "its checksum cannot be verified; %s",
                         f.base, advice);
        goto fail;
    }
    ml_data_file_close(&f);
    out->payload = (int64_t)payload;
    out->data = data;
    return 0;
fail:
    host->free(data);
    ml_data_file_close(&f);
    return rc;
}

static void idx_close(void *self)
{
    idx_set *s = self;
    if (!s)
        return;
    s->host->free(s->pixels);
    s->host->free(s->labels);
    s->host->free(s);
}

static int idx_open(const ml_host *host, const ml_opts *opts, void **self, ml_err *err)
{
    const char *images = host->opt_str(opts, "images");
    const char *labels = host->opt_str(opts, "labels");
    const char *dataset = host->opt_str(opts, "dataset");
    const int64_t classes = host->opt_int(opts, "classes");
    const int scale = host->opt_bool(opts, "scale");
    idx_file im = {{0}, 0, NULL}, lb = {{0}, 0, NULL};
    idx_set *s = NULL;
    int rc;

    if (classes < 1 || classes > 256) {
        return host->error(err, ML_ERR_INVALID,
                           "idx: option classes=%lld is outside 1..256 (labels are bytes)",
                           (long long)classes);
    }
    rc = idx_load(host, images ? images : "", 3, dataset, &im, err);
    if (rc)
        goto fail;
    rc = idx_load(host, labels ? labels : "", 1, dataset, &lb, err);
    if (rc)
        goto fail;
    if (im.dim[0] != lb.dim[0]) {
        rc = host->error(err, ML_ERR_FORMAT,
                         "idx: %s holds %u images but %s holds %u labels; the two files belong "
                         "to different splits, or one of them is damaged",
                         ml_data_base(images), im.dim[0], ml_data_base(labels), lb.dim[0]);
        goto fail;
    }
    for (int64_t i = 0; i < lb.payload; i++) {
        if (lb.data[i] >= classes) {
            rc = host->error(err, ML_ERR_FORMAT,
                             "idx: %s: label %u of example %lld is not below classes=%lld; the "
                             "file is damaged, or set the classes option for this dataset",
                             ml_data_base(labels), lb.data[i], (long long)i,
                             (long long)classes);
            goto fail;
        }
    }

    s = host->zalloc(sizeof *s);
    if (!s) {
        rc = host->error(err, ML_ERR_NOMEM, "idx: out of memory");
        goto fail;
    }
    s->host = host;
    s->pixels = im.data;
    s->labels = lb.data;
    s->count = im.dim[0];
    s->rows = (int32_t)im.dim[1];
    s->cols = (int32_t)im.dim[2];
    s->classes = (int32_t)classes;
    s->div = scale ? 255.0f : 1.0f;
    *self = s;
    return 0;
fail:
    host->free(im.data);
    host->free(lb.data);
    return rc;
}

static int idx_info(void *self, ml_data_info *info, ml_err *err)
{
    const idx_set *s = self;
    memset(info, 0, sizeof *info);
    info->size = s->count;
    info->x_shape.ndim = 3;
    info->x_shape.dim[0] = 1;
    info->x_shape.dim[1] = s->rows;
    info->x_shape.dim[2] = s->cols;
    info->y_shape.ndim = 0;
    info->classes = s->classes;
    return 0;
}

/* Called every batch: a bounds check and, per example, a vectorised byte-to-float copy
 * (read) or the stored bytes themselves (read_raw, for the host's transform pipeline).
 * x or y may be NULL to read only the other. */
static int idx_fill(const idx_set *s, const int64_t *indices, int32_t n, float *x,
                    uint8_t *raw, float *y, ml_err *err)
{
    const int64_t d = (int64_t)s->rows * s->cols;

    if (n < 0)
        return s->host->error(err, ML_ERR_INVALID, "idx: read of %d examples", (int)n);
    for (int32_t i = 0; i < n; i++) {
        const int64_t k = indices[i];
        if (k < 0 || k >= s->count)
            return s->host->error(err, ML_ERR_INVALID,
                                  "idx: example index %lld is outside 0..%lld", (long long)k,
                                  (long long)(s->count - 1));
        if (x)
            ml_data_bytes_to_float(x + (int64_t)i * d, s->pixels + k * d, d, s->div);
        if (raw)
            memcpy(raw + (int64_t)i * d, s->pixels + k * d, (size_t)d);
        if (y)
            y[i] = (float)s->labels[k];
    }
    return 0;
}

static int idx_read(void *self, const int64_t *indices, int32_t n, float *x, float *y,
                    ml_err *err)
{
    return idx_fill(self, indices, n, x, NULL, y, err);
}

static int idx_read_raw(void *self, const int64_t *indices, int32_t n, void *x, float *y,
                        ml_err *err)
{
    return idx_fill(self, indices, n, NULL, x, y, err);
}

/* Pixels are stored as bytes; read() divides them by 255 (scale=true) or 1. */
static int idx_raw_format(void *self, int32_t *dtype, float *div, ml_err *err)
{
    (void)err;
    *dtype = ML_DTYPE_U8;
    *div = ((const idx_set *)self)->div;
    return 0;
}

static const ml_opt_spec idx_options[] = {
    {"images", ML_OPT_STRING, NULL, "IDX image file (idx3-ubyte, gzip or raw)", NULL},
    {"labels", ML_OPT_STRING, NULL, "IDX label file (idx1-ubyte, gzip or raw)", NULL},
    ML_DATA_OPT_SCALE,
    {"classes", ML_OPT_INT, "10", "number of classes: every label must be below it", NULL},
    ML_DATA_OPT_DATASET,
    {NULL, 0, NULL, NULL, NULL}};

const ml_entry ml_data_idx_entry = ML_ENTRY_INIT(ML_KIND_DATASET, "idx", "1.0.0",
    "MNIST-style IDX files (images + labels, gzip or raw), e.g. Fashion-MNIST", idx_options,
    NULL, ml_dataset_vtable, .open = idx_open, .close = idx_close, .info = idx_info,
    .read = idx_read, .raw_format = idx_raw_format, .read_raw = idx_read_raw);
