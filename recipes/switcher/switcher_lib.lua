-- SPDX-License-Identifier: MIT
-- Helpers for switcher networks (plugin `switcher`): the alternating training schedule,
-- the compression report and the export of the pruned network as an ordinary MLP.
--   local sw = dofile(ml.here("switcher_lib.lua"))
-- Everything goes through the public recipe API (model:params, ml.floats, data:read).
local ml = require "modlab"

local M = {}

-- Gates on (1) or off (0, warm-up: every switcher is its plain layer) in every switcher.
function M.set_gates(model, on)
  for _, p in ipairs(model:params(".switcher.gate_on")) do p:set(1, on and 1 or 0) end
end

-- The schedule as an ml.train on_epoch hook. opts: warmup (epochs with gates off, training
-- the task weights only; default 1), first ("task" or "switcher", the phase after warm-up;
-- default "task"), task_epochs / switcher_epochs (length of each phase, default 1 each).
-- Task phase: the U-Nets are frozen (lr_scale 0), the gradient to W still flows through
-- them. Switcher phase: only the U-Nets train.
function M.schedule(opts)
  opts = opts or {}
  local warmup, first = opts.warmup or 1, opts.first or "task"
  local lt, ls = opts.task_epochs or 1, opts.switcher_epochs or 1
  if first ~= "task" and first ~= "switcher" then
    error("switcher schedule: first must be 'task' or 'switcher'", 2)
  end
  return function(epoch, run)
    local phase
    if epoch <= warmup then
      phase = "warmup"
    else
      local k = (epoch - warmup - 1) % (lt + ls)
      local a, la = first, first == "task" and lt or ls
      phase = k < la and a or (a == "task" and "switcher" or "task")
    end
    M.set_gates(run.model, phase ~= "warmup")
    if phase == "switcher" then
      run:set_group("", 0, 0)
      run:set_group(".unet.", 1, 1)
    else
      run:set_group("", 1, 1)
      run:set_group(".unet.", 0, 0)
    end
    return phase
  end
end

-- Put the gates of the evaluation-mode network (batch norms on running statistics) into
-- each switcher's "gate" buffer: one forward pass of a zero batch (gates depend on the
-- weights alone, not on the input).
function M.refresh_gates(model)
  local n = 1
  for _, d in ipairs(model.in_shape) do n = n * d end
  model:training(false)
  model:forward(ml.floats(n), 1)
end

-- Per switcher layer: { layer=, gates=, zero=, zero_fraction=, weights=, weights_left= }.
-- weights_left counts the weights whose gate is not exactly zero. Call refresh_gates first.
function M.report(model)
  local rows = {}
  for _, gp in ipairs(model:params(".switcher.gate")) do
    if not gp.name:find("gate_on", 1, true) then
      local layer = gp.name:match("^(%d+%.switcher)%.")
      local w = model:param(layer .. ".weight")
      local ng, zero = gp.numel, 0
      for _, g in ipairs(gp:values()) do if g == 0 then zero = zero + 1 end end
      rows[#rows + 1] = { layer = layer, gates = ng, zero = zero, zero_fraction = zero / ng,
                          weights = w.numel,
                          weights_left = math.floor(w.numel * (ng - zero) / ng + 0.5) }
    end
  end
  return rows
end

