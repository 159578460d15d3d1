-- SPDX-License-Identifier: MIT
-- The local launcher: a pool of `modlab trial` processes (ml_proc_spawn, never a shell),
-- timeouts, hyperband, retries, stop requests, and trials other agents hold.
local core = require "modlab.core"
local mkdirs = require("modlab.util.file").mkdirs
local checks_mod = require "modlab.sweep.checks"
local hyperband = require "modlab.sweep.hyperband"
local read_journal = require("modlab.sweep.journal").read_journal
local state = require("modlab.sweep.journal").state
local ffi, C = core.ffi, core.C
local self_exe = require("modlab.sweep.host").self_exe
local trial_args = require("modlab.sweep.plan").trial_args
local FINAL = require("modlab.sweep.journal").FINAL
local DONE = require("modlab.sweep.journal").DONE
local journal = require("modlab.sweep.journal").journal
local metric_values = require("modlab.sweep.metrics").metric_values
local better = require("modlab.sweep.metrics").better
local close_trial_meta = require("modlab.sweep.metrics").close_trial_meta
local trial_metric = require("modlab.sweep.metrics").trial_metric
local fmtnum = require("modlab.sweep.results").fmtnum
local live_line = require "modlab.sweep.live"

local M = {}

local SIGTERM, SIGKILL = 15, 9

