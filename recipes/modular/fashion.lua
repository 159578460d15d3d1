-- SPDX-License-Identifier: MIT
-- Kirsch et al. (2018)'s MNIST configuration on Fashion-MNIST: modular dense 784->32
-- (M=10, K=1), ReLU, modular dense 32->10 (M=8, K=1), batch 32, Adam 1e-3, E-step with S=10
-- candidates every 10 steps. `train` picks the controller's training: em, reinforce,
-- noisy_topk, or `single` (M=1 for both layers: the non-modular baseline).
--   modlab run recipes/modular/fashion.lua --set train=em --set seed=1 --set epochs=2
local ml = require "modlab"

local train = ml.arg("train", "em")
local function modular(out, m)
  if train == "single" then
    return ml.layer("modular", { out = out, modules = 1, select = 1, train = "em" })
  end
  return ml.layer("modular", { out = out, modules = m, select = 1, train = train,
                               samples = ml.arg("samples", 10),
                               estep_every = ml.arg("estep_every", 10) })
end

local data = assert(ml.dataset("fashion-mnist"))
local model = ml.sequential {
  ml.layer("flatten"),
  modular(32, 10), ml.layer("relu"),
  modular(10, 8),
}
local run = ml.train {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("adam", { lr = ml.arg("lr", 1e-3) }),
  epochs = ml.arg("epochs", 2), batch = 32, seed = ml.arg("seed", 1),
  normalize = true,
  name = ("modular_fashion_%s_e%d_s%d"):format(train, ml.arg("estep_every", 10),
                                              ml.arg("seed", 1)),
}
print(("%s seed %d: test accuracy %.4f"):format(train, ml.arg("seed", 1),
  run.summary.test_accuracy))
