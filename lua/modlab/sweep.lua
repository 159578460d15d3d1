-- SPDX-License-Identifier: MIT
-- Sweeps: `modlab sweep` (plan, local worker pool, resume, hyperband, results, Slurm) and
-- `modlab trial`.
-- The sweep directory holds sweep.yaml (verbatim), sweep.json (the plan), journal.jsonl
-- (append-only events), results.csv, results_by_config.csv, logs/, locks/ (trial claims,
-- core/sweep_lock.c) and trials/<id>/.
local core = require "modlab.core"
local json = require "modlab.json"
local checks_mod = require "modlab.sweep_checks"
local ffi, C = core.ffi, core.C

pcall(ffi.cdef, [[
char *getcwd(char *buf, size_t size);
long readlink(const char *path, char *buf, size_t size);
int gethostname(char *name, size_t len);
int getpid(void);
int setenv(const char *name, const char *value, int overwrite);
]])
-- Apart: a module declaring any of the above first would make that whole cdef stop early.
pcall(ffi.cdef, "char *realpath(const char *path, char *resolved);")

local M = {}
local SIGTERM, SIGKILL = 15, 9

---------------------------------------------------------------------------------------------
-- JSON reading (journal lines, plans, metrics.jsonl): json.decode, kept under this name for
-- the callers that use sweep.decode.

M.decode = json.decode

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local t = f:read("*a")
  f:close()
  return t
end

