-- SPDX-License-Identifier: MIT
-- The quickstart MLP written as ml.sequential or as ml.graph (--set form=graph), for
-- bench/graph_bench.sh: a chain must cost the same either way.
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
ml.train {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("sgd", { lr = 0.05, momentum = 0.9 }),
  epochs = ml.arg("epochs", 4), batch = 128, seed = 1, normalize = true,
  threads = ml.arg("threads", 1), quiet = true, save = false,
}
