-- SPDX-License-Identifier: MIT
-- A small CNN on Fashion-MNIST: conv5x5-32, ReLU, maxpool2 -> conv5x5-64, ReLU, maxpool2
-- -> fc 1024 -> fc 10, Adam 1e-3, batch 64.
--   modlab run recipes/fashion_cnn.lua [--set epochs=10] [--set lr=0.001] [--set seed=1]
-- Settings were chosen on the 10% validation split, never on the test split.
local ml = require "modlab"

local data = assert(ml.dataset("fashion-mnist"))
local model = ml.sequential {
  ml.layer("conv2d", { out = 32, kernel = 5, padding = 2 }), ml.layer("relu"),
  ml.layer("maxpool2d", { kernel = 2, stride = 2 }),
  ml.layer("conv2d", { out = 64, kernel = 5, padding = 2 }), ml.layer("relu"),
  ml.layer("maxpool2d", { kernel = 2, stride = 2 }),
  ml.layer("flatten"),
  ml.layer("linear", { out = 1024 }), ml.layer("relu"),
  ml.layer("dropout", { p = ml.arg("dropout", 0.5) }),
  ml.layer("linear", { out = 10 }),
}
local epochs = ml.arg("epochs", 10)
local run = ml.train {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("adam", { lr = ml.arg("lr", 1e-3) }),
  schedule = ml.schedule("cosine", { t_max = epochs }),
  epochs = epochs, batch = ml.arg("batch", 64), seed = ml.arg("seed", 1),
  normalize = true, name = "fashion_cnn",
}
print(("test accuracy %.4f"):format(run.summary.test_accuracy))
