/* SPDX-License-Identifier: MIT */
/* The LuaJIT host: opens a state, makes the embedded modules requirable, and runs the CLI
 * module under lua_pcall with a traceback handler. Lua errors never cross C frames of the
 * core: only FFI calls go from Lua to C, and they report errors by return value. */
#include <lauxlib.h>
#include <lua.h>
#include <luajit.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "cli/lua_host.h"
#include <modlab/modlab.h>

/* package.preload loader for an embedded module; upvalue 1 is its index. */
static int load_embedded(lua_State *L)
{
    const ml_embedded_module *m = &ml_embedded_modules[lua_tointeger(L, lua_upvalueindex(1))];
    if (luaL_loadbuffer(L, m->text, m->len, m->chunk) != 0)
        return lua_error(L);   /* [msg]: a syntax error in an embedded module is a bug */
    lua_pushstring(L, m->name);
    lua_call(L, 1, 1);
    return 1;
}

static void preload_modules(lua_State *L)
{
    lua_getglobal(L, "package");          /* [package] */
    lua_getfield(L, -1, "preload");       /* [package, preload] */
    for (int i = 0; ml_embedded_modules[i].name; i++) {
        lua_pushinteger(L, i);
        lua_pushcclosure(L, load_embedded, 1);
        lua_setfield(L, -2, ml_embedded_modules[i].name);
    }
    lua_pop(L, 2);                        /* [] */
}

static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (!msg)
        msg = "(error object is not a string)";
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int ml_lua_main(int argc, char **argv)
{
    lua_State *L = luaL_newstate();
    int rc = 1;
    if (!L) {
        fprintf(stderr, "modlab: cannot create a Lua state (out of memory)\n");
        return 1;
    }
    lua_gc(L, LUA_GCSTOP, 0);
    luaL_openlibs(L);
    lua_gc(L, LUA_GCRESTART, -1);
    preload_modules(L);

    lua_pushcfunction(L, traceback);      /* [tb] */
    lua_getglobal(L, "require");          /* [tb, require] */
    lua_pushstring(L, "modlab.cli");
    if (lua_pcall(L, 1, 1, 1) != 0) {     /* [tb, cli | msg] */
        fprintf(stderr, "modlab: %s\n", lua_tostring(L, -1));
        goto done;
    }
    if (!lua_istable(L, -1)) {
        fprintf(stderr, "modlab: internal error: modlab.cli did not return a table\n");
        goto done;
    }
    lua_getfield(L, -1, "main");          /* [tb, cli, main] */
    lua_newtable(L);                      /* [tb, cli, main, args] */
    for (int i = 1; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    if (lua_pcall(L, 1, 1, 1) != 0) {     /* [tb, cli, code | msg] */
        fprintf(stderr, "modlab: internal error: %s\n", lua_tostring(L, -1));
        goto done;
    }
    rc = lua_isnumber(L, -1) ? (int)lua_tointeger(L, -1) : 0;
done:
    /* A run stopped by SIGINT/SIGTERM/SIGHUP (ml.train caught it and closed its run
     * directory) exits as shells report a process the signal ended: 128 + its number. */
    if (rc != 0 && ml_run_stop_signal() != 0)
        rc = 128 + ml_run_stop_signal();
    lua_close(L);
    return rc;
}
