/* SPDX-License-Identifier: MIT */
/* The conformance report and where results go: into the report (in process) or down a
 * pipe to the parent (forked), one line per result. */
#include "sdk/conformance_impl.h"

/* ---- the report (plain malloc: it must not disturb the accounting it reports on) ------ */

void mli_conf_rec_add(ml_check_report *r, int verdict, const char *entry, const char *name,
                     const char *detail)
{
    if (r->n == r->cap) {
        int32_t cap = r->cap ? 2 * r->cap : 32;
        check_rec *p = realloc(r->recs, (size_t)cap * sizeof *p);
        if (!p)
            return;   /* out of memory: the result is lost, the failure count is not */
        r->recs = p;
        r->cap = cap;
    }
    check_rec *c = &r->recs[r->n++];
    c->verdict = verdict;
    snprintf(c->entry, sizeof c->entry, "%s", entry);
    snprintf(c->name, sizeof c->name, "%s", name);
    snprintf(c->detail, sizeof c->detail, "%s", detail);
    r->failures += verdict == ML_CHECK_FAIL;
}

void ml_check_report_free(ml_check_report *r)
{
    if (r) {
        free(r->recs);
        free(r);
    }
}
int32_t ml_check_count(const ml_check_report *r) { return r ? r->n : 0; }
int32_t ml_check_failures(const ml_check_report *r) { return r ? r->failures : 0; }
static const check_rec *rec(const ml_check_report *r, int32_t i)
{
    return r && i >= 0 && i < r->n ? &r->recs[i] : NULL;
}
int ml_check_verdict(const ml_check_report *r, int32_t i)
{
    return rec(r, i) ? rec(r, i)->verdict : ML_CHECK_FAIL;
}
const char *ml_check_entry(const ml_check_report *r, int32_t i)
{
    return rec(r, i) ? rec(r, i)->entry : "";
}
const char *ml_check_name(const ml_check_report *r, int32_t i)
{
    return rec(r, i) ? rec(r, i)->name : "";
}
const char *ml_check_detail(const ml_check_report *r, int32_t i)
{
    return rec(r, i) ? rec(r, i)->detail : "";
}

/* ---- where results go: the report (in process) or a pipe to the parent (forked) ------- */

static void write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\t' || *s == '\n' || *s == '\r')
            *s = ' ';
}

/* Announce a check before running it, so a crash inside it is blamed on it. */
void mli_conf_begin(sink *s, const char *entry, const char *name)
{
    char line[256];
    if (s->fd < 0)
        return;
    int n = snprintf(line, sizeof line, "B\t%s\t%s\n", entry, name);
    write_all(s->fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

void mli_conf_emit(sink *s, int verdict, const char *entry, const char *name, const char *fmt,
                  ...)
{
    char detail[ML_ERR_MSG_MAX + 128], line[ML_ERR_MSG_MAX + 400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    one_line(detail);
    if (s->fd < 0) {
        mli_conf_rec_add(s->rep, verdict, entry, name, detail);
        return;
    }
    int n = snprintf(line, sizeof line, "R\t%d\t%s\t%s\t%s\n", verdict, entry, name, detail);
    write_all(s->fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}
