-- SPDX-License-Identifier: MIT
-- ml.train: epochs of training in C (whole chunks of batches per call, so no Lua runs inside
-- a step), evaluation on validation and test splits, progress, and the run directory.
local core = require "modlab.core"
local progress = require "modlab.progress"
local rundir = require "modlab.rundir"
local resume = require "modlab.resume"
local trainer = require "modlab.trainer"
local hooks = require "modlab.train_hooks"
local ffi, C = core.ffi, core.C

local M = {}

local KNOWN = { model = 1, data = 1, loss = 1, optimizer = 1, epochs = 1, batch = 1, seed = 1,
                valid = 1, eval_batch = 1, name = 1, out = 1, schedule = 1, clip_norm = 1,
                groups = 1, threads = 1, save = 1, quiet = 1, aux_scale = 1, normalize = 1,
                steps = 1, train_size = 1, on_epoch = 1, checkpoint = 1, checkpoint_every = 1,
                freeze = 1, on_step = 1, early_stop = 1, keep_best = 1, eval_every = 1,
                loss_weights = 1, augment = 1 }
-- ml.trainer's settings: what sets up the model, data and step, none of the loop's.
local TRAINER_KNOWN = { model = 1, data = 1, loss = 1, optimizer = 1, batch = 1, seed = 1,
                        valid = 1, eval_batch = 1, clip_norm = 1, groups = 1, threads = 1,
                        aux_scale = 1, normalize = 1, train_size = 1, freeze = 1,
                        loss_weights = 1, quiet = 1, augment = 1 }

-- {setting, lo, hi}: counts up to 2^53 (exact in a double), batch sizes up to what C's
-- int32 holds, BLAS threads up to 1024, seeds in [0, 2^63) (C's uint64, checked again in
-- ml_model_new).
local INTS = {
  { "epochs", 1, core.INT_MAX_EXACT, required = true },
  { "batch", 1, core.INT32_MAX, required = true },
  { "eval_batch", 1, core.INT32_MAX },
  { "seed", 0, core.SEED_END, open = true },
  { "threads", 1, 1024 },
  { "steps", 1, core.INT_MAX_EXACT, what = " (batches per epoch at most)" },
  { "train_size", 1, core.INT_MAX_EXACT, what = " (the number of training examples used)" },
  { "checkpoint_every", 1, core.INT_MAX_EXACT, what = " (epochs between checkpoints)" },
  { "eval_every", 1, core.INT_MAX_EXACT, what = " (training steps between evaluations)" },
}

-- The integer settings, exact and in range before any arithmetic (core.int_error): an
-- epochs of 1e99 printed as "epoch 1/-9223372036854775808" and never ended, and seeds
-- outside [0, 2^63) became the same uint64 as other seeds on their way to C. `only`: a set
-- of the names to check (optional ones then), nil for all of ml.train's.
local function check_ints(cfg, who, only, level)
  for _, s in ipairs(INTS) do
    local v = cfg[s[1]]
    local why = (not only or only[s[1]]) and (v ~= nil or (s.required and not only)) and
                core.int_error(v, s[2], s[3], s.open)
    if why then
      error(("%s: '%s'%s must be %s"):format(who, s[1], s.what or "", why), level)
    end
  end
end

