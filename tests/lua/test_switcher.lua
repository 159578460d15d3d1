-- SPDX-License-Identifier: MIT
-- ml.train's on_epoch hook (per-epoch parameter groups, phase labels), the switcher
-- schedule (warm-up without gates, task and switcher phases freeze the other side), and
-- the pruned-network export: same predictions as the gated network it came from.
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local ml = require "modlab"
local sw = dofile(os.getenv("top_srcdir") .. "/recipes/switcher/switcher_lib.lua")

local out = os.getenv("MODLAB_RUNS") or "/tmp"
local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 400, dims = 6, classes = 3,
                                            noise = 1 }))

local function snapshot(model, part)
  local s = {}
  for _, p in ipairs(model:params(part)) do   -- trainable ones (not BN statistics)
    if p.trainable then
      for _, v in ipairs(p:values()) do s[#s + 1] = v end
    end
  end
  return s
end
local function changed(a, b)
  for i = 1, #a do if a[i] ~= b[i] then return true end end
  return false
end

-- on_epoch: called before every epoch; set_group freezes; a returned string labels the row.
do
  local model = ml.sequential { ml.layer("linear", { out = 4 }), ml.layer("relu"),
                                ml.layer("linear", { out = 3 }) }
  local seen, snaps = {}, {}
  local run = ml.train {
    model = model, data = data, epochs = 3, batch = 20, quiet = true, out = out, save = false,
    optimizer = ml.optimizer("sgd", { lr = 0.1 }),
    on_epoch = function(epoch, r)
      seen[#seen + 1] = epoch
      snaps[epoch] = snapshot(r.model, "0.linear.")
      r:set_group("", 1, 1)
      if epoch == 2 then r:set_group("0.linear.", 0, 0) end
      return epoch == 2 and "frozen" or nil
    end,
  }
  local after = snapshot(model, "0.linear.")
  t.ok(#seen == 3 and seen[1] == 1 and seen[3] == 3, "on_epoch runs before each of 3 epochs")
  t.ok(changed(snaps[1], snaps[2]), "layer 0 trains in epoch 1")
  t.ok(not changed(snaps[2], snaps[3]), "set_group(pattern, 0) freezes layer 0 in epoch 2")
  t.ok(changed(snaps[3], after), "and it trains again in epoch 3")
  t.ok(run.history[2].phase == "frozen" and run.history[1].phase == nil,
       "a string returned by on_epoch labels that epoch's row")
  t.errors(function()
    ml.train { model = ml.sequential { ml.layer("linear", { out = 3 }) }, data = data,
               epochs = 1,
               batch = 20, optimizer = ml.optimizer("sgd", {}), on_epoch = 3 }
  end, "'on_epoch' must be a function", "on_epoch must be a function")
  t.errors(function()
    ml.train { model = ml.sequential { ml.layer("linear", { out = 3 }) }, data = data,
               epochs = 1,
               batch = 20, optimizer = ml.optimizer("sgd", {}), quiet = true, out = out,
               save = false, on_epoch = function(_, r) r:set_group("no_such", 0) end }
  end, "matches no trainable parameter", "set_group with an unknown pattern is an error")
end

-- The switcher schedule: warm-up (gates off, U-Nets frozen), task, switcher, task.
local function gated_mlp()
  return ml.sequential {
    ml.layer("switcher", { out = 8, depth = 1, base_channels = 2 }), ml.layer("relu"),
    ml.layer("switcher", { out = 3, depth = 1, base_channels = 2 }),
  }
end
local model = gated_mlp()
local sched = sw.schedule { warmup = 1 }
local phases, snaps, gate_on = {}, {}, {}
local run = ml.train {
  model = model, data = data, epochs = 4, batch = 20, quiet = true, out = out, save = false,
  optimizer = ml.optimizer("sgd", { lr = 0.1 }),
  on_epoch = function(epoch, r)
    snaps[epoch] = { task = snapshot(r.model, "switcher.weight"),
                     unet = snapshot(r.model, ".unet.") }
    local p = sched(epoch, r)
    phases[epoch] = p
    gate_on[epoch] = r.model:param("0.switcher.gate_on"):get(1)
    return p
  end,
}
snaps[5] = { task = snapshot(model, "switcher.weight"), unet = snapshot(model, ".unet.") }
t.ok(table.concat(phases, ",") == "warmup,task,switcher,task",
     "schedule: " .. table.concat(phases, ","))
t.ok(gate_on[1] == 0 and gate_on[2] == 1 and gate_on[3] == 1, "gates off in warm-up only")
t.ok(changed(snaps[1].task, snaps[2].task) and not changed(snaps[1].unet, snaps[2].unet),
     "warm-up trains the task weights only")
t.ok(changed(snaps[2].task, snaps[3].task) and not changed(snaps[2].unet, snaps[3].unet),
     "task phase: task weights train, U-Nets frozen")
t.ok(not changed(snaps[3].task, snaps[4].task) and changed(snaps[3].unet, snaps[4].unet),
     "switcher phase: U-Nets train, task weights frozen")
t.ok(run.history[3].phase == "switcher", "metrics rows carry the phase")

-- Export. Shift each hidden layer's U-Net head bias so that about half of its gates are
-- exactly zero (gate = relu(bias + c_i): measure c_i with all gates open first).
sw.refresh_gates(model)
for _, layer in ipairs({ "0.switcher", "2.switcher" }) do
  local bias = model:param(layer .. ".unet.head.bias")
  bias:set(1, bias:get(1) + 100)
  sw.refresh_gates(model)
  local cs = {}
  for _, g in ipairs(model:param(layer .. ".gate"):values()) do cs[#cs + 1] = g - bias:get(1) end
  table.sort(cs)
  bias:set(1, -cs[math.floor(#cs / 2) + 1] + 1e-3)
end
sw.refresh_gates(model)
local report = sw.report(model)
t.ok(#report == 2 and report[1].zero > 0 and report[1].zero < report[1].gates and
     report[2].zero > 0 and report[2].zero < report[2].gates,
     ("some but not all gates are zero (%d/%d, %d/%d)"):format(report[1].zero, report[1].gates,
       report[2].zero, report[2].gates))
local pruned, widths = sw.export(ml, model, 1)
t.ok(widths[1] == 8 - report[2].zero and widths[2] == 3,
     ("zero-gated units are removed: widths %s"):format(table.concat(widths, "-")))
local cmp = sw.compare(data, "test", model, pruned)
t.ok(cmp.examples > 0 and cmp.same_argmax == cmp.examples,
     ("pruned and gated networks predict the same class (%d/%d)"):format(cmp.same_argmax,
       cmp.examples))
t.ok(cmp.max_abs_diff < 1e-4, ("same outputs (max |diff| %.3g)"):format(cmp.max_abs_diff))
local a = ml.evaluate { model = model, data = data, split = "test" }
local b = ml.evaluate { model = pruned, data = data, split = "test" }
t.ok(a.accuracy == b.accuracy,
     ("same test accuracy (%.4f, %.4f)"):format(a.accuracy, b.accuracy))
-- And the check can fail: a pruned network with a wrong weight does not agree.
local bias = pruned:param("2.linear.bias")
bias:set(1, bias:get(1) + 10)
t.ok(sw.compare(data, "test", model, pruned).max_abs_diff > 1, "a corrupted export disagrees")
t.done()
