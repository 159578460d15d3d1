-- SPDX-License-Identifier: MIT
-- `modlab plugin new|check`: the third-party plugin SDK's commands. The conformance suite is
-- C (core/sdk/conformance.c, modlab/sdk.h); the project templates are modlab.sdk.templates.
local M = {}

local USAGE = [==[
usage: modlab plugin new NAME --kind layer|optimizer|dataset|router [--dir DIR]
       modlab plugin check FILE.so [--with DEPS] [--no-fork]

  new     write a ready out-of-tree plugin project into DIR (default: ./NAME): one C file,
          a Makefile using pkg-config, a gradient-check test and a recipe using the plugin
  check   load FILE.so alone and run the conformance suite (ABI, options, gradients,
          guarded buffers, save/load round trip, leaks); one verdict per line, exit 1 on
          any failure. --with DEPS: colon-separated plugins the checked one builds on.
          Checks run in a child process unless --no-fork, so a crash is a verdict.

See the plugin author's guide: PLUGINS.md (installed in the modlab doc directory).
]==]

local function usage_error(msg)
  io.stderr:write("modlab: plugin: ", msg, "\n", "Try 'modlab plugin help'.\n")
  return 2
end

local VERDICT = { [0] = "ok", [1] = "FAIL", [2] = "skip" }

local function cmd_check(core, args, i)
  local ffi, C = core.ffi, core.C
  local file, deps, flags = nil, nil, C.ML_CHECK_FORK
  while i <= #args do
    local a = args[i]
    if a == "--with" and args[i + 1] then deps = args[i + 1]; i = i + 2
    elseif a == "--no-fork" then flags = 0; i = i + 1
    elseif a:sub(1, 1) == "-" then return usage_error("check: unknown option '" .. a .. "'")
    elseif file then return usage_error("check: one plugin file at a time")
    else file = a; i = i + 1 end
  end
  if not file then return usage_error("check: which plugin? (modlab plugin check FILE.so)") end
  local f = io.open(file, "rb")
  if not f then
    io.stderr:write("modlab: plugin check: cannot open '", file, "'\n")
    return 1
  end
  f:close()
  local rep = C.ml_plugin_check(file, deps, flags, core.err)
  if rep == nil then
    io.stderr:write("modlab: plugin check: ", core.errmsg(), "\n")
    return 1
  end
  rep = ffi.gc(rep, C.ml_check_report_free)
  local n, counts = C.ml_check_count(rep), { [0] = 0, 0, 0 }
  for j = 0, n - 1 do
    local v = C.ml_check_verdict(rep, j)
    counts[v] = (counts[v] or 0) + 1
    print(("%-4s %-24s %-10s %s"):format(VERDICT[v] or "?",
      ffi.string(C.ml_check_entry(rep, j)), ffi.string(C.ml_check_name(rep, j)),
      ffi.string(C.ml_check_detail(rep, j))))
  end
  local failed = C.ml_check_failures(rep)
  print(("%s: %d passed, %d failed, %d skipped"):format(file, counts[0], failed, counts[2]))
  return failed > 0 and 1 or 0
end

-- ---- plugin new --------------------------------------------------------------------------

local KINDS = { layer = true, optimizer = true, dataset = true, router = true }

