-- SPDX-License-Identifier: MIT
-- The one argument parser of the modlab command line, and the --help text, both driven by
-- cli/commands.lua. Why not lua-argparse: the same table must also make the man page and
-- two completion scripts (argparse makes no man page), the binary embeds its Lua (one more
-- dependency to vendor), and our errors follow one rule: one line, exit 2, "did you mean".
local commands = require "modlab.cli.commands"
local suggest = require "modlab.util.suggest"
local M = {}

local function key_of(o) return o.key or o.long:sub(3):gsub("%-", "_") end
M.key_of = key_of

-- A value's check: type, range, choices. Returns the value or nil and why.
local function convert(o, v, what)
  if o.type == "int" then
    local n = tonumber(v)
    if not n or n ~= math.floor(n) or (o.min and n < o.min) or (o.max and n > o.max) then
      return nil, ("%s wants a whole number%s; got '%s'"):format(what,
        o.min and ("in [%d, %d]"):format(o.min, o.max):gsub("^", " ") or "", v)
    end
    return n
  end
  if o.choices then
    for _, c in ipairs(o.choices) do if c == v then return v end end
    return nil, ("%s is one of %s, got '%s'%s"):format(what, table.concat(o.choices, ", "), v,
      suggest.hint(v, o.choices))
  end
  return v
end
M.convert = convert

local function find_option(options, a)
  for _, o in ipairs(options) do
    if o.long == a or (o.short and o.short == a) then return o end
  end
end

