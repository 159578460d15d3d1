/* SPDX-License-Identifier: MIT */
/* cifar10: CIFAR-10 binary batches (<1 label byte><3072 pixel bytes> records) in memory. */
#include "data_entries.h"
#include "datafile.h"

#include <string.h>

enum { CIFAR_PIXELS = 3 * 32 * 32, CIFAR_RECORD = 1 + CIFAR_PIXELS, CIFAR_CLASSES = 10 };

/* The records stay as they are on disk: the pixels of a record are already the example in
 * C x H x W order (1024 R, 1024 G, 1024 B bytes), so read is a byte-to-float copy. */
typedef struct cifar_set {
    const ml_host *host;
    uint8_t *rec;      /* count x CIFAR_RECORD bytes */
    int64_t count;
    float div;         /* 255 (scale) or 1 */
} cifar_set;

/* The list of paths in the batches option: a private copy with ':' turned into NULs. */
typedef struct cifar_files {
    char *buf;
    const char **path;
    int64_t *bytes;
    int n;
} cifar_files;

static void cifar_files_free(const ml_host *host, cifar_files *fl)
{
    host->free(fl->buf);
    host->free((void *)fl->path);
    host->free(fl->bytes);
}

static int cifar_files_split(const ml_host *host, const char *list, const char *opt,
                             cifar_files *fl, ml_err *err)
{
    size_t len = strlen(list);
    int n = 0;

    memset(fl, 0, sizeof *fl);
    fl->buf = ml_data_alloc(host, len + 1, "cifar10", "the batch list", err);
    if (!fl->buf)
        return ML_ERR_NOMEM;
    memcpy(fl->buf, list, len + 1);
    for (size_t i = 0; i <= len; i++)
        if (fl->buf[i] == ':' || fl->buf[i] == '\0')
            n++;
    fl->path = ml_data_alloc(host, (size_t)n * sizeof *fl->path, "cifar10", "paths", err);
    fl->bytes = ml_data_alloc(host, (size_t)n * sizeof *fl->bytes, "cifar10", "sizes", err);
    if (!fl->path || !fl->bytes)
        return ML_ERR_NOMEM;
    /* Empty entries ("a::b", a trailing ':') are skipped, as in PATH-style lists. */
    char *start = fl->buf;
    for (size_t i = 0; i <= len; i++) {
        if (fl->buf[i] == ':' || fl->buf[i] == '\0') {
            fl->buf[i] = '\0';
            if (*start)
                fl->path[fl->n++] = start;
            start = fl->buf + i + 1;
        }
    }
    if (fl->n == 0)
        return host->error(err, ML_ERR_INVALID,
                           "cifar10: option %s names no file; give the batch files "
                           "separated by ':' (data_batch_1.bin:data_batch_2.bin:...)", opt);
    return 0;
}

/* Size of one batch file, which must be a whole number of records. */
static int cifar_size(const ml_host *host, const char *path, const char *dataset,
                      int64_t *bytes, ml_err *err)
{
    ml_data_file f;
    char advice[160];
    int64_t n = 0;
    int rc = ml_data_file_open(host, &f, path, "cifar10", err);

    if (rc)
        return rc;
    rc = ml_data_file_size(host, &f, &n, err);
    if (rc == 0 && (n == 0 || n % CIFAR_RECORD != 0 || f.truncated)) {
        ml_data_advice(advice, sizeof advice, dataset);
        if (f.truncated)
            rc = host->error(err, ML_ERR_FORMAT,
                             "cifar10: %s: truncated gzip stream (%lld bytes uncompressed); %s",
                             f.base, (long long)n, advice);
        else if (n == 0)
            rc = host->error(err, ML_ERR_FORMAT, "cifar10: %s: the file is empty; %s", f.base,
                             advice);
        else
            rc = host->error(err, ML_ERR_FORMAT,
                             "cifar10: %s: %lld bytes%s is not a whole number of %d-byte "
                             "records; the file is truncated or not CIFAR-10 binary%s; %s",
                             f.base, (long long)n, f.compressed ? " (uncompressed)" : "",
                             CIFAR_RECORD,
                             n % (CIFAR_RECORD + 1) == 0
                                 ? " (its size fits CIFAR-100's 3074-byte records)" : "",
                             advice);
    }
    ml_data_file_close(&f);
    if (rc == 0)
        *bytes = n;
    return rc;
}

