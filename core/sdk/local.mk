# SPDX-License-Identifier: MIT
# The plugin SDK: the conformance suite (`modlab plugin check`), its public header, the
# `plugin new` templates, the plugin author's guide, and the ABI record check.
core_libmodlab_internal_la_SOURCES += core/sdk/conformance.c core/sdk/conformance_report.c \
	core/sdk/conformance_fork.c core/sdk/conformance_guard.c core/sdk/conformance_entry.c \
	core/sdk/conformance_layer.c core/sdk/conformance_layer_guard.c core/sdk/conformance_loss.c \
	core/sdk/conformance_optimizer.c core/sdk/conformance_dataset.c \
	core/sdk/conformance_transform.c core/sdk/conformance_impl.h \
	core/sdk/check_calls.c core/sdk/check_calls.h
modlabinclude_HEADERS += core/include/modlab/sdk.h

# `modlab plugin new|check` (Lua), embedded into the binary and installed.
sdk_lua = lua/modlab/sdk/init.lua lua/modlab/sdk/templates.lua \
	lua/modlab/sdk/template_layer.lua lua/modlab/sdk/template_optimizer.lua \
	lua/modlab/sdk/template_dataset.lua lua/modlab/sdk/template_router.lua \
	lua/modlab/sdk/template_transform.lua
embedded_lua_files += $(sdk_lua)
embedded_lua_args += modlab.sdk=$(top_srcdir)/lua/modlab/sdk/init.lua \
	modlab.sdk.templates=$(top_srcdir)/lua/modlab/sdk/templates.lua \
	modlab.sdk.template_layer=$(top_srcdir)/lua/modlab/sdk/template_layer.lua \
	modlab.sdk.template_optimizer=$(top_srcdir)/lua/modlab/sdk/template_optimizer.lua \
	modlab.sdk.template_dataset=$(top_srcdir)/lua/modlab/sdk/template_dataset.lua \
	modlab.sdk.template_router=$(top_srcdir)/lua/modlab/sdk/template_router.lua \
	modlab.sdk.template_transform=$(top_srcdir)/lua/modlab/sdk/template_transform.lua
modlab_sdkluadir = $(luadir)/modlab/sdk
dist_modlab_sdklua_DATA = $(sdk_lua)
include tests/abi/sdk.mk

# The plugin author's guide, installed in $(docdir), and the commands' man page.
dist_doc_DATA = docs/PLUGINS.md docs/RECIPES.md
dist_man1_MANS = docs/modlab-plugin.1

# End to end: install, `plugin new` each kind, build with pkg-config, check, train.
TESTS += tests/e2e/sdk.sh
EXTRA_DIST += tests/e2e/sdk.sh
TESTS += tests/e2e/sdk_valgrind.sh
EXTRA_DIST += tests/e2e/sdk_valgrind.sh
