-- SPDX-License-Identifier: MIT
-- File readers for `modlab report`: whole files, JSON, JSON lines, CSV, PGM images and
-- base64. A report is written for people to look at, so a damaged line or image is skipped
-- with a warning (collected in `warnings`, printed on stderr and shown in the page) rather
-- than ending the report; only a directory that is neither a run nor a sweep is an error.
local decode = require("modlab.util.json").decode
local file = require "modlab.util.file"
local jsonl = require "modlab.util.jsonl"
local core = require "modlab.core"

local M = {}

-- Whole files: modlab.util.file's, under the names the report modules use.
M.read, M.exists = file.read, file.exists

-- A warning goes to stderr now and into the page later.
function M.warn(warnings, msg)
  io.stderr:write("modlab: warning: ", msg, "\n")
  warnings[#warnings + 1] = msg
end

-- A JSON file, or nil (absent, or unreadable: warned).
function M.json(path, warnings)
  local text = M.read(path)
  if not text then return nil end
  local v, err = decode(text)
  if type(v) ~= "table" then
    M.warn(warnings, ("%s: not a JSON object (%s); left out"):format(path, err or "?"))
    return nil
  end
  return v
end

-- Every object of a JSON-lines file; unreadable lines are skipped with a warning naming the
-- file and line (a run killed mid-write can leave a torn last line).
function M.jsonl(path, warnings)
  return (jsonl.values(path, function(lineno, err)
    M.warn(warnings, ("%s:%d: unreadable line skipped (%s)"):format(path, lineno, err))
  end))
end

-- CSV as written by sweep.lua: a header line, then rows; quoted fields may hold commas,
-- doubled quotes and newlines.
function M.csv(text)
  local rows, row, field, i, n = {}, {}, {}, 1, #text
  local quoted = false
  while i <= n do
    local c = text:sub(i, i)
    if quoted then
      if c == '"' and text:sub(i + 1, i + 1) == '"' then field[#field + 1] = '"'; i = i + 1
      elseif c == '"' then quoted = false
      else field[#field + 1] = c end
    elseif c == '"' then quoted = true
    elseif c == "," then row[#row + 1] = table.concat(field); field = {}
    elseif c == "\n" then
      row[#row + 1] = table.concat(field); field = {}
      rows[#rows + 1] = row; row = {}
    elseif c ~= "\r" then field[#field + 1] = c end
    i = i + 1
  end
  if #field > 0 or #row > 0 then row[#row + 1] = table.concat(field); rows[#rows + 1] = row end
  return rows
end

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
local b64chars = {}
for k = 0, 63 do b64chars[k] = B64:sub(k + 1, k + 1) end

function M.base64(s)
  local out, byte = {}, string.byte
  for k = 1, #s, 3 do
    local a, b, c = byte(s, k, k + 2)
    local v = a * 65536 + (b or 0) * 256 + (c or 0)
    out[#out + 1] = b64chars[math.floor(v / 262144)] ..
      b64chars[math.floor(v / 4096) % 64] ..
      (b and b64chars[math.floor(v / 64) % 64] or "=") .. (c and b64chars[v % 64] or "=")
  end
  return table.concat(out)
end

M.MAX_PIXELS = 4 * 1024 * 1024

-- A PGM image (P2 text or P5 binary, maxval up to 65535) as { width, height, gray } with
-- gray the 8-bit samples as a string; nil and a message when the file is not one.
function M.pgm(text)
  local magic = text:sub(1, 2)
  if magic ~= "P2" and magic ~= "P5" then return nil, "not a PGM file (no P2/P5 magic)" end
  local pos, fields = 3, {}
  -- Header: three numbers separated by whitespace, '#' comments to the end of a line.
  while #fields < 3 do
    local s, e = text:find("^%s+", pos)
    if s then pos = e + 1 end
    if text:sub(pos, pos) == "#" then
      pos = (text:find("\n", pos, true) or #text) + 1
    else
      local num = text:match("^%d+", pos)
      if not num then return nil, "bad header at byte " .. pos end
      fields[#fields + 1] = tonumber(num)
      pos = pos + #num
    end
  end
  local w, h, maxval = fields[1], fields[2], fields[3]
  if w < 1 or h < 1 or maxval < 1 or maxval > 65535 then
    return nil, ("bad header (width %d, height %d, maxval %d)"):format(w, h, maxval)
  end
  if w * h > M.MAX_PIXELS then
    return nil, ("%dx%d is more than %d pixels"):format(w, h, M.MAX_PIXELS)
  end
  local out, n, byte, char = {}, w * h, string.byte, string.char
  local scale = 255 / maxval
  if magic == "P5" then
    pos = pos + 1   -- exactly one whitespace byte before the raster
    local bps = maxval > 255 and 2 or 1
    if #text - pos + 1 < n * bps then
      return nil, ("truncated raster: %d bytes, want %d"):format(#text - pos + 1, n * bps)
    end
    if bps == 1 and maxval == 255 then return { width = w, height = h,
      gray = text:sub(pos, pos + n - 1) } end
    for k = 0, n - 1 do
      local v = bps == 1 and byte(text, pos + k) or
                byte(text, pos + 2 * k) * 256 + byte(text, pos + 2 * k + 1)
      out[k + 1] = char(math.floor(math.min(v, maxval) * scale + 0.5))
    end
  else
    local k = 0
    for num in text:sub(pos):gmatch("%d+") do
      if k == n then break end
      k = k + 1
      out[k] = char(math.floor(math.min(tonumber(num), maxval) * scale + 0.5))
    end
    if k < n then return nil, ("truncated raster: %d samples, want %d"):format(k, n) end
  end
  return { width = w, height = h, gray = table.concat(out) }
end

-- *.pgm regular files in a run directory and one level below (links are not followed),
-- sorted by path bytewise. Listed by name (core.listdir), so any byte in a name is fine.
function M.find_pgm(dir)
  local list = {}
  local names, kinds = core.listdir(dir)
  for _, name in ipairs(names or {}) do
    local path = dir .. "/" .. name
    if kinds[name] == "file" and name:match("%.pgm$") then
      list[#list + 1] = path
    elseif kinds[name] == "dir" then
      local sub, subkinds = core.listdir(path)
      for _, s in ipairs(sub or {}) do
        if subkinds[s] == "file" and s:match("%.pgm$") then list[#list + 1] = path .. "/" .. s end
      end
    end
  end
  table.sort(list)
  return list
end

return M