/* Read a batch file of `bytes` bytes (as sized by cifar_size) into dst. */
static int cifar_fill(const ml_host *host, const char *path, int64_t bytes, uint8_t *dst,
                      ml_err *err)
{
    ml_data_file f;
    size_t got = 0;
    uint8_t extra;
    int rc = ml_data_file_open(host, &f, path, "cifar10", err);

    if (rc)
        return rc;
    rc = ml_data_file_read(host, &f, dst, (size_t)bytes, &got, err);
    if (rc == 0 && (int64_t)got == bytes)
        rc = ml_data_file_read(host, &f, &extra, 1, &got, err);
    else if (rc == 0)
        got = 1;   /* shorter than when it was sized */
    if (rc == 0 && (got != 0 || f.truncated))
        rc = host->error(err, ML_ERR_IO, "cifar10: %s changed while it was being read",
                         path);
    ml_data_file_close(&f);
    return rc;
}

/* batches.meta.txt, when given: one class name a line, ten of them (blank lines aside).
 * Checked so that a wrong or damaged member is caught here rather than mislabelling. */
static int cifar_check_meta(const ml_host *host, const char *path, const char *dataset,
                            ml_err *err)
{
    ml_data_file f;
    char buf[4096], advice[160];
    size_t got = 0;
    int names = 0, in_name = 0;
    int rc = ml_data_file_open(host, &f, path, "cifar10", err);

    if (rc)
        return rc;
    rc = ml_data_file_read(host, &f, buf, sizeof buf, &got, err);
    if (rc == 0) {
        for (size_t i = 0; i < got; i++) {
            char ch = buf[i];
            if (ch == '\n') {
                in_name = 0;
            } else if (ch != ' ' && ch != '\t' && ch != '\r' && !in_name) {
                in_name = 1;
                names++;
            }
        }
        if (got == sizeof buf || names != CIFAR_CLASSES)
            rc = host->error(err, ML_ERR_FORMAT,
                             "cifar10: %s: %s%d class names, want %d (one per line); the file "
                             "is not CIFAR-10's batches.meta.txt; %s",
                             f.base, got == sizeof buf ? "over " : "", names, CIFAR_CLASSES,
                             ml_data_advice(advice, sizeof advice, dataset));
    }
    ml_data_file_close(&f);
    return rc;
}

static void cifar_close(void *self)
{
    cifar_set *s = self;
    if (!s)
        return;
    s->host->free(s->rec);
    s->host->free(s);
}

static int cifar_open(const ml_host *host, const ml_opts *opts, void **self, ml_err *err)
{
    const char *batches = host->opt_str(opts, "batches");
    const char *files = host->opt_str(opts, "files");
    const char *meta = host->opt_str(opts, "classes");
    const char *dataset = host->opt_str(opts, "dataset");
    const int scale = host->opt_bool(opts, "scale");
    cifar_files fl;
    cifar_set *s = NULL;
    int64_t total = 0;
    int rc;

    memset(&fl, 0, sizeof fl);
    batches = batches ? batches : "";
    files = files ? files : "";
    if (!batches[0] && !files[0])
        return host->error(err, ML_ERR_INVALID,
                           "cifar10: no batch files: set batches (or its synonym files) to the "
                           "batch files separated by ':'");
    if (batches[0] && files[0] && strcmp(batches, files) != 0)
        return host->error(err, ML_ERR_INVALID,
                           "cifar10: both batches and files are set, to different lists; "
                           "files is a synonym of batches: set one");
    if (meta && meta[0]) {
        rc = cifar_check_meta(host, meta, dataset, err);
        if (rc)
            return rc;
    }
    rc = cifar_files_split(host, batches[0] ? batches : files,
                           batches[0] ? "batches" : "files", &fl, err);
    if (rc)
        goto fail;
    for (int i = 0; i < fl.n; i++) {
        rc = cifar_size(host, fl.path[i], dataset, &fl.bytes[i], err);
        if (rc)
            goto fail;
        total += fl.bytes[i];
    }
    s = host->zalloc(sizeof *s);
    if (!s) {
        rc = host->error(err, ML_ERR_NOMEM, "cifar10: out of memory");
        goto fail;
    }
    s->host = host;
    s->count = total / CIFAR_RECORD;
    s->rec = ml_data_alloc(host, (size_t)total, "cifar10", "the records", err);
    if (!s->rec) {
        rc = ML_ERR_NOMEM;
        goto fail;
    }
    uint8_t *dst = s->rec;
    for (int i = 0; i < fl.n; dst += fl.bytes[i], i++) {
        rc = cifar_fill(host, fl.path[i], fl.bytes[i], dst, err);
        if (rc)
            goto fail;
        for (int64_t r = 0; r < fl.bytes[i] / CIFAR_RECORD; r++) {
            unsigned label = dst[r * CIFAR_RECORD];
            if (label >= CIFAR_CLASSES) {
                char advice[160];
                rc = host->error(err, ML_ERR_FORMAT,
                                 "cifar10: %s: record %lld has label %u, not 0..9; the file is "
                                 "corrupt or not CIFAR-10 binary; %s",
                                 ml_data_base(fl.path[i]), (long long)r, label,
                                 ml_data_advice(advice, sizeof advice, dataset));
                goto fail;
            }
        }
    }
    s->div = scale ? 255.0f : 1.0f;
    cifar_files_free(host, &fl);
    *self = s;
    return 0;
fail:
    cifar_files_free(host, &fl);
    cifar_close(s);
    return rc;
}

