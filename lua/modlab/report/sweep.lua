-- SPDX-License-Identifier: MIT
-- What `modlab report` shows of a sweep directory, as plain tables for the page: the
-- results table (results.csv, as `modlab sweep` wrote it), the parameters and the metric,
-- and the metric curves of the best trials (their trials/<id>/metrics.jsonl).
local files = require "modlab.report.files"
local json = require "modlab.util.json"

local M = {}

M.BEST = 5   -- how many of the best trials get their curves drawn

-- A number cell as a number, an empty one as null, anything else as text.
local function cell(s)
  if s == "" then return json.null end
  local n = tonumber(s)
  if n and s:match("^%s*[-+]?[%d.]") then return n end
  return s
end

local function curves(tdir, metric, warnings)
  local rows = files.jsonl(tdir .. "/metrics.jsonl", warnings)
  local out = { epochs = {}, values = {} }
  local loss = metric and metric:match("^(%a+)_") and (metric:match("^(%a+)_") .. "_loss")
  if loss == metric then loss = nil end
  out.loss_name = loss
  out.loss = {}
  for i, row in ipairs(rows) do
    out.epochs[i] = type(row.epoch) == "number" and row.epoch or i
    out.values[i] = type(row[metric]) == "number" and row[metric] or json.null
    out.loss[i] = loss and type(row[loss]) == "number" and row[loss] or json.null
  end
  return out
end

-- The page data of sweep directory `dir`; nil and a message when results.csv is missing.
function M.load(dir, warnings)
  local plan = files.json(dir .. "/sweep.json", warnings)
  if not plan then return nil, dir .. "/sweep.json: unreadable" end
  local text = files.read(dir .. "/results.csv")
  if not text then
    return nil, ("%s has no results.csv yet: run `modlab sweep %s --resume` (it writes the "
      .. "results at the end), then `modlab report %s` again"):format(dir, dir, dir)
  end
  local csv = files.csv(text)
  local header = table.remove(csv, 1) or {}
  local rows = {}
  for _, r in ipairs(csv) do
    if #r == #header then
      local row = {}
      -- Trial ids are hex text, even when every digit is a decimal one.
      for k, v in ipairs(r) do row[k] = header[k] == "trial" and v or cell(v) end
      rows[#rows + 1] = row
    elseif #r > 0 then
      files.warn(warnings, ("%s/results.csv: a row with %d fields (header has %d) skipped")
        :format(dir, #r, #header))
    end
  end
  local metric = plan.metric and plan.metric.name
  local col = {}
  for k, name in ipairs(header) do col[name] = k end
  local counts = {}
  for _, r in ipairs(rows) do
    local s = r[col.status] or "?"
    counts[s] = (counts[s] or 0) + 1
  end
  -- The best trials: results.csv is sorted by the goal, rows with a metric first.
  local best = {}
  local params = plan.columns or {}
  -- Trial labels name only the parameters that differ between trials.
  local varies = {}
  for _, p in ipairs(params) do
    local first = rows[1] and col[p] and rows[1][col[p]]
    for _, r in ipairs(rows) do
      if col[p] and r[col[p]] ~= first then varies[p] = true break end
    end
  end
  for _, r in ipairs(rows) do
    if #best >= M.BEST then break end
    local v = metric and col[metric] and r[col[metric]]
    if type(v) == "number" then
      local id = r[col.trial]
      local label = {}
      for _, p in ipairs(params) do
        local v = r[col[p]]
        if type(v) == "number" then v = ("%.4g"):format(v) end   -- a legend, not a record
        if varies[p] then label[#label + 1] = p .. "=" .. tostring(v) end
      end
      -- results.csv is data: an id that is not a planner id (hex) never becomes a path.
      local safe = type(id) == "string" and id:match("^%x+$")
      if not safe then
        files.warn(warnings, ("%s/results.csv: trial id %q is not a sweep trial id (hex "
          .. "digits): its curves are skipped"):format(dir, tostring(id)))
      end
      local c = safe and curves(dir .. "/trials/" .. id, metric, warnings) or {}
      c.id, c.rank, c.label, c.metric = tostring(id), r[col.rank], table.concat(label, " "), v
      best[#best + 1] = c
    end
  end
  return {
    kind = "sweep",
    title = plan.name_resolved or plan.name or (dir:match("([^/]+)/*$") or dir),
    dir = dir,
    method = plan.method,
    metric = plan.metric or json.null,
    params = params,
    header = header,
    rows = rows,
    counts = counts,
    best = best,
    created = plan.created,
    source = plan.source,
  }
end

return M
