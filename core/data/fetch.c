/* SPDX-License-Identifier: MIT */
/* libcurl transfer of one URL to a .part file: resume, retry, progress, clear reasons. */
#ifdef HAVE_CONFIG_H
#include <config.h>
#endif

#include "data/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <modlab/modlab.h>

#include "base/err.h"
#include "base/fileio.h"
#include "base/mem.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

enum { SRC_MAX = 2048 };

typedef struct xfer {
    FILE *f;
    const char *part;
    const ml_fetch_opts *o;
    CURL *curl;
    int64_t offset;        /* bytes already in the file when this request started */
    int64_t written;       /* bytes written by this request */
    int restarted;         /* server ignored Range: file truncated, offset now 0 */
    int checked;           /* first body byte seen (status checked) */
    int write_errno;
    const char *url;       /* as asked for (a redirect is told apart by its URL) */
    int too_big;           /* the body went past o->max_size: stopped there */
    int tty;
    double t0, last_draw;
} xfer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *mli_fetch_fmt_bytes(double b, char *buf, size_t cap)
{
    if (b >= 1e9)
        snprintf(buf, cap, "%.2f GB", b / 1e9);
    else if (b >= 1e6)
        snprintf(buf, cap, "%.1f MB", b / 1e6);
    else if (b >= 1e3)
        snprintf(buf, cap, "%.1f kB", b / 1e3);
    else
        snprintf(buf, cap, "%.0f B", b);
    return buf;
}

static CURLcode init_rc;

static void init_once(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int global_init(ml_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_once);
    if (init_rc != CURLE_OK)
        return mli_error(err, ML_ERR_NETWORK, "libcurl failed to initialise: %s",
                        curl_easy_strerror(init_rc));
    return 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *user)
{
    xfer *x = user;
    size_t n = size * nmemb;
    if (!x->checked) {
        long code = 0;
        x->checked = 1;
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
        if (x->offset > 0 && code == 200) {
            /* Range ignored: the body is the whole file; start over. */
            if (fflush(x->f) || ftruncate(fileno(x->f), 0) || fseek(x->f, 0, SEEK_SET)) {
                x->write_errno = errno;
                return 0;
            }
            x->offset = 0;
            x->restarted = 1;
        }
    }
    if (x->o->max_size > 0 && x->offset + x->written + (int64_t)n > x->o->max_size) {
        x->too_big = 1;   /* keep nothing past the cap: the file is wrong anyway */
        return 0;
    }
    if (fwrite(data, 1, n, x->f) != n) {
        x->write_errno = errno ? errno : EIO;
        return 0;
    }
    x->written += (int64_t)n;
    return n;
}

static void draw(xfer *x, int64_t now, int64_t total, int final)
{
    char a[32], b[32], r[32];
    double dt = now_s() - x->t0;
    double rate = dt > 0 ? (double)x->written / dt : 0;
    mli_fetch_fmt_bytes((double)now, a, sizeof a);
    mli_fetch_fmt_bytes(rate, r, sizeof r);
    if (total > 0)
        fprintf(stderr, "\r%s: %s / %s (%3.0f%%) %s/s   ", x->o->label, a,
                mli_fetch_fmt_bytes((double)total, b, sizeof b),
                100.0 * (double)now / (double)total, r);
    else
        fprintf(stderr, "\r%s: %s %s/s   ", x->o->label, a, r);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    xfer *x = user;
    double t = now_s();
    int64_t total = dltotal > 0 ? x->offset + (int64_t)dltotal : x->o->expect_size;
    if (x->tty && t - x->last_draw >= 0.2) {
        x->last_draw = t;
        draw(x, x->offset + (int64_t)dlnow, total, 0);
    }
    return 0;
}

static int read_src(const char *part, char *buf, size_t cap)
{
    char path[SRC_MAX];
    FILE *f;
    size_t n;
    snprintf(path, sizeof path, "%s.src", part);
    f = fopen(path, "rb");
    if (!f)
        return -1;
    n = fread(buf, 1, cap - 1, f);
    fclose(f);
    buf[n] = '\0';
    return 0;
}

