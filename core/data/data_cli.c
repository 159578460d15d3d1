/* SPDX-License-Identifier: MIT */
/* `modlab data list | fetch NAME... | verify NAME...`: dataset manifests from the shell. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <modlab/modlab.h>

#include "base/err.h"
#include "data/fetch.h"
#include "data/manifest.h"
#include "base/mem.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, MAX_LISTED = 256 };

static void usage(FILE *out)
{
    fprintf(out,
            "usage: modlab data list              datasets, their files, and what is cached\n"
            "       modlab data fetch NAME...     download and verify into the cache\n"
            "       modlab data verify NAME...    re-hash the cached files\n"
            "NAME is a manifest name (datasets/NAME.yaml) or a path to a manifest file.\n"
            "Environment: MODLAB_DATA_DIR (cache), MODLAB_MIRROR (a base URL tried first),\n"
            "MODLAB_OFFLINE=1 (file:// only), MODLAB_MANIFEST_PATH (more manifest dirs).\n");
}

typedef struct list_ctx {
    char *seen[MAX_LISTED];
    int nseen, failed;
} list_ctx;

static const char *state_word(const ml_manifest *m)
{
    size_t n = mli_manifest_nfiles(m), ver = 0, other = 0;
    for (size_t i = 0; i < n; i++) {
        int s = mli_manifest_file_state(m, i);
        ver += s == ML_CACHE_VERIFIED;
        other += s == ML_CACHE_UNVERIFIED || s == ML_CACHE_PARTIAL;
    }
    if (ver == n)
        return "yes";
    if (ver == 0 && other == 0)
        return "no";
    return "partly";
}

static int list_dir(const char *dir, void *user)
{
    list_ctx *c = user;
    char path[4096];
    struct dirent **ents = NULL;
    int n = scandir(dir, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *e = ents[i]->d_name;
        size_t len = strlen(e);
        int dup = 0;
        if (len > 5 && !strcmp(e + len - 5, ".yaml") && e[0] != '.') {
            for (int k = 0; k < c->nseen; k++)
                dup |= strncmp(c->seen[k], e, len - 5) == 0 && c->seen[k][len - 5] == '\0';
            if (!dup && c->nseen < MAX_LISTED) {
                ml_err err = {0};
                ml_manifest *m;
                char sz[32];
                snprintf(path, sizeof path, "%s/%s", dir, e);
                m = ml_manifest_load(path, &err);
                if (!m) {
                    fprintf(stderr, "modlab data: %s\n", err.msg);
                    c->failed = 1;
                } else {
                    int64_t total = mli_manifest_total_size(m);
                    printf("%-16s %-8s %5zu  %10s  %s\n", ml_manifest_name(m),
                           ml_manifest_format(m), mli_manifest_nfiles(m),
                           total >= 0 ? mli_fetch_fmt_bytes((double)total, sz, sizeof sz) : "?",
                           state_word(m));
                    c->seen[c->nseen] = mli_strdup(ml_manifest_name(m));
                    if (c->seen[c->nseen])
                        c->nseen++;
                    ml_manifest_free(m);
                }
            }
        }
        free(ents[i]);
    }
    free(ents);
    return 0;
}

static int cmd_list(void)
{
    char root[4096];
    ml_err err = {0};
    list_ctx c = {0};
    if (mli_data_dir(root, sizeof root, &err))
        fprintf(stderr, "modlab data: %s\n", err.msg);
    else
        printf("cache: %s\n", root);
    printf("%-16s %-8s %5s  %10s  %s\n", "NAME", "FORMAT", "FILES", "SIZE", "CACHED");
    mli_manifest_dirs(list_dir, &c);
    if (c.nseen == 0 && !c.failed)
        printf("(no manifests found; MODLAB_MANIFEST_PATH adds directories)\n");
    for (int k = 0; k < c.nseen; k++)
        mli_free(c.seen[k]);
    return c.failed ? EXIT_FAIL : EXIT_OK;
}

static int cmd_fetch(const char *name)
{
    char dir[4096];
    ml_err err = {0};
    ml_manifest *m = ml_manifest_load(name, &err);
    int rc = EXIT_FAIL;
    if (!m)
        goto out;
    if (ml_manifest_fetch(m, 1, &err) || mli_manifest_cache_dir(m, dir, sizeof dir, &err))
        goto out;
    printf("%s: %zu file%s verified in %s\n", ml_manifest_name(m), mli_manifest_nfiles(m),
           mli_manifest_nfiles(m) == 1 ? "" : "s", dir);
    rc = EXIT_OK;
out:
    if (rc)
        fprintf(stderr, "modlab data fetch: %s\n", err.msg);
    ml_manifest_free(m);
    return rc;
}

static int cmd_verify(const char *name)
{
    ml_err err = {0};
    ml_manifest *m = ml_manifest_load(name, &err);
    int rc = EXIT_OK;
    if (!m) {
        fprintf(stderr, "modlab data verify: %s\n", err.msg);
        return EXIT_FAIL;
    }
    size_t present = 0;
    for (size_t i = 0; i < mli_manifest_nfiles(m); i++) {
        int s = mli_manifest_file_state(m, i);
        present += s == ML_CACHE_VERIFIED || s == ML_CACHE_UNVERIFIED;
    }
    if (present == 0) {
        char dir[4096] = "the cache";
        mli_manifest_cache_dir(m, dir, sizeof dir, NULL);
        fprintf(stderr, "modlab data verify: %s is not in %s; run 'modlab data fetch %s'\n",
                ml_manifest_name(m), dir, ml_manifest_name(m));
        ml_manifest_free(m);
        return EXIT_FAIL;
    }
    for (size_t i = 0; i < mli_manifest_nfiles(m); i++) {
        char how[200] = "";
        if (mli_manifest_verify_file(m, i, how, sizeof how, &err)) {
            printf("%s: %-32s FAILED\n", ml_manifest_name(m), mli_manifest_file(m, i));
            fprintf(stderr, "modlab data verify: %s\n", err.msg);
            rc = EXIT_FAIL;
        } else {
            printf("%s: %-32s ok (%s)\n", ml_manifest_name(m), mli_manifest_file(m, i), how);
        }
    }
    ml_manifest_free(m);
    return rc;
}

int ml_data_main(int argc, char **argv)
{
    /* argv[0] is the command's own name ("data"); argv[1] the action. */
    const char *act = argc > 1 ? argv[1] : NULL;
    int rc = EXIT_OK;
    if (!act) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(act, "-h") || !strcmp(act, "--help") || !strcmp(act, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(act, "list")) {
        if (argc > 2) {
            fprintf(stderr, "modlab data list: takes no arguments (got '%s')\n", argv[2]);
            return EXIT_USAGE;
        }
        return cmd_list();
    }
    if (!strcmp(act, "fetch") || !strcmp(act, "verify")) {
        if (argc < 3) {
            fprintf(stderr, "modlab data %s: which dataset? e.g. 'modlab data %s "
                    "fashion-mnist' ('modlab data list' shows them)\n", act, act);
            return EXIT_USAGE;
        }
        for (int i = 2; i < argc; i++) {
            if (argv[i][0] == '-') {
                fprintf(stderr, "modlab data %s: unknown option '%s'\n", act, argv[i]);
                return EXIT_USAGE;
            }
        }
        for (int i = 2; i < argc; i++)
            if ((act[0] == 'f' ? cmd_fetch(argv[i]) : cmd_verify(argv[i])) != EXIT_OK)
                rc = EXIT_FAIL;
        return rc;
    }
    fprintf(stderr, "modlab data: unknown action '%s' (use list, fetch NAME or verify NAME)\n",
            act);
    return EXIT_USAGE;
}
