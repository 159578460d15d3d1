-- SPDX-License-Identifier: MIT
-- Where a sweep runs: the working directory, the host name, modlab's own executable and
-- real paths, for the plan, the journal and the processes the launchers start.
local core = require "modlab.core"
local ffi, C = core.ffi, core.C

local M = {}

local function cwd()
  local buf = ffi.new("char[4096]")
  if C.getcwd(buf, 4096) == nil then return "." end
  return ffi.string(buf)
end

local function abspath(p)
  if p:sub(1, 1) == "/" then return p end
  return cwd() .. "/" .. p
end

local function hostname()
  local buf = ffi.new("char[256]")
  if C.gethostname(buf, 255) ~= 0 then return "?" end
  return ffi.string(buf)
end

local function self_exe()
  local buf = ffi.new("char[4096]")
  local n = C.readlink("/proc/self/exe", buf, 4095)
  if n <= 0 then return "modlab" end
  return ffi.string(buf, n)
end

-- Where a path really points, for showing and using one spelling of the sweep directory:
-- absolute, its existing part through realpath (symlinks followed, as the kernel would),
-- the rest (not created yet) with "." and ".." taken out the way mkdir -p walks them.
local function resolve(p)
  local cur, buf = "", ffi.new("char[4096]")
  local rest = abspath(p)
  local real = true
  for c in rest:gmatch("[^/]+") do
    if c == ".." then cur = cur:match("^(.*)/[^/]*$") or ""
    elseif c ~= "." then
      cur = cur .. "/" .. c
      if real and C.realpath(cur, buf) ~= nil then cur = ffi.string(buf):gsub("^/$", "")
      else real = false end
    end
  end
  return cur == "" and "/" or cur
end

M.cwd = cwd
M.abspath = abspath
M.hostname = hostname
M.self_exe = self_exe
M.resolve = resolve

return M
