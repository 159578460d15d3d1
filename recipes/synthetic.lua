-- SPDX-License-Identifier: MIT
-- Two spirals, no files needed: a small MLP learns to separate them in a few seconds.
-- The slice through every part of modlab (plugins, options, trainer, run directory).
--   modlab run recipes/synthetic.lua [--set epochs=30] [--set lr=0.1] [--set seed=1]
local ml = require "modlab"

local data = assert(ml.dataset("synthetic", { kind = "spirals", size = 4000, noise = 0.1,
                                              seed = ml.arg("data_seed", 7) }))
local model = ml.sequential {
  ml.layer("linear", { out = 64 }),
  ml.layer("relu"),
  ml.layer("linear", { out = 64 }),
  ml.layer("relu"),
  ml.layer("linear", { out = 2 }),
}
local run = ml.train {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("sgd", { lr = ml.arg("lr", 0.05), momentum = 0.9 }),
  epochs = ml.arg("epochs", 20), batch = 32, seed = ml.arg("seed", 1),
}
print(("test accuracy %.4f"):format(run.summary.test_accuracy))
