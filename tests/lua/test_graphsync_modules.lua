-- SPDX-License-Identifier: MIT
-- graphsync on a small fast problem (4 Gaussian blobs in 16-D): with the spectral
-- regulariser the graph falls into balanced modules (>= 95% of |A| inside modules, every
-- module within 25% of N/K units when the layer prunes itself); without it the graph has
-- no modules (its mass inside any K-way clustering stays near 1/K). Module sizes without
-- the regulariser are whatever the clustering of a structureless graph gives (here they
-- happen to be balanced), so they are printed, not asserted.
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local ml = require "modlab"
local gsm = dofile(os.getenv("top_srcdir") .. "/recipes/graphsync/modules.lua")

local N, K, EPOCHS, BATCH, SIZE = 32, 4, 15, 50, 1000
local data = assert(ml.dataset("synthetic", { kind = "blobs", size = SIZE, dims = 16,
                                              classes = 4, noise = 1.5 }))
local function train(reg)
  local model = ml.sequential {
    ml.layer("graphsync", { units = N, steps = 2, modules = K, reg = reg, balance = 5,
                            prune_after = EPOCHS * SIZE / BATCH }),
    ml.layer("linear", { out = 4 }),
  }
  local run = ml.train { model = model, data = data, epochs = EPOCHS + 1, batch = BATCH,
    optimizer = ml.optimizer("adam", { lr = 1e-2 }), aux_scale = 10, valid = 0, quiet = true,
    save = false, out = os.getenv("MODLAB_RUNS") or "/tmp", seed = 3 }
  return gsm.stats(model), run
end

local function balanced(sizes)
  for _, s in ipairs(sizes) do
    if math.abs(s - N / K) > 0.25 * N / K then return false end
  end
  return #sizes == K
end

for _, reg in ipairs({ "spectral", "assign", "none" }) do
  local st, run = train(reg)
  local sizes = table.concat(st.sizes or {}, ",")
  print(("# reg=%s: in-module mass %.4f, module sizes %s, final accuracy %.3f"):format(
    reg, st.mass or -1, sizes, run.summary.train_accuracy or -1))
  t.ok(st.pruned, reg .. ": the layer pruned itself after prune_after steps")
  t.ok(run.summary.train_accuracy > 0.8, reg .. ": it learned the task")
  if reg == "none" then
    t.ok(st.mass < 0.95, ("none: in-module mass %.3f stays below 0.95"):format(st.mass))
  else
    t.ok(st.mass >= 0.95, ("%s: in-module mass %.3f >= 0.95"):format(reg, st.mass))
    t.ok(balanced(st.sizes), ("%s: every module within 25%% of N/K (%s)"):format(reg, sizes))
  end
end
t.done()
