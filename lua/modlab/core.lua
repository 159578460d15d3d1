-- SPDX-License-Identifier: MIT
-- FFI bindings to libmodlab: the C declarations come from the public headers' ffi sections
-- (embedded at build time, declared once in modlab.util.clib), so Lua and C cannot drift.
local clib = require "modlab.util.clib"
local number = require "modlab.util.number"
local ffi, C = clib.ffi, clib.C

local M = { C = C, ffi = ffi, OPT_INT = 1, OPT_FLOAT = 2, OPT_BOOL = 3, OPT_STRING = 4,
            KIND_LAYER = 1, KIND_LOSS = 2, KIND_OPTIMIZER = 3, KIND_DATASET = 4,
            KIND_TRANSFORM = 6 }

M.err = ffi.new("ml_err")
function M.errmsg() return ffi.string(M.err.msg) end

-- Set by the CLI before anything loads: --plugin-path, --set values, the output dir.
M.plugin_path = nil
M.args = {}
M.out_dir = nil

local registry
function M.registry()
  if registry == nil then
    local r = C.ml_registry_new(M.err)
    if r == nil then error(M.errmsg(), 0) end
    registry = ffi.gc(r, C.ml_registry_free)
    C.ml_registry_load_default(registry, M.plugin_path, M.err)
    for i = 0, C.ml_registry_nwarnings(registry) - 1 do
      io.stderr:write("modlab: warning: ", ffi.string(C.ml_registry_warning(registry, i)), "\n")
    end
  end
  return registry
end

function M.kind_name(kind) return ffi.string(C.ml_kind_name(kind)) end

-- The registry entry of (kind, name) or nil.
function M.entry(kind, name)
  local reg = M.registry()
  local i = C.ml_registry_find(reg, kind, name)
  if i < 0 then return nil end
  return C.ml_registry_entry(reg, i), i
end

function M.shape(dims)
  local s = ffi.new("ml_shape")
  s.ndim = #dims
  for i, d in ipairs(dims) do s.dim[i - 1] = d end
  return s
end

