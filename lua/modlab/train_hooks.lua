-- SPDX-License-Identifier: MIT
-- What ml.train offers a recipe beyond its loop: ml.log (the recipe's own numbers in the
-- epoch's metrics row), early stopping, and the checks of their settings.
local M = {}

-- The metrics row fields ml.train writes itself: ml.log may not overwrite them.
local RESERVED = { epoch = true, phase = true, lr_factor = true, train_loss = true,
                   train_accuracy = true, aux_loss = true, valid_loss = true,
                   valid_accuracy = true, test_loss = true, test_accuracy = true,
                   diagnostics = true }

local pending   -- the values logged for the running epoch; nil when no ml.train runs

function M.begin() pending = {} end
function M.finish() pending = nil end

-- ml.log{name = value, ...}: numbers (finite), booleans or strings, under names of letters,
-- digits, '_' and '.', added to the current epoch's row (a later value for a name wins).
function M.log(values, level)
  level = (level or 1) + 1
  if not pending then
    error("ml.log: no ml.train is running; call it from on_epoch, on_step or code they call "
          .. "(a loop of your own reports with print or its own files)", level)
  end
  if type(values) ~= "table" then error("ml.log: give a table {name = value, ...}", level) end
  for k, v in pairs(values) do
    if type(k) ~= "string" or not k:match("^[%a_][%w_%.]*$") then
      error(("ml.log: '%s' is not a metric name (letters, digits, '_' and '.', not "
             .. "starting with a digit)"):format(tostring(k)), level)
    end
    if RESERVED[k] then
      error(("ml.log: '%s' is written by ml.train itself; pick another name"):format(k), level)
    end
    local t = type(v)
    if not (t == "boolean" or t == "string" or (t == "number" and v == v and
                                                 v ~= math.huge and v ~= -math.huge)) then
      error(("ml.log: '%s' = %s: values are finite numbers, booleans or strings")
            :format(k, tostring(v)), level)
    end
    pending[k] = v
  end
end

-- Merge what was logged into the epoch's row and start afresh.
function M.take(row)
  for k, v in pairs(pending or {}) do row[k] = v end
  if pending then pending = {} end
  return row
end

-- early_stop = { metric = "valid_loss", patience = 3, mode = "min", min_delta = 0 }: the
-- checks, and a tracker whose :update(row) says whether to stop after this epoch.
local Stopper = {}
Stopper.__index = Stopper

function M.check_early_stop(es, who, level)
  if es == nil then return end
  if type(es) ~= "table" then
    error(who .. ": 'early_stop' is a table {metric=, patience=, mode=}", level + 1)
  end
  for k in pairs(es) do
    if k ~= "metric" and k ~= "patience" and k ~= "mode" and k ~= "min_delta" then
      error(("%s: early_stop: unknown field '%s' (metric, patience, mode, min_delta)")
            :format(who, tostring(k)), level + 1)
    end
  end
  local p = es.patience or 3
  if type(p) ~= "number" or p < 1 or p ~= math.floor(p) or p > 2 ^ 31 then
    error(who .. ": early_stop.patience is a whole number of epochs >= 1", level + 1)
  end
  if es.metric ~= nil and type(es.metric) ~= "string" then
    error(who .. ": early_stop.metric is the name of a metrics row field", level + 1)
  end
  if es.mode ~= nil and es.mode ~= "min" and es.mode ~= "max" then
    error(who .. ": early_stop.mode is 'min' or 'max'", level + 1)
  end
  if es.min_delta ~= nil and (type(es.min_delta) ~= "number" or es.min_delta < 0) then
    error(who .. ": early_stop.min_delta is a number >= 0", level + 1)
  end
end

-- The default metric is valid_loss (minimised); a metric named *accuracy* is maximised
-- unless mode says otherwise.
function M.stopper(es)
  if not es then return nil end
  local metric = es.metric or "valid_loss"
  local mode = es.mode or (metric:find("accuracy", 1, true) and "max" or "min")
  return setmetatable({ metric = metric, sign = mode == "max" and 1 or -1,
                        patience = es.patience or 3, delta = es.min_delta or 0, waited = 0 },
                      Stopper)
end

-- Whether training should stop after this row (the metric missing is an error: a typo
-- would otherwise never stop anything).
function Stopper:update(row)
  local v = row[self.metric]
  if type(v) ~= "number" then
    error(("early_stop: the metrics row has no number '%s' (epoch %d); name a field such as "
           .. "valid_loss, valid_accuracy, train_loss or one given to ml.log")
          :format(self.metric, row.epoch), 0)
  end
  local key = self.sign * v
  if not self.best or key > self.best + self.delta then
    self.best, self.best_epoch, self.waited = key, row.epoch, 0
  else
    self.waited = self.waited + 1
  end
  return self.waited >= self.patience
end

return M
