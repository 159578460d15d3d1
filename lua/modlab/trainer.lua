-- SPDX-License-Identifier: MIT
-- ml.trainer{...}: a model built for a dataset with its loss, optimizer and splits, and the
-- pieces of a training step, for recipes that write their own loop. ml.train is this plus
-- epochs, a run directory and checkpoints. Every piece is one call into C (the batch is
-- read, the step is taken there): no Lua runs inside a layer.
--
--   local tr = ml.trainer{ model = m, data = d, optimizer = ml.optimizer("sgd"), batch = 128 }
--   for epoch = 1, 5 do
--     for b in tr:batches("train", epoch) do
--       tr:zero_grad(); tr:forward(); tr:loss(); tr:backward(); tr:step()
--     end
--     print(epoch, tr:evaluate("valid").accuracy)
--   end
local core = require "modlab.core"
local ffi, C = core.ffi, core.C

local M = {}
local Trainer = {}
Trainer.__index = Trainer

local function index_array(n, from)
  local a = ffi.new("int64_t[?]", math.max(n, 1))
  for i = 0, n - 1 do a[i] = from + i end
  return a
end
M.index_array = index_array

-- The training examples and the held-out validation examples of the train split.
local function split_train(size, fraction, seed)
  local all = index_array(size, 0)
  C.ml_shuffle(all, size, seed, 0xA11D)
  local nvalid = math.floor(size * fraction)
  local ntrain = size - nvalid
  local train = ffi.new("int64_t[?]", math.max(ntrain, 1))
  local valid = ffi.new("int64_t[?]", math.max(nvalid, 1))
  ffi.copy(train, all, ntrain * 8)
  ffi.copy(valid, all + ntrain, nvalid * 8)
  return train, ntrain, valid, nvalid
end

-- Normalisation statistics from the training examples alone (never validation or test),
-- or nil without cfg.normalize. The model applies them (they travel in its checkpoint).
local function normalize(self, on, level)
  if not on then return nil end
  local train = self.splits.train
  local nch = C.ml_dataset_channels(train.ds)
  local mean, std = ffi.new("double[?]", nch), ffi.new("double[?]", nch)
  if C.ml_dataset_stats(train.ds, train.idx, train.n, mean, std, core.err) ~= 0 then
    error(core.errmsg(), level)
  end
  local n = { mean = {}, std = {} }
  for c = 0, nch - 1 do n.mean[c + 1], n.std[c + 1] = mean[c], std[c] end
  return n
end

local function check(rc, level)
  if rc ~= 0 then error(core.errmsg(), (level or 2) + 1) end
end

