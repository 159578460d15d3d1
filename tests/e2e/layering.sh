#!/bin/sh
# SPDX-License-Identifier: MIT
# The tree says the architecture (issue 19): core/ is in areas, bottom up
#   base -> formats -> runtime, data, sweep -> sdk -> cli
# and a file includes only headers of its own area or of the areas below it, written
# "area/name.h" from core/ (a bare "name.h" must sit beside the file). The public headers
# include no internal header at all, and plugins include only <modlab/...> and their own.
. "$top_srcdir/tests/support/tap.sh"
cd "$top_srcdir" || exit 1

allowed() { # allowed AREA: the areas its files may include
    case $1 in
    base) echo "base" ;;
    formats) echo "base formats" ;;
    runtime) echo "base formats runtime" ;;
    data) echo "base formats data" ;;
    sweep) echo "base formats sweep" ;;
    sdk) echo "base formats runtime sdk" ;;
    cli) echo "base formats runtime data sweep sdk cli" ;;
    *) echo "" ;;
    esac
}

# Every folder of core/ (but include/) is an area the rules know, with its README and local.mk.
for d in core/*/; do
    a=$(basename "$d")
    [ "$a" = include ] && continue
    [ -n "$(allowed "$a")" ]; ok $? "core/$a/ is a known area (add it to the layering rules)"
    [ -f "$d/README.md" ] && [ -f "$d/local.mk" ]
    ok $? "core/$a/ has its README.md and local.mk"
done

# bad LINE...: what each file includes against the rule for its area.
bad=""
for f in core/*/*.c core/*/*.h; do
    a=$(basename "$(dirname "$f")")
    [ "$a" = include ] && continue
    ok_areas=$(allowed "$a")
    for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
        case $inc in
        */*) area=${inc%%/*}
             case " $ok_areas " in *" $area "*) [ -f "core/$inc" ] || bad="$bad $f:$inc(missing)" ;;
             *) bad="$bad $f:$inc" ;; esac ;;
        config.h) ;;
        *) [ -f "$(dirname "$f")/$inc" ] || bad="$bad $f:$inc(not beside it)" ;;
        esac
    done
done
is "$bad" "" "every core file includes only its own area and the areas below it"

pub=$(grep -l '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' core/include/modlab/*.h)
is "$pub" "" "the public headers include no internal header"

plug=$(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[a-z]*/' plugins/*/*.c plugins/*/*.h)
is "$plug" "" "plugins include only <modlab/...> and their own headers, not core's"

done_testing
