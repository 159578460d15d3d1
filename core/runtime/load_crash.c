/* SPDX-License-Identifier: MIT */
/* The loader's last words. Handlers for the fatal signals are installed only around a
 * plugin's loading code and removed after it, so modlab's normal signal handling (and a
 * sanitizer's) is untouched the rest of the time. The handler writes one line with write(2)
 * (async-signal-safe), puts the previous handlers back and returns: a real fault repeats
 * at once under the previous handler (the default action, or ASan's report), and a signal
 * that was sent (abort(), raise()) is raised again for it. Stack overflows are not covered
 * (that would need an alternate signal stack); `modlab plugin check FILE` covers them.
 * In ASan builds a sanitizer may stop the process itself (UBSan's null store comes before
 * the SIGSEGV): its death callback says the same. */
#include "runtime/load_crash.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <dlfcn.h>
#include <sanitizer/common_interface_defs.h>
#define ML_DEATH_CALLBACK 1
#endif

static const int fatal[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
enum { NFATAL = sizeof fatal / sizeof fatal[0] };
static struct sigaction saved[NFATAL];
static const char *volatile cur_file;
static const char *volatile cur_phase;
static int quiet;

void mli_load_crash_quiet(int q)
{
    quiet = q;
}

static void say(const char *s)
{
    size_t n = strlen(s);
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static const char *name_of(int sig)
{
    switch (sig) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    default: return "SIGABRT (abort)";
    }
}

static void restore(void)
{
    for (int i = 0; i < NFATAL; i++)
        sigaction(fatal[i], &saved[i], NULL);
}

static void on_fatal(int sig, siginfo_t *si, void *uc)
{
    const char *file = cur_file, *phase = cur_phase;
    (void)uc;
    if (file) {
        say("modlab: crashed with ");
        say(name_of(sig));
        say(" in ");
        say(phase ? phase : "loading");
        say(" of plugin ");
        say(file);
        say("; move that file out of the plugin path (or fix MODLAB_PLUGIN_PATH), and run "
            "'modlab plugin check ");
        say(file);
        say("' for a report\n");
    }
    cur_file = NULL;
    restore();
    if (si->si_code <= 0)   /* sent, not a fault: deliver it again, to the old handler */
        raise(sig);
}

#ifdef ML_DEATH_CALLBACK
static void on_sanitizer_death(void)
{
    const char *file = cur_file, *phase = cur_phase;
    if (file) {
        say("modlab: a sanitizer stopped modlab in ");
        say(phase ? phase : "loading");
        say(" of plugin ");
        say(file);
        say(" (its report is above); move that file out of the plugin path\n");
    }
}
#endif

static void on_exit_note(void)
{
    const char *file = cur_file;
    if (file)
        fprintf(stderr, "modlab: plugin %s called exit() in %s; plugins must never end the "
                "process: move that file out of the plugin path and report it to its "
                "author\n", file, cur_phase ? cur_phase : "loading");
}

void mli_load_crash_enter(const char *file, const char *phase)
{
    static int registered;
    struct sigaction sa;
    if (quiet)
        return;
    if (!registered) {
        registered = atexit(on_exit_note) == 0;
#ifdef ML_DEATH_CALLBACK
        __sanitizer_set_death_callback(on_sanitizer_death);
        /* GCC links UBSan as a runtime of its own, with its own callback slot. */
        void *ub = dlopen("libubsan.so.1", RTLD_LAZY | RTLD_NOLOAD);
        void (*set)(void (*)(void));
        *(void **)&set = ub ? dlsym(ub, "__sanitizer_set_death_callback") : NULL;
        if (set)
            set(on_sanitizer_death);
#endif
    }
    if (cur_file == NULL) {
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = on_fatal;
        sa.sa_flags = SA_SIGINFO;
        sigemptyset(&sa.sa_mask);
        for (int i = 0; i < NFATAL; i++)
            sigaction(fatal[i], &sa, &saved[i]);
    }
    cur_phase = phase;
    cur_file = file;
}

void mli_load_crash_leave(void)
{
    if (cur_file) {
        cur_file = NULL;
        restore();
    }
    cur_phase = NULL;
}
