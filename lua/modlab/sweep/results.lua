-- SPDX-License-Identifier: MIT
-- Results: results.csv (one row per trial, sorted by the goal), results_by_config.csv
-- (mean and spread over repeats) and the summary printed at the end of a sweep.
local number = require "modlab.util.number"
local write_atomic = require("modlab.util.file").write_atomic
local trial_args = require("modlab.sweep.plan").trial_args
local better = require("modlab.sweep.metrics").better

local M = {}

local function csv(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

-- A number as text that reads back as the same double ("" for none).
local function exact(v)
  if type(v) ~= "number" then return "" end
  return number.text(v)
end

local function fmtnum(v)
  if type(v) ~= "number" then return v == nil and "" or tostring(v) end
  return ("%.6g"):format(v)
end

-- results.csv (one row per trial, sorted by the goal) and results_by_config.csv (mean and
-- spread over repeats). Returns the sorted rows and the groups.
local function write_results(dir, plan, st)
  local mname = plan.metric and plan.metric.name or "metric"
  local goal = plan.metric and plan.metric.goal or "minimize"
  local rows = {}
  for idx, t in ipairs(plan.trials) do
    local s = st[t.id] or { status = "pending", attempts = 0 }
    rows[#rows + 1] = { index = idx - 1, t = t, status = s.status, attempts = s.attempts,
                        metric = s.final and type(s.final.metric) == "number" and
                                 s.final.metric or nil,
                        duration = s.final and s.final.duration or nil }
  end
  local function cmp(a, b)
    if (a.metric == nil) ~= (b.metric == nil) then return a.metric ~= nil end
    if a.metric ~= nil and a.metric ~= b.metric then return better(goal, a.metric, b.metric) end
    return a.index < b.index
  end
  table.sort(rows, cmp)
  local out = { table.concat({ "rank", "index", "trial", "repeat", "status" }, ",") }
  for _, c in ipairs(plan.columns) do out[1] = out[1] .. "," .. csv(c) end
  out[1] = out[1] .. "," .. csv(mname) .. ",duration_s,attempts"
  for r, row in ipairs(rows) do
    local f = { r, row.index, row.t.id, row.t["repeat"], row.status }
    for j = 1, #plan.columns do f[#f + 1] = csv(row.t.args[j]) end
    f[#f + 1] = exact(row.metric)
    f[#f + 1] = row.duration or ""
    f[#f + 1] = row.attempts
    out[#out + 1] = table.concat(f, ",")
  end
  assert(write_atomic(dir .. "/results.csv", table.concat(out, "\n") .. "\n"))

  -- Group repeats: every column but the seed parameter.
  local groups, order = {}, {}
  for _, row in ipairs(rows) do
    local key = {}
    for j, c in ipairs(plan.columns) do
      if c ~= plan.settings.seed_param then key[#key + 1] = c .. "=" .. row.t.args[j] end
    end
    local k = table.concat(key, " ")
    if not groups[k] then
      groups[k] = { key = k, vals = {}, n = 0 }
      order[#order + 1] = groups[k]
    end
    local g = groups[k]
    g.n = g.n + 1
    if row.metric then g.vals[#g.vals + 1] = row.metric end
  end
  for _, g in ipairs(order) do
    if #g.vals > 0 then
      local sum = 0
      for _, v in ipairs(g.vals) do sum = sum + v end
      g.mean = sum / #g.vals
      local ss = 0
      for _, v in ipairs(g.vals) do ss = ss + (v - g.mean) ^ 2 end
      g.std = #g.vals > 1 and math.sqrt(ss / (#g.vals - 1)) or 0
      g.min, g.max = math.min(unpack(g.vals)), math.max(unpack(g.vals))
    end
  end
  table.sort(order, function(a, b)
    if (a.mean == nil) ~= (b.mean == nil) then return a.mean ~= nil end
    if a.mean ~= nil and a.mean ~= b.mean then return better(goal, a.mean, b.mean) end
    return a.key < b.key
  end)
  local g_out = { "config,trials,with_metric,mean,std,min,max" }
  for _, g in ipairs(order) do
    g_out[#g_out + 1] = table.concat({ csv(g.key), g.n, #g.vals, exact(g.mean), exact(g.std),
      exact(g.min), exact(g.max) }, ",")
  end
  assert(write_atomic(dir .. "/results_by_config.csv", table.concat(g_out, "\n") .. "\n"))
  return rows, order
end

local function print_summary(dir, plan, st, rows, groups)
  local counts = {}
  for _, row in ipairs(rows) do counts[row.status] = (counts[row.status] or 0) + 1 end
  local parts = {}
  for _, k in ipairs({ "finished", "pruned", "failed", "killed", "interrupted", "running",
                       "pending" }) do
    if counts[k] then parts[#parts + 1] = counts[k] .. " " .. k end
  end
  local mname = plan.metric and plan.metric.name or "metric"
  print(("sweep %s: %d trials: %s"):format(dir, #rows, table.concat(parts, ", ")))
  local head = ("%-4s %-5s %-12s %-11s %-14s %s"):format("rank", "index", "trial", "status",
    mname:sub(1, 14), "parameters")
  print(head)
  local limit = tonumber(os.getenv("MODLAB_SWEEP_ROWS")) or 20
  for r, row in ipairs(rows) do
    if r > limit then
      print(("... %d more rows in %s/results.csv"):format(#rows - limit, dir))
      break
    end
    local _, list = trial_args(plan, row.t)
    print(("%-4d %-5d %-12s %-11s %-14s %s"):format(r, row.index, row.t.id, row.status,
      fmtnum(row.metric), table.concat(list, " ")))
  end
  if plan.settings.repeats > 1 then
    print(("mean over repeats (%s):"):format(mname))
    print(("%-14s %-14s %-7s %s"):format("mean", "std", "n", "parameters"))
    for _, g in ipairs(groups) do
      print(("%-14s %-14s %-7s %s"):format(fmtnum(g.mean), fmtnum(g.std),
        ("%d/%d"):format(#g.vals, g.n), g.key))
    end
  end
  local unused = {}
  for _, s in pairs(st) do
    if s.final and type(s.final.unused) == "table" then
      for _, u in ipairs(s.final.unused) do unused[u] = true end
    end
  end
  local names = {}
  for u in pairs(unused) do names[#names + 1] = u end
  table.sort(names)
  if #names > 0 and not plan.settings.strict then
    io.stderr:write(("modlab: warning: sweep parameter%s %s never read by the recipe (ml.arg): "
      .. "a typo? (modlab: {strict: true}, the default, makes this an error)\n"):format(
      #names > 1 and "s" or "", table.concat(names, ", ")))
  end
  print(("results: %s/results.csv"):format(dir))
end

M.fmtnum = fmtnum
M.write_results = write_results
M.print_summary = print_summary

return M
