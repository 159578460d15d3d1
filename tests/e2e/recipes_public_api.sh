#!/bin/sh
# SPDX-License-Identifier: MIT
# The shipped recipes are written on the public recipe API (issue 20): no file under
# recipes/ reaches around it through modlab.core (the FFI bindings) or LuaJIT's ffi.
. "$top_srcdir/tests/support/tap.sh"

n=$(find "$top_srcdir/recipes" -name '*.lua' | wc -l)
[ "$n" -ge 10 ]
ok $? "the recipes are found ($n Lua files)"
core=$(grep -rlE "require[[:space:]]*[(]?[[:space:]]*[\"']modlab\.core[\"']" \
    --include='*.lua' "$top_srcdir/recipes" | sed "s|$top_srcdir/||" | tr '\n' ' ')
is "$core" "" "no recipe requires modlab.core"
ffi=$(grep -rlE "require[[:space:]]*[(]?[[:space:]]*[\"']ffi[\"']|(^|[^a-zA-Z0-9_.])ffi\." \
    --include='*.lua' "$top_srcdir/recipes" | sed "s|$top_srcdir/||" | tr '\n' ' ')
is "$ffi" "" "no recipe uses ffi"
# The check can fail: the same search finds what it is looking for.
t=$(mktemp -d)
printf 'local core = require "modlab.core"\nlocal x = ffi.new("int[1]")\n' >"$t/bad.lua"
grep -qE "require[[:space:]]*[(]?[[:space:]]*[\"']modlab\.core[\"']" "$t/bad.lua" &&
    grep -qE "(^|[^a-zA-Z0-9_.])ffi\." "$t/bad.lua"
ok $? "the searches find a recipe that reaches around the API"
rm -rf "$t"
done_testing
