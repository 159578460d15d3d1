-- SPDX-License-Identifier: MIT
-- Hyperband-style early termination: at each rung (an iteration count), a trial below the
-- top 1/eta of the values seen there stops.
local better = require("modlab.sweep.metrics").better

local M = {}

function M.new(plan)
  local et = plan.early_terminate
  if not et then return nil end
  return { rungs = et.rungs, eta = et.eta, vals = {}, seen = {} }
end

-- Record trial `id`'s value at each rung it reached; true when it should stop.
function M.check(hb, plan, id, vals)
  local goal = plan.metric.goal
  hb.seen[id] = hb.seen[id] or {}
  local stop = false
  for r, it in ipairs(hb.rungs) do
    if #vals >= it and not hb.seen[id][r] then
      hb.seen[id][r] = true
      local v = vals[it]
      hb.vals[r] = hb.vals[r] or {}
      local list = hb.vals[r]
      list[#list + 1] = v
      if #list > 1 then
        local sorted = { unpack(list) }
        table.sort(sorted, function(a, b) return better(goal, a, b) end)
        local keep = math.max(1, math.floor(#sorted / hb.eta))
        local cut = sorted[keep]
        if better(goal, cut, v) then stop = r end
      end
    end
  end
  return stop
end

return M
