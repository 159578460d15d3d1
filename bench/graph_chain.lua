-- SPDX-License-Identifier: MIT
-- The quickstart MLP written as ml.sequential or as ml.graph (--set form=graph), trained by
-- ml.train, or by a loop of ml.trainer's pieces (--set form=loop), for bench/graph_bench.sh:
-- a chain costs the same either way, and a hand-written loop what ml.train does.
local ml = require "modlab"

local data = assert(ml.dataset("fashion-mnist"))
local L = ml.layer
local function layers()
  return { L("flatten"), L("linear", { out = 256 }), L("relu"), L("linear", { out = 128 }),
           L("relu"), L("linear", { out = 10 }) }
end
local model
if ml.arg("form", "sequential") == "graph" then
  local l = layers()
  model = ml.graph(function(x)
    for _, layer in ipairs(l) do x = layer(x) end
    return x
  end)
else
  model = ml.sequential(layers())
end
local cfg = {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("sgd", { lr = 0.05, momentum = 0.9 }),
  batch = 128, seed = 1, normalize = true, threads = ml.arg("threads", 1),
}
local epochs = ml.arg("epochs", 4)
if ml.arg("form", "sequential") ~= "loop" then
  cfg.epochs, cfg.quiet, cfg.save = epochs, true, false
  ml.train(cfg)
  return
end
-- What ml.train does per epoch, as pieces; prints the training loop's samples/s per epoch
-- in timing.jsonl's form, for the same reader.
local now = require("modlab.util.time").now
local tr = ml.trainer(cfg)
for epoch = 1, epochs do
  tr:train_mode(true)
  local t0, n = now(), 0
  for _, size in tr:batches("train", epoch) do
    tr:zero_grad(); tr:forward(); tr:loss(); tr:backward(); tr:step()
    n = n + size
  end
  local secs = now() - t0
  tr:evaluate("valid")
  tr:evaluate("test")
  print(('{"epoch":%d,"samples_per_s":%.17g}'):format(epoch, n / secs))
end