-- The pruned network as an ordinary model: for an MLP of switcher(wrap=linear,
-- gate=neurons) layers with relu between (after an optional flatten), each switcher becomes
-- a linear layer with W * g folded in; an input neuron whose gate is exactly 0 is removed
-- together with the unit of the previous layer that feeds it (its output can no longer
-- reach anything). The first layer keeps all its inputs (the image's pixels are not
-- units), with the zero-gated columns zero. Returns the built model (eval mode) and a
-- list of layer widths. Call refresh_gates first.
function M.export(ml, model, seed)
  local specs, sws = {}, {}
  for i, l in ipairs(model.layers) do
    if l.name == "switcher" then
      if (l.opts.wrap or "linear") ~= "linear" or (l.opts.gate or "neurons") ~= "neurons" then
        error("switcher export: only MLPs of switcher(wrap=linear, gate=neurons)", 2)
      end
      local prefix = ("%d.switcher."):format(i - 1)
      local w = model:param(prefix .. "weight")
      -- 0-based copies, so the index arithmetic below reads as the layout does.
      local function zero_based(p)
        local t = {}
        for j, v in ipairs(p:values()) do t[j - 1] = v end
        return t
      end
      sws[#sws + 1] = { w = zero_based(w), b = zero_based(model:param(prefix .. "bias")),
                        g = zero_based(model:param(prefix .. "gate")),
                        out = w.shape[1], k = w.shape[2] }
    elseif l.name ~= "relu" and l.name ~= "flatten" then
      error("switcher export: unsupported layer " .. l.name, 2)
    end
  end
  -- keep[j]: the output units of switcher j that survive (the next layer's input gates).
  local keep = {}
  for j, s in ipairs(sws) do
    local nxt, k = sws[j + 1], {}
    for o = 0, s.out - 1 do
      if not nxt or nxt.g[o] ~= 0 then k[#k + 1] = o end
    end
    keep[j] = k
  end
  local widths = {}
  for j, s in ipairs(sws) do
    widths[j] = #keep[j]
    specs[#specs + 1] = ml.layer("linear", { out = #keep[j] })
    if j < #sws then specs[#specs + 1] = ml.layer("relu") end
  end
  if model.layers[1].name == "flatten" then table.insert(specs, 1, ml.layer("flatten")) end
  local pruned = ml.sequential(specs)
  assert(pruned:build(model.in_shape, model.max_batch, seed or 1))
  pruned:set_normalization(model:normalization())   -- the same inputs as the gated network
  for j, s in ipairs(sws) do
    local prefix = ""
    local li = 0
    for i, l in ipairs(specs) do
      if l.name == "linear" then
        li = li + 1
        if li == j then prefix = ("%d.linear."):format(i - 1) end
      end
    end
    local wp, bp = pruned:param(prefix .. "weight"), pruned:param(prefix .. "bias")
    local w, b = {}, {}
    local inputs = {}
    if j == 1 then
      for i = 0, s.k - 1 do inputs[#inputs + 1] = i end
    else
      inputs = keep[j - 1]
    end
    for r, o in ipairs(keep[j]) do
      b[r] = s.b[o]
      for c, i in ipairs(inputs) do
        w[(r - 1) * #inputs + c] = s.w[o * s.k + i] * s.g[i]
      end
    end
    wp:set_values(w)
    bp:set_values(b)
  end
  pruned:training(false)
  return pruned, widths
end

-- Trainable scalars of the pruned network's task layers that are not exactly zero.
function M.nonzero_weights(model)
  local n = 0
  for _, p in ipairs(model:params(".linear.")) do
    for _, v in ipairs(p:values()) do if v ~= 0 then n = n + 1 end end
  end
  return n
end

-- Both models' outputs on examples [0, n) of a split: { same_argmax=, max_abs_diff= }.
function M.compare(data, split, a, b, n)
  local size = assert(data:info(split)).size
  local total = math.min(n or size, size)
  local classes = a:out_shape()[1]
  local batch = math.min(a.max_batch, b.max_batch, 500)
  local copy = ml.floats(batch * classes)
  local same, diff, seen = 0, 0, 0
  a:training(false); b:training(false)
  for s = 0, total - 1, batch do
    local nb = math.min(batch, total - s)
    local x = data:read(split, s, nb)
    local oa = a:forward(x, nb)
    for i = 0, nb * classes - 1 do copy[i] = oa[i] end
    local ob = b:forward(x, nb)
    for r = 0, nb - 1 do
      local ba, bb = 0, 0
      for c = 0, classes - 1 do
        local i = r * classes + c
        diff = math.max(diff, math.abs(copy[i] - ob[i]))
        if copy[r * classes + c] > copy[r * classes + ba] then ba = c end
        if ob[r * classes + c] > ob[r * classes + bb] then bb = c end
      end
      if ba == bb then same = same + 1 end
    end
    seen = seen + nb
  end
  return { examples = seen, same_argmax = same, max_abs_diff = diff }
end

return M
