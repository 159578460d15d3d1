-- SPDX-License-Identifier: MIT
-- How a recipe writes a network: layer specs and containers (torch/nn's Sequential, Concat
-- and CAddTable; nngraph's gModule for anything else). They are descriptions only; compile()
-- turns one into the C model's nodes when the model is built. A layer spec is one layer
-- instance wherever it appears: used twice, its weights are tied (as a PyTorch module).
--
--   ml.sequential{a, b, c}          a chain
--   ml.residual(body [, shortcut])  y = body(x) + shortcut(x), identity shortcut by default
--   ml.concat{branch, ...}          branches on one input, joined along the first axis
--   ml.graph(function(x) ... end)   any DAG: call a layer or container on nodes,
--                                   lin(x), ml.layer("add"){a, b}; return the output node
local core = require "modlab.core"
local ffi, C = core.ffi, core.C

local M = {}

-- modlab's own Lua (this folder and modlab.lua beside it), told apart from a recipe's by
-- its source: "@modlab/graph.lua" embedded, "@/usr/share/lua/5.1/modlab/graph.lua" installed.
local own = debug.getinfo(1, "S").source:match("^(.*)/[^/]*$")
local function is_own(src)
  local rest = own and src:sub(1, #own) == own and src:sub(#own + 1)
  return rest and (rest:sub(1, 1) == "/" or rest == ".lua")
end

-- "file:line" of the recipe code `level` frames above the caller (or the nearest recipe
-- frame beyond it: a tail call leaves no frame of its own), or nil.
function M.where(level)
  for l = level + 1, level + 20 do
    local info = debug.getinfo(l, "Sl")
    if not info then return nil end
    if not is_own(info.source) and info.currentline and info.currentline > 0 then
      return ("%s:%d"):format(info.short_src, info.currentline)
    end
  end
end

-- error(msg) blamed on the nearest recipe frame above the caller's caller.
local function raise(msg)
  for l = 3, 22 do
    local info = debug.getinfo(l, "S")
    if not info then break end
    if not is_own(info.source) then error(msg, l) end
  end
  error(msg, 3)
end

local Node = {}   -- a value inside ml.graph: the graph input, or a layer applied to nodes
Node.__index = Node

local Container = {}
Container.__index = Container

function M.is_item(v)
  local mt = getmetatable(v)
  return type(v) == "table" and (v.kind == "layer" or mt == Container)
end

-- A body: an item, or a plain list of items (a chain).
local function item_of(v, who, level)
  if M.is_item(v) then return v end
  if type(v) == "table" and #v > 0 then return M.sequential(v, who, level + 1) end
  error(("%s: expected an ml.layer(...), a container or a list of them, got %s")
        :format(who, type(v) == "table" and "an empty table" or type(v)), level + 1)
end

function M.sequential(items, who, level)
  who, level = who or "ml.sequential", level or 2
  if type(items) ~= "table" or #items == 0 then
    error(who .. ": give a non-empty list of ml.layer(...) or containers", level + 1)
  end
  for i, l in ipairs(items) do
    if not M.is_item(l) then
      error(("%s: item %d is not an ml.layer(...) or a container"):format(who, i), level + 1)
    end
  end
  -- `layers`: the name recipes knew sequential's list by.
  return setmetatable({ kind = "sequential", items = items, layers = items,
                        where = M.where(level + 1) }, Container)
end

function M.residual(body, shortcut)
  local r = { kind = "residual", body = item_of(body, "ml.residual", 2), where = M.where(2) }
  if shortcut ~= nil then r.shortcut = item_of(shortcut, "ml.residual (shortcut)", 2) end
  return setmetatable(r, Container)
end

function M.concat(branches)
  if type(branches) ~= "table" or #branches == 0 then
    error("ml.concat: give a list of branches, ml.concat{branch, ...}", 2)
  end
  local b = {}
  for i, v in ipairs(branches) do b[i] = item_of(v, ("ml.concat (branch %d)"):format(i), 2) end
  return setmetatable({ kind = "concat", branches = b, where = M.where(2) }, Container)
end

-- ml.graph(fn): fn receives the input node and returns the output node, or a list of
-- them (the first is the main output; the others are auxiliary heads, each with its own
-- loss in ml.train: loss = {...}, loss_weights = {...}).
function M.graph(fn)
  if type(fn) ~= "function" then
    error("ml.graph: give a function(x) that returns the output node", 2)
  end
  local g = setmetatable({ kind = "graph", nodes = {}, where = M.where(2) }, Container)
  g.input = setmetatable({ graph = g, is_input = true }, Node)
  local out = fn(g.input)
  local outs = getmetatable(out) == Node and { out } or out
  if type(outs) ~= "table" or #outs == 0 then outs = { false } end
  for _, o in ipairs(outs) do
    if getmetatable(o) ~= Node or o.graph ~= g then
      error("ml.graph: the function must return a node of this graph (what a layer called "
            .. "on x gives), or a list of them", 2)
    end
    if o.is_input then error("ml.graph: an output is the input itself; add a layer", 2) end
  end
  g.output, g.outputs = outs[1], outs
  return g
end

-- item(x) or item{x1, x2}: inside ml.graph, a new node applying the item to nodes.
local function apply(item, arg)
  local inputs = getmetatable(arg) == Node and { arg } or arg
  if type(inputs) ~= "table" or #inputs == 0 then
    raise(("%s: call it on a node of an ml.graph, or a list of nodes"):format(tostring(item)))
  end
  local g = inputs[1].graph
  for i, n in ipairs(inputs) do
    if getmetatable(n) ~= Node then
      raise(("%s: input %d is not a node of an ml.graph"):format(tostring(item), i))
    end
    if n.graph ~= g then
      raise(("%s: input %d belongs to another ml.graph"):format(tostring(item), i))
    end
  end
  local n = setmetatable({ graph = g, item = item, inputs = inputs, where = M.where(2) }, Node)
  g.nodes[#g.nodes + 1] = n
  return n
end
M.apply = apply
Container.__call = apply
function Container.__tostring(c) return "ml." .. c.kind end

-- ---- compiling into the C model -------------------------------------------------------

local Builder = {}
Builder.__index = Builder

local function fail(where)
  error({ where = where, msg = core.errmsg() }, 0)
end

-- A node applying layer spec `spec` to C node ids `inputs`.
function Builder:layer(spec, inputs, where)
  local arr = ffi.new("int32_t[?]", #inputs, inputs)
  local first, id = self.ties[spec]
  if first then
    id = C.ml_model_apply(self.m, first, arr, #inputs, core.err)
  else
    id = C.ml_model_node(self.m, spec.name, core.opts(spec.opts, 4), arr, #inputs, core.err)
  end
  if id < 0 then fail(where or spec.where) end
  -- What the run's model summary prints per node (lua/modlab/run_summary.lua): C counts
  -- layer instances in creation order (parameter names start with that number), and a
  -- tied node makes none of its own.
  if not first then
    self.ties[spec] = id
    self.nodes[id + 1] = { layer = spec.name, layer_index = self.nlayers }
    self.nlayers = self.nlayers + 1
  else
    self.nodes[id + 1] = { layer = spec.name, layer_index = self.nodes[first + 1].layer_index,
                           tied_to = first + 1 }
  end
  self.where[id] = where or spec.where
  return id
end

local function merge(b, name, inputs, where)
  return b:layer({ name = name, opts = {} }, inputs, where)
end

-- The C node id of `item` applied to C node ids `inputs`.
function Builder:emit(item, inputs, where)
  local k = item.kind
  if k == "layer" then return self:layer(item, inputs, where) end
  if k == "sequential" then
    local x = inputs
    for _, it in ipairs(item.items) do x = { self:emit(it, x) } end
    return x[1]
  end
  if #inputs ~= 1 then
    error({ where = where or item.where,
            msg = ("ml.%s reads one input, here it is given %d"):format(k, #inputs) }, 0)
  end
  if k == "residual" then
    local body = self:emit(item.body, inputs)
    local short = item.shortcut and self:emit(item.shortcut, inputs) or inputs[1]
    return merge(self, "add", { body, short }, item.where)
  elseif k == "concat" then
    local outs = {}
    for i, br in ipairs(item.branches) do outs[i] = self:emit(br, inputs) end
    return #outs == 1 and outs[1] or merge(self, "concat", outs, item.where)
  end
  -- graph: its nodes in the order they were made (each reads only earlier ones)
  local ids = { [item.input] = inputs[1] }
  for _, n in ipairs(item.nodes) do
    local ins = {}
    for i, src in ipairs(n.inputs) do ins[i] = ids[src] end
    ids[n] = self:emit(n.item, ins, n.where)
  end
  if #item.outputs > 1 then
    if item ~= self.root then
      error({ where = item.where, msg = "an ml.graph with several outputs must be the "
              .. "model itself, not a part of another container" }, 0)
    end
    self.outputs = {}
    for i, o in ipairs(item.outputs) do self.outputs[i] = ids[o] end
  end
  return ids[item.output]
end

-- Add `root`'s nodes to C model m, reading the model input (and set its outputs when it
-- has several). Returns the node -> recipe line table and the list of nodes ({layer,
-- layer_index, tied_to}, 1-based as C's messages count them), or nil and a message that
-- starts with the recipe line when one is known.
function M.compile(m, root)
  local b = setmetatable({ m = m, ties = {}, where = {}, root = root, nodes = {},
                           nlayers = 0 }, Builder)
  local ok, e = pcall(Builder.emit, b, root, { C.ML_MODEL_INPUT })
  if ok and b.outputs then
    local arr = ffi.new("int32_t[?]", #b.outputs, b.outputs)
    if C.ml_model_set_outputs(m, arr, #b.outputs, core.err) ~= 0 then
      ok, e = false, { where = root.where, msg = core.errmsg() }
    end
  end
  if ok then return b.where, b.nodes end
  if type(e) ~= "table" then error(e, 0) end
  return nil, e.where and (e.where .. ": " .. e.msg) or e.msg
end

-- A C message naming "node N (...)" or "layer N (...)", with the line that made node N.
function M.locate(msg, where)
  local n = msg:match("node (%d+) %(") or msg:match("layer (%d+) %(")
  local w = n and where[tonumber(n) - 1]
  return w and (w .. ": " .. msg) or msg
end

-- For config.json: the description as plain tables.
function M.describe(item)
  local json = require "modlab.util.json"
  local k = item.kind
  if k == "layer" then return { layer = item.name, options = json.raw(item.json or "{}") } end
  if k == "sequential" then
    local t = {}
    for i, it in ipairs(item.items) do t[i] = M.describe(it) end
    return { sequential = t }
  elseif k == "residual" then
    return { residual = { body = M.describe(item.body),
                          shortcut = item.shortcut and M.describe(item.shortcut) or "identity" } }
  elseif k == "concat" then
    local t = {}
    for i, br in ipairs(item.branches) do t[i] = M.describe(br) end
    return { concat = t }
  end
  local index, nodes = { [item.input] = 0 }, {}
  for i, n in ipairs(item.nodes) do
    index[n] = i
    local ins = {}
    for j, src in ipairs(n.inputs) do ins[j] = index[src] end
    nodes[i] = { item = M.describe(n.item), inputs = ins }
  end
  local outs = {}
  for i, o in ipairs(item.outputs) do outs[i] = index[o] end
  return { graph = { nodes = nodes, output = index[item.output],
                     outputs = #outs > 1 and outs or nil } }
end

M.Node, M.Container = Node, Container
return M
