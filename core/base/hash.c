/* SPDX-License-Identifier: MIT */
/* SHA-256 (FIPS 180-4) and MD5 (RFC 1321), written from the specifications. */
#include "base/hash.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/mem.h"

/* ---- SHA-256 ------------------------------------------------------------------------ */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static inline uint32_t ror32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static void sha256_block(uint32_t *h, const uint8_t *p)
{
    uint32_t w[64], a, b, c, d, e, f, g, hh;
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ror32(w[t - 15], 7) ^ ror32(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ror32(w[t - 2], 17) ^ ror32(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t S1 = ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + sha256_k[t] + w[t];
        uint32_t S0 = ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/* The Merkle-Damgard buffering both hashes share: whole 64-byte blocks go to `block`, the
 * rest waits in buf. */
typedef void (*block_fn)(uint32_t *h, const uint8_t *p);

static void feed(block_fn block, uint32_t *h, uint8_t buf[64], size_t *nbuf,
                 uint64_t *nbytes, const void *data, size_t len)
{
    const uint8_t *p = data;
    *nbytes += len;
    if (*nbuf) {
        size_t take = 64 - *nbuf < len ? 64 - *nbuf : len;
        memcpy(buf + *nbuf, p, take);
        *nbuf += take, p += take, len -= take;
        if (*nbuf < 64)
            return;
        block(h, buf);
        *nbuf = 0;
    }
    for (; len >= 64; p += 64, len -= 64)
        block(h, p);
    memcpy(buf, p, len);
    *nbuf = len;
}

void ml_sha256_init(ml_sha256_ctx *c)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(c->h, h0, sizeof h0);
    c->nbytes = 0;
    c->nbuf = 0;
}

void ml_sha256_update(ml_sha256_ctx *c, const void *data, size_t len)
{
    feed(sha256_block, c->h, c->buf, &c->nbuf, &c->nbytes, data, len);
}

void ml_sha256_final(ml_sha256_ctx *c, uint8_t out[ML_SHA256_LEN])
{
    uint64_t bits = c->nbytes * 8;
    c->buf[c->nbuf++] = 0x80;
    if (c->nbuf > 56) {
        memset(c->buf + c->nbuf, 0, 64 - c->nbuf);
        sha256_block(c->h, c->buf);
        c->nbuf = 0;
    }
    memset(c->buf + c->nbuf, 0, 56 - c->nbuf);
    for (int i = 0; i < 8; i++)
        c->buf[56 + i] = (uint8_t)(bits >> (56 - 8 * i));
    sha256_block(c->h, c->buf);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (uint8_t)(c->h[i] >> 24);
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 3] = (uint8_t)c->h[i];
    }
}

/* ---- MD5 ---------------------------------------------------------------------------- */

static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613,
    0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193,
    0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d,
    0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed,
    0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122,
    0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244,
    0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391,
};
static const uint8_t md5_s[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9,  14, 20, 5, 9,
    14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
};

static void md5_block(uint32_t *h, const uint8_t *p)
{
    uint32_t x[16], a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 16; i++)
        x[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
               (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16)
            f = (b & c) | (~b & d), g = i;
        else if (i < 32)
            f = (d & b) | (~d & c), g = (5 * i + 1) & 15;
        else if (i < 48)
            f = b ^ c ^ d, g = (3 * i + 5) & 15;
        else
            f = c ^ (b | ~d), g = (7 * i) & 15;
        uint32_t tmp = d;
        d = c;
        c = b;
        uint32_t sum = a + f + md5_k[i] + x[g];
        b = b + ((sum << md5_s[i]) | (sum >> (32 - md5_s[i])));
        a = tmp;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d;
}

void ml_md5_init(ml_md5_ctx *c)
{
    c->h[0] = 0x67452301, c->h[1] = 0xefcdab89, c->h[2] = 0x98badcfe, c->h[3] = 0x10325476;
    c->nbytes = 0;
    c->nbuf = 0;
}

void ml_md5_update(ml_md5_ctx *c, const void *data, size_t len)
{
    feed(md5_block, c->h, c->buf, &c->nbuf, &c->nbytes, data, len);
}

void ml_md5_final(ml_md5_ctx *c, uint8_t out[ML_MD5_LEN])
{
    uint64_t bits = c->nbytes * 8;
    c->buf[c->nbuf++] = 0x80;
    if (c->nbuf > 56) {
        memset(c->buf + c->nbuf, 0, 64 - c->nbuf);
        md5_block(c->h, c->buf);
        c->nbuf = 0;
    }
    memset(c->buf + c->nbuf, 0, 56 - c->nbuf);
    for (int i = 0; i < 8; i++)
        c->buf[56 + i] = (uint8_t)(bits >> (8 * i));
    md5_block(c->h, c->buf);
    for (int i = 0; i < 4; i++) {
        out[4 * i] = (uint8_t)c->h[i];
        out[4 * i + 1] = (uint8_t)(c->h[i] >> 8);
        out[4 * i + 2] = (uint8_t)(c->h[i] >> 16);
        out[4 * i + 3] = (uint8_t)(c->h[i] >> 24);
    }
}

/* ---- helpers ------------------------------------------------------------------------ */

void ml_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

int ml_hash_file(const char *path, char sha256_hex[ML_SHA256_HEX], char md5_hex[ML_MD5_HEX],
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
        rc = ml_error(err, errno == ENOENT ? ML_ERR_NOT_FOUND : ML_ERR_IO, "%s: %s", path,
                      strerror(errno));
        goto fail;
    }
    buf = ml_alloc(CHUNK);
    if (!buf) {
        rc = ml_error(err, ML_ERR_NOMEM, "%s: out of memory hashing the file", path);
        goto fail;
    }
    ml_sha256_init(&sc);
    ml_md5_init(&mc);
    for (;;) {
        size_t n = fread(buf, 1, CHUNK, f);
        if (n == 0)
            break;
        if (sha256_hex)
            ml_sha256_update(&sc, buf, n);
        if (md5_hex)
            ml_md5_update(&mc, buf, n);
        total += (int64_t)n;
    }
    if (ferror(f)) {
        rc = ml_error(err, ML_ERR_IO, "%s: read error while hashing", path);
        goto fail;
    }
    if (sha256_hex) {
        uint8_t d[ML_SHA256_LEN];
        ml_sha256_final(&sc, d);
        ml_hex(d, sizeof d, sha256_hex);
    }
    if (md5_hex) {
        uint8_t d[ML_MD5_LEN];
        ml_md5_final(&mc, d);
        ml_hex(d, sizeof d, md5_hex);
    }
    if (size)
        *size = total;
    rc = 0;
fail:
    if (f)
        fclose(f);
    ml_free(buf);
    return rc;
}
