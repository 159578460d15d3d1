/* SPDX-License-Identifier: MIT */
/* Checks of what a sweep file names: the sweep's name (it becomes a directory) and its
 * program (the recipe every trial runs). Kept apart from the sweep file reader so that the Lua side
 * holds names it derives itself (a file's stem) to the same rule. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include <modlab/sweep.h>

/* Letters, digits, '.', '_' and '-'; not first '.' or '-' (hidden files, options), no "..".
 * Such a name is one path component that no shell, Slurm script or argv parser reads as
 * anything but itself. */
int ml_sweep_check_name(const char *name, const char *what, ml_err *err)
{
    const char *why = NULL;
    size_t len = name ? strlen(name) : 0;
    if (!what)
        what = "name";
    if (!name || len == 0)
        why = "is empty";
    else if (len > ML_SWEEP_NAME_MAX)
        why = "is too long";
    else if (name[0] == '.' || name[0] == '-')
        why = "starts with '.' or '-'";
    else if (strstr(name, ".."))
        why = "holds '..'";
    for (size_t i = 0; !why && i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            why = "holds a character outside the set";
    }
    if (!why)
        return 0;
    /* The name itself is not echoed: it may hold newlines or terminal escapes. */
    return mli_error(err, ML_ERR_FORMAT,
                    "%s %s: use 1 to %d characters of [A-Za-z0-9._-], not starting with '.' "
                    "or '-' and without '..' (it names a directory)", what, why,
                    ML_SWEEP_NAME_MAX);
}

/* Opened, not just stat'ed: a file we may not read is as useless as a missing one. */
int ml_sweep_check_program(const char *path, const char *what, ml_err *err)
{
    struct stat st;
    int fd;
    if (!what)
        what = "program";
    if (!path || !*path)
        return mli_error(err, ML_ERR_NOT_FOUND, "%s is empty: give the recipe to run", what);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
        if (errno == ENOENT)
            return mli_error(err, ML_ERR_NOT_FOUND, "%s '%s' not found", what, path);
        return mli_error(err, ML_ERR_IO, "%s '%s' cannot be read (%s): give a readable "
                        "recipe file", what, path, strerror(errno));
    }
    int rc = fstat(fd, &st);
    int e = errno;
    close(fd);
    if (rc)
        return mli_error(err, ML_ERR_IO, "%s '%s': %s", what, path, strerror(e));
    if (!S_ISREG(st.st_mode))
        return mli_error(err, ML_ERR_INVALID, "%s '%s' is %s, not a regular file: give the "
                        "recipe file (e.g. train.lua)", what, path,
                        S_ISDIR(st.st_mode) ? "a directory" : "a special file");
    return 0;
}
