-- SPDX-License-Identifier: MIT
-- Sweeps: `modlab sweep` (plan, local worker pool, resume, hyperband, results, Slurm) and
-- `modlab trial`. The parts live beside this file in lua/modlab/sweep/.
-- The sweep directory holds sweep.yaml (verbatim), sweep.json (the plan), journal.jsonl
-- (append-only events), results.csv, results_by_config.csv, logs/, locks/ (trial claims,
-- core/sweep/sweep_lock.c) and trials/<id>/.
local core = require "modlab.core"
local json = require "modlab.util.json"
local read_file = require("modlab.util.file").read
local write_atomic = require("modlab.util.file").write_atomic
local mkdirs = require("modlab.util.file").mkdirs
local exists = require("modlab.util.file").exists
local iso_now = require("modlab.util.time").iso_now
local read_journal = require("modlab.sweep.journal").read_journal
local state = require("modlab.sweep.journal").state
local ffi, C = core.ffi, core.C
local plan_mod = require "modlab.sweep.plan"
local resolve = require("modlab.sweep.host").resolve
local trial_args = require("modlab.sweep.plan").trial_args
local sweep_name = require("modlab.sweep.plan").sweep_name
local load_plan_dir = require("modlab.sweep.plan").load_plan_dir
local resolve_program = require("modlab.sweep.plan").resolve_program
local DONE = require("modlab.sweep.journal").DONE
local journal = require("modlab.sweep.journal").journal
local better = require("modlab.sweep.metrics").better
local fmtnum = require("modlab.sweep.results").fmtnum
local write_results = require("modlab.sweep.results").write_results
local print_summary = require("modlab.sweep.results").print_summary
local run_local = require("modlab.sweep.local_launcher").run_local
local compress = require("modlab.sweep.slurm_launcher").compress
local run_slurm = require("modlab.sweep.slurm_launcher").run_slurm

local M = {}

local function print_dry_run(plan, name, dir)
  print(("sweep %s: %d trial%s (method %s%s, %d repeat%s) -> %s"):format(name, #plan.trials,
    #plan.trials == 1 and "" or "s", plan.method,
    plan.method == "random" and (", sampler seed " .. plan.settings.sampler_seed) or "",
    plan.settings.repeats, plan.settings.repeats == 1 and "" or "s", dir))
  for _, w in ipairs(plan.warnings) do print("warning: " .. w) end
  for k, t in ipairs(plan.trials) do
    local _, list = trial_args(plan, t)
    print(("%4d %s r%d %s"):format(k - 1, t.id, t["repeat"], table.concat(list, " ")))
  end
end

-- `modlab sweep export FILE --format wandb`; o: the parsed options (cli/commands.lua).
function M.cmd_export(o)
  local text = C.ml_sweep_export_wandb(o.file, core.err)
  if text == nil then io.stderr:write("modlab: error: ", core.errmsg(), "\n") return 2 end
  io.stdout:write(ffi.string(text))
  C.ml_sweep_text_free(text)
  return 0
end

