-- SPDX-License-Identifier: MIT
-- Run directories: runs/<name>-<utc time>/ with config.json, meta.json, metrics.jsonl,
-- timing.jsonl, summary.json, model.safetensors, checkpoint.safetensors and log.txt.
-- Whole-file writes go through ml_file_write_atomic (temp, fsync, rename), so a crash never
-- leaves a torn summary; the JSON-lines logs get each line in one write() (O_APPEND, fsync),
-- and their readers skip a torn last line with a warning.
local core = require "modlab.core"
local json = require "modlab.util.json"
local jsonl = require "modlab.util.jsonl"
local ffi, C = core.ffi, core.C

local M = {}
M.__index = M

-- A run directory's name (the run's or the recipe's name and a UTC stamp) is one path
-- component of safe characters: anything else becomes '_', so a name never leaves `base`.
local function safe_name(name)
  local safe = tostring(name):gsub("[^%w._+-]", "_"):gsub("^%.", "_")
  return safe
end

-- A sweep trial (`modlab trial`, or MODLAB_TRIAL_DIR) writes into its own fixed directory,
-- and `modlab run --resume DIR` back into DIR. A new run claims its directory with an
-- exclusive mkdir (ml_mkdir_unique): two runs started in one second get <name>-<stamp>
-- and <name>-<stamp>-2, never one shared directory. `modlab run --run-dir DIR` names the
-- exact directory; it must not hold a run already (a second ml.train would overwrite it).
function M.create(name, base)
  local dir = core.resume_dir or core.trial_dir or os.getenv("MODLAB_TRIAL_DIR")
  if not (dir and dir ~= "") and core.run_dir then
    dir = core.run_dir
    for _, f in ipairs({ "config.json", "summary.json" }) do
      if require("modlab.util.file").exists(dir .. "/" .. f) then
        return nil, ("--run-dir %s already holds a run (%s): give a new directory; a "
          .. "recipe that trains more than once needs --out"):format(dir, f)
      end
    end
  end
  if dir and dir ~= "" then
    if C.ml_mkdirs(dir, core.err) ~= 0 then return nil, core.errmsg() end
  else
    local leaf = ("%s-%s"):format(safe_name(name), os.date("!%Y%m%d-%H%M%S"))
    local size = #base + #leaf + 16
    local buf = ffi.new("char[?]", size)
    if C.ml_mkdir_unique(base, leaf, buf, size, core.err) ~= 0 then
      return nil, core.errmsg()
    end
    dir = ffi.string(buf)
  end
  -- `modlab run --report` writes a report in each directory the recipe created.
  core.run_dirs = core.run_dirs or {}
  core.run_dirs[#core.run_dirs + 1] = dir
  local rd = setmetatable({ dir = dir }, M)
  rd.log_fh = assert(io.open(dir .. "/log.txt", "a"))
  return rd
end

function M:path(file) return self.dir .. "/" .. file end

-- true, or nil and the message (naming the file and the errno text).
function M:save_json(file, value)
  local text = json.encode(value) .. "\n"
  if C.ml_file_write_atomic(self.dir .. "/" .. file, text, #text, core.err) ~= 0 then
    return nil, core.errmsg()
  end
  return true
end

function M:write_json(file, value)
  local ok, err = self:save_json(file, value)
  if not ok then error(err, 0) end
end

local append = jsonl.append

-- core.on_metric (set by `modlab trial` for early termination) sees every logged row.
-- Returns the line written, which training checkpoints keep (see M:truncate_jsonl).
function M:metric(row)
  local line = append(self:path("metrics.jsonl"), row)
  if core.on_metric then core.on_metric(row) end
  return line
end
function M:timing(row) append(self:path("timing.jsonl"), row) end
function M:step_row(row) append(self:path("steps.jsonl"), row) end

-- The rows of a JSON-lines file that parse (a torn or garbled line is skipped with a
-- warning naming the file and line), each with its line's text.
function M.read_jsonl(path)
  return (jsonl.read(path, function(lineno)
    io.stderr:write(("modlab: warning: %s:%d: unreadable line skipped (a run killed "
      .. "mid-write leaves a torn last line)\n"):format(path, lineno))
  end))
end

-- Resuming: rewrite a JSON-lines log (crash-safely) as exactly `lines`, so the history has
-- no epoch twice and none the checkpoint does not know.
function M:rewrite_jsonl(file, lines) jsonl.rewrite(self:path(file), lines) end

-- A line for the person watching (stdout) and for log.txt.
function M:log(line)
  io.stdout:write(line, "\n")
  io.stdout:flush()
  self.log_fh:write(line, "\n")
  self.log_fh:flush()
end

function M:close()
  if self.log_fh then self.log_fh:close() self.log_fh = nil end
end

M.iso_now = require("modlab.util.time").iso_now

-- Git commit of the directory holding the recipe, if it is in a repository.
-- (git runs from an argv array, core/base/spawn.c: the path is never part of a command line.)
function M.git_commit(dir)
  return core.git_commit(dir or ".")
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
