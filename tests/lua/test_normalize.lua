-- SPDX-License-Identifier: MIT
-- ml.train{normalize = true}: statistics come from the training examples only; the model
-- applies them (the datasets stay raw) and keeps them in its checkpoint, so a reloaded
-- model, in a new model object or through ml.evaluate{checkpoint=}, scores what the run
-- scored; without normalize a later run has none. ml.evaluate refuses unknown settings.
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local ml = require "modlab"

local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 500, dims = 3, noise = 2 }))
local out = os.getenv("MODLAB_RUNS") or "/tmp"
-- Mean and standard deviation of a split's raw values (all features together).
local function moments(split)
  local n = assert(data:info(split)).size
  local x = data:read(split, 0, n)
  local s, sq = 0, 0
  for i = 0, n * 3 - 1 do s = s + x[i]; sq = sq + x[i] * x[i] end
  local mu = s / (n * 3)
  return mu, math.sqrt(sq / (n * 3) - mu * mu)
end
local function net() return ml.sequential { ml.layer("linear", { out = 3 }) } end

local raw_mu, raw_sd = moments("train")
t.ok(math.abs(raw_mu) > 0.05 or math.abs(raw_sd - 1) > 0.05, "raw data is not standardised")
local model = net()
local run = ml.train {
  model = model, data = data, epochs = 3, batch = 50, valid = 0, quiet = true, out = out,
  optimizer = ml.optimizer("sgd", { lr = 0.05 }), normalize = true,
}
local n = model:normalization()
t.ok(n and #n.mean == 1, "the model holds the normalisation (one channel for flat inputs)")
t.near(n and n.mean[1], raw_mu, 1e-4, "its mean is the training examples' mean")
t.near(n and n.std[1], raw_sd, 1e-4, "its std is theirs")
local test_mu = moments("test")
t.ok(n and math.abs(n.mean[1] - test_mu) > 1e-6, "it is not the test split's")
local mu2 = moments("train")
t.near(mu2, raw_mu, 1e-9, "the dataset itself still reads raw")

-- A reload in a fresh model object scores the run's test loss (not the raw inputs' one).
local fresh = net()
local ev = ml.evaluate { model = fresh, data = data, split = "test",
                         checkpoint = run.dir .. "/model.safetensors" }
t.near(ev.loss, run.summary.test_loss, 1e-5,
       ("ml.evaluate{checkpoint} scores as the run did (%.5f, %.5f)"):format(ev.loss,
         run.summary.test_loss))
t.ok(fresh:normalization() and fresh:normalization().mean[1] == n.mean[1],
     "the loaded model brings the statistics")

-- Without normalize: no statistics, raw inputs.
local plain = net()
ml.train { model = plain, data = data, epochs = 1, batch = 50, valid = 0, quiet = true,
           out = out, optimizer = ml.optimizer("sgd", { lr = 0.01 }) }
t.ok(plain:normalization() == nil, "a run without normalize has no statistics")
t.errors(function()
  ml.evaluate { model = net(), data = data, normalize = true }
end, "ml.evaluate: unknown setting 'normalize'", "ml.evaluate refuses settings it does not know")
t.done()
