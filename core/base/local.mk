# SPDX-License-Identifier: MIT
# base/: errors, the allocator (and its test-mode site table), RNG, hashes, files, threads,
# BLAS, tensors, and process spawning. Includes nothing of modlab but the public headers.
core_libmodlab_internal_la_SOURCES += core/base/err.c core/base/err.h core/base/mem.c core/base/mem.h \
	core/base/mem_sites.c core/base/rng.c core/base/rng.h core/base/hash.c core/base/hash.h \
	core/base/fileio.c core/base/fileio.h core/base/parallel.c core/base/parallel.h \
	core/base/blas.c core/base/blas.h core/base/tensor.c core/base/spawn.c core/base/proc.h
modlabinclude_HEADERS += core/include/modlab/spawn.h

# No shell anywhere (issue 18): core/base/spawn.c runs argv arrays, copies trees, lists
# directories; the tests feed paths holding $(...), backticks, quotes and newlines through
# every caller, and fail the check if a process is started anywhere else.
check_PROGRAMS += tests/unit/core/base/test_spawn
TESTS += tests/unit/core/base/test_spawn tests/e2e/no_shell.sh tests/e2e/no_shell_slurm.sh tests/e2e/no_shell_src.sh
EXTRA_DIST += tests/e2e/no_shell.sh tests/e2e/no_shell_slurm.sh tests/e2e/no_shell_src.sh
