-- SPDX-License-Identifier: MIT
-- The modlab command line (all but `modlab data`, which is C). Exit codes: 0 ok, 1 failure
-- in the experiment, 2 bad usage.
local M = {}

local USAGE = [==[
usage: modlab [GLOBAL OPTIONS] [COMMAND [ARGS]]

  modlab                               run the built-in quickstart (Fashion-MNIST MLP)
  modlab run RECIPE.lua [--set k=v]... [--out DIR] [--report]
                                       run a recipe; --set values reach it through ml.arg
  modlab run [RECIPE.lua] --resume DIR continue a stopped run in DIR from its last
                                       checkpoint, with the arguments in DIR/config.json
  modlab sweep SWEEP.yaml [-j N] [--resume] [--dry-run] [--launcher local|slurm]
                                       run a parameter sweep (W&B sweep files; see
                                       `modlab sweep --help`)
  modlab trial SWEEP_DIR --index I     run one trial of a sweep (done ones do nothing)
  modlab plugins [--describe NAME]     list the loaded plugins, or document one entry
  modlab plugin new NAME --kind KIND   write an out-of-tree plugin project (layer, optimizer,
                                       dataset, router)
  modlab plugin check FILE.so          run the conformance suite on a plugin
  modlab data list | fetch NAME | verify NAME
                                       dataset manifests, downloads and the cache
  modlab report DIR                    DIR/report.html: plots of a run or a sweep, one file
                                       that opens offline (`run`/`sweep` take --report)
  modlab version                       versions of modlab and its libraries
  modlab help                          this text

global options:
  --plugin-path DIRS    colon-separated plugin dirs or .so files, searched first; a
                        relative entry is taken from the current directory (only here:
                        relative MODLAB_PLUGIN_PATH entries are refused), an empty one is
                        ignored; directories or files others can write are refused unless
                        MODLAB_ALLOW_INSECURE_PLUGINS=1 (see PLUGINS.md)
  --threads N           BLAS threads (default: OpenBLAS's own setting)

environment: MODLAB_PLUGIN_PATH (absolute entries), MODLAB_ALLOW_INSECURE_PLUGINS=1,
             MODLAB_DATA_DIR, MODLAB_MIRROR, MODLAB_OFFLINE=1, MODLAB_FETCH_LOW_SPEED_TIME,
             MODLAB_RUNS (default output dir, "runs"), MODLAB_LOG=debug|info|warn|error
]==]

local function usage_error(msg)
  io.stderr:write("modlab: ", msg, "\n", "Try 'modlab help'.\n")
  return 2
end

-- Run a recipe chunk under pcall with a traceback; errors name the recipe's file and line.
local function run_chunk(core, chunk, name)
  local ok, err = xpcall(chunk, function(e)
    local msg = tostring(e)
    return debug.traceback(msg, 2)
  end)
  if not ok then
    local first, rest = err:match("^(.-)\n(.*)$")
    io.stderr:write("modlab: error: ", first or err, "\n")
    if rest and os.getenv("MODLAB_TRACEBACK") ~= "0" then io.stderr:write(rest, "\n") end
    return 1
  end
  return 0
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

local function cmd_run(core, args, i)
  local recipe, resume_dir
  local sets = {}
  while i <= #args do
    local a = args[i]
    if a == "--resume" then
      if not args[i + 1] then return usage_error("--resume wants a run directory") end
      resume_dir = args[i + 1]
      i = i + 2
    elseif a == "--set" or a:match("^%-%-set=") then
      local k, v = parse_set(a == "--set" and args[i + 1] or a:sub(7))
      if not k then return usage_error(v) end
      sets[k] = v
      i = i + (a == "--set" and 2 or 1)
    elseif a == "--out" then
      if not args[i + 1] then return usage_error("--out wants a directory") end
      core.out_dir = args[i + 1]
      i = i + 2
    elseif a:sub(1, 1) == "-" and a ~= "-" then
      return usage_error("run: unknown option '" .. a .. "'")
    elseif recipe then
      return usage_error("run: one recipe at a time (got '" .. recipe .. "' and '" .. a .. "')")
    else
      recipe = a
      i = i + 1
    end
  end
  if resume_dir then
    if next(sets) or core.out_dir then
      return usage_error("--resume reruns with the arguments in " .. resume_dir
        .. "/config.json, into that directory: drop --set and --out")
    end
    recipe, sets = resume_args(core, resume_dir, recipe)
    if not recipe then return usage_error(sets) end
    if recipe == "(built-in quickstart)" then return M.quickstart(core, sets) end
  end
  if not recipe then return usage_error("run: which recipe? (modlab run RECIPE.lua)") end
  core.args = sets
  local chunk, err = loadfile(recipe)
  if not chunk then
    local f = io.open(recipe, "r")
    if not f then return usage_error("run: cannot open recipe '" .. recipe .. "'") end
    f:close()
    io.stderr:write("modlab: error: ", err, "\n")
    return 1
  end
  core.recipe_path = recipe
  core.recipe_dir = recipe:match("^(.*)/[^/]*$") or "."
  core.recipe_name = (recipe:match("([^/]+)%.lua$") or recipe:match("([^/]+)$"))
  arg = { [0] = recipe }
  return run_chunk(core, chunk, recipe)
end

function M.quickstart(core, sets)
  core.args = sets or {}
  core.recipe_path = "(built-in quickstart)"
  core.recipe_name = "quickstart"
  return run_chunk(core, function() return require("recipes.quickstart") end, "quickstart")
end

local function opt_type_name(t)
  return ({ "int", "float", "bool", "string" })[t] or "?"
end

local function cmd_plugins(core, args, i)
  local ffi, C = core.ffi, core.C
  local describe
  while i <= #args do
    if args[i] == "--describe" and args[i + 1] then describe = args[i + 1]; i = i + 2
    else return usage_error("plugins: unknown argument '" .. args[i] .. "'") end
  end
  local reg = core.registry()
  local n = C.ml_registry_count(reg)
  if describe then
    local found = false
    for j = 0, n - 1 do
      local e = C.ml_registry_entry(reg, j)
      if ffi.string(e.name) == describe then
        found = true
        print(("%s %s %s (ABI %d.%d) from %s"):format(core.kind_name(e.kind), ffi.string(e.name),
          ffi.string(e.version), e.abi_major, e.abi_minor, ffi.string(C.ml_registry_entry_path(reg, j))))
        print("  " .. ffi.string(e.summary))
        local k = 0
        if e.options ~= nil and e.options[0].name ~= nil then print("options:") end
        while e.options ~= nil and e.options[k].name ~= nil do
          local o = e.options[k]
          local def = o.def ~= nil and ffi.string(o.def) or "(required)"
          local choices = o.choices ~= nil and (" [" .. ffi.string(o.choices) .. "]") or ""
          print(("  %-16s %-6s %-12s %s%s"):format(ffi.string(o.name), opt_type_name(o.type), def,
            o.doc ~= nil and ffi.string(o.doc) or "", choices))
          k = k + 1
        end
      end
    end
    if not found then
      io.stderr:write("modlab: no plugin entry named '", describe, "' (see `modlab plugins`)\n")
      return 1
    end
    return 0
  end
  print(("%-10s %-16s %-8s %-4s %s"):format("KIND", "NAME", "VERSION", "ABI", "PATH"))
  for j = 0, n - 1 do
    local e = C.ml_registry_entry(reg, j)
    print(("%-10s %-16s %-8s %-4s %s"):format(core.kind_name(e.kind), ffi.string(e.name),
      ffi.string(e.version), ("%d.%d"):format(e.abi_major, e.abi_minor),
      ffi.string(C.ml_registry_entry_path(reg, j))))
  end
  if n == 0 then io.stderr:write("modlab: no plugins found (check --plugin-path or MODLAB_PLUGIN_PATH)\n") end
  return 0
end

-- Remove every `flag` from args[i..]; true if there was one.
local function strip_flag(args, i, flag)
  local found = false
  for j = #args, i, -1 do
    if args[j] == flag then table.remove(args, j); found = true end
  end
  return found
end

-- `--report`: write report.html in each directory; a report that fails makes a successful
-- command fail (1), and never hides the command's own failure.
local function with_reports(status, dirs)
  for _, dir in ipairs(dirs) do
    local path, err = require("modlab.report").write(dir)
    if path then print("report: " .. path)
    else
      io.stderr:write("modlab: error: ", err, "\n")
      if status == 0 then status = 1 end
    end
  end
  return status
end

-- The commands, for "did you mean".
local COMMANDS = { "run", "plugins", "plugin", "sweep", "trial", "report", "data", "help",
                   "version" }

function M.main(args)
  local core = require "modlab.core"
  core.argv = args
  local buf = core.ffi.new("char[4096]")
  core.cwd = core.C.getcwd(buf, 4096) ~= nil and core.ffi.string(buf) or nil
  local i = 1
  if args[i] == "-V" then args[i] = "--version" end
  if args[i] == "-h" then args[i] = "--help" end
  while args[i] and args[i]:sub(1, 2) == "--" do
    local a = args[i]
    if a == "--plugin-path" and args[i + 1] then core.plugin_path = args[i + 1]; i = i + 2
    elseif a == "--threads" then
      local n = tonumber(args[i + 1] or "")
      local why = core.int_error(n, 1, 1024)   -- the range ml.train's `threads` has
      if why then
        return usage_error(("--threads wants %s"):format(
          n and why or why:gsub("; got .*", ("; got '%s'"):format(args[i + 1] or ""))))
      end
      core.threads = n
      i = i + 2
    elseif a == "--help" then io.stdout:write(USAGE) return 0
    elseif a == "--version" then args[i] = "version"; break
    else return usage_error("unknown option '" .. a .. "'") end
  end
  local cmd = args[i]
  if not cmd then return M.quickstart(core) end
  if cmd == "run" then
    local report = strip_flag(args, i + 1, "--report")
    local status = cmd_run(core, args, i + 1)
    -- core.run_dirs: every run directory the recipe created (rundir.lua), even if it failed.
    if report and core.run_dirs then return with_reports(status, core.run_dirs) end
    return status
  end
  if cmd == "plugins" then return cmd_plugins(core, args, i + 1) end
  if cmd == "plugin" then return require("modlab.sdk").main(core, args, i + 1) end
  if cmd == "help" or cmd == "-h" then io.stdout:write(USAGE) return 0 end
  if cmd == "version" then
    print("modlab " .. core.ffi.string(core.C.ml_version()))
    print(core.build_info())
    return 0
  end
  if cmd == "sweep" or cmd == "trial" then
    local h = { usage_error = usage_error, run_chunk = run_chunk }
    local sweep = require "modlab.sweep"
    if cmd == "sweep" then
      local report = strip_flag(args, i + 1, "--report")
      local status = sweep.cmd_sweep(args, i + 1, h)
      -- h.dir: the sweep directory, once cmd_sweep has resolved it (not for --dry-run);
      -- after a usage error (2) there is nothing to report on.
      if report and h.dir and status ~= 2 then return with_reports(status, { h.dir }) end
      return status
    end
    return sweep.cmd_trial(args, i + 1, h)
  end
  if cmd == "report" then
    return require("modlab.report").cmd(args, i + 1, { usage_error = usage_error })
  end
  local near = require("modlab.sweep.checks").closest(cmd, COMMANDS)
  return usage_error("unknown command '" .. cmd .. "'" ..
    (near and ("; did you mean '%s'?"):format(near) or ""))
end

return M
