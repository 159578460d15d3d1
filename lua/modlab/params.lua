-- SPDX-License-Identifier: MIT
-- A built model's parameters from Lua: model:params(pattern) lists them, model:param(name)
-- finds one; each has its name, shape, numel and kind, and values and gradients behind
-- bounds-checked accessors (1-based, as Lua counts) and bulk copies to and from a Lua table
-- or a float array (ml.floats). Names are "<layer>.<layer name>.<parameter>", layers
-- counted from 0 in creation order: "2.linear.weight".
local core = require "modlab.core"
local ffi, C = core.ffi, core.C

local M = {}
local Param = {}
Param.__index = Param

local FLAG_BUFFER, FLAG_STRUCTURAL = 2, 4   -- ml_param_flags (plugin.h)

local function wrap(model, i)
  local p = C.ml_model_param(model.handle, i)
  local shape = {}
  for d = 0, p.shape.ndim - 1 do shape[d + 1] = p.shape.dim[d] end
  return setmetatable({ name = ffi.string(C.ml_model_param_name(model.handle, i)),
                        shape = shape, numel = tonumber(p.numel),
                        trainable = p.grad ~= nil,
                        buffer = bit.band(p.flags, FLAG_BUFFER) ~= 0,
                        structural = bit.band(p.flags, FLAG_STRUCTURAL) ~= 0,
                        model = model, p = p }, Param)
end

local function built(model, level)
  if model.handle == nil then
    error("model: build it first (ml.train or ml.trainer builds it for the data)", level + 1)
  end
end

-- Parameters whose name contains `pattern` (plain text, not a Lua pattern; nil or "": all).
function M.params(model, pattern)
  built(model, 2)
  local out = {}
  for i = 0, C.ml_model_nparam_tensors(model.handle) - 1 do
    local p = wrap(model, i)
    if not pattern or pattern == "" or p.name:find(pattern, 1, true) then out[#out + 1] = p end
  end
  return out
end

-- The parameter named exactly `name`, or nil.
function M.param(model, name)
  built(model, 2)
  for i = 0, C.ml_model_nparam_tensors(model.handle) - 1 do
    if ffi.string(C.ml_model_param_name(model.handle, i)) == name then return wrap(model, i) end
  end
end

local function at(self, i, level)
  if type(i) ~= "number" or i ~= math.floor(i) or i < 1 or i > self.numel then
    error(("%s: index %s is outside 1..%d"):format(self.name, tostring(i), self.numel),
          level + 1)
  end
  return i - 1
end

local function grads(self, level)
  if self.p.grad == nil then
    error(self.name .. ": has no gradient (a buffer or structural parameter)", level + 1)
  end
  return self.p.grad
end

function Param:get(i) return self.p.value[at(self, i, 2)] end
function Param:set(i, v)
  if type(v) ~= "number" then error(self.name .. ": values are numbers", 2) end
  self.p.value[at(self, i, 2)] = v
end
function Param:grad(i) return grads(self, 2)[at(self, i, 2)] end
function Param:set_grad(i, v) grads(self, 2)[at(self, i, 2)] = v end

-- All values (or gradients) as a Lua table, 1-based.
function Param:values()
  local t, v = {}, self.p.value
  for i = 0, self.numel - 1 do t[i + 1] = v[i] end
  return t
end
function Param:grads()
  local t, g = {}, grads(self, 2)
  for i = 0, self.numel - 1 do t[i + 1] = g[i] end
  return t
end

-- Set every value from a Lua table of numel numbers, or a float array of at least numel.
function Param:set_values(src)
  local v = self.p.value
  if type(src) == "table" then
    if #src ~= self.numel then
      error(("%s: %d values given, it has %d"):format(self.name, #src, self.numel), 2)
    end
    for i = 1, self.numel do
      if type(src[i]) ~= "number" then error(self.name .. ": values are numbers", 2) end
      v[i - 1] = src[i]
    end
  elseif type(src) == "cdata" then
    ffi.copy(v, src, self.numel * 4)
  else
    error(self.name .. ": set_values takes a table or an ml.floats array", 2)
  end
end

-- Copy the values into a float array (ml.floats(p.numel)); returns it.
function Param:copy_to(dst)
  dst = dst or ffi.new("float[?]", self.numel)
  ffi.copy(dst, self.p.value, self.numel * 4)
  return dst
end

function Param:fill(v) for i = 0, self.numel - 1 do self.p.value[i] = v end end

function Param.__tostring(p)
  return ("%s [%s] (%d)"):format(p.name, table.concat(p.shape, "x"), p.numel)
end

-- A zeroed array of n floats, indexed from 0 as in C (for model:forward, copy_to).
function M.floats(n)
  if type(n) ~= "number" or n < 1 or n ~= math.floor(n) or n > 2 ^ 40 then
    error("ml.floats: give a whole number of floats >= 1", 2)
  end
  return ffi.new("float[?]", n)
end

M.Param = Param
return M
