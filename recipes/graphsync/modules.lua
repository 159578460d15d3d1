-- SPDX-License-Identifier: MIT
-- Recipe-side helpers for graphsync layers: read the modules a pruned layer found, measure
-- them (module sizes, fraction of |A| inside modules) independently of the layer's own C
-- code, and write the adjacency matrix, units ordered by module, as a PGM image.
--   local gsm = dofile(dir .. "/modules.lua")
--   local st = gsm.stats(model)        -- { units, modules, sizes = {...}, mass, pruned }
--   gsm.write_pgm(model, run.dir .. "/adjacency_permuted.pgm")
-- Both read the layer's buffers `adjacency_at_prune` (A as it was when the layer pruned
-- itself, before the cross-module edges were dropped) and `assignment` (each unit's
-- module; -1 until pruned), so they need a layer that has pruned (prune_after) or runs a
-- fixed mask (whose graph is the live `adjacency`).
local M = {}

-- The first graphsync layer's parameter whose name ends in `suffix`: its values as a
-- 0-based table (the layout's own indexing), numel and name.
local function param(model, suffix)
  for _, p in ipairs(model:params("graphsync." .. suffix)) do
    if p.name:sub(-#suffix) == suffix then
      local t = {}
      for i, v in ipairs(p:values()) do t[i - 1] = v end
      return t, p.numel, p.name
    end
  end
  return nil
end

-- The layer's graph and assignment as Lua tables (graph: the snapshot taken at pruning, or
-- the live matrix when the layer never pruned but runs blocked from the start).
function M.graph(model)
  local asg, n = param(model, "assignment")
  if not asg then error("modules: the model has no graphsync layer", 2) end
  local label, k, pruned = {}, 0, true
  for i = 0, n - 1 do
    label[i] = asg[i]
    if label[i] < 0 then pruned = false end
    k = math.max(k, label[i] + 1)
  end
  local snap = param(model, "adjacency_at_prune")
  local live = param(model, "adjacency")
  local any = false
  for i = 0, n * n - 1 do if snap[i] ~= 0 then any = true; break end end
  return { n = n, k = k, label = label, a = any and snap or live, pruned = pruned }
end

-- Module sizes and the fraction of sum |A_ij| (i ~= j) that lies inside modules.
function M.stats(model)
  local g = M.graph(model)
  if not g.pruned then return { units = g.n, pruned = false } end
  local sizes = {}
  for m = 1, g.k do sizes[m] = 0 end
  for i = 0, g.n - 1 do sizes[g.label[i] + 1] = sizes[g.label[i] + 1] + 1 end
  local inside, total = 0, 0
  for i = 0, g.n - 1 do
    for j = 0, g.n - 1 do
      if i ~= j then
        local w = math.abs(g.a[i * g.n + j])
        total = total + w
        if g.label[i] == g.label[j] then inside = inside + w end
      end
    end
  end
  return { units = g.n, modules = g.k, sizes = sizes, mass = total > 0 and inside / total or 1,
           pruned = true }
end

-- |A| with units ordered by module (stable within a module), as an 8-bit PGM: black is
-- the strongest edge, white is none; a square root stretches the weak end so structure
-- stays visible. Returns true, or nil and a message.
function M.write_pgm(model, path)
  local g = M.graph(model)
  if not g.pruned then return nil, "the layer has not pruned yet: nothing to order by" end
  local order = {}
  for i = 0, g.n - 1 do order[#order + 1] = i end
  table.sort(order, function(x, y)
    if g.label[x] ~= g.label[y] then return g.label[x] < g.label[y] end
    return x < y
  end)
  local mx = 0
  for i = 0, g.n * g.n - 1 do mx = math.max(mx, math.abs(g.a[i])) end
  local px = {}
  for r = 1, g.n do
    for c = 1, g.n do
      local v = mx > 0 and math.sqrt(math.abs(g.a[order[r] * g.n + order[c]]) / mx) or 0
      px[#px + 1] = string.char(255 - math.floor(255 * v + 0.5))
    end
  end
  local f, err = io.open(path, "wb")
  if not f then return nil, err end
  f:write(("P5\n# graphsync |A|, units ordered by module\n%d %d\n255\n"):format(g.n, g.n))
  f:write(table.concat(px))
  f:close()
  return true
end

return M
