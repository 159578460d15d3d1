-- SPDX-License-Identifier: MIT
-- A local sweep's live line: "sweep: k of N done, r running, f failed, p pruned, ETA m:ss,
-- best so far <metric>=<value>". On a terminal (stderr) it is one \r-updated line, which
-- the launcher's own lines (stdout, usually the same terminal) clear and redraw around
-- (say); otherwise it is a plain line on stderr after each trial ends, so a log shows it.
local core = require "modlab.core"
local progress = require "modlab.progress"
local better = require("modlab.sweep.metrics").better
local fmtnum = require("modlab.sweep.results").fmtnum
local DONE = require("modlab.sweep.journal").DONE

local M = {}
M.__index = M

-- plan: the sweep plan (trials, metric); st: the journal's state when the launcher starts
-- (trials already done count as done, their metrics as the best so far); ntodo: the
-- trials this launcher is to run. opts: quiet, tty (default: whether stderr is one), now.
function M.new(plan, st, ntodo, opts)
  opts = opts or {}
  local l = setmetatable({ plan = plan, n = #plan.trials, done = #plan.trials - ntodo,
                           failed = 0, pruned = 0, running = 0, ended_here = 0,
                           quiet = opts.quiet, now = opts.now or progress.now,
                           last_draw = -1, drawn = false }, M)
  if opts.tty == nil then l.tty = core.isatty(2) else l.tty = opts.tty end
  l.start = l.now()
  for _, t in ipairs(plan.trials) do
    local s = st[t.id]
    if s and s.status == "pruned" then l.pruned = l.pruned + 1 end
    if s and DONE[s.status] then l:see_metric(s.final) end
  end
  return l
end

-- A finished trial's metric counts for the best so far (a pruned one stopped early: its
-- value is not comparable).
function M:see_metric(ev)
  local m = self.plan.metric
  if not (m and ev and ev.event == "finished" and type(ev.metric) == "number") then return end
  if self.best == nil or better(m.goal, ev.metric, self.best) then self.best = ev.metric end
end

function M:text()
  local eta = progress.eta(self.now() - self.start, self.ended_here,
                           self.ended_here + (self.n - self.done))
  local s = ("sweep: %d of %d done, %d running, %d failed, %d pruned, ETA %s"):format(
    self.done, self.n, self.running, self.failed, self.pruned,
    eta and progress.fmt_time(eta) or "-")
  local m = self.plan.metric
  if m then
    s = s .. (", best so far %s=%s"):format(m.name, self.best and fmtnum(self.best) or "-")
  end
  return s
end

-- On a terminal: redraw (at most 5 times a second unless `force`).
function M:draw(force)
  if self.quiet or not self.tty then return end
  local now = self.now()
  if not force and now - self.last_draw < 0.2 then return end
  self.last_draw, self.drawn = now, true
  io.stderr:write("\r", self:text(), "\27[K")
  io.stderr:flush()
end

function M:clear()
  if self.drawn then
    io.stderr:write("\r\27[K")
    io.stderr:flush()
    self.drawn = false
  end
end

-- A line of the launcher's (stdout; `err`: stderr) without tearing the live line.
function M:say(line, err)
  self:clear()
  if err then io.stderr:write(line) io.stderr:flush()
  else io.stdout:write(line, "\n") io.stdout:flush() end
  self:draw(true)
end

function M:set_running(n)
  if n ~= self.running then
    self.running = n
    self:draw(true)
  else
    self:draw()
  end
end

-- A trial ended for good (finished, pruned, or failed with no retry left; ev: its final
-- journal event), here or by another agent. A failure that will be retried is no end.
function M:ended(ev)
  self.done = self.done + 1
  self.ended_here = self.ended_here + 1
  if ev.event == "pruned" then self.pruned = self.pruned + 1
  elseif not DONE[ev.event] then self.failed = self.failed + 1 end
  self:see_metric(ev)
  if self.quiet then return end
  if self.tty then self:draw(true)
  else io.stderr:write(self:text(), "\n") io.stderr:flush() end
end

function M:finish() self:clear() end

return M
