-- SPDX-License-Identifier: MIT
-- Models: a sequential list of layer specs, built in C for an input shape.
local core = require "modlab.core"
local ffi, C = core.ffi, core.C

local Model = {}
Model.__index = Model

local M = {}

function M.sequential(layers)
  if type(layers) ~= "table" or #layers == 0 then
    error("ml.sequential: give a non-empty list of ml.layer(...)", 2)
  end
  for i, l in ipairs(layers) do
    if type(l) ~= "table" or l.kind ~= "layer" then
      error(("ml.sequential: item %d is not an ml.layer(...)"):format(i), 2)
    end
  end
  return setmetatable({ layers = layers }, Model)
end

-- Build for one example's shape (a list of dims) and batches up to max_batch.
-- Returns the model, or nil and a message naming the layer.
function Model:build(in_shape, max_batch, seed)
  if self.handle ~= nil then error("model: already built", 2) end
  local m = C.ml_model_new(core.registry(), seed or 1, core.err)
  if m == nil then return nil, core.errmsg() end
  m = ffi.gc(m, C.ml_model_free)
  for _, l in ipairs(self.layers) do
    if C.ml_model_add(m, l.name, core.opts(l.opts, 3), core.err) ~= 0 then
      return nil, core.errmsg()
    end
  end
  if C.ml_model_build(m, core.shape(in_shape), max_batch, core.err) ~= 0 then
    return nil, core.errmsg()
  end
  self.handle, self.in_shape, self.max_batch = m, in_shape, max_batch
  return self
end

function Model:out_shape()
  return core.shape_table(C.ml_model_out_shape(self.handle, -1))
end

function Model:nparams() return tonumber(C.ml_model_nparams(self.handle)) end

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

-- A description for config.json: each layer's name and resolved options.
function Model:describe()
  local t = {}
  for i, l in ipairs(self.layers) do
    t[i] = { layer = l.name, options = require("modlab.util.json").raw(l.json or "{}") }
  end
  return t
end

M.Model = Model
return M