/* The URL a .part file came from (a resume continues only from the same one), written
 * crash-safely so a torn name never makes a mismatched resume. */
static int write_src(const char *part, const char *url, ml_err *err)
{
    char path[SRC_MAX];
    snprintf(path, sizeof path, "%s.src", part);
    return ml_file_write_atomic(path, url, strlen(url), err);
}

void mli_fetch_discard(const char *part)
{
    char path[SRC_MAX];
    snprintf(path, sizeof path, "%s.src", part);
    unlink(part);
    unlink(path);
}

/* Outcome of one request. */
enum { X_DONE, X_RETRY, X_RESTART, X_FAIL };

static long low_speed_time(const ml_fetch_opts *o)
{
    const char *e = getenv("MODLAB_FETCH_LOW_SPEED_TIME");
    if (o->low_speed_time > 0)
        return o->low_speed_time;
    return e && atol(e) > 0 ? atol(e) : 60L;
}

/* A write error that means "no room": the partial file is deleted rather than left
 * holding the disk full for a resume that cannot finish there either. */
static int disk_full(int e)
{
    return e == ENOSPC || e == EFBIG || e == EDQUOT;
}

static int classify(CURLcode cc, xfer *x, long code, const char *errbuf, ml_err *err)
{
    char a[32], b[32];
    char *to = NULL;
    if (x->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        mli_fetch_fmt_bytes((double)x->o->max_size, a, sizeof a);
        if (x->o->max_is_limit)
            mli_error(err, ML_ERR_FORMAT, "the server %s more than the max_size of %s (%lld "
                     "bytes) allowed for a file whose size the manifest does not pin; %s: if "
                     "the file really is that large, raise max_size in the manifest",
                     x->too_big ? "sent" : "announced", a, (long long)x->o->max_size,
                     x->too_big ? "stopped there and deleted the partial file"
                                : "refused before downloading");
        else
            mli_error(err, ML_ERR_FORMAT, "the server %s more than the expected %s (%lld "
                     "bytes); %s: the mirror has another file under that name",
                     x->too_big ? "sent" : "announced", a, (long long)x->o->max_size,
                     x->too_big ? "stopped there and deleted the partial file"
                                : "refused before downloading");
        return X_FAIL;
    }
    switch (cc) {
    case CURLE_TOO_MANY_REDIRECTS:
        mli_error(err, ML_ERR_NETWORK, "too many redirects (more than %d); the mirror's URL "
                 "is probably wrong or the server loops: fix the manifest or MODLAB_MIRROR",
                 ML_FETCH_MAX_REDIRS);
        return X_FAIL;
    case CURLE_OPERATION_TIMEDOUT:
        if (x->written > 0 || strstr(errbuf, "too slow")) {   /* not the connect timeout */
            mli_error(err, ML_ERR_NETWORK, "the server was too slow: under 100 B/s for %ld s "
                     "(MODLAB_FETCH_LOW_SPEED_TIME) after %s", low_speed_time(x->o),
                     mli_fetch_fmt_bytes((double)(x->offset + x->written), b, sizeof b));
            return x->written > 0 ? X_RETRY : X_FAIL;
        }
        break;
    case CURLE_UNSUPPORTED_PROTOCOL:
        curl_easy_getinfo(x->curl, CURLINFO_REDIRECT_URL, &to);
        if (!to)
            curl_easy_getinfo(x->curl, CURLINFO_EFFECTIVE_URL, &to);
        if (to && x->url && strcmp(to, x->url) != 0) {
            mli_error(err, ML_ERR_UNSUPPORTED, "refused a redirect to %.200s: redirects may "
                     "only lead to http:// or https:// URLs", to);
            return X_FAIL;
        }
        break;
    default:
        break;
    }
    switch (cc) {
    case CURLE_OK:
        return X_DONE;
    case CURLE_HTTP_RETURNED_ERROR:
        if (code == 416 && x->offset > 0)
            return X_RESTART; /* .part longer than the file, or Range refused */
        mli_error(err, code == 404 || code == 410 ? ML_ERR_NOT_FOUND : ML_ERR_NETWORK,
                 "HTTP %ld", code);
        return X_FAIL;
    case CURLE_RANGE_ERROR:
        return X_RESTART;
    case CURLE_WRITE_ERROR:
        if (x->write_errno) {
            mli_error(err, ML_ERR_IO, "writing %s: %s%s", x->part, strerror(x->write_errno),
                     disk_full(x->write_errno) ? "; deleted the partial file to give the space "
                                                 "back: free some and fetch again" : "");
            return X_FAIL;
        }
        break;
    case CURLE_FILE_COULDNT_READ_FILE:
        mli_error(err, ML_ERR_NOT_FOUND, "no such file");
        return X_FAIL;
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT:
        mli_error(err, ML_ERR_NETWORK, "%s after %s", *errbuf ? errbuf : curl_easy_strerror(cc),
                 mli_fetch_fmt_bytes((double)(x->offset + x->written), a, sizeof a));
        return x->written > 0 ? X_RETRY : X_FAIL;
    case CURLE_UNSUPPORTED_PROTOCOL:
        mli_error(err, ML_ERR_UNSUPPORTED, "%s", *errbuf ? errbuf : curl_easy_strerror(cc));
        return X_FAIL;
    default:
        break;
    }
    mli_error(err, ML_ERR_NETWORK, "%s", *errbuf ? errbuf : curl_easy_strerror(cc));
    return X_FAIL;
}

