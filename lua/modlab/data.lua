-- SPDX-License-Identifier: MIT
-- Datasets: a manifest in datasets/ (fetched, verified, cached) or a dataset plugin used
-- directly (synthetic data). Splits open lazily and stay open for the run.
local core = require "modlab.core"
local ffi, C = core.ffi, core.C

local Data = {}
Data.__index = Data

local M = {}

local function has_option(name, opt)
  local e = core.entry(core.KIND_DATASET, name)
  local i = 0
  while e and e.options ~= nil and e.options[i].name ~= nil do
    if ffi.string(e.options[i].name) == opt then return true end
    i = i + 1
  end
  return false
end

local function plugin_splits(name)
  local e = core.entry(core.KIND_DATASET, name)
  if not e or e.options == nil then return nil end
  local i = 0
  while e.options[i].name ~= nil do
    if ffi.string(e.options[i].name) == "split" and e.options[i].choices ~= nil then
      local splits = {}
      for s in ffi.string(e.options[i].choices):gmatch("[^|]+") do splits[#splits + 1] = s end
      return splits
    end
    i = i + 1
  end
  return nil
end

-- ml.dataset(name, options): returns the dataset, or nil and a message (fetch failures).
function M.dataset(name, opts)
  if type(name) ~= "string" then
    error("ml.dataset: the first argument is the dataset name", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("ml.dataset: options must be a table", 2)
  end
  local d = setmetatable({ name = name, opts = opts or {}, opened = {} }, Data)
  if core.entry(core.KIND_DATASET, name) and not name:find("/") then
    d.format = name
    d.splits = plugin_splits(name) or { "train" }
    core.check_options(core.KIND_DATASET, name, d.opts, "dataset " .. name, 3)
    return d
  end
  local man = C.ml_manifest_load(name, core.err)
  if man == nil then return nil, core.errmsg() end
  d.manifest = ffi.gc(man, C.ml_manifest_free)
  d.format = ffi.string(C.ml_manifest_format(man))
  d.splits = {}
  for i = 0, C.ml_manifest_nsplits(man) - 1 do
    d.splits[#d.splits + 1] = ffi.string(C.ml_manifest_split(man, i))
  end
  if C.ml_manifest_fetch(man, 1, core.err) ~= 0 then return nil, core.errmsg() end
  return d
end

function Data:has_split(split)
  for _, s in ipairs(self.splits) do if s == split then return true end end
  return false
end

-- The opened split (ml_dataset*), or nil and a message.
function Data:split(split)
  if self.opened[split] then return self.opened[split] end
  if not self:has_split(split) then
    return nil, ("dataset %s has no split '%s' (splits: %s)"):format(
      self.name, split, table.concat(self.splits, ", "))
  end
  local o
  if self.manifest then
    o = C.ml_manifest_split_opts(self.manifest, split, core.err)
    if o == nil then return nil, core.errmsg() end
    local user = core.opts(self.opts, 3)
    C.ml_opts_free(user)  -- validated below by the plugin's schema with the files merged
    local extra = {}
    -- Readers that take the dataset's name use it in messages ("modlab data verify NAME").
    if has_option(self.format, "dataset") then extra.dataset = self.name end
    for k, v in pairs(self.opts) do extra[k] = v end
    for k, v in pairs(extra) do
      -- core.opts above refused what options cannot hold, so every value has a type here.
      local ty, text = core.opt_value(v)
      if C.ml_opts_set(o, k, ty, text, core.err) ~= 0 then
        C.ml_opts_free(o)
        return nil, core.errmsg()
      end
    end
  else
    local t = {}
    for k, v in pairs(self.opts) do t[k] = v end
    if plugin_splits(self.format) then t.split = split end
    o = core.opts(t, 3)
  end
  local ds = C.ml_dataset_open(core.registry(), self.format, o, core.err)
  if ds == nil then return nil, core.errmsg() end
  ds = ffi.gc(ds, C.ml_dataset_close)
  self.opened[split] = ds
  return ds
end

function Data:info(split)
  local ds, msg = self:split(split)
  if not ds then return nil, msg end
  local info = C.ml_dataset_info(ds)
  return { size = tonumber(info.size), x_shape = core.shape_table(info.x_shape),
           y_shape = core.shape_table(info.y_shape), classes = info.classes }
end

-- Examples first+1 .. first+n of a split, as read for training (normalised when a run set
-- it): x (n times the example's values) and y as float arrays (0-based), and n.
function Data:read(split, first, n)
  local ds, msg = self:split(split)
  if not ds then error(msg, 2) end
  local info = C.ml_dataset_info(ds)
  local size = tonumber(info.size)
  first, n = first or 0, n or size
  if first < 0 or n < 1 or first + n > size or first ~= math.floor(first) or n ~= math.floor(n) then
    error(("%s: examples %s..%s are outside the %s split's 0..%d"):format(self.name,
          tostring(first), tostring(first + n - 1), split, size - 1), 2)
  end
  local xn, yn = 1, 1
  for i = 0, info.x_shape.ndim - 1 do xn = xn * info.x_shape.dim[i] end
  for i = 0, info.y_shape.ndim - 1 do yn = yn * info.y_shape.dim[i] end
  local x, y = ffi.new("float[?]", n * xn), ffi.new("float[?]", n * yn)
  local idx = ffi.new("int64_t[?]", n)
  for i = 0, n - 1 do idx[i] = first + i end
  if C.ml_dataset_read(ds, idx, n, x, y, core.err) ~= 0 then error(core.errmsg(), 2) end
  return x, y, n
end

M.Data = Data
return M
