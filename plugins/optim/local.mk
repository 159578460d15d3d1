# SPDX-License-Identifier: MIT
# optim.so: optimizers, and their tests (the test sources live under tests/).
plugin_LTLIBRARIES += plugins/optim/optim.la
plugins_optim_optim_la_SOURCES = plugins/optim/optim.c plugins/optim/sgd.c \
	plugins/optim/adam.c plugins/optim/adamw.c plugins/optim/rmsprop.c \
	plugins/optim/optim_entries.h plugins/optim/optim_util.h plugins/optim/adam.h
# sqrtf vectorises only without errno; nothing here reads errno (see optim_util.h).
plugins_optim_optim_la_CFLAGS = $(AM_CFLAGS) -fno-math-errno
plugins_optim_optim_la_LDFLAGS = $(plugin_ldflags)
plugins_optim_optim_la_LIBADD = -lm

check_PROGRAMS += tests/unit/plugins/optim/test_optim
tests_unit_plugins_optim_test_optim_SOURCES = tests/unit/plugins/optim/test_optim.c \
	tests/unit/plugins/optim/ref_optim.h
tests_unit_plugins_optim_test_optim_LDADD = $(test_ldadd) -lm
TESTS += tests/unit/plugins/optim/test_optim tests/lua/test_schedule.lua
EXTRA_DIST += tests/python/ref_optim.py tests/python/ref_schedule.py tests/lua/test_schedule.lua
# Until lua/local.mk embeds and installs it, ship the module the schedule test needs.

check_PROGRAMS += tests/unit/plugins/optim/test_optim_trainer
tests_unit_plugins_optim_test_optim_trainer_SOURCES = tests/unit/plugins/optim/test_optim_trainer.c
tests_unit_plugins_optim_test_optim_trainer_LDADD = $(test_ldadd) -lm
TESTS += tests/unit/plugins/optim/test_optim_trainer
