/* SPDX-License-Identifier: MIT */
/* The plugin loader: dlopen each .so on the search path, derive its entry symbol from the
 * file name (SQLite's rule), and let it register entries. A bad plugin is skipped with a
 * one-line warning naming the file; the others still load. Plugins are never unloaded. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "mem.h"
#include "registry.h"

/* "libfoo-bar.so.1" -> "foo_bar" */
static void derive_stem(const char *path, char *stem, size_t cap)
{
    const char *base = strrchr(path, '/');
    size_t n = 0;
    base = base ? base + 1 : path;
    if (strncmp(base, "lib", 3) == 0)
        base += 3;
    for (; *base && *base != '.' && n + 1 < cap; base++) {
        char c = *base;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        stem[n++] = ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) ? c : '_';
    }
    stem[n] = '\0';
}

static int is_elf(const char *path, ml_err *err)
{
    unsigned char magic[4] = {0};
    FILE *f = fopen(path, "rb");
    size_t got;
    if (!f)
        return ml_error(err, ML_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    got = fread(magic, 1, 4, f);
    fclose(f);
    if (got != 4 || memcmp(magic, "\x7f" "ELF", 4) != 0)
        return ml_error(err, ML_ERR_FORMAT, "%s: not a plugin (not an ELF shared object); "
                        "remove it from the plugin directory", path);
    return ML_OK;
}

int ml_registry_load_file(ml_registry *reg, const char *file, ml_err *err)
{
    char stem[128], sym[160];
    void *handle;
    ml_plugin_init_fn init;
    int32_t before = ml_registry_count(reg);
    int rc;

    if ((rc = is_elf(file, err)))
        goto warn;
    derive_stem(file, stem, sizeof stem);
    snprintf(sym, sizeof sym, "ml_plugin_%s_init", stem);
    handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        rc = ml_error(err, ML_ERR_IO, "%s: cannot load: %s", file, dlerror());
        goto warn;
    }
    *(void **)&init = dlsym(handle, sym);
    if (!init) {
        dlclose(handle);
        rc = ml_error(err, ML_ERR_NOT_FOUND, "%s: no entry point %s() (the symbol is derived "
                      "from the file name; is this a modlab plugin?)", file, sym);
        goto warn;
    }
    ml_registry_set_origin(reg, file);
    ml_err_clear(err);
    rc = init(ml_host_table(), reg, err);
    ml_registry_set_origin(reg, NULL);
    if (rc) {
        ml_registry_truncate(reg, before);   /* all or nothing per plugin */
        dlclose(handle);
        if (err && err->code == ML_OK)
            ml_error(err, rc, "init failed without a message");
        rc = ml_error_prefix(err, "%s", file);
        goto warn;
    }
    return ML_OK;
warn:
    ml_registry_add_warning(reg, "%s", err ? err->msg : "plugin failed to load");
    return rc;
}

static int filter_so(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 3 && strcmp(d->d_name + n - 3, ".so") == 0;
}

/* Load every *.so in dir (sorted), skipping stems an earlier directory already provided. */
static void load_dir(ml_registry *reg, const char *dir, char (*seen)[128], int *nseen,
                     int maxseen)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, filter_so, alphasort);
    for (int i = 0; i < n; i++) {
        char path[PATH_MAX], stem[128];
        ml_err err;
        int dup = 0;
        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        derive_stem(path, stem, sizeof stem);
        for (int j = 0; j < *nseen; j++)
            dup |= !strcmp(seen[j], stem);
        if (!dup) {
            ml_registry_load_file(reg, path, &err);
            if (*nseen < maxseen)
                snprintf(seen[(*nseen)++], 128, "%s", stem);
        }
        free(list[i]);
    }
    free(list);
}

/* Running from the build tree (not installed)? Then use the freshly built plugins. */
static int running_uninstalled(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    size_t len = strlen(ML_ABS_BUILDDIR);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    return strncmp(exe, ML_ABS_BUILDDIR "/", len + 1) == 0 &&
           strncmp(exe + len + 1, "_inst/", 6) != 0;
}

/* Returns ML_ERR_NOMEM when the list cannot even be copied: skipping it silently would
 * leave its plugins unloaded with no word why. */
static int load_list(ml_registry *reg, const char *list, char (*seen)[128], int *nseen,
                     int maxseen, int warn_missing)
{
    char *copy, *save = NULL;
    struct stat st;
    if (!list || !*list)
        return ML_OK;
    if (!(copy = ml_strdup(list)))
        return ML_ERR_NOMEM;
    for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
        ml_err err;
        if (stat(p, &st) != 0) {
            if (warn_missing)
                ml_registry_add_warning(reg, "%s: plugin path entry does not exist", p);
        } else if (S_ISDIR(st.st_mode))
            load_dir(reg, p, seen, nseen, maxseen);
        else
            ml_registry_load_file(reg, p, &err);
    }
    ml_free(copy);
    return ML_OK;
}

int ml_registry_load_default(ml_registry *reg, const char *path_list, ml_err *err)
{
    enum { MAXSEEN = 256 };
    char (*seen)[128] = ml_alloc(MAXSEEN * sizeof *seen);
    int nseen = 0;
    if (!seen)
        return ml_error(err, ML_ERR_NOMEM, "plugin loader: out of memory");
    int rc = load_list(reg, path_list, seen, &nseen, MAXSEEN, 1);
    if (!rc)
        rc = load_list(reg, getenv("MODLAB_PLUGIN_PATH"), seen, &nseen, MAXSEEN, 1);
    /* The default directory may legitimately be absent (nothing installed there yet). */
    if (!rc)
        rc = load_list(reg, running_uninstalled() ? ML_BUILD_PLUGINDIR : ML_PLUGINDIR, seen,
                       &nseen, MAXSEEN, 0);
    ml_free(seen);
    if (rc)
        return ml_error(err, rc, "plugin loader: out of memory reading the plugin path");
    return ML_OK;
}
