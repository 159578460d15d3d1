-- SPDX-License-Identifier: MIT
-- Switcher networks (Han et al. 2021) on Fashion-MNIST: an MLP 784-300-100-10 whose three
-- dense layers are switchers with `neurons` gates, against the same MLP without gates,
-- same epochs, same optimizer (SGD lr 0.1, batch 64), plain cross-entropy, no sparsity term.
--   modlab run recipes/switcher/mlp.lua --set gated=true --set seed=1 --set epochs=6
-- Gated schedule (switcher_lib.schedule): `warmup` epochs with the gates off, then task and
-- switcher epochs alternate (task first). 10% of the training set is the validation split;
-- the numbers reported are the last epoch's (fixed budget, nothing chosen on test).
-- With gated=true it also writes, into the run directory: switcher.json (zero-gate
-- fraction per layer, weights left, the exported pruned MLP's widths and its agreement with
-- the gated network on the test split), pruned.safetensors (the pruned MLP, an ordinary
-- model) and gates0.pgm (the first layer's 784 input gates as a 28x28 image).
local ml = require "modlab"
local sw = dofile(ml.here("switcher_lib.lua"))
local json = require "modlab.json"

local gated = ml.arg("gated", true)
local epochs, seed = ml.arg("epochs", 6), ml.arg("seed", 1)
local data = assert(ml.dataset("fashion-mnist"))

local function dense(out)
  if not gated then return ml.layer("linear", { out = out }) end
  return ml.layer("switcher", { out = out, gate = "neurons", depth = ml.arg("depth", 2),
                                base_channels = ml.arg("base_channels", 4) })
end
local model = ml.sequential {
  ml.layer("flatten"),
  dense(300), ml.layer("relu"),
  dense(100), ml.layer("relu"),
  dense(10),
}
-- After every gated epoch (checked at the start of the next one and at the end), the
-- zero-gate fractions of that epoch's network go to switcher_epochs.jsonl, so a run cut
-- short still says what each finished epoch did.
local schedule = sw.schedule { warmup = ml.arg("warmup", 1) }
local last_phase
local function log_epoch(r, epoch)
  if not last_phase or last_phase == "warmup" then return end
  sw.refresh_gates(r.model)
  local h = r.history[epoch]
  local f = assert(io.open(r.dir .. "/switcher_epochs.jsonl", "a"))
  f:write(json.encode({ epoch = epoch, phase = last_phase, valid_accuracy = h.valid_accuracy,
                        test_accuracy = h.test_accuracy, layers = sw.report(r.model) }), "\n")
  f:close()
end
local hook_run
local function on_epoch(epoch, r)
  hook_run = r
  if epoch > 1 then
    local ok, err = pcall(log_epoch, r, epoch - 1)
    if not ok then print("switcher: epoch report failed: " .. tostring(err)) end
  end
  last_phase = schedule(epoch, r)
  return last_phase
end

local run = ml.train {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("sgd", { lr = 0.1 }),
  epochs = epochs, batch = 64, seed = seed, valid = 0.1,
  on_epoch = gated and on_epoch or nil,
  name = gated and "switcher-mlp" or "plain-mlp",
}
local s = run.summary
print(("final epoch: valid %.4f test %.4f (best valid epoch %d: test %.4f)"):format(
  s.valid_accuracy, s.test_accuracy, s.best_valid_epoch, s.test_accuracy_at_best_valid))
if not gated then return end

log_epoch(hook_run, epochs)
sw.refresh_gates(model)
local report = sw.report(model)
local pruned, widths = sw.export(ml, model, seed)
local cmp = sw.compare(data, "test", model, pruned)
local ev = ml.evaluate { model = pruned, data = data, split = "test" }
assert(pruned:save(run.dir .. "/pruned.safetensors"))
for _, r in ipairs(report) do
  print(("%s: %d/%d gates zero (%.4f), weights left %d of %d"):format(r.layer, r.zero, r.gates,
    r.zero_fraction, r.weights_left, r.weights))
end
print(("pruned MLP widths %s, %d nonzero weights; test accuracy %.4f; same argmax on %d/%d, "
  .. "max |logit diff| %.3g"):format(table.concat(widths, "-"), sw.nonzero_weights(pruned),
  ev.accuracy, cmp.same_argmax, cmp.examples, cmp.max_abs_diff))

-- The first layer's gates as a 28x28 PGM (0 black; the largest gate white).
local g = model:param(report[1].layer .. ".gate"):values()
local gmax = 0
for i = 1, 784 do gmax = math.max(gmax, g[i]) end
local f = assert(io.open(run.dir .. "/gates0.pgm", "w"))
f:write(("P2\n# first-layer gates, max %.6g\n28 28\n255\n"):format(gmax))
for r = 0, 27 do
  local row = {}
  for c = 0, 27 do
    row[#row + 1] = gmax > 0 and math.floor(255 * g[r * 28 + c + 1] / gmax + 0.5) or 0
  end
  f:write(table.concat(row, " "), "\n")
end
f:close()
local out = { seed = seed, epochs = epochs, valid_accuracy = s.valid_accuracy,
              test_accuracy = s.test_accuracy, layers = report, pruned_widths = widths,
              pruned_nonzero_weights = sw.nonzero_weights(pruned),
              pruned_test_accuracy = ev.accuracy, agreement = cmp }
local jf = assert(io.open(run.dir .. "/switcher.json", "w"))
jf:write(json.encode(out), "\n")
jf:close()
