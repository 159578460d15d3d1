-- SPDX-License-Identifier: MIT
-- Models: a container of layer specs (lua/modlab/graph.lua), built in C for an input shape.
local core = require "modlab.core"
local ffi, C = core.ffi, core.C

local graph = require "modlab.graph"

-- Every container (ml.sequential, ml.residual, ml.concat, ml.graph) is a model: the one a
-- recipe hands to ml.train is built for the data's shape; the ones inside it are parts.
local Model = graph.Container

local M = {}

-- Build for one example's shape (a list of dims) and batches up to max_batch.
-- Returns the model, or nil and a message naming the layer and the recipe line.
function Model:build(in_shape, max_batch, seed)
  if self.handle ~= nil then error("model: already built", 2) end
  local m = C.ml_model_new(core.registry(), seed or 1, core.err)
  if m == nil then return nil, core.errmsg() end
  m = ffi.gc(m, C.ml_model_free)
  local where, nodes_or_msg = graph.compile(m, self)
  if not where then return nil, nodes_or_msg end
  if C.ml_model_build(m, core.shape(in_shape), max_batch, core.err) ~= 0 then
    return nil, graph.locate(core.errmsg(), where)
  end
  self.handle, self.in_shape, self.max_batch = m, in_shape, max_batch
  self.node_info = nodes_or_msg
  return self
end

function Model:out_shape()
  return core.shape_table(C.ml_model_out_shape(self.handle, -1))
end

function Model:nparams() return tonumber(C.ml_model_nparams(self.handle)) end

-- Parameters by name (lua/modlab/params.lua): model:params(pattern), model:param(name).
local params = require "modlab.params"
Model.params, Model.param = params.params, params.param

-- The input normalisation the model applies ({mean = {...}, std = {...}} per channel), or
-- nil; saved in its checkpoints.
function Model:normalization()
  local mean, std = ffi.new("const double*[1]"), ffi.new("const double*[1]")
  local n = C.ml_model_normalization(self.handle, mean, std)
  if n == 0 then return nil end
  local t = { mean = {}, std = {} }
  for c = 0, n - 1 do t.mean[c + 1], t.std[c + 1] = mean[0][c], std[0][c] end
  return t
end

function Model:set_normalization(n, level)
  local k = n and #n.mean or 0
  local mean, std = ffi.new("double[?]", math.max(k, 1)), ffi.new("double[?]", math.max(k, 1))
  for c = 1, k do mean[c - 1], std[c - 1] = n.mean[c], n.std[c] end
  if C.ml_model_set_normalization(self.handle, mean, std, k, core.err) ~= 0 then
    error(core.errmsg(), (level or 1) + 1)
  end
end

-- Bytes of activation and gradient buffers held, and what one buffer per node would take.
function Model:buffer_bytes()
  local unshared = ffi.new("int64_t[1]")
  local held = C.ml_model_buffer_bytes(self.handle, unshared)
  return tonumber(held), tonumber(unshared[0])
end

-- Forward a batch held in a float array (cdata); returns a float* valid until the next call.
function Model:forward(x, batch)
  local out = C.ml_model_forward(self.handle, x, batch, core.err)
  if out == nil then error(core.errmsg(), 2) end
  return out
end

function Model:training(on) C.ml_model_set_training(self.handle, on and 1 or 0) end

function Model:save(path)
  if C.ml_model_save(self.handle, path, core.err) ~= 0 then return nil, core.errmsg() end
  return true
end

function Model:load(path)
  if C.ml_model_load(self.handle, path, core.err) ~= 0 then return nil, core.errmsg() end
  return true
end

-- A description for config.json: a chain of layers as the list of each layer's name and
-- resolved options (as before graphs), anything else as nested containers.
function Model:describe()
  local flat = self.kind == "sequential"
  for _, it in ipairs(self.items or {}) do flat = flat and it.kind == "layer" end
  if not flat then return graph.describe(self) end
  local t = {}
  for i, l in ipairs(self.items) do t[i] = graph.describe(l) end
  return t
end

M.Model = Model
return M
