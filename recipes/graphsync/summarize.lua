-- SPDX-License-Identifier: MIT
-- The README table from the runs of recipes/graphsync/graphsync.lua: every results.json
-- under `runs` (default $MODLAB_RUNS or ./runs) whose run finished `epochs` epochs, grouped
-- by variant, as mean +- sample standard deviation over seeds.
--   modlab run recipes/graphsync/summarize.lua [--set runs=DIR] [--set epochs=30]
local ml = require "modlab"

local dir = ml.arg("runs", os.getenv("MODLAB_RUNS") or "runs")
local epochs = ml.arg("epochs", 30)

local function field(text, key)
  local v = text:match('"' .. key .. '":%s*([-%d.eE+]+)')
  return v and tonumber(v)
end

local by = {}
local order = { "spectral", "assign", "none", "random", "mlp" }
-- The run directories graphsync-*, listed without a shell (`runs` is any path).
local runs = {}
local names, kinds = require("modlab").listdir(dir)
for _, name in ipairs(names or {}) do
  if name:match("^graphsync%-") and kinds[name] == "dir" then
    runs[#runs + 1] = dir .. "/" .. name .. "/"
  end
end
for _, d in ipairs(runs) do
  local f = io.open(d .. "results.json")
  if f then
    local text = f:read("*a")
    f:close()
    local variant = text:match('"variant":%s*"(%w+)"')
    if variant and field(text, "epochs") == epochs then
      local r = { seed = field(text, "seed"), sizes = text:match('"sizes":%s*(%b[])') }
      for _, k in ipairs({ "test_before", "gap_before", "valid_before", "test_after",
                           "mass", "step_s_before", "step_s_after", "eval_s_per_1k_before",
                           "eval_s_per_1k_after", "params" }) do
        r[k] = field(text, k)
      end
      by[variant] = by[variant] or {}
      table.insert(by[variant], r)
    end
  end
end

local function stat(rows, key, scale, fmt)
  local xs = {}
  for _, r in ipairs(rows) do if r[key] then xs[#xs + 1] = r[key] * (scale or 1) end end
  if #xs == 0 then return "-" end
  local m = 0
  for _, x in ipairs(xs) do m = m + x end
  m = m / #xs
  local v = 0
  for _, x in ipairs(xs) do v = v + (x - m) ^ 2 end
  local sd = #xs > 1 and math.sqrt(v / (#xs - 1)) or 0
  return (fmt or "%.2f ± %.2f"):format(m, sd)
end

local function delta(rows)
  for _, r in ipairs(rows) do
    r.delta = r.test_after and r.test_before and (r.test_after - r.test_before) or nil
  end
  return stat(rows, "delta", 100)
end

print("| variant | seeds | params | test acc % | train−test gap % | valid acc % | "
      .. "test after prune+fine-tune % | change (points) | in-module mass | module sizes "
      .. "(per seed) | train step ms before → after | eval ms/1k before → after |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for _, v in ipairs(order) do
  local rows = by[v]
  if rows then
    table.sort(rows, function(a, b) return a.seed < b.seed end)
    local sizes = {}
    for _, r in ipairs(rows) do sizes[#sizes + 1] = r.sizes or "-" end
    print(("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s → %s | %s → %s |"):format(
      v, #rows, rows[1].params or 0, stat(rows, "test_before", 100),
      stat(rows, "gap_before", 100), stat(rows, "valid_before", 100),
      stat(rows, "test_after", 100), delta(rows), stat(rows, "mass", 1, "%.3f ± %.3f"),
      table.concat(sizes, " "), stat(rows, "step_s_before", 1000),
      stat(rows, "step_s_after", 1000), stat(rows, "eval_s_per_1k_before", 1000),
      stat(rows, "eval_s_per_1k_after", 1000)))
  end
end
