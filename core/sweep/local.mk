# SPDX-License-Identifier: MIT
# Sweeps: the sweep file reader and trial expansion, trial processes and the journal.
core_libmodlab_internal_la_SOURCES += core/sweep/sweep.c core/sweep/sweep_read.c core/sweep/sweep_param.c \
	core/sweep/sweep_value.c core/sweep/sweep_expand.c core/sweep/sweep_plan.c core/sweep/sweep_impl.h \
	core/sweep/sweep_check.c core/sweep/sweep_proc.c core/sweep/sweep_lock.c
modlabinclude_HEADERS += core/include/modlab/sweep.h

check_PROGRAMS += tests/unit/core/sweep/test_sweep tests/unit/core/sweep/test_sweep_check tests/unit/core/sweep/test_sweep_lock
TESTS += tests/unit/core/sweep/test_sweep tests/unit/core/sweep/test_sweep_check tests/unit/core/sweep/test_sweep_lock \
	tests/e2e/sweep.sh tests/e2e/sweep_check.sh tests/e2e/sweep_resume.sh tests/e2e/sweep_slurm.sh \
	tests/e2e/sweep_agents.sh tests/e2e/sweep_checks.sh
EXTRA_DIST += tests/e2e/sweep.sh tests/e2e/sweep_check.sh tests/e2e/sweep_resume.sh tests/e2e/sweep_slurm.sh \
	tests/e2e/sweep_bench.sh tests/e2e/sweep_agents.sh tests/e2e/sweep_checks.sh docs/SWEEPS.md \
	tests/fixtures/sweep/recipe.lua tests/fixtures/sweep/wandb_example.yaml \
	tests/fixtures/sweep/wandb_sweep_schema.json tests/python/validate_wandb.py
# Example sweeps, installed next to the recipes they run.
sweepdir = $(recipedir)/sweeps
dist_sweep_DATA = recipes/sweeps/synthetic.yaml recipes/sweeps/quickstart.yaml
