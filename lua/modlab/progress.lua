-- SPDX-License-Identifier: MIT
-- Progress on long work: a \r-updated line on a terminal, plain lines otherwise.
local core = require "modlab.core"
local M = {}
M.__index = M

-- Wall time on the monotonic clock (modlab.util.time), for rates and ETAs.
M.now = require("modlab.util.time").now

local function fmt_time(s)
  s = math.max(0, math.floor(s + 0.5))
  if s >= 3600 then return ("%d:%02d:%02d"):format(s / 3600, (s % 3600) / 60, s % 60) end
  return ("%d:%02d"):format(s / 60, s % 60)
end
M.fmt_time = fmt_time

-- opts: label, total (units), unit ("batches"), log (function for plain lines)
function M.new(opts)
  local p = setmetatable({ label = opts.label or "", total = opts.total or 0, done = 0,
                           start = M.now(), tty = core.isatty(2), last_draw = 0,
                           quiet = opts.quiet }, M)
  return p
end

function M:update(done, extra)
  self.done = done
  if not self.tty or self.quiet then return end
  local now = M.now()
  if now - self.last_draw < 0.1 and done < self.total then return end
  self.last_draw = now
  local elapsed = now - self.start
  local frac = self.total > 0 and done / self.total or 0
  local width = 24
  local filled = math.floor(frac * width + 0.5)
  local eta = frac > 0 and elapsed * (1 - frac) / frac or 0
  io.stderr:write(("\r%s [%s%s] %3d%% %s ETA %s %s\27[K"):format(self.label,
    ("="):rep(filled), (" "):rep(width - filled), math.floor(frac * 100 + 0.5),
    extra or "", fmt_time(eta), ""))
  io.stderr:flush()
end

function M:finish()
  if self.tty and not self.quiet then io.stderr:write("\r\27[K") io.stderr:flush() end
  return M.now() - self.start
end

return M
