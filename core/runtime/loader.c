/* SPDX-License-Identifier: MIT */
/* The plugin loader: dlopen each .so on the search path, derive its entry symbol from the
 * file name (SQLite's rule), and let it register entries. A bad plugin is skipped with a
 * one-line warning naming the file; the others still load. Plugins are never unloaded.
 *
 * Search-path policy (PLUGINS.md, "Where plugins are loaded from"): loading a .so runs its
 * code with the user's rights, so the path never silently means the current directory (an
 * empty entry is ignored with a warning; a relative entry is resolved against the current
 * directory only when given on the command line, and refused from MODLAB_PLUGIN_PATH), and
 * a directory or file that someone else could write (world-writable, writable by a group
 * the user is not in, or owned by another user than root or the user) is refused with a
 * warning naming it, unless MODLAB_ALLOW_INSECURE_PLUGINS=1. A path through a symlink is
 * judged by where it resolves to as well (refuse_target). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "runtime/load_crash.h"
#include "base/mem.h"
#include "runtime/registry.h"

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
        return mli_error(err, ML_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    got = fread(magic, 1, 4, f);
    fclose(f);
    if (got != 4 || memcmp(magic, "\x7f" "ELF", 4) != 0)
        return mli_error(err, ML_ERR_FORMAT, "%s: not a plugin (not an ELF shared object); "
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
    mli_load_crash_enter(file, "dlopen (its constructors)");
    handle = dlopen(file, RTLD_NOW | RTLD_LOCAL);
    mli_load_crash_leave();
    if (!handle) {
        rc = mli_error(err, ML_ERR_IO, "%s: cannot load: %s", file, dlerror());
        goto warn;
    }
    *(void **)&init = dlsym(handle, sym);
    if (!init) {
        dlclose(handle);
        rc = mli_error(err, ML_ERR_NOT_FOUND, "%s: no entry point %s() (the symbol is derived "
                      "from the file name; is this a modlab plugin?)", file, sym);
        goto warn;
    }
    mli_registry_set_origin(reg, file);
    mli_err_clear(err);
    mli_load_crash_enter(file, "plugin init");
    rc = init(mli_host_table(), reg, err);
    mli_load_crash_leave();
    mli_registry_set_origin(reg, NULL);
    if (rc) {
        mli_registry_truncate(reg, before);   /* all or nothing per plugin */
        dlclose(handle);
        if (err && err->code == ML_OK)
            mli_error(err, rc, "init failed without a message");
        rc = mli_error_prefix(err, "%s", file);
        goto warn;
    }
    return ML_OK;
warn:
    mli_registry_add_warning(reg, "%s", err ? err->msg : "plugin failed to load");
    return rc;
}

/* ---- the search-path policy ---------------------------------------------------------- */

static int allow_insecure(void)
{
    const char *v = getenv("MODLAB_ALLOW_INSECURE_PLUGINS");
    return v && *v && strcmp(v, "0") != 0;
}

static int in_my_groups(gid_t g)
{
    gid_t list[256];
    int n = getgroups(256, list);
    if (g == getegid())
        return 1;
    for (int i = 0; i < n; i++)
        if (list[i] == g)
            return 1;
    return 0;
}

/* 1, with why[] saying how ("is world-writable"), if someone other than the user (or root)
 * can change the file or directory `st` describes; else 0. */
static int insecure_why(const struct stat *st, char *why, size_t cap)
{
    uid_t me = geteuid();
    if (st->st_mode & S_IWOTH)
        snprintf(why, cap, "is world-writable%s", S_ISDIR(st->st_mode) &&
                 (st->st_mode & S_ISVTX) ? " (sticky, like /tmp: anyone can add a .so)" : "");
    else if (st->st_uid != 0 && st->st_uid != me)
        snprintf(why, cap, "is owned by another user (uid %ld)", (long)st->st_uid);
    else if ((st->st_mode & S_IWGRP) && st->st_gid != 0 && !in_my_groups(st->st_gid))
        snprintf(why, cap, "is writable by group %ld, which you are not in", (long)st->st_gid);
    else
        return 0;
    return 1;
}

