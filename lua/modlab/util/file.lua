-- SPDX-License-Identifier: MIT
-- Whole files: read, exists, crash-safe write and mkdir -p, for every module.
local clib = require "modlab.util.clib"
local C = clib.C

local M = {}

local err = clib.ffi.new("ml_err")
local function errmsg() return clib.ffi.string(err.msg) end

-- The bytes of the file at path, or nil when it cannot be opened.
function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local t = f:read("*a")
  f:close()
  return t
end

function M.exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

-- Replace path's contents as one step (ml_file_write_atomic: a temporary file, fsync,
-- rename): true, or nil and a message.
function M.write_atomic(path, text)
  if C.ml_file_write_atomic(path, text, #text, err) ~= 0 then return nil, errmsg() end
  return true
end

-- mkdir -p: true, or nil and a message.
function M.mkdirs(path)
  if C.ml_mkdirs(path, err) ~= 0 then return nil, errmsg() end
  return true
end

return M