int mli_fetch_url(const char *url, const char *part, const ml_fetch_opts *o,
                 ml_fetch_result *res, ml_err *err)
{
    char src[SRC_MAX], errbuf[CURL_ERROR_SIZE], ua[64];
    ml_err local;
    ml_fetch_result r = {0};
    CURL *curl = NULL;
    xfer x = {0};
    int rc, is_file = strncasecmp(url, "file://", 7) == 0;
    int max_attempts = o->max_attempts > 0 ? o->max_attempts : 4, restarts = 0;
    double t_start = now_s();

    if (!err)
        err = &local;
    if (!is_file && strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8)) {
        rc = mli_error(err, ML_ERR_UNSUPPORTED, "refused: only http://, https:// and file:// "
                      "URLs are fetched, not '%.*s'; fix the mirror URL in the manifest or "
                      "MODLAB_MIRROR", (int)strcspn(url, "/") + 2, url);
        goto fail;
    }
    if (!is_file && !o->allow_network) {
        rc = mli_error(err, ML_ERR_UNSUPPORTED, "skipped: MODLAB_OFFLINE=1 allows only file://");
        goto fail;
    }
    if ((rc = global_init(err)))
        goto fail;
    /* Resume only what this URL started; anything else starts from zero. */
    if (mli_file_size(part) >= 0 && (read_src(part, src, sizeof src) || strcmp(src, url)))
        mli_fetch_discard(part);
    if (mli_file_size(part) < 0 && (rc = write_src(part, url, err)))
        goto fail;
    curl = curl_easy_init();
    if (!curl) {
        rc = mli_error(err, ML_ERR_NOMEM, "libcurl could not create a handle");
        goto fail;
    }
    snprintf(ua, sizeof ua, "modlab/%s", PACKAGE_VERSION);
    x.part = part;
    x.url = url;
    x.o = o;
    x.curl = curl;
    x.tty = o->progress && isatty(2);
    if (o->progress && !x.tty && !is_file)
        fprintf(stderr, "%s: fetching %s\n", o->label, url);

    for (;;) {
        CURLcode cc;
        long code = 0;
        int64_t have = mli_file_size(part);
        x.offset = have > 0 ? have : 0;
        x.written = 0;
        x.checked = 0;
        x.restarted = 0;
        x.write_errno = 0;
        x.too_big = 0;
        x.t0 = now_s();
        x.last_draw = 0;
        x.f = fopen(part, "ab");
        if (!x.f) {
            rc = mli_error(err, ML_ERR_IO, "cannot open %s: %s", part, strerror(errno));
            goto fail;
        }
        if (x.offset > 0 && o->progress && !x.tty)
            fprintf(stderr, "%s: resuming at byte %lld\n", o->label, (long long)x.offset);
        errbuf[0] = '\0';
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, url);
        curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, ua);
        curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L);
        curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(curl, CURLOPT_MAXREDIRS, (long)ML_FETCH_MAX_REDIRS);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, o->allow_network ? "http,https,file"
                                                                       : "file");
        curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
        curl_easy_setopt(curl, CURLOPT_PROTOCOLS,
                         o->allow_network ? CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE
                                          : CURLPROTO_FILE);
        curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                         o->connect_timeout > 0 ? o->connect_timeout : 30L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 100L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, low_speed_time(o));
        if (o->max_size > 0 && o->max_size > x.offset)   /* an honest Content-Length */
            curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE,
                             (curl_off_t)(o->max_size - x.offset));
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
        curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
        curl_easy_setopt(curl, CURLOPT_NOPROGRESS, x.tty ? 0L : 1L);
        curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &x);
        if (x.offset > 0)
            curl_easy_setopt(curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)x.offset);
        cc = curl_easy_perform(curl);
        r.attempts++;
        r.resumed_from = x.offset;  /* 0 after a restart from zero */
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        r.http_code = code;
        if (fclose(x.f) && cc == CURLE_OK) {
            x.f = NULL;
            x.write_errno = errno;   /* the last buffer did not fit: as for a failed write */
            rc = mli_error(err, ML_ERR_IO, "writing %s: %s%s", part, strerror(x.write_errno),
                          disk_full(x.write_errno) ? "; deleted the partial file to give the "
                                                     "space back: free some and fetch again"
                                                   : "");
            goto fail;
        }
        x.f = NULL;
        if (x.tty && cc != CURLE_OK)
            fputc('\n', stderr);
        switch (classify(cc, &x, code, errbuf, err)) {
        case X_DONE:
            goto done;
        case X_RESTART:
            if (++restarts > 2) {
                rc = mli_error(err, ML_ERR_NETWORK, "the server refuses to resume (%s)",
                              *errbuf ? errbuf : curl_easy_strerror(cc));
                goto fail;
            }
            if (truncate(part, 0)) {
                rc = mli_error(err, ML_ERR_IO, "cannot truncate %s: %s", part, strerror(errno));
                goto fail;
            }
            if (o->progress && !x.tty)
                fprintf(stderr, "%s: the server cannot resume; starting over\n", o->label);
            break;
        case X_RETRY:
            if (r.attempts >= max_attempts) {
                rc = err->code;
                goto fail;
            }
            if (o->progress)
                fprintf(stderr, "%s: %s; retrying\n", o->label, err->msg);
            break;
        default:
            rc = err->code;
            goto fail;
        }
    }
done:
    r.bytes = mli_file_size(part);
    r.seconds = now_s() - t_start;
    if (o->progress) {
        if (x.tty) {
            draw(&x, r.bytes, r.bytes, 1);
        } else {
            char a[32], b[32];
            fprintf(stderr, "%s: %s in %.1f s (%s/s)\n", o->label,
                    mli_fetch_fmt_bytes((double)r.bytes, a, sizeof a), r.seconds,
                    mli_fetch_fmt_bytes(r.seconds > 0 ? (double)r.bytes / r.seconds : 0, b,
                                       sizeof b));
        }
    }
    snprintf(src, sizeof src, "%s.src", part);
    unlink(src);
    curl_easy_cleanup(curl);
    if (res)
        *res = r;
    return 0;
fail:
    if (x.f)
        fclose(x.f);
    /* More bytes than the file has, none at all, or a full disk: nothing worth keeping. */
    if (x.too_big || rc == ML_ERR_FORMAT || mli_file_size(part) == 0 || disk_full(x.write_errno))
        mli_fetch_discard(part);
    if (curl)
        curl_easy_cleanup(curl);
    return rc;
}
