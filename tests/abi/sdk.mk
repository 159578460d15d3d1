# SPDX-License-Identifier: MIT
# Conformance fixtures (deliberately broken plugins, one clean one, and a plugin built
# against the frozen ABI 1.0 header) and the conformance test.
check_LTLIBRARIES += tests/abi/fx_good.la tests/abi/fx_badgrad.la tests/abi/fx_leak.la \
	tests/abi/fx_oomleak.la tests/abi/fx_overrun.la tests/abi/fx_crash.la \
	tests/abi/fx_optstate.la tests/abi/fx_hang.la tests/abi/fx_abi10.la \
	tests/abi/fx_tfcrash.la tests/abi/fx_tfover.la
tests_abi_fx_tfcrash_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_tfcrash_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_tfcrash -DFX_TFCRASH
tests_abi_fx_tfcrash_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_tfover_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_tfover_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_tfover -DFX_TFOVER
tests_abi_fx_tfover_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_good_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_good_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_good
tests_abi_fx_good_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_badgrad_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_badgrad_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_badgrad -DFX_BADGRAD
tests_abi_fx_badgrad_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_leak_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_leak_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_leak -DFX_LEAK
tests_abi_fx_leak_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_oomleak_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_oomleak_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_oomleak -DFX_OOMLEAK
tests_abi_fx_oomleak_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_overrun_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_overrun_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_overrun -DFX_OVERRUN
tests_abi_fx_overrun_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_crash_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_crash_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_crash -DFX_CRASH
tests_abi_fx_crash_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_optstate_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_optstate_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_optstate -DFX_OPTSTATE
tests_abi_fx_optstate_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_hang_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_hang_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_hang -DFX_HANG
tests_abi_fx_hang_la_LDFLAGS = $(fixture_ldflags)
# Hostile fixtures for tests/e2e/hostile_plugins.sh: crashes, exits, stray writes, NaN.
check_LTLIBRARIES += tests/abi/fx_initcrash.la tests/abi/fx_initexit.la \
	tests/abi/fx_initabort.la tests/abi/fx_underrun.la tests/abi/fx_ginover.la \
	tests/abi/fx_pgradover.la tests/abi/fx_nanout.la tests/abi/fx_optnan.la
tests_abi_fx_initcrash_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_initcrash_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_initcrash -DFX_INITCRASH
tests_abi_fx_initcrash_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_initexit_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_initexit_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_initexit -DFX_INITEXIT
tests_abi_fx_initexit_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_initabort_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_initabort_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_initabort -DFX_INITABORT
tests_abi_fx_initabort_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_underrun_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_underrun_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_underrun -DFX_UNDERRUN
tests_abi_fx_underrun_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_ginover_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_ginover_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_ginover -DFX_GINOVER
tests_abi_fx_ginover_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_pgradover_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_pgradover_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_pgradover -DFX_PGRADOVER
tests_abi_fx_pgradover_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_nanout_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_nanout_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_nanout -DFX_NANOUT
tests_abi_fx_nanout_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_optnan_la_SOURCES = tests/abi/fx_check.c
tests_abi_fx_optnan_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_optnan -DFX_OPTNAN
tests_abi_fx_optnan_la_LDFLAGS = $(fixture_ldflags)
# Built against the frozen 1.0 header, which must come before core/include.
tests_abi_fx_abi10_la_SOURCES = tests/abi/fx_abi10.c
tests_abi_fx_abi10_la_CPPFLAGS = -I$(top_srcdir)/tests/abi/v1.0 $(AM_CPPFLAGS)
tests_abi_fx_abi10_la_LDFLAGS = $(fixture_ldflags)
EXTRA_DIST += tests/abi/v1.0/modlab/plugin.h

check_PROGRAMS += tests/unit/core/sdk/test_conformance
TESTS += tests/unit/core/sdk/test_conformance
TESTS += tests/e2e/hostile_plugins.sh tests/e2e/plugin_path.sh
EXTRA_DIST += tests/e2e/hostile_plugins.sh tests/e2e/plugin_path.sh

# The ABI record: `make abi-record` rewrites it (after an ABI bump); `make check` compares.
check_PROGRAMS += tests/abi/abi_record
TESTS += tests/abi/abi_record.sh
EXTRA_DIST += tests/abi/abi_record.sh tests/abi/abi-record.txt tests/abi/fx_check.c \
	tests/abi/fx_abi10.c
abi-record: tests/abi/abi_record$(EXEEXT)
	$(AM_V_GEN)tests/abi/abi_record > $(top_srcdir)/tests/abi/abi-record.txt
.PHONY: abi-record
