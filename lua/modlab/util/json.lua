-- SPDX-License-Identifier: MIT
-- JSON for run directories. Encoding: deterministic (object keys sorted), integers printed
-- exactly, other numbers as the shortest text that reads back as the same double, so equal
-- runs give equal bytes.
-- The number formatter (libmodlab's, through the FFI) is loaded on the first encode, so the
-- decoder stands alone in a bare LuaJIT: fuzz/fuzz_lua_json.c loads just this file.
local number

local M = {}

local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                  ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function encode_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or ("\\u%04x"):format(c:byte())
  end) .. '"'
end

local function is_array(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k ~= math.floor(k) then return false end
    n = n + 1
  end
  return n == #t
end

-- A value marked raw is spliced in as already-encoded JSON text.
local raw_mt = {}
function M.raw(text) return setmetatable({ text = text }, raw_mt) end

local function encode(v, out)
  local t = type(v)
  if v == nil or v == M.null then out[#out + 1] = "null"
  elseif t == "boolean" then out[#out + 1] = tostring(v)
  elseif t == "number" then
    if v ~= v or v == math.huge or v == -math.huge then out[#out + 1] = "null"
    else
      number = number or require "modlab.util.number"
      out[#out + 1] = number.text(v)
    end
  elseif t == "string" then out[#out + 1] = encode_string(v)
  elseif t == "table" and getmetatable(v) == raw_mt then out[#out + 1] = v.text
  elseif t == "table" then
    if next(v) ~= nil and is_array(v) then
      out[#out + 1] = "["
      for i, x in ipairs(v) do
        if i > 1 then out[#out + 1] = "," end
        encode(x, out)
      end
      out[#out + 1] = "]"
    else
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      out[#out + 1] = "{"
      for i, k in ipairs(keys) do
        if i > 1 then out[#out + 1] = "," end
        out[#out + 1] = encode_string(k)
        out[#out + 1] = ":"
        local x = v[k]
        if x == nil then x = v[tonumber(k)] end
        encode(x, out)
      end
      out[#out + 1] = "}"
    end
  else
    error("json: cannot encode a " .. t, 2)
  end
end

M.null = setmetatable({}, { __tostring = function() return "null" end })

function M.encode(v)
  local out = {}
  encode(v, out)
  return table.concat(out)
end

---------------------------------------------------------------------------------------------
-- JSON reading (journal lines, sweep plans, metrics.jsonl, summary.json, meta.json)

local code_point

-- The UTF-8 bytes of code point cp (below 0x110000).
local function utf8(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64,
                       0x80 + cp % 64)
  end
  return string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
                     0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

local function hex4(text, at)
  local h = text:sub(at, at + 3)
  return h:match("^%x%x%x%x$") and tonumber(h, 16) or error("bad \\u escape at byte " .. at - 2)
end

-- The code point of the \u escape at byte i, and how many bytes it spans. Characters past
-- U+FFFF come as a UTF-16 surrogate pair (\ud83d\ude00 is U+1F600), which becomes one
-- 4-byte UTF-8 sequence; a surrogate that is not part of a pair encodes no character, and
-- is an error (as Python's json.loads would give '\ud83d' back as a lone surrogate, which
-- is no valid UTF-8 either).
function code_point(text, i)
  local hi = hex4(text, i + 2)
  if hi >= 0xDC00 and hi <= 0xDFFF then
    error(("lone surrogate \\u%04x at byte %d"):format(hi, i))
  end
  if hi < 0xD800 or hi > 0xDBFF then return hi, 6 end
  local lo = text:sub(i + 6, i + 7) == "\\u" and hex4(text, i + 8)
  if not lo or lo < 0xDC00 or lo > 0xDFFF then
    error(("lone surrogate \\u%04x at byte %d"):format(hi, i))
  end
  return 0x10000 + (hi - 0xD800) * 1024 + (lo - 0xDC00), 12
end

local function decode(text)
  local pos = 1
  local function ws() pos = text:find("[^ \t\r\n]", pos) or #text + 1 end
  local value
  local function str()
    local out, i = {}, pos + 1
    while true do
      local c = text:sub(i, i)
      if c == "" then error("unterminated string") end
      if c == '"' then pos = i + 1 return table.concat(out) end
      if c == "\\" then
        local e = text:sub(i + 1, i + 1)
        local map = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
        if e == "u" then
          local cp, len = code_point(text, i)
          out[#out + 1] = utf8(cp)
          i = i + len
        else
          out[#out + 1] = map[e] or e
          i = i + 2
        end
      else
        local j = text:find('["\\]', i)
        if not j then error("unterminated string") end
        out[#out + 1] = text:sub(i, j - 1)
        i = j
      end
    end
  end
  -- An object's or array's members after its opening bracket, each read by member(t),
  -- comma-separated up to `close`.
  local function members(close, member)
    local t = {}
    pos = pos + 1
    ws()
    if text:sub(pos, pos) == close then pos = pos + 1 return t end
    while true do
      member(t)
      ws()
      local d = text:sub(pos, pos)
      pos = pos + 1
      if d == close then return t end
      if d ~= "," then error(("expected ',' or '%s' at byte %d"):format(close, pos - 1)) end
    end
  end
  local function object_member(t)
    ws()
    if text:sub(pos, pos) ~= '"' then error("expected a key at byte " .. pos) end
    local k = str()
    ws()
    if text:sub(pos, pos) ~= ":" then error("expected ':' at byte " .. pos) end
    pos = pos + 1
    local v = value()
    if v ~= M.null then t[k] = v end   -- null members read as absent
  end
  local function array_member(t) t[#t + 1] = value() end
  function value()
    ws()
    local c = text:sub(pos, pos)
    if c == "{" then
      return members("}", object_member)
    elseif c == "[" then
      return members("]", array_member)
    elseif c == '"' then return str()
    elseif text:sub(pos, pos + 3) == "true" then pos = pos + 4 return true
    elseif text:sub(pos, pos + 4) == "false" then pos = pos + 5 return false
    elseif text:sub(pos, pos + 3) == "null" then pos = pos + 4 return M.null
    else
      local num = text:match("^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
      if not num or num == "" then error("unexpected '" .. c .. "' at byte " .. pos) end
      pos = pos + #num
      return tonumber(num) or error("bad number " .. num)
    end
  end
  local v = value()
  ws()
  if pos <= #text then error("trailing text at byte " .. pos) end
  return v
end

-- Decode JSON text; returns the value, or nil and a message ("expected ':' at byte 12").
-- Objects become tables (null members are left out), arrays sequences (null items are
-- json.null), numbers Lua numbers. Lenient (it reads what modlab and Python write), but
-- never raises: every problem is a nil, msg return.
function M.decode(text)
  local ok, v = pcall(decode, text)
  if ok then return v end
  return nil, tostring(v):gsub("^.-:%d+: ", "")
end

return M
