-- SPDX-License-Identifier: MIT
-- Multi-path CNN on Fashion-MNIST (issue 7, METHODS.md section 2).
--   modlab run recipes/multipath/mp_cnn.lua --set paths=4 --set routing=fdcc [--set seed=1]
--       [--set predictor=conv|linear] (routing=cross_prediction)
-- mp_split(n) -> block 1 (conv3x3 stride 2, 28 -> 14, no routing: its inputs are n copies)
-- -> block 2 (conv3x3 stride 2, 14 -> 7, routed) -> block 3 (conv3x3, 7x7, routed)
-- -> `extra` more 7x7 blocks (the deeper baseline) -> mp_merge concat -> global average
-- pool -> linear 10. Every path: conv, batchnorm, relu, `width` channels.
-- Baselines are the same recipe: paths=1 width=w (widened), routing=none (an ensemble of n
-- independent columns whose logits add up), paths=1 extra=k (deeper).
-- Model selection uses the 10% validation split only; the test split is only reported.
local ml = require "modlab"

local paths = ml.arg("paths", 2)
local routing = ml.arg("routing", "fdcc")
local width = ml.arg("width", 8)
local extra = ml.arg("extra", 0)
local epochs = ml.arg("epochs", 2)
-- cross_prediction's predictor: conv (the papers' router, the default for conv paths) or
-- linear (METHODS.md's formula: pooled input -> linear).
local predictor = ml.arg("predictor", "conv")
local reduction = ml.arg("reduction", 4)

local function block(stride, route)
  return ml.layer("multipath", { paths = paths, out = width, kernel = 3, stride = stride,
                                 padding = 1, batchnorm = true, routing = route,
                                 reduction = reduction,
                                 predictor = route == "cross_prediction" and predictor
                                             or "auto" })
end

local layers = { ml.layer("mp_split", { paths = paths }), block(2, "none"),
                 block(2, routing), block(1, routing) }
for _ = 1, extra do layers[#layers + 1] = block(1, routing) end
for _, l in ipairs { ml.layer("mp_merge", { mode = "concat" }), ml.layer("global_avgpool"),
                     ml.layer("linear", { out = 10 }) } do
  layers[#layers + 1] = l
end

-- Multiply-accumulates per example, counted by hand from the shapes above (convs, the
-- routers' pooling, mixing and MLPs, the head; batchnorm and relu are left out).
local function macs()
  local c, n, total = width, paths, 0
  local function conv(cin, hw) total = total + n * hw * hw * c * cin * 9 end
  local function router(hw)
    if routing == "none" or n == 1 then return end
    total = total + n * n * c * hw * hw + n * c * hw * hw       -- mixing, pooling
    if routing == "fdcc" then
      local hid = math.max(1, math.floor(n * c / reduction))
      total = total + n * c * hid + hid * n * n
    elseif routing == "cross_prediction" and predictor == "linear" then
      total = total + n * c * n
    elseif routing == "cross_prediction" then   -- per source: conv3x3 to pc, pool, head
      local pc = math.max(1, math.floor(c / reduction))
      total = total + n * (hw * hw * pc * c * 9 + pc * hw * hw + pc * n)
    end
  end
  conv(1, 14)
  router(14); conv(c, 7)
  for _ = 0, extra do router(7); conv(c, 7) end
  return total + n * c * 49 + n * c * 10
end

local data = assert(ml.dataset("fashion-mnist"))
local model = ml.sequential(layers)
local run = ml.train {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("adam", { lr = ml.arg("lr", 2e-3) }),
  schedule = ml.schedule("cosine", { t_max = epochs }),
  epochs = epochs, batch = ml.arg("batch", 128), seed = ml.arg("seed", 1),
  normalize = true, name = ml.arg("name", "mp_cnn"),
}
local f = assert(io.open(run.dir .. "/macs.json", "w"))
f:write(('{"macs_per_example": %d}\n'):format(macs()))
f:close()
print(("params %d  MACs/example %d  best valid %.4f (epoch %d)  test there %.4f"):format(
  run.summary.params, macs(), run.summary.best_valid_accuracy or 0,
  run.summary.best_valid_epoch or 0, run.summary.test_accuracy_at_best_valid or 0))
