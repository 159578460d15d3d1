-- SPDX-License-Identifier: MIT
-- What `modlab report` shows of one run directory, as plain tables for the page: metric
-- series per epoch, wall time per epoch (timing.jsonl), configuration, environment
-- (meta.json), layer diagnostics sorted into plot kinds, and the run's PGM images.
local files = require "modlab.report.files"

local M = {}

local SPLITS = { "train", "valid", "test" }

-- What a diagnostics value is plotted as: a number is a line over epochs, a list of numbers
-- bars, a list of equal-length lists of numbers a heat map; anything else is shown as text.
function M.classify(v)
  if type(v) == "number" then return "scalar" end
  if type(v) ~= "table" or #v == 0 then return type(v) == "table" and next(v) and "object"
                                              or "text" end
  if type(v[1]) == "number" then
    for _, x in ipairs(v) do if type(x) ~= "number" then return "text" end end
    return "vector"
  end
  if type(v[1]) == "table" and #v[1] > 0 then
    local cols = #v[1]
    for _, r in ipairs(v) do
      if type(r) ~= "table" or #r ~= cols then return "text" end
      for _, x in ipairs(r) do if type(x) ~= "number" then return "text" end end
    end
    return "matrix"
  end
  return "text"
end

local MAX_CELLS = 250000