local function option_names(options)
  local names = {}
  for _, o in ipairs(options) do
    names[#names + 1] = o.long
    if o.short then names[#names + 1] = o.short end
  end
  names[#names + 1] = "--help"
  return names
end
M.option_names = option_names

-- Parse args[i..] for command `cmd` (a commands.lua entry). Returns the options table
-- (keys from key_of, positionals by their key), or nil and a usage message, or "help".
function M.parse(cmd, args, i, options)
  options = options or cmd.options
  local r, pos, npos, rest = {}, cmd.args or {}, 0, false
  local function add_positional(a)
    local p = pos[math.min(npos + 1, #pos)]
    if not p or (npos >= #pos and not p.many) then
      return ("unexpected argument '%s'%s"):format(a, #pos == 0 and " (it takes none)" or
        (" (it takes one %s)"):format(pos[#pos].name))
    end
    local v, why = convert(p, a, p.name)
    if v == nil then return why end
    if p.many then r[p.key] = r[p.key] or {}; table.insert(r[p.key], v)
    else r[p.key] = v end
    npos = npos + 1
  end
  while i <= #args do
    local a = args[i]
    local err
    if rest or a == "-" or a:sub(1, 1) ~= "-" then err = add_positional(a)
    elseif a == "--" then rest = true
    elseif a == "--help" or a == "-h" then return "help"
    else
      local name, inline = a:match("^(%-%-[^=]+)=(.*)$")
      if not name then name = a end
      local short_rest
      if not name:find("^%-%-") and #name > 2 then   -- -j4: a short option and its value
        name, short_rest = a:sub(1, 2), a:sub(3)
      end
      local o = find_option(options, name)
      if not o then
        return nil, ("unknown option '%s'%s"):format(a:match("^[^=]*"),
          suggest.hint(a:match("^[^=]*"), option_names(options)))
      end
      local v = inline or short_rest
      if o.arg then
        if v == nil then
          v = args[i + 1]
          if v == nil then return nil, ("%s wants %s"):format(o.long, o.arg) end
          i = i + 1
        end
        local cv, why = convert(o, v, o.long)
        if cv == nil then return nil, why end
        if o.many then r[key_of(o)] = r[key_of(o)] or {}; table.insert(r[key_of(o)], cv)
        else r[key_of(o)] = cv end
      elseif v ~= nil then
        return nil, ("%s takes no value (got '%s')"):format(o.long, a)
      else
        r[key_of(o)] = true
      end
    end
    if err then return nil, err end
    i = i + 1
  end
  for _, o in ipairs(options) do
    if o.required and r[key_of(o)] == nil then
      return nil, ("%s %s is required"):format(o.long, o.arg or "")
    end
  end
  for k = npos + 1, #pos do
    if not pos[k].optional then return nil, ("which %s?"):format(pos[k].name) end
  end
  return r
end

-- ---- help text -----------------------------------------------------------------------

-- Words of text in lines of at most width columns of text, every line after the first
-- indented by indent spaces (the first is where the caller put it).
local function wrap(text, width, indent)
  local lines, line = {}, ""
  for word in text:gmatch("%S+") do
    if #line > 0 and #line + 1 + #word > width then
      lines[#lines + 1] = line
      line = word
    else
      line = #line > 0 and (line .. " " .. word) or word
    end
  end
  lines[#lines + 1] = line
  return table.concat(lines, "\n" .. (" "):rep(indent))
end
M.wrap = wrap

local function option_label(o)
  local l = (o.short and (o.short .. ", ") or "    ") .. o.long
  if o.arg then l = l .. " " .. (o.choices and table.concat(o.choices, "|") or o.arg) end
  return l
end
M.option_label = option_label

-- "modlab run [OPTIONS] [RECIPE.lua]"
function M.synopsis(cmd)
  local parts = { "modlab", cmd.name }
  -- (a command that also runs on its own, like sweep, lists its subcommands below)
  if cmd.subcommands and #(cmd.args or {}) == 0 then
    parts[#parts + 1] = table.concat(cmd.subcommands, "|") .. " ..."
  end
  if #cmd.options > 0 then parts[#parts + 1] = "[OPTIONS]" end
  for _, o in ipairs(cmd.options) do
    if o.required then parts[#parts + 1] = o.long .. " " .. o.arg end
  end
  for _, p in ipairs(cmd.args or {}) do
    local n = p.name .. (p.many and "..." or "")
    parts[#parts + 1] = p.optional and ("[" .. n .. "]") or n
  end
  return table.concat(parts, " ")
end

local function option_lines(out, options)
  for _, o in ipairs(options) do
    local label = "  " .. option_label(o)
    local pad = #label < 26 and (" "):rep(26 - #label) or ("\n" .. (" "):rep(26))
    out[#out + 1] = label .. pad .. wrap(o.help .. (o.many and " (repeatable)" or ""), 78 - 26, 26)
  end
end

function M.command_help(cmd)
  local out = { "usage: " .. M.synopsis(cmd), "", wrap(cmd.summary:sub(1, 1):upper() ..
    cmd.summary:sub(2) .. ". " .. cmd.about, 78, 0), "" }
  if cmd.subcommands then
    out[#out + 1] = "commands:"
    for _, s in ipairs(cmd.subcommands) do
      local sub = commands.by_name[cmd.name .. " " .. s]
      out[#out + 1] = ("  %-24s%s"):format(s, sub.summary)
    end
    out[#out + 1] = ""
  end
  out[#out + 1] = "options:"
  option_lines(out, cmd.options)
  out[#out + 1] = ("  %-24s%s"):format("-h, --help", "this help")
  out[#out + 1] = ""
  if cmd.examples then
    out[#out + 1] = #cmd.examples == 1 and "example:" or "examples:"
    for _, e in ipairs(cmd.examples) do out[#out + 1] = "  " .. e end
    out[#out + 1] = ""
  end
  out[#out + 1] = "Global options (--plugin-path, --threads) go before the command: see "
    .. "'modlab --help'."
  return table.concat(out, "\n") .. "\n"
end

function M.global_help()
  local out = { "usage: modlab [GLOBAL OPTIONS] [COMMAND [ARGS]]", "",
                wrap(commands.about, 78, 0), "", "commands:" }
  for _, c in ipairs(commands.commands) do
    if not c.name:find(" ") then out[#out + 1] = ("  %-12s%s"):format(c.name, c.summary) end
  end
  out[#out + 1] = ""
  out[#out + 1] = "global options:"
  option_lines(out, commands.global)
  out[#out + 1] = ""
  out[#out + 1] = "environment:"
  for _, e in ipairs(commands.env) do
    out[#out + 1] = ("  %-30s"):format(e[1]) .. (#e[1] >= 30 and ("\n" .. (" "):rep(32)) or "")
      .. wrap(e[2], 78 - 32, 32)
  end
  out[#out + 1] = ""
  out[#out + 1] = "exit status:"
  for _, e in ipairs(commands.exit) do
    out[#out + 1] = ("  %-6s"):format(e[1]) .. wrap(e[2], 78 - 8, 8)
  end
  out[#out + 1] = ""
  out[#out + 1] = "See 'modlab help COMMAND' (or 'modlab COMMAND --help') for a command's"
  out[#out + 1] = "options, and 'man modlab'."
  return table.concat(out, "\n") .. "\n"
end

return M
