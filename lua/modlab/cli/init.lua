-- SPDX-License-Identifier: MIT
-- The modlab command line: global options, the command, its options (parsed by cli/args.lua
-- from the table in cli/commands.lua), then the command's handler. Exit codes: 0 ok, 1 a
-- failure in the experiment, 2 bad usage (one line on stderr, never a traceback).
local commands = require "modlab.cli.commands"
local args_mod = require "modlab.cli.args"
local run = require "modlab.cli.run"
local suggest = require "modlab.util.suggest"
local M = {}

-- A usage error of `cmd` (a commands.lua entry, or nil for the global level): one line,
-- with where to read more.
local function usage_error(cmd, msg)
  local see = msg:find("%?$") and " See" or "; see"
  if cmd then
    io.stderr:write(("modlab %s: %s%s 'modlab %s --help'\n"):format(cmd.name, msg, see, cmd.name))
  else
    io.stderr:write(("modlab: %s%s 'modlab --help'\n"):format(msg, see))
  end
  return 2
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

local function opt_type_name(t)
  return ({ "int", "float", "bool", "string" })[t] or "?"
end

local function describe_entry(core, reg, j)
  local ffi, C = core.ffi, core.C
  local e = C.ml_registry_entry(reg, j)
  print(("%s %s %s (ABI %d.%d) from %s"):format(core.kind_name(e.kind), ffi.string(e.name),
    ffi.string(e.version), e.abi_major, e.abi_minor, ffi.string(C.ml_registry_entry_path(reg, j))))
  print("  " .. ffi.string(e.summary))
  if e.options ~= nil and e.options[0].name ~= nil then print("options:") end
  local k = 0
  while e.options ~= nil and e.options[k].name ~= nil do
    local o = e.options[k]
    local def = o.def ~= nil and ffi.string(o.def) or "(required)"
    local choices = o.choices ~= nil and (" [" .. ffi.string(o.choices) .. "]") or ""
    print(("  %-16s %-6s %-12s %s%s"):format(ffi.string(o.name), opt_type_name(o.type), def,
      o.doc ~= nil and ffi.string(o.doc) or "", choices))
    k = k + 1
  end
end

