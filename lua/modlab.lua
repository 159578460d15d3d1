-- SPDX-License-Identifier: MIT
-- The recipe API: `local ml = require "modlab"`. Specs (layers, optimizers) are validated
-- when written, so a misspelt option points at the recipe line; models are built, and
-- datasets fetched, when training needs them.
local core = require "modlab.core"
local ffi, C = core.ffi, core.C

local ml = { version = ffi.string(C.ml_version()) }

-- Values of --set k=v (and sweep parameters) used by this recipe, for config.json.
ml.config = {}

-- A mistake in a --set value is bad usage: the command exits 2, as for a bad option.
local function set_error(msg, level)
  core.exit_status = 2
  error(msg, level + 1)
end

-- A --set number. An integer written out in decimal must be one a double holds exactly:
-- past 2^53 tonumber rounds to a neighbour (seed=9007199254740993 would silently train as
-- seed 9007199254740992), so that is an error, not a different value.
local function to_number(name, text)
  local v = tonumber(text)
  local sign, digits = text:match("^%s*([+-]?)0*(%d+)%s*$")
  if v and digits and math.abs(v) >= 2^53 and
     ("%.0f"):format(math.abs(v)) ~= digits then
    local near = (sign == "-" and "-" or "") .. ("%.0f"):format(math.abs(v))
    set_error(("--set %s=%s: not exactly representable as a number (a double holds every "
           .. "integer up to 2^53 = 9007199254740992, past it only some): give one it "
           .. "holds, such as %s"):format(name, text, near), 4)
  end
  return v
end

local function coerce(name, text, default)
  if type(default) == "number" then
    local v = to_number(name, text)
    if not v then set_error(("--set %s=%s: wants a number"):format(name, text), 3) end
    return v
  elseif type(default) == "boolean" then
    if text == "true" or text == "1" then return true end
    if text == "false" or text == "0" then return false end
    set_error(("--set %s=%s: wants true or false"):format(name, text), 3)
  elseif default == nil then
    if text == "true" then return true elseif text == "false" then return false end
    return to_number(name, text) or text
  end
  return text
end

-- ml.arg(name, default): the --set / sweep value of `name`, converted to the default's type.
function ml.arg(name, default)
  if type(name) ~= "string" then error("ml.arg: name must be a string", 2) end
  local text = core.args[name]
  local v
  if text == nil then
    if default == nil then
      error(("ml.arg: '%s' has no default and was not set (use --set %s=VALUE)"):format(
        name, name), 2)
    end
    v = default
  else
    v = coerce(name, text, default)
  end
  core.used_args = core.used_args or {}
  core.used_args[name] = true
  ml.config[name] = v
  return v
end

local graph = require "modlab.graph"
require "modlab.model"   -- gives every container its model methods (build, forward, ...)
-- Calling a layer spec on nodes (inside ml.graph) applies it there.
local layer_mt = { __tostring = function(l) return "layer " .. l.name end,
                   __call = graph.apply }

-- ml.layer(name, options): a layer spec, checked against the plugin's schema now.
function ml.layer(name, opts)
  if type(name) ~= "string" then error("ml.layer: the first argument is the layer name", 2) end
  if opts ~= nil and type(opts) ~= "table" then
    error("ml.layer: options must be a table", 2)
  end
  local json = core.check_options(core.KIND_LAYER, name, opts or {}, "layer " .. name, 3)
  return setmetatable({ kind = "layer", name = name, opts = opts or {}, json = json,
                        where = graph.where(2) }, layer_mt)
end

-- ml.transform(name, opts): a data augmentation transform, for ml.train{augment = {...}}.
function ml.transform(name, opts)
  local t = require("modlab.augment").transform(name, opts, 2)
  return t   -- not a tail call: errors and ml.transform's line need this frame
end

function ml.optimizer(name, opts)
  if type(name) ~= "string" then error("ml.optimizer: the first argument is its name", 2) end
  local json = core.check_options(core.KIND_OPTIMIZER, name, opts or {},
                                  "optimizer " .. name, 3)
  return { kind = "optimizer", name = name, opts = opts or {}, json = json }
end

function ml.loss(name, opts)
  local json = core.check_options(core.KIND_LOSS, name, opts or {}, "loss " .. name, 3)
  return { kind = "loss", name = name, opts = opts or {}, json = json }
end

-- Networks: chains, residuals, concatenations and general graphs (lua/modlab/graph.lua).
function ml.sequential(items) return graph.sequential(items, "ml.sequential", 2) end
ml.residual, ml.concat, ml.graph = graph.residual, graph.concat, graph.graph
ml.dataset = require("modlab.data").dataset
ml.schedule = require "modlab.schedule"

-- ml.train{...}: train and evaluate, writing a run directory. See lua/modlab/train.lua.
function ml.train(cfg)
  return require("modlab.train").run(ml, cfg, 2)
end

-- Floats for model:forward and parameter copies; files next to the recipe; a directory's
-- entries (names, kinds).
ml.floats = require("modlab.params").floats
function ml.here(name)
  return (core.recipe_dir or ".") .. "/" .. name
end
ml.listdir = core.listdir

-- ml.log{name = value, ...}: the recipe's own numbers in the epoch's metrics row.
function ml.log(values) return require("modlab.train_hooks").log(values, 2) end

-- ml.trainer{...}: the pieces of a step, for a recipe's own loop (lua/modlab/trainer.lua).
function ml.trainer(cfg)
  return require("modlab.train").trainer(ml, cfg, 2)
end

-- ml.evaluate{...}: loss and accuracy of a model on a split, optionally from a checkpoint.
function ml.evaluate(cfg)
  return require("modlab.train").evaluate(ml, cfg, 2)
end

return ml
