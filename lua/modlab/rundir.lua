-- SPDX-License-Identifier: MIT
-- Run directories: runs/<name>-<utc time>/ with config.json, meta.json, metrics.jsonl,
-- timing.jsonl, summary.json, model.safetensors and log.txt. Whole-file writes go through
-- ml_file_write_atomic (temp, fsync, rename), so a crash never leaves a torn summary.
local core = require "modlab.core"
local json = require "modlab.json"
local ffi, C = core.ffi, core.C

local M = {}
M.__index = M

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

-- A sweep trial (`modlab trial`, or MODLAB_TRIAL_DIR) writes into its own fixed directory.
function M.create(name, base)
  local dir = core.trial_dir or os.getenv("MODLAB_TRIAL_DIR")
  if not dir or dir == "" then
    local stamp = os.date("!%Y%m%d-%H%M%S")
    dir = ("%s/%s-%s"):format(base, name, stamp)
    local n = 1
    while exists(dir) do
      n = n + 1
      dir = ("%s/%s-%s-%d"):format(base, name, stamp, n)
    end
  end
  if C.ml_mkdirs(dir, core.err) ~= 0 then return nil, core.errmsg() end
  -- `modlab run --report` writes a report in each directory the recipe created.
  core.run_dirs = core.run_dirs or {}
  core.run_dirs[#core.run_dirs + 1] = dir
  local rd = setmetatable({ dir = dir }, M)
  rd.log_fh = assert(io.open(dir .. "/log.txt", "a"))
  rd.metrics_fh = assert(io.open(dir .. "/metrics.jsonl", "a"))
  rd.timing_fh = assert(io.open(dir .. "/timing.jsonl", "a"))
  return rd
end

function M:write_json(file, value)
  local text = json.encode(value) .. "\n"
  if C.ml_file_write_atomic(self.dir .. "/" .. file, text, #text, core.err) ~= 0 then
    error(core.errmsg(), 0)
  end
end

local function append(fh, value)
  fh:write(json.encode(value), "\n")
  fh:flush()
end

-- core.on_metric (set by `modlab trial` for early termination) sees every logged row.
function M:metric(row)
  append(self.metrics_fh, row)
  if core.on_metric then core.on_metric(row) end
end
function M:timing(row) append(self.timing_fh, row) end

-- A line for the person watching (stdout) and for log.txt.
function M:log(line)
  io.stdout:write(line, "\n")
  io.stdout:flush()
  self.log_fh:write(line, "\n")
  self.log_fh:flush()
end

function M:close()
  for _, k in ipairs({ "log_fh", "metrics_fh", "timing_fh" }) do
    if self[k] then self[k]:close() self[k] = nil end
  end
end

function M.iso_now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

-- Git commit of the directory holding the recipe, if it is in a repository.
function M.git_commit(dir)
  local p = io.popen(("git -C %q rev-parse HEAD 2>/dev/null"):format(dir or "."))
  if not p then return nil end
  local out = p:read("*l")
  p:close()
  return out
end

-- Every loaded plugin entry: kind, name, version, ABI, path and the .so's sha256.
function M.plugins()
  local reg = core.registry()
  local list = {}
  for i = 0, C.ml_registry_count(reg) - 1 do
    local e = C.ml_registry_entry(reg, i)
    local sha = C.ml_registry_entry_sha256(reg, i)
    list[#list + 1] = { kind = core.kind_name(e.kind), name = ffi.string(e.name),
                        version = ffi.string(e.version),
                        abi = ("%d.%d"):format(e.abi_major, e.abi_minor),
                        path = ffi.string(C.ml_registry_entry_path(reg, i)),
                        sha256 = sha ~= nil and ffi.string(sha) or nil }
  end
  return list
end

return M
