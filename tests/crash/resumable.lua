-- SPDX-License-Identifier: MIT
-- A small run with every kind of state a resumed run must restore: dropout (the forward
-- count seeds it), Adam (two state planes and a step count), a plateau schedule (its own
-- state, fed by the history), a parameter group. For tests/crash_safety.sh.
local ml = require "modlab"

local data = assert(ml.dataset("synthetic", { kind = "spirals", size = 2000, noise = 0.1,
                                              seed = 7 }))
local model = ml.sequential {
  ml.layer("linear", { out = ml.arg("units", 32) }),
  ml.layer("relu"),
  ml.layer("dropout", { p = 0.1 }),
  ml.layer("linear", { out = 2 }),
}
local run = ml.train {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("adam", { lr = ml.arg("lr", 0.01) }),
  schedule = ml.schedule("plateau", { patience = 0, factor = 0.5, metric = "train_loss" }),
  groups = { { "3.linear", lr_scale = 0.5 } },
  epochs = ml.arg("epochs", 5), batch = 32, seed = ml.arg("seed", 1),
  checkpoint_every = ml.arg("checkpoint_every", 1), checkpoint = ml.arg("checkpoint", true),
}
print(("final train_loss %.17g test_accuracy %.17g"):format(run.summary.train_loss,
                                                            run.summary.test_accuracy))
if ml.arg("train_twice", false) then   -- a recipe that --resume cannot continue
  ml.train { model = ml.sequential { ml.layer("linear", { out = 2 }) }, data = data,
             optimizer = ml.optimizer("sgd", {}), epochs = 1, batch = 32 }
end
