# SPDX-License-Identifier: MIT
# Every command has --help with a usage line, and the man page and the bash and zsh
# completions name the same commands and options as --help (all four come from
# lua/modlab/cli/commands.lua; this checks they still agree, and that the completions work).
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir
cd "$t" || exit 1

"$MODLAB" help --man >modlab.1 && "$MODLAB" completion bash >modlab.bash &&
    "$MODLAB" completion zsh >_modlab
ok $? "help --man and completion bash|zsh exit 0"

# The commands: the global help's list, then each one's subcommands from its own help.
top=$("$MODLAB" --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF {print $1}')
is "$(printf '%s\n' "$top" | wc -l)" 10 "the global help lists 10 commands"
cmds=""
for c in $top; do
    cmds="$cmds$c
"
    for s in $("$MODLAB" $c --help | sed -n '/^commands:/,/^$/p' | awk 'NR > 1 && NF {print $1}'); do
        cmds="$cmds$c $s
"
    done
done
is "$(printf '%s' "$cmds" | wc -l)" 18 "with subcommands, 18 commands to walk"

# The lines of the bash function's case branch for command "$1" (up to the next branch).
bash_branch() { awk -v c="    \"$1\")" 'index($0, c) == 1 {on = 1; print; next}
    on && /^    "/ {exit} on {print}' modlab.bash; }
zsh_branch() { awk -v c="    '$1')" 'index($0, c) == 1 {on = 1; print; next}
    on && /^    '"'"'/ {exit} on {print}' _modlab; }

printf '%s' "$cmds" | while IFS= read -r c; do
    # shellcheck disable=SC2086  # $c is one or two words
    help=$("$MODLAB" $c --help); rc=$?
    is "$rc" 0 "modlab $c --help exits 0"
    like "$help" "^usage: modlab $c" "modlab $c --help: usage line"
    grep -q "^\.SS $c\$" modlab.1; ok $? "man page: a section for '$c'"
    [ -n "$(bash_branch "$c")" ]; ok $? "bash completion: a branch for '$c'"
    [ -n "$(zsh_branch "$c")" ]; ok $? "zsh completion: a branch for '$c'"
    # Options as --help lists them ("  -j, --jobs N", "      --resume").
    man_sec=$(awk -v c=".SS $c" '$0 == c {on = 1; next} on && /^\.S[SH] / {exit} on {print}' modlab.1)
    for opt in $(printf '%s\n' "$help" | sed -n '/^options:/,/^$/p' |
                 grep -o '^ \{2,6\}\(-[a-zA-Z], \)\?--[a-z-]*' | grep -o -- '-[-a-zA-Z]*'); do
        [ "$opt" = --help ] || [ "$opt" = -h ] && continue
        esc=$(printf '%s' "$opt" | sed 's/-/\\\\-/g')
        printf '%s' "$man_sec" | grep -q -- "fB$esc\\\\fR"
        ok $? "man page documents $c $opt"
        bash_branch "$c" | grep -q -- "[ \"]$opt[ \"]"
        ok $? "bash completes $c $opt"
        zsh_branch "$c" | grep -q -- "$opt\(\[\|[,}]\)"
        ok $? "zsh completes $c $opt"
    done
done | tee checks.tap
n=$(grep -c '^ok' checks.tap); bad=$(grep -c '^not ok' checks.tap)
tap_n=$((tap_n + n + bad)); tap_failed=$((tap_failed + bad))
[ "$n" -gt 140 ]; ok $? "the walk made $n checks (more than 140)"

# The man page has the sections a man page needs, and is well-formed roff.
for s in NAME SYNOPSIS DESCRIPTION "GLOBAL OPTIONS" COMMANDS ENVIRONMENT "EXIT STATUS" FILES; do
    grep -q "^\.SH $s\$" modlab.1; ok $? "man page: section $s"
done
grep -q 'MODLAB_PLUGIN_PATH' modlab.1; ok $? "man page: the environment variables"
if command -v man >/dev/null 2>&1; then
    out=$(MANWIDTH=80 man -l modlab.1 2>&1 >/dev/null); is "$out" "" "man -l renders it without warnings"
fi
# The built files are what this binary prints (the build made them from the same table).
cmp -s modlab.1 "$top_builddir/modlab.1"; ok $? "the built modlab.1 is current"
cmp -s modlab.bash "$top_builddir/completions/modlab"; ok $? "the built bash completion is current"
cmp -s _modlab "$top_builddir/completions/_modlab"; ok $? "the built zsh completion is current"

# The bash completion, working: COMP_WORDS in, COMPREPLY out.
mkdir -p bin recipes && printf '#!/bin/sh\nexec "%s" "$@"\n' "$MODLAB" >bin/modlab &&
    chmod +x bin/modlab && : >recipes/a.lua && : >recipes/b.txt && : >s.yaml
complete_bash() { # the words on the command line, the last one being completed
    PATH="$t/bin:$PATH" bash -c '. ./modlab.bash; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
        _modlab; printf "%s\n" "${COMPREPLY[@]}"' _ "$@"
}
like "$(complete_bash modlab ru)" "^run$" "bash: modlab ru<TAB> gives run"
like "$(complete_bash modlab run --o)" "^--out$" "bash: modlab run --o<TAB> gives --out"
like "$(complete_bash modlab run recipes/)" "^recipes/a.lua$" "bash: recipe files"
complete_bash modlab run recipes/ | grep -q b.txt; ok $((! $?)) "bash: ... and not other files"
like "$(complete_bash modlab sweep '')" "^s.yaml$" "bash: sweep files"
like "$(complete_bash modlab sweep '')" "^export$" "bash: sweep's subcommands"
like "$(complete_bash modlab sweep --launcher '')" "^slurm$" "bash: --launcher's choices"
like "$(complete_bash modlab sweep export --f)" "^--format$" "bash: a subcommand's options"
like "$(complete_bash modlab plugins --describe lin)" "^linear$" "bash: plugin names"
like "$(complete_bash modlab --threads 2 pl)" "^plugins$" "bash: after a global option"
like "$(complete_bash modlab help sw)" "^sweep$" "bash: help's command names"
like "$(complete_bash modlab plugin new x --kind '')" "^router$" "bash: --kind's choices"

if command -v zsh >/dev/null 2>&1; then
    zsh -n _modlab; ok $? "zsh -n: the zsh completion parses"
    # Loaded by compinit from a directory on $fpath, as `make install` places it.
    mkdir -p zfunc && cp _modlab zfunc/
    out=$(HOME=$t zsh -fc 'fpath=(./zfunc $fpath); autoload -U compinit; compinit -u -d ./zcd;
        print -r -- ${_comps[modlab]}' 2>&1)
    is "$out" "_modlab" "zsh: compinit registers _modlab for modlab"
else
    ok 1 "zsh is installed (./bootstrap installs it)"
fi

# make install places the man page and both completions.
if make -s -C "$top_builddir" install-man1 install-bashcompletionDATA install-zshcompletionDATA \
        DESTDIR="$t/inst" prefix=/usr >/dev/null 2>&1; then
    ok 0 "make install of the man page and completions"
else
    ok 1 "make install of the man page and completions"
fi
[ -f "$t/inst/usr/share/man/man1/modlab.1" ]; ok $? "installed: share/man/man1/modlab.1"
[ -f "$t/inst/usr/share/bash-completion/completions/modlab" ]; ok $? "installed: bash completion"
[ -f "$t/inst/usr/share/zsh/site-functions/_modlab" ]; ok $? "installed: zsh completion"
done_testing