-- diagnostics rows -> per layer, a list of items {path, kind, ...}. Scalars keep every
-- epoch per split; vectors and matrices keep the last epoch of the test split if present,
-- else valid, else train (the issue's rule), naming the split they show.
function M.diagnostics(rows, warnings)
  local layers, order = {}, {}
  local function item(layer, path, kind)
    local L = layers[layer]
    if not L then
      L = { layer = layer, items = {}, by_path = {} }
      layers[layer] = L
      order[#order + 1] = layer
    end
    local it = L.by_path[path]
    if not it then
      it = { path = path, kind = kind, series = {}, last = {} }
      L.by_path[path] = it
      L.items[#L.items + 1] = it
    end
    return it
  end
  local function walk(layer, split, epoch_i, prefix, obj)
    local keys = {}
    for k in pairs(obj) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v, path = obj[k], prefix == "" and k or (prefix .. "." .. k)
      local kind = M.classify(v)
      if kind == "object" then walk(layer, split, epoch_i, path, v)
      else
        local it = item(layer, path, kind)
        if kind == "scalar" then
          it.series[split] = it.series[split] or {}
          it.series[split][epoch_i] = v
        else
          if kind == "matrix" and #v * #v[1] > MAX_CELLS then
            kind, v = "text", ("%dx%d matrix: too large to draw (over %d cells)")
              :format(#v, #v[1], MAX_CELLS)
          end
          it.kind = kind
          it.last[split] = v
        end
      end
    end
  end
  for i, row in ipairs(rows) do
    if type(row.diagnostics) == "table" then
      for _, split in ipairs(SPLITS) do
        local d = row.diagnostics[split]
        if type(d) == "table" then
          for layer, obj in pairs(d) do
            if type(obj) == "table" then walk(layer, split, i, "", obj) end
          end
        end
      end
    end
  end
  local out = {}
  table.sort(order, function(a, b)
    local na, nb = tonumber(a:match("^(%d+)")), tonumber(b:match("^(%d+)"))
    if na and nb and na ~= nb then return na < nb end
    return a < b
  end)
  local json = require "modlab.util.json"
  for _, name in ipairs(order) do
    local L = layers[name]
    local items = {}
    for _, it in ipairs(L.items) do
      local o = { path = it.path, kind = it.kind }
      if it.kind == "scalar" then
        o.series = {}
        for _, split in ipairs(SPLITS) do
          local s = it.series[split]
          if s then
            local arr = {}
            for k = 1, #rows do arr[k] = s[k] == nil and json.null or s[k] end
            o.series[split] = arr
          end
        end
      else
        for _, split in ipairs({ "test", "valid", "train" }) do
          if it.last[split] ~= nil then o.split, o.value = split, it.last[split] break end
        end
        if it.kind == "text" and type(o.value) ~= "string" then
          o.value = json.encode(o.value)
        end
      end
      items[#items + 1] = o
    end
    out[#out + 1] = { layer = name, items = items }
  end
  return out
end

-- Numeric top-level fields of metrics rows, one array per field aligned with the rows.
local function series(rows)
  local json = require "modlab.util.json"
  local names, seen = {}, {}
  for _, row in ipairs(rows) do
    for k, v in pairs(row) do
      if type(v) == "number" and k ~= "epoch" and not seen[k] then
        seen[k] = true
        names[#names + 1] = k
      end
    end
  end
  table.sort(names)
  local out = {}
  for _, k in ipairs(names) do
    local arr = {}
    for i, row in ipairs(rows) do
      arr[i] = type(row[k]) == "number" and row[k] or json.null
    end
    out[k] = arr
  end
  return out, names
end

-- Seconds since the run started at the end of each epoch: the running sum of timing.jsonl's
-- epoch_seconds, matched to metrics rows by epoch number.
local function wall_times(rows, timing)
  local json = require "modlab.util.json"
  local secs = {}
  for _, t in ipairs(timing) do
    if type(t.epoch) == "number" and type(t.epoch_seconds) == "number" then
      secs[t.epoch] = t.epoch_seconds
    end
  end
  local out, sum, any = {}, 0, false
  local epochs = {}
  for e in pairs(secs) do epochs[#epochs + 1] = e end
  table.sort(epochs)
  local at = {}
  for _, e in ipairs(epochs) do sum = sum + secs[e]; at[e] = sum end
  for i, row in ipairs(rows) do
    local v = row.epoch and at[row.epoch]
    if v then any = true end
    out[i] = v or json.null
  end
  return any and out or nil
end

local function images(dir, warnings)
  local list = {}
  for _, path in ipairs(files.find_pgm(dir)) do
    local img, err = files.pgm(files.read(path) or "")
    local name = path:sub(#dir + 2)
    if img then
      list[#list + 1] = { name = name, width = img.width, height = img.height,
                          gray = files.base64(img.gray) }
    else
      files.warn(warnings, ("%s: %s; not shown"):format(path, err))
    end
  end
  return list
end

-- The page data of run directory `dir`.
function M.load(dir, warnings)
  local rows = files.jsonl(dir .. "/metrics.jsonl", warnings)
  local timing = files.jsonl(dir .. "/timing.jsonl", warnings)
  local meta = files.json(dir .. "/meta.json", warnings)
  local epochs = {}
  for i, row in ipairs(rows) do epochs[i] = type(row.epoch) == "number" and row.epoch or i end
  local s, names = series(rows)
  local tseries, tnames = series(timing)
  local tepochs = {}
  for i, row in ipairs(timing) do
    tepochs[i] = type(row.epoch) == "number" and row.epoch or i
  end
  if #rows == 0 then
    files.warn(warnings, dir .. "/metrics.jsonl: no rows yet; nothing to plot over epochs")
  end
  local wall = wall_times(rows, timing)
  if #rows > 0 and not wall then
    files.warn(warnings, dir .. "/timing.jsonl: no epoch_seconds; no curves against wall time")
  end
  return {
    kind = "run",
    title = dir:match("([^/]+)/*$") or dir,
    dir = dir,
    status = meta and meta.status,
    epochs = epochs, series = s, names = names, wall = wall,
    timing = { epochs = tepochs, series = tseries, names = tnames },
    summary = files.json(dir .. "/summary.json", warnings),
    config = files.json(dir .. "/config.json", warnings),
    meta = meta,
    diagnostics = M.diagnostics(rows, warnings),
    images = images(dir, warnings),
  }
end

return M
