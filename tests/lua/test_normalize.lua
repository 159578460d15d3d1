-- SPDX-License-Identifier: MIT
-- ml.train{normalize = true}: statistics come from the training examples only, and every
-- split is transformed with them; without it a reused dataset reads raw again.
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local ml = require "modlab"
local core = require "modlab.core"
local ffi, C = core.ffi, core.C

local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 500, dims = 3, noise = 2 }))
local function moments(split)
  local ds = assert(data:split(split))
  local n = tonumber(C.ml_dataset_info(ds).size)
  local idx = ffi.new("int64_t[?]", n)
  for i = 0, n - 1 do idx[i] = i end
  local mean, std = ffi.new("double[1]"), ffi.new("double[1]")
  -- Read through the dataset handle (normalised if set) and measure.
  local x, y = ffi.new("float[?]", n * 3), ffi.new("float[?]", n)
  assert(C.ml_dataset_read(ds, idx, n, x, y, core.err) == 0)
  local s, sq = 0, 0
  for i = 0, n * 3 - 1 do s = s + x[i]; sq = sq + x[i] * x[i] end
  local mu = s / (n * 3)
  return mu, math.sqrt(sq / (n * 3) - mu * mu)
end

local raw_mu, raw_sd = moments("train")
t.ok(math.abs(raw_mu) > 0.05 or math.abs(raw_sd - 1) > 0.05, "raw data is not standardised")
local run = ml.train {
  model = ml.sequential { ml.layer("linear", { out = 3 }) }, data = data, epochs = 1,
  batch = 50, optimizer = ml.optimizer("sgd", { lr = 0.01 }), normalize = true, valid = 0,
  quiet = true, out = os.getenv("MODLAB_RUNS") or "/tmp", save = false,
}
local mu, sd = moments("train")
t.near(mu, 0, 1e-4, "normalised training data has mean 0")
t.near(sd, 1, 1e-4, "and standard deviation 1")
local tmu = moments("test")
t.ok(math.abs(tmu) < 0.5 and tmu ~= 0, "test data uses the training statistics (mean near, not at, 0)")
t.ok(run.summary.status == "finished", "the run finished")
ml.train {
  model = ml.sequential { ml.layer("linear", { out = 3 }) }, data = data, epochs = 1,
  batch = 50, optimizer = ml.optimizer("sgd", { lr = 0.01 }), valid = 0, quiet = true,
  out = os.getenv("MODLAB_RUNS") or "/tmp", save = false,
}
local mu2 = moments("train")
t.near(mu2, raw_mu, 1e-6, "a later run without normalize reads raw data again")
t.done()
