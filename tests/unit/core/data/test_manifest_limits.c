/* SPDX-License-Identifier: MIT */
/* Manifest limits on loopback HTTP and file://: an entry without a pinned size is capped by
 * max_size (an endless body is stopped there and deleted), and a file is accepted when it
 * matches any digest the manifest pins for it, whichever URL served it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <modlab/modlab.h>

#include "base/hash.h"
#include "http_fault_server.h"
#include "data/manifest.h"
#include "tap.h"
#include "tap_fs.h"

static char tmp[] = "/tmp/modlab-test-mflimits-XXXXXX";
static char cache[600];

#include "manifest_test.h"





/* An endless body for an entry without a pinned size: stopped at max_size (the manifest's,
 * or the file's own), the .part deleted, and the message says what to do. */
static void test_endless(int port)
{
    char sha[ML_SHA256_HEX], md5[ML_MD5_HEX];
    ml_err err = {0};
    ml_manifest *m;
    hfs_digest("/endless/c.bin", 1000, sha, md5);
    if (!(m = manifest_loads(write_manifest("endl", "name: endl\nformat: idx\nmax_size: 4096\n"
                                                    "urls: [http://127.0.0.1:%d/endless/]\n"
                                                    "files:\n  - {name: c.bin, sha256: %s}\n",
                                            port, sha),
                             "a manifest with max_size loads")))
        return;
    ok(ml_manifest_fetch(m, 0, &err) != 0, "an endless body for an entry without a size fails");
    like(err.msg, "endl: could not fetch c.bin", "the message names the dataset and file");
    like(err.msg, "more than the max_size of 4.1 kB (4096 bytes)", "and the cap");
    like(err.msg, "raise max_size in the manifest", "and what to do");
    nothing_left("endl", "c.bin", "an endless body");
    ml_manifest_free(m);

    /* A file's own max_size wins over the manifest's. */
    if (!(m = manifest_loads(write_manifest("endl2", "name: endl2\nformat: idx\nmax_size: 4096\n"
                                                     "urls: [http://127.0.0.1:%d/endless/]\n"
                                                     "files:\n  - {name: c.bin, max_size: 2000, "
                                                     "sha256: %s}\n", port, sha),
                             "a files entry with max_size loads")))
        return;
    ok(ml_manifest_fetch(m, 0, &err) != 0, "the file's own cap applies");
    like(err.msg, "max_size of 2.0 kB (2000 bytes)", "the file's max_size is named");
    ok(!tap_exists("%s/endl2/c.bin.part", cache), "no .part left");
    ml_manifest_free(m);
}

/* The cap of each file: its pinned sizes when every pin set has one, else max_size (the
 * documented default when the manifest sets none). */
