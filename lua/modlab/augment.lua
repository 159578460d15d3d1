-- SPDX-License-Identifier: MIT
-- Data augmentation: ml.transform(name, opts) and the pipeline that ml.train{augment = ...}
-- and ml.trainer{augment = ...} apply to training batches (core/runtime/pipeline.c).
-- Evaluation batches never go through it.
local core = require "modlab.core"
local graph = require "modlab.graph"
local ffi, C = core.ffi, core.C
local M = {}

local transform_mt = { __tostring = function(t) return "ml.transform(" .. t.name .. ")" end }

-- ml.transform(name, opts): options are checked against the transform's schema now, so a
-- mistake names this line; the example's shape is checked when training starts.
function M.transform(name, opts, level)
  level = (level or 1) + 1
  if type(name) ~= "string" then
    error("ml.transform: the first argument is the transform's name", level)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("ml.transform: options must be a table", level)
  end
  local json = core.check_options(core.KIND_TRANSFORM, name, opts or {}, "transform " .. name,
                                  level + 1)
  return setmetatable({ kind = "transform", name = name, opts = opts or {}, json = json,
                        where = graph.where(level) }, transform_mt)
end

local function is_transform(t) return getmetatable(t) == transform_mt end

-- The augment list as given to ml.train / ml.trainer: nil, or a list of ml.transform(...).
function M.check(list, who, level)
  if list == nil then return nil end
  if type(list) ~= "table" or is_transform(list) then
    error(("%s: 'augment' is a list of ml.transform(...), e.g. augment = { "
      .. "ml.transform(\"hflip\") }"):format(who), level)
  end
  for k, t in ipairs(list) do
    if not is_transform(t) then
      error(("%s: augment[%d] is not an ml.transform(...)"):format(who, k), level)
    end
  end
  for k in pairs(list) do
    if type(k) ~= "number" or k < 1 or k > #list or k % 1 ~= 0 then
      error(("%s: 'augment' is a list: key %s is not a position"):format(who, tostring(k)),
        level)
    end
  end
  return list
end

-- The pipeline for training examples of dataset `ds` (a cdata handle, freed by the GC), or
-- nil for no list. A transform that cannot work with the examples (a crop larger than the
-- image plus its padding) fails here, before training, naming its ml.transform line.
function M.build(ds, list, level)
  if not list or #list == 0 then return nil end
  local p = C.ml_pipeline_new(core.registry(), ds, core.err)
  if p == nil then error(core.errmsg(), level) end
  p = ffi.gc(p, C.ml_pipeline_free)
  for k, t in ipairs(list) do
    if C.ml_pipeline_add(p, t.name, core.opts(t.opts, level + 1), core.err) ~= 0 then
      local msg = ("augment[%d] (%s) for examples of shape %s: %s"):format(k, t.name,
        table.concat(core.shape_table(C.ml_dataset_info(ds).x_shape), "x"), core.errmsg())
      if t.where then error(t.where .. ": " .. msg, 0) end
      error(msg, level)
    end
  end
  return p
end

-- The list as config.json records it (and the resume fingerprint compares).
function M.describe(list)
  if not list or #list == 0 then return nil end
  local out = {}
  for k, t in ipairs(list) do
    out[k] = { name = t.name, options = require("modlab.util.json").raw(t.json) }
  end
  return out
end

return M
