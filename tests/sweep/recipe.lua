-- SPDX-License-Identifier: MIT
-- A tiny sweep test recipe: reads the parameters of wandb_example.yaml and the sweep tests,
-- trains a small MLP on 400 spiral points, and can fail, crash or sleep on request.
local ml = require "modlab"
local ffi = require "ffi"
pcall(ffi.cdef, "int kill(int pid, int sig); int getpid(void);")

local what = ml.arg("fail", "no")
if what == "error" then error("the recipe was asked to fail") end
if what == "crash" then ffi.C.kill(ffi.C.getpid(), 9) end
if what == "once" then   -- fail while the marker file exists, removing it
  local marker = ml.arg("marker", "")
  if os.remove(marker) then error("failing once: removed " .. marker) end
else
  ml.arg("marker", "")
end
local sleep = ml.arg("sleep", 0)
if sleep > 0 then os.execute("sleep " .. sleep) end

local width = ml.arg("model.width", 16)
local layers = {}
for _ = 1, ml.arg("model.depth", 1) do
  layers[#layers + 1] = ml.layer("linear", { out = math.floor(width) })
  ml.arg("model.activation", "relu")   -- read (the test sweeps vary it), one kind here
  layers[#layers + 1] = ml.layer("relu")
end
layers[#layers + 1] = ml.layer("linear", { out = 2 })
local data = assert(ml.dataset("synthetic", { kind = "spirals", size = ml.arg("size", 400),
                                              noise = ml.arg("noise", 0.1), seed = 7 }))
-- A slow epoch (for early-termination and kill tests): the schedule hook runs every epoch.
local epoch_sleep = ml.arg("epoch_sleep", 0)
local slow = epoch_sleep > 0 and { factor = function()
  os.execute("sleep " .. epoch_sleep)
  return 1
end } or nil
local run = ml.train {
  model = ml.sequential(layers), data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("sgd", { lr = ml.arg("optimizer.lr", 0.05),
                                    momentum = ml.arg("optimizer.momentum", 0.9) }),
  epochs = ml.arg("epochs", 3), batch = ml.arg("batch", 32), seed = ml.arg("seed", 1),
  save = false, schedule = slow,
}
print(("test accuracy %.4f"):format(run.summary.test_accuracy))