local function write_atomic(path, text)
  if C.ml_file_write_atomic(path, text, #text, core.err) ~= 0 then return nil, core.errmsg() end
  return true
end

local function mkdirs(path)
  if C.ml_mkdirs(path, core.err) ~= 0 then return nil, core.errmsg() end
  return true
end

local function exists(path)
  local f = io.open(path, "r")
  if f then f:close() return true end
  return false
end

local function cwd()
  local buf = ffi.new("char[4096]")
  if C.getcwd(buf, 4096) == nil then return "." end
  return ffi.string(buf)
end

local function abspath(p)
  if p:sub(1, 1) == "/" then return p end
  return cwd() .. "/" .. p
end

local function hostname()
  local buf = ffi.new("char[256]")
  if C.gethostname(buf, 255) ~= 0 then return "?" end
  return ffi.string(buf)
end

local function self_exe()
  local buf = ffi.new("char[4096]")
  local n = C.readlink("/proc/self/exe", buf, 4095)
  if n <= 0 then return "modlab" end
  return ffi.string(buf, n)
end

local function iso_now() return os.date("!%Y-%m-%dT%H:%M:%SZ") end

---------------------------------------------------------------------------------------------
-- Plans

-- Read and expand a sweep file. Returns the plan or nil, message.
function M.load(path)
  local s = C.ml_sweep_load(path, core.err)
  if s == nil then return nil, core.errmsg(), tonumber(core.err.code) end
  s = ffi.gc(s, C.ml_sweep_free)
  local plan = assert(M.decode(ffi.string(C.ml_sweep_json(s))))
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

-- Where a path really points, for showing and using one spelling of the sweep directory:
-- absolute, its existing part through realpath (symlinks followed, as the kernel would),
-- the rest (not created yet) with "." and ".." taken out the way mkdir -p walks them.
local function resolve(p)
  local cur, buf = "", ffi.new("char[4096]")
  local rest = abspath(p)
  local real = true
  for c in rest:gmatch("[^/]+") do
    if c == ".." then cur = cur:match("^(.*)/[^/]*$") or ""
    elseif c ~= "." then
      cur = cur .. "/" .. c
      if real and C.realpath(cur, buf) ~= nil then cur = ffi.string(buf):gsub("^/$", "")
      else real = false end
    end
  end
  return cur == "" and "/" or cur
end

---------------------------------------------------------------------------------------------
-- The journal

-- Every event, in file order; a torn last line (impossible with ml_journal_append, but a disk
-- can fill up) is skipped with a warning.
function M.read_journal(dir)
  local text = read_file(dir .. "/journal.jsonl") or ""
  local events, lineno = {}, 0
  for line in text:gmatch("[^\n]+") do
    lineno = lineno + 1
    local ev = M.decode(line)
    if type(ev) == "table" then events[#events + 1] = ev
    else io.stderr:write(("modlab: warning: %s/journal.jsonl:%d: unreadable line skipped\n")
      :format(dir, lineno)) end
  end
  return events
end

local FINAL = { finished = true, failed = true, killed = true, pruned = true,
                interrupted = true }
local DONE = { finished = true, pruned = true }

-- Per trial id: { status, attempts, last final event }.
function M.state(events)
  local st = {}
  for _, ev in ipairs(events) do
    if ev.trial then
      local s = st[ev.trial] or { attempts = 0, status = "pending" }
      st[ev.trial] = s
      if ev.event == "started" then
        s.attempts = math.max(s.attempts, ev.attempt or 0)
        if not DONE[s.status] then s.status = "running" end
      elseif FINAL[ev.event] then
        if not DONE[s.status] then s.status = ev.event; s.final = ev end
        if DONE[ev.event] then s.status = ev.event; s.final = ev end
      end
    end
  end
  return st
end

local function journal(dir, ev)
  ev.t = ev.t or iso_now()
  if C.ml_journal_append(dir .. "/journal.jsonl", json.encode(ev), core.err) ~= 0 then
    error(core.errmsg(), 0)
  end
end

---------------------------------------------------------------------------------------------
-- Metrics

-- A torn line (a trial killed mid-write) is skipped, with one warning per file and line.
local warned = {}
local function metric_values(path, name)
  local vals = {}
  local text = read_file(path)
  if not text then return vals end
  local lineno = 0
  for line in text:gmatch("[^\n]+") do
    lineno = lineno + 1
    local row = M.decode(line)
    if type(row) == "table" and type(row[name]) == "number" then vals[#vals + 1] = row[name]
    elseif type(row) ~= "table" and not warned[path .. ":" .. lineno] then
      warned[path .. ":" .. lineno] = true
      io.stderr:write(("modlab: warning: %s:%d: unreadable line skipped\n"):format(path,
        lineno))
    end
  end
  return vals
end

local function better(goal, a, b)
  if goal == "maximize" then return a > b end
  return a < b
end

-- The value that ranks a trial: last, best or mean of the last k logged values.
local function summarize(vals, plan)
  if #vals == 0 then return nil end
  local how, goal = plan.settings.metric_summary, plan.metric and plan.metric.goal
  if how == "best" then
    local b = vals[1]
    for _, v in ipairs(vals) do if better(goal, v, b) then b = v end end
    return b
  elseif how == "mean_last_k" then
    local k = math.min(plan.settings.k, #vals)
    local sum = 0
    for i = #vals - k + 1, #vals do sum = sum + vals[i] end
    return sum / k
  end
  return vals[#vals]
end

-- The trial's metric from its run directory (metrics.jsonl, else summary.json).
-- A trial the runner stopped (timeout, pruning, a crash) cannot close its own meta.json:
-- record the outcome there, so its run directory does not claim to be running forever.
local function close_trial_meta(tdir, ev)
  local meta = M.decode(read_file(tdir .. "/meta.json") or "")
  -- "interrupted": the trial's own account of a SIGTERM, whose reason the runner knows.
  if type(meta) ~= "table" or (meta.status ~= "running" and meta.status ~= "interrupted") then
    return
  end
  meta.status, meta.end_time, meta.error = ev.event, iso_now(), ev.error
  write_atomic(tdir .. "/meta.json", require("modlab.json").encode(meta) .. "\n")
end

local function trial_metric(plan, tdir)
  if not plan.metric then return nil end
  local vals = metric_values(tdir .. "/metrics.jsonl", plan.metric.name)
  local v = summarize(vals, plan)
  if v == nil then
    local s = M.decode(read_file(tdir .. "/summary.json") or "")
    if type(s) == "table" and type(s[plan.metric.name]) == "number" then
      v = s[plan.metric.name]
    end
  end
  return v, #vals
end

---------------------------------------------------------------------------------------------
-- modlab trial DIR --index I

local function load_plan_dir(dir)
  local text = read_file(dir .. "/sweep.json")
  if not text then
    return nil, ("%s is not a sweep directory (no sweep.json): run `modlab sweep FILE.yaml` "
      .. "first"):format(dir)
  end
  local plan, err = M.decode(text)
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

function M.cmd_trial(args, i, h)
  local dir, index
  while i <= #args do
    local a = args[i]
    if a == "--index" then index = tonumber(args[i + 1]); i = i + 2
    elseif a:match("^%-%-index=") then index = tonumber(a:sub(9)); i = i + 1
    elseif a:sub(1, 1) == "-" then return h.usage_error("trial: unknown option '" .. a .. "'")
    elseif dir then return h.usage_error("trial: one sweep directory at a time")
    else dir = a; i = i + 1 end
  end
  if not dir or not index or index ~= math.floor(index) then
    return h.usage_error("trial wants a sweep directory and --index I (an integer)")
  end
  local plan, perr = load_plan_dir(dir)
  if not plan then io.stderr:write("modlab: error: ", perr, "\n") return 2 end
  local t = plan.trials[index + 1]
  if not t then
    return h.usage_error(("trial: index %d is out of range (the sweep has %d trials, 0..%d)")
      :format(index, #plan.trials, #plan.trials - 1))
  end
  local st = M.state(M.read_journal(dir))[t.id] or { attempts = 0, status = "pending" }
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
  st = M.state(M.read_journal(dir))[t.id] or { attempts = 0, status = "pending" }
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
                   M.decode(read_file(tdir .. "/config.json") or "")
    -- The copy is made in C (core/spawn.c), never by a command line holding the path.
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
    local hb, mine = M.hyperband_new(plan), {}
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
          if M.hyperband_check(hb, plan, t.id, mine) then
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

---------------------------------------------------------------------------------------------
-- Results

local function csv(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\n]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

-- The shortest text that reads back as the same double.
local function exact(v)
  if type(v) ~= "number" then return "" end
  local text
  for digits = 15, 17 do
    text = ("%." .. digits .. "g"):format(v)
    if tonumber(text) == v then break end
  end
  return text
end

local function fmtnum(v)
  if type(v) ~= "number" then return v == nil and "" or tostring(v) end
  return ("%.6g"):format(v)
end

-- results.csv (one row per trial, sorted by the goal) and results_by_config.csv (mean and
-- spread over repeats). Returns the sorted rows and the groups.
local function write_results(dir, plan, st)
  local mname = plan.metric and plan.metric.name or "metric"
  local goal = plan.metric and plan.metric.goal or "minimize"
  local rows = {}
  for idx, t in ipairs(plan.trials) do
    local s = st[t.id] or { status = "pending", attempts = 0 }
    rows[#rows + 1] = { index = idx - 1, t = t, status = s.status, attempts = s.attempts,
                        metric = s.final and type(s.final.metric) == "number" and
                                 s.final.metric or nil,
                        duration = s.final and s.final.duration or nil }
  end
  local function cmp(a, b)
    if (a.metric == nil) ~= (b.metric == nil) then return a.metric ~= nil end
    if a.metric ~= nil and a.metric ~= b.metric then return better(goal, a.metric, b.metric) end
    return a.index < b.index
  end
  table.sort(rows, cmp)
  local out = { table.concat({ "rank", "index", "trial", "repeat", "status" }, ",") }
  for _, c in ipairs(plan.columns) do out[1] = out[1] .. "," .. csv(c) end
  out[1] = out[1] .. "," .. csv(mname) .. ",duration_s,attempts"
  for r, row in ipairs(rows) do
    local f = { r, row.index, row.t.id, row.t["repeat"], row.status }
    for j = 1, #plan.columns do f[#f + 1] = csv(row.t.args[j]) end
    f[#f + 1] = exact(row.metric)
    f[#f + 1] = row.duration or ""
    f[#f + 1] = row.attempts
    out[#out + 1] = table.concat(f, ",")
  end
  assert(write_atomic(dir .. "/results.csv", table.concat(out, "\n") .. "\n"))

  -- Group repeats: every column but the seed parameter.
  local groups, order = {}, {}
  for _, row in ipairs(rows) do
    local key = {}
    for j, c in ipairs(plan.columns) do
      if c ~= plan.settings.seed_param then key[#key + 1] = c .. "=" .. row.t.args[j] end
    end
    local k = table.concat(key, " ")
    if not groups[k] then
      groups[k] = { key = k, vals = {}, n = 0 }
      order[#order + 1] = groups[k]
    end
    local g = groups[k]
    g.n = g.n + 1
    if row.metric then g.vals[#g.vals + 1] = row.metric end
  end
  for _, g in ipairs(order) do
    if #g.vals > 0 then
      local sum = 0
      for _, v in ipairs(g.vals) do sum = sum + v end
      g.mean = sum / #g.vals
      local ss = 0
      for _, v in ipairs(g.vals) do ss = ss + (v - g.mean) ^ 2 end
      g.std = #g.vals > 1 and math.sqrt(ss / (#g.vals - 1)) or 0
      g.min, g.max = math.min(unpack(g.vals)), math.max(unpack(g.vals))
    end
  end
  table.sort(order, function(a, b)
    if (a.mean == nil) ~= (b.mean == nil) then return a.mean ~= nil end
    if a.mean ~= nil and a.mean ~= b.mean then return better(goal, a.mean, b.mean) end
    return a.key < b.key
  end)
  local g_out = { "config,trials,with_metric,mean,std,min,max" }
  for _, g in ipairs(order) do
    g_out[#g_out + 1] = table.concat({ csv(g.key), g.n, #g.vals, exact(g.mean), exact(g.std),
      exact(g.min), exact(g.max) }, ",")
  end
  assert(write_atomic(dir .. "/results_by_config.csv", table.concat(g_out, "\n") .. "\n"))
  return rows, order
end

local function print_summary(dir, plan, st, rows, groups)
  local counts = {}
  for _, row in ipairs(rows) do counts[row.status] = (counts[row.status] or 0) + 1 end
  local parts = {}
  for _, k in ipairs({ "finished", "pruned", "failed", "killed", "interrupted", "running",
                       "pending" }) do
    if counts[k] then parts[#parts + 1] = counts[k] .. " " .. k end
  end
  local mname = plan.metric and plan.metric.name or "metric"
  print(("sweep %s: %d trials: %s"):format(dir, #rows, table.concat(parts, ", ")))
  local head = ("%-4s %-5s %-12s %-11s %-14s %s"):format("rank", "index", "trial", "status",
    mname:sub(1, 14), "parameters")
  print(head)
  local limit = tonumber(os.getenv("MODLAB_SWEEP_ROWS")) or 20
  for r, row in ipairs(rows) do
    if r > limit then
      print(("... %d more rows in %s/results.csv"):format(#rows - limit, dir))
      break
    end
    local _, list = trial_args(plan, row.t)
    print(("%-4d %-5d %-12s %-11s %-14s %s"):format(r, row.index, row.t.id, row.status,
      fmtnum(row.metric), table.concat(list, " ")))
  end
  if plan.settings.repeats > 1 then
    print(("mean over repeats (%s):"):format(mname))
    print(("%-14s %-14s %-7s %s"):format("mean", "std", "n", "parameters"))
    for _, g in ipairs(groups) do
      print(("%-14s %-14s %-7s %s"):format(fmtnum(g.mean), fmtnum(g.std),
        ("%d/%d"):format(#g.vals, g.n), g.key))
    end
  end
  local unused = {}
  for _, s in pairs(st) do
    if s.final and type(s.final.unused) == "table" then
      for _, u in ipairs(s.final.unused) do unused[u] = true end
    end
  end
  local names = {}
  for u in pairs(unused) do names[#names + 1] = u end
  table.sort(names)
  if #names > 0 and not plan.settings.strict then
    io.stderr:write(("modlab: warning: sweep parameter%s %s never read by the recipe (ml.arg): "
      .. "a typo? (modlab: {strict: true}, the default, makes this an error)\n"):format(
      #names > 1 and "s" or "", table.concat(names, ", ")))
  end
  print(("results: %s/results.csv"):format(dir))
end

---------------------------------------------------------------------------------------------
-- The local launcher

function M.hyperband_new(plan)
  local et = plan.early_terminate
  if not et then return nil end
  return { rungs = et.rungs, eta = et.eta, vals = {}, seen = {} }
end

-- Record trial `id`'s value at each rung it reached; true when it should stop.
function M.hyperband_check(hb, plan, id, vals)
  local goal = plan.metric.goal
  hb.seen[id] = hb.seen[id] or {}
  local stop = false
  for r, it in ipairs(hb.rungs) do
    if #vals >= it and not hb.seen[id][r] then
      hb.seen[id][r] = true
      local v = vals[it]
      hb.vals[r] = hb.vals[r] or {}
      local list = hb.vals[r]
      list[#list + 1] = v
      if #list > 1 then
        local sorted = { unpack(list) }
        table.sort(sorted, function(a, b) return better(goal, a, b) end)
        local keep = math.max(1, math.floor(#sorted / hb.eta))
        local cut = sorted[keep]
        if better(goal, cut, v) then stop = r end
      end
    end
  end
  return stop
end

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
local function poll_held(dir, st, held, queue, quiet)
  local journal_st
  for idx, t in pairs(held) do
    if not held_by(dir, t.id) then
      held[idx] = nil
      journal_st = journal_st or M.state(M.read_journal(dir))
      local s = journal_st[t.id]
      if s then st[t.id] = s end
      if not (s and (DONE[s.status] or s.status == "failed" or s.status == "killed")) then
        queue[#queue + 1] = idx
      elseif not quiet then
        print(("[%s] trial %d (%s) %s by another agent"):format(os.date("%H:%M:%S"), idx,
          t.id, s.status))
      end
    end
  end
end

local function run_local(dir, plan, st, opts, todo)
  local workers = opts.jobs or plan.settings.workers
  local timeout = plan.settings.timeout or 0
  local retries = plan.settings.retries or 0
  local exe = self_exe()
  local hb = M.hyperband_new(plan)
  if hb then
    -- Values at the rungs of trials already done count for the ones still to run.
    for _, t in ipairs(plan.trials) do
      local s = st[t.id]
      if s and DONE[s.status] then
        M.hyperband_check(hb, plan, t.id,
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
      io.stderr:write(("\nmodlab: stopping the sweep (signal %d): ending %d running trial%s\n")
        :format(sig, nrunning, nrunning == 1 and "" or "s"))
    end
    -- Start trials while there are free workers.
    while not stop and nrunning < workers and qpos <= #queue do
      local idx = queue[qpos]
      qpos = qpos + 1
      local t = plan.trials[idx + 1]
      -- Another agent may have finished the trial, or hold it now: skip it (the claim in
      -- `modlab trial` is what decides; this only saves starting a process for nothing).
      local now_st = M.state(M.read_journal(dir))[t.id]
      local holder = not (now_st and DONE[now_st.status]) and held_by(dir, t.id)
      if now_st and DONE[now_st.status] then
        st[t.id] = now_st
        goto next_trial
      end
      if holder then
        held[idx] = t
        if not opts.quiet then
          print(("[%s] trial %d (%s) is claimed by %s: skipping it for now"):format(
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
        if not opts.quiet then
          local _, list = trial_args(plan, t)
          print(("[%s] start trial %d (%s) %s"):format(os.date("%H:%M:%S"), idx, t.id,
            table.concat(list, " ")))
        end
      end
      ::next_trial::
    end
    -- Trials other agents hold: look again twice a second.
    local now0 = C.ml_clock()
    if next(held) and not stop and now0 - last_held > 0.5 then
      last_held = now0
      poll_held(dir, st, held, queue, opts.quiet)
      if nrunning == 0 and qpos > #queue and next(held) and not waiting_said then
        waiting_said = true
        local n = 0
        for _ in pairs(held) do n = n + 1 end
        -- A lock of another host is honoured until its agent releases it: a dead agent's
        -- must be removed by hand (docs/SWEEPS.md); Ctrl-C stops waiting.
        print(("[%s] waiting for %d trial%s other agents hold (Ctrl-C stops waiting; a "
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
        local rung = M.hyperband_check(hb, plan, r.t.id, vals)
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
        local code = p == 1 and status[0] or -999
        local events = M.read_journal(dir)
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
          local other = M.state(events)[r.t.id]
          if other and DONE[other.status] then
            ev = other.final
          else
            held[r.idx] = r.t
            st[r.t.id] = other
            if not opts.quiet then
              print(("[%s] trial %d (%s) is claimed by %s: skipping it for now"):format(
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
          print(("[%s] %s trial %d (%s)%s%s"):format(os.date("%H:%M:%S"), ev.event, r.idx,
            r.t.id, shown,
            ev.event ~= "finished" and ev.error and (": " .. ev.error) or ""))
        end
        -- metric.target (W&B): once a trial reaches it, start no new trials.
        local target = plan.metric and plan.metric.target
        if target and type(ev.metric) == "number" and not stop and
           (ev.metric == target or better(plan.metric.goal, ev.metric, target)) then
          stop = "target"
          print(("[%s] trial %d reached the target %s=%s: starting no more trials"):format(
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
            if plan.settings.fail_fast and not stop then
              stop = "fail_fast"
              io.stderr:write("modlab: fail_fast: stopping the sweep after a failed trial\n")
            end
          end
        end
        ::reaped::
      end
    end
    if nrunning > 0 or (not stop and (qpos <= #queue or next(held))) then C.ml_sleep(0.05) end
  end
  C.ml_sweep_signals(0)
  return stop
end

---------------------------------------------------------------------------------------------
-- The Slurm launcher

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

---------------------------------------------------------------------------------------------
-- modlab sweep ...

local SWEEP_USAGE = [[
usage: modlab sweep FILE.yaml [-j N] [--resume] [--dry-run] [--launcher local|slurm]
                              [--out DIR] [--wait] [--quiet] [--report]
       modlab sweep DIR --resume            resume the sweep in DIR
       modlab sweep export FILE.yaml --format wandb
       modlab sweep plan FILE.yaml [--out DIR]  write the sweep directory, run nothing
       modlab sweep pending DIR             unfinished trial indices (for job arrays)]]

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

function M.cmd_sweep(args, i, h)
  local file, jobs, resume, dry, launcher, out, wait, quiet
  local sub = args[i]
  if sub == "export" then
    local path, fmt = nil, nil
    i = i + 1
    while i <= #args do
      if args[i] == "--format" then fmt = args[i + 1]; i = i + 2
      elseif args[i]:match("^%-%-format=") then fmt = args[i]:sub(10); i = i + 1
      elseif path then return h.usage_error("sweep export: one file at a time")
      else path = args[i]; i = i + 1 end
    end
    if not path then return h.usage_error("sweep export wants FILE.yaml --format wandb") end
    if fmt ~= "wandb" then
      return h.usage_error("sweep export: --format wandb is the one format")
    end
    local text = C.ml_sweep_export_wandb(path, core.err)
    if text == nil then io.stderr:write("modlab: error: ", core.errmsg(), "\n") return 2 end
    io.stdout:write(ffi.string(text))
    C.ml_sweep_text_free(text)
    return 0
  end
  if sub == "pending" then
    local dir = args[i + 1]
    if not dir then return h.usage_error("sweep pending wants a sweep directory") end
    local plan, perr = load_plan_dir(dir)
    if not plan then io.stderr:write("modlab: error: ", perr, "\n") return 2 end
    local st, list = M.state(M.read_journal(dir)), {}
    for k, t in ipairs(plan.trials) do
      if not (st[t.id] and DONE[st[t.id].status]) then list[#list + 1] = k - 1 end
    end
    print(table.concat(list, ","))
    return 0
  end
  local plan_only = sub == "plan"
  if plan_only then i = i + 1 end
  while i <= #args do
    local a = args[i]
    if a == "-j" or a == "--jobs" then
      jobs = tonumber(args[i + 1])
      if not jobs or jobs < 1 or jobs ~= math.floor(jobs) then
        return h.usage_error("sweep: -j wants a positive integer")
      end
      i = i + 2
    elseif a:match("^%-j%d+$") then jobs = tonumber(a:sub(3)); i = i + 1
    elseif a == "--resume" then resume = true; i = i + 1
    elseif a == "--dry-run" or a == "-n" then dry = true; i = i + 1
    elseif a == "--wait" then wait = true; i = i + 1
    elseif a == "--quiet" or a == "-q" then quiet = true; i = i + 1
    elseif a == "--launcher" then
      launcher = args[i + 1]
      if launcher ~= "local" and launcher ~= "slurm" then
        return h.usage_error("sweep: --launcher is local or slurm")
      end
      i = i + 2
    elseif a == "--out" then
      out = args[i + 1]
      if not out then return h.usage_error("sweep: --out wants a directory") end
      i = i + 2
    elseif a == "--help" or a == "-h" then print(SWEEP_USAGE) return 0
    elseif a:sub(1, 1) == "-" then return h.usage_error("sweep: unknown option '" .. a .. "'")
    elseif file then return h.usage_error("sweep: one sweep file at a time")
    else file = a; i = i + 1 end
  end
  if not file then return h.usage_error("sweep: which sweep file? (modlab sweep FILE.yaml)") end
  -- A directory: resume the sweep stored there.
  local is_dir = exists(file .. "/sweep.yaml")
  if is_dir then
    out = out or file
    file = file .. "/sweep.yaml"
  end
  local plan, err, code = M.load(file)
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
  h.dir = dir   -- for `modlab sweep --report` (cli.lua)
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

  local st = M.state(M.read_journal(dir))
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
    st = M.state(M.read_journal(dir))
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
  st = M.state(M.read_journal(dir))
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

return M
