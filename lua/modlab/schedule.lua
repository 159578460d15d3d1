-- SPDX-License-Identifier: MIT
-- modlab.schedule: learning-rate schedules, as multipliers of the optimizer's own lr.
--
-- Pure Lua (no FFI), so it runs in any Lua 5.1 / LuaJIT. Semantics follow PyTorch 1.13's
-- torch.optim.lr_scheduler with a base lr of 1, so a factor here is PyTorch's lr / base lr.
-- ml.train takes one as `schedule = ...` and calls it once per epoch; a hand-written loop:
--
--   local schedule = require "modlab.schedule"
--   local s = schedule("cosine", { t_max = epochs })  -- as ml.schedule(...) in recipes; also
--                                                    -- schedule.cosine { t_max = epochs } and
--                                                    -- schedule.new { kind = "cosine", ... }
--   local last                                     -- the previous epoch's metrics
--   for epoch = 1, epochs do
--     set_lr_factor(s:factor(epoch, last))         -- the metric matters only to plateau
--     last = train_one_epoch()                     -- a number, or a row { valid_loss = .. }
--   end
--
-- s:factor(epoch, metric): the multiplier for epoch `epoch`, counted from 1 like ml.train's
-- history (epoch e is PyTorch's lr after e - 1 scheduler.step() calls). `metric` is what
-- was measured after epoch - 1: a number, or a history row (a table) from which plateau
-- reads its `metric` field. Only plateau reads it, once per epoch: a repeated call for the
-- same epoch, or one without a metric, returns the current factor unchanged.
--
-- Kinds and options (defaults as PyTorch's; e = epoch - 1):
--   constant    factor = 1, total_iters = nil     factor while e < total_iters, then 1
--                                                  (ConstantLR; nil = forever)
--   step        step_size (required), gamma = 0.1 gamma ^ floor(e / step_size) (StepLR)
--   multistep   milestones (required), gamma = 0.1 gamma ^ #{m <= e} (MultiStepLR)
--   exponential gamma (required)                   gamma ^ e (ExponentialLR)
--   cosine      t_max (required), eta_min_factor = 0  CosineAnnealingLR's closed form,
--                                                  eta_min = eta_min_factor * base lr
--   plateau     mode = "min", factor = 0.1, patience = 10, threshold = 1e-4,
--               threshold_mode = "rel", cooldown = 0, min_factor = 0, eps = 1e-8,
--               metric = "valid_loss"
--               (ReduceLROnPlateau; min_factor is min_lr / base lr, eps compares factors;
--               metric names the field read from history rows; watch an accuracy with
--               mode = "max")
--
-- Mistakes in a spec (unknown kind or option, wrong type, out of range) raise an error
-- pointing at the caller's line. Stateful schedules (plateau) save and restore their state
-- with s:state() and s:set_state(t) (a plain table, JSON-safe) for checkpoints.

local M = {}

local floor, huge, cos, pi = math.floor, math.huge, math.cos, math.pi

-- ---- option checking ---------------------------------------------------------------------

local function is_num(v) return type(v) == "number" and v == v end
local function is_int(v) return is_num(v) and v == floor(v) and v > -huge and v < huge end

-- Each check returns nil when fine, or what the value must be.
local checks = {
  positive_int = function(v)
    if not (is_int(v) and v >= 1) then return "an integer >= 1" end
  end,
  nonneg_int = function(v)
    if not (is_int(v) and v >= 0) then return "an integer >= 0" end
  end,
  nonneg = function(v)
    if not (is_num(v) and v >= 0 and v < huge) then return "a finite number >= 0" end
  end,
  unit = function(v)
    if not (is_num(v) and v >= 0 and v <= 1) then return "a number in [0, 1]" end
  end,
  below1 = function(v)
    if not (is_num(v) and v > 0 and v < 1) then return "a number in (0, 1)" end
  end,
  mode = function(v) if v ~= "min" and v ~= "max" then return '"min" or "max"' end end,
  name = function(v)
    if type(v) ~= "string" or not v:match("^[%a_][%w_]*$") then
      return "a field name such as \"valid_loss\""
    end
  end,
  threshold_mode = function(v)
    if v ~= "rel" and v ~= "abs" then return '"rel" or "abs"' end
  end,
  milestones = function(v)
    if type(v) ~= "table" or #v == 0 then return "a non-empty list of epochs" end
    for i = 1, #v do
      if not (is_int(v[i]) and v[i] >= 1) then return "a list of integers >= 1" end
      if i > 1 and v[i] < v[i - 1] then return "a list of epochs in increasing order" end
    end
  end,
}

local REQUIRED = {}  -- marker: the option has no default

-- kind -> { {name, default, check}, ... }
local KINDS = {
  constant = { { "factor", 1, "nonneg" }, { "total_iters", nil, "nonneg_int" } },
  step = { { "step_size", REQUIRED, "positive_int" }, { "gamma", 0.1, "nonneg" } },
  multistep = { { "milestones", REQUIRED, "milestones" }, { "gamma", 0.1, "nonneg" } },
  exponential = { { "gamma", REQUIRED, "nonneg" } },
  cosine = { { "t_max", REQUIRED, "positive_int" }, { "eta_min_factor", 0, "unit" } },
  plateau = {
    { "mode", "min", "mode" }, { "factor", 0.1, "below1" }, { "patience", 10, "nonneg_int" },
    { "threshold", 1e-4, "nonneg" }, { "threshold_mode", "rel", "threshold_mode" },
    { "cooldown", 0, "nonneg_int" }, { "min_factor", 0, "nonneg" }, { "eps", 1e-8, "nonneg" },
    { "metric", "valid_loss", "name" },
  },
}
local KIND_NAMES = { "constant", "step", "multistep", "exponential", "cosine", "plateau" }

-- The resolved spec (defaults filled), or nil and a message saying what to fix.
local function resolve(spec)
  if type(spec) ~= "table" then
    return nil, "schedule: expected a table like { kind = \"step\", step_size = 10 }, got "
      .. type(spec)
  end
  local kind = spec.kind
  local opts = KINDS[kind]
  if not opts then
    return nil, ("schedule: unknown kind %s; use one of %s"):format(
      type(kind) == "string" and ('"' .. kind .. '"') or tostring(kind),
      table.concat(KIND_NAMES, ", "))
  end
  local out, known = { kind = kind }, { kind = true }
  for _, o in ipairs(opts) do
    local name, default, check = o[1], o[2], o[3]
    known[name] = true
    local v = spec[name]
    if v == nil then
      if default == REQUIRED then
        return nil, ("schedule %s: option %s is required"):format(kind, name)
      end
      v = default
    end
    if v ~= nil then
      local want = checks[check](v)
      if want then
        return nil, ("schedule %s: option %s must be %s, got %s"):format(
          kind, name, want, tostring(v))
      end
    end
    out[name] = v
  end
  for k in pairs(spec) do
    if not known[k] then
      local names = {}
      for _, o in ipairs(opts) do names[#names + 1] = o[1] end
      return nil, ("schedule %s: unknown option %s (options: %s)"):format(
        kind, tostring(k), table.concat(names, ", "))
    end
  end
  return out
end

-- ---- the schedules -------------------------------------------------------------------------

local factor_of = {}

-- Each takes e = epoch - 1, PyTorch's count of scheduler.step() calls.
function factor_of.constant(s, e)
  if s.spec.total_iters and e >= s.spec.total_iters then return 1 end
  return s.spec.factor
end

function factor_of.step(s, e)
  return s.spec.gamma ^ floor(e / s.spec.step_size)
end

function factor_of.multistep(s, e)
  local n = 0
  for _, m in ipairs(s.spec.milestones) do
    if m <= e then n = n + 1 end
  end
  return s.spec.gamma ^ n
end

function factor_of.exponential(s, e)
  return s.spec.gamma ^ e
end

-- The closed form PyTorch documents; its recursive update agrees to rounding, also past
-- t_max, where the cosine climbs back up.
function factor_of.cosine(s, e)
  local lo = s.spec.eta_min_factor
  return lo + (1 - lo) * (1 + cos(pi * e / s.spec.t_max)) / 2
end

-- ReduceLROnPlateau.step(metric) and is_better(), with best = nil for "nothing seen yet"
-- (PyTorch's +-inf, which JSON cannot hold).
local function is_better(spec, a, best)
  if a ~= a then return false end
  if best == nil then return true end
  local rel, th = spec.threshold_mode == "rel", spec.threshold
  if spec.mode == "min" then
    return a < (rel and best * (1 - th) or best - th)
  end
  return a > (rel and best * (th + 1) or best + th)
end

local function plateau_step(s, metric)
  local spec, st = s.spec, s.st
  if is_better(spec, metric, st.best) then
    st.best, st.num_bad = metric, 0
  else
    st.num_bad = st.num_bad + 1
  end
  if st.cooldown > 0 then
    st.cooldown, st.num_bad = st.cooldown - 1, 0
  end
  if st.num_bad > spec.patience then
    local new = st.factor * spec.factor
    if new < spec.min_factor then new = spec.min_factor end
    if st.factor - new > spec.eps then st.factor = new end
    st.cooldown, st.num_bad = spec.cooldown, 0
  end
end

-- `metric` was measured after epoch e - 1 (= after e PyTorch steps): step once per e.
function factor_of.plateau(s, e, metric)
  if metric ~= nil and e > s.st.last then
    plateau_step(s, metric)
    s.st.last = e
  end
  return s.st.factor
end

local Schedule = {}
Schedule.__index = Schedule

function Schedule:factor(epoch, metric)
  local kind = self.spec.kind
  if not (is_int(epoch) and epoch >= 1) then
    error(("schedule %s: factor(epoch): epoch must be an integer >= 1 (1 = first epoch), "
      .. "got %s"):format(kind, tostring(epoch)), 2)
  end
  if type(metric) == "table" then
    if kind ~= "plateau" then
      metric = nil
    else
      local name = self.spec.metric
      local v = metric[name]
      if type(v) ~= "number" then
        error(("schedule plateau: it watches '%s' but the previous epoch's metrics have "
          .. "%s; hold out validation data (ml.train{ valid = 0.1 }) or set plateau{ metric = "
          .. "\"train_loss\" }"):format(name, v == nil and "none" or ("a " .. type(v))), 2)
      end
      metric = v
    end
  elseif metric ~= nil and type(metric) ~= "number" then
    error(("schedule %s: factor(epoch, metric): metric must be a number, a table of "
      .. "metrics or nil, got %s"):format(kind, type(metric)), 2)
  end
  return factor_of[kind](self, epoch - 1, metric)
end

-- State for checkpoints: nil for stateless kinds.
function Schedule:state()
  if not self.st then return nil end
  local t = {}
  for k, v in pairs(self.st) do t[k] = v end
  return t
end

function Schedule:set_state(t)
  if not self.st then return end
  if type(t) ~= "table" or not is_num(t.factor) or not is_int(t.num_bad)
    or not is_int(t.cooldown) or not is_int(t.last) then
    error(("schedule %s: set_state expects a table saved by state()"):format(self.spec.kind),
      2)
  end
  for k, v in pairs(t) do self.st[k] = v end
end

function Schedule:__tostring()
  local parts = {}
  for _, o in ipairs(KINDS[self.spec.kind]) do
    local v = self.spec[o[1]]
    if type(v) == "table" then v = "{" .. table.concat(v, ", ") .. "}" end
    if type(v) == "string" then v = '"' .. v .. '"' end
    if v ~= nil then parts[#parts + 1] = o[1] .. "=" .. tostring(v) end
  end
  return self.spec.kind .. "{" .. table.concat(parts, ", ") .. "}"
end

-- A new schedule from a spec table; errors point at the caller's line.
function M.new(spec)
  local r, msg = resolve(spec)
  if not r then error(msg, 2) end
  local s = setmetatable({ spec = r }, Schedule)
  if r.kind == "plateau" then
    s.st = { factor = 1, best = nil, num_bad = 0, cooldown = 0, last = 0 }
  end
  return s
end

-- A schedule of `kind` with options `spec`, or nil and a message; `who` names the call.
local function of_kind(who, kind, spec)
  if type(kind) ~= "string" then
    return nil, ("%s: the kind must be a string such as \"cosine\", got %s"):format(
      who, type(kind))
  end
  if spec ~= nil and type(spec) ~= "table" then
    return nil, ("%s: expected an options table, got %s"):format(who, type(spec))
  end
  if spec and spec.kind ~= nil and spec.kind ~= kind then
    return nil, ("%s: the options say kind = %s; drop it or use schedule.new"):format(
      who, tostring(spec.kind))
  end
  local t = { kind = kind }
  for k, v in pairs(spec or {}) do t[k] = v end
  local r, msg = resolve(t)
  if not r then return nil, msg end
  return M.new(r)
end

-- Shorthands: schedule.cosine { t_max = 10 } == schedule.new { kind = "cosine", t_max = 10 }.
for _, kind in ipairs(KIND_NAMES) do
  M[kind] = function(spec)
    local s, msg = of_kind("schedule." .. kind, kind, spec)
    if not s then error(msg, 2) end
    return s
  end
end

M.kinds = KIND_NAMES

-- Calling the module, like ml.optimizer(name, options): schedule("cosine", { t_max = 10 }).
-- This is what recipes use as ml.schedule(kind, options).
return setmetatable(M, {
  __call = function(_, kind, spec)
    local s, msg = of_kind("schedule", kind, spec)
    if not s then error(msg, 2) end
    return s
  end,
})
