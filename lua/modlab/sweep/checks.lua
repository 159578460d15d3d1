-- SPDX-License-Identifier: MIT
-- Sweep-file mistakes a finished trial reveals: a metric.name the trial never logged and
-- sweep parameters the recipe never read (ml.arg). `modlab trial` finds them (so Slurm tasks
-- do too), `modlab sweep` acts on the first: an error with modlab.strict (the default),
-- else a warning printed at once.
local json = require "modlab.util.json"
local jsonl = require "modlab.util.jsonl"
local file = require "modlab.util.file"

local M = {}

M.closest = require("modlab.util.suggest").closest

-- The metric names a trial logged: the keys of its metrics.jsonl rows (sorted), plus those
-- of summary.json, which the sweep also reads a metric from.
function M.logged_names(tdir)
  local seen, names = {}, {}
  local function add(row)
    if type(row) ~= "table" then return end
    for k, v in pairs(row) do
      if type(k) == "string" and type(v) == "number" and not seen[k] then
        seen[k] = true
        names[#names + 1] = k
      end
    end
  end
  for _, row in ipairs(jsonl.values(tdir .. "/metrics.jsonl")) do add(row) end
  add(json.decode(file.read(tdir .. "/summary.json") or ""))
  table.sort(names)
  return names
end

local hint = require("modlab.util.suggest").hint

-- Messages for a finished trial: `value` is its metric (nil: never logged), `unused` the
-- sweep parameters it never read, `used` the names the recipe did read (core.used_args).
function M.messages(plan, tdir, value, unused, used)
  local msgs = {}
  if plan.metric and value == nil then
    local names = M.logged_names(tdir)
    msgs[#msgs + 1] = ("metric.name '%s' was never logged by the trial (it logged: %s)%s")
      :format(plan.metric.name, #names > 0 and table.concat(names, ", ") or "nothing",
              hint(plan.metric.name, names))
  end
  if #unused > 0 then
    local read = {}
    for name in pairs(used or {}) do read[#read + 1] = name end
    table.sort(read)
    local hints = {}
    for _, u in ipairs(unused) do
      local c = M.closest(u, read)
      if c then hints[#hints + 1] = ("'%s' for '%s'"):format(c, u) end
    end
    msgs[#msgs + 1] = ("sweep parameter%s %s never read by the recipe (ml.arg)%s"):format(
      #unused > 1 and "s" or "", table.concat(unused, ", "),
      #hints > 0 and ("; did you mean " .. table.concat(hints, ", ") .. "?") or ": a typo?")
  end
  return msgs
end

-- What the sweep does with a trial's journal line `ev`: the first trial that shows a mistake
-- stops the sweep with modlab.strict (returns "strict": start no more trials), else its
-- warnings are printed now, each message once (`said` remembers them).
function M.act(plan, ev, where, said)
  local fresh = {}
  for _, m in ipairs(type(ev.checks) == "table" and ev.checks or {}) do
    if not said[m] then said[m] = true; fresh[#fresh + 1] = m end
  end
  if #fresh == 0 then return nil end
  io.stdout:flush()   -- after the progress lines that led here
  if plan.settings.strict then
    io.stderr:write(("modlab: error: %s: %s\nmodlab: stopping the sweep: starting no more "
      .. "trials; fix the sweep file and re-run (or set modlab: {strict: false} to go on "
      .. "with warnings)\n"):format(where, table.concat(fresh, "; ")))
    return "strict"
  end
  for _, m in ipairs(fresh) do
    io.stderr:write(("modlab: warning: %s: %s\n"):format(where, m))
  end
  return nil
end

return M
