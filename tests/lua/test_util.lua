-- SPDX-License-Identifier: MIT
-- lua/modlab/util/: JSON surrogate pairs decode to UTF-8 (not CESU-8) and a lone surrogate
-- is an error; numbers print as the shortest text that reads back (the C formatter, so Lua
-- and C agree); JSON lines round-trip and a torn line is reported; and a run's config.json
-- says "lr":0.05, not 17 digits.
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local ml = require "modlab"
local json = require "modlab.util.json"
local number = require "modlab.util.number"
local jsonl = require "modlab.util.jsonl"
local file = require "modlab.util.file"

-- Surrogates.
t.ok(json.decode('"\\ud83d\\ude00"') == "\240\159\152\128",
     "\\ud83d\\ude00 decodes to U+1F600 as 4-byte UTF-8 (F0 9F 98 80)")
t.ok(json.decode('"\\u00e9\\u20ac"') == "\195\169\226\130\172", "BMP escapes decode to UTF-8")
local v, msg = json.decode('"\\ud83d"')
t.ok(v == nil and tostring(msg):find("lone surrogate", 1, true), "a lone high surrogate is an error")
v, msg = json.decode('"\\ude00x"')
t.ok(v == nil and tostring(msg):find("lone surrogate", 1, true), "a lone low surrogate is an error")
t.ok(json.decode(json.encode("\240\159\152\128")) == "\240\159\152\128",
     "a 4-byte character survives encode and decode")

-- Numbers.
t.ok(number.shortest(0.05) == "0.05", "0.05 prints as 0.05")
t.ok(number.shortest(0.1 + 0.2) == "0.30000000000000004", "0.1 + 0.2 keeps its 17 digits")
t.ok(number.shortest(1e99) == "1e+99", "1e99 prints as 1e+99")
t.ok(number.text(3) == "3" and number.text(2^60) == "1.152921504606847e+18",
     "whole numbers below 2^53 as digits, larger ones as the shortest double")
t.ok(json.encode({ lr = 0.05 }) == '{"lr":0.05}', "json.encode writes the shortest text")
for _, x in ipairs({ 0.1, 1 / 3, 5e-324, 1.7976931348623157e308, -2.5e-3 }) do
  t.ok(tonumber(number.shortest(x)) == x, ("%s reads back exactly"):format(number.shortest(x)))
end

-- JSON lines.
local dir = os.getenv("MODLAB_RUNS") .. "/test_util"
assert(file.mkdirs(dir))
local path = dir .. "/lines.jsonl"
os.remove(path)
jsonl.append(path, { a = 1 })
jsonl.append(path, { b = "x" })
local f = assert(io.open(path, "a"))
f:write('{"torn": ')
f:close()
local bad = {}
local rows = jsonl.values(path, function(lineno, why) bad[#bad + 1] = lineno end)
t.ok(#rows == 2 and rows[1].a == 1 and rows[2].b == "x", "two whole lines read back")
t.ok(#bad == 1 and bad[1] == 3, "the torn third line is reported, not read")
t.ok(file.exists(path) and not file.exists(dir .. "/nothing"), "file.exists")

-- config.json of a run with lr = 0.05.
local run = ml.train {
  model = ml.sequential { ml.layer("linear", { out = 2 }) },
  data = assert(ml.dataset("synthetic", { kind = "blobs", size = 100 })),
  optimizer = ml.optimizer("sgd", { lr = 0.05 }), epochs = 1, batch = 20, quiet = true,
}
local config = file.read(run.dir .. "/config.json") or ""
t.ok(config:find('"lr":0.05', 1, true) ~= nil, 'config.json says "lr":0.05')
t.ok(config:find("0.050000000000000003", 1, true) == nil, "and not 0.050000000000000003")
t.done()
