# SPDX-License-Identifier: MIT
# The Lua side: embedded into the modlab binary at build time, and installed.
embedded_lua_files = lua/modlab.lua lua/modlab/core.lua lua/modlab/cli.lua \
	lua/modlab/json.lua lua/modlab/train.lua lua/modlab/resume.lua lua/modlab/rundir.lua \
	lua/modlab/progress.lua lua/modlab/model.lua lua/modlab/data.lua lua/modlab/schedule.lua \
	lua/modlab/sweep.lua lua/modlab/sweep_checks.lua
embedded_lua_args = modlab=$(top_srcdir)/lua/modlab.lua \
	modlab.core=$(top_srcdir)/lua/modlab/core.lua \
	modlab.cli=$(top_srcdir)/lua/modlab/cli.lua \
	modlab.json=$(top_srcdir)/lua/modlab/json.lua \
	modlab.train=$(top_srcdir)/lua/modlab/train.lua \
	modlab.rundir=$(top_srcdir)/lua/modlab/rundir.lua \
	modlab.resume=$(top_srcdir)/lua/modlab/resume.lua \
	modlab.progress=$(top_srcdir)/lua/modlab/progress.lua \
	modlab.model=$(top_srcdir)/lua/modlab/model.lua \
	modlab.data=$(top_srcdir)/lua/modlab/data.lua \
	modlab.schedule=$(top_srcdir)/lua/modlab/schedule.lua \
	modlab.sweep=$(top_srcdir)/lua/modlab/sweep.lua \
	modlab.sweep_checks=$(top_srcdir)/lua/modlab/sweep_checks.lua \
	recipes.quickstart=$(top_srcdir)/recipes/quickstart.lua
dist_lua_DATA += lua/modlab.lua
modlabluadir = $(luadir)/modlab
dist_modlablua_DATA = lua/modlab/core.lua lua/modlab/cli.lua lua/modlab/json.lua \
	lua/modlab/train.lua lua/modlab/resume.lua lua/modlab/rundir.lua lua/modlab/progress.lua \
	lua/modlab/model.lua lua/modlab/data.lua lua/modlab/schedule.lua lua/modlab/sweep.lua \
	lua/modlab/sweep_checks.lua
