-- SPDX-License-Identifier: MIT
-- `modlab plugin new|check`: the third-party plugin SDK's commands. The conformance suite is
-- C (core/sdk/conformance.c, modlab/sdk.h); the project templates are modlab.sdk.templates.
local M = {}

local VERDICT = { [0] = "ok", [1] = "FAIL", [2] = "skip" }

-- `modlab plugin check FILE.so`; o: the parsed options (cli/commands.lua).
function M.cmd_check(core, o)
  local ffi, C = core.ffi, core.C
  local file, deps, flags = o.file, o.with, o.no_fork and 0 or C.ML_CHECK_FORK
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

-- Crash-safe (temp name, fsync, rename): an interrupted `plugin new` leaves whole files.
local function write_file(path, text)
  local core = require "modlab.core"
  if core.C.ml_file_write_atomic(path, text, #text, core.err) ~= 0 then
    return nil, core.errmsg()
  end
  return true
end

-- `modlab plugin new NAME --kind KIND`; o: the parsed options (the parser has checked
-- --kind against the kinds), usage(msg) reports a usage error.
function M.cmd_new(core, o, usage)
  local name, kind, dir = o.name, o.kind, o.dir
  if not name:match("^[a-z][a-z0-9_]*$") or #name > 48 then
    return usage("NAME must be [a-z][a-z0-9_]* (it names the .so, its entry point "
      .. "ml_plugin_NAME_init and the registered entry), got '" .. name .. "'")
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

return M
