-- SPDX-License-Identifier: MIT
-- TAP for Lua tests run with `modlab run`: local t = dofile(top_srcdir .. "/tests/lua/tap.lua")
local T = { n = 0, failed = 0 }

function T.ok(cond, name)
  T.n = T.n + 1
  if not cond then T.failed = T.failed + 1 end
  print(("%s %d - %s"):format(cond and "ok" or "not ok", T.n, name))
  return cond
end

function T.near(got, want, tol, name)
  if not T.ok(type(got) == "number" and math.abs(got - want) <= tol, name) then
    print(("#   got %s, want %s +- %s"):format(tostring(got), tostring(want), tostring(tol)))
  end
end

function T.errors(fn, pattern, name)
  local ok, msg = pcall(fn)
  if not T.ok(not ok and tostring(msg):find(pattern, 1, true) ~= nil, name) then
    print("#   " .. (ok and "no error" or tostring(msg)))
  end
end

function T.done()
  print("1.." .. T.n)
  if T.failed > 0 then os.exit(1) end
end

return T
