/* SPDX-License-Identifier: MIT */
/* Archive members through libarchive: pax (Python tarfile's default) and GNU archives whose
 * member names pass 100 bytes, plain .tar and .tar.gz, and the refusals: a hard link or a
 * directory listed as a member, a corrupt or truncated archive, a member over its pinned
 * size. Archives are written here with libarchive's writer, so no tar program is needed. */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <modlab/modlab.h>

#include "base/hash.h"
#include "data/manifest.h"
#include "tap.h"
#include "tap_fs.h"

static char tmp[700], cache[800];

/* The long member name: 3 folders of 40 characters and a file, 132 bytes in all. */
#define LONG_DIR "d123456789012345678901234567890123456789"
static const char long_name[] = LONG_DIR "/" LONG_DIR "/" LONG_DIR "/data.bin";

enum { W_PAX = 1, W_GNU, W_USTAR };

/* Writes dir/name (format, gzip or not) with the long-named member holding `data`, a short
 * "meta.txt", a hard link "hard" to meta.txt and a directory "sub/". 0 on success. */
static int write_archive(const char *path, int format, int gzip, const char *data, size_t len)
{
    struct archive *a = archive_write_new();
    int rc = format == W_PAX     ? archive_write_set_format_pax_restricted(a)
             : format == W_GNU   ? archive_write_set_format_gnutar(a)
                                 : archive_write_set_format_ustar(a);
    if (rc == ARCHIVE_OK && gzip)
        rc = archive_write_add_filter_gzip(a);
    if (rc == ARCHIVE_OK)
        rc = archive_write_open_filename(a, path);
    struct {
        const char *name, *data, *hardlink;
        int type;
    } members[] = {
        {"sub/", "", NULL, AE_IFDIR},
        {format == W_USTAR ? "short/data.bin" : long_name, data, NULL, AE_IFREG},
        {"./meta.txt", "a\nb\n", NULL, AE_IFREG},
        {"hard", "", "meta.txt", AE_IFREG},
    };
    for (size_t i = 0; rc == ARCHIVE_OK && i < sizeof members / sizeof members[0]; i++) {
        struct archive_entry *e = archive_entry_new();
        size_t n = members[i].data == data ? len : strlen(members[i].data);
        archive_entry_set_pathname(e, members[i].name);
        archive_entry_set_filetype(e, (unsigned)members[i].type);
        archive_entry_set_perm(e, 0644);
        if (members[i].hardlink) {
            archive_entry_set_hardlink(e, members[i].hardlink);
            n = 0;
        }
        archive_entry_set_size(e, (la_int64_t)n);
        rc = archive_write_header(a, e);
        if (rc == ARCHIVE_OK && n && archive_write_data(a, members[i].data, n) != (la_ssize_t)n)
            rc = ARCHIVE_FATAL;
        archive_entry_free(e);
    }
    if (archive_write_close(a) != ARCHIVE_OK)
        rc = ARCHIVE_FATAL;
    archive_write_free(a);
    return rc == ARCHIVE_OK ? 0 : -1;
}

/* A manifest NAME over dir/file (file://, its SHA-256 pinned) extracting `extract` (YAML). */
static ml_manifest *manifest(const char *name, const char *file, const char *extract)
{
    char path[900], sha[ML_SHA256_HEX];
    ml_err err = {0};
    snprintf(path, sizeof path, "%s/src/%s", tmp, file);
    if (mli_hash_file(path, sha, NULL, NULL, &err))
        return NULL;
    const char *yaml = tap_write_in(tmp, name, ".yaml",
                                    "name: %s\nformat: x\nurls: [file://%s/src/]\n"
                                    "files:\n  - name: %s\n    sha256: %s\n    extract: %s\n",
                                    name, tmp, file, sha, extract);
    ml_manifest *m = ml_manifest_load(yaml, &err);
    if (!m)
        tap_diag("%s", err.msg);
    return m;
}

/* The member landed whole: same SHA-256 as the bytes written. */
static int member_is(const char *ds, const char *member, const char *data, size_t len)
{
    char path[1200], got[ML_SHA256_HEX], want[ML_SHA256_HEX];
    uint8_t d[ML_SHA256_LEN];
    ml_sha256_ctx c;
    snprintf(path, sizeof path, "%s/%s/%s", cache, ds, member);
    if (mli_hash_file(path, got, NULL, NULL, NULL))
        return 0;
    mli_sha256_init(&c);
    mli_sha256_update(&c, data, len);
    mli_sha256_final(&c, d);
    mli_hex(d, sizeof d, want);
    return !strcmp(got, want);
}

