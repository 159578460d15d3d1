-- SPDX-License-Identifier: MIT
-- A trial's metric: the values its metrics.jsonl logged, summarized as the sweep file
-- says (last, best, mean of the last k), else summary.json's.
local json = require "modlab.util.json"
local jsonl = require "modlab.util.jsonl"
local read_file = require("modlab.util.file").read
local write_atomic = require("modlab.util.file").write_atomic
local iso_now = require("modlab.util.time").iso_now

local M = {}

-- A torn line (a trial killed mid-write) is skipped, with one warning per file and line.
local warned = {}
local function metric_values(path, name)
  local vals = {}
  local rows = jsonl.values(path, function(lineno)
    if warned[path .. ":" .. lineno] then return end
    warned[path .. ":" .. lineno] = true
    io.stderr:write(("modlab: warning: %s:%d: unreadable line skipped\n"):format(path, lineno))
  end)
  for _, row in ipairs(rows) do
    if type(row[name]) == "number" then vals[#vals + 1] = row[name] end
  end
  return vals
end

local function better(goal, a, b)
  if goal == "maximize" then return a > b end
  return a < b
end

-- The value that ranks a trial: last, best or mean of the last k logged values.
local function summarize(vals, plan)
  if #vals == 0 then return nil end
  local how, goal = plan.settings.metric_summary, plan.metric and plan.metric.goal
  if how == "best" then
    local b = vals[1]
    for _, v in ipairs(vals) do if better(goal, v, b) then b = v end end
    return b
  elseif how == "mean_last_k" then
    local k = math.min(plan.settings.k, #vals)
    local sum = 0
    for i = #vals - k + 1, #vals do sum = sum + vals[i] end
    return sum / k
  end
  return vals[#vals]
end

-- The trial's metric from its run directory (metrics.jsonl, else summary.json).
-- A trial the runner stopped (timeout, pruning, a crash) cannot close its own meta.json:
-- record the outcome there, so its run directory does not claim to be running forever.
local function close_trial_meta(tdir, ev)
  local meta = json.decode(read_file(tdir .. "/meta.json") or "")
  -- "interrupted": the trial's own account of a SIGTERM, whose reason the runner knows.
  if type(meta) ~= "table" or (meta.status ~= "running" and meta.status ~= "interrupted") then
    return
  end
  meta.status, meta.end_time, meta.error = ev.event, iso_now(), ev.error
  write_atomic(tdir .. "/meta.json", require("modlab.util.json").encode(meta) .. "\n")
end

local function trial_metric(plan, tdir)
  if not plan.metric then return nil end
  local vals = metric_values(tdir .. "/metrics.jsonl", plan.metric.name)
  local v = summarize(vals, plan)
  if v == nil then
    local s = json.decode(read_file(tdir .. "/summary.json") or "")
    if type(s) == "table" and type(s[plan.metric.name]) == "number" then
      v = s[plan.metric.name]
    end
  end
  return v, #vals
end

M.metric_values = metric_values
M.better = better
M.close_trial_meta = close_trial_meta
M.trial_metric = trial_metric

return M
