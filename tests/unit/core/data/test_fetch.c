/* SPDX-License-Identifier: MIT */
/* mli_fetch_url against the loopback fault server and file:// URLs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/fetch.h"
#include "http_fault_server.h"
#include "base/mem.h"
#include "tap.h"

static char dir[] = "/tmp/modlab-test-fetch-XXXXXX";

/* 1 when `file` holds exactly the generated content of `path`. */
static int same_as_generated(const char *file, const char *path, int64_t size)
{
    FILE *f = fopen(file, "rb");
    uint8_t a[4096], b[4096];
    int64_t off = 0;
    int same = f != NULL;
    while (same) {
        size_t n = fread(a, 1, sizeof a, f);
        if (n == 0)
            break;
        hfs_fill(path, off, b, n);
        same = memcmp(a, b, n) == 0;
        off += (int64_t)n;
    }
    if (f)
        fclose(f);
    return same && off == size;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* A .part of n bytes and its .src origin note naming url, as an interrupted earlier fetch
 * leaves them behind. */
static void plant_part(const char *part, const void *data, size_t n, const char *url)
{
    char src[600];
    FILE *f = fopen(part, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
    snprintf(src, sizeof src, "%s.src", part);
    f = fopen(src, "wb");
    if (f) {
        fputs(url, f);
        fclose(f);
    }
}

int main(void)
{
    enum { BIG = 300000 };
    hfs_rule rules[] = {
        {"/ok.bin", BIG, "ok"},
        {"/reset.bin", BIG, "reset:100000,ok"},
        {"/norange.bin", BIG, "norange"},
        {"/gone.bin", 10, "404"},
        {"/err.bin", 10, "500"},
        {"/moved.bin", 10, "redirect:/ok.bin"},
        {"/resetonly.bin", BIG, "reset:1000,reset:1000,reset:1000,reset:1000"},
        {"/stall.bin", BIG, "stall:20000:1,ok"},
        {"/silent.bin", BIG, "stall:0:4"},
        {"/loop.bin", 10, "redirect:/loop.bin"},
        /* a chain one longer than the cap: /c0 -> /c1 -> ... -> /c6 -> /ok.bin */
        {"/c0", 10, "redirect:/c1"}, {"/c1", 10, "redirect:/c2"},
        {"/c2", 10, "redirect:/c3"}, {"/c3", 10, "redirect:/c4"},
        {"/c4", 10, "redirect:/c5"}, {"/c5", 10, "redirect:/c6"},
        {"/c6", 10, "redirect:/ok.bin"},
        {"/tofile.bin", 10, "redirect:file:///etc/passwd"},
        {"/more.bin", 1000, "more:5000"},
        {"/bigcl.bin", 1000, "bigcl:5000"},
        {"/liecl.bin", 1000, "liecl:5000"},
        {"/drip.bin", 100000, "drip:50"},
    };
    char url[700], part[512], log[8192];
    ml_fetch_opts o = {.label = "test", .allow_network = 1, .expect_size = -1};
    ml_fetch_result r;
    ml_err err = {0};
    hfs s;

    if (!mkdtemp(dir))
        return 1;
    ok(hfs_start(&s, rules, (int)(sizeof rules / sizeof rules[0]), 96, 60) == 0,
       "fault server started");
    snprintf(part, sizeof part, "%s/a.part", dir);

    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok.bin", s.port);
    is_int(mli_fetch_url(url, part, &o, &r, &err), 0, "plain download");
    ok(same_as_generated(part, "/ok.bin", BIG), "bytes are right");
    is_int(r.bytes, BIG, "result size");
    is_int(r.attempts, 1, "one attempt");
    is_int(r.http_code, 200, "HTTP 200");
    hfs_log(&s, log, sizeof log);
    like(log, "GET /ok.bin range=- -> ok ua=modlab/", "User-Agent modlab/VERSION");
    {
        char src[600];
        snprintf(src, sizeof src, "%s.src", part);
        ok(exists(part) && !exists(src), "origin note removed after success");
    }
    mli_fetch_discard(part);

    snprintf(url, sizeof url, "http://127.0.0.1:%d/reset.bin", s.port);
    is_int(mli_fetch_url(url, part, &o, &r, &err), 0, "reset mid-file, then resumed");
    is_int(r.attempts, 2, "two attempts");
    is_int(r.resumed_from, 100000, "resumed at the cut");
    is_int(r.http_code, 206, "the second answer was 206");
    ok(same_as_generated(part, "/reset.bin", BIG), "resumed file is right");
    hfs_log(&s, log, sizeof log);
    like(log, "GET /reset.bin range=bytes=100000- -> ok",
         "the second request asked for a range");
    mli_fetch_discard(part);

    {
        ml_fetch_opts o1 = o;
        o1.max_attempts = 1;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/resetonly.bin", s.port);
        ok(mli_fetch_url(url, part, &o1, &r, &err) != 0, "a reset with no retries fails");
        like(err.msg, "after", "the reason says how far it got");
        ok(exists(part), "the .part stays for a later resume");
        is_int(mli_fetch_url(url, part, &o, &r, &err), ML_ERR_NETWORK,
               "retries stop after max_attempts");
        mli_fetch_discard(part);
    }
    /* A .part left by an earlier run from the same URL, but the server ignores Range. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/norange.bin", s.port);
    plant_part(part, "0123456789", 10, url);
    is_int(mli_fetch_url(url, part, &o, &r, &err), 0, "server ignores Range");
    ok(same_as_generated(part, "/norange.bin", BIG), "200 instead of 206 restarted from zero");
    is_int(r.resumed_from, 0, "not counted as resumed");
    hfs_log(&s, log, sizeof log);
    like(log, "GET /norange.bin range=bytes=10- -> norange", "it did ask for a range");
    mli_fetch_discard(part);

    /* A .part from another URL is not resumed. */
    plant_part(part, "0123456789", 10, "http://elsewhere/x");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok.bin", s.port);
    is_int(mli_fetch_url(url, part, &o, &r, &err), 0, "download over a foreign .part");
    ok(same_as_generated(part, "/ok.bin", BIG), "foreign .part discarded, bytes right");
    hfs_log(&s, log, sizeof log);
    ok(!strstr(log, "/ok.bin range=bytes"), "no range asked for the foreign .part");
    mli_fetch_discard(part);

    {
        ml_fetch_opts o1 = o;
        o1.low_speed_time = 1;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/stall.bin", s.port);
        is_int(mli_fetch_url(url, part, &o1, &r, &err), 0, "a transfer cut short after a stall");
        is_int(r.attempts, 2, "is resumed");
        is_int(r.resumed_from, 20000, "from where it stopped");
        ok(same_as_generated(part, "/stall.bin", BIG), "stalled-then-resumed bytes are right");
        mli_fetch_discard(part);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/silent.bin", s.port);
        double t0 = (double)time(NULL);
        is_int(mli_fetch_url(url, part, &o1, &r, &err), ML_ERR_NETWORK,
               "a silent server trips the low-speed limit");
        like(err.msg, "slow", "the reason says so");
        ok((double)time(NULL) - t0 < 4, "before the server gives up");
        mli_fetch_discard(part);
    }

    snprintf(url, sizeof url, "http://127.0.0.1:%d/gone.bin", s.port);
    is_int(mli_fetch_url(url, part, &o, &r, &err), ML_ERR_NOT_FOUND, "404 is not-found");
    is_str(err.msg, "HTTP 404", "404 reason");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/err.bin", s.port);
    is_int(mli_fetch_url(url, part, &o, &r, &err), ML_ERR_NETWORK, "500 is a network error");
    is_str(err.msg, "HTTP 500", "500 reason");
    snprintf(url, sizeof url, "http://127.0.0.1:%d/moved.bin", s.port);
    is_int(mli_fetch_url(url, part, &o, &r, &err), 0, "redirect followed");
    ok(same_as_generated(part, "/ok.bin", BIG), "redirected bytes are right");
    mli_fetch_discard(part);

    snprintf(url, sizeof url, "http://127.0.0.1:%d/loop.bin", s.port);
    is_int(mli_fetch_url(url, part, &o, &r, &err), ML_ERR_NETWORK, "a redirect loop stops");
    like(err.msg, "redirects", "redirect cap message");
    mli_fetch_discard(part);

    /* Schemes: only http, https and file; redirects only to http and https. */
    {
        static const char *bad[] = {"ftp://127.0.0.1/x.bin", "gopher://127.0.0.1/x",
                                    "scp://127.0.0.1/x", "dict://127.0.0.1/x"};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            is_int(mli_fetch_url(bad[i], part, &o, &r, &err), ML_ERR_UNSUPPORTED, bad[i]);
            like(err.msg, "only http://, https:// and file:// URLs", "and the reason says so");
        }
        ok(!exists(part), "nothing was written for them");
        snprintf(url, sizeof url, "http://127.0.0.1:%d/tofile.bin", s.port);
        is_int(mli_fetch_url(url, part, &o, &r, &err), ML_ERR_UNSUPPORTED,
               "a redirect to file:// is refused");
        like(err.msg, "refused a redirect to file:///etc/passwd: redirects may only lead to "
             "http:// or https://", "naming the target and the rule");
        mli_fetch_discard(part);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/c0", s.port);
        is_int(mli_fetch_url(url, part, &o, &r, &err), ML_ERR_NETWORK,
               "a chain of 7 redirects (the cap is 5) stops");
        like(err.msg, "too many redirects (more than 5)", "with a clear message");
        hfs_log(&s, log, sizeof log);
        ok(strstr(log, "GET /c5 ") && !strstr(log, "GET /c6 "), "after following 5 of them");
        mli_fetch_discard(part);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/c2", s.port);
        is_int(mli_fetch_url(url, part, &o, &r, &err), 0, "a chain of exactly 5 is followed");
        ok(same_as_generated(part, "/ok.bin", BIG), "to the right bytes");
        mli_fetch_discard(part);
    }

    /* More bytes than the manifest's size: stopped at the cap, nothing kept. */
    {
        ml_fetch_opts oc = o;
        char src[600];
        oc.max_size = 1000;
        snprintf(src, sizeof src, "%s.src", part);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/more.bin", s.port);
        is_int(mli_fetch_url(url, part, &oc, &r, &err), ML_ERR_FORMAT,
               "no Content-Length and 6000 bytes for a 1000-byte file: stopped");
        like(err.msg, "sent more than the expected 1.0 kB (1000 bytes); stopped there "
             "and deleted the partial file", "the message says what and what was done");
        ok(!exists(part) && !exists(src), "no partial file, no origin note");
        snprintf(url, sizeof url, "http://127.0.0.1:%d/bigcl.bin", s.port);
        is_int(mli_fetch_url(url, part, &oc, &r, &err), ML_ERR_FORMAT,
               "an honest Content-Length of 6000 for a 1000-byte file: refused");
        like(err.msg, "announced more than the expected 1.0 kB", "before downloading");
        ok(!exists(part) && !exists(src), "no partial file, no origin note");
        snprintf(url, sizeof url, "http://127.0.0.1:%d/liecl.bin", s.port);
        is_int(mli_fetch_url(url, part, &oc, &r, &err), 0,
               "a Content-Length claiming 1000 with 6000 sent: read up to the claim");
        is_int(r.bytes, 1000, "and no byte past it is kept");
        ok(same_as_generated(part, "/liecl.bin", 1000), "the 1000 bytes are the file's");
        mli_fetch_discard(part);
        oc.max_size = 0;
        snprintf(url, sizeof url, "http://127.0.0.1:%d/more.bin", s.port);
        is_int(mli_fetch_url(url, part, &oc, &r, &err), 0, "without a cap it is all read");
        is_int(r.bytes, 6000, "all 6000 bytes");
        mli_fetch_discard(part);
    }

    /* A server that drips a byte every 50 ms (20 B/s) forever: the low-speed limit ends it,
     * its time set from the environment. */
    {
        ml_fetch_opts od = o;
        od.max_attempts = 1;
        setenv("MODLAB_FETCH_LOW_SPEED_TIME", "1", 1);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/drip.bin", s.port);
        double t0 = now_s();
        is_int(mli_fetch_url(url, part, &od, &r, &err), ML_ERR_NETWORK,
               "a dripping server times out");
        double took = now_s() - t0;
        like(err.msg, "too slow: under 100 B/s for 1 s (MODLAB_FETCH_LOW_SPEED_TIME) after ",
             "the message says why, and the setting");
        ok(took < 4, "within a few seconds (%.1f s)", took);
        unsetenv("MODLAB_FETCH_LOW_SPEED_TIME");
        mli_fetch_discard(part);
    }

    /* A full disk (here: a file size limit) is our problem, reported with the path. */
    {
        struct rlimit old, lim;
        getrlimit(RLIMIT_FSIZE, &old);
        lim = old;
        lim.rlim_cur = 100000;
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &lim);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/ok.bin", s.port);
        is_int(mli_fetch_url(url, part, &o, &r, &err), ML_ERR_IO, "write failure is an I/O error");
        like(err.msg, part, "it names the file");
        setrlimit(RLIMIT_FSIZE, &old);
        /* A disk filled by a download is given back: the .part is not kept for a resume. */
        ok(access(part, F_OK) != 0, "the partial file of a full disk is deleted");
        like(err.msg, "deleted the partial file to give the space back", "and it says so");
        mli_fetch_discard(part);
    }

    o.allow_network = 0;
    is_int(mli_fetch_url(url, part, &o, &r, &err), ML_ERR_UNSUPPORTED, "offline refuses http");
    like(err.msg, "MODLAB_OFFLINE", "offline reason");
    o.allow_network = 1;
    hfs_stop(&s);

    snprintf(url, sizeof url, "http://127.0.0.1:%d/ok.bin", s.port);
    ok(mli_fetch_url(url, part, &o, &r, &err) == ML_ERR_NETWORK, "stopped server: error");
    tap_diag("connection refused reads: %s", err.msg);

    /* file:// */
    {
        char src[600];
        snprintf(src, sizeof src, "%s/source.bin", dir);
        hfs_write_file("/ok.bin", 12345, src);
        snprintf(url, sizeof url, "file://%s", src);
        o.allow_network = 0;
        is_int(mli_fetch_url(url, part, &o, &r, &err), 0, "file:// works offline");
        ok(same_as_generated(part, "/ok.bin", 12345), "file:// bytes are right");
        mli_fetch_discard(part);
        /* Resume over file:// too. */
        uint8_t head[100];
        hfs_fill("/ok.bin", 0, head, sizeof head);
        plant_part(part, head, sizeof head, url);
        is_int(mli_fetch_url(url, part, &o, &r, &err), 0, "file:// resume");
        is_int(r.resumed_from, 100, "resumed at 100");
        ok(same_as_generated(part, "/ok.bin", 12345), "file:// resumed bytes are right");
        mli_fetch_discard(part);
        snprintf(url, sizeof url, "file://%s/missing.bin", dir);
        is_int(mli_fetch_url(url, part, &o, &r, &err), ML_ERR_NOT_FOUND, "missing file://");
        snprintf(src, sizeof src, "%s/source.bin", dir);
        unlink(src);
        mli_fetch_discard(part);
    }
    rmdir(dir);
    return done_testing();
}