static int cifar_info(void *self, ml_data_info *info, ml_err *err)
{
    const cifar_set *s = self;
    memset(info, 0, sizeof *info);
    info->size = s->count;
    info->x_shape.ndim = 3;
    info->x_shape.dim[0] = 3;
    info->x_shape.dim[1] = 32;
    info->x_shape.dim[2] = 32;
    info->y_shape.ndim = 0;
    info->classes = CIFAR_CLASSES;
    return 0;
}

/* Called every batch: floats (read) or the stored bytes (read_raw, for the host's transform
 * pipeline). x or y may be NULL to read only the other. */
static int cifar_examples(const cifar_set *s, const int64_t *indices, int32_t n, float *x,
                      uint8_t *raw, float *y, ml_err *err)
{
    if (n < 0)
        return s->host->error(err, ML_ERR_INVALID, "cifar10: read of %d examples", (int)n);
    for (int32_t i = 0; i < n; i++) {
        const int64_t k = indices[i];
        if (k < 0 || k >= s->count)
            return s->host->error(err, ML_ERR_INVALID,
                                  "cifar10: example index %lld is outside 0..%lld",
                                  (long long)k, (long long)(s->count - 1));
        const uint8_t *r = s->rec + k * CIFAR_RECORD;
        if (x)
            ml_data_bytes_to_float(x + (int64_t)i * CIFAR_PIXELS, r + 1, CIFAR_PIXELS, s->div);
        if (raw)
            memcpy(raw + (int64_t)i * CIFAR_PIXELS, r + 1, CIFAR_PIXELS);
        if (y)
            y[i] = (float)r[0];
    }
    return 0;
}

static int cifar_read(void *self, const int64_t *indices, int32_t n, float *x, float *y,
                      ml_err *err)
{
    return cifar_examples(self, indices, n, x, NULL, y, err);
}

static int cifar_read_raw(void *self, const int64_t *indices, int32_t n, void *x, float *y,
                          ml_err *err)
{
    return cifar_examples(self, indices, n, NULL, x, y, err);
}

static int cifar_raw_format(void *self, int32_t *dtype, float *div, ml_err *err)
{
    (void)err;
    *dtype = ML_DTYPE_U8;
    *div = ((const cifar_set *)self)->div;
    return 0;
}

static const ml_opt_spec cifar_options[] = {
    {"batches", ML_OPT_STRING, "",
     "batch files separated by ':' (data_batch_1.bin:...:data_batch_5.bin), gzip or raw",
     NULL},
    {"files", ML_OPT_STRING, "", "synonym of batches", NULL},
    {"classes", ML_OPT_STRING, "",
     "batches.meta.txt (optional): checked to hold the 10 class names", NULL},
    ML_DATA_OPT_SCALE,
    ML_DATA_OPT_DATASET,
    {NULL, 0, NULL, NULL, NULL}};

const ml_entry ml_data_cifar10_entry = ML_ENTRY_INIT(ML_KIND_DATASET, "cifar10", "1.0.0",
    "CIFAR-10 binary batches (label byte + 3x32x32 pixel bytes per record)", cifar_options,
    NULL, ml_dataset_vtable, .open = cifar_open, .close = cifar_close, .info = cifar_info,
    .read = cifar_read, .raw_format = cifar_raw_format, .read_raw = cifar_read_raw);
