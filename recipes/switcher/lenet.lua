-- SPDX-License-Identifier: MIT
-- Switcher networks on a LeNet-5 (Fashion-MNIST): both conv layers are switchers with one
-- gate per (output, input) channel pair, the dense layers stay plain; against the same
-- LeNet-5 with nn.so's conv2d, same epochs, SGD lr 0.1, batch 64, plain cross-entropy.
--   modlab run recipes/switcher/lenet.lua --set gated=true --set seed=1 --set epochs=4
-- Schedule: `warmup` epochs without gates, then task and switcher epochs alternate. 10% of
-- the training set is the validation split; the last epoch's numbers are reported. With
-- gated=true, switcher.json in the run directory holds the zero-gate fraction per layer.
local ml = require "modlab"
local sw = dofile(ml.here("switcher_lib.lua"))
local json = require "modlab.json"

local gated = ml.arg("gated", true)
local epochs, seed = ml.arg("epochs", 4), ml.arg("seed", 1)
local data = assert(ml.dataset("fashion-mnist"))

local function conv(out, kernel, padding)
  if not gated then
    return ml.layer("conv2d", { out = out, kernel = kernel, padding = padding })
  end
  return ml.layer("switcher", { wrap = "conv2d", out = out, kernel = kernel, padding = padding,
                                gate = "neurons", depth = ml.arg("depth", 2),
                                base_channels = ml.arg("base_channels", 2) })
end
local model = ml.sequential {
  conv(6, 5, 2), ml.layer("relu"), ml.layer("maxpool2d", { kernel = 2 }),
  conv(16, 5, 0), ml.layer("relu"), ml.layer("maxpool2d", { kernel = 2 }),
  ml.layer("flatten"),
  ml.layer("linear", { out = 120 }), ml.layer("relu"),
  ml.layer("linear", { out = 84 }), ml.layer("relu"),
  ml.layer("linear", { out = 10 }),
}
local run = ml.train {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("sgd", { lr = 0.1 }),
  epochs = epochs, batch = 64, seed = seed, valid = 0.1,
  on_epoch = gated and sw.schedule { warmup = ml.arg("warmup", 2) } or nil,
  name = gated and "switcher-lenet" or "plain-lenet",
}
local s = run.summary
print(("final epoch: valid %.4f test %.4f (best valid epoch %d: test %.4f)"):format(
  s.valid_accuracy, s.test_accuracy, s.best_valid_epoch, s.test_accuracy_at_best_valid))
if not gated then return end
sw.refresh_gates(model)
local report = sw.report(model)
for _, r in ipairs(report) do
  print(("%s: %d/%d channel-pair gates zero (%.4f), weights left %d of %d"):format(r.layer,
    r.zero, r.gates, r.zero_fraction, r.weights_left, r.weights))
end
local jf = assert(io.open(run.dir .. "/switcher.json", "w"))
jf:write(json.encode({ seed = seed, epochs = epochs, valid_accuracy = s.valid_accuracy,
                       test_accuracy = s.test_accuracy, layers = report }), "\n")
jf:close()
