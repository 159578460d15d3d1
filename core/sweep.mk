# SPDX-License-Identifier: MIT
# Sweeps: the sweep file reader and trial expansion, trial processes and the journal.
core_libmodlab_la_SOURCES += core/sweep.c core/sweep_check.c core/sweep_proc.c core/sweep_lock.c
modlabinclude_HEADERS += core/include/modlab/sweep.h

check_PROGRAMS += tests/unit/test_sweep tests/unit/test_sweep_check tests/unit/test_sweep_lock
tests_unit_test_sweep_CFLAGS = $(test_cflags)
tests_unit_test_sweep_LDADD = $(test_ldadd)
tests_unit_test_sweep_check_CFLAGS = $(test_cflags)
tests_unit_test_sweep_check_LDADD = $(test_ldadd)
tests_unit_test_sweep_lock_CFLAGS = $(test_cflags)
tests_unit_test_sweep_lock_LDADD = $(test_ldadd)
TESTS += tests/unit/test_sweep tests/unit/test_sweep_check tests/unit/test_sweep_lock \
	tests/sweep.sh tests/sweep_check.sh tests/sweep_resume.sh tests/sweep_slurm.sh \
	tests/sweep_agents.sh tests/sweep_checks.sh
EXTRA_DIST += tests/sweep.sh tests/sweep_check.sh tests/sweep_resume.sh tests/sweep_slurm.sh \
	tests/sweep_bench.sh tests/sweep_agents.sh tests/sweep_checks.sh docs/SWEEPS.md \
	tests/sweep/recipe.lua tests/sweep/wandb_example.yaml \
	tests/sweep/wandb_sweep_schema.json tests/sweep/validate_wandb.py
# Example sweeps, installed next to the recipes they run.
sweepdir = $(recipedir)/sweeps
dist_sweep_DATA = recipes/sweeps/synthetic.yaml recipes/sweeps/quickstart.yaml
