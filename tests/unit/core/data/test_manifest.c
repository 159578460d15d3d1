/* SPDX-License-Identifier: MIT */
/* Manifests end to end on loopback HTTP and file://: mirrors, resume, mismatches, offline,
 * per-mirror pins, the verified cache, tar.gz members, and clear errors for bad manifests. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <modlab/modlab.h>

#include "base/hash.h"
#include "http_fault_server.h"
#include "data/manifest.h"
#include "tap.h"
#include "tap_fs.h"

static char tmp[] = "/tmp/modlab-test-manifest-XXXXXX";
static char cache[600];
static hfs server;

#include "manifest_test.h"

static size_t hfs_log_read(char *buf, size_t cap)
{
    return hfs_log(&server, buf, cap);
}

static const char *cache_file(const char *ds, const char *name)
{
    static char p[2][900];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s/%s", cache, ds, name);
    return p[k];
}



static int same_as_generated(const char *file, const char *path, int64_t size)
{
    char a[ML_SHA256_HEX], b[ML_SHA256_HEX], m[ML_MD5_HEX];
    int64_t got = -1;
    if (mli_hash_file(file, a, NULL, &got, NULL))
        return 0;
    hfs_digest(path, size, b, m);
    return got == size && !strcmp(a, b);
}

/* A minimal ustar writer for the extraction tests. */
static void tar_add(gzFile gz, const char *name, const char *data, size_t len, char type)
{
    unsigned char h[512] = {0};
    unsigned sum = 0;
    snprintf((char *)h, 100, "%s", name);
    snprintf((char *)h + 100, 8, "%07o", 0644);
    snprintf((char *)h + 124, 12, "%011o", (unsigned)len);
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    gzwrite(gz, h, 512);
    gzwrite(gz, data, (unsigned)len);
    memset(h, 0, sizeof h);
    if (len % 512)
        gzwrite(gz, h, (unsigned)(512 - len % 512));
}

