-- SPDX-License-Identifier: MIT
-- `modlab trial DIR --index I`: run one trial of a sweep directory in this process, under
-- its claim (ml_trial_claim), with early termination when no sweep watches it.
local core = require "modlab.core"
local json = require "modlab.util.json"
local read_file = require("modlab.util.file").read
local write_atomic = require("modlab.util.file").write_atomic
local mkdirs = require("modlab.util.file").mkdirs
local exists = require("modlab.util.file").exists
local checks_mod = require "modlab.sweep.checks"
local hyperband = require "modlab.sweep.hyperband"
local read_journal = require("modlab.sweep.journal").read_journal
local state = require("modlab.sweep.journal").state
local ffi, C = core.ffi, core.C
local hostname = require("modlab.sweep.host").hostname
local trial_args = require("modlab.sweep.plan").trial_args
local load_plan_dir = require("modlab.sweep.plan").load_plan_dir
local DONE = require("modlab.sweep.journal").DONE
local journal = require("modlab.sweep.journal").journal
local metric_values = require("modlab.sweep.metrics").metric_values
local trial_metric = require("modlab.sweep.metrics").trial_metric

local M = {}

-- `modlab trial DIR --index I`; o: the parsed options (cli/commands.lua), h: usage_error
-- and run_chunk from cli/.
function M.cmd_trial(o, h)
  local dir, index = o.dir, o.index
  local plan, perr = load_plan_dir(dir)
  if not plan then io.stderr:write("modlab: error: ", perr, "\n") return 2 end
  local t = plan.trials[index + 1]
  if not t then
    return h.usage_error(("index %d is out of range (the sweep has %d trials, 0..%d)")
      :format(index, #plan.trials, #plan.trials - 1))
  end
  local st = state(read_journal(dir))[t.id] or { attempts = 0, status = "pending" }
  if DONE[st.status] then
    print(("trial %d (%s) already %s: nothing to do"):format(index, t.id, st.status))
    return 0
  end
  -- Claim the trial before touching trials/<id>: another agent (a second `modlab sweep`, a
  -- Slurm task, a `modlab trial` by hand) may run it now. A refused claim is no failure:
  -- exit 0 and no journal line; the sweep that spawned us skips the trial and comes back.
  local holder = ffi.new("char[256]")
  local claim = C.ml_trial_claim(dir, t.id, holder, 256, core.err)
  if claim < 0 then io.stderr:write("modlab: error: ", core.errmsg(), "\n") return 1 end
  if claim == 1 then
    print(("trial %d (%s) is claimed by %s: not running it"):format(index, t.id,
      ffi.string(holder)))
    return 0
  end
  -- Under the claim the journal is final for this trial: another agent may have finished it
  -- between our first look and the claim. (A Lua error from here on leaves the lock to a
  -- dead pid: stale, so the next claim breaks it.)
  st = state(read_journal(dir))[t.id] or { attempts = 0, status = "pending" }
  if DONE[st.status] then
    C.ml_trial_release(dir, t.id, core.err)
    print(("trial %d (%s) already %s: nothing to do"):format(index, t.id, st.status))
    return 0
  end
  local attempt = st.attempts + 1
  local tdir = dir .. "/trials/" .. t.id
  local resumed = false
  if exists(tdir) then
    assert(mkdirs(dir .. "/attempts"))
    local kept = ("%s/attempts/%s-%d"):format(dir, t.id, attempt - 1)
    -- A trial stopped after a training checkpoint (killed, timed out) continues from it
    -- (same arguments, same numbers); attempts/ keeps a copy of the stopped attempt.
    local config = exists(tdir .. "/checkpoint.safetensors") and
                   json.decode(read_file(tdir .. "/config.json") or "")
    -- The copy is made in C (core/base/spawn.c), never by a command line holding the path.
    local copied, cerr = false, nil
    if type(config) == "table" then copied, cerr = core.copytree(tdir, kept) end
    if copied then
      resumed = true
      core.resume_dir, core.resume_config = tdir, config
    else
      if cerr then io.stderr:write("modlab: warning: ", cerr, "; the trial starts over\n") end
      os.rename(tdir, kept)
    end
  end
  assert(mkdirs(tdir))
  local map, list = trial_args(plan, t)
  local t0 = C.ml_clock()
  local array_job = os.getenv("SLURM_ARRAY_JOB_ID")
  journal(dir, { event = "started", trial = t.id, index = index, attempt = attempt,
                 resumed = resumed or nil,
                 host = hostname(), pid = C.getpid(),
                 slurm_job = array_job and
                   (array_job .. "_" .. (os.getenv("SLURM_ARRAY_TASK_ID") or "")) or nil })
  print(("trial %d (%s) attempt %d: %s %s"):format(index, t.id, attempt, plan.program_path,
    table.concat(list, " ")))
  core.args = map
  core.trial_dir = tdir
  -- Early termination without a watching sweep process (Slurm arrays, `modlab trial` by
  -- hand): compare this trial at each rung with what the other trials logged there.
  local pruned
  if plan.early_terminate and plan.metric and os.getenv("MODLAB_SWEEP_WATCHED") ~= "1" then
    local hb, mine = hyperband.new(plan), {}
    core.on_metric = function(row)
      local v = row[plan.metric.name]
      if type(v) ~= "number" or pruned then return end
      mine[#mine + 1] = v
      for r, it in ipairs(hb.rungs) do
        if #mine == it then
          for _, other in ipairs(plan.trials) do
            if other.id ~= t.id then
              local vals = metric_values(dir .. "/trials/" .. other.id .. "/metrics.jsonl",
                                         plan.metric.name)
              if #vals >= it then
                hb.vals[r] = hb.vals[r] or {}
                table.insert(hb.vals[r], vals[it])
              end
            end
          end
          if hyperband.check(hb, plan, t.id, mine) then
            pruned = ("hyperband: below the top 1/%g at iteration %d"):format(hb.eta, it)
            error(pruned, 0)
          end
        end
      end
    end
  end
  local program = plan.program_path
  local status, errmsg = "finished", nil
  local chunk, lerr = loadfile(program)
  if not chunk then
    status, errmsg = "failed", lerr
    io.stderr:write("modlab: error: ", lerr, "\n")
  else
    core.recipe_path = program
    core.recipe_dir = program:match("^(.*)/[^/]*$") or "."
    core.recipe_name = program:match("([^/]+)%.lua$") or "trial"
    arg = { [0] = program }
    if h.run_chunk(core, chunk, program) ~= 0 then
      status = "failed"
      errmsg = "the recipe failed (see " .. tdir .. "/log.txt and the trial log)"
      if pruned then status, errmsg = "pruned", pruned end
    end
    core.on_metric = nil
  end
  -- SIGTERM (the sweep stopping it, a timeout, hyperband, scancel) or Ctrl-C: ml.train
  -- closed the run directory as "interrupted". A watching sweep journals why it stopped
  -- the trial; otherwise the trial journals it interrupted itself.
  local sig = C.ml_run_stop_signal()
  if sig ~= 0 then
    -- The lock stays until this process exits (then it is stale): released now, another
    -- agent could claim the trial before the watching sweep has journalled why it stopped.
    if os.getenv("MODLAB_SWEEP_WATCHED") == "1" then return 128 + sig end
    status, errmsg = "interrupted", ("stopped by signal %d"):format(sig)
  end
  local unused = {}
  for _, name in ipairs(plan.columns) do
    if not (core.used_args and core.used_args[name]) then unused[#unused + 1] = name end
  end
  local value, n = trial_metric(plan, tdir)
  -- Mistakes in the sweep file this trial shows (a metric it never logged, parameters it
  -- never read): the trial fails with modlab.strict (the default), else they are warnings;
  -- `checks` in the journal line lets the sweep act on the first one at once.
  local checks = status == "finished" and
                 checks_mod.messages(plan, tdir, value, unused, core.used_args) or {}
  if #checks > 0 then
    local f = io.open(tdir .. "/log.txt", "a")
    local text = table.concat(checks, "; ")
    if plan.settings.strict then
      status, errmsg = "failed", text .. " (an error because modlab.strict is true; "
        .. "modlab: {strict: false} makes it a warning)"
      io.stderr:write("modlab: error: ", errmsg, "\n")
      if f then f:write("modlab: error: ", errmsg, "\n") end
    else
      for _, m in ipairs(checks) do
        io.stderr:write("modlab: warning: ", m, "\n")
        if f then f:write("modlab: warning: ", m, "\n") end
      end
    end
    if f then f:close() end
  end
  local ev = { event = status, trial = t.id, index = index, attempt = attempt,
               duration = math.floor((C.ml_clock() - t0) * 1000 + 0.5) / 1000,
               metric = value, iterations = n, unused = #unused > 0 and unused or nil,
               checks = #checks > 0 and checks or nil,
               error = errmsg and tostring(errmsg):match("^[^\n]*") or nil }
  write_atomic(tdir .. "/trial.json", json.encode({ index = index, id = t.id,
    ["repeat"] = t["repeat"], attempt = attempt, params = map, status = status,
    metric = value }) .. "\n")
  journal(dir, ev)
  -- Released only once the final line is in the journal: the next claimer sees it done.
  if C.ml_trial_release(dir, t.id, core.err) < 0 then
    io.stderr:write("modlab: warning: ", core.errmsg(), "\n")
  end
  if sig ~= 0 then return 128 + sig end
  return status == "finished" and 0 or 1
end

return M