-- Who holds trial id (another agent's claim: "host:pid since TIME"), or nil when it is free.
local function held_by(dir, id)
  local buf = ffi.new("char[256]")
  local r = C.ml_trial_holder(dir, id, buf, 256, core.err)
  if r < 0 then error(core.errmsg(), 0) end
  return r == 1 and ffi.string(buf) or nil
end

-- Trials other agents held when we came to them: once a claim is gone, a trial that agent
-- finished counts as done, a failure of its stands (as our own would), and one it did not
-- end (interrupted, or the agent died) goes back into our queue.
local function poll_held(dir, st, held, queue, quiet, live)
  local journal_st
  for idx, t in pairs(held) do
    if not held_by(dir, t.id) then
      held[idx] = nil
      journal_st = journal_st or state(read_journal(dir))
      local s = journal_st[t.id]
      if s then st[t.id] = s end
      if not (s and (DONE[s.status] or s.status == "failed" or s.status == "killed")) then
        queue[#queue + 1] = idx
      else
        if not quiet then
          live:say(("[%s] trial %d (%s) %s by another agent"):format(os.date("%H:%M:%S"), idx,
            t.id, s.status))
        end
        live:ended(s.final or { event = s.status })
      end
    end
  end
end

local function run_loop(dir, plan, st, opts, todo, live)
  local workers = opts.jobs or plan.settings.workers
  local timeout = plan.settings.timeout or 0
  local retries = plan.settings.retries or 0
  local exe = self_exe()
  local hb = hyperband.new(plan)
  if hb then
    -- Values at the rungs of trials already done count for the ones still to run.
    for _, t in ipairs(plan.trials) do
      local s = st[t.id]
      if s and DONE[s.status] then
        hyperband.check(hb, plan, t.id,
          metric_values(dir .. "/trials/" .. t.id .. "/metrics.jsonl", plan.metric.name))
      end
    end
  end
  assert(mkdirs(dir .. "/logs"))
  C.setenv("MODLAB_SWEEP_WATCHED", "1", 1)   -- this process does the early termination
  local queue, running, tries, failed_hard = {}, {}, {}, 0
  for _, idx in ipairs(todo) do queue[#queue + 1] = idx end
  local qpos, nrunning, stop = 1, 0, nil
  local held, said, last_held, waiting_said = {}, {}, 0, false
  C.ml_sweep_signals(1)
  local last_hb = 0
  while true do
    local sig = C.ml_sweep_stop_requested()
    if sig ~= 0 and not stop then
      stop = "signal"
      live:say(("\nmodlab: stopping the sweep (signal %d): ending %d running trial%s\n")
        :format(sig, nrunning, nrunning == 1 and "" or "s"), true)
    end
    -- Start trials while there are free workers.
    while not stop and nrunning < workers and qpos <= #queue do
      local idx = queue[qpos]
      qpos = qpos + 1
      local t = plan.trials[idx + 1]
      -- Another agent may have finished the trial, or hold it now: skip it (the claim in
      -- `modlab trial` is what decides; this only saves starting a process for nothing).
      local now_st = state(read_journal(dir))[t.id]
      local holder = not (now_st and DONE[now_st.status]) and held_by(dir, t.id)
      if now_st and DONE[now_st.status] then
        st[t.id] = now_st
        live:ended(now_st.final or { event = now_st.status })
        goto next_trial
      end
      if holder then
        held[idx] = t
        if not opts.quiet then
          live:say(("[%s] trial %d (%s) is claimed by %s: skipping it for now"):format(
            os.date("%H:%M:%S"), idx, t.id, holder))
        end
        goto next_trial
      end
      do
        local argv = { exe }
        if core.plugin_path then
          argv[#argv + 1] = "--plugin-path"
          argv[#argv + 1] = core.plugin_path
        end
        if core.threads then
          argv[#argv + 1] = "--threads"
          argv[#argv + 1] = tostring(core.threads)
        end
        for _, a in ipairs({ "trial", dir, "--index", tostring(idx) }) do
          argv[#argv + 1] = a
        end
        local cargv = ffi.new("const char *[?]", #argv + 1)
        for k, a in ipairs(argv) do cargv[k - 1] = a end
        local s = st[t.id] or { attempts = 0 }
        local pid = C.ml_proc_spawn(cargv, dir .. "/logs/" .. t.id .. ".log", core.err)
        if pid <= 0 then error(core.errmsg(), 0) end
        running[pid] = { idx = idx, t = t, t0 = C.ml_clock(), attempt = s.attempts + 1 }
        st[t.id] = { attempts = s.attempts + 1, status = "running" }
        nrunning = nrunning + 1
        live.running = nrunning
        if not opts.quiet then
          local _, list = trial_args(plan, t)
          live:say(("[%s] start trial %d (%s) %s"):format(os.date("%H:%M:%S"), idx, t.id,
            table.concat(list, " ")))
        end
      end
      ::next_trial::
    end
    -- Trials other agents hold: look again twice a second.
    local now0 = C.ml_clock()
    if next(held) and not stop and now0 - last_held > 0.5 then
      last_held = now0
      poll_held(dir, st, held, queue, opts.quiet, live)
      if nrunning == 0 and qpos > #queue and next(held) and not waiting_said then
        waiting_said = true
        local n = 0
        for _ in pairs(held) do n = n + 1 end
        -- A lock of another host is honoured until its agent releases it: a dead agent's
        -- must be removed by hand (docs/SWEEPS.md); Ctrl-C stops waiting.
        live:say(("[%s] waiting for %d trial%s other agents hold (Ctrl-C stops waiting; a "
          .. "lock left by a dead agent of another host is removed by hand: %s/locks/)")
          :format(os.date("%H:%M:%S"), n, n == 1 and "" or "s", dir))
      end
    end
    if nrunning == 0 and (stop or (qpos > #queue and not next(held))) then break end
    -- Timeouts, hyperband, stop requests.
    local now = C.ml_clock()
    local check_hb = hb and now - last_hb > 0.25
    if check_hb then last_hb = now end
    for pid, r in pairs(running) do
      if stop and stop ~= "target" and stop ~= "strict" and not r.killing then
        r.killing, r.reason, r.kill_at = "interrupted", "stopped by the user", now
        C.ml_proc_signal(pid, SIGTERM)
      elseif not r.killing and timeout > 0 and now - r.t0 > timeout then
        r.killing, r.reason, r.kill_at = "killed", ("timed out after %gs"):format(timeout), now
        C.ml_proc_signal(pid, SIGTERM)
      elseif not r.killing and check_hb then
        local vals = metric_values(dir .. "/trials/" .. r.t.id .. "/metrics.jsonl",
                                   plan.metric.name)
        local rung = hyperband.check(hb, plan, r.t.id, vals)
        if rung then
          r.killing, r.kill_at = "pruned", now
          r.reason = ("hyperband: below the top 1/%g at iteration %d"):format(hb.eta,
                                                                               hb.rungs[rung])
          C.ml_proc_signal(pid, SIGTERM)
        end
      end
      if r.killing and now - r.kill_at > 5 then C.ml_proc_signal(pid, SIGKILL) end
    end
    -- Reap.
    local status = ffi.new("int32_t[1]")
    for pid, r in pairs(running) do
      local p = C.ml_proc_poll(pid, status, core.err)
      if p ~= 0 then
        running[pid] = nil
        nrunning = nrunning - 1
        live.running = nrunning
        local code = p == 1 and status[0] or -999
        local events = read_journal(dir)
        local own
        for _, ev in ipairs(events) do
          if ev.trial == r.t.id and ev.attempt == r.attempt and FINAL[ev.event] then
            own = ev
          end
        end
        local ev = own
        if not own and code == 0 then
          -- Exit 0 without a line of its own: another runner had already finished it, or
          -- another agent claimed it first (a refused claim is no failure): skip it and
          -- come back when the claim is gone.
          local other = state(events)[r.t.id]
          if other and DONE[other.status] then
            ev = other.final
          else
            held[r.idx] = r.t
            st[r.t.id] = other
            if not opts.quiet then
              live:say(("[%s] trial %d (%s) is claimed by %s: skipping it for now"):format(
                os.date("%H:%M:%S"), r.idx, r.t.id, held_by(dir, r.t.id) or "another agent"))
            end
            goto reaped
          end
        end
        if not ev then
          local event = r.killing or "failed"
          local tdir = dir .. "/trials/" .. r.t.id
          local value, n = trial_metric(plan, tdir)
          ev = { event = event, trial = r.t.id, index = r.idx, attempt = r.attempt,
                 duration = math.floor((C.ml_clock() - r.t0) * 1000 + 0.5) / 1000,
                 metric = value, iterations = n, exit = code >= 0 and code or nil,
                 signal = code < 0 and code ~= -999 and -code or nil,
                 error = r.reason or (code < 0 and ("killed by signal %d"):format(-code)
                   or ("exited with status %d (see %s/logs/%s.log)"):format(code, dir,
                                                                             r.t.id)) }
          journal(dir, ev)
          close_trial_meta(tdir, ev)
        end
        st[r.t.id] = { attempts = r.attempt, status = ev.event, final = ev }
        if not opts.quiet then
          local shown = type(ev.metric) == "number" and
                        (" %s=%s"):format(plan.metric.name, fmtnum(ev.metric)) or ""
          live:say(("[%s] %s trial %d (%s)%s%s"):format(os.date("%H:%M:%S"), ev.event, r.idx,
            r.t.id, shown,
            ev.event ~= "finished" and ev.error and (": " .. ev.error) or ""))
        end
        -- metric.target (W&B): once a trial reaches it, start no new trials.
        local target = plan.metric and plan.metric.target
        if target and type(ev.metric) == "number" and not stop and
           (ev.metric == target or better(plan.metric.goal, ev.metric, target)) then
          stop = "target"
          live:say(("[%s] trial %d reached the target %s=%s: starting no more trials"):format(
            os.date("%H:%M:%S"), r.idx, plan.metric.name, fmtnum(target)))
        end
        if ev == own then
          stop = stop or checks_mod.act(plan, ev, ("trial %d (%s)"):format(r.idx, r.t.id),
                                        said)
        end
        if ev.event == "failed" or ev.event == "killed" then
          tries[r.idx] = (tries[r.idx] or 0) + 1
          -- A mistake in the sweep file fails every attempt alike: never retried.
          if tries[r.idx] <= retries and not stop and not ev.checks then
            queue[#queue + 1] = r.idx
          else
            failed_hard = failed_hard + 1
            live:ended(ev)
            if plan.settings.fail_fast and not stop then
              stop = "fail_fast"
              live:say("modlab: fail_fast: stopping the sweep after a failed trial\n", true)
            end
          end
        elseif DONE[ev.event] then
          live:ended(ev)   -- an interrupted trial (stopped by the user) has not ended
        end
        ::reaped::
      end
    end
    live:set_running(nrunning)
    if nrunning > 0 or (not stop and (qpos <= #queue or next(held))) then C.ml_sleep(0.05) end
  end
  C.ml_sweep_signals(0)
  return stop
end

-- The loop with its live line (lua/modlab/sweep/live.lua), cleared however the loop ends
-- so that an error message does not land on a half-drawn line.
local function run_local(dir, plan, st, opts, todo)
  local live = live_line.new(plan, st, #todo, { quiet = opts.quiet })
  local ok, stop = pcall(run_loop, dir, plan, st, opts, todo, live)
  live:finish()
  if not ok then error(stop, 0) end
  return stop
end

M.run_local = run_local

return M
