-- SPDX-License-Identifier: MIT
-- Resumable training: ml.train's checkpoint.safetensors (ml_trainer_save: model, optimizer
-- state, step and forward counts, plus the JSON state below) and `modlab run --resume DIR`.
-- State: { epoch = last epoch done, lines = that many metrics.jsonl lines (exact text),
-- best = { key, epoch }, schedule = the schedule's state(), fingerprint = the settings }.
-- Shuffling needs nothing: epoch e's order is the pure stream (seed, 1000 + e).
local core = require "modlab.core"
local json = require "modlab.util.json"
local ffi, C = core.ffi, core.C

local M = { FILE = "checkpoint.safetensors" }

local decode = json.decode

local read = require("modlab.util.file").read

-- What must not change between a run and its resumption: config.json without where the
-- recipe was found and how many BLAS threads ran.
function M.fingerprint(config)
  local t = {}
  for k, v in pairs(config) do
    if k ~= "recipe" and k ~= "cwd" and k ~= "blas_threads" then t[k] = v end
  end
  return json.encode(t)
end

-- `modlab run --resume` reruns the whole recipe; only its single ml.train call resumes.
function M.check_call(calls, level)
  local cfg = core.resume_config or {}
  if calls > 1 or (cfg.train_call or 1) ~= 1 then
    error(("modlab run --resume %s: this recipe calls ml.train more than once; resuming "
      .. "continues recipes with one ml.train call only: run the recipe again without "
      .. "--resume"):format(core.resume_dir), level + 1)
  end
end

function M.save(t, rd, state)
  local text = json.encode(state)
  if C.ml_trainer_save(t, rd:path(M.FILE), text, core.err) ~= 0 then
    error(core.errmsg(), 0)
  end
end

-- A kill between a crash-safe write's temp file and its rename leaves "<file>.tmp.<pid>..."
-- behind (a checkpoint's can be large): the resumed run removes its own files' leftovers.
local function remove_temps(dir)
  local names, kinds = core.listdir(dir)
  for _, name in ipairs(names or {}) do
    local base = name:match("^(.-)%.tmp%.?%d+[%d.]*$")
    if base and kinds[name] == "file" and (base:match("%.json$") or base:match("%.jsonl$") or
                                           base:match("%.safetensors$")) then
      os.remove(dir .. "/" .. name)
    end
  end
end

-- Load DIR/checkpoint.safetensors into the trainer (and its model) and put metrics.jsonl
-- and timing.jsonl back to the epochs it holds. Returns the state with `history` (decoded
-- rows) added.
function M.restore(t, rd, fingerprint, level)
  local path = rd:path(M.FILE)
  if not read(path) then
    error(("modlab run --resume %s: no %s there (the run stopped before its first "
      .. "checkpoint, or ran with checkpoint=false): nothing to resume; start the run again "
      .. "without --resume"):format(rd.dir, M.FILE), level + 1)
  end
  -- The load checks layers, shapes and optimizer before changing anything; the settings
  -- are checked after it (a mismatch fails the run, so the loaded values do no harm).
  if C.ml_trainer_load(t, path, core.err) ~= 0 then
    error(("modlab run --resume: %s"):format(core.errmsg()), level + 1)
  end
  local state, err = decode(ffi.string(C.ml_trainer_resumed_state(t)))
  if type(state) ~= "table" or type(state.epoch) ~= "number" or
     type(state.lines) ~= "table" then
    error(("modlab run --resume: %s: the training state in __metadata__ is unreadable (%s): "
      .. "the file was not written by ml.train"):format(path, err or "not an object"),
      level + 1)
  end
  if state.fingerprint ~= fingerprint then
    error(("modlab run --resume: %s was written by a run with other settings (model, data, "
      .. "optimizer, seed or arguments differ from %s/config.json): resume with the recipe "
      .. "that wrote it, or start a new run"):format(path, rd.dir), level + 1)
  end
  remove_temps(rd.dir)
  state.history = {}
  for i, line in ipairs(state.lines) do state.history[i] = assert(decode(line)) end
  rd:rewrite_jsonl("metrics.jsonl", state.lines)
  local timing = {}
  for _, r in ipairs(rd.read_jsonl(rd:path("timing.jsonl"))) do
    if type(r.value.epoch) == "number" and r.value.epoch <= state.epoch and
       r.value.epoch == #timing + 1 then
      timing[#timing + 1] = r.text
    end
  end
  rd:rewrite_jsonl("timing.jsonl", timing)
  -- steps.jsonl (ml.train's eval_every): the evaluations of the epochs the checkpoint holds.
  local steps, had = {}, io.open(rd:path("steps.jsonl"), "rb")
  if had then
    had:close()
    for _, r in ipairs(rd.read_jsonl(rd:path("steps.jsonl"))) do
      if type(r.value.epoch) == "number" and r.value.epoch <= state.epoch then
        steps[#steps + 1] = r.text
      end
    end
    rd:rewrite_jsonl("steps.jsonl", steps)
  end
  return state
end

-- meta.json of a resumed run keeps its first start time and lists each resumption.
function M.meta(rd, meta, from_epoch)
  local old = decode(read(rd:path("meta.json")) or "")
  if type(old) == "table" then
    meta.start_time = old.start_time or meta.start_time
    meta.resumed = type(old.resumed) == "table" and old.resumed or {}
  else
    meta.resumed = {}
  end
  meta.resumed[#meta.resumed + 1] = { time = meta.resume_time, from_epoch = from_epoch }
  meta.resume_time = nil
end

return M
