-- SPDX-License-Identifier: MIT
-- JSON lines (metrics.jsonl, timing.jsonl, journal.jsonl): the one reader and writer.
-- Lines are written whole (ml_journal_append: one write() with O_APPEND, then fsync), so a
-- kill leaves whole lines, or at worst (a full disk, a trial killed mid-write) one torn
-- last line, which the reader skips and reports to the caller.
local clib = require "modlab.util.clib"
local json = require "modlab.util.json"
local file = require "modlab.util.file"
local ffi, C = clib.ffi, clib.C

local M = {}

local err = ffi.new("ml_err")

-- The objects of the file at path, in file order, each as { value = table, text = line,
-- line = its line number }; lines that are not a JSON object are left out and passed to
-- on_bad(lineno, message) when given. An absent file has no rows (second result false).
function M.read(path, on_bad)
  local rows = {}
  local text = file.read(path)
  if not text then return rows, false end
  local lineno = 0
  for line in text:gmatch("([^\n]*)\n?") do
    lineno = lineno + 1
    if line:find("%S") then
      local v, msg = json.decode(line)
      if type(v) == "table" then rows[#rows + 1] = { value = v, text = line, line = lineno }
      elseif on_bad then on_bad(lineno, msg or "not a JSON object") end
    end
  end
  return rows, true
end

-- Only the values of M.read's rows.
function M.values(path, on_bad)
  local rows, found = M.read(path, on_bad)
  for i, r in ipairs(rows) do rows[i] = r.value end
  return rows, found
end

-- Append value as one line; returns the line's text (raises when it cannot be written).
function M.append(path, value)
  local line = json.encode(value)
  if C.ml_journal_append(path, line, err) ~= 0 then error(ffi.string(err.msg), 0) end
  return line
end

-- Replace the file (crash-safely) with exactly `lines` (texts M.append returned).
function M.rewrite(path, lines)
  local text = #lines > 0 and table.concat(lines, "\n") .. "\n" or ""
  local ok, msg = file.write_atomic(path, text)
  if not ok then error(msg, 0) end
end

return M
