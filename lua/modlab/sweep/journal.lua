-- SPDX-License-Identifier: MIT
-- The journal: journal.jsonl, append-only events (started, finished, failed, killed,
-- pruned, interrupted, submitted), and the state of every trial it gives.
local jsonl = require "modlab.util.jsonl"
local iso_now = require("modlab.util.time").iso_now

local M = {}

-- Every event, in file order; a torn last line (impossible with ml_journal_append, but a disk
-- can fill up) is skipped with a warning.
function M.read_journal(dir)
  return (jsonl.values(dir .. "/journal.jsonl", function(lineno)
    io.stderr:write(("modlab: warning: %s/journal.jsonl:%d: unreadable line skipped\n")
      :format(dir, lineno))
  end))
end

local FINAL = { finished = true, failed = true, killed = true, pruned = true,
                interrupted = true }
local DONE = { finished = true, pruned = true }

-- Per trial id: { status, attempts, last final event }.
function M.state(events)
  local st = {}
  for _, ev in ipairs(events) do
    if ev.trial then
      local s = st[ev.trial] or { attempts = 0, status = "pending" }
      st[ev.trial] = s
      if ev.event == "started" then
        s.attempts = math.max(s.attempts, ev.attempt or 0)
        if not DONE[s.status] then s.status = "running" end
      elseif FINAL[ev.event] then
        if not DONE[s.status] then s.status = ev.event; s.final = ev end
        if DONE[ev.event] then s.status = ev.event; s.final = ev end
      end
    end
  end
  return st
end

-- Append event ev (stamped with the time) as one line.
local function journal(dir, ev)
  ev.t = ev.t or iso_now()
  jsonl.append(dir .. "/journal.jsonl", ev)
end

M.FINAL = FINAL
M.DONE = DONE
M.journal = journal

return M