/* 0 if someone other than the user (or root) cannot change `path`; else a warning naming
 * it and the way out. `what`: "plugins from this directory" or "this plugin". */
static int refuse_insecure(ml_registry *reg, const char *path, const struct stat *st,
                           const char *what)
{
    char why[128];
    if (allow_insecure() || !insecure_why(st, why, sizeof why))
        return 0;
    mli_registry_add_warning(reg, "%s: refusing to load %s: it %s, so someone else could "
                            "run code as you; make it writable only by you (chmod go-w), or "
                            "set MODLAB_ALLOW_INSECURE_PLUGINS=1 to load it anyway", path,
                            what, why);
    return 1;
}

/* A .so named directly: the file, and a parent directory where anyone could swap it
 * (world-writable without the sticky bit). */
static int refuse_file(ml_registry *reg, const char *path, const struct stat *st)
{
    char dir[PATH_MAX];
    struct stat ds;
    const char *slash = strrchr(path, '/');
    if (refuse_insecure(reg, path, st, "this plugin"))
        return 1;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1,
             slash ? path : ".");
    if (!allow_insecure() && stat(dir, &ds) == 0 && (ds.st_mode & S_IWOTH) &&
        !(ds.st_mode & S_ISVTX)) {
        mli_registry_add_warning(reg, "%s: refusing to load this plugin: its directory %s is "
                                "world-writable without the sticky bit, so anyone could "
                                "replace it; move it, or set MODLAB_ALLOW_INSECURE_PLUGINS=1 "
                                "to load it anyway", path, dir);
        return 1;
    }
    return 0;
}

/* A plugin whose path goes through a symlink (the file itself or a directory on the way)
 * is judged by where it resolves to as well, since that is the file dlopen maps: a link in
 * a private directory to a .so in a world-writable one used to load. The target must pass
 * the file rule, the directory holding it the rule of a scanned plugin directory (whoever
 * can write there could have put it there), and no directory above that may be
 * world-writable without the sticky bit (anyone could rename the tree away and put
 * another in its place). 1, with a warning naming the path and its target, if refused. */
