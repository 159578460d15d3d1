-- SPDX-License-Identifier: MIT
-- ml.train's hooks and stopping: ml.log puts a recipe's numbers into the epoch's metrics
-- row (from on_epoch and on_step), on_step runs after every batch, early_stop ends a run
-- whose metric stalls, keep_best writes the best validation epoch's model, and bad
-- settings are errors before anything trains.
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local ml = require "modlab"
local json = require "modlab.util.json"
local jsonl = require "modlab.util.jsonl"

local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 120, dims = 4, classes = 3,
                                            noise = 2 }))
local out = os.getenv("MODLAB_RUNS") or "/tmp"
local function cfg(extra)
  local c = { model = ml.sequential { ml.layer("linear", { out = 3 }) }, data = data,
              optimizer = ml.optimizer("sgd", { lr = 0.05 }), epochs = 4, batch = 20,
              quiet = true, out = out, seed = 2 }
  for k, v in pairs(extra) do c[k] = v end
  return c
end
local function rows(run) return (jsonl.values(run.dir .. "/metrics.jsonl")) end

local steps, seen_epochs = {}, {}
local run = ml.train(cfg {
  on_epoch = function(epoch) ml.log { hook_epoch = epoch * 10 } end,
  on_step = function(step, r)
    steps[#steps + 1] = step
    seen_epochs[r.epoch] = (seen_epochs[r.epoch] or 0) + 1
    ml.log { last_step = step, note = "step" .. step }
  end,
})
local m = rows(run)
t.ok(#m == 4 and m[1].hook_epoch == 10 and m[4].hook_epoch == 40,
     "ml.log from on_epoch lands in that epoch's row")
-- 108 training examples (10% held out) in batches of 20: 6 steps per epoch.
t.ok(#steps == 24 and steps[1] == 1 and steps[24] == 24 and seen_epochs[2] == 6,
     ("on_step after every batch, counting over the run (%d calls)"):format(#steps))
t.ok(m[2].last_step == 12 and m[2].note == "step12", "the last value logged in an epoch wins")
t.ok(m[3].hook_epoch == 30 and m[3].last_step == 18, "each row has only its own epoch's values")

t.errors(function() ml.log { x = 1 } end, "no ml.train is running", "ml.log outside a run")
for _, bad in ipairs({ { { valid_loss = 1 }, "written by ml.train itself" },
                       { { ["1x"] = 1 }, "is not a metric name" },
                       { { x = 0 / 0 }, "finite numbers" },
                       { { x = {} }, "finite numbers" } }) do
  t.errors(function()
    ml.train(cfg { epochs = 1, on_epoch = function() ml.log(bad[1]) end })
  end, bad[2], "ml.log refuses: " .. bad[2])
end

-- Early stopping on a metric that cannot improve: stops after `patience` epochs.
run = ml.train(cfg {
  epochs = 20,
  on_epoch = function() ml.log { flat = 1 } end,
  early_stop = { metric = "flat", patience = 2, mode = "min" },
})
t.ok(run.summary.epochs == 3 and run.summary.stopped_early == 3,
     ("a metric that never improves stops after 1 + patience epochs (%d, stopped %s)")
     :format(run.summary.epochs, tostring(run.summary.stopped_early)))
local s = json.decode(assert(io.open(run.dir .. "/summary.json")):read("*a"))
t.ok(s.status == "finished" and s.stopped_early == 3, "summary.json says so, and finished")
t.errors(function()
  ml.train(cfg { early_stop = { metric = "nope" } })
end, "the metrics row has no number 'nope'", "a misspelt early_stop metric is an error")
t.errors(function() ml.train(cfg { early_stop = { patience = 0 } }) end,
         "early_stop.patience is a whole number", "patience 0")
t.errors(function() ml.train(cfg { early_stop = { metric = "valid_loss", wait = 2 } }) end,
         "unknown field 'wait'", "an unknown early_stop field")

-- keep_best: best.safetensors is the model of the best validation epoch.
run = ml.train(cfg { epochs = 5, keep_best = true })
local f = io.open(run.dir .. "/best.safetensors", "rb")
t.ok(f ~= nil and run.summary.best_model == "best.safetensors", "keep_best writes best.safetensors")
if f then f:close() end
local best = ml.evaluate { model = ml.sequential { ml.layer("linear", { out = 3 }) },
                           data = data, split = "test", checkpoint = run.dir .. "/best.safetensors" }
local at_best = run.history[run.summary.best_valid_epoch].test_loss
t.near(best.loss, at_best, 1e-5, ("the best model scores its epoch's test loss (%.5f, %.5f)")
       :format(best.loss, at_best))
t.errors(function() ml.train(cfg { keep_best = "yes" }) end, "'keep_best' is true",
         "keep_best must be a boolean")
-- eval_every: a validation pass every N training steps, into steps.jsonl.
run = ml.train(cfg { epochs = 2, eval_every = 4 })
local ev = jsonl.values(run.dir .. "/steps.jsonl")
local at = {}
for i, r in ipairs(ev) do at[i] = ("%d@%d"):format(r.step, r.epoch) end
t.ok(table.concat(at, " ") == "4@1 8@2 12@2",
     "eval_every = 4 over 2 x 6 steps: evaluations at steps 4, 8, 12 (" .. table.concat(at, " ") .. ")")
t.ok(#ev == 3 and type(ev[3].valid_loss) == "number" and type(ev[3].valid_accuracy) == "number",
     "each with the validation loss and accuracy")
t.near(ev[3].valid_loss, run.history[2].valid_loss, 1e-9,
       "the last one, at the end of epoch 2, is that epoch's validation loss")
t.errors(function() ml.train(cfg { eval_every = 0 }) end, "'eval_every' (training steps between "
         .. "evaluations) must be a whole number in [1, 2^53]", "eval_every = 0")
t.done()
