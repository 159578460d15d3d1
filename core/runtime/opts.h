/* SPDX-License-Identifier: MIT */
/* Internal accessors of validated options (the host table's opt_* services). */
#ifndef MODLAB_CORE_OPTS_H
#define MODLAB_CORE_OPTS_H

#include <modlab/plugin.h>

int64_t mli_opts_get_int(const ml_opts *o, const char *name);
double mli_opts_get_float(const ml_opts *o, const char *name);
int mli_opts_get_bool(const ml_opts *o, const char *name);
const char *mli_opts_get_str(const ml_opts *o, const char *name);
int32_t mli_opts_count(const ml_opts *o);
const char *mli_opts_key(const ml_opts *o, int32_t i);
const char *mli_opts_text(const ml_opts *o, int32_t i);
/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates,
 * nothing past U+10FFFF), or 0; 1 for any ASCII byte. Reads no further than a NUL. */
size_t mli_utf8_len(const unsigned char *s);

#endif
