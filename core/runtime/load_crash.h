/* SPDX-License-Identifier: MIT */
/* While a plugin's own code runs during loading (its ELF constructors in dlopen, then its
 * init function), a crash, abort() or exit() names the .so on stderr before the process
 * ends, so a user whose modlab dies on start knows which file to move away. */
#ifndef MODLAB_CORE_LOAD_CRASH_H
#define MODLAB_CORE_LOAD_CRASH_H

/* Enter a phase ("dlopen", "plugin init") of loading `file`; both strings must outlive the
 * matching mli_load_crash_leave. Not reentrant; loading happens on one thread. */
void mli_load_crash_enter(const char *file, const char *phase);
void mli_load_crash_leave(void);
/* 1: no handlers, no notes (the `plugin check` child, which reports through its parent). */
void mli_load_crash_quiet(int quiet);

#endif
