/* SPDX-License-Identifier: MIT */
/* Fuzz target: the Lua JSON decoder (lua/modlab/util/json.lua's decode) that reads journals,
 * sweep plans, metrics.jsonl and summary.json back (sweep resume, reports), in an embedded
 * LuaJIT state. decode returns nil, msg for bad input (it pcalls itself, and callers rely
 * on that: a Lua error escaping it is reported), a crash or a hang is a bug. An accepted
 * value must encode and decode again (an encoder error, e.g. too deep, is a clean
 * rejection). The module is loaded once from the source tree (FZ_LUADIR). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

static lua_State *L;

/* LuaJIT itself is not instrumented, so libFuzzer would see no coverage at all (cov: 3) and
 * mutate blind. A line hook feeds it Lua coverage instead: each (previous line, line) pair
 * bumps a counter in libFuzzer's extra-counters section, which it treats like its own edge
 * counters. The standalone driver ignores them. */
enum { LUA_EDGES = 1 << 14 };
#if defined(__clang__)
__attribute__((section("__libfuzzer_extra_counters"), used))
#endif
static uint8_t lua_edges[LUA_EDGES];
static unsigned prev_line;

static void line_hook(lua_State *l, lua_Debug *ar)
{
    (void)l;
    const unsigned line = (unsigned)ar->currentline;
    lua_edges[(prev_line * 7919u + line) % LUA_EDGES]++;
    prev_line = line;
}

/* The check, in Lua: decode, and for a value, decode(encode(value)) too. */
static const char check_src[] =
    "local json, text = ...\n"
    "local v, msg = json.decode(text)\n"
    "if v == nil then\n"
    "  if type(msg) ~= 'string' then error('decode returned nil without a message') end\n"
    "  return false\n"
    "end\n"
    "local ok, again = pcall(json.encode, v)\n"
    "if not ok then return false end   -- too deep for the encoder: a clean error\n"
    "local w, msg2 = json.decode(again)\n"
    "if w == nil then error('re-encoded value does not decode: ' .. tostring(msg2)) end\n"
    "return true\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "fuzz lua_json: cannot create a Lua state (out of memory)\n");
        exit(1);
    }
    luaL_openlibs(L);
    if (luaL_loadfile(L, FZ_LUADIR "/modlab/util/json.lua") || lua_pcall(L, 0, 1, 0)) {
        fprintf(stderr, "fuzz lua_json: loading %s/modlab/util/json.lua: %s\n", FZ_LUADIR,
                lua_tostring(L, -1));
        exit(1);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.json");
    if (luaL_loadbuffer(L, check_src, sizeof check_src - 1, "=fuzz_check")) {
        fprintf(stderr, "fuzz lua_json: the check chunk: %s\n", lua_tostring(L, -1));
        exit(1);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.check");
    lua_sethook(L, line_hook, LUA_MASKLINE, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned runs;
    lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.check");
    lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.json");
    lua_pushlstring(L, (const char *)data, size);
    if (lua_pcall(L, 2, 1, 0)) {
        fprintf(stderr, "fuzz lua_json: %s\n", lua_tostring(L, -1));
        fz_fail("lua_json", "json.decode raised a Lua error instead of returning nil, msg");
    }
    fz_note("lua_json", lua_toboolean(L, -1), NULL);
    lua_pop(L, 1);
    if (++runs % 256 == 0)
        lua_gc(L, LUA_GCCOLLECT, 0);   /* keep the state's memory flat over long runs */
    return 0;
}
