/* SPDX-License-Identifier: MIT */
/* Version and build facts (meta.json's "versions" and "host"). LuaJIT's version is the
 * CLI's to add (jit.version): libmodlab does not link LuaJIT. */
#include <config.h>

#include <curl/curl.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <yaml.h>

#include "base/blas.h"
#include <modlab/modlab.h>

const char *ml_version(void) { return PACKAGE_VERSION; }

const char *ml_build_info(void)
{
    static char buf[1024];
    struct utsname u;
    char host[128] = "unknown";
    if (uname(&u) != 0)
        snprintf(u.release, sizeof u.release, "unknown");
    gethostname(host, sizeof host - 1);
    snprintf(buf, sizeof buf,
             "{\"modlab\":\"%s\",\"abi\":\"%d.%d\",\"libyaml\":\"%s\","
             "\"libcurl\":\"%s\",\"blas\":\"%s\",\"hostname\":\"%s\",\"kernel\":\"%s\","
             "\"ncpu\":%ld}",
             PACKAGE_VERSION, ML_ABI_MAJOR, ML_ABI_MINOR,
             yaml_get_version_string(), curl_version_info(CURLVERSION_NOW)->version,
             mli_blas_config(), host, u.release, sysconf(_SC_NPROCESSORS_ONLN));
    return buf;
}
