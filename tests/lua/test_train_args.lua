-- SPDX-License-Identifier: MIT
-- ml.train's integer settings are exact whole numbers in range, or an error naming the
-- setting, its value and the range, before anything runs (issue 18: epochs = 1e99 never
-- ended; seeds -1, 1e300 and 2^64 trained like other seeds). Also ml.arg's exactness for
-- --set integers past 2^53, and the C side refusing a seed past 2^63 - 1.
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local ml = require "modlab"
local core = require "modlab.core"
local ffi, C = core.ffi, core.C

local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 64 }))
local out = os.getenv("MODLAB_RUNS") or "/tmp"
local function cfg(k, v)
  local c = { model = ml.sequential { ml.layer("linear", { out = 3 }) }, data = data,
              optimizer = ml.optimizer("sgd"), epochs = 1, batch = 8, quiet = true,
              out = out, save = false, valid = 0,
              -- so that a setting wrongly accepted fails fast instead of training for ever
              on_epoch = function(e) if e > 2 then error("trained past epoch 2", 0) end end }
  c[k] = v
  return c
end
local function refused(k, v, want, name)
  t.errors(function() ml.train(cfg(k, v)) end, want, name)
end

local W53, W63 = "a whole number in [1, 2^53]", "a whole number in [0, 2^63)"
refused("epochs", 1e99, "'epochs' must be " .. W53 .. "; got 1e+99", "epochs = 1e99")
refused("epochs", 2^53 + 2, "'epochs' must be " .. W53 .. "; got 9007199254740994",
        "epochs = 2^53 + 2 (whole, but past what Lua counts exactly)")
refused("epochs", 0, "'epochs' must be " .. W53 .. "; got 0", "epochs = 0")
refused("epochs", 1.5, "got 1.5", "epochs = 1.5")
refused("epochs", "5", "'epochs' must be " .. W53 .. "; got a string", "epochs = '5'")
refused("batch", 2^31, "'batch' must be a whole number in [1, 2147483647]; got 2147483648",
        "batch = 2^31 (the C side holds it in an int32)")
refused("eval_batch", 1e12, "'eval_batch' must be a whole number in [1, 2147483647]",
        "eval_batch = 1e12")
refused("seed", -1, "'seed' must be " .. W63 .. "; got -1", "seed = -1")
refused("seed", 1e300, "'seed' must be " .. W63 .. "; got 1e+300", "seed = 1e300")
refused("seed", 2^64, "got 1.8446744073709552e+19", "seed = 2^64")
refused("seed", 2^63, "got 9.223372036854776e+18", "seed = 2^63 (the bound itself)")
refused("seed", 0.5, "got 0.5", "seed = 0.5")
refused("seed", 0 / 0, "'seed' must be " .. W63 .. "; got nan", "seed = NaN")
refused("seed", math.huge, "got inf", "seed = inf")
refused("threads", 0, "'threads' must be a whole number in [1, 1024]; got 0", "threads = 0")
refused("threads", 1e9, "'threads' must be a whole number in [1, 1024]", "threads = 1e9")
refused("steps", 1e99, "'steps' (batches per epoch at most) must be " .. W53, "steps = 1e99")
refused("train_size", 2^60, "'train_size' (the number of training examples used) must be " .. W53,
        "train_size = 2^60")
refused("checkpoint_every", 1e99, "'checkpoint_every' (epochs between checkpoints) must be " ..
        W53, "checkpoint_every = 1e99")

-- The edges that are allowed train (and the largest seed a double holds below 2^63).
local ok1, r1 = pcall(ml.train, cfg("seed", 0))
t.ok(ok1 and r1.summary.status == "finished", "seed = 0 trains")
local ok2, r2 = pcall(ml.train, cfg("seed", 2^63 - 1024))
t.ok(ok2 and r2.summary.status == "finished", "seed = 2^63 - 1024 (the largest) trains")
if not ok2 then print("#   " .. tostring(r2)) end

-- ml.arg: a --set integer a double cannot hold exactly is refused, not rounded to a
-- neighbour (2^53 + 1 would train as seed 2^53); one it holds exactly is read exactly.
core.args = { seed = "9007199254740993", big = "4611686018427387904", lr = "0.1",
              neg = "-9223372036854775807", e = "1e99" }
t.errors(function() ml.arg("seed", 1) end,
         "--set seed=9007199254740993: not exactly representable", "ml.arg refuses 2^53 + 1")
t.ok(ml.arg("big", 1) == 2^62, "ml.arg reads 2^62 exactly")
t.errors(function() ml.arg("neg", 1) end, "not exactly representable",
         "ml.arg refuses -(2^63 - 1)")
t.ok(ml.arg("lr", 1) == 0.1, "ml.arg still reads fractions")
t.ok(ml.arg("e", 1) == 1e99, "ml.arg reads 1e99 as a number (ml.train judges the range)")
core.args = {}

-- The C side checks the seed it is handed (a uint64 from the FFI), never clamps it.
local m = C.ml_model_new(core.registry(), 0x8000000000000000ULL, core.err)
t.ok(m == nil, "ml_model_new refuses seed 2^63")
t.ok(core.errmsg():find("seed 9223372036854775808 is outside [0, 2^63)", 1, true) ~= nil,
     "naming the seed and the range")
m = C.ml_model_new(core.registry(), 0xFFFFFFFFFFFFFFFFULL, core.err)
t.ok(m == nil, "ml_model_new refuses what -1 becomes in a uint64")
m = C.ml_model_new(core.registry(), 0x7FFFFFFFFFFFFFFFULL, core.err)
t.ok(m ~= nil, "ml_model_new takes 2^63 - 1")
if m ~= nil then C.ml_model_free(m) end
t.done()
