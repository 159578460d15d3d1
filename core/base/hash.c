/* SPDX-License-Identifier: MIT */
/* SHA-256 and MD5 through nettle, and the whole-file helper that checks downloads. */
#include "base/hash.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

void mli_sha256_init(ml_sha256_ctx *c) { sha256_init(&c->n); }

void mli_sha256_update(ml_sha256_ctx *c, const void *data, size_t len)
{
    sha256_update(&c->n, len, data);
}

void mli_sha256_final(ml_sha256_ctx *c, uint8_t out[ML_SHA256_LEN])
{
    sha256_digest(&c->n, ML_SHA256_LEN, out);
}

void mli_md5_init(ml_md5_ctx *c) { md5_init(&c->n); }

void mli_md5_update(ml_md5_ctx *c, const void *data, size_t len)
{
    md5_update(&c->n, len, data);
}

void mli_md5_final(ml_md5_ctx *c, uint8_t out[ML_MD5_LEN]) { md5_digest(&c->n, ML_MD5_LEN, out); }

void mli_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

int mli_hash_file(const char *path, char sha256_hex[ML_SHA256_HEX], char md5_hex[ML_MD5_HEX],
                 int64_t *size, ml_err *err)
{
    enum { CHUNK = 1 << 16 };
    ml_sha256_ctx sc;
    ml_md5_ctx mc;
    uint8_t *buf = NULL;
    FILE *f = NULL;
    int64_t total = 0;
    int rc;

    f = fopen(path, "rb");
    if (!f) {
        rc = mli_error(err, errno == ENOENT ? ML_ERR_NOT_FOUND : ML_ERR_IO, "%s: %s", path,
                      strerror(errno));
        goto fail;
    }
    buf = mli_alloc(CHUNK);
    if (!buf) {
        rc = mli_error(err, ML_ERR_NOMEM, "%s: out of memory hashing the file", path);
        goto fail;
    }
    mli_sha256_init(&sc);
    mli_md5_init(&mc);
    for (;;) {
        size_t n = fread(buf, 1, CHUNK, f);
        if (n == 0)
            break;
        if (sha256_hex)
            mli_sha256_update(&sc, buf, n);
        if (md5_hex)
            mli_md5_update(&mc, buf, n);
        total += (int64_t)n;
    }
    if (ferror(f)) {
        rc = mli_error(err, ML_ERR_IO, "%s: read error while hashing", path);
        goto fail;
    }
    if (sha256_hex) {
        uint8_t d[ML_SHA256_LEN];
        mli_sha256_final(&sc, d);
        mli_hex(d, sizeof d, sha256_hex);
    }
    if (md5_hex) {
        uint8_t d[ML_MD5_LEN];
        mli_md5_final(&mc, d);
        mli_hex(d, sizeof d, md5_hex);
    }
    if (size)
        *size = total;
    rc = 0;
fail:
    if (f)
        fclose(f);
    mli_free(buf);
    return rc;
}
