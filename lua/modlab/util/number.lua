-- SPDX-License-Identifier: MIT
-- Numbers as text, in one place: the shortest text that reads back as the same double is
-- libmodlab's ml_format_double (the C JSON writers and the sweep planner use it too), so
-- Lua and C print 0.05 as "0.05" alike, never "0.050000000000000003".
local clib = require "modlab.util.clib"
local ffi, C = clib.ffi, clib.C

local M = {}

local CAP = 32   -- the longest double ml_format_double writes is 24 bytes ("-2.2250738585072014e-308")
local buf = ffi.new("char[?]", CAP)

-- The shortest text strtod (and tonumber) reads back as exactly v; "nan", "inf", "-inf".
function M.shortest(v)
  local n = C.ml_format_double(buf, CAP, v)
  assert(n >= 0, "ml_format_double: buffer too small")
  return ffi.string(buf, n)
end

-- Whole numbers of magnitude below `limit` (default 2^53, where every integer is exact) as
-- "%d" digits, everything else as M.shortest: "3", "1000000", "0.05", "1e+99".
function M.text(v, limit)
  if v == math.floor(v) and math.abs(v) < (limit or 2^53) then return ("%d"):format(v) end
  return M.shortest(v)
end

return M
