#!/bin/sh
# SPDX-License-Identifier: MIT
# Sums the memcheck logs of `make check-valgrind`: processes, errors, leaked bytes; names
# every log that reports an error. Exit 1 if any does.
dir="${1:-tests/out/valgrind}"
[ -d "$dir" ] || { echo "valgrind: no logs in $dir (did make check-valgrind run?)"; exit 1; }
awk '
/ERROR SUMMARY:/ { procs++; n = $4 + 0; errors += n; if (n > 0) bad[FILENAME] = 1 }
/definitely lost:/ { gsub(",", "", $4); def += $4 }
/indirectly lost:/ { gsub(",", "", $4); ind += $4 }
END {
    for (f in bad) { print "valgrind: errors in " f; nbad++ }
    printf "valgrind: %d processes, %d errors, %d bytes definitely lost, %d indirectly\n",
           procs, errors, def, ind
    exit nbad > 0
}' "$dir"/*.log