static void test_http_mirrors(int port)
{
    char sa[ML_SHA256_HEX], ma[ML_MD5_HEX], sb[ML_SHA256_HEX], mb[ML_MD5_HEX], log[8192];
    ml_err err = {0};
    const char *path;
    ml_manifest *m;
    hfs_digest("/m2/a.bin", 200000, sa, ma);
    hfs_digest("/m2/b.bin", 150000, sb, mb);
    path = write_manifest("loop", "name: loop\nformat: idx\nurls:\n"
                                  "  - http://127.0.0.1:%d/m1/\n"
                                  "  - http://127.0.0.1:%d/m2\n"
                                  "files:\n"
                                  "  - {name: a.bin, size: 200000, sha256: %s}\n"
                                  "  - {name: b.bin, md5: %s}\n"
                                  "splits:\n  train: {images: a.bin, labels: b.bin}\n"
                                  "options:\n  scale: 0.5\n  flat: true\n  note: hi\n",
                          port, port, sa, mb);
    if (!(m = manifest_loads(path, "loopback manifest loads")))
        return;
    is_str(ml_manifest_name(m), "loop", "name");
    is_str(ml_manifest_format(m), "idx", "format");
    is_int(ml_manifest_nsplits(m), 1, "one split");
    is_str(ml_manifest_split(m, 0), "train", "split name");
    is_int(mli_manifest_file_state(m, 0), ML_CACHE_MISSING, "nothing cached yet");
    is_int(ml_manifest_fetch(m, 0, &err), 0, "fetch: 404 on the first mirror, then the second");
    if (err.msg[0])
        tap_diag("%s", err.msg);
    ok(same_as_generated(cache_file("loop", "a.bin"), "/m2/a.bin", 200000), "a.bin right");
    ok(same_as_generated(cache_file("loop", "b.bin"), "/m2/b.bin", 150000),
       "b.bin right after a reset and a resume");
    hfs_log_read(log, sizeof log);
    like(log, "GET /m1/a.bin range=- -> 404", "first mirror asked first");
    like(log, "GET /m2/a.bin range=- -> ok", "then the second");
    like(log, "GET /m2/b.bin range=- -> reset:50000", "b.bin was cut");
    like(log, "GET /m2/b.bin range=bytes=50000- -> ok", "and resumed with a Range request");
    ok(!tap_exists("%s/loop/a.bin.part", cache) && !tap_exists("%s/loop/b.bin.part", cache) &&
           !tap_exists("%s/loop/b.bin.part.src", cache),
       "no .part files left");
    ok(tap_exists("%s/loop/a.bin.verified", cache), "a verified marker");
    is_int(mli_manifest_file_state(m, 0), ML_CACHE_VERIFIED, "state: verified");

    size_t before = strlen(log);
    is_int(ml_manifest_fetch(m, 0, &err), 0, "second fetch");
    hfs_log_read(log, sizeof log);
    is_int(strlen(log), before, "a verified cache makes no request");
    is_int(ml_manifest_verify(m, &err), 0, "verify re-hashes and passes");

    ml_opts *o = ml_manifest_split_opts(m, "train", &err);
    ok(o != NULL, "split options");
    if (o) {
        const char *json = ml_opts_json(o);
        char want[900];
        snprintf(want, sizeof want, "%s/loop/a.bin", cache);
        like(json, want, "images bound to the cached path");
        like(json, "labels", "labels role");
        like(json, "scale", "manifest option passed through");
        ml_opts_free(o);
    }
    ok(ml_manifest_split_opts(m, "nope", &err) == NULL, "unknown split");
    like(err.msg, "no split 'nope' (splits: train)", "unknown split message");

    /* Same size and mtime, other bytes: the cheap start-up check trusts the marker (it does
     * not re-hash), and verify re-hashes and notices. */
    {
        char *p = (char *)cache_file("loop", "b.bin");
        struct stat st0;
        stat(p, &st0);
        FILE *f = fopen(p, "r+b");
        fputc('Z', f);
        fclose(f);
        struct timespec ts[2] = {st0.st_atim, st0.st_mtim};
        utimensat(AT_FDCWD, p, ts, 0);
    }
    is_int(mli_manifest_file_state(m, 1), ML_CACHE_VERIFIED, "start-up check does not re-hash");
    is_int(ml_manifest_verify(m, &err), ML_ERR_CHECKSUM, "verify re-hashes and notices");
    like(err.msg, "loop: md5 mismatch for b.bin (got ", "verify names the file");
    ok(!tap_exists("%s/loop/b.bin.verified", cache), "verify drops the marker of a bad file");
    is_int(ml_manifest_fetch(m, 0, &err), 0, "fetch repairs it");
    ok(same_as_generated(cache_file("loop", "b.bin"), "/m2/b.bin", 150000),
       "b.bin right again");

    /* Corrupt the cached copy (same size): the marker no longer matches its mtime. */
    {
        FILE *f = fopen(cache_file("loop", "a.bin"), "r+b");
        fseek(f, 1000, SEEK_SET);
        fputc('X', f);
        fclose(f);
        sleep(0);
    }
    ok(mli_manifest_file_state(m, 0) != ML_CACHE_VERIFIED, "a modified file is not verified");
    is_int(ml_manifest_verify(m, &err), ML_ERR_CHECKSUM, "verify finds the corruption");
    like(err.msg, "loop: sha256 mismatch for a.bin", "verify message");
    is_int(ml_manifest_fetch(m, 0, &err), 0, "fetch replaces the corrupt copy");
    ok(same_as_generated(cache_file("loop", "a.bin"), "/m2/a.bin", 200000),
       "a.bin right again");
    ml_manifest_free(m);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Two processes fetch the same dataset at once: the cache lock makes one wait, then find
 * the file verified; only one download happens. */
static void test_concurrent(int port)
{
    char sa[ML_SHA256_HEX], ma[ML_MD5_HEX], log[8192];
    const char *path;
    pid_t pid[2];
    int okc = 0;
    hfs_digest("/m2/a.bin", 200000, sa, ma);
    path = write_manifest("conc", "name: conc\nformat: idx\nurls: [http://127.0.0.1:%d/m2/]\n"
                                  "files:\n  - {name: a.bin, sha256: %s}\n", port, sa);
    hfs_log_read(log, sizeof log);
    int before = count(log, "GET /m2/a.bin");
    fflush(stdout);
    for (int k = 0; k < 2; k++) {
        pid[k] = fork();
        if (pid[k] == 0) {
            ml_err e = {0};
            ml_manifest *m = ml_manifest_load(path, &e);
            int rc = m ? ml_manifest_fetch(m, 0, &e) : 1;
            ml_manifest_free(m);
            _exit(rc ? 1 : 0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int st = 0;
        waitpid(pid[k], &st, 0);
        okc += WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    is_int(okc, 2, "two concurrent fetches both succeed");
    ok(same_as_generated(cache_file("conc", "a.bin"), "/m2/a.bin", 200000), "the file is right");
    hfs_log_read(log, sizeof log);
    is_int(count(log, "GET /m2/a.bin") - before, 1, "and it was downloaded once");
}

static void test_mismatch(int port)
{
    char sha[ML_SHA256_HEX], md5[ML_MD5_HEX];
    ml_err err = {0};
    ml_manifest *m;
    hfs_digest("/bad/c.bin", 1000, sha, md5);
    if (!(m = manifest_loads(write_manifest("mism", "name: mism\nformat: idx\n"
                                                    "urls: [http://127.0.0.1:%d/bad/]\n"
                                                    "files:\n  - {name: c.bin, sha256: %s}\n",
                                            port, sha),
                             "mismatch manifest loads")))
        return;
    is_int(ml_manifest_fetch(m, 0, &err), ML_ERR_CHECKSUM, "wrong bytes: checksum error");
    like(err.msg, "mism: sha256 mismatch for c.bin (got ", "message says what and where");
    char want[40];
    snprintf(want, sizeof want, "want %.12s..", sha);
    like(err.msg, want, "shows the wanted digest");
    like(err.msg, "deleted the partial file, retry or check MODLAB_MIRROR", "says what to do");
    nothing_left("mism", "c.bin", "a checksum mismatch");
    ml_manifest_free(m);
}

/* A mirror sending more than the manifest's size (no Content-Length): stopped at the size,
 * and the cache keeps neither the file nor a .part. */
static void test_oversize(int port)
{
    char sha[ML_SHA256_HEX], md5[ML_MD5_HEX];
    ml_err err = {0};
    ml_manifest *m;
    hfs_digest("/big/c.bin", 1000, sha, md5);
    m = ml_manifest_load(write_manifest("big", "name: big\nformat: idx\n"
                                               "urls: [http://127.0.0.1:%d/big/]\n"
                                               "files:\n  - {name: c.bin, size: 1000, "
                                               "sha256: %s}\n", port, sha),
                         &err);
    ok(m != NULL, "oversize manifest loads");
    if (!m)
        return;
    ok(ml_manifest_fetch(m, 0, &err) != 0, "a mirror sending 1500 bytes for 1000 fails");
    like(err.msg, "big: could not fetch c.bin", "the message names the dataset and file");
    like(err.msg, "sent more than the expected 1.0 kB (1000 bytes); stopped there",
         "and says the mirror sent too much");
    nothing_left("big", "c.bin", "an oversized body");
    ml_manifest_free(m);
}

static void test_env_mirror_and_offline(int port)
{
    char sa[ML_SHA256_HEX], ma[ML_MD5_HEX], log[8192], url[200];
    ml_err err = {0};
    ml_manifest *m;
    const char *path;
    hfs_digest("/m2/a.bin", 200000, sa, ma);
    path = write_manifest("envm", "name: envm\nformat: idx\nurls: [http://127.0.0.1:%d/m1/]\n"
                                  "files:\n  - {name: a.bin, md5: %s}\n", port, ma);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/m2/", port);
    setenv("MODLAB_MIRROR", url, 1);
    m = ml_manifest_load(path, &err);
    unsetenv("MODLAB_MIRROR");
    ok(m != NULL, "manifest with MODLAB_MIRROR loads");
    if (!m)
        return;
    size_t before = hfs_log_read(log, sizeof log);
    is_int(ml_manifest_fetch(m, 0, &err), 0, "MODLAB_MIRROR is tried first");
    hfs_log_read(log, sizeof log);
    ok(strstr(log + before, "/m2/a.bin") && !strstr(log + before, "/m1/a.bin"),
       "the official mirror was not needed");
    ml_manifest_free(m);

    /* Offline: no request, an error naming the expected path. */
    m = ml_manifest_load(write_manifest("offl", "name: offl\nformat: idx\n"
                                                "urls: [http://127.0.0.1:%d/m2/]\n"
                                                "files:\n  - {name: a.bin, md5: %s}\n",
                                        port, ma),
                         &err);
    setenv("MODLAB_OFFLINE", "1", 1);
    before = hfs_log_read(log, sizeof log);
    is_int(ml_manifest_fetch(m, 0, &err), ML_ERR_NOT_FOUND, "offline refuses http://");
    char want[800];
    snprintf(want, sizeof want, "expected at %s/offl/a.bin", cache);
    like(err.msg, want, "the error names the expected path");
    like(err.msg, "MODLAB_OFFLINE=1 allows only file://", "and why");
    like(err.msg, "modlab data fetch offl", "and how to get it");
    is_int(hfs_log_read(log, sizeof log), before, "no request was made");
    unsetenv("MODLAB_OFFLINE");
    ml_manifest_free(m);
}

static void test_file_mirror_pins(int port)
{
    char so[ML_SHA256_HEX], mo[ML_MD5_HEX], sm[ML_SHA256_HEX], mm[ML_MD5_HEX], dir[700];
    char file[800], log[8192];
    ml_err err = {0};
    ml_manifest *m;
    const char *path;
    /* The local mirror "repackages": its bytes differ from the official ones. */
    hfs_digest("/m2/a.bin", 200000, so, mo);
    hfs_digest("/repacked", 199000, sm, mm);
    snprintf(dir, sizeof dir, "%s/mirror", tmp);
    mkdir(dir, 0777);
    snprintf(file, sizeof file, "%s/a.bin", dir);
    hfs_write_file("/repacked", 199000, file);
    path = write_manifest("pins", "name: pins\nformat: idx\nurls:\n"
                                  "  - url: file://%s\n    hint: apt-get install something\n"
                                  "    files:\n      a.bin: {size: 199000, sha256: %s}\n"
                                  "  - http://127.0.0.1:%d/m2/\n"
                                  "files:\n  - {name: a.bin, size: 200000, md5: %s}\n",
                          dir, sm, port, mo);
    if (!(m = manifest_loads(path, "manifest with per-mirror pins loads")))
        return;
    setenv("MODLAB_OFFLINE", "1", 1);
    is_int(ml_manifest_fetch(m, 0, &err), 0, "file:// mirror works offline");
    unsetenv("MODLAB_OFFLINE");
    ok(same_as_generated(cache_file("pins", "a.bin"), "/repacked", 199000),
       "the mirror's own bytes are cached");
    {
        char mk[2048] = "", want[800];
        FILE *f = fopen(cache_file("pins", "a.bin.verified"), "r");
        if (f) {
            size_t n = fread(mk, 1, sizeof mk - 1, f);
            mk[n] = '\0';
            fclose(f);
        }
        snprintf(want, sizeof want, "\"pinned_by\":\"file://%s/\"", dir);
        like(mk, want, "the marker records whose pins verified it");
    }
    is_int(ml_manifest_verify(m, &err), 0, "verify accepts the mirror's pins");
    ml_manifest_free(m);

    /* The same bytes from a mirror without its own pins are rejected. */
    path = write_manifest("pins2", "name: pins2\nformat: idx\nurls: [file://%s]\n"
                                   "files:\n  - {name: a.bin, size: 200000, md5: %s}\n",
                          dir, mo);
    m = ml_manifest_load(path, &err);
    is_int(ml_manifest_fetch(m, 0, &err), ML_ERR_CHECKSUM,
           "official pins reject the repackaged bytes");
    like(err.msg, "size mismatch for a.bin (got 199000 bytes, want 200000)",
         "the size is checked first");
    ml_manifest_free(m);

    /* Missing local file: the next mirror is used, and the failure carries the hint. */
    unlink(file);
    path = write_manifest("pins3", "name: pins3\nformat: idx\nurls:\n"
                                   "  - url: file://%s\n    hint: apt-get install something\n"
                                   "  - http://127.0.0.1:%d/gone/\n"
                                   "files:\n  - {name: a.bin, md5: %s}\n",
                          dir, port, mo);
    m = ml_manifest_load(path, &err);
    is_int(ml_manifest_fetch(m, 0, &err), ML_ERR_NOT_FOUND,
           "every mirror fails: not found");
    like(err.msg, "pins3: could not fetch a.bin from 2 mirrors", "lists how many were tried");
    like(err.msg, "no such file (apt-get install something)", "the local mirror's hint");
    like(err.msg, "/gone/: HTTP 404", "the second mirror's reason");
    hfs_log_read(log, sizeof log);
    like(log, "GET /gone/a.bin", "the http mirror was asked");
    ml_manifest_free(m);
}

static void test_tar(void)
{
    char arch[800], sha[ML_SHA256_HEX], md5[ML_MD5_HEX], dir[700];
    static char big[70000];
    ml_err err = {0};
    ml_manifest *m;
    const char *path;
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    snprintf(dir, sizeof dir, "%s/tarsrc", tmp);
    mkdir(dir, 0777);
    snprintf(arch, sizeof arch, "%s/set.tar.gz", dir);
    gzFile gz = gzopen(arch, "wb");
    tar_add(gz, "set/", "", 0, '5');
    tar_add(gz, "../evil.txt", "gotcha", 6, '0');
    tar_add(gz, "./set/data.bin", big, sizeof big, '0');
    tar_add(gz, "set/meta.txt", "a\nb\n", 4, '0');
    tar_add(gz, "set/link", "", 0, '2');
    gzwrite(gz, (char[1024]){0}, 1024);
    gzclose(gz);
    mli_hash_file(arch, sha, md5, NULL, NULL);
    path = write_manifest("tarset", "name: tarset\nformat: x\nurls: [file://%s/]\n"
                                    "files:\n  - name: set.tar.gz\n    sha256: %s\n"
                                    "    extract:\n      - {name: set/data.bin, size: %zu}\n"
                                    "      - set/meta.txt\n"
                                    "splits:\n  all: {data: [set/data.bin, set/meta.txt]}\n",
                          dir, sha, sizeof big);
    if (!(m = manifest_loads(path, "archive manifest loads")))
        return;
    is_int(ml_manifest_fetch(m, 0, &err), 0, "archive fetched and extracted");
    if (err.msg[0])
        tap_diag("%s", err.msg);
    ok(tap_exists("%s/tarset/set/data.bin", cache) && tap_exists("%s/tarset/set/meta.txt", cache),
       "the listed members are extracted");
    ok(!tap_exists("%s/evil.txt", cache) && !tap_exists("%s/tarset/evil.txt", cache),
       "an unlisted '..' member is not written anywhere");
    {
        char mp[800], s1[ML_SHA256_HEX], s2[ML_SHA256_HEX];
        ml_sha256_ctx c;
        uint8_t d[32];
        snprintf(mp, sizeof mp, "%s/tarset/set/data.bin", cache);
        mli_hash_file(mp, s1, NULL, NULL, NULL);
        mli_sha256_init(&c);
        mli_sha256_update(&c, big, sizeof big);
        mli_sha256_final(&c, d);
        mli_hex(d, 32, s2);
        is_str(s1, s2, "extracted bytes are right");
    }
    is_int(mli_manifest_file_state(m, 0), ML_CACHE_VERIFIED, "archive state verified");
    ml_opts *o = ml_manifest_split_opts(m, "all", &err);
    ok(o && strstr(ml_opts_json(o), "set/data.bin:") != NULL,
       "a role with several members joins the paths with ':'");
    ml_opts_free(o);
    /* A deleted member is re-extracted. */
    {
        char mp[800];
        snprintf(mp, sizeof mp, "%s/tarset/set/meta.txt", cache);
        unlink(mp);
    }
    ok(mli_manifest_file_state(m, 0) != ML_CACHE_VERIFIED, "a missing member is noticed");
    is_int(ml_manifest_fetch(m, 0, &err), 0, "fetch again");
    ok(tap_exists("%s/tarset/set/meta.txt", cache), "the member is back");
    ml_manifest_free(m);

    /* Members that cannot be extracted: absent from the archive, or not a regular file. */
    static const struct {
        const char *name, *member, *why, *what;
    } refused[] = {
        {"tarbad", "set/missing.bin", "set.tar.gz has no member set/missing.bin",
         "a missing member is an error"},
        {"tarlink", "set/link", "not a regular file", "a symlink member is refused"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        path = write_manifest(refused[i].name, "name: %s\nformat: x\nurls: [file://%s/]\n"
                                               "files:\n  - name: set.tar.gz\n    sha256: %s\n"
                                               "    extract: [%s]\n",
                              refused[i].name, dir, sha, refused[i].member);
        if (!(m = manifest_loads(path, "a manifest naming an unextractable member loads")))
            continue;
        is_int(ml_manifest_fetch(m, 0, &err), ML_ERR_FORMAT, refused[i].what);
        like(err.msg, refused[i].why, "and the message says why");
        ml_manifest_free(m);
    }
}

static void bad(const char *name, const char *text, const char *want, const char *what)
{
    ml_err err = {0};
    const char *path = write_manifest(name, "%s", text);
    ml_manifest *m = ml_manifest_load(path, &err);
    char full[1200];
    ok(m == NULL && err.code == ML_ERR_FORMAT, "%s: refused", what);
    snprintf(full, sizeof full, "%s%s", path, want);
    like(err.msg, full, what);
    ml_manifest_free(m);
}

static void test_bad_manifests(void)
{
    const char *md5 = "0123456789abcdef0123456789abcdef";
    char t[1000];
    bad("b1", "name: x\nformat: idx\nurls: [http://h/\nfiles: []\n", ":4:", "unclosed [");
    snprintf(t, sizeof t, "name: x\nformat: idx\nurls: [http://h/]\nfiles:\n"
                          "  - {name: a, size: big, md5: %s}\n", md5);
    bad("b2", t, ":5:21: size must be an integer, not a string 'big'", "wrong type");
    bad("b3", "name: x\nformat: idx\nurls: [http://h/]\n", ":1:1: the manifest has no 'files'",
        "missing files");
    snprintf(t, sizeof t, "name: x\nformat: idx\nurl: [http://h/]\nfiles:\n"
                          "  - {name: a, md5: %s}\n", md5);
    bad("b4", t, ":3:1: unknown key 'url' in a manifest", "unknown key (a typo)");
    bad("b5", "name: x\nformat: idx\nurls: [http://h/]\nfiles:\n  - {name: a, md5: 12ab}\n",
        ":5:20: md5 of a must be 32 hex digits", "bad md5");
    bad("b6", "name: x\nformat: idx\nurls: [http://h/]\nfiles:\n  - {name: a}\n",
        ":5:5: a has no md5 or sha256", "no checksum");
    snprintf(t, sizeof t, "name: x\nformat: idx\nurls: [ftp://h/]\nfiles:\n"
                          "  - {name: a, md5: %s}\n", md5);
    bad("b7", t, ":3:8: url 'ftp://h/' must start with", "bad URL scheme");
    snprintf(t, sizeof t, "name: x\nformat: idx\nurls: [http://h/]\nfiles:\n"
                          "  - {name: a.tar.gz, md5: %s, extract: [../etc/passwd]}\n", md5);
    bad("b8", t, ":5:71: extract member '../etc/passwd' must be a relative path",
        "'..' member");
    snprintf(t, sizeof t, "name: x\nformat: idx\nurls: [http://h/]\nfiles:\n"
                          "  - {name: a, md5: %s}\nsplits:\n  train: {images: b}\n", md5);
    bad("b9", t, ":7:19: split train, role images: 'b' is not a file", "unknown split file");
    snprintf(t, sizeof t, "format: idx\nurls: [http://h/]\nfiles:\n  - {name: a, md5: %s}\n",
             md5);
    bad("b10", t, ":1:1: the manifest has no 'name'", "missing name");
    snprintf(t, sizeof t, "name: x\nformat: idx\nurls: [http://h/]\nfiles:\n"
                          "  - {name: 'a b?', md5: %s}\n", md5);
    bad("b15", t, ":5:12: file name 'a b?' must be a plain file name", "URL-unsafe file name");
    snprintf(t, sizeof t, "name: x\nformat: idx\nurls: [http://h/]\nfiles:\n"
                          "  - {name: /etc/a, md5: %s}\n", md5);
    bad("b11", t, ":5:12: file name '/etc/a' must be a plain file name", "absolute file name");
    snprintf(t, sizeof t, "name: x\nformat: idx\nurls:\n  - url: http://h/\n    files:\n"
                          "      b: {md5: %s}\nfiles:\n  - {name: a, md5: %s}\n", md5, md5);
    bad("b12", t, ":6:7: mirror checksums for 'b', which is not in files", "mirror pins typo");
    bad("b13", "- just\n- a list\n", ":1:1: a manifest must be a mapping, not a sequence",
        "not a mapping");
    bad("b14", "", ": the manifest is empty", "empty file");

    ml_err err = {0};
    ok(ml_manifest_load("no-such-dataset", &err) == NULL, "unknown dataset name");
    is_int(err.code, ML_ERR_NOT_FOUND, "not found");
    like(err.msg, "no dataset manifest 'no-such-dataset' (looked in: ", "not-found message");
    setenv("MODLAB_MANIFEST_PATH", tmp, 1);
    ml_manifest *m = ml_manifest_load("loop", &err);
    ok(m != NULL, "a name is looked up in MODLAB_MANIFEST_PATH");
    ml_manifest_free(m);
    unsetenv("MODLAB_MANIFEST_PATH");
}

/* Every allocation of loading, fetching (from the cache) and binding a split fails in turn:
 * each time a clean error, no crash, nothing leaked. */
static void test_alloc_failures(void)
{
    int64_t base = ml_mem_live_blocks();
    int load_ok = 0, fetch_ok = 0, bad_code = 0, n;
    ml_err err = {0};
    for (n = 1; n < 2000 && !(load_ok && fetch_ok); n++) {
        ml_mem_fail_at(n);
        ml_manifest *m = ml_manifest_load("loop", &err);
        if (!m) {
            bad_code += err.code != ML_ERR_NOMEM;
            if (err.code != ML_ERR_NOMEM)
                tap_diag("n=%d load: %s", n, err.msg);
            continue;
        }
        load_ok = 1;
        ml_opts *o = ml_manifest_split_opts(m, "train", &err);
        if (o)
            fetch_ok = 1;
        else if (err.code != ML_ERR_NOMEM)
            bad_code++, tap_diag("n=%d split: %s", n, err.msg);
        ml_opts_free(o);
        ml_manifest_free(m);
    }
    ml_mem_fail_at(0);
    ok(load_ok && fetch_ok, "load and split options succeed once allocations do (n=%d)", n);
    is_int(bad_code, 0, "every failed allocation is reported as out of memory");
    is_int(ml_mem_live_blocks(), base, "nothing leaked on any failure path");
}

int main(void)
{
    hfs_rule rules[] = {
        {"/m1/a.bin", 10, "404"},        {"/m2/a.bin", 200000, "ok"},
        {"/m2/b.bin", 150000, "reset:50000,ok"}, {"/bad/c.bin", 1000, "wrong"},
        {"/gone/a.bin", 10, "404"},      {"/big/c.bin", 1000, "more:500"},
    };
    if (!mkdtemp(tmp))
        return 1;
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    setenv("MODLAB_DATA_DIR", cache, 1);
    unsetenv("MODLAB_OFFLINE");
    unsetenv("MODLAB_MIRROR");
    unsetenv("MODLAB_MANIFEST_PATH");
    if (!ok(hfs_start(&server, rules, (int)(sizeof rules / sizeof rules[0]), 100, 60) == 0,
            "fault server started"))
        return done_testing();
    test_http_mirrors(server.port);
    test_mismatch(server.port);
    test_oversize(server.port);
    test_concurrent(server.port);
    test_env_mirror_and_offline(server.port);
    test_file_mirror_pins(server.port);
    hfs_stop(&server);
    test_tar();
    test_bad_manifests();
    setenv("MODLAB_MANIFEST_PATH", tmp, 1);
    test_alloc_failures();
    unsetenv("MODLAB_MANIFEST_PATH");
    tap_cleanup_dir(tmp);
    return done_testing();
}
