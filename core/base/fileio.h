/* SPDX-License-Identifier: MIT */
/* File helpers shared by the core's crash-safe writers. */
#ifndef MODLAB_CORE_FILEIO_H
#define MODLAB_CORE_FILEIO_H

#include <stdint.h>

/* fsync the directory holding `path`, so a rename into it survives a crash. Best effort:
 * some file systems refuse to sync directories; returns 0 or -1. */
int mli_fsync_dir_of(const char *path);

/* fsync a file written through another descriptor (a download's stdio stream), before it
 * is renamed into place: 0 or -1 with errno. */
int mli_fsync_path(const char *path);

/* Size of the regular file at `path`, or -1 (missing, or not a regular file). */
int64_t mli_file_size(const char *path);

/* Test hook (see ml_test_pause): pause point "before-rename:<base name of path>". */
void mli_test_pause_before_rename(const char *path);

/* Test hook (see ml_test_pause): with MODLAB_TEST_FAIL_WRITE=NAME[#N][,...] set, a writer
 * about to write a file of base name NAME gets -1 with errno ENOSPC (a full disk); else 0.
 * Honoured by ml_file_write_atomic, the safetensors writer and ml_journal_append. */
int mli_test_write_fault(const char *path);

#endif
