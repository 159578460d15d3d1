/* SPDX-License-Identifier: MIT */
/* One URL to one file with libcurl: resumable .part transfers, retries, progress. */
#ifndef MODLAB_CORE_FETCH_H
#define MODLAB_CORE_FETCH_H

#include <stdint.h>

#include <modlab/plugin.h>

enum { ML_FETCH_MAX_REDIRS = 5 };

typedef struct ml_fetch_opts {
    const char *label;       /* shown on progress lines, e.g. "fashion-mnist: t10k-labels.gz" */
    int progress;            /* 1: a \r-updated line on a terminal, plain lines otherwise */
    int allow_network;       /* 0: only file:// URLs (MODLAB_OFFLINE=1) */
    int64_t expect_size;     /* for the percentage when the server sends no length; -1 */
    long connect_timeout;    /* seconds; 0: 30 */
    long low_speed_time;     /* abort below 100 B/s for this many seconds; 0:
                              * MODLAB_FETCH_LOW_SPEED_TIME, else 60 */
    int max_attempts;        /* transfers that may resume after a mid-file failure; 0: 4 */
    int64_t max_size;        /* the file is never longer than this (the manifest's size):
                              * a server sending more is stopped there; 0 or -1: no cap */
    int max_is_limit;        /* 1: max_size is a manifest's max_size for a file whose size
                              * is not pinned (the message says to raise it), not a size */
} ml_fetch_opts;

typedef struct ml_fetch_result {
    int64_t bytes;           /* size of the finished .part file */
    int64_t resumed_from;    /* byte offset of the last resumed request, or 0 */
    int attempts;            /* transfers made */
    long http_code;          /* last HTTP status (0 for file://) */
    double seconds;          /* wall time of all attempts */
} ml_fetch_result;

/* Transfer `url` into `part`. Only http://, https:// and file:// URLs, and redirects
 * (at most ML_FETCH_MAX_REDIRS) only to http:// and https://; anything else is refused.
 * An existing `part` that was started from the same URL (its origin is kept next to it in
 * `part`.src) is resumed with a Range request; a server that answers 200 instead of 206
 * restarts it from zero. Mid-transfer failures are retried with resume while they make
 * progress. On success `part` is complete (not yet verified) and
 * `res` is filled. On failure a non-empty `part` may remain for a later resume (an empty
 * one, or one that filled the disk, is removed), and err->msg holds a
 * short reason without the URL ("HTTP 404", "connection reset after 1000 bytes", ...):
 * ML_ERR_NOT_FOUND (404, 410, missing file://), ML_ERR_NETWORK, ML_ERR_IO,
 * ML_ERR_UNSUPPORTED (network URL while offline, another scheme, a redirect to one) or
 * ML_ERR_FORMAT (more bytes than max_size: `part` is deleted, it cannot be right). */
int mli_fetch_url(const char *url, const char *part, const ml_fetch_opts *o,
                 ml_fetch_result *res, ml_err *err);

/* Remove `part` and its origin note; missing files are fine. */
void mli_fetch_discard(const char *part);

/* "12.3 MB" style size into buf. */
const char *mli_fetch_fmt_bytes(double bytes, char *buf, size_t cap);

#endif