function M.shape_table(s)
  local t = {}
  for i = 0, s.ndim - 1 do t[#t + 1] = s.dim[i] end
  return t
end

-- Whole numbers. Lua numbers are doubles: every integer up to 2^53 is one exactly, past it
-- only some are (2^53 + 1 reads as 2^53; 2^63 - 1 reads as 2^63). Counts are therefore
-- bounded by 2^53, which keeps Lua's arithmetic on them exact; values C holds in an int32
-- by 2^31 - 1; seeds, a uint64 in C, by [0, 2^63) (the largest double below 2^63 is
-- 2^63 - 1024).
M.INT_MAX_EXACT, M.INT32_MAX, M.SEED_END = 2^53, 2^31 - 1, 2^63

-- A number as text that reads back as the same number: exact for whole numbers below
-- 2^63, else the shortest text that round-trips ("1e+99", where %.17g gives
-- "9.9999999999999997e+98").
function M.number_text(v) return number.text(v, 2^63) end

local function bound_text(b)
  return ({ [M.INT_MAX_EXACT] = "2^53", [M.SEED_END] = "2^63" })[b] or ("%d"):format(b)
end

-- nil when `v` is a whole number in [lo, hi] (in [lo, hi) when `open`), else why not:
-- "a whole number in [1, 2^53]; got 1e+99". Callers prefix what the value is.
function M.int_error(v, lo, hi, open)
  local range = ("a whole number in [%s, %s%s"):format(bound_text(lo), bound_text(hi),
                                                       open and ")" or "]")
  if type(v) ~= "number" then
    return ("%s; got a %s"):format(range, type(v))
  end
  if v ~= v or v ~= math.floor(v) or v < lo or v > hi or (open and v == hi) then
    return ("%s; got %s"):format(range, M.number_text(v))
  end
  return nil
end

-- The one rule for a Lua value as an option (core.opts, and data.lua's manifest options):
-- the ML_OPT_* type it is given as and its text, or nil and why not. Whole numbers below
-- 2^53 are INT with their digits, other numbers FLOAT with the shortest text that reads
-- back as the same double (never %.17g's "0.050000000000000003", which config.json would
-- show). The C side (core/runtime/opts.c) reads INT and FLOAT text alike with strtod and
-- lets each stand for the other, so this given type changes no value a plugin sees: the
-- schema's type decides.
function M.opt_value(v)
  if type(v) == "number" then
    if v == math.floor(v) and math.abs(v) < 2^53 then return M.OPT_INT, ("%d"):format(v) end
    return M.OPT_FLOAT, number.shortest(v)
  elseif type(v) == "boolean" then return M.OPT_BOOL, tostring(v)
  elseif type(v) == "string" then return M.OPT_STRING, v
  end
  return nil, ("a %s cannot be an option value"):format(type(v))
end

-- A Lua options table as a fresh ml_opts (owned by the caller until handed to C).
-- Raises error(msg, level) for values of a type options cannot hold.
function M.opts(tbl, level)
  local o = C.ml_opts_new(M.err)
  if o == nil then error(M.errmsg(), 0) end
  local keys = {}
  for k in pairs(tbl or {}) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    if type(k) ~= "string" then
      C.ml_opts_free(o)
      error(("option names must be strings, got %s"):format(type(k)), level or 2)
    end
    local ty, text = M.opt_value(tbl[k])
    if not ty then
      C.ml_opts_free(o)
      error(("option '%s': %s"):format(k, text), level or 2)
    end
    if C.ml_opts_set(o, k, ty, text, M.err) ~= 0 then
      C.ml_opts_free(o)
      error(M.errmsg(), level or 2)
    end
  end
  return o
end

-- Validate options against (kind, name)'s schema now, so mistakes point at the recipe line.
function M.check_options(kind, name, tbl, owner, level)
  local e = M.entry(kind, name)
  if not e then
    local known = {}
    local reg = M.registry()
    for i = 0, C.ml_registry_count(reg) - 1 do
      local en = C.ml_registry_entry(reg, i)
      if en.kind == kind then known[#known + 1] = ffi.string(en.name) end
    end
    error(("no %s named '%s' (known: %s); see `modlab plugins`"):format(
      M.kind_name(kind), name, #known > 0 and table.concat(known, ", ") or "none loaded"),
      level)
  end
  local o = M.opts(tbl, level + 1)
  local rc = C.ml_opts_validate(o, e.options, owner, M.err)
  local json = rc == 0 and ffi.string(C.ml_opts_json(o)) or nil
  C.ml_opts_free(o)
  if rc ~= 0 then error(M.errmsg(), level) end
  return json
end

function M.isatty(fd)
  return C.isatty(fd) == 1
end

-- No shell (core/base/spawn.c): processes from argv arrays and the directory operations that
-- used to be command lines. User text is only ever an argv element or a path here.

-- core.run{ "prog", "arg", ..., stdin = TEXT, stderr = "null" | "stdout", max = BYTES }:
-- runs prog (PATH search) and waits. Returns its stdout and exit status (>= 0, or -signal),
-- or nil and a message when it cannot run or writes more than `max` (default 1 MiB).
function M.run(spec)
  local n = #spec
  if n == 0 then error("core.run: no program", 2) end
  local argv = ffi.new("const char *[?]", n + 1)
  for i = 1, n do
    if type(spec[i]) ~= "string" then
      error(("core.run: argument %d is a %s, not a string"):format(i, type(spec[i])), 2)
    end
    argv[i - 1] = spec[i]   -- the strings stay alive in spec while C reads them
  end
  local flags = spec.stderr == "null" and C.ML_RUN_STDERR_NULL or
                spec.stderr == "stdout" and C.ML_RUN_STDERR_TO_OUT or 0
  local cap = (spec.max or 2^20) + 1
  local out, len, status = ffi.new("char[?]", cap), ffi.new("size_t[1]"), ffi.new("int32_t[1]")
  local input = spec.stdin
  if C.ml_run(argv, input, input and #input or 0, flags, out, cap, len, status, M.err) ~= 0 then
    return nil, M.errmsg()
  end
  return ffi.string(out, len[0]), status[0]
end

-- The entries of directory `dir`, sorted: names (a list) and kinds (name -> "file", "dir",
-- "link" (not followed) or "other"); nil and a message if it cannot be listed.
local KINDS = { f = "file", d = "dir", l = "link", o = "other" }
function M.listdir(dir)
  local len = ffi.new("size_t[1]")
  local list = C.ml_list_dir(dir, len, M.err)
  if list == nil then return nil, M.errmsg() end
  local names, kinds, off = {}, {}, 0
  while off < len[0] do
    local rec = ffi.string(list + off)
    local name = rec:sub(2)
    names[#names + 1] = name
    kinds[name] = KINDS[rec:sub(1, 1)]
    off = off + #rec + 1
  end
  C.ml_list_dir_free(list)
  return names, kinds
end

-- `cp -a src dst` for a directory src (dst must not exist): true, or nil and a message.
function M.copytree(src, dst)
  if C.ml_copy_tree(src, dst, M.err) ~= 0 then return nil, M.errmsg() end
  return true
end

-- The git commit checked out where `dir` is, or nil.
function M.git_commit(dir)
  local buf = ffi.new("char[65]")
  if C.ml_git_commit(dir, buf, 65, M.err) ~= 1 then return nil end
  return ffi.string(buf)
end

-- meta.json's "build": libmodlab's facts (ml_build_info) with the LuaJIT this CLI embeds,
-- which libmodlab does not link and so cannot name.
function M.build_info()
  local text = ffi.string(C.ml_build_info())
  return (text:gsub("^{", '{"luajit":"' .. jit.version .. '",', 1))
end

return M
