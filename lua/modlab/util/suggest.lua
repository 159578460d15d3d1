-- SPDX-License-Identifier: MIT
-- "Did you mean": the closest known name to a mistyped one, for commands, options, --set
-- keys, sweep metric names and parameters.
local M = {}

-- Edit distance counting a swap of two neighbours as one edit (optimal string alignment):
-- "rnu" is one typo of "run", not two. Names are short, O(n*m) is fine.
local function distance(a, b)
  local d = {}
  for i = 0, #a do d[i] = { [0] = i } end
  for j = 0, #b do d[0][j] = j end
  for i = 1, #a do
    for j = 1, #b do
      local cost = a:byte(i) == b:byte(j) and 0 or 1
      local v = math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
      if i > 1 and j > 1 and a:byte(i) == b:byte(j - 1) and a:byte(i - 1) == b:byte(j) then
        v = math.min(v, d[i - 2][j - 2] + 1)
      end
      d[i][j] = v
    end
  end
  return d[#a][#b]
end

-- The candidate closest to name when it is close enough to be a typo (a third of the
-- name's length, at least 1, or the same name in other case), else nil.
function M.closest(name, candidates)
  local best, bd
  local limit = math.max(1, math.floor(#name / 3))
  for _, c in ipairs(candidates) do
    local d = c:lower() == name:lower() and 0 or distance(name, c)
    if d <= limit and (not bd or d < bd or (d == bd and c < best)) then best, bd = c, d end
  end
  return best
end

-- "; did you mean 'x'?" or "".
function M.hint(name, candidates)
  local c = M.closest(name, candidates)
  return c and ("; did you mean '%s'?"):format(c) or ""
end

return M
