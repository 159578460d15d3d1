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

-- The ETA of work of `total` units of which `done` took `elapsed` seconds, at the rate so
-- far; nil before anything is done (no rate to go by).
function M.eta(elapsed, done, total)
  if not done or done <= 0 then return nil end
  return math.max(0, elapsed * (total - done) / done)
end

-- ---- the whole run: epochs first..epochs of a run (first > 1 when it resumed) ---------

local Run = {}
Run.__index = Run

-- opts: epochs, first (the first epoch this process trains), start (a clock reading)
function M.run(opts)
  return setmetatable({ epochs = opts.epochs, first = opts.first or 1,
                        start = opts.start or M.now() }, Run)
end

-- best: the text of the best validation so far ("valid_accuracy 0.9100 (epoch 3)"), or nil.
function Run:set_best(text) self.best = text end

-- "elapsed 0:07  ETA 0:13  best valid_accuracy 0.9100 (epoch 1)" for epoch `epoch` being
-- `frac` done (1 when it ended), `now` a clock reading. The ETA is the rate of the epochs
-- this process trained applied to the ones left: evaluation time included once an epoch
-- has ended, and an upper bound when early stopping ends the run sooner.
function Run:text(epoch, frac, now)
  local elapsed = (now or M.now()) - self.start
  local eta = M.eta(elapsed, epoch - self.first + frac, self.epochs - self.first + 1)
  return ("elapsed %s  ETA %s  best %s"):format(fmt_time(elapsed),
    eta and fmt_time(eta) or "-", self.best or "-")
end

-- ---- one epoch's bar -------------------------------------------------------------------

-- opts: label, total (units), quiet, run (a M.run whose text follows the bar's; kept as
-- `whole`, since self.run would find M.run through the metatable when it is nil), epoch
function M.new(opts)
  local p = setmetatable({ label = opts.label or "", total = opts.total or 0, done = 0,
                           start = M.now(), tty = core.isatty(2), last_draw = 0,
                           quiet = opts.quiet, whole = opts.run, epoch = opts.epoch }, M)
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
  -- With the whole run known, its elapsed time and ETA replace the epoch's ETA: one
  -- line that still fits 120 columns.
  local tail
  if self.whole then
    tail = "| " .. self.whole:text(self.epoch, frac, now)
  else
    tail = "ETA " .. fmt_time(frac > 0 and elapsed * (1 - frac) / frac or 0)
  end
  io.stderr:write(("\r%s [%s%s] %3d%% %s %s\27[K"):format(self.label,
    ("="):rep(filled), (" "):rep(width - filled), math.floor(frac * 100 + 0.5),
    extra or "", tail))
  io.stderr:flush()
end

function M:finish()
  if self.tty and not self.quiet then io.stderr:write("\r\27[K") io.stderr:flush() end
  return M.now() - self.start
end

return M
