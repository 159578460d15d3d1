-- SPDX-License-Identifier: MIT
-- The Slurm launcher: job arrays of `modlab trial` tasks, from a batch script whose every
-- value is checked first, submitted with sbatch (argv, no shell) and optionally waited for.
local core = require "modlab.core"
local write_atomic = require("modlab.util.file").write_atomic
local mkdirs = require("modlab.util.file").mkdirs
local ffi, C = core.ffi, core.C
local self_exe = require("modlab.sweep.host").self_exe
local journal = require("modlab.sweep.journal").journal

local M = {}

local function compress(list)
  local parts, i = {}, 1
  while i <= #list do
    local j = i
    while j < #list and list[j + 1] == list[j] + 1 do j = j + 1 end
    parts[#parts + 1] = j > i and (list[i] .. "-" .. list[j]) or tostring(list[i])
    i = j + 1
  end
  return table.concat(parts, ",")
end

local function shq(s) return "'" .. (tostring(s):gsub("'", "'\\''")) .. "'" end

-- Everything written into the batch script is checked first: a newline in a value would
-- be a line of shell in the script (or a line above the #SBATCH directives, which makes
-- sbatch ignore them). Names and values keep to a safe character set; paths may hold
-- anything but control characters; both are then written single-quoted, which sbatch
-- reads in #SBATCH lines as the shell does. slurm.setup lines stay raw, by design: they
-- are shell the sweep's author writes for the cluster (module load ..., source venv).
local SLURM_SAFE = "^[%w_.,:=+@%%/-]+$"

local function visible(s) -- s with control characters shown as \xNN, for messages
  return (s:gsub("%c", function(c) return ("\\x%02x"):format(c:byte()) end))
end

local function slurm_value(key, v)
  if type(v) == "number" then
    if v ~= math.floor(v) or v < 1 or v > 2^31 then
      return nil, ("%s: %s is not a positive integer"):format(key, tostring(v))
    end
    return ("%d"):format(v)
  end
  if type(v) ~= "string" then
    return nil, ("%s: a %s, want a string or a number"):format(key, type(v))
  end
  if not v:match(SLURM_SAFE) then
    return nil, ("%s: '%s' holds a character Slurm values never need (allowed: letters, "
      .. "digits and _ . , : = + @ %% / -); fix it in the sweep file"):format(key, visible(v))
  end
  return v
end

local function slurm_path(what, p)
  if p:find("%c") then
    return nil, ("%s '%s' holds a control character (a newline?), which cannot go into a "
      .. "batch script: choose another path"):format(what, visible(p))
  end
  return p
end

-- The checked values of the script, or nil and a message naming the key.
local function slurm_checked(dir, plan, opts)
  local sl, v, err = plan.settings.slurm or {}, { extra = {} }, nil
  for _, k in ipairs { "partition", "time", "mem", "job_name", "cpus_per_task" } do
    if sl[k] ~= nil then
      v[k], err = slurm_value("modlab.slurm." .. k, sl[k])
      if not v[k] then return nil, err end
    end
  end
  if not v.job_name then
    v.job_name, err = slurm_value("name (the sweep's, as its Slurm job name; or set "
      .. "modlab.slurm.job_name)", "modlab-" .. plan.name_resolved)
    if not v.job_name then return nil, err end
  end
  local par_key = sl.array_parallelism and "modlab.slurm.array_parallelism" or
                  opts.jobs and "-j" or "modlab.workers"
  v.par, err = slurm_value(par_key, sl.array_parallelism or opts.jobs or plan.settings.workers)
  if not v.par or not v.par:match("^%d+$") then
    return nil, err or (par_key .. ": want a positive integer")
  end
  for i, e in ipairs(sl.extra or {}) do
    -- One #SBATCH directive each: raw (any sbatch option), but one line.
    if type(e) ~= "string" or e:find("%c") then
      return nil, ("modlab.slurm.extra[%d]: '%s' must be one line (an #SBATCH option) with no "
        .. "control characters"):format(i, visible(tostring(e)))
    end
    v.extra[i] = e
  end
  v.dir, err = slurm_path("the sweep directory", dir)
  if not v.dir then return nil, err end
  v.exe, err = slurm_path("the modlab binary", self_exe())
  if not v.exe then return nil, err end
  if core.plugin_path then
    v.plugin_path, err = slurm_path("--plugin-path", core.plugin_path)
    if not v.plugin_path then return nil, err end
  end
  return v
end

local function max_array_size(plan)
  if plan.settings.max_array_size and plan.settings.max_array_size > 0 then
    return plan.settings.max_array_size
  end
  local text = core.run{ "scontrol", "show", "config", stderr = "null" } or ""
  return tonumber(text:match("MaxArraySize%s*=%s*(%d+)")) or 1001
end

local function run_slurm(dir, plan, todo, opts)
  local v, verr = slurm_checked(dir, plan, opts)
  if not v then
    io.stderr:write("modlab: error: ", verr, " (nothing submitted)\n")
    return nil, 2   -- a value of the sweep file's: bad usage, like the planner's errors
  end
  local maxa = max_array_size(plan)
  local sl = plan.settings.slurm or {}
  assert(mkdirs(dir .. "/slurm"))
  -- Chunks: at most maxa tasks each, and array indices below maxa (shifted by an offset).
  local chunks, cur = {}, nil
  for _, idx in ipairs(todo) do
    if not cur or #cur.list >= maxa or idx - cur.first >= maxa then
      cur = { first = idx, list = {} }
      chunks[#chunks + 1] = cur
    end
    cur.list[#cur.list + 1] = idx
  end
  local stamp = os.date("!%Y%m%d-%H%M%S")
  local jobs = {}
  for c, ch in ipairs(chunks) do
    local offset = ch.list[#ch.list] < maxa and 0 or ch.first
    local shifted = {}
    for k, idx in ipairs(ch.list) do shifted[k] = idx - offset end
    local spec = compress(shifted) .. "%" .. v.par
    local lines = { "#!/bin/sh",
      "# Written by modlab sweep: one array task per trial (modlab trial DIR --index I).",
      "#SBATCH --job-name=" .. shq(v.job_name),
      "#SBATCH --array=" .. spec,
      "#SBATCH --output=" .. shq(v.dir .. "/slurm/%A_%a.out"),
      "#SBATCH --open-mode=append" }
    if v.partition then lines[#lines + 1] = "#SBATCH --partition=" .. shq(v.partition) end
    if v.time then lines[#lines + 1] = "#SBATCH --time=" .. shq(v.time) end
    if v.cpus_per_task then
      lines[#lines + 1] = "#SBATCH --cpus-per-task=" .. shq(v.cpus_per_task)
    end
    if v.mem then lines[#lines + 1] = "#SBATCH --mem=" .. shq(v.mem) end
    for _, e in ipairs(v.extra) do lines[#lines + 1] = "#SBATCH " .. e end
    -- Raw by design (see above): the sweep author's own shell lines.
    for _, s in ipairs(sl.setup or {}) do lines[#lines + 1] = s end
    local global = ""
    if v.plugin_path then global = " --plugin-path " .. shq(v.plugin_path) end
    lines[#lines + 1] = ("exec %s%s trial %s --index $((SLURM_ARRAY_TASK_ID + %d))"):format(
      shq(v.exe), global, shq(v.dir), offset)
    local script = ("%s/slurm/array-%s-%d.sh"):format(dir, stamp, c)
    assert(write_atomic(script, table.concat(lines, "\n") .. "\n"))
    print(("submitting %d trial%s: %s (--array=%s)"):format(#ch.list,
      #ch.list == 1 and "" or "s", script, spec))
    local out, status = core.run{ "sbatch", "--parsable", script, stderr = "stdout" }
    local job = out and out:match("^(%d+)")
    if not job then
      io.stderr:write("modlab: error: sbatch failed: ",
        out and ("exit %d: %s"):format(status, out) or status, "\n")
      return nil
    end
    jobs[#jobs + 1] = job
    journal(dir, { event = "submitted", job = job, array = spec, offset = offset,
                   indices = compress(ch.list) })
    print(("submitted job %s"):format(job))
  end
  -- --wait: until squeue lists none of the jobs (Ctrl-C stops waiting, not the jobs).
  if opts.wait and #jobs > 0 then
    C.ml_sweep_signals(1)
    local ids = table.concat(jobs, ",")
    while C.ml_sweep_stop_requested() == 0 do
      local out, err = core.run{ "squeue", "-h", "-r", "-o", "%i", "-j", ids, stderr = "null" }
      if not out then io.stderr:write("modlab: warning: ", err, "; not waiting\n") end
      if not out or not out:find("%d") then break end
      C.ml_sleep(0.5)
    end
    C.ml_sweep_signals(0)
  end
  return jobs
end

M.compress = compress
M.run_slurm = run_slurm

return M
