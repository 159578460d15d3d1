/* SPDX-License-Identifier: MIT */
/* The LuaJIT host: a Lua state with modlab's embedded modules preloaded. */
#ifndef MODLAB_CORE_LUA_HOST_H
#define MODLAB_CORE_LUA_HOST_H

#include <stddef.h>

typedef struct ml_embedded_module {
    const char *name;    /* "modlab", "modlab.train" */
    const char *chunk;   /* chunk name for tracebacks: "@modlab/train.lua" */
    const char *text;
    size_t len;
} ml_embedded_module;

extern const ml_embedded_module ml_embedded_modules[];

/* Run the CLI (lua/modlab/cli.lua) with argv; returns the process exit code. */
int ml_lua_main(int argc, char **argv);

#endif
