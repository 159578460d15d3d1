-- SPDX-License-Identifier: MIT
-- The switcher's alternating procedure (Han et al.) written as a plain loop of ml.trainer's
-- pieces instead of an ml.train hook: after a warm-up epoch with the gates off, epochs
-- alternate between the task weights (U-Nets frozen) and the gate U-Nets (task weights
-- frozen), and each epoch ends with a validation pass and the zero-gate fraction per layer.
-- The same procedure as recipes/switcher/mlp.lua, with every step visible.
--   modlab run recipes/custom_loop.lua [--set epochs=5] [--set train_size=10000]
local ml = require "modlab"
local sw = dofile(ml.here("switcher/switcher_lib.lua"))

local epochs, seed = ml.arg("epochs", 5), ml.arg("seed", 1)
local train_size = ml.arg("train_size", 0)
local function gated(out)
  return ml.layer("switcher", { out = out, gate = "neurons", depth = 2, base_channels = 4 })
end
local model = ml.sequential {
  ml.layer("flatten"), gated(300), ml.layer("relu"), gated(100), ml.layer("relu"), gated(10),
}
local tr = ml.trainer {
  model = model, data = assert(ml.dataset("fashion-mnist")), batch = 64, seed = seed,
  optimizer = ml.optimizer("sgd", { lr = 0.1 }),
  train_size = train_size > 0 and train_size or nil,
}

for epoch = 1, epochs do
  -- The phase: which half of the network trains this epoch.
  local phase = epoch == 1 and "warmup" or (epoch % 2 == 0 and "task" or "switcher")
  sw.set_gates(model, phase ~= "warmup")
  tr:set_group("", phase == "switcher" and 0 or 1, phase == "switcher" and 0 or 1)
  tr:set_group(".unet.", phase == "switcher" and 1 or 0, phase == "switcher" and 1 or 0)

  tr:train_mode(true)
  for _ in tr:batches("train", epoch) do
    tr:zero_grad()
    tr:forward()
    tr:loss()
    tr:backward()
    tr:step()
  end
  local train = tr:take_stats()
  local valid = tr:evaluate("valid")

  local zeros = {}
  if phase ~= "warmup" then
    sw.refresh_gates(model)
    for _, r in ipairs(sw.report(model)) do
      zeros[#zeros + 1] = ("%s %.3f"):format(r.layer, r.zero_fraction)
    end
  end
  print(("epoch %d %-8s train loss %.4f acc %.4f  valid acc %.4f  zero gates: %s"):format(
    epoch, phase, train.loss, train.accuracy, valid.accuracy,
    #zeros > 0 and table.concat(zeros, ", ") or "-"))
end
print(("test accuracy %.4f"):format(tr:evaluate("test").accuracy))