-- cfg: model, data, optimizer, loss, batch, eval_batch, seed, valid, train_size, normalize,
-- groups, freeze, clip_norm, aux_scale, threads, loss_weights (ml.train's meanings).
-- Checked by the caller.
-- `modlab run --set k=v`: every key must have been read by an ml.arg when training starts
-- (a typo would otherwise be silently ignored). A sweep trial reports its unread parameters
-- itself, when it ends (modlab.sweep.checks).
local function check_set_keys(level)
  if core.trial_dir then return end
  local read = {}
  for name in pairs(core.used_args or {}) do read[#read + 1] = name end
  table.sort(read)
  local unread = {}
  for name in pairs(core.args or {}) do
    if not (core.used_args and core.used_args[name]) then unread[#unread + 1] = name end
  end
  table.sort(unread)
  if #unread == 0 then return end
  local name = unread[1]
  local near = require("modlab.util.suggest").closest(name, read)
  core.exit_status = 2   -- a mistyped --set is bad usage
  error(("--set %s=%s: no ml.arg read '%s' before training started%s"):format(name,
    tostring(core.args[name]), name,
    near and ("; did you mean '%s'?"):format(near)
      or (#read > 0 and (" (the recipe reads: " .. table.concat(read, ", ") .. ")")
          or " (the recipe reads no --set values)")), level)
end

function M.new(ml, cfg, level)
  level = (level or 1) + 1
  check_set_keys(level)
  local self = setmetatable({ cfg = cfg, seed = cfg.seed or 1, batch = cfg.batch }, Trainer)
  self.eval_batch = cfg.eval_batch or math.max(cfg.batch, 1000)
  if cfg.threads or core.threads then C.ml_blas_set_threads(cfg.threads or core.threads) end
  local data = cfg.data
  local train_ds = assert(data:split("train"))
  local info = C.ml_dataset_info(train_ds)
  self.x_shape, self.y_shape = core.shape_table(info.x_shape), core.shape_table(info.y_shape)
  local has_valid = data:has_split("valid")
  self.valid_fraction = has_valid and 0 or (cfg.valid == nil and 0.1 or cfg.valid)
  local tidx, ntrain, vidx, nvalid = split_train(tonumber(info.size), self.valid_fraction,
                                                 self.seed)
  -- train_size: a seeded random subset (the first n of the shuffled training indices; the
  -- validation examples were held out of the whole split before, so they stay disjoint).
  if cfg.train_size then ntrain = math.min(ntrain, cfg.train_size) end
  self.splits = { train = { ds = train_ds, idx = tidx, n = ntrain } }
  if has_valid then
    local ds = assert(data:split("valid"))
    local n = tonumber(C.ml_dataset_info(ds).size)
    self.splits.valid = { ds = ds, idx = index_array(n, 0), n = n }
  else
    self.splits.valid = { ds = train_ds, idx = vidx, n = nvalid }
  end
  if data:has_split("test") then
    local ds = assert(data:split("test"))
    local n = tonumber(C.ml_dataset_info(ds).size)
    self.splits.test = { ds = ds, idx = index_array(n, 0), n = n }
  end
  self.normalization = normalize(self, cfg.normalize, level)
  -- Transforms of training examples (ml.transform); built now, so a transform that cannot
  -- work with these examples fails before the model is.
  local augment = require "modlab.augment"
  self.augment_list = augment.check(cfg.augment, "ml.train", level)
  self.augment = augment.build(train_ds, self.augment_list, level)

  local model = cfg.model
  local ok, msg = model:build(self.x_shape, math.max(self.batch, self.eval_batch), self.seed)
  if not ok then error(msg, level) end
  self.model = model
  if self.normalization then model:set_normalization(self.normalization, level + 1) end
  -- One loss per output: `loss` a spec (or name) for all, or a list, one per output;
  -- loss_weights: their weights (default 1 each) in the total the steps minimise.
  local nout = tonumber(C.ml_model_noutputs(model.handle))
  local losses = cfg.loss or "cross_entropy"
  if type(losses) ~= "table" or losses.kind == "loss" then
    local one = losses
    losses = {}
    for k = 1, nout do losses[k] = one end
  end
  if #losses ~= nout then
    error(("%d losses given for a model with %d outputs; give one per output, or one for "
           .. "all"):format(#losses, nout), level)
  end
  for k, l in ipairs(losses) do
    if type(l) == "string" then losses[k] = ml.loss(l) end
    if type(losses[k]) ~= "table" or losses[k].kind ~= "loss" then
      error(("loss %d is not a loss name or ml.loss(...)"):format(k), level)
    end
  end
  local weights = cfg.loss_weights or {}
  local loss = losses[1]
  self.loss_spec, self.losses, self.optimizer = loss, losses, cfg.optimizer
  local t = C.ml_trainer_new(model.handle, core.shape(self.y_shape), loss.name,
                             core.opts(loss.opts), cfg.optimizer.name,
                             core.opts(cfg.optimizer.opts), core.err)
  if t == nil then error(core.errmsg(), level) end
  self.handle = ffi.gc(t, C.ml_trainer_free)
  if (weights[1] or 1) ~= 1 then
    error("loss_weights: the main output's weight is 1 (scale the others against it)", level)
  end
  for k = 2, nout do
    local w = weights[k] or 1
    check(C.ml_trainer_add_loss(t, k - 1, losses[k].name, core.opts(losses[k].opts), w,
                                core.err), level)
  end
  for _, g in ipairs(cfg.groups or {}) do
    self:set_group(g[1] or g.pattern or "", g.lr_scale, g.decay_scale, level + 1)
  end
  for _, pattern in ipairs(cfg.freeze or {}) do self:freeze(pattern, level + 1) end
  if cfg.clip_norm then C.ml_trainer_set_clip_norm(t, cfg.clip_norm) end
  if cfg.aux_scale then C.ml_trainer_set_aux_scale(t, cfg.aux_scale) end
  self.order = ffi.new("int64_t[?]", math.max(ntrain, 1))
  self.stats = ffi.new("ml_step_stats")
  return self
end


-- Parameters whose name contains `pattern` ("" = all) get lr * lr_scale (0 freezes) and
-- weight decay * decay_scale. Later calls win.
function Trainer:set_group(pattern, lr_scale, decay_scale, level)
  check(C.ml_trainer_set_group(self.handle, pattern or "", lr_scale or 1, decay_scale or 1,
                               core.err), level or 2)
end

-- The losses of outputs 2.., by name (config.json).
function Trainer:head_loss_names()
  local t = {}
  for k = 2, #self.losses do t[k - 1] = self.losses[k].name end
  return t
end

-- Parameters whose name contains `pattern` stop training (lr and decay scale 0).
function Trainer:freeze(pattern, level) self:set_group(pattern, 0, 0, (level or 2) + 1) end

-- The learning rate multiplier (a schedule's factor) for the steps that follow.
function Trainer:set_lr_factor(f) C.ml_trainer_set_lr_factor(self.handle, f) end

-- The split's examples: a dataset handle, its index array and count.
function Trainer:split(name)
  local s = self.splits[name]
  if not s then
    error(("trainer: no split '%s' (there are train, valid%s)"):format(tostring(name),
          self.splits.test and ", test" or ""), 3)
  end
  return s
end

-- The training examples in epoch `epoch`'s order (the shuffle ml.train uses).
function Trainer:epoch_order(epoch)
  local s = self.splits.train
  ffi.copy(self.order, s.idx, s.n * 8)
  C.ml_shuffle(self.order, s.n, self.seed, 1000 + epoch)
  return self.order, s.n
end

-- Training batches read from now on go through the augmentation list (if any) with the
-- streams of `epoch`; nil: evaluation reads, plain.
function Trainer:set_augment_epoch(epoch)
  if not self.augment then return end
  if epoch then C.ml_trainer_set_augment(self.handle, self.augment, self.seed, epoch)
  else C.ml_trainer_set_augment(self.handle, nil, 0, 0) end
end

-- for b in tr:batches(split [, epoch]): reads each batch into the trainer (train: shuffled
-- for `epoch`, default 1, in batches of `batch`; valid and test: in order, in batches of
-- eval_batch) and yields its number (1-based) and size.
function Trainer:batches(split, epoch, size)
  local s = self:split(split)
  local order, n = s.idx, s.n
  if split == "train" then order, n = self:epoch_order(epoch or 1) end
  self:set_augment_epoch(split == "train" and (epoch or 1) or nil)
  size = size or (split == "train" and self.batch or self.eval_batch)
  local k, nb = 0, math.ceil(n / size)
  return function()
    if k >= nb then return nil end
    local start = k * size
    local m = math.min(size, n - start)
    check(C.ml_trainer_read_batch(self.handle, s.ds, order + start, m, core.err))
    k = k + 1
    return k, m
  end
end

-- The pieces of a step, on the batch read last (each an error if out of order).
function Trainer:train_mode(on) self.model:training(on ~= false) end
function Trainer:zero_grad() C.ml_trainer_zero_grad(self.handle) end
-- Forward in the current mode; returns the output (float*, valid until the next forward).
function Trainer:forward()
  local out = C.ml_trainer_forward(self.handle, core.err)
  if out == nil then error(core.errmsg(), 2) end
  return out
end
-- The loss of that forward (adds it, and the accuracy, to tr.stats); `no_grad` skips the
-- gradient at the output (evaluation).
function Trainer:loss(no_grad)
  local l = ffi.new("double[1]")
  check(C.ml_trainer_loss(self.handle, no_grad and 0 or 1, self.stats, l, core.err))
  return l[0]
end
function Trainer:backward()
  local aux = ffi.new("double[1]")
  check(C.ml_trainer_backward(self.handle, aux, core.err))
  return aux[0]
end
function Trainer:step() check(C.ml_trainer_update(self.handle, core.err)) end
-- All of it in one call (E-step included): what ml.train does per batch.
function Trainer:train_batch() check(C.ml_trainer_train_batch(self.handle, self.stats, core.err)) end

-- Loss and accuracy accumulated in tr.stats since the last reset (nil when nothing ran).
function Trainer:take_stats()
  local st = self.stats
  local seen = tonumber(st.seen)
  local r = seen > 0 and { loss = tonumber(st.loss) / seen, steps = tonumber(st.steps),
                           accuracy = tonumber(st.correct) / seen,
                           aux_loss = tonumber(st.aux_loss) / seen } or nil
  ffi.fill(st, ffi.sizeof("ml_step_stats"))
  return r
end

-- The layers' diagnostics reports since the last reset (raw JSON), nil when none reports.
function M.diagnostics(model)
  local text = C.ml_model_diagnostics(model.handle, core.err)
  if text == nil then error(core.errmsg(), 0) end
  text = ffi.string(text)
  return text ~= "" and require("modlab.util.json").raw(text) or nil
end

-- Loss and accuracy of examples idx[0..n) of ds in evaluation mode, and the layers'
-- diagnostics, through trainer handle t.
function M.evaluate(t, model, ds, idx, n, batch)
  local st = ffi.new("ml_step_stats")
  C.ml_model_diag_reset(model.handle)
  check(C.ml_trainer_run(t, ds, idx, n, batch, 0, math.ceil(n / batch), 0, st, core.err))
  return { loss = tonumber(st.loss) / math.max(n, 1),
           accuracy = st.seen > 0 and tonumber(st.correct) / tonumber(st.seen) or nil,
           diagnostics = M.diagnostics(model) }
end

-- The same for a whole split of this trainer.
function Trainer:evaluate(split)
  local s = self:split(split)
  return M.evaluate(self.handle, self.model, s.ds, s.idx, s.n, self.eval_batch)
end

M.Trainer = Trainer
return M
