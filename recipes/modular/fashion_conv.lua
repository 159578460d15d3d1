-- SPDX-License-Identifier: MIT
-- Conv modules on Fashion-MNIST: modular conv (M=4 modules of 8 channels, 5x5, stride 2,
-- K=1, the controller reads the whole image), ReLU, flatten, modular dense 1152->10 (M=4,
-- K=1); batch 32, Adam 1e-3, E-step with S=10 candidates every `estep_every` steps, on a
-- seeded random subset of `train_size` training examples. `train` picks the controller's
-- training: em, reinforce, noisy_topk, or `single` (M=1 for both layers: one conv, one
-- linear, the non-modular baseline).
--   modlab run recipes/modular/fashion_conv.lua --set train=em --set epochs=2
local ml = require "modlab"

local train = ml.arg("train", "em")
local function modular(opts, m)
  opts.modules = train == "single" and 1 or m
  opts.select = 1
  opts.train = train == "single" and "em" or train
  opts.samples = ml.arg("samples", 10)
  opts.estep_every = ml.arg("estep_every", 1)
  return ml.layer("modular", opts)
end

local data = assert(ml.dataset("fashion-mnist"))
local model = ml.sequential {
  modular({ op = "conv", out = 8, kernel = 5, stride = 2 }, 4), ml.layer("relu"),
  ml.layer("flatten"),
  modular({ out = 10 }, 4),
}
local run = ml.train {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("adam", { lr = ml.arg("lr", 1e-3) }),
  epochs = ml.arg("epochs", 2), batch = 32, seed = ml.arg("seed", 1),
  train_size = ml.arg("train_size", 10000), normalize = true,
  name = ("modular_fashion_conv_%s_e%d_s%d"):format(train, ml.arg("estep_every", 1),
                                                   ml.arg("seed", 1)),
}
print(("conv %s seed %d: test accuracy %.4f"):format(train, ml.arg("seed", 1),
  run.summary.test_accuracy))
