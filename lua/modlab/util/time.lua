-- SPDX-License-Identifier: MIT
-- Clocks: UTC timestamps for files people read, and a monotonic clock for durations.
local clib = require "modlab.util.clib"

local M = {}

-- Now in UTC as ISO 8601 ("2026-01-31T12:00:00Z"): meta.json, journal events, reports.
function M.iso_now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

local CLOCK_MONOTONIC = 1
local ts = clib.ffi.new("ml_timespec")
-- Seconds on a clock that never steps back (wall time, not CPU time); os.clock() in the
-- unlikely case that clock_gettime fails.
function M.now()
  if clib.C.clock_gettime(CLOCK_MONOTONIC, ts) == 0 then
    return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
  end
  return os.clock()
end

return M
