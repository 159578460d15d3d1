/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4) and MD5 (RFC 1321): streaming digests and a whole-file helper, on
 * nettle (its SHA-NI and assembly code are 5-8x faster than a portable C version). */
#ifndef MODLAB_CORE_HASH_H
#define MODLAB_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include <nettle/md5.h>
#include <nettle/sha2.h>

#include <modlab/plugin.h>

enum { ML_SHA256_LEN = 32, ML_MD5_LEN = 16, ML_SHA256_HEX = 65, ML_MD5_HEX = 33 };

typedef struct ml_sha256_ctx {
    struct sha256_ctx n;
} ml_sha256_ctx;

typedef struct ml_md5_ctx {
    struct md5_ctx n;
} ml_md5_ctx;

void mli_sha256_init(ml_sha256_ctx *c);
void mli_sha256_update(ml_sha256_ctx *c, const void *data, size_t len);
void mli_sha256_final(ml_sha256_ctx *c, uint8_t out[ML_SHA256_LEN]);

void mli_md5_init(ml_md5_ctx *c);
void mli_md5_update(ml_md5_ctx *c, const void *data, size_t len);
void mli_md5_final(ml_md5_ctx *c, uint8_t out[ML_MD5_LEN]);

/* Lower-case hex of n bytes into out (2n+1 chars). */
void mli_hex(const uint8_t *bytes, size_t n, char *out);

/* Hash a whole file: SHA-256 and MD5 as lower-case hex, and its size. Any of the outputs may
 * be NULL. Errors (ML_ERR_IO, ML_ERR_NOT_FOUND) name the path. */
int mli_hash_file(const char *path, char sha256_hex[ML_SHA256_HEX], char md5_hex[ML_MD5_HEX],
                 int64_t *size, ml_err *err);

#endif
