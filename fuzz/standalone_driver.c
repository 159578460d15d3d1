/* SPDX-License-Identifier: MIT */
/* A libFuzzer stand-in for builds without clang's -fsanitize=fuzzer (make fuzz-smoke): runs
 * a target's LLVMFuzzerTestOneInput on every file given (directories: their files, in name
 * order), then on -runs=N deterministic mutations of them (bit flips, interesting bytes and
 * words, truncations, inserted and deleted bytes, duplicated chunks, splices between two
 * inputs) drawn from -seed=S. Same arguments, same inputs: a failure replays exactly.
 *
 * Each input sits in a buffer of exactly its size (so ASan builds see overreads). A crash,
 * an abort (the targets abort on leaks and wrong accepts) or an input running longer than
 * -timeout=SECONDS saves the input to -artifact_prefix (default ./) + "crash-<target>-<n>"
 * and prints how to replay it. Exit status 0 only when every input passed. */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

typedef struct blob {
    uint8_t *p;
    size_t n;
    char *name;
} blob;

static blob *seeds;
static size_t nseeds, capseeds;
static const char *target = "target";
static char crash_path[4096];
static char what[256];
/* The input being run, for the signal handler. */
static const uint8_t *volatile cur_data;
static volatile size_t cur_size;

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz driver: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    exit(2);
}

/* Async-signal-safe: save the input, say what happened, then die of the signal. */
static void on_signal(int sig)
{
    int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        size_t done = 0;
        while (done < cur_size) {
            ssize_t w = write(fd, (const uint8_t *)cur_data + done, cur_size - done);
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        close(fd);
    }
    const char *kind = sig == SIGALRM ? "TIMEOUT" : "CRASH";
    const char *parts[] = {"fuzz driver: ", target, ": ", kind, " on ", what,
                           "; input saved to ", crash_path, "; replay: ", target, " ",
                           crash_path, "\n"};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        if (write(2, parts[i], strlen(parts[i])) < 0)
            break;
    signal(sig == SIGALRM ? SIGABRT : sig, SIG_DFL);
    raise(sig == SIGALRM ? SIGABRT : sig);
}

static void add_seed(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s: give existing corpus files or directories", path);
    blob b = {NULL, 0, strdup(path)};
    size_t cap = 0;
    for (;;) {
        if (b.n == cap) {
            cap = cap ? 2 * cap : 4096;
            b.p = realloc(b.p, cap);
            if (!b.p)
                die("out of memory reading %s", path);
        }
        size_t r = fread(b.p + b.n, 1, cap - b.n, f);
        if (r == 0)
            break;
        b.n += r;
    }
    fclose(f);
    if (nseeds == capseeds) {
        capseeds = capseeds ? 2 * capseeds : 64;
        seeds = realloc(seeds, capseeds * sizeof *seeds);
        if (!seeds)
            die("out of memory for %s", path);
    }
    seeds[nseeds++] = b;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        die("%s does not exist: give corpus files or directories", path);
    if (!S_ISDIR(st.st_mode)) {
        add_seed(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d)
        die("cannot read directory %s", path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                die("out of memory listing %s", path);
        }
        if (asprintf(&names[n++], "%s/%s", path, e->d_name) < 0)
            die("out of memory listing %s", path);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            add_seed(names[i]);
        free(names[i]);
    }
    free(names);
}

/* splitmix64: small, fast, and the same sequence everywhere. */
static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void reserve(buf *b, size_t n)
{
    if (n <= b->cap)
        return;
    b->cap = n * 2 + 64;
    b->p = realloc(b->p, b->cap);
    if (!b->p)
        die("out of memory mutating (%s)", target);
}

static void insert(buf *b, size_t at, const uint8_t *src, size_t n)
{
    reserve(b, b->n + n);
    memmove(b->p + at + n, b->p + at, b->n - at);
    memcpy(b->p + at, src, n);
    b->n += n;
}

