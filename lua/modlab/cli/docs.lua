-- SPDX-License-Identifier: MIT
-- The modlab(1) man page and the bash and zsh completion scripts, made from the table that
-- also makes `--help` and drives the parser (cli/commands.lua): the build writes them from
-- the built binary (`modlab help --man`, `modlab completion bash|zsh`), so they cannot drift.
local commands = require "modlab.cli.commands"
local args_mod = require "modlab.cli.args"
local M = {}

-- ---- man page (roff, man(7) macros) ----------------------------------------------------

-- Text as roff: backslashes and hyphens escaped, no line starting with a control character.
local function roff(s)
  s = s:gsub("\\", "\\e"):gsub("%-", "\\-")
  return (s:gsub("\n([.'])", "\n\\&%1"):gsub("^([.'])", "\\&%1"))
end

local function man_option(out, o)
  local label = (o.short and ("\\fB" .. roff(o.short) .. "\\fR, ") or "") ..
    "\\fB" .. roff(o.long) .. "\\fR"
  if o.arg then
    label = label .. " \\fI" .. roff(o.choices and table.concat(o.choices, "|") or o.arg) .. "\\fR"
  end
  out[#out + 1] = ".TP"
  out[#out + 1] = label
  out[#out + 1] = roff(o.help .. (o.many and " (repeatable)" or "") ..
    (o.required and " (required)" or ""))
end

local function version()
  local ok, core = pcall(require, "modlab.core")
  return ok and core.ffi.string(core.C.ml_version()) or "?"
end

function M.man()
  local out = {
    '.TH MODLAB 1 "" "modlab ' .. roff(version()) .. '" "User Commands"',
    ".SH NAME", "modlab \\- " .. roff("an experiment workbench for neural-network structure learning"),
    ".SH SYNOPSIS", "\\fBmodlab\\fR [\\fIGLOBAL OPTIONS\\fR] [\\fICOMMAND\\fR [\\fIARGS\\fR]]",
    ".SH DESCRIPTION", roff(commands.about),
    ".SH GLOBAL OPTIONS", "Given before the command." }
  for _, o in ipairs(commands.global) do man_option(out, o) end
  out[#out + 1] = ".SH COMMANDS"
  for _, c in ipairs(commands.commands) do
    out[#out + 1] = ".SS " .. roff(c.name)
    out[#out + 1] = ".B " .. roff(args_mod.synopsis(c))
    out[#out + 1] = ".PP"
    out[#out + 1] = roff(c.summary:sub(1, 1):upper() .. c.summary:sub(2) .. ". " .. c.about)
    for _, o in ipairs(c.options) do man_option(out, o) end
    for _, e in ipairs(c.examples or {}) do
      out[#out + 1] = ".PP"
      out[#out + 1] = "Example:"
      out[#out + 1] = ".RS"
      out[#out + 1] = ".nf"
      out[#out + 1] = roff(e)
      out[#out + 1] = ".fi"
      out[#out + 1] = ".RE"
    end
  end
  local function table_section(title, rows)
    out[#out + 1] = ".SH " .. title
    for _, r in ipairs(rows) do
      out[#out + 1] = ".TP"
      out[#out + 1] = "\\fB" .. roff(r[1]) .. "\\fR"
      out[#out + 1] = roff(r[2])
    end
  end
  table_section("ENVIRONMENT", commands.env)
  table_section("EXIT STATUS", commands.exit)
  table_section("FILES", commands.files)
  out[#out + 1] = ".SH SEE ALSO"
  out[#out + 1] = "\\fBmodlab\\-plugin\\fR(1); README.md, docs/RUNS.md, docs/SWEEPS.md and "
    .. "docs/PLUGINS.md in the modlab documentation directory."
  return table.concat(out, "\n") .. "\n"
end

-- ---- completion ------------------------------------------------------------------------

-- Every option word of a command (long and short, and --help).
local function option_words(c) return args_mod.option_names(c.options) end

-- "sweep export|sweep plan|..." for a shell's case pattern, each name in quote marks q.
local function subcommand_pattern(q)
  local subs = {}
  for _, c in ipairs(commands.commands) do
    if c.name:find(" ") then subs[#subs + 1] = q .. c.name .. q end
  end
  return table.concat(subs, "|")
end

-- How the shell completes an option's value or a positional: a bash snippet that fills
-- COMPREPLY from "$cur".
local BASH_KIND = {
  dir = 'COMPREPLY=($(compgen -d -- "$cur"))',
  file = 'COMPREPLY=($(compgen -f -- "$cur"))',
  lua = 'COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X \'!*.lua\' -- "$cur"))',
  yaml = 'COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X \'!*.y*ml\' -- "$cur"))',
  so = 'COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -X \'!*.so\' -- "$cur"))',
  plugin = 'COMPREPLY=($(compgen -W "$(modlab plugins --names 2>/dev/null)" -- "$cur"))',
  dataset = 'COMPREPLY=($(compgen -W "$(modlab data list 2>/dev/null | ' ..
    'awk \'on {print $1} $1 == "NAME" {on = 1}\')" -- "$cur"))',
  command = 'COMPREPLY=($(compgen -W "' .. table.concat(commands.top, " ") .. '" -- "$cur"))',
}

local function bash_value(v)
  if v.choices then
    return 'COMPREPLY=($(compgen -W "' .. table.concat(v.choices, " ") .. '" -- "$cur"))'
  end
  return BASH_KIND[v.complete or "file"]
end

local function bash()
  local out = { "# bash completion for modlab; made by `modlab completion bash`",
    "_modlab() {",
    "  local cur prev cmd i",
    "  cur=${COMP_WORDS[COMP_CWORD]}",
    "  prev=${COMP_WORDS[COMP_CWORD-1]}",
    "  cmd=",
    "  # The command (and subcommand): the first words after the global options.",
    "  for ((i = 1; i < COMP_CWORD; i++)); do",
    "    case ${COMP_WORDS[i]} in",
    "      --plugin-path|--threads) ((i++)) ;;",
    "      -*) ;;",
    "      *) if [[ -z $cmd ]]; then cmd=${COMP_WORDS[i]}",
    "         elif [[ $cmd != *' '* ]]; then",
    "           case \"$cmd ${COMP_WORDS[i]}\" in",
  }
  out[#out + 1] = "             " .. subcommand_pattern('"') .. ') cmd="$cmd ${COMP_WORDS[i]}" ;;'
  out[#out + 1] = "           esac"
  out[#out + 1] = "         fi ;;"
  out[#out + 1] = "    esac"
  out[#out + 1] = "  done"
  -- An option's value.
  out[#out + 1] = '  case "$cmd:$prev" in'
  local globals = {}
  for _, o in ipairs(commands.global) do
    if o.arg then out[#out + 1] = ('    ":%s") %s; return ;;'):format(o.long, bash_value(o)) end
    globals[#globals + 1] = o.long
    if o.short then globals[#globals + 1] = o.short end
  end
  for _, c in ipairs(commands.commands) do
    for _, o in ipairs(c.options) do
      if o.arg then
        local pats = { ('"%s:%s"'):format(c.name, o.long) }
        if o.short then pats[#pats + 1] = ('"%s:%s"'):format(c.name, o.short) end
        out[#out + 1] = ("    %s) %s; return ;;"):format(table.concat(pats, "|"), bash_value(o))
      end
    end
  end
  out[#out + 1] = "  esac"
  -- Options, subcommands and positionals of each command.
  out[#out + 1] = '  case "$cmd" in'
  out[#out + 1] = ('    "") if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "%s" -- "$cur"))')
    :format(table.concat(globals, " "))
  out[#out + 1] = ('        else COMPREPLY=($(compgen -W "%s" -- "$cur")); fi ;;')
    :format(table.concat(commands.top, " "))
  for _, c in ipairs(commands.commands) do
    local pos = c.args and c.args[1]
    local rest
    if c.subcommands and not pos then
      rest = ('COMPREPLY=($(compgen -W "%s" -- "$cur"))'):format(table.concat(c.subcommands, " "))
    elseif c.subcommands then
      rest = ('COMPREPLY=($(compgen -W "%s" -- "$cur")); %s; COMPREPLY+=("${r[@]}")')
        :format(table.concat(c.subcommands, " "), "local r; " ..
          bash_value(pos):gsub("^COMPREPLY=", "r="))
    elseif pos then rest = bash_value(pos)
    else rest = ":" end
    out[#out + 1] = ('    "%s") if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "%s" -- "$cur"))')
      :format(c.name, table.concat(option_words(c), " "))
    out[#out + 1] = ("        else %s; fi ;;"):format(rest)
  end
  out[#out + 1] = "  esac"
  out[#out + 1] = "}"
  out[#out + 1] = "complete -o filenames -F _modlab modlab"
  return table.concat(out, "\n") .. "\n"
end

-- zsh: one _arguments spec per command, the commands described for the menu.
local ZSH_KIND = {
  dir = "_files -/", file = "_files", lua = '_files -g "*.lua"', yaml = '_files -g "*.y(a|)ml"',
  so = '_files -g "*.so"', plugin = "_modlab_plugins", dataset = "_modlab_datasets",
  command = "_modlab_commands",
}

local function zsh_escape(s)
  return (s:gsub("'", "'\\''"):gsub("%[", "\\["):gsub("%]", "\\]"):gsub(":", "\\:"))
end

local function zsh_action(v)
  if v.choices then return "(" .. table.concat(v.choices, " ") .. ")" end
  return ZSH_KIND[v.complete or "file"]
end

local function zsh_spec(o)
  local text = zsh_escape(o.help:match("^[^;:(]*"):gsub("%s+$", ""))
  local value = o.arg and (":" .. o.arg:lower() .. ":" .. zsh_action(o)) or ""
  local rep = o.many and "*" or ""
  local spec = {}
  if o.short then
    spec[#spec + 1] = ("'(%s %s)'%s{%s,%s}'[%s]%s'"):format(o.short, o.long, rep, o.short,
      o.long, text, value)
  else
    spec[#spec + 1] = ("'%s%s[%s]%s'"):format(rep, o.long, text, value)
  end
  return spec[1]
end

local function zsh()
  local helpers = {}
  local out = { "#compdef modlab", "# zsh completion for modlab; made by `modlab completion zsh`", "",
    "_modlab_commands() {", "  local -a cmds", "  cmds=(" }
  for _, c in ipairs(commands.commands) do
    if not c.name:find(" ") then
      out[#out + 1] = ("    '%s:%s'"):format(c.name, zsh_escape(c.summary))
    end
  end
  out[#out + 1] = "  )"
  out[#out + 1] = "  _describe -t commands 'modlab command' cmds"
  out[#out + 1] = "}"
  out[#out + 1] = "_modlab_plugins() { local -a p; p=(${(f)\"$(modlab plugins --names 2>/dev/null)\"}); "
    .. "_describe -t plugins 'plugin entry' p }"
  out[#out + 1] = "_modlab_datasets() { local -a d; d=(${(f)\"$(modlab data list 2>/dev/null | "
    .. "awk 'on {print $1} $1 == \"NAME\" {on = 1}')\"}); _describe -t datasets dataset d }"
  out[#out + 1] = ""
  out[#out + 1] = "_modlab() {"
  out[#out + 1] = "  local curcontext=$curcontext state line"
  out[#out + 1] = "  typeset -A opt_args"
  out[#out + 1] = "  _arguments -C \\"
  for _, o in ipairs(commands.global) do out[#out + 1] = "    " .. zsh_spec(o) .. " \\" end
  out[#out + 1] = "    '1:command:_modlab_commands' \\"
  out[#out + 1] = "    '*::argument:->args' && return"
  out[#out + 1] = "  local cmd=$words[1]"
  out[#out + 1] = "  if (( CURRENT > 2 )); then"
  out[#out + 1] = "    case \"$words[1] $words[2]\" in"
  out[#out + 1] = "      " .. subcommand_pattern("'") .. ") cmd=\"$words[1] $words[2]\"; shift words; (( CURRENT-- )) ;;"
  out[#out + 1] = "    esac"
  out[#out + 1] = "  fi"
  out[#out + 1] = "  case $cmd in"
  for _, c in ipairs(commands.commands) do
    local specs = { "'(- *)'{-h,--help}'[help]'" }
    for _, o in ipairs(c.options) do specs[#specs + 1] = zsh_spec(o) end
    local fn = "_modlab_" .. c.name:gsub(" ", "_") .. "_first"
    for k, p in ipairs(c.args or {}) do
      local action = (k == 1 and c.subcommands) and fn or zsh_action(p)
      specs[#specs + 1] = ("'%s%s:%s:%s'"):format(p.many and "*" or tostring(k),
        p.optional and ":" or "", p.name:lower(), action)
    end
    if c.subcommands and #(c.args or {}) == 0 then
      specs[#specs + 1] = ("'1:subcommand:(%s)'"):format(table.concat(c.subcommands, " "))
    elseif c.subcommands then   -- the first word is a subcommand or the command's argument
      helpers[#helpers + 1] = ("%s() { _alternative 'subcommands:subcommand:(%s)' "
        .. "'args:%s:%s' }"):format(fn, table.concat(c.subcommands, " "),
        c.args[1].name:lower(), zsh_action(c.args[1]))
    end
    out[#out + 1] = ("    '%s') _arguments \\"):format(c.name)
    for k, s in ipairs(specs) do
      out[#out + 1] = "        " .. s .. (k < #specs and " \\" or " ;;")
    end
  end
  out[#out + 1] = "  esac"
  out[#out + 1] = "}"
  for _, h in ipairs(helpers) do out[#out + 1] = h end
  out[#out + 1] = ""
  out[#out + 1] = '_modlab "$@"'
  return table.concat(out, "\n") .. "\n"
end

function M.completion(shell)
  return shell == "zsh" and zsh() or bash()
end

return M
