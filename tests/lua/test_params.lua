-- SPDX-License-Identifier: MIT
-- Parameters from Lua (model:params, model:param): names, shapes and kinds; bounds-checked
-- get/set of values and gradients; bulk copies to and from tables and ml.floats; freezing
-- by pattern in ml.trainer and ml.train; and a custom loop of ml.trainer's pieces that
-- trains exactly as ml.train's own step does.
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local ml = require "modlab"

local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 96, dims = 5, classes = 3 }))
local L = ml.layer
local function net()
  return ml.sequential { L("linear", { out = 4 }), L("batchnorm"), L("relu"),
                         L("linear", { out = 3 }) }
end
local function trainer(model, extra)
  local c = { model = model, data = data, optimizer = ml.optimizer("sgd", { lr = 0.1 }),
              batch = 16, seed = 3, valid = 0 }
  for k, v in pairs(extra or {}) do c[k] = v end
  return ml.trainer(c)
end

local model = net()
t.errors(function() model:params() end, "build it first", "params before build: an error")
local tr = trainer(model)
local ps = model:params()
local names = {}
for i, p in ipairs(ps) do names[i] = p.name end
t.ok(table.concat(names, " ") == "0.linear.weight 0.linear.bias 1.batchnorm.weight "
     .. "1.batchnorm.bias 1.batchnorm.running_mean 1.batchnorm.running_var 3.linear.weight "
     .. "3.linear.bias", "names in order: " .. table.concat(names, " "))
local w = model:param("0.linear.weight")
t.ok(w and w.numel == 20 and w.shape[1] == 4 and w.shape[2] == 5 and w.trainable,
     "shape {4, 5}, 20 values, trainable")
local rm = model:param("1.batchnorm.running_mean")
t.ok(rm and rm.buffer and not rm.trainable, "running statistics are buffers, not trained")
t.ok(#model:params(".linear.") == 4, "a pattern selects by plain substring")
t.ok(model:param("nope") == nil, "an unknown name is nil")

w:set(1, 0.25)
t.ok(w:get(1) == 0.25, "set then get, 1-based")
t.errors(function() w:get(0) end, "0.linear.weight: index 0 is outside 1..20", "index 0")
t.errors(function() w:get(21) end, "index 21 is outside 1..20", "index past the end")
t.errors(function() w:set(1.5, 1) end, "index 1.5 is outside", "a fractional index")
t.errors(function() w:set(1, "x") end, "values are numbers", "a non-number value")
t.errors(function() rm:grad(1) end, "has no gradient", "a buffer has no gradient")
local v = w:values()
t.ok(#v == 20 and v[1] == 0.25, "values() copies all 20")
for i = 1, 20 do v[i] = i / 100 end
w:set_values(v)
t.ok(math.abs(w:get(20) - 0.2) < 1e-7, "set_values from a table")
t.errors(function() w:set_values({ 1, 2 }) end, "2 values given, it has 20", "a short table")
local buf = w:copy_to(ml.floats(20))
buf[0] = 9
w:set_values(buf)
t.ok(w:get(1) == 9, "copy_to and set_values with an ml.floats array")

-- Freezing by pattern: the first linear layer keeps its values through training steps.
local frozen = net()
local ft = trainer(frozen, { freeze = { "0.linear." } })
local before = frozen:param("0.linear.weight"):values()
local last_before = frozen:param("3.linear.weight"):values()
for _ in ft:batches("train", 1) do ft:train_batch() end
local same, moved = true, false
for i, x in ipairs(frozen:param("0.linear.weight"):values()) do same = same and x == before[i] end
for i, x in ipairs(frozen:param("3.linear.weight"):values()) do
  moved = moved or x ~= last_before[i]
end
t.ok(same and moved, "freeze = {'0.linear.'}: that layer stays, the last one trains")
t.errors(function() trainer(net(), { freeze = { "no.such" } }) end, "matches no trainable",
         "freezing a pattern that matches nothing is an error")

-- The pieces and the whole step train the same model to the same bits.
local a, b = net(), net()
local ta, tb = trainer(a), trainer(b)
for epoch = 1, 2 do
  for _ in ta:batches("train", epoch) do ta:train_batch() end
  for _ in tb:batches("train", epoch) do
    tb:zero_grad(); tb:forward(); tb:loss(); tb:backward(); tb:step()
  end
end
local equal = true
for i, p in ipairs(a:params()) do
  local q = b:params()[i]:values()
  for j, x in ipairs(p:values()) do equal = equal and x == q[j] end
end
t.ok(equal, "a loop of forward, loss, backward, step equals train_batch, bit for bit")
local sa, sb = ta:take_stats(), tb:take_stats()
t.ok(sa and sb and sa.loss == sb.loss and sa.steps == 12,
     ("and the same training loss (%.6f, %.6f over %d steps)"):format(sa.loss, sb.loss,
       sa.steps))
t.errors(function()
  local fresh = trainer(net())
  fresh:loss()
end, "no batch loaded", "the loss before any batch: an error")
t.errors(function()
  local fresh = trainer(net())
  for _ in fresh:batches("train", 1) do fresh:loss() end
end, "needs a forward pass", "the loss before the forward: an error")
t.errors(function() trainer(net()):batches("nope") end, "no split 'nope'", "an unknown split")
t.errors(function() ml.trainer { model = net(), data = data, optimizer = ml.optimizer("sgd") } end,
         "'batch' (the training batch size) is required", "ml.trainer needs a batch size")
t.errors(function() trainer(net(), { epochs = 3 }) end, "ml.trainer: unknown setting 'epochs'",
         "the loop's settings are not the trainer's")
local ev = ta:evaluate("test")
t.ok(ev.accuracy and ev.accuracy > 0.5, ("evaluate('test') %.3f"):format(ev.accuracy or -1))
t.done()
