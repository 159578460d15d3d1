-- SPDX-License-Identifier: MIT
-- Plans: reading and expanding a sweep file (ml_sweep_load), the stored plan of a sweep
-- directory (sweep.json, checked: it is data), a trial's arguments, the sweep's name and
-- the recipe it runs.
local core = require "modlab.core"
local json = require "modlab.util.json"
local read_file = require("modlab.util.file").read
local exists = require("modlab.util.file").exists
local ffi, C = core.ffi, core.C
local abspath = require("modlab.sweep.host").abspath

local M = {}

-- Read and expand a sweep file. Returns the plan or nil, message.
function M.load(path)
  local s = C.ml_sweep_load(path, core.err)
  if s == nil then return nil, core.errmsg(), tonumber(core.err.code) end
  s = ffi.gc(s, C.ml_sweep_free)
  local plan = assert(json.decode(ffi.string(C.ml_sweep_json(s))))
  return plan
end

-- args of trial t as a name -> text map (what ml.arg sees), and as a list of "k=v".
local function trial_args(plan, t)
  local map, list = {}, {}
  for j, name in ipairs(plan.columns) do
    map[name] = t.args[j]
    list[#list + 1] = name .. "=" .. t.args[j]
  end
  return map, list
end

-- The sweep's name: its `name:` (ml_sweep_load checked it), else the stem of the file (or
-- of the directory resumed) made safe. Either way one path component by the rule of
-- ml_sweep_check_name: never "." or "..", never a path, nothing a shell would read.
local function sweep_name(plan, file)
  if plan.name then return plan.name end
  local base = file:gsub("/+$", "")
  local stem = base:match("([^/]+)%.ya?ml$") or base:match("([^/]*)$")
  stem = stem:gsub("[^%w_.-]", "_"):gsub("%.%.+", "_"):gsub("^[.-]", "_")
             :sub(1, C.ML_SWEEP_NAME_MAX)
  if stem == "" then stem = "sweep" end
  assert(C.ml_sweep_check_name(stem, "the sweep's name", core.err) == 0, core.errmsg())
  return stem
end

local function load_plan_dir(dir)
  local text = read_file(dir .. "/sweep.json")
  if not text then
    return nil, ("%s is not a sweep directory (no sweep.json): run `modlab sweep FILE.yaml` "
      .. "first"):format(dir)
  end
  local plan, err = json.decode(text)
  if not plan then return nil, dir .. "/sweep.json: " .. err end
  -- sweep.json is data (a copied or edited sweep directory): its ids become paths under
  -- trials/ and locks/, so each must be what the planner writes, 12 hex digits.
  if type(plan.trials) ~= "table" then
    return nil, dir .. "/sweep.json: no trials list; re-plan it with `modlab sweep FILE.yaml`"
  end
  for k, t in ipairs(plan.trials) do
    local id = type(t) == "table" and t.id
    if type(id) ~= "string" or not id:match("^" .. ("%x"):rep(12) .. "$") then
      return nil, ("%s/sweep.json: trial %d has no valid id (12 hex digits): the file was "
        .. "edited or damaged; re-plan it with `modlab sweep FILE.yaml`"):format(dir, k - 1)
    end
  end
  if plan.name ~= nil and C.ml_sweep_check_name(tostring(plan.name), "sweep.json name",
                                                core.err) ~= 0 then
    return nil, dir .. "/sweep.json: " .. core.errmsg()
  end
  return plan
end

-- The recipe a sweep runs, as an absolute path: as given, else relative to the sweep file's
-- directory, else (resuming) the one the stored plan ran. It must be a regular file we can
-- read now, at plan time, not something every trial discovers by failing.
local function resolve_program(plan, file, dir)
  local program = plan.program
  local function usable(p) return C.ml_sweep_check_program(p, "program", core.err) == 0 end
  if program:sub(1, 1) ~= "/" then
    local fdir = file:match("^(.*)/[^/]*$") or "."
    if usable(program) then return abspath(program) end
    if usable(fdir .. "/" .. program) then return abspath(fdir .. "/" .. program) end
    if exists(dir .. "/sweep.json") then
      local old = load_plan_dir(dir)
      if old and old.program_path and usable(old.program_path) then return old.program_path end
    end
  end
  if not usable(program) then
    return nil, core.errmsg() .. (program:sub(1, 1) ~= "/" and " (looked relative to the "
      .. "current directory and to the sweep file)" or "")
  end
  return program
end

M.trial_args = trial_args
M.sweep_name = sweep_name
M.load_plan_dir = load_plan_dir
M.resolve_program = resolve_program

return M
