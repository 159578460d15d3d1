# SPDX-License-Identifier: MIT
# The Lua side: embedded into the modlab binary at build time, and installed with its folder
# structure (one install directory per folder of lua/modlab/). A module's name is its path
# below lua/ (lua/modlab/util/json.lua is modlab.util.json; a folder's init.lua is the
# folder: lua/modlab/sweep/init.lua is modlab.sweep). report.mk adds the report's modules,
# core/sdk/local.mk the SDK's.
lua_modlab = lua/modlab/core.lua lua/modlab/train.lua \
	lua/modlab/resume.lua lua/modlab/rundir.lua lua/modlab/progress.lua lua/modlab/model.lua \
	lua/modlab/graph.lua lua/modlab/trainer.lua lua/modlab/train_hooks.lua \
	lua/modlab/params.lua lua/modlab/data.lua lua/modlab/schedule.lua lua/modlab/json.lua \
	lua/modlab/run_summary.lua lua/modlab/augment.lua
lua_util = lua/modlab/util/clib.lua lua/modlab/util/number.lua lua/modlab/util/file.lua \
	lua/modlab/util/time.lua lua/modlab/util/json.lua lua/modlab/util/jsonl.lua \
	lua/modlab/util/suggest.lua
lua_cli = lua/modlab/cli/init.lua lua/modlab/cli/commands.lua lua/modlab/cli/args.lua \
	lua/modlab/cli/run.lua lua/modlab/cli/docs.lua
lua_sweep = lua/modlab/sweep/init.lua lua/modlab/sweep/host.lua lua/modlab/sweep/plan.lua \
	lua/modlab/sweep/journal.lua lua/modlab/sweep/metrics.lua lua/modlab/sweep/hyperband.lua \
	lua/modlab/sweep/trial.lua lua/modlab/sweep/results.lua lua/modlab/sweep/local_launcher.lua \
	lua/modlab/sweep/slurm_launcher.lua lua/modlab/sweep/checks.lua lua/modlab/sweep/live.lua
embedded_lua_files = lua/modlab.lua $(lua_modlab) $(lua_util) $(lua_cli) $(lua_sweep)
embedded_lua_args = modlab=$(top_srcdir)/lua/modlab.lua \
	modlab.core=$(top_srcdir)/lua/modlab/core.lua \
	modlab.cli=$(top_srcdir)/lua/modlab/cli/init.lua \
	modlab.cli.commands=$(top_srcdir)/lua/modlab/cli/commands.lua \
	modlab.cli.args=$(top_srcdir)/lua/modlab/cli/args.lua \
	modlab.cli.run=$(top_srcdir)/lua/modlab/cli/run.lua \
	modlab.cli.docs=$(top_srcdir)/lua/modlab/cli/docs.lua \
	modlab.train=$(top_srcdir)/lua/modlab/train.lua \
	modlab.resume=$(top_srcdir)/lua/modlab/resume.lua \
	modlab.rundir=$(top_srcdir)/lua/modlab/rundir.lua \
	modlab.progress=$(top_srcdir)/lua/modlab/progress.lua \
	modlab.model=$(top_srcdir)/lua/modlab/model.lua \
	modlab.graph=$(top_srcdir)/lua/modlab/graph.lua \
	modlab.trainer=$(top_srcdir)/lua/modlab/trainer.lua \
	modlab.train_hooks=$(top_srcdir)/lua/modlab/train_hooks.lua \
	modlab.params=$(top_srcdir)/lua/modlab/params.lua \
	modlab.data=$(top_srcdir)/lua/modlab/data.lua \
	modlab.schedule=$(top_srcdir)/lua/modlab/schedule.lua \
	modlab.json=$(top_srcdir)/lua/modlab/json.lua \
	modlab.run_summary=$(top_srcdir)/lua/modlab/run_summary.lua \
	modlab.augment=$(top_srcdir)/lua/modlab/augment.lua \
	modlab.util.clib=$(top_srcdir)/lua/modlab/util/clib.lua \
	modlab.util.number=$(top_srcdir)/lua/modlab/util/number.lua \
	modlab.util.file=$(top_srcdir)/lua/modlab/util/file.lua \
	modlab.util.time=$(top_srcdir)/lua/modlab/util/time.lua \
	modlab.util.json=$(top_srcdir)/lua/modlab/util/json.lua \
	modlab.util.jsonl=$(top_srcdir)/lua/modlab/util/jsonl.lua \
	modlab.util.suggest=$(top_srcdir)/lua/modlab/util/suggest.lua \
	modlab.sweep=$(top_srcdir)/lua/modlab/sweep/init.lua \
	modlab.sweep.host=$(top_srcdir)/lua/modlab/sweep/host.lua \
	modlab.sweep.plan=$(top_srcdir)/lua/modlab/sweep/plan.lua \
	modlab.sweep.journal=$(top_srcdir)/lua/modlab/sweep/journal.lua \
	modlab.sweep.metrics=$(top_srcdir)/lua/modlab/sweep/metrics.lua \
	modlab.sweep.hyperband=$(top_srcdir)/lua/modlab/sweep/hyperband.lua \
	modlab.sweep.trial=$(top_srcdir)/lua/modlab/sweep/trial.lua \
	modlab.sweep.results=$(top_srcdir)/lua/modlab/sweep/results.lua \
	modlab.sweep.local_launcher=$(top_srcdir)/lua/modlab/sweep/local_launcher.lua \
	modlab.sweep.slurm_launcher=$(top_srcdir)/lua/modlab/sweep/slurm_launcher.lua \
	modlab.sweep.checks=$(top_srcdir)/lua/modlab/sweep/checks.lua \
	modlab.sweep.live=$(top_srcdir)/lua/modlab/sweep/live.lua \
	recipes.quickstart=$(top_srcdir)/recipes/quickstart.lua
dist_lua_DATA += lua/modlab.lua
modlabluadir = $(luadir)/modlab
dist_modlablua_DATA = $(lua_modlab)
modlab_utilluadir = $(luadir)/modlab/util
dist_modlab_utillua_DATA = $(lua_util)
modlab_cliluadir = $(luadir)/modlab/cli
dist_modlab_clilua_DATA = $(lua_cli)
modlab_sweepluadir = $(luadir)/modlab/sweep
dist_modlab_sweeplua_DATA = $(lua_sweep)
