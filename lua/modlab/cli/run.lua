-- SPDX-License-Identifier: MIT
-- `modlab run` and the built-in quickstart: load a recipe, run it, and report its errors
-- as `file:line: message` (the recipe's line), with a traceback only under MODLAB_LOG=debug.
local M = {}

local function debug_log()
  return os.getenv("MODLAB_LOG") == "debug"
end

-- An error located in modlab's own Lua (chunk names modlab/..., modlab.lua) rather than in
-- a recipe is a bug in modlab or a misuse it failed to name: say how to see where it was.
local function internal(msg)
  return msg:match("^modlab[/.][%w_/]*%.?l?u?a?:%d+:") ~= nil
end

-- Run a recipe chunk; 0, or the exit status of its error (core.exit_status: 2 for a usage
-- mistake such as a bad --set value, else 1).
function M.run_chunk(core, chunk)
  local ok, err = xpcall(chunk, function(e)
    return { msg = tostring(e), trace = debug.traceback("", 2) }
  end)
  if ok then return 0 end
  io.stderr:write("modlab: error: ", err.msg, "\n")
  if debug_log() then
    io.stderr:write(err.trace:gsub("^\n", ""), "\n")
  elseif internal(err.msg) then
    io.stderr:write("modlab: (this error comes from inside modlab; MODLAB_LOG=debug shows "
      .. "the traceback for a bug report)\n")
  end
  return core.exit_status or 1
end

-- The recipe and --set values of `modlab run --resume DIR`, from DIR/config.json: the
-- same arguments make the same numbers, so the run continues where its checkpoint stopped.
local function resume_args(core, dir, recipe)
  local text = require("modlab.util.file").read(dir .. "/config.json")
  if not text then
    return nil, ("--resume %s: no config.json there: give the directory of a run (one "
      .. "that ml.train wrote)"):format(dir)
  end
  local cfg, err = require("modlab.util.json").decode(text)
  if type(cfg) ~= "table" then
    return nil, ("--resume %s: config.json is unreadable (%s)"):format(dir, err or "?")
  end
  local sets = {}
  for k, v in pairs(type(cfg.set) == "table" and cfg.set or {}) do sets[k] = tostring(v) end
  -- Older run directories have only the values read before ml.train.
  local old = type(cfg.set) ~= "table" and type(cfg.args) == "table" and cfg.args or {}
  for k, v in pairs(old) do
    if type(v) == "number" then
      sets[k] = require("modlab.util.number").text(v)
    else sets[k] = tostring(v) end
  end
  recipe = recipe or cfg.recipe
  if type(recipe) ~= "string" then
    return nil, ("--resume %s: config.json names no recipe: give it (modlab run RECIPE.lua "
      .. "--resume %s)"):format(dir, dir)
  end
  if recipe:sub(1, 1) ~= "/" and recipe:sub(1, 1) ~= "(" and not io.open(recipe, "r") and
     type(cfg.cwd) == "string" then
    recipe = cfg.cwd .. "/" .. recipe   -- relative to where the run was started
  end
  core.resume_dir, core.resume_config = dir, cfg
  if not core.threads and type(cfg.blas_threads) == "number" then
    core.threads = cfg.blas_threads
  end
  return recipe, sets
end

-- `--set k=v`: the key and value, or nil and the usage message. A key is what ml.arg
-- names, so it is never empty and holds no control characters (it is echoed in messages
-- and written to config.json); the value may be anything, even empty.
local function parse_set(kv)
  local k, v = (kv or ""):match("^([^=]+)=(.*)$")
  if not k or k:find("%c") then
    return nil, ("--set wants key=value (got '%s'): the key is a name, e.g. --set lr=0.01")
      :format((kv or ""):gsub("%c", "?"))
  end
  return k, v
end

function M.quickstart(core, sets)
  core.args = sets or {}
  core.recipe_path = "(built-in quickstart)"
  core.recipe_name = "quickstart"
  return M.run_chunk(core, function() return require("recipes.quickstart") end)
end

-- Why `recipe` cannot be opened, in words (the errno text), or nil when it can.
local function open_error(recipe)
  local f, err = io.open(recipe, "r")
  if f then f:close() return nil end
  return (err or ""):match(": ([^:]+)$") or err
end

-- o: the parsed options of `run` (cli/commands.lua). usage(msg) reports a usage error.
function M.cmd(core, o, usage)
  local sets = {}
  for _, kv in ipairs(o.set or {}) do
    local k, v = parse_set(kv)
    if not k then return usage(v) end
    if sets[k] ~= nil and sets[k] ~= v then
      return usage(("--set %s given twice (%s and %s): give it once"):format(k, sets[k], v))
    end
    sets[k] = v
  end
  if (o.out and o.run_dir) then return usage("--out and --run-dir: give one") end
  core.out_dir, core.run_dir, core.verbose = o.out, o.run_dir, o.verbose or core.verbose
  local recipe = o.recipe
  if o.resume then
    if next(sets) or o.out or o.run_dir then
      return usage("--resume reruns with the arguments in " .. o.resume
        .. "/config.json, into that directory: drop --set, --out and --run-dir")
    end
    recipe, sets = resume_args(core, o.resume, recipe)
    if not recipe then return usage(sets) end
    if recipe == "(built-in quickstart)" then return M.quickstart(core, sets) end
  end
  if not recipe then return usage("which recipe? (modlab run RECIPE.lua)") end
  core.args = sets
  local why = open_error(recipe)
  if why then
    return usage(("cannot open recipe '%s': %s"):format(recipe, why:lower()))
  end
  local chunk, err = loadfile(recipe)
  if not chunk then
    io.stderr:write("modlab: error: ", err, "\n")
    return 1
  end
  core.recipe_path = recipe
  core.recipe_dir = recipe:match("^(.*)/[^/]*$") or "."
  core.recipe_name = (recipe:match("([^/]+)%.lua$") or recipe:match("([^/]+)$"))
  arg = { [0] = recipe }
  return M.run_chunk(core, chunk)
end

return M