static void mutate(buf *b, size_t max_len)
{
    static const uint8_t bytes[] = {0, 1, 0x7f, 0x80, 0xff, '\n', ' ', '"', '\\', '{', '}',
                                    '[', ']', ':', ',', '-', '0', '9', 'e', '.', '=', '/',
                                    '#', '&', '*', '!', '\t'};
    static const uint32_t words[] = {0, 1, 0x7fffffffu, 0x80000000u, 0xffffffffu, 0xfffffffeu,
                                     0x100, 0x01000000u, 0x00000803u, 0x03080000u};
    int k = 1 + (int)below(4);
    for (int m = 0; m < k; m++) {
        uint8_t tmp[16];
        size_t at = below(b->n + 1), len;
        switch (below(8)) {
        case 0:   /* flip one bit */
            if (b->n)
                b->p[below(b->n)] ^= (uint8_t)(1u << below(8));
            break;
        case 1:   /* an interesting byte */
            if (b->n)
                b->p[below(b->n)] = bytes[below(sizeof bytes)];
            break;
        case 2:   /* an interesting 32-bit word, either byte order */
            if (b->n >= 4) {
                uint32_t w = words[below(sizeof words / sizeof words[0])];
                at = below(b->n - 3);
                for (int i = 0; i < 4; i++)
                    b->p[at + i] = (uint8_t)(below(2) ? w >> (8 * i) : w >> (24 - 8 * i));
            }
            break;
        case 3:   /* truncate */
            b->n = below(b->n + 1);
            break;
        case 4:   /* insert random or interesting bytes */
            len = 1 + below(8);
            for (size_t i = 0; i < len; i++)
                tmp[i] = below(2) ? (uint8_t)rnd() : bytes[below(sizeof bytes)];
            insert(b, at, tmp, len);
            break;
        case 5:   /* delete a range */
            if (at < b->n) {
                len = 1 + below(b->n - at < 16 ? b->n - at : 16);
                memmove(b->p + at, b->p + at + len, b->n - at - len);
                b->n -= len;
            }
            break;
        case 6:   /* duplicate a chunk elsewhere */
            if (b->n) {
                size_t from = below(b->n);
                len = 1 + below(b->n - from < 64 ? b->n - from : 64);
                uint8_t chunk[64];
                memcpy(chunk, b->p + from, len);
                insert(b, at, chunk, len);
            }
            break;
        default:   /* splice: this input's head, another one's tail */
            if (nseeds) {
                const blob *o = &seeds[below(nseeds)];
                size_t from = below(o->n + 1);
                b->n = at;
                reserve(b, b->n + (o->n - from));
                memcpy(b->p + b->n, o->p + from, o->n - from);
                b->n += o->n - from;
            }
            break;
        }
    }
    if (b->n > max_len)
        b->n = max_len;
}

static void run_one(const uint8_t *p, size_t n, unsigned timeout)
{
    uint8_t *exact = malloc(n ? n : 1);   /* exactly n bytes: overreads hit the redzone */
    if (!exact)
        die("out of memory for an input of %s", target);
    memcpy(exact, p, n);
    cur_data = exact;
    cur_size = n;
    alarm(timeout);
    LLVMFuzzerTestOneInput(exact, n);
    alarm(0);
    free(exact);
}

int main(int argc, char **argv)
{
    unsigned long long runs = 0, seed = 1, max_len = 1 << 20;
    unsigned timeout = 20;
    const char *prefix = "./";
    struct timespec t0, t1;

    target = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strncmp(a, "-runs=", 6))
            runs = strtoull(a + 6, NULL, 10);
        else if (!strncmp(a, "-seed=", 6))
            seed = strtoull(a + 6, NULL, 10);
        else if (!strncmp(a, "-max_len=", 9))
            max_len = strtoull(a + 9, NULL, 10);
        else if (!strncmp(a, "-timeout=", 9))
            timeout = (unsigned)strtoul(a + 9, NULL, 10);
        else if (!strncmp(a, "-artifact_prefix=", 17))
            prefix = a + 17;
        else if (a[0] == '-')
            die("unknown option %s (this driver takes -runs=N -seed=S -max_len=N "
                "-timeout=S -artifact_prefix=P and corpus files or directories)", a);
        else
            add_path(a);
    }
    snprintf(crash_path, sizeof crash_path, "%scrash-%s-%ld", prefix, target, (long)getpid());
    signal(SIGSEGV, on_signal);
    signal(SIGBUS, on_signal);
    signal(SIGFPE, on_signal);
    signal(SIGILL, on_signal);
    signal(SIGABRT, on_signal);
    signal(SIGALRM, on_signal);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (size_t i = 0; i < nseeds; i++) {
        snprintf(what, sizeof what, "file %s", seeds[i].name);
        run_one(seeds[i].p, seeds[i].n, timeout);
    }
    rng_state = seed;
    buf b = {NULL, 0, 0};
    for (unsigned long long r = 0; r < runs; r++) {
        const blob *s = nseeds ? &seeds[below(nseeds)] : NULL;
        reserve(&b, s ? s->n : 0);
        b.n = s ? s->n : 0;
        if (s && s->n)
            memcpy(b.p, s->p, s->n);
        mutate(&b, max_len);
        snprintf(what, sizeof what, "mutation %llu of -seed=%llu (from %s)", r + 1, seed,
                 s ? s->name : "an empty input");
        run_one(b.p, b.n, timeout);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    fprintf(stderr, "fuzz driver: %s: %zu files and %llu mutations passed in %.2f s\n",
            target, nseeds, runs, secs);
    free(b.p);
    for (size_t i = 0; i < nseeds; i++) {
        free(seeds[i].p);
        free(seeds[i].name);
    }
    free(seeds);
    return 0;
}
