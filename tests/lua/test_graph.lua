-- SPDX-License-Identifier: MIT
-- The graph API from a recipe: ml.residual, ml.concat and ml.graph build and train, nest,
-- tie weights when a layer spec is used twice, describe themselves in config.json, and wrong
-- graphs are errors naming the node and the recipe line before anything trains.
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local ml = require "modlab"
local json = require "modlab.util.json"
local file = require "modlab.util.file"

local data = assert(ml.dataset("synthetic", { kind = "blobs", size = 96, dims = 6, classes = 3 }))
local out = os.getenv("MODLAB_RUNS") or "/tmp"
local function train(model, extra)
  local c = { model = model, data = data, optimizer = ml.optimizer("adam", { lr = 0.01 }),
              epochs = 3, batch = 16, quiet = true, out = out, valid = 0, seed = 1 }
  for k, v in pairs(extra or {}) do c[k] = v end
  return ml.train(c)
end
local L = ml.layer

-- A residual inside a concat inside a sequential.
local nested = ml.sequential {
  L("linear", { out = 8 }), L("relu"),
  ml.concat { ml.residual { L("linear", { out = 8 }), L("tanh") }, L("linear", { out = 4 }) },
  L("linear", { out = 3 }),
}
local run = train(nested)
t.ok(run.summary.test_accuracy > 0.6,
     ("nested residual in concat in sequential trains (test accuracy %.3f)")
     :format(run.summary.test_accuracy))
t.ok(nested:nparams() == (6 * 8 + 8) + (8 * 8 + 8) + (8 * 4 + 4) + (12 * 3 + 3),
     "its parameters: the concat has 8 + 4 = 12 features (" .. nested:nparams() .. ")")
local cfg = json.decode(assert(file.read(run.dir .. "/config.json")))
local conc = cfg.model.sequential and cfg.model.sequential[3].concat
t.ok(conc and conc[1].residual and conc[1].residual.shortcut == "identity",
     "config.json describes the nesting (concat -> residual, identity shortcut)")

-- A projection shortcut is a layer list.
local proj = ml.sequential { ml.residual({ L("linear", { out = 5 }), L("relu") },
                                         { L("linear", { out = 5, bias = false }) }),
                             L("linear", { out = 3 }) }
run = train(proj)
t.ok(proj:nparams() == (6 * 5 + 5) + 6 * 5 + (5 * 3 + 3), "projection shortcut has its weights")

-- ml.graph, a tied layer and two merges.
local shared = L("linear", { out = 6 })
local g = ml.graph(function(x)
  local a = shared(x)
  local b = shared(L("tanh")(a))
  local gate = L("sigmoid")(L("linear", { out = 6 })(x))
  return L("linear", { out = 3 })(L("add", { scale = 0.5 }) { L("mul") { b, gate }, a })
end)
run = train(g)
t.ok(g:nparams() == (6 * 6 + 6) * 2 + (6 * 3 + 3),
     "the layer used twice has one set of weights (" .. g:nparams() .. " parameters)")
t.ok(run.summary.test_accuracy > 0.5, ("ml.graph trains (%.3f)"):format(run.summary.test_accuracy))

-- The same chain as ml.sequential and as ml.graph: the same run, bit for bit.
local function chain() return { L("linear", { out = 7 }), L("relu"), L("linear", { out = 3 }) } end
local seq_run = train(ml.sequential(chain()))
local c = chain()
local graph_run = train(ml.graph(function(x) return c[3](c[2](c[1](x))) end))
t.ok(seq_run.summary.test_loss == graph_run.summary.test_loss,
     ("a chain as ml.graph is the chain (test loss %.6f and %.6f)")
     :format(seq_run.summary.test_loss, graph_run.summary.test_loss))

-- Several outputs: a main and an auxiliary head, each with its loss and weight.
local function two_heads()
  return ml.graph(function(x)
    local h = L("relu")(L("linear", { out = 8 })(x))
    return { L("linear", { out = 3 })(h), L("linear", { out = 3 })(h) }
  end)
end
local heads = two_heads()
run = train(heads, { loss = { "cross_entropy", ml.loss("cross_entropy") },
                     loss_weights = { 1, 0.5 } })
t.ok(run.summary.test_accuracy > 0.6, ("a two-headed graph trains (%.3f)")
     :format(run.summary.test_accuracy))
local hcfg = json.decode(assert(file.read(run.dir .. "/config.json")))
t.ok(hcfg.head_losses and hcfg.head_losses[1] == "cross_entropy" and
     hcfg.model.graph.outputs and #hcfg.model.graph.outputs == 2,
     "config.json records both outputs and the head's loss")
t.errors(function() train(two_heads(), { loss = { "cross_entropy" } }) end,
         "1 losses given for a model with 2 outputs", "one loss listed for two outputs")
t.errors(function() train(two_heads(), { loss_weights = { 0.5, 1 } }) end,
         "the main output's weight is 1", "the main weight is fixed")
t.errors(function()
  train(ml.sequential { L("linear", { out = 4 }), two_heads() })
end, "several outputs must be the model itself", "a two-headed graph inside a container")

-- Wrong graphs: errors with the recipe line, before training.
local this = debug.getinfo(1, "S").short_src
local function wrong(fn, want, name)
  local ok, msg = pcall(fn)
  t.ok(not ok and tostring(msg):find(want, 1, true) and tostring(msg):find(this, 1, true),
       name .. (ok and "" or (" (" .. tostring(msg):gsub("\n.*", "") .. ")")))
end
wrong(function()
  train(ml.graph(function(x)
    local a = L("linear", { out = 4 })(x)
    local b = L("linear", { out = 5 })(x)
    local s = L("add") { a, b }
    return s
  end))
end, "add: input 2 has shape {5} but input 1 has {4}", "a shape mismatch at add")
wrong(function()
  train(ml.graph(function(x)
    local a = L("linear", { out = 4 })(x)
    local dangling = L("relu")(a)
    local y = L("linear", { out = 3 })(a)
    return y
  end))
end, "node 2 (relu) is never used", "a node that leads nowhere")
wrong(function() ml.graph(function(x) return 7 end) end,
      "must return a node of this graph", "an output that is not a node")
wrong(function() ml.graph(function(x) local y = L("relu")(42); return y end) end,
      "call it on a node", "a layer called on something that is not a node")
wrong(function() ml.residual({}) end, "expected an ml.layer", "an empty residual body")
t.done()
