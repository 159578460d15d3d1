-- SPDX-License-Identifier: MIT
-- JSON encoding for run directories: deterministic (object keys sorted), integers printed
-- exactly, floats with 17 significant digits so equal runs give equal bytes.
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
    elseif v == math.floor(v) and math.abs(v) < 2^53 then out[#out + 1] = ("%d"):format(v)
    else
      -- The shortest text that reads back as the same double.
      local text
      for digits = 15, 17 do
        text = ("%." .. digits .. "g"):format(v)
        if tonumber(text) == v then break end
      end
      out[#out + 1] = text
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

return M