static void test_caps(void)
{
    static const char sha[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    ml_err err = {0};
    ml_manifest *m;
    int limit = -1;
    if (!(m = manifest_loads(write_manifest("caps", "name: caps\nformat: idx\n"
                                                    "urls:\n  - url: file:///nonexistent/\n"
                                                    "    files:\n      b: {size: 900, sha256: %s}\n"
                                                    "  - http://127.0.0.1:1/\n"
                                                    "files:\n  - {name: a, sha256: %s}\n"
                                                    "  - {name: b, size: 700, sha256: %s}\n"
                                                    "  - {name: c, size: 5, max_size: 9, "
                                                    "sha256: %s}\n",
                                            sha, sha, sha, sha),
                             "caps manifest loads")))
        return;
    ok(mli_manifest_file_cap(m, 0, &limit) == ML_MANIFEST_MAX_SIZE_DEFAULT && limit == 1,
       "no size and no max_size: the default cap");
    is_int(ML_MANIFEST_MAX_SIZE_DEFAULT, (int64_t)2 << 30, "the default is 2 GiB");
    ok(mli_manifest_file_cap(m, 1, &limit) == 900 && limit == 0,
       "every pin set has a size: the largest of them (a mirror's own bytes may be longer)");
    ok(mli_manifest_file_cap(m, 2, &limit) == 5 && limit == 0, "a pinned size beats max_size");
    ml_manifest_free(m);

    ok(ml_manifest_load(write_manifest("caps2", "name: caps2\nformat: idx\nmax_size: 100\n"
                                                "urls: [http://127.0.0.1:1/]\n"
                                                "files:\n  - {name: a, size: 200, sha256: %s}\n",
                                        sha),
                        &err) == NULL && err.code == ML_ERR_FORMAT,
       "a pinned size over max_size is refused");
    like(err.msg, "size 200 of a is over its max_size 100", "saying which");
    ok(ml_manifest_load(write_manifest("caps3", "name: caps3\nformat: idx\nmax_size: 0\n"
                                                "urls: [http://127.0.0.1:1/]\n"
                                                "files:\n  - {name: a, sha256: %s}\n", sha),
                        &err) == NULL && err.code == ML_ERR_FORMAT,
       "max_size 0 is refused");
    like(err.msg, "max_size must be a positive number of bytes", "with a reason");
}

/* MODLAB_MIRROR serving bytes pinned for another mirror of the manifest (Debian's
 * recompressed files, say) is accepted by those pins. */
static void test_any_digest(int port)
{
    char so[ML_SHA256_HEX], mo[ML_MD5_HEX], sm[ML_SHA256_HEX], mm[ML_MD5_HEX], url[200];
    char mk[2048], dir[700];
    ml_err err = {0};
    ml_manifest *m;
    const char *path;
    hfs_digest("/official/a.bin", 20000, so, mo);
    hfs_digest("/repack/a.bin", 19000, sm, mm);
    snprintf(dir, sizeof dir, "%s/empty", tmp);
    mkdir(dir, 0777);
    path = write_manifest("anyd", "name: anyd\nformat: idx\nurls:\n"
                                  "  - url: file://%s/\n"
                                  "    files:\n      a.bin: {size: 19000, sha256: %s}\n"
                                  "  - http://127.0.0.1:%d/official/\n"
                                  "files:\n  - {name: a.bin, size: 20000, md5: %s}\n",
                          dir, sm, port, mo);
    snprintf(url, sizeof url, "http://127.0.0.1:%d/repack/", port);
    setenv("MODLAB_MIRROR", url, 1);
    m = manifest_loads(path, "manifest with MODLAB_MIRROR loads");
    unsetenv("MODLAB_MIRROR");
    if (!m)
        return;
    is_int(ml_manifest_fetch(m, 0, &err), 0,
           "MODLAB_MIRROR serving the bytes another mirror pins: accepted");
    if (err.msg[0])
        tap_diag("%s", err.msg);
    snprintf(mk, sizeof mk, "%s/anyd/a.bin.verified", cache);
    tap_read_text(mk, mk, sizeof mk);
    char want[900];
    snprintf(want, sizeof want, "\"pinned_by\":\"file://%s/\"", dir);
    like(mk, want, "the marker names whose pins verified it");
    snprintf(want, sizeof want, "\"source\":\"%sa.bin\"", url);
    like(mk, want, "and the URL that served it");
    is_int(mli_manifest_file_state(m, 0), ML_CACHE_VERIFIED, "the cache says verified");
    is_int(ml_manifest_verify(m, &err), 0, "verify agrees");
    ml_manifest_free(m);

    /* Bytes no pin set knows are still refused, with the serving mirror's reason. */
    snprintf(url, sizeof url, "http://127.0.0.1:%d/other/", port);
    setenv("MODLAB_MIRROR", url, 1);
    path = write_manifest("anyd2", "name: anyd2\nformat: idx\nurls:\n"
                                   "  - url: file://%s/\n"
                                   "    files:\n      a.bin: {sha256: %s}\n"
                                   "files:\n  - {name: a.bin, md5: %s}\n",
                           dir, sm, mo);
    m = ml_manifest_load(path, &err);
    unsetenv("MODLAB_MIRROR");
    if (!m)
        return;
    is_int(ml_manifest_fetch(m, 0, &err), ML_ERR_CHECKSUM, "unknown bytes: refused");
    like(err.msg, "/other/: md5 mismatch", "by the official pins the mirror was held to");
    ok(!tap_exists("%s/anyd2/a.bin", cache) && !tap_exists("%s/anyd2/a.bin.part", cache),
       "nothing kept");
    ml_manifest_free(m);
}

int main(void)
{
    hfs hs;
    hfs_rule rules[] = {
        {"/endless/c.bin", 1000, "endless"},
        {"/official/a.bin", 20000, "ok"},
        {"/repack/a.bin", 19000, "ok"},
        {"/other/a.bin", 19000, "ok"},
    };
    if (!mkdtemp(tmp))
        return 1;
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    setenv("MODLAB_DATA_DIR", cache, 1);
    unsetenv("MODLAB_OFFLINE");
    unsetenv("MODLAB_MIRROR");
    unsetenv("MODLAB_MANIFEST_PATH");
    if (!ok(hfs_start(&hs, rules, (int)(sizeof rules / sizeof rules[0]), 40, 60) == 0,
            "fault server started"))
        return done_testing();
    test_endless(hs.port);
    test_any_digest(hs.port);
    hfs_stop(&hs);
    test_caps();
    tap_cleanup_dir(tmp);
    return done_testing();
}
