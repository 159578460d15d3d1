-- SPDX-License-Identifier: MIT
-- What `modlab run` prints before the first epoch, on stderr: a table of the model (one row
-- per node: its number, layer, output shape and parameters, then the total) and the
-- resolved configuration, short by default (the settings one reads first when comparing
-- runs) and every key of config.json when verbose. Lines are built as strings (lines(),
-- config_lines()) so tests can read them without a run.
local core = require "modlab.core"
local json = require "modlab.util.json"
local C = core.C

local M = {}

-- `modlab run -v` sets core.verbose; MODLAB_VERBOSE=1 does the same for anything that
-- starts modlab (a sweep's trials, scripts).
function M.verbose()
  local env = os.getenv("MODLAB_VERBOSE")
  return core.verbose and true or (env ~= nil and env ~= "" and env ~= "0")
end

local function shape_text(dims)
  if not dims or #dims == 0 then return "scalar" end
  local t = {}
  for i, d in ipairs(dims) do t[i] = tostring(d) end
  return table.concat(t, "x")
end
M.shape_text = shape_text

-- 1234567 -> "1,234,567": totals of big models are read at a glance.
local function count_text(n)
  local s = tostring(math.floor(n))
  local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (out:gsub("^,", ""))
end
M.count_text = count_text

-- Trainable scalars per layer instance (index from 0), from the parameter names C gives
-- ("2.linear.weight": the layer number comes first, sublayers' parameters included), and
-- the scalars that do not train (buffers such as running statistics, structural masks).
local function layer_params(model)
  local per, frozen = {}, 0
  for _, p in ipairs(model:params()) do
    local li = tonumber(p.name:match("^(%d+)%."))
    if p.trainable then
      if li then per[li] = (per[li] or 0) + p.numel end
    else
      frozen = frozen + p.numel
    end
  end
  return per, frozen
end

-- The table as a list of lines. A node applying a layer again (tied weights) shows the
-- node it shares with and no parameters of its own, so the rows add up to the total.
function M.model_lines(model)
  local rows = { { "node", "layer", "output", "params" } }
  rows[2] = { "input", "-", shape_text(model.in_shape), "-" }
  local per, frozen = layer_params(model)
  local info = model.node_info or {}
  local outputs = {}
  for k = 0, C.ml_model_noutputs(model.handle) - 1 do
    outputs[C.ml_model_output_node(model.handle, k) + 1] = true
  end
  local multi = C.ml_model_noutputs(model.handle) > 1
  for i = 1, C.ml_model_nnodes(model.handle) do
    local n = info[i] or {}
    local layer = n.layer or "?"
    if n.tied_to then layer = ("%s (tied to %d)"):format(layer, n.tied_to) end
    if multi and outputs[i] then layer = layer .. " [output]" end
    local params = n.tied_to and "-" or count_text(per[n.layer_index] or 0)
    rows[#rows + 1] = { tostring(i), layer,
                        shape_text(core.shape_table(C.ml_model_out_shape(model.handle, i - 1))),
                        params }
  end
  local width = {}
  for _, r in ipairs(rows) do
    for c, v in ipairs(r) do width[c] = math.max(width[c] or 0, #v) end
  end
  local lines = {}
  for _, r in ipairs(rows) do
    -- Numbers right-aligned, text left-aligned; two spaces between columns.
    lines[#lines + 1] = ("%" .. width[1] .. "s  %-" .. width[2] .. "s  %-" .. width[3]
                         .. "s  %" .. width[4] .. "s"):format(r[1], r[2], r[3], r[4])
  end
  local total = ("total: %s trainable parameters"):format(count_text(model:nparams()))
  if frozen > 0 then total = total .. (" (and %s not trained)"):format(count_text(frozen)) end
  lines[#lines + 1] = total
  return lines
end

-- "adam lr=0.01": the optimizer and its learning rate, read from the resolved options.
local function optimizer_text(config)
  local o = config.optimizer or {}
  local opts = o.options and json.decode(o.options.text or "{}") or {}
  local lr = type(opts) == "table" and opts.lr
  return lr and ("%s lr=%s"):format(o.name, json.encode(lr)) or tostring(o.name)
end

-- config: the table written to config.json (lua/modlab/train.lua); dir: the run directory.
function M.config_lines(config, dir, verbose)
  local short = { ("dataset %s"):format(tostring(config.dataset)),
                  ("epochs %s"):format(tostring(config.epochs)),
                  ("batch %s"):format(tostring(config.batch)),
                  ("optimizer %s"):format(optimizer_text(config)),
                  ("seed %s"):format(tostring(config.seed)) }
  if config.loss then short[#short + 1] = "loss " .. tostring(config.loss.name) end
  if config.schedule then short[#short + 1] = "schedule " .. config.schedule end
  local lines = { "config: " .. table.concat(short, ", "),
                  ("run dir: %s (config.json holds every setting%s)"):format(dir,
                    verbose and "" or "; -v or MODLAB_VERBOSE=1 prints them") }
  if verbose then
    local keys = {}
    for k in pairs(config) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do
      local v = config[k]
      lines[#lines + 1] = ("  %s = %s"):format(k, type(v) == "string" and v or json.encode(v))
    end
  end
  return lines
end

function M.print(model, config, dir, out)
  out = out or io.stderr
  local verbose = M.verbose()
  for _, l in ipairs(M.model_lines(model)) do out:write(l, "\n") end
  for _, l in ipairs(M.config_lines(config, dir, verbose)) do out:write(l, "\n") end
  out:flush()
end

return M