local function cmd_plugins(core, o)
  local ffi, C = core.ffi, core.C
  local reg = core.registry()
  local n = C.ml_registry_count(reg)
  local names = {}
  for j = 0, n - 1 do names[#names + 1] = ffi.string(C.ml_registry_entry(reg, j).name) end
  if o.describe then
    local found = false
    for j = 0, n - 1 do
      if names[j + 1] == o.describe then describe_entry(core, reg, j); found = true end
    end
    if not found then
      io.stderr:write("modlab: no plugin entry named '", o.describe, "'",
        suggest.hint(o.describe, names), " (`modlab plugins` lists them)\n")
      return 1
    end
    return 0
  end
  if o.names then
    for _, name in ipairs(names) do print(name) end
    return 0
  end
  print(("%-10s %-16s %-8s %-4s %s"):format("KIND", "NAME", "VERSION", "ABI", "PATH"))
  for j = 0, n - 1 do
    local e = C.ml_registry_entry(reg, j)
    print(("%-10s %-16s %-8s %-4s %s"):format(core.kind_name(e.kind), ffi.string(e.name),
      ffi.string(e.version), ("%d.%d"):format(e.abi_major, e.abi_minor),
      ffi.string(C.ml_registry_entry_path(reg, j))))
  end
  if n == 0 then
    io.stderr:write("modlab: no plugins found (check --plugin-path or MODLAB_PLUGIN_PATH)\n")
  end
  return 0
end

-- `modlab data ...`: parsed here like every command, run by the C dataset tool.
local function cmd_data(core, action, o)
  local argv = { "data", action }
  for _, name in ipairs(o.names or {}) do argv[#argv + 1] = name end
  local c = core.ffi.new("char *[?]", #argv + 1)
  local keep = {}
  for k, a in ipairs(argv) do
    keep[k] = core.ffi.new("char[?]", #a + 1, a)
    c[k - 1] = keep[k]
  end
  io.stdout:flush()
  return core.C.ml_data_main(#argv, c)
end

local function cmd_help(o)
  local words = o.command or {}
  if #words == 0 then
    io.stdout:write(o.man and require("modlab.cli.docs").man() or args_mod.global_help())
    return 0
  end
  local name = table.concat(words, " ")
  local cmd = commands.by_name[name]
  if not cmd then
    return usage_error(commands.by_name.help, ("no command '%s'%s"):format(name,
      suggest.hint(name, commands.names)))
  end
  io.stdout:write(args_mod.command_help(cmd))
  return 0
end

-- The handlers: name -> function(core, o, usage) returning the exit status.
local handlers = {
  run = function(core, o, usage)
    local status = run.cmd(core, o, usage)
    -- core.run_dirs: every run directory the recipe created (rundir.lua), even if it failed.
    if o.report and core.run_dirs and status ~= 2 then
      return with_reports(status, core.run_dirs)
    end
    return status
  end,
  sweep = function(_, o)
    local h = {}
    local status = require("modlab.sweep").cmd_sweep(o, h)
    -- h.dir: the sweep directory, once cmd_sweep has resolved it (not for --dry-run).
    if o.report and h.dir and status ~= 2 then return with_reports(status, { h.dir }) end
    return status
  end,
  ["sweep export"] = function(_, o) return require("modlab.sweep").cmd_export(o) end,
  ["sweep plan"] = function(_, o)
    o.plan_only = true
    return require("modlab.sweep").cmd_sweep(o, {})
  end,
  ["sweep pending"] = function(_, o) return require("modlab.sweep").cmd_pending(o) end,
  trial = function(core, o, usage)
    return require("modlab.sweep").cmd_trial(o, { usage_error = usage, run_chunk = run.run_chunk })
  end,
  plugins = cmd_plugins,
  ["plugin new"] = function(core, o, usage) return require("modlab.sdk").cmd_new(core, o, usage) end,
  ["plugin check"] = function(core, o) return require("modlab.sdk").cmd_check(core, o) end,
  ["data list"] = function(core, o) return cmd_data(core, "list", o) end,
  ["data fetch"] = function(core, o) return cmd_data(core, "fetch", o) end,
  ["data verify"] = function(core, o) return cmd_data(core, "verify", o) end,
  report = function(_, o) return require("modlab.report").cmd(o) end,
  version = function(core)
    print("modlab " .. core.ffi.string(core.C.ml_version()))
    print(core.build_info())
    return 0
  end,
  completion = function(_, o)
    io.stdout:write(require("modlab.cli.docs").completion(o.shell))
    return 0
  end,
  help = function(_, o) return cmd_help(o) end,
}
M.handlers = handlers

-- Global options (before the command): sets core fields; returns the next index, or nil
-- and the exit status.
local function global_options(core, args, i)
  while args[i] and args[i]:sub(1, 1) == "-" and args[i] ~= "-" do
    local a = args[i]
    local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
    name = name or a
    local o
    for _, g in ipairs(commands.global) do
      if g.long == name or g.short == name then o = g end
    end
    if not o then
      local names = {}
      for _, g in ipairs(commands.global) do names[#names + 1] = g.long end
      return nil, usage_error(nil, ("unknown option '%s'%s (options of a command go after "
        .. "it)"):format(name, suggest.hint(name, names)))
    end
    if o.long == "--help" then io.stdout:write(args_mod.global_help()) return nil, 0 end
    if o.long == "--version" then return nil, handlers.version(core) end
    local v = inline
    if v == nil then
      v = args[i + 1]
      if v == nil then return nil, usage_error(nil, o.long .. " wants " .. o.arg) end
      i = i + 1
    end
    local cv, why = args_mod.convert(o, v, o.long)
    if cv == nil then return nil, usage_error(nil, why) end
    core[args_mod.key_of(o)] = cv
    i = i + 1
  end
  return i
end

function M.main(args)
  local core = require "modlab.core"
  core.argv = args
  local buf = core.ffi.new("char[4096]")
  core.cwd = core.C.getcwd(buf, 4096) ~= nil and core.ffi.string(buf) or nil
  local i, status = global_options(core, args, 1)
  if not i then return status end
  local name = args[i]
  if not name then return run.quickstart(core) end
  local cmd = commands.by_name[name]
  if not cmd or name:find(" ") then
    return usage_error(nil, ("unknown command '%s'%s"):format(name,
      suggest.hint(name, commands.top)))
  end
  i = i + 1
  -- A command with subcommands: the next word names one (`modlab sweep export ...`); only
  -- `sweep` also runs on its own (`modlab sweep FILE.yaml`).
  if cmd.subcommands then
    local sub = args[i] and commands.by_name[name .. " " .. args[i]]
    if sub then
      cmd, i = sub, i + 1
    elseif not handlers[name] then
      local word = args[i]
      if word == "--help" or word == "-h" or word == "help" then
        io.stdout:write(args_mod.command_help(cmd))
        return 0
      end
      if not word then
        return usage_error(cmd, ("which one? (%s)"):format(table.concat(cmd.subcommands, ", ")))
      end
      return usage_error(cmd, ("unknown subcommand '%s'%s"):format(word,
        suggest.hint(word, cmd.subcommands)))
    end
  end
  local o, why = args_mod.parse(cmd, args, i)
  if o == "help" then io.stdout:write(args_mod.command_help(cmd)) return 0 end
  local function usage(msg) return usage_error(cmd, msg) end
  if not o then return usage(why) end
  return handlers[cmd.name](core, o, usage)
end

return M