-- who: "ml.train" (all of KNOWN) or "ml.trainer" (TRAINER_KNOWN).
local function check_cfg(cfg, level, who)
  who = who or "ml.train"
  local known = who == "ml.train" and KNOWN or TRAINER_KNOWN
  if type(cfg) ~= "table" then error(who .. ": give a table of settings", level) end
  for k in pairs(cfg) do
    if not known[k] then
      local names = {}
      for n in pairs(known) do names[#names + 1] = n end
      table.sort(names)
      error(("%s: unknown setting '%s' (settings: %s)"):format(who, tostring(k),
        table.concat(names, ", ")), level)
    end
  end
  if getmetatable(cfg.model) ~= require("modlab.graph").Container then
    error(who .. ": 'model' must be a network: ml.sequential{...}, ml.residual(...), "
          .. "ml.concat{...} or ml.graph(...)", level)
  end
  if type(cfg.data) ~= "table" or not cfg.data.split then
    error(who .. ": 'data' must be an ml.dataset(...) (if ml.dataset failed, wrap it in "
          .. "assert(...) to see why)", level)
  end
  if type(cfg.optimizer) ~= "table" or cfg.optimizer.kind ~= "optimizer" then
    error(who .. ": 'optimizer' must be an ml.optimizer(...)", level)
  end
  check_ints(cfg, who, who == "ml.trainer" and TRAINER_KNOWN or nil, level + 1)
  if who == "ml.trainer" and cfg.batch == nil then
    error("ml.trainer: 'batch' (the training batch size) is required", level)
  end
  if cfg.schedule ~= nil and (type(cfg.schedule) ~= "table" or type(cfg.schedule.factor) ~= "function") then
    error("ml.train: 'schedule' must be an ml.schedule(...)", level)
  end
  if cfg.on_epoch ~= nil and type(cfg.on_epoch) ~= "function" then
    error("ml.train: 'on_epoch' must be a function(epoch, run)", level)
  end
  if cfg.on_step ~= nil and type(cfg.on_step) ~= "function" then
    error("ml.train: 'on_step' must be a function(step, run)", level)
  end
  if cfg.keep_best ~= nil and type(cfg.keep_best) ~= "boolean" then
    error("ml.train: 'keep_best' is true (best.safetensors: the model at the best "
          .. "validation epoch) or false", level)
  end
  hooks.check_early_stop(cfg.early_stop, who, level)
  if cfg.valid ~= nil and (type(cfg.valid) ~= "number" or cfg.valid < 0 or cfg.valid >= 1) then
    error(who .. ": 'valid' is the fraction of training examples held out, in [0, 1)", level)
  end
  if cfg.checkpoint ~= nil and type(cfg.checkpoint) ~= "boolean" then
    error("ml.train: 'checkpoint' is true (default: a resumable checkpoint.safetensors in the "
          .. "run directory) or false", level)
  end
end

local function fail(msg) error(msg, 0) end

-- An ml.schedule prints as its spec; a hand-made { factor = function } has no text (and
-- no state to checkpoint: it must be a function of the epoch and the history).
local function schedule_text(s)
  local mt = s and getmetatable(s)
  if not s then return nil end
  return mt and mt.__tostring and tostring(s) or "custom"
end

local function fmt_rate(r)
  if r >= 1e6 then return ("%.2fM"):format(r / 1e6) end
  if r >= 1e3 then return ("%.1fk"):format(r / 1e3) end
  return ("%.0f"):format(r)
end

local SIGNAMES = { [1] = "SIGHUP", [2] = "SIGINT", [15] = "SIGTERM" }

-- What to do after an interruption: a run with a checkpoint continues with --resume; a
-- sweep trial is continued by its sweep.
local function resume_hint(rd, history, epochs)
  local f = io.open(rd:path(resume.FILE), "rb")
  if f then f:close() end
  local where = ("modlab: interrupted after epoch %d of %d"):format(#history, epochs)
  if core.trial_dir then
    return where .. "; the sweep runs this trial again from its last checkpoint (modlab "
      .. "sweep ... --resume, or modlab trial)"
  elseif f then
    return ("%s; continue from its last checkpoint with: modlab run --resume %s"):format(
      where, rd.dir)
  end
  return where .. ", before any checkpoint: nothing to resume, run it again"
end

function M.run(ml, cfg, level)
  level = (level or 1) + 1
  check_cfg(cfg, level)
  local tr = trainer.new(ml, cfg, level)
  local seed, batch, epochs, eval_batch = tr.seed, tr.batch, cfg.epochs, tr.eval_batch
  local data, model, t = cfg.data, tr.model, tr.handle
  local loss, opt, fraction, normalization = tr.loss_spec, tr.optimizer, tr.valid_fraction,
                                             tr.normalization
  local train_ds, ntrain = tr.splits.train.ds, tr.splits.train.n
  local nvalid, ntest = tr.splits.valid.n, tr.splits.test and tr.splits.test.n

  core.train_calls = (core.train_calls or 0) + 1
  local resuming = core.resume_dir ~= nil
  if resuming then resume.check_call(core.train_calls, level) end
  local name = cfg.name or core.recipe_name or "run"
  local rd = assert(rundir.create(name, cfg.out or core.out_dir or os.getenv("MODLAB_RUNS") or "runs"))
  local started = rundir.iso_now()
  -- set: the --set values as given (args holds only those read so far, with defaults);
  -- `modlab run --resume` reruns the recipe with them.
  local config = { recipe = core.recipe_path, args = ml.config, set = core.args,
                   seed = seed, epochs = epochs,
                   batch = batch, eval_batch = eval_batch, valid = fraction,
                   train_size = cfg.train_size,
                   dataset = data.name, dataset_options = data.opts, model = model:describe(),
                   loss = { name = loss.name, options = require("modlab.util.json").raw(loss.json or "{}") },
                   head_losses = #tr.losses > 1 and tr:head_loss_names() or nil,
                   loss_weights = cfg.loss_weights,
                   optimizer = { name = opt.name, options = require("modlab.util.json").raw(opt.json) },
                   clip_norm = cfg.clip_norm, groups = cfg.groups, freeze = cfg.freeze,
                   normalization = normalization,
                   augment = require("modlab.augment").describe(cfg.augment),
                   schedule = schedule_text(cfg.schedule),
                   blas_threads = C.ml_blas_threads(), train_call = core.train_calls,
                   cwd = core.cwd }
  local fingerprint = resume.fingerprint(config)
  -- Resuming: the checkpoint's model, optimizer and trainer state, and the history it saw
  -- (metrics.jsonl and timing.jsonl are cut back to it).
  local restored = resuming and resume.restore(t, rd, fingerprint, level)
  local meta = { status = "running", start_time = started, seed = seed, argv = core.argv,
                 modlab = ml.version,
                 build = require("modlab.util.json").raw(core.build_info()),
                 git_commit = rundir.git_commit(core.recipe_dir), plugins = rundir.plugins(),
                 params = model:nparams(),
                 env = { OPENBLAS_NUM_THREADS = os.getenv("OPENBLAS_NUM_THREADS"),
                         OPENBLAS_CORETYPE = os.getenv("OPENBLAS_CORETYPE"),
                         SLURM_JOB_ID = os.getenv("SLURM_JOB_ID") } }
  if restored then
    meta.resume_time = started
    resume.meta(rd, meta, restored.epoch + 1)
  end
  -- A run that cannot record how it started fails now, saying so in meta.json if that can
  -- still be written (a full disk may have room for it after a temp file was removed).
  local wrote, werr = rd:save_json("config.json", config)
  if wrote then wrote, werr = rd:save_json("meta.json", meta) end
  if not wrote then
    meta.status, meta.end_time, meta.error = "failed", rundir.iso_now(), werr
    rd:save_json("meta.json", meta)
    rd:close()
    error(werr, 0)
  end
  if not cfg.quiet then
    local held, unshared = model:buffer_bytes()
    rd:log(("modlab %s: %s, %d parameters, %d train / %d valid / %d test examples -> %s"):format(
      ml.version, data.name, model:nparams(), ntrain, nvalid, ntest or 0, rd.dir))
    rd:log(("buffers: %.1f MB of activations and gradients (%.1f MB saved by sharing "
            .. "gradient buffers)"):format(held / 1e6, (unshared - held) / 1e6))
    -- The model table and the resolved configuration, on stderr (issue 21).
    require("modlab.run_summary").print(model, config, rd.dir)
  end

  local history, best, lines, first = {}, nil, {}, 1
  if restored then
    history, best, lines, first = restored.history, restored.best, restored.lines,
                                  restored.epoch + 1
    if restored.schedule and cfg.schedule.set_state then
      cfg.schedule:set_state(restored.schedule)
    end
    if not cfg.quiet then
      rd:log(("modlab: resumed %s from its checkpoint after epoch %d of %d"):format(rd.dir,
        restored.epoch, epochs))
    end
  end
  local save_every = cfg.checkpoint ~= false and (cfg.checkpoint_every or 1) or nil
  local pause = os.getenv("MODLAB_TEST_PAUSE") ~= nil   -- test hook: ml_test_pause
  local nbatches = math.ceil(ntrain / batch)
  -- steps: at most this many batches per epoch (a fixed training budget on large data).
  if cfg.steps then nbatches = math.min(nbatches, cfg.steps) end
  local nseen = math.min(nbatches * batch, ntrain)
  -- Batches run in C in chunks (50 per epoch, for the progress line); on_step needs Lua
  -- after every batch.
  -- eval_every: a validation pass every that many steps (steps.jsonl), between chunks.
  local eval_every = nvalid > 0 and cfg.eval_every or nil
  local chunk = (cfg.on_step or eval_every) and 1 or math.max(1, math.floor(nbatches / 50))
  local stopper = hooks.stopper(cfg.early_stop)
  for _, row in ipairs(history) do   -- resuming: the stopper has seen the restored epochs
    if stopper then stopper:update(row) end
  end
  local stopped_early
  -- cfg.on_epoch(epoch, run) runs before each epoch: it may change parameter groups
  -- (run:set_group(pattern, lr_scale, decay_scale), e.g. to alternate which part of the
  -- model trains) and reach run.model, run.history and run.dir; a string it returns
  -- labels the epoch's metrics row as `phase`. cfg.on_step(step, run) runs after every
  -- batch (step counts from 1 over the run; run.epoch is the epoch). Both may ml.log.
  local hook_run = { model = model, history = history, dir = rd.dir }
  function hook_run.set_group(_, pattern, lr_scale, decay_scale)
    tr:set_group(pattern, lr_scale, decay_scale, 3)
  end
  -- SIGINT/SIGTERM/SIGHUP from here on only set a flag (ml_run_signals): the loop stops at
  -- the next batch or epoch boundary and the run directory is closed as "interrupted".
  C.ml_run_signals(1)
  local function check_stop()
    local sig = C.ml_run_stop_signal()
    if sig ~= 0 then fail("interrupted by " .. (SIGNAMES[sig] or ("signal " .. sig))) end
  end
  local bar   -- the epoch's progress line, cleared if the epoch does not end
  -- The whole run's elapsed time, ETA and best validation so far: on the bar (a terminal)
  -- and on each epoch's line.
  local run_prog = progress.run({ epochs = epochs, first = first })
  local function best_text()
    local row = best and history[best.epoch]
    if not row or nvalid == 0 then return nil end
    if row.valid_accuracy then
      return ("valid acc %.4f @%d"):format(row.valid_accuracy, best.epoch)
    end
    return row.valid_loss and ("valid loss %.4f @%d"):format(row.valid_loss, best.epoch)
  end
  run_prog:set_best(best_text())
  hooks.begin()
  local run_ok, run_err = pcall(function()
    -- A resumed sweep trial's early-termination rule sees the restored rows again.
    if restored and core.on_metric then
      for _, row in ipairs(history) do core.on_metric(row) end
    end
    for epoch = first, epochs do
      check_stop()
      hook_run.epoch = epoch
      local phase = cfg.on_epoch and cfg.on_epoch(epoch, hook_run)   -- a string labels the row
      local factor = cfg.schedule and cfg.schedule:factor(epoch, history[#history]) or 1
      tr:set_lr_factor(factor)
      local order = tr:epoch_order(epoch)
      tr:set_augment_epoch(epoch)
      local st = ffi.new("ml_step_stats")
      bar = progress.new({ label = ("epoch %d/%d"):format(epoch, epochs), total = nbatches,
                           quiet = cfg.quiet, run = run_prog, epoch = epoch })
      local t0 = progress.now()
      C.ml_model_diag_reset(model.handle)
      for b = 0, nbatches - 1, chunk do
        if C.ml_trainer_run(t, train_ds, order, ntrain, batch, b, math.min(chunk, nbatches - b), 1,
                            st, core.err) ~= 0 then
          fail(core.errmsg())
        end
        if pause and b == 0 then C.ml_test_pause("mid-epoch:" .. epoch) end
        local step = tonumber(C.ml_trainer_steps_done(t))
        if cfg.on_step then cfg.on_step(step, hook_run) end
        if eval_every and step % eval_every == 0 then
          local r = tr:evaluate("valid")
          rd:step_row({ step = step, epoch = epoch, valid_loss = r.loss,
                        valid_accuracy = r.accuracy })
        end
        check_stop()
        local done = math.min(b + chunk, nbatches)
        local seen = math.min(done * batch, nseen)
        bar:update(done, ("loss %.4f %s samples/s"):format(tonumber(st.loss) / seen,
          fmt_rate(seen / math.max(progress.now() - t0, 1e-9))))
      end
      local train_time = bar:finish()
      bar = nil
      local row = { epoch = epoch, lr_factor = factor,
                    phase = type(phase) == "string" and phase or nil,
                    train_loss = tonumber(st.loss) / nseen,
                    train_accuracy = st.seen > 0 and tonumber(st.correct) / tonumber(st.seen) or nil }
      if st.aux_loss ~= 0 then row.aux_loss = tonumber(st.aux_loss) / nseen end
      local diag = { train = trainer.diagnostics(model) }
      for _, split in ipairs({ nvalid > 0 and "valid", ntest and "test" }) do
        local r = split and tr:evaluate(split)
        if r then
          row[split .. "_loss"], row[split .. "_accuracy"], diag[split] =
            r.loss, r.accuracy, r.diagnostics
        end
      end
      if next(diag) then row.diagnostics = diag end
      local wall = progress.now() - t0
      history[#history + 1] = row
      lines[#lines + 1] = rd:metric(hooks.take(row))
      rd:timing({ epoch = epoch, train_seconds = train_time, epoch_seconds = wall,
                  samples_per_s = nseen / train_time })
      local key = row.valid_accuracy or -(row.valid_loss or row.train_loss)
      if not best or key > best.key then
        best = { key = key, epoch = epoch }
        -- keep_best: the model of the best validation epoch beside the last one.
        if cfg.keep_best then
          local saved, serr = model:save(rd:path("best.safetensors"))
          if not saved then fail(serr) end
        end
      end
      run_prog:set_best(best_text())
      if not cfg.quiet then
        rd:log(("epoch %d/%d  loss %.4f  acc %s  valid %s  test %s  %s samples/s  %.1fs  %s")
          :format(epoch, epochs, row.train_loss,
          row.train_accuracy and ("%.4f"):format(row.train_accuracy) or "-",
          row.valid_accuracy and ("%.4f"):format(row.valid_accuracy) or "-",
          row.test_accuracy and ("%.4f"):format(row.test_accuracy) or "-",
          fmt_rate(nseen / train_time), wall, run_prog:text(epoch, 1)))
      end
      if save_every and (epoch % save_every == 0 or epoch == epochs) then
        resume.save(t, rd, { epoch = epoch, lines = lines, best = best,
                             schedule = cfg.schedule and cfg.schedule.state and
                                        cfg.schedule:state() or nil,
                             fingerprint = fingerprint })
      end
      if stopper and stopper:update(row) then
        stopped_early = epoch
        if not cfg.quiet then
          rd:log(("early stop after epoch %d: %s has not improved for %d epochs (best at "
                  .. "epoch %d)"):format(epoch, stopper.metric, stopper.patience,
                                         stopper.best_epoch))
        end
        break
      end
    end
    check_stop()   -- a signal during the last epoch's writes: no model, resume finishes it
  end)
  hooks.finish()
  C.ml_run_signals(0)
  if bar then bar:finish() end
  -- Failure states are true: the model, summary and meta.json must all be written for the
  -- run to count as finished; each failure names its file and errno, the first is the
  -- run's error and later ones are printed too.
  local stop_sig = C.ml_run_stop_signal()
  local status = run_ok and "finished" or stop_sig ~= 0 and "interrupted" or "failed"
  local err = not run_ok and tostring(run_err) or nil
  local function failed(msg)
    if status == "finished" then status, err = "failed", msg
    else io.stderr:write("modlab: error: ", msg, "\n") end
  end
  if run_ok and cfg.save ~= false then
    local saved, serr = model:save(rd:path("model.safetensors"))
    if not saved then failed(serr) end
  end
  local last = history[#history] or {}
  local summary = { epochs = #history, best_valid_epoch = best and best.epoch,
                    params = model:nparams(), stopped_early = stopped_early,
                    best_model = cfg.keep_best and best and "best.safetensors" or nil }
  for k, v in pairs(last) do if k ~= "epoch" then summary[k] = v end end
  if best and history[best.epoch] then
    summary.best_valid_accuracy = history[best.epoch].valid_accuracy
    summary.test_accuracy_at_best_valid = history[best.epoch].test_accuracy
  end
  summary.status, summary.error = status, err
  local ok, wmsg = rd:save_json("summary.json", summary)
  if not ok then failed(wmsg) end
  meta.status, meta.end_time, meta.error = status, rundir.iso_now(), err
  ok, wmsg = rd:save_json("meta.json", meta)
  if not ok then
    local was = status
    failed(wmsg)
    -- summary.json said finished: it must not outlive the failure that followed it.
    if was == "finished" then
      summary.status, summary.error = status, err
      rd:save_json("summary.json", summary)
    end
  end
  if status == "interrupted" then rd:log(resume_hint(rd, history, epochs)) end
  rd:close()
  if status == "interrupted" then error(err, 0) end
  if not run_ok then error(run_err, level) end
  if status ~= "finished" then error(err, 0) end
  return { summary = summary, history = history, dir = rd.dir, model = model }
end

-- ml.trainer{...}: the model built for the data with its loss and optimizer, and the pieces
-- of a step (lua/modlab/trainer.lua), for a recipe's own loop.
function M.trainer(ml, cfg, level)
  level = (level or 1) + 1
  check_cfg(cfg, level, "ml.trainer")
  local t = trainer.new(ml, cfg, level)
  -- The model table, as ml.train prints it; the loop is the recipe's, so its progress is too.
  if not cfg.quiet then
    for _, l in ipairs(require("modlab.run_summary").model_lines(t.model)) do
      io.stderr:write(l, "\n")
    end
  end
  return t
end

-- ml.evaluate{model=, data=, split="test", loss=, batch=, checkpoint=}: loss, accuracy and
-- the layers' diagnostics (JSON text, nil when no layer reports) of a model (built here if
-- needed, loaded from `checkpoint` if given) on one split.
function M.evaluate(ml, cfg, level)
  level = (level or 1) + 1
  if type(cfg) ~= "table" or type(cfg.model) ~= "table" or type(cfg.data) ~= "table" then
    error("ml.evaluate: give { model = ..., data = ..., split = 'test' }", level)
  end
  local known = { model = 1, data = 1, split = 1, loss = 1, batch = 1, checkpoint = 1, seed = 1 }
  for k in pairs(cfg) do
    if not known[k] then
      error(("ml.evaluate: unknown setting '%s' (settings: batch, checkpoint, data, loss, "
             .. "model, seed, split; a checkpoint brings its model's normalisation)")
            :format(tostring(k)), level)
    end
  end
  check_ints(cfg, "ml.evaluate", { batch = true, seed = true }, level + 1)
  local split, batch = cfg.split or "test", cfg.batch or 1000
  local ds, msg = cfg.data:split(split)
  if not ds then error(msg, level) end
  local info = C.ml_dataset_info(ds)
  local model = cfg.model
  if model.handle == nil then
    local ok, berr = model:build(core.shape_table(info.x_shape), batch, cfg.seed or 1)
    if not ok then error(berr, level) end
  end
  if cfg.checkpoint then
    local ok, lerr = model:load(cfg.checkpoint)
    if not ok then error(lerr, level) end
  end
  local loss = cfg.loss or "cross_entropy"
  if type(loss) == "string" then loss = ml.loss(loss) end
  local t = C.ml_trainer_new(model.handle, info.y_shape, loss.name, core.opts(loss.opts), nil,
                             nil, core.err)
  if t == nil then error(core.errmsg(), level) end
  t = ffi.gc(t, C.ml_trainer_free)
  local n = tonumber(info.size)
  local r = trainer.evaluate(t, model, ds, trainer.index_array(n, 0), n,
                             math.min(batch, model.max_batch))
  return { loss = r.loss, accuracy = r.accuracy, examples = n,
           diagnostics = r.diagnostics and r.diagnostics.text }
end

return M
