-- SPDX-License-Identifier: MIT
-- The C declarations, made once for every module: libmodlab's public headers' ffi sections
-- (embedded at build time as modlab.cdef, so Lua and C cannot drift apart) and the few libc
-- functions the Lua side calls. ffi.cdef refuses a second declaration of a name, so no other
-- module declares C functions: they take ffi and C from here.
local ffi = require "ffi"
ffi.cdef(require "modlab.cdef")
ffi.cdef [[
int isatty(int fd);
int fileno(void *stream);
typedef struct { long tv_sec; long tv_nsec; } ml_timespec;
int clock_gettime(int clk, ml_timespec *ts);
char *getcwd(char *buf, size_t size);
long readlink(const char *path, char *buf, size_t size);
int gethostname(char *name, size_t len);
int getpid(void);
int setenv(const char *name, const char *value, int overwrite);
char *realpath(const char *path, char *resolved);
]]

return { ffi = ffi, C = ffi.C }
