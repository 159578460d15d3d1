# SPDX-License-Identifier: MIT
# ABI fixture plugins (check-only, built shared thanks to -rpath) and the loader test.
fixture_ldflags = $(plugin_ldflags) -rpath /nowhere
check_LTLIBRARIES += tests/abi/fx_major.la tests/abi/fx_minor.la tests/abi/fx_old.la \
	tests/abi/zz_dup.la tests/abi/fx_nosym.la tests/abi/fx_ansi.la tests/abi/fx_nlver.la
tests_abi_fx_major_la_SOURCES = tests/abi/fixture.c
tests_abi_fx_major_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_major -DFX_MAJOR -DFX_TAG='"major"'
tests_abi_fx_major_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_minor_la_SOURCES = tests/abi/fixture.c
tests_abi_fx_minor_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_minor -DFX_MINOR -DFX_TAG='"minor"'
tests_abi_fx_minor_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_old_la_SOURCES = tests/abi/fixture.c
tests_abi_fx_old_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_old -DFX_OLD -DFX_TAG='"old"'
tests_abi_fx_old_la_LDFLAGS = $(fixture_ldflags)
tests_abi_zz_dup_la_SOURCES = tests/abi/fixture.c
tests_abi_zz_dup_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=zz_dup -DFX_DUP -DFX_TAG='"dup"'
tests_abi_zz_dup_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_nosym_la_SOURCES = tests/abi/fixture.c
tests_abi_fx_nosym_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_nosym -DFX_NOSYM -DFX_TAG='"nosym"'
tests_abi_fx_nosym_la_LDFLAGS = $(fixture_ldflags)
# Plugin strings that are not printable (an ANSI escape in the summary, a newline in the
# version) are refused at registration: tests/abi/test_plugin_strings.c.
tests_abi_fx_ansi_la_SOURCES = tests/abi/fixture.c
tests_abi_fx_ansi_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_ansi -DFX_ANSI -DFX_TAG='"ansi"'
tests_abi_fx_ansi_la_LDFLAGS = $(fixture_ldflags)
tests_abi_fx_nlver_la_SOURCES = tests/abi/fixture.c
tests_abi_fx_nlver_la_CPPFLAGS = $(AM_CPPFLAGS) -DSTEM=fx_nlver -DFX_NLVER -DFX_TAG='"nlver"'
tests_abi_fx_nlver_la_LDFLAGS = $(fixture_ldflags)

check_PROGRAMS += tests/abi/test_abi
TESTS += tests/abi/test_abi
check_PROGRAMS += tests/abi/test_plugin_strings
TESTS += tests/abi/test_plugin_strings
