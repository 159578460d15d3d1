/* SPDX-License-Identifier: MIT */
/* No shell: run a program from an argv array, and the directory operations modlab once ran
 * through a shell (copy a tree, list a directory, the git commit of a directory). User text
 * (paths, names, sweep values) is only ever an argv element or a path argument here, never
 * part of a command line, so $(...), backticks, quotes and newlines in it are just bytes.
 * core/base/spawn.c is the one file of modlab that starts processes (tests/e2e/no_shell_src.sh). */
#ifndef MODLAB_SPAWN_H
#define MODLAB_SPAWN_H

#include <stddef.h>
#include <stdint.h>

#include <modlab/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

ML_API_BEGIN
/* ffi:begin */

/* ---- processes without a shell ---------------------------------------------------------- */
/* ml_run flags: where the program's stderr goes (default: modlab's own stderr). */
enum { ML_RUN_STDERR_NULL = 1, ML_RUN_STDERR_TO_OUT = 2 };
/* Run argv[0] (searched in PATH, as execvp does) with argv (NULL-terminated) and wait for
 * it. Its stdin is input[0..input_len) (input NULL: /dev/null); its stdout is captured into
 * out[0..cap) with a NUL after it and the byte count in *out_len (out NULL: discarded).
 * Output that does not fit in cap - 1 bytes stops the program: ML_ERR_FORMAT. Returns 0 once
 * the program ran, with *status = its exit code (>= 0) or -signal; ML_ERR_NOT_FOUND when it
 * cannot be found, ML_ERR_IO when it cannot be started. */
int ml_run(const char *const *argv, const char *input, size_t input_len, int32_t flags,
           char *out, size_t cap, size_t *out_len, int32_t *status, ml_err *err);

/* ---- directories ------------------------------------------------------------------------ */
/* The entries of directory `dir` (not . and ..), sorted bytewise, as one buffer of
 * NUL-terminated records, each a kind letter then the name: 'f' regular file, 'd' directory,
 * 'l' symbolic link (not followed), 'o' anything else. *len = the buffer's size in bytes.
 * ML_ERR_NOT_FOUND if dir does not exist. Owned: free with ml_list_dir_free. */
char *ml_list_dir(const char *dir, size_t *len, ml_err *err);
void ml_list_dir_free(char *list);
/* `cp -a src dst` without cp: dst (which must not exist) becomes a copy of directory src:
 * regular files, directories and symbolic links (copied as links, never followed, so the
 * copy never reads outside src), with their permission bits and times. Other kinds of file
 * (fifos, sockets, devices) are refused. On any failure the partial copy is removed. */
int ml_copy_tree(const char *src, const char *dst, ml_err *err);
/* The commit checked out in the git repository holding `dir` (`git -C dir rev-parse
 * --verify HEAD`, spawned without a shell): 1 with its hex id in out (cap >= 65); 0 if there
 * is none (not a repository, no commit yet, git not installed); negative ML_ERR_* on error. */
int ml_git_commit(const char *dir, char *out, size_t cap, ml_err *err);

/* ffi:end */
ML_API_END

#ifdef __cplusplus
}
#endif

#endif
