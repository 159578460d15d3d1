-- SPDX-License-Identifier: MIT
-- The readers behind `modlab report`: PGM decoding (P2/P5, comments, 16 bits, damage),
-- base64, results.csv parsing, and how a diagnostics value is classified for drawing.
local t = dofile(os.getenv("top_srcdir") .. "/tests/lua/tap.lua")
local files = require "modlab.report.files"
local run = require "modlab.report.run"

local img = files.pgm("P2\n# a comment\n3 2\n# another\n4\n0 1 2\n3 4 4\n")
t.ok(img and img.width == 3 and img.height == 2, "P2 with comments: size read")
t.ok(img and ({ img.gray:byte(1, -1) })[5] == 255 and img.gray:byte(1) == 0 and
     img.gray:byte(2) == 64, "P2 samples scaled from maxval 4 to 0..255")
img = files.pgm("P5 2 1 255\n" .. string.char(7, 250))
t.ok(img and img.gray == string.char(7, 250), "P5 8-bit raster read as is")
img = files.pgm("P5\n2 1\n65535\n" .. string.char(255, 255, 0, 0))
t.ok(img and img.gray == string.char(255, 0), "P5 16-bit big-endian samples scaled to 8 bits")
local none, err = files.pgm("P5\n4 4\n255\nab")
t.ok(not none and err:find("truncated raster", 1, true), "truncated P5 refused: " ..
     tostring(err))
none, err = files.pgm("P2\n2 2\n255\n1 2 3")
t.ok(not none and err:find("truncated raster", 1, true), "short P2 refused")
none, err = files.pgm("P6\n1 1\n255\nabc")
t.ok(not none and err:find("not a PGM", 1, true), "a colour PPM is not a PGM")
none, err = files.pgm("P5\n0 4\n255\n")
t.ok(not none and err:find("bad header", 1, true), "zero width refused")
none, err = files.pgm("P5\n100000 100000\n255\n")
t.ok(not none and err:find("more than", 1, true), "a huge image is refused before decoding")

t.ok(files.base64("") == "" and files.base64("f") == "Zg==" and files.base64("fo") == "Zm8="
     and files.base64("foobar") == "Zm9vYmFy", "base64 of the RFC 4648 test vectors")

local rows = files.csv('a,b,c\n1,"x,y","say ""hi"""\n2,,3\n')
t.ok(#rows == 3 and rows[2][2] == "x,y" and rows[2][3] == 'say "hi"' and rows[3][2] == "",
     "CSV: quoted commas, doubled quotes, empty fields")

t.ok(run.classify(1.5) == "scalar", "a number is a scalar")
t.ok(run.classify({ 1, 2, 3 }) == "vector", "a list of numbers is a vector")
t.ok(run.classify({ { 1, 2 }, { 3, 4 } }) == "matrix", "equal-length lists are a matrix")
t.ok(run.classify({ { 1, 2 }, { 3 } }) == "text", "ragged lists are shown as text")
t.ok(run.classify({ 1, "a" }) == "text", "mixed lists are shown as text")
t.ok(run.classify({ a = 1 }) == "object", "an object is walked into")
t.ok(run.classify("em") == "text", "a string is text")

-- Scalars keep every epoch; lists keep the last epoch of the test split, else valid.
local d = run.diagnostics({
  { epoch = 1, diagnostics = { train = { ["2.m"] = { n = 1, sizes = { 1, 2 } } },
                               valid = { ["2.m"] = { n = 2, sizes = { 5, 6 } } } } },
  { epoch = 2, diagnostics = { train = { ["2.m"] = { n = 3, sizes = { 3, 4 } } },
                               valid = { ["2.m"] = { n = 4, sizes = { 7, 8 } } } } },
}, {})
local items = {}
for _, it in ipairs(d[1] and d[1].items or {}) do items[it.path] = it end
t.ok(d[1] and d[1].layer == "2.m", "one layer, by its number and name")
t.ok(items.n and items.n.series.train[1] == 1 and items.n.series.train[2] == 3 and
     items.n.series.valid[2] == 4, "a scalar over epochs, per split")
t.ok(items.sizes and items.sizes.split == "valid" and items.sizes.value[2] == 8,
     "a list: the last epoch of valid when there is no test split")
t.done()
