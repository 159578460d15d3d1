#!/bin/sh
# SPDX-License-Identifier: MIT
# Public means public (issue 19): libmodlab.so exports exactly the functions its public
# headers declare between ML_API_BEGIN and ML_API_END (it is built -fvisibility=hidden), and
# it does not link LuaJIT, which only the modlab CLI embeds.
. "$top_srcdir/tests/support/tap.sh"
make_tmpdir

lib="$top_builddir/core/.libs/libmodlab.so"
[ -f "$lib" ] || skip_all "no shared libmodlab in this build ($lib)"
command -v nm >/dev/null 2>&1 || skip_all "nm (binutils) not installed"

# The public API: every ml_name( declared inside an ML_API_BEGIN..END block.
for h in "$top_srcdir"/core/include/modlab/*.h; do
    sed -n '/^ML_API_BEGIN/,/^ML_API_END/p' "$h"
done | grep -o 'ml_[a-z0-9_]*(' | tr -d '(' | sort -u >"$t/public"
n_public=$(wc -l <"$t/public")
[ "$n_public" -ge 100 ]
ok $? "the public headers declare the API ($n_public functions; fewer than 100 means this test reads them wrong)"

nm -D --defined-only "$lib" | awk '{print $NF}' | sort -u >"$t/exported"
n_exported=$(wc -l <"$t/exported")
[ "$n_exported" -ge 100 ]
ok $? "nm -D lists libmodlab's exports ($n_exported)"

extra=$(comm -13 "$t/public" "$t/exported" | tr '\n' ' ')
is "$extra" "" "libmodlab exports nothing the public headers do not declare"
missing=$(comm -23 "$t/public" "$t/exported" | tr '\n' ' ')
is "$missing" "" "every function the public headers declare is exported"

needed() { objdump -p "$1" 2>/dev/null | awk '$1 == "NEEDED" {print $2}'; }
command -v objdump >/dev/null 2>&1 || { done_testing; exit; }
case " $(needed "$lib" | tr '\n' ' ') " in
*luajit*) ok 1 "libmodlab does not link LuaJIT" ;;
*) ok 0 "libmodlab does not link LuaJIT" ;;
esac
bin="$top_builddir/.libs/modlab"
[ -f "$bin" ] || bin="$top_builddir/modlab"
case " $(needed "$bin" | tr '\n' ' ') " in
*luajit*) ok 0 "the modlab CLI links LuaJIT (it embeds the Lua side)" ;;
*) ok 1 "the modlab CLI links LuaJIT (it embeds the Lua side)" ;;
esac
done_testing
