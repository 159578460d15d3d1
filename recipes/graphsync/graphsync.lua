-- SPDX-License-Identifier: MIT
-- Issue 6: graph-synchronous layers with a modularity regulariser on 5,000 Fashion-MNIST
-- training examples (the overfitting regime). One run per call:
--   modlab run recipes/graphsync/graphsync.lua --set variant=spectral --set seed=1
-- variant: spectral | assign (graphsync with that regulariser), none (no regulariser),
-- random (a fixed random block mask), mlp (784-256-256-10 tanh, parameters matched).
-- Model: flatten -> graphsync(units 256, steps 4, modules 4, tanh) -> linear(10).
-- Training: Adam 1e-3, batch 128, `epochs` epochs; then every graphsync variant prunes
-- itself (prune_after = epochs x batches: hard modules, cross-module edges dropped, K block
-- GEMMs) and fine-tunes `finetune` more epochs. 10% of the full training split is held out
-- for validation before the 5,000 are drawn; settings were chosen on validation only.
-- Writes results.json (accuracies before/after pruning, module sizes, in-module |A| mass,
-- step and evaluation times) and adjacency_permuted.pgm into the run directory.
local ml = require "modlab"
local json = require "modlab.json"
local gsm = dofile(ml.here("modules.lua"))

local variant = ml.arg("variant", "spectral")
local seed = ml.arg("seed", 1)
local epochs, finetune = ml.arg("epochs", 30), ml.arg("finetune", 3)
local batch, train_size = ml.arg("batch", 128), ml.arg("train_size", 5000)
local units, steps, modules = ml.arg("units", 256), ml.arg("steps", 4), ml.arg("modules", 4)
local nbatches = math.ceil(train_size / batch)

local layers = { ml.layer("flatten") }
if variant == "mlp" then
  layers[#layers + 1] = ml.layer("linear", { out = units })
  layers[#layers + 1] = ml.layer("tanh")
  layers[#layers + 1] = ml.layer("linear", { out = units })
  layers[#layers + 1] = ml.layer("tanh")
  finetune = 0
else
  local o = { units = units, steps = steps, modules = modules, prune_after = epochs * nbatches,
              reg = variant == "random" and "none" or variant,
              balance = ml.arg("balance", 1.0) }
  if variant == "random" then o.mask = "random_blocks" end
  layers[#layers + 1] = ml.layer("graphsync", o)
end
layers[#layers + 1] = ml.layer("linear", { out = 10 })

-- The assignment logits get a larger learning rate: Adam moves each entry by about lr per
-- step, and at 1e-3 the soft assignment would stay near uniform for the whole run.
local groups
if variant == "assign" then
  groups = { { "graphsync.assign_logits", lr_scale = ml.arg("q_lr_scale", 30) } }
end
local run = ml.train {
  model = ml.sequential(layers), data = assert(ml.dataset("fashion-mnist")),
  loss = "cross_entropy", optimizer = ml.optimizer("adam", { lr = ml.arg("lr", 1e-3) }),
  epochs = epochs + finetune, batch = batch, seed = seed, normalize = true,
  train_size = train_size, aux_scale = ml.arg("aux_scale", 1.0), groups = groups,
  name = "graphsync-" .. variant,
}

-- Seconds per training step and per 1000 evaluated examples (valid + test, forward only),
-- averaged over the epochs of one phase; the first epoch of each phase is left out (warm-up,
-- and the prune step itself runs in the first fine-tune step).
local function phase_times(first, last)
  local rows = {}
  for line in io.lines(run.dir .. "/timing.jsonl") do
    local num = function(key) return tonumber(line:match('"' .. key .. '":%s*([-%d.eE+]+)')) end
    rows[#rows + 1] = { train_seconds = num("train_seconds"),
                        epoch_seconds = num("epoch_seconds") }
  end
  local step, eval, n = 0, 0, 0
  local nvalid = math.floor(60000 * 0.1)
  for e = first + 1, last do
    local r = rows[e]
    step = step + r.train_seconds / nbatches
    eval = eval + (r.epoch_seconds - r.train_seconds) / ((nvalid + 10000) / 1000)
    n = n + 1
  end
  if n == 0 then return nil end
  return step / n, eval / n
end

local h = run.history
local before, after = h[epochs], h[#h]
local res = {
  variant = variant, seed = seed, epochs = epochs, finetune = finetune,
  params = run.summary.params,
  train_size = train_size, aux_scale = ml.arg("aux_scale", 1.0),
  test_before = before.test_accuracy, valid_before = before.valid_accuracy,
  train_before = before.train_accuracy,
  gap_before = before.train_accuracy - before.test_accuracy,
  aux_before = before.aux_loss,
}
res.step_s_before, res.eval_s_per_1k_before = phase_times(1, epochs)
if finetune > 0 then
  res.test_after, res.valid_after = after.test_accuracy, after.valid_accuracy
  res.train_after = after.train_accuracy
  res.step_s_after, res.eval_s_per_1k_after = phase_times(epochs + 1, epochs + finetune)
  local st = gsm.stats(run.model)
  res.mass, res.sizes = st.mass, st.sizes
  assert(gsm.write_pgm(run.model, run.dir .. "/adjacency_permuted.pgm"))
end
local f = assert(io.open(run.dir .. "/results.json", "w"))
f:write(json.encode(res), "\n")
f:close()
print(("%s seed %d: test %.4f (valid %.4f, train %.4f) before pruning, %s after; "
       .. "in-module mass %s, sizes %s"):format(variant, seed, res.test_before,
  res.valid_before, res.train_before,
  res.test_after and ("%.4f"):format(res.test_after) or "-",
  res.mass and ("%.4f"):format(res.mass) or "-",
  res.sizes and table.concat(res.sizes, "/") or "-"))
