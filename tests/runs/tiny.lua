-- SPDX-License-Identifier: MIT
-- A tiny training run for tests/run_dirs.sh, run_failures.sh and run_signals.sh.
-- --set gate=PATH: released at one instant with the other runs of the test (--set runs=N,
-- each with its own seed): a barrier of files PATH.ready.SEED. Then, to give a check-then-
-- create of the run directory (exists() then mkdir) its widest race, each run's first look
-- at a run directory name (io.open of ".../tiny-<stamp>...") returns only once every run
-- has looked (PATH.looked.SEED). An exclusive mkdir does not look, so it never waits there.
-- epochs, seed, size, checkpoint, save: as usual.
local ml = require "modlab"

local gate, seed = ml.arg("gate", ""), ml.arg("seed", 1)
if gate ~= "" then
  local C, open, nruns = require("modlab.core").C, io.open, ml.arg("runs", 4)
  local function barrier(prefix)
    assert(open(prefix .. seed, "w")):close()
    local n
    repeat
      n = 0
      for i = 1, nruns do
        local f = open(prefix .. i, "r")
        if f then f:close() n = n + 1 end
      end
      if n < nruns then C.ml_sleep(0.002) end
    until n == nruns
  end
  barrier(gate .. ".ready.")
  local looked = false
  io.open = function(path, mode)
    local f, err = open(path, mode)
    if not looked and (mode or "r") == "r" and path:find("/tiny%-%d+%-%d+") then
      looked = true
      barrier(gate .. ".looked.")
    end
    return f, err
  end
end
local data = assert(ml.dataset("synthetic", { kind = "spirals", size = ml.arg("size", 400),
                                              seed = 3 }))
local run = ml.train {
  model = ml.sequential { ml.layer("linear", { out = 16 }), ml.layer("relu"),
                          ml.layer("linear", { out = 2 }) },
  data = data, optimizer = ml.optimizer("adam", { lr = 0.01 }),
  epochs = ml.arg("epochs", 2), batch = 16, seed = seed, name = "tiny",
  checkpoint = ml.arg("checkpoint", true), save = ml.arg("save", true),
}
print(("final train_loss %.17g"):format(run.summary.train_loss))
