/* SPDX-License-Identifier: MIT */
/* Shared helpers of the fuzz targets (fuzz/fuzz_*.c). Each target defines
 * LLVMFuzzerTestOneInput and, when it needs one-time setup, LLVMFuzzerInitialize; it links
 * either libFuzzer (--enable-fuzz) or fuzz/standalone_driver.c (make fuzz-smoke). */
#ifndef MODLAB_FUZZ_FUZZ_H
#define MODLAB_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <modlab/modlab.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An in-memory file (memfd) holding `size` bytes, for parsers that only take a path:
 * path receives "/proc/self/fd/N". Returns the descriptor (close it with fz_file_close), or
 * aborts: running out of descriptors is a harness bug, not a finding. */
int fz_file(const uint8_t *data, size_t size, char *path, size_t cap);
void fz_file_close(int fd);

/* Leak check through modlab's accounting allocator: every input must give back all it
 * took. fz_leak_check aborts (a crash for libFuzzer and for the standalone driver) naming
 * the target and the bytes left behind. */
int64_t fz_live(void);
void fz_leak_check(const char *target, int64_t live_before);

/* With FUZZ_VERBOSE=1 in the environment, say whether the input was accepted and if not,
 * why (err may be NULL): for checking that seeds get past the first checks. */
void fz_note(const char *target, int accepted, const ml_err *err);

/* The parser's verdict: a rejection must come with an error code and a message (else
 * fz_fail), and is noted as fz_note does. Returns `accepted`. */
int fz_verdict(const char *target, int accepted, const ml_err *err);

/* A parser accepted what it must reject: abort with the reason. */
void fz_fail(const char *target, const char *why);

/* Multi-file inputs as in-memory files: the bytes before the first FZ_SPLIT are the first
 * file, the rest the second. Without a separator there is no second file (b->fd = -1),
 * unless `same` asks for the first file's bytes again. Close both with fz_pair_close. */
#define FZ_SPLIT "\n=FUZZ=\n"
typedef struct {
    int fd;        /* -1: no such file */
    char path[64]; /* "/proc/self/fd/N" */
} fz_memfile;
void fz_pair_open(const uint8_t *data, size_t size, int same, fz_memfile *a, fz_memfile *b);
void fz_pair_close(fz_memfile *a, fz_memfile *b);

/* Dataset readers: validate `opts` against the entry's schema, open, read the first and the
 * last example, close. Returns 1 when the reader accepted the files, 0 when it rejected
 * them (with a message, else fz_fail). Frees opts. */
int fz_dataset(const char *target, const ml_entry *entry, ml_opts *opts);

#endif
