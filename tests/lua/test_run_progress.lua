-- SPDX-License-Identifier: MIT
-- The parts of a run's and a sweep's progress output that need no clock and no terminal
-- (tests/e2e/run_progress.sh runs the real thing): the ETA arithmetic, the whole run's
-- text at given clock readings, the bar drawn with and without a whole run, the model
-- table of a network with buffers, the short and verbose configuration, and a sweep's
-- live-line counts (retried failures, pruned trials, the best by the goal).
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local ml = require "modlab"
local progress = require "modlab.progress"
local summary = require "modlab.run_summary"
local live = require "modlab.sweep.live"

-- ETA: the rate so far applied to what is left.
t.ok(progress.eta(10, 2, 5) == 15, "2 of 5 units in 10 s: 15 s left")
t.ok(progress.eta(10, 0, 5) == nil, "nothing done: no ETA")
t.ok(progress.eta(10, 5, 5) == 0, "all done: 0 s left")

-- The whole run: epochs 3..6 after a resume (first = 3), clock readings given.
local r = progress.run({ epochs = 6, first = 3, start = 100 })
t.ok(r:text(3, 0.5, 110) == "elapsed 0:10  ETA 1:10  best -",
     "half of the first of 4 epochs in 10 s: 70 s left, no best yet: " .. r:text(3, 0.5, 110))
r:set_best("valid acc 0.9000 @4")
t.ok(r:text(4, 1, 140) == "elapsed 0:40  ETA 0:40  best valid acc 0.9000 @4",
     "2 of 4 epochs in 40 s: 40 s left, with the best: " .. r:text(4, 1, 140))
t.ok(r:text(6, 1, 200):find("ETA 0:00", 1, true) ~= nil, "the last epoch ended: ETA 0:00")

-- The bar on a "terminal": stderr swapped for a recorder.
local function drawn(opts)
  local got, real = {}, io.stderr
  io.stderr = { write = function(_, ...) for _, s in ipairs({ ... }) do got[#got + 1] = s end end,
                flush = function() end }
  local ok, err = pcall(function()
    local bar = progress.new(opts)
    bar.tty = true
    bar:update(5, "loss 1.0")
  end)
  io.stderr = real
  return ok and table.concat(got) or ("error: " .. tostring(err))
end
local plain = drawn({ label = "epoch 1/2", total = 10 })
t.ok(plain:find("^\repoch 1/2 %[=+ +%]  50%% loss 1.0 ETA %d+:%d%d\27%[K$") ~= nil,
     "a bar without a whole run: its own ETA (" .. plain:gsub("[\r\27]", "") .. ")")
local whole = drawn({ label = "epoch 1/2", total = 10, epoch = 1,
                      run = progress.run({ epochs = 2, first = 1 }) })
t.ok(whole:find("| elapsed %d+:%d%d  ETA %d+:%d%d  best %-\27%[K$") ~= nil,
     "a bar with the whole run: its elapsed time and ETA (" .. whole:gsub("[\r\27]", "") .. ")")

-- The model table: batchnorm's running statistics are parameters that do not train.
local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 32, dims = 5, classes = 3 }))
local model = ml.sequential { ml.layer("linear", { out = 4 }), ml.layer("batchnorm"),
                              ml.layer("relu"), ml.layer("linear", { out = 3 }) }
ml.trainer { model = model, data = data, optimizer = ml.optimizer("sgd", { lr = 0.1 }),
             batch = 8, valid = 0 }
local lines = summary.model_lines(model)
t.ok(#lines == 7, "a header, the input, 4 nodes and the total: " .. #lines .. " lines")
t.ok(lines[1]:match("^ *node +layer +output +params$") ~= nil, "the header: " .. lines[1])
t.ok(lines[2]:match("^input +%- +5 +%-$") ~= nil, "the input: " .. lines[2])
t.ok(lines[3]:match("^ +1 +linear +4 +24$") ~= nil, "linear 5->4: 24 (" .. lines[3] .. ")")
t.ok(lines[4]:match("^ +2 +batchnorm +4 +8$") ~= nil, "batchnorm: 8 that train (" .. lines[4] .. ")")
t.ok(lines[6]:match("^ +4 +linear +3 +15$") ~= nil, "linear 4->3: 15 (" .. lines[6] .. ")")
t.ok(lines[7] == "total: 47 trainable parameters (and 8 not trained)", lines[7])
t.ok(model:nparams() == 47, "the total is model:nparams()")
t.ok(summary.count_text(1234567) == "1,234,567" and summary.count_text(999) == "999",
     "counts with thousands separators")

-- The configuration.
local config = { dataset = "blobs", epochs = 3, batch = 8, seed = 2, blas_threads = 1,
                 optimizer = { name = "sgd", options = require("modlab.util.json").raw('{"lr":0.1}') },
                 loss = { name = "cross_entropy" } }
local short = summary.config_lines(config, "/runs/x", false)
t.ok(#short == 2 and short[1] == "config: dataset blobs, epochs 3, batch 8, optimizer sgd "
     .. "lr=0.1, seed 2, loss cross_entropy", "the short form: " .. short[1])
t.ok(short[2]:find("^run dir: /runs/x ") ~= nil, "... and the run directory")
local long = summary.config_lines(config, "/runs/x", true)
t.ok(#long == 2 + 7, "verbose: every key after the short form (" .. #long .. " lines)")
t.ok(long[3] == "  batch = 8" and long[4] == "  blas_threads = 1", "keys sorted: " .. long[3])

-- A sweep's live line, not on a terminal (quiet: nothing printed), no clock.
local plan = { metric = { name = "loss", goal = "minimize" },
               trials = { { id = "a" }, { id = "b" }, { id = "c" }, { id = "d" } } }
local st = { a = { status = "finished", final = { event = "finished", metric = 0.5 } } }
local clock = 0
local l = live.new(plan, st, 3, { quiet = true, tty = false, now = function() return clock end })
t.ok(l:text() == "sweep: 1 of 4 done, 0 running, 0 failed, 0 pruned, ETA -, best so far loss=0.5",
     "a resumed sweep: the done trial and its metric count: " .. l:text())
clock = 10
l.running = 2
l:ended({ event = "finished", metric = 0.7 })
t.ok(l:text() == "sweep: 2 of 4 done, 2 running, 0 failed, 0 pruned, ETA 0:20, best so far loss=0.5",
     "minimize: a worse trial keeps the best; 1 ended here in 10 s, 2 left: " .. l:text())
l:ended({ event = "pruned", metric = 0.1 })
l:ended({ event = "killed" })
t.ok(l:text():find("4 of 4 done, 2 running, 1 failed, 1 pruned, ETA 0:00, best so far loss=0.5", 1, true) ~= nil,
     "a pruned trial's value is not the best; a killed one counts as failed: " .. l:text())
local nometric = live.new({ trials = { { id = "a" } } }, {}, 1, { quiet = true, tty = false })
t.ok(not nometric:text():find("best", 1, true), "no metric: no best so far")
t.done()
