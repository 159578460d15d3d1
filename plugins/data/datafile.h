/* SPDX-License-Identifier: MIT */
/* Reading dataset files for the readers in plugins/data: raw or gzip, bounded, checked. */
#ifndef MODLAB_PLUGINS_DATA_DATAFILE_H
#define MODLAB_PLUGINS_DATA_DATAFILE_H

#include <modlab/plugin.h>

/* One open input file. zlib's gzread reads gzip streams and passes other files through
 * unchanged, so every reader accepts both forms of each file. With libdeflate, a gzip file
 * that decodes whole and clean is held decompressed in `mem` instead (see datafile.c). */
typedef struct ml_data_file {
    void *gz;             /* gzFile (void * so that users need not include zlib.h); NULL
                           * when the stream is held in mem */
    const ml_host *host;  /* frees mem */
    uint8_t *mem;         /* the whole decompressed stream (libdeflate), or NULL */
    size_t mem_len, mem_pos;
    const char *path;     /* borrowed from the caller */
    const char *base;     /* last component of path: what messages name */
    const char *who;      /* reader name that prefixes messages ("idx") */
    int64_t disk_bytes;   /* size on disk (the compressed size for gzip) */
    int compressed;       /* 1: gzip stream, 0: read as it is */
    int truncated;        /* set by reads: the gzip stream ended before its trailer */
} ml_data_file;

/* Deflate never expands data by more than about 1032:1, so a gzip file of `disk` bytes
 * cannot hold more than this many bytes: anything claiming more is truncated or hostile,
 * and is rejected before allocating for it. */
#define ML_DATA_GZ_MAX_RATIO 1040

/* Open `path` (a regular file). Errors name `who` and the path. */
int ml_data_file_open(const ml_host *host, ml_data_file *f, const char *path,
                      const char *who, ml_err *err);
void ml_data_file_close(ml_data_file *f);

/* Read up to n bytes into buf; *got = bytes read, fewer than n only at the end of the
 * stream. A gzip stream that stops early sets f->truncated and is not an error here:
 * callers know what the file should hold and word that message themselves. Corrupt gzip
 * data and read errors are errors (ML_ERR_FORMAT, ML_ERR_IO). */
int ml_data_file_read(const ml_host *host, ml_data_file *f, void *buf, size_t n,
                      size_t *got, ml_err *err);

/* When the stream is held decoded in memory and exactly n bytes of it are left: hand them
 * over as a host buffer (free it with host->free), leaving the file at its end. Otherwise
 * NULL, and the caller allocates and reads as usual. Saves a second copy of big payloads. */
uint8_t *ml_data_file_take(ml_data_file *f, size_t n);

/* Read and discard the rest of the stream, at most `limit` bytes; *rest = bytes seen.
 * Used to tell a user how much a truncated or oversized file really holds. */
int ml_data_file_skip_rest(const ml_host *host, ml_data_file *f, int64_t limit,
                           int64_t *rest, ml_err *err);

/* Bytes of the whole stream (decompressed for gzip): the disk size for plain files,
 * otherwise counted by decompressing, which also checks the gzip trailer. Leaves the file
 * rewound to its start. */
int ml_data_file_size(const ml_host *host, ml_data_file *f, int64_t *bytes, ml_err *err);

/* Rewind to the start of the (decompressed) stream. */
int ml_data_file_rewind(const ml_host *host, ml_data_file *f, ml_err *err);

/* The advice that ends a message about a damaged dataset file. `dataset` is the reader's
 * `dataset` option (the manifest name, may be ""). Returns a static or borrowed string
 * written into buf. */
const char *ml_data_advice(char *buf, size_t cap, const char *dataset);

/* Option rows every file reader's schema has (the same name, default and doc in each). */
#define ML_DATA_OPT_DATASET                                                                \
    {"dataset", ML_OPT_STRING, "", "dataset name used in messages (set by the manifest)",  \
     NULL}
#define ML_DATA_OPT_SCALE                                                                  \
    {"scale", ML_OPT_BOOL, "true", "divide pixels by 255 (to [0,1]); false keeps 0..255",  \
     NULL}

/* Last component of a path (the path itself when it has no '/'). */
const char *ml_data_base(const char *path);

/* o[j] = p[j] / div for j < n, exactly as the scalar division would give (div is 255 to
 * scale bytes to [0,1], 1 to keep them). Runs every batch: SSE2 does 16 bytes a step. */
void ml_data_bytes_to_float(float *o, const uint8_t *p, int64_t n, float div);

/* Allocate n bytes through the host, reporting failure as "<who>: out of memory ...". */
void *ml_data_alloc(const ml_host *host, size_t n, const char *who, const char *what,
                    ml_err *err);

#endif