static void extracts(const char *ds, const char *file, int format, int gzip, const char *member,
                     const char *data, size_t len)
{
    char path[900];
    ml_err err = {0};
    snprintf(path, sizeof path, "%s/src/%s", tmp, file);
    if (!ok(write_archive(path, format, gzip, data, len) == 0, "%s: written", file))
        return;
    char extract[400];
    snprintf(extract, sizeof extract, "[%s, meta.txt]", member);
    ml_manifest *m = manifest(ds, file, extract);
    if (!ok(m != NULL, "%s: its manifest loads", file))
        return;
    if (!ok(ml_manifest_fetch(m, 0, &err) == 0, "%s: fetched and extracted", file))
        tap_diag("%s", err.msg);
    ok(member_is(ds, member, data, len), "%s: %s has the bytes written", file,
       strlen(member) > 100 ? "the member with a name over 100 bytes" : member);
    ok(member_is(ds, "meta.txt", "a\nb\n", 4), "%s: ./meta.txt is found as meta.txt", file);
    ok(mli_manifest_file_state(m, 0) == ML_CACHE_VERIFIED, "%s: the cache says verified", file);
    ml_manifest_free(m);
}

static void refused(const char *ds, const char *file, const char *extract, const char *want,
                    const char *what)
{
    ml_err err = {0};
    ml_manifest *m = manifest(ds, file, extract);
    if (!ok(m != NULL, "%s: manifest loads", what))
        return;
    int rc = ml_manifest_fetch(m, 0, &err);
    ok(rc == ML_ERR_FORMAT || (rc == ML_ERR_CHECKSUM && !strcmp(want, "size")), "%s: refused",
       what);
    if (!ok(strstr(err.msg, want) != NULL, "%s: the message says why ('%s')", what, want))
        tap_diag("got: %s", err.msg);
    ml_manifest_free(m);
}

int main(void)
{
    static char big[200000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 13 + (i >> 9));
    if (tap_mkdtemp(tmp, sizeof tmp, "manifest-tar"))
        return 1;
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    char src[800];
    snprintf(src, sizeof src, "%s/src", tmp);
    mkdir(src, 0777);
    setenv("MODLAB_DATA_DIR", cache, 1);
    unsetenv("MODLAB_OFFLINE");
    unsetenv("MODLAB_MIRROR");

    ok(strlen(long_name) > 100, "the long member name is over 100 bytes (%zu)", strlen(long_name));
    extracts("pax", "pax.tar.gz", W_PAX, 1, long_name, big, sizeof big);
    extracts("gnu", "gnu.tar.gz", W_GNU, 1, long_name, big, sizeof big);
    extracts("plain", "plain.tar", W_PAX, 0, long_name, big, sizeof big);
    extracts("tgz", "ustar.tgz", W_USTAR, 1, "short/data.bin", big, 1000);

    refused("hard", "pax.tar.gz", "[hard]", "member hard is not a regular file",
            "a hard link listed as a member");
    refused("dir", "pax.tar.gz", "[sub]", "member sub is not a regular file",
            "a directory listed as a member");
    refused("missing", "pax.tar.gz", "[nope.bin]", "pax.tar.gz has no member nope.bin",
            "a member the archive lacks");

    /* A member over its pinned size: the pins are checked on the bytes extracted. */
    {
        char extract[400];
        snprintf(extract, sizeof extract, "[{name: %s, size: 10}]", long_name);
        refused("pinned", "pax.tar.gz", extract, "size", "a member whose size is not the pin");
    }

    /* Corrupt and truncated archives (pinned as they are, so only the reader can refuse). */
    {
        char path[900];
        snprintf(path, sizeof path, "%s/src/junk.tar.gz", tmp);
        FILE *f = fopen(path, "wb");
        for (int i = 0; f && i < 4096; i++)
            fputc((i * 7919) & 0xff, f);
        if (f)
            fclose(f);
        refused("junk", "junk.tar.gz", "[meta.txt]", "bad tar archive", "bytes that are no tar");

        char full[900];
        snprintf(full, sizeof full, "%s/src/pax.tar", tmp);
        write_archive(full, W_PAX, 0, big, sizeof big);
        snprintf(path, sizeof path, "%s/src/cut.tar", tmp);
        FILE *in = fopen(full, "rb"), *out = fopen(path, "wb");
        char buf[4096];
        size_t total = 0, n;
        while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0 && total < 100000) {
            fwrite(buf, 1, n, out);
            total += n;
        }
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        char extract[400];
        snprintf(extract, sizeof extract, "[%s]", long_name);
        refused("cut", "cut.tar", extract, "truncated", "an archive cut inside a member");
    }
    is_int(ml_mem_live_blocks(), 0, "nothing of modlab's allocations left");
    tap_cleanup_dir(tmp);
    return done_testing();
}
