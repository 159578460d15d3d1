# SPDX-License-Identifier: MIT
# No shell anywhere (issue 18): outside core/base/spawn.c, which spawns argv arrays without one,
# no source file in lua/, core/, plugins/ or recipes/ may start a process through a shell or
# by itself: io.popen, os.execute, system(, popen(, the exec family, posix_spawn. Use
# ml_run / core.run{...} (and ml_copy_tree, ml_list_dir, ml_git_commit) instead.
. "$top_srcdir/tests/support/tap.sh"
pattern='popen|os\.execute|\bsystem *\(|\bexec(l|lp|le|v|vp|ve|vpe) *\(|posix_spawn'
cd "$top_srcdir" || exit 1
for d in lua core plugins recipes; do
    [ -d "$d" ] || { ok 1 "$d/ is there"; continue; }
    # Sources only: core/cli/embedded_lua.c is generated from lua/ (checked as it is).
    hits=$(find "$d" -type f \( -name '*.c' -o -name '*.h' -o -name '*.lua' \) \
               ! -path core/base/spawn.c ! -path core/cli/embedded_lua.c -print |
           LC_ALL=C sort | xargs grep -nE "$pattern" /dev/null)
    is "$hits" "" "$d/: no process is started outside core/base/spawn.c"
done
# The check itself finds what it must.
like "$(printf 'local p = io.popen("ls")\nos.execute("x")\nsystem ("y");\nexecvp(a, b);\n' |
        grep -cE "$pattern")" '^4$' "the pattern catches io.popen, os.execute, system, execvp"
done_testing