-- `modlab sweep pending DIR`: the unfinished trial indices, for job arrays.
function M.cmd_pending(o)
  local plan, perr = load_plan_dir(o.dir)
  if not plan then io.stderr:write("modlab: error: ", perr, "\n") return 2 end
  local st, list = state(read_journal(o.dir)), {}
  for k, t in ipairs(plan.trials) do
    if not (st[t.id] and DONE[st[t.id].status]) then list[#list + 1] = k - 1 end
  end
  print(table.concat(list, ","))
  return 0
end

-- `modlab sweep` and `modlab sweep plan` (o.plan_only); o: the parsed options (the parser
-- has checked them), h.dir is set to the sweep directory once it is known (for --report).
function M.cmd_sweep(o, h)
  local file, jobs, resume, dry, launcher, out, wait, quiet =
    o.file, o.jobs, o.resume, o.dry_run, o.launcher, o.out, o.wait, o.quiet
  local plan_only = o.plan_only
  -- A directory: resume the sweep stored there.
  local is_dir = exists(file .. "/sweep.yaml")
  if is_dir then
    out = out or file
    file = file .. "/sweep.yaml"
  end
  local plan, err, code = plan_mod.load(file)
  if not plan then
    io.stderr:write("modlab: error: ", err, "\n")
    return 2
  end
  local name = sweep_name(plan, is_dir and out or file)
  plan.name_resolved = name
  local dir = out
  if not dir then
    local pattern = plan.settings.output_dir or
                    ((os.getenv("MODLAB_RUNS") or "runs") .. "/{name}")
    dir = pattern:gsub("{name}", name):gsub("{date}", os.date("!%Y%m%d"))
  end
  dir = resolve(dir)
  if not plan.program then
    io.stderr:write(("modlab: error: %s: the sweep has no program (the recipe to run)\n")
      :format(file))
    return 2
  end
  local program, perr = resolve_program(plan, file, dir)
  if not program then
    io.stderr:write(("modlab: error: %s: %s\n"):format(file, perr))
    return 2
  end
  plan.program_path = program
  if dry then print_dry_run(plan, name, dir) return 0 end
  h.dir = dir   -- for `modlab sweep --report` (cli/init.lua)
  if resume and not exists(dir .. "/sweep.json") then
    io.stderr:write(("modlab: error: --resume: %s holds no sweep to resume (run without "
      .. "--resume to start it)\n"):format(dir))
    return 2
  end
  if not plan.settings.resume and not resume and exists(dir .. "/journal.jsonl") then
    io.stderr:write(("modlab: error: %s already holds a sweep and modlab.resume is false: "
      .. "remove it, pass --resume, or choose another --out\n"):format(dir))
    return 2
  end
  assert(mkdirs(dir .. "/trials"))
  -- Keep the sweep file verbatim; say so when it changed since the last run.
  local text = read_file(file)
  local old_text = read_file(dir .. "/sweep.yaml")
  if old_text and old_text ~= text then
    io.stderr:write(("modlab: warning: %s differs from the sweep stored in %s; trials with the "
      .. "same parameters are reused, the stored copy is replaced\n"):format(file, dir))
  end
  if not old_text or old_text ~= text then assert(write_atomic(dir .. "/sweep.yaml", text)) end
  plan.created = plan.created or iso_now()
  assert(write_atomic(dir .. "/sweep.json", json.encode(plan) .. "\n"))
  for _, w in ipairs(plan.warnings) do io.stderr:write("modlab: warning: ", w, "\n") end

  local st = state(read_journal(dir))
  local todo, skipped = {}, 0
  for k, t in ipairs(plan.trials) do
    if st[t.id] and DONE[st[t.id].status] then
      skipped = skipped + 1
    else
      todo[#todo + 1] = k - 1
    end
  end
  -- metric.target: a finished trial that reached it ends the sweep.
  local target = plan.metric and plan.metric.target
  if target then
    for _, t in ipairs(plan.trials) do
      local f = st[t.id] and st[t.id].final
      if f and f.event == "finished" and type(f.metric) == "number" and
         (f.metric == target or better(plan.metric.goal, f.metric, target)) then
        print(("trial %s reached the target %s=%s: nothing more to run"):format(t.id,
          plan.metric.name, fmtnum(target)))
        todo = {}
        break
      end
    end
  end
  launcher = launcher or plan.settings.launcher
  if plan_only then
    print(("sweep %s: %d trials, %d done, %d to run -> %s"):format(name, #plan.trials, skipped,
      #todo, dir))
    print(("run them with `modlab trial %s --index I` (I in %s)"):format(dir,
      #todo > 0 and compress(todo) or "none"))
    return 0
  end
  local how = launcher == "local" and
              (", " .. (jobs or plan.settings.workers) .. " at a time") or ""
  print(("sweep %s: %d trials, %d done, %d to run (%s%s) -> %s"):format(name, #plan.trials,
    skipped, #todo, launcher, how, dir))
  if launcher == "slurm" then
    if #todo == 0 then print("nothing to submit: every trial is done") end
    local ok, code = true, nil
    if #todo > 0 then ok, code = run_slurm(dir, plan, todo, { jobs = jobs, wait = wait }) end
    if not ok then return code or 1 end
    if not wait and #todo > 0 then
      print(("re-run `modlab sweep %s --resume` (or `--wait`) after the jobs end for the "
        .. "results"):format(dir))
      return 0
    end
    st = state(read_journal(dir))
    local rows, groups = write_results(dir, plan, st)
    print_summary(dir, plan, st, rows, groups)
    for _, row in ipairs(rows) do if not DONE[row.status] then return 1 end end
    return 0
  end
  local ok, stop = pcall(run_local, dir, plan, st, { jobs = jobs, quiet = quiet }, todo)
  if not ok then
    C.ml_sweep_signals(0)
    io.stderr:write("modlab: error: ", tostring(stop), "\n")
    return 1
  end
  st = state(read_journal(dir))
  local rows, groups = write_results(dir, plan, st)
  print_summary(dir, plan, st, rows, groups)
  if stop == "signal" then
    io.stderr:write(("modlab: sweep stopped; re-run `modlab sweep %s` to resume\n")
      :format(file))
    return 130
  end
  local reached = stop == "target" or (target and #todo == 0)
  for _, row in ipairs(rows) do
    if not DONE[row.status] and not (reached and row.status == "pending") then return 1 end
  end
  return 0
end

-- The parts other modules and tests use, under their old names.
M.load, M.decode = plan_mod.load, json.decode
M.read_journal, M.state = read_journal, state
local hyperband = require "modlab.sweep.hyperband"
M.hyperband_new, M.hyperband_check = hyperband.new, hyperband.check
M.cmd_trial = require("modlab.sweep.trial").cmd_trial

return M
