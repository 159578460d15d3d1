-- SPDX-License-Identifier: MIT
-- The invariants of a run directory after a kill (tests/crash_safety.sh):
--   modlab run tests/crash/check_rundir.lua --set dir=DIR
-- every *.json parses; every complete line of metrics.jsonl / timing.jsonl parses and the
-- epochs count 1, 2, ...; checkpoint.safetensors and model.safetensors are absent or whole
-- (header and sizes agree); summary.json is absent or complete. Prints one line
-- "checkpoint=E metrics=N timing=N summary=STATUS model=yes|no"; raises on a violation.
local ml = require "modlab"
local decode = require("modlab.json").decode
local dir = ml.arg("dir")

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local t = f:read("*a")
  f:close()
  return t
end

local function json_file(path)
  local text = read(path)
  if not text then return nil end
  local v, err = decode(text)
  if type(v) ~= "table" then error(path .. ": torn or invalid JSON: " .. tostring(err), 0) end
  return v
end

local p = io.popen(("ls -1 %q"):format(dir))
for name in p:lines() do
  if name:match("%.json$") then json_file(dir .. "/" .. name) end
end
p:close()

-- Complete lines (ending in \n) must parse; a torn tail without \n is what a kill may leave.
local function jsonl(file)
  local text, n = read(dir .. "/" .. file) or "", 0
  for line in text:gmatch("([^\n]*)\n") do
    local row, err = decode(line)
    if type(row) ~= "table" then error(("%s line %d: %s"):format(file, n + 1, err), 0) end
    if row.epoch ~= n + 1 then
      error(("%s line %d: epoch %s, want %d"):format(file, n + 1, tostring(row.epoch),
                                                     n + 1), 0)
    end
    n = n + 1
  end
  return n
end

-- A safetensors file is whole when its header parses and its data ends where the file does.
local function safetensors(file)
  local bytes = read(dir .. "/" .. file)
  if not bytes then return nil end
  if #bytes < 8 then error(file .. ": shorter than its 8-byte header length", 0) end
  local n = 0
  for i = 8, 1, -1 do n = n * 256 + bytes:byte(i) end
  local header, err = decode(bytes:sub(9, 8 + n))
  if type(header) ~= "table" then error(file .. ": header: " .. tostring(err), 0) end
  local data_end = 0
  for k, t in pairs(header) do
    if k ~= "__metadata__" then data_end = math.max(data_end, t.data_offsets[2]) end
  end
  if 8 + n + data_end ~= #bytes then
    error(("%s: %d bytes, the header says %d"):format(file, #bytes, 8 + n + data_end), 0)
  end
  return header.__metadata__ or {}
end

local ck = safetensors("checkpoint.safetensors")
local epoch = "none"
if ck then
  local state = decode(ck["modlab.train.state"] or "")
  if type(state) ~= "table" then error("checkpoint.safetensors: no training state", 0) end
  epoch = state.epoch
end
local summary = json_file(dir .. "/summary.json")
if summary and type(summary.status) ~= "string" then error("summary.json: no status", 0) end
print(("checkpoint=%s metrics=%d timing=%d summary=%s model=%s"):format(epoch,
  jsonl("metrics.jsonl"), jsonl("timing.jsonl"), summary and summary.status or "absent",
  safetensors("model.safetensors") and "yes" or "no"))
