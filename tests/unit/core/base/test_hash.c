/* SPDX-License-Identifier: MIT */
/* SHA-256 and MD5 against the FIPS 180-4 / RFC 1321 test vectors, whole and streamed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "base/mem.h"
#include "tap.h"

/* ALGO's hex digest of DATA fed STEP bytes at a time: streaming must not change it. */
#define DIGEST_HEX(fn, algo, ctx_t, len)                                                      \
    static void fn(const void *data, size_t n, size_t step, char *out)                        \
    {                                                                                         \
        ctx_t c;                                                                              \
        uint8_t d[len];                                                                       \
        mli_##algo##_init(&c);                                                                \
        for (size_t off = 0; off < n; off += step)                                            \
            mli_##algo##_update(&c, (const char *)data + off,                                 \
                                n - off < step ? n - off : step);                             \
        mli_##algo##_final(&c, d);                                                            \
        mli_hex(d, sizeof d, out);                                                            \
    }
DIGEST_HEX(sha_hex, sha256, ml_sha256_ctx, ML_SHA256_LEN)
DIGEST_HEX(md5_hex, md5, ml_md5_ctx, ML_MD5_LEN)

int main(void)
{
    static const struct {
        const char *in, *sha256, *md5;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "d41d8cd98f00b204e9800998ecf8427e"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
         "900150983cd24fb0d6963f7d28e17f72"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
         "8215ef0796a20bcaaae116d3876c664a"},
        {"a", "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
         "0cc175b9c0f1b6a831c399e269772661"},
        {"message digest", "f7846f55cf23e14eebeab5b4e1550cad5b509e3348fbc4efa3a1413d393cb650",
         "f96b697d7cb7938d525a2f31aaf161d0"},
        {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
         "f371bc4a311f2b009eef952dd83ca80e2b60026c8e935592d0f9c308453c813e",
         "57edf4a22be3c955ac49da2e2107b67a"},
    };
    char got[ML_SHA256_HEX], gotm[ML_MD5_HEX];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i].in);
        if (v[i].sha256) {
            sha_hex(v[i].in, n, n ? n : 1, got);
            is_str(got, v[i].sha256, "sha256 vector");
        }
        md5_hex(v[i].in, n, n ? n : 1, gotm);
        is_str(gotm, v[i].md5, "md5 vector");
        if (n > 1) {
            if (v[i].sha256)
                sha_hex(v[i].in, n, 1, got);
            if (v[i].sha256)
                is_str(got, v[i].sha256, "sha256 vector, byte by byte");
            md5_hex(v[i].in, n, 3, gotm);
            is_str(gotm, v[i].md5, "md5 vector, 3 bytes at a time");
        }
    }
    /* The 896-bit (112-byte) FIPS vector crosses a block boundary in the padding. */
    sha_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
            "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
            112, 112, got);
    is_str(got, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
           "sha256 of the 112-byte vector");

    size_t mil = 1000000;
    char *a = malloc(mil);
    memset(a, 'a', mil);
    sha_hex(a, mil, mil, got);
    is_str(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
           "sha256 of one million 'a'");
    sha_hex(a, mil, 4099, got);
    is_str(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
           "sha256 of one million 'a', in odd chunks");
    md5_hex(a, mil, mil, gotm);
    is_str(gotm, "7707d6ae4e027c70eea2a935c2296f21", "md5 of one million 'a'");

    /* Whole-file helper. */
    char path[] = "/tmp/modlab-test-hash-XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0 && write(fd, a, mil) == (ssize_t)mil, "wrote a temporary file");
    close(fd);
    int64_t size = 0;
    ml_err err = {0};
    is_int(mli_hash_file(path, got, gotm, &size, &err), 0, "mli_hash_file succeeds");
    is_str(got, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
           "mli_hash_file sha256");
    is_str(gotm, "7707d6ae4e027c70eea2a935c2296f21", "mli_hash_file md5");
    is_int(size, mil, "mli_hash_file size");
    unlink(path);
    is_int(mli_hash_file(path, got, NULL, NULL, &err), ML_ERR_NOT_FOUND, "missing file");
    like(err.msg, path, "the error names the path");
    free(a);
    return done_testing();
}