-- Crash-safe (temp name, fsync, rename): an interrupted `plugin new` leaves whole files.
local function write_file(path, text)
  local core = require "modlab.core"
  if core.C.ml_file_write_atomic(path, text, #text, core.err) ~= 0 then
    return nil, core.errmsg()
  end
  return true
end

local function cmd_new(core, args, i)
  local name, kind, dir
  while i <= #args do
    local a = args[i]
    if a == "--kind" and args[i + 1] then kind = args[i + 1]; i = i + 2
    elseif a:match("^%-%-kind=") then kind = a:sub(8); i = i + 1
    elseif a == "--dir" and args[i + 1] then dir = args[i + 1]; i = i + 2
    elseif a:sub(1, 1) == "-" then return usage_error("new: unknown option '" .. a .. "'")
    elseif name then
      return usage_error("new: one NAME (got '" .. name .. "' and '" .. a .. "')")
    else name = a; i = i + 1 end
  end
  if not name then
    return usage_error("new: which name? (modlab plugin new NAME --kind KIND)")
  end
  if not name:match("^[a-z][a-z0-9_]*$") or #name > 48 then
    return usage_error("new: NAME must be [a-z][a-z0-9_]* (it names the .so, its entry point "
      .. "ml_plugin_NAME_init and the registered entry), got '" .. name .. "'")
  end
  if not kind then
    return usage_error("new: --kind layer|optimizer|dataset|router is required")
  end
  if not KINDS[kind] then
    return usage_error("new: unknown kind '" .. kind .. "' (layer, optimizer, dataset, router)")
  end
  dir = dir or name
  local probe = io.open(dir .. "/Makefile", "rb")
  if probe then
    probe:close()
    io.stderr:write("modlab: plugin new: ", dir, "/Makefile exists; choose another --dir ",
      "(nothing was overwritten)\n")
    return 1
  end
  if core.C.ml_mkdirs(dir, core.err) ~= 0 then
    io.stderr:write("modlab: plugin new: ", core.errmsg(), "\n")
    return 1
  end
  local files = require("modlab.sdk.templates").render(kind, name,
    core.ffi.string(core.C.ml_version()))
  local names = {}
  for fname in pairs(files) do names[#names + 1] = fname end
  table.sort(names)
  for _, fname in ipairs(names) do
    local ok, err = write_file(dir .. "/" .. fname, files[fname])
    if not ok then
      io.stderr:write("modlab: plugin new: cannot write ", dir, "/", fname, ": ", err, "\n")
      return 1
    end
  end
  print(("wrote %s %s plugin project in %s/: %s"):format(
    kind == "optimizer" and "an" or "a", kind, dir, table.concat(names, ", ")))
  print(("next: cd %s && make check    (builds %s.so with pkg-config, runs its tests)"):format(
    dir, name))
  return 0
end

-- sdk.gradcheck(layer [, seed]): run every gradient-check case of `layer` (its
-- modlab.gradcheck/1 cases, or the default one) with the plugins loaded for this run.
-- Returns a list of { ok, options, max_rel_err, checked, message }; ok means every
-- max relative error (input, parameters, aux loss) is below TOLERANCE.
M.TOLERANCE = 1e-2
function M.gradcheck(layer, seed)
  local core = require "modlab.core"
  local ffi, C = core.ffi, core.C
  if type(layer) ~= "string" then error("sdk.gradcheck: give the layer's name", 2) end
  local reg = core.registry()
  if C.ml_registry_find(reg, core.KIND_LAYER, layer) < 0 then
    error(("sdk.gradcheck: no layer named '%s' is loaded (is its .so on --plugin-path?)")
      :format(layer), 2)
  end
  local out = {}
  local res, opts = ffi.new("ml_gradcheck_result"), ffi.new("const char *[1]")
  for i = 0, 1000 do
    local rc = C.ml_gradcheck_case_run(reg, layer, i, (seed or 1234) + i, res, opts, core.err)
    if rc == C.ML_ERR_NOT_FOUND and i > 0 then break end
    local r = { options = opts[0] ~= nil and ffi.string(opts[0]) or "", checked = 0,
                max_rel_err = 0 }
    if r.options == "" then r.options = "defaults" end
    if rc ~= 0 then
      r.ok, r.message, r.max_rel_err = false, core.errmsg(), math.huge
      out[#out + 1] = r
      break
    end
    r.max_rel_err = math.max(res.max_rel_err_input, res.max_rel_err_params, res.max_rel_err_aux)
    r.checked = tonumber(res.checked)
    r.ok = r.max_rel_err < M.TOLERANCE
    out[#out + 1] = r
  end
  return out
end

function M.main(core, args, i)
  local sub = args[i]
  if sub == "check" then return cmd_check(core, args, i + 1) end
  if sub == "new" then return cmd_new(core, args, i + 1) end
  if sub == nil or sub == "help" or sub == "--help" then
    io.stdout:write(USAGE)
    return sub and 0 or 2
  end
  return usage_error("unknown subcommand '" .. sub .. "' (new, check)")
end

return M