static int refuse_target(ml_registry *reg, const char *path)
{
    char real[PATH_MAX], dir[PATH_MAX], why[128];
    struct stat st;
    char *slash;
    if (allow_insecure())
        return 0;
    if (!realpath(path, real)) {
        mli_registry_add_warning(reg, "%s: refusing to load this plugin: cannot resolve where "
                                "it points (%s); fix or remove the link", path,
                                strerror(errno));
        return 1;
    }
    if (strcmp(real, path) == 0)
        return 0;   /* nothing to resolve: the caller's checks saw the file itself */
    snprintf(dir, sizeof dir, "%s", real);
    slash = strrchr(dir, '/');   /* realpath's result is absolute */
    slash[slash == dir] = '\0';   /* "/x.so" -> "/" */
    if (stat(real, &st) == 0 && insecure_why(&st, why, sizeof why))
        mli_registry_add_warning(reg, "%s: refusing to load this plugin: it resolves to %s, "
                                "which %s, so someone else could run code as you; make it "
                                "writable only by you, or set MODLAB_ALLOW_INSECURE_PLUGINS=1 "
                                "to load it anyway", path, real, why);
    else if (stat(dir, &st) == 0 && insecure_why(&st, why, sizeof why))
        mli_registry_add_warning(reg, "%s: refusing to load this plugin: it resolves to %s, "
                                "whose directory %s %s, so someone else could have put it "
                                "there; move it to a directory only you can write, or set "
                                "MODLAB_ALLOW_INSECURE_PLUGINS=1 to load it anyway", path,
                                real, dir, why);
    else {
        while ((slash = strrchr(dir, '/')) && slash != dir) {
            *slash = '\0';
            if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
                mli_registry_add_warning(reg, "%s: refusing to load this plugin: it resolves "
                                        "to %s, and %s above it is world-writable without "
                                        "the sticky bit, so anyone could replace it; move "
                                        "it, or set MODLAB_ALLOW_INSECURE_PLUGINS=1 to load "
                                        "it anyway", path, real, dir);
                return 1;
            }
        }
        return 0;
    }
    return 1;
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
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name) >= (int)sizeof path)
            dup = 1;   /* cannot be named */
        derive_stem(path, stem, sizeof stem);
        for (int j = 0; j < *nseen; j++)
            dup |= !strcmp(seen[j], stem);
        if (!dup && stat(path, &st) == 0 &&
            (refuse_insecure(reg, path, &st, "this plugin") || refuse_target(reg, path)))
            dup = 1;   /* refused: said so; a later directory may provide the stem */
        else if (!dup) {
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

/* Where a list came from, for the policy and for messages. */
enum { FROM_CLI, FROM_ENV, FROM_DEFAULT };
static const char *const from_name[] = {"--plugin-path", "MODLAB_PLUGIN_PATH",
                                        "the installed plugin directory"};

/* Returns ML_ERR_NOMEM when the list cannot even be copied: skipping it silently would
 * leave its plugins unloaded with no word why. */
static int load_list(ml_registry *reg, const char *list, int from, char (*seen)[128],
                     int *nseen, int maxseen)
{
    char *copy;
    struct stat st;
    if (!list || !*list)
        return ML_OK;
    if (!(copy = mli_strdup(list)))
        return ML_ERR_NOMEM;
    int empty = 0;
    /* Split by hand: strtok would skip empty entries without a word. */
    for (char *p = copy, *next; p; p = next) {
        char abs[PATH_MAX];
        ml_err err;
        next = strchr(p, ':');
        if (next)
            *next++ = '\0';
        if (!*p) {
            empty = 1;
            continue;
        }
        if (*p != '/') {
            char cwd[PATH_MAX];
            if (from != FROM_CLI) {
                mli_registry_add_warning(reg, "%s entry '%s' is relative; ignored (it would "
                                        "depend on the current directory): give an absolute "
                                        "path, or pass it with --plugin-path", from_name[from],
                                        p);
                continue;
            }
            /* Named on the command line: the user means this directory, now. */
            if (!getcwd(cwd, sizeof cwd) ||
                snprintf(abs, sizeof abs, "%s/%s", cwd, p) >= (int)sizeof abs) {
                mli_registry_add_warning(reg, "--plugin-path entry '%s': cannot resolve it "
                                        "against the current directory; give an absolute "
                                        "path", p);
                continue;
            }
            p = abs;
        }
        if (stat(p, &st) != 0) {
            if (from != FROM_DEFAULT)
                mli_registry_add_warning(reg, "%s: plugin path entry does not exist", p);
        } else if (S_ISDIR(st.st_mode)) {
            if (!refuse_insecure(reg, p, &st, "plugins from this directory"))
                load_dir(reg, p, seen, nseen, maxseen);
        } else if (!refuse_file(reg, p, &st) && !refuse_target(reg, p))
            ml_registry_load_file(reg, p, &err);
    }
    if (empty)
        mli_registry_add_warning(reg, "%s has an empty entry (\"a::b\", or a leading or "
                                "trailing ':'); ignored: an empty entry never means the "
                                "current directory, write '.' on the command line for that",
                                from_name[from]);
    mli_free(copy);
    return ML_OK;
}

int ml_registry_load_default(ml_registry *reg, const char *path_list, ml_err *err)
{
    enum { MAXSEEN = 256 };
    char (*seen)[128] = mli_alloc(MAXSEEN * sizeof *seen);
    int nseen = 0;
    if (!seen)
        return mli_error(err, ML_ERR_NOMEM, "plugin loader: out of memory");
    int rc = load_list(reg, path_list, FROM_CLI, seen, &nseen, MAXSEEN);
    if (!rc)
        rc = load_list(reg, getenv("MODLAB_PLUGIN_PATH"), FROM_ENV, seen, &nseen, MAXSEEN);
    /* The default directory may legitimately be absent (nothing installed there yet). */
    if (!rc)
        rc = load_list(reg, running_uninstalled() ? ML_BUILD_PLUGINDIR : ML_PLUGINDIR,
                       FROM_DEFAULT, seen, &nseen, MAXSEEN);
    mli_free(seen);
    if (rc)
        return mli_error(err, rc, "plugin loader: out of memory reading the plugin path");
    return ML_OK;
}
