# SPDX-License-Identifier: MIT
# The modlab command: main, the LuaJIT host, and the Lua sources embedded into the binary.
bin_PROGRAMS += modlab
modlab_SOURCES = core/cli/main.c core/cli/lua_host.c core/cli/lua_host.h
nodist_modlab_SOURCES = core/cli/embedded_lua.c
modlab_CPPFLAGS = $(AM_CPPFLAGS) $(LUAJIT_CFLAGS)
modlab_LDADD = core/libmodlab.la $(LUAJIT_LIBS)
# ffi.C finds ml_* in libmodlab, which the binary links.

BUILT_SOURCES += core/cli/embedded_lua.c
CLEANFILES += core/cli/embedded_lua.c
core/cli/embedded_lua.c: $(top_srcdir)/lua/embed.lua $(embedded_lua_files) recipes/quickstart.lua \
		$(top_srcdir)/core/include/modlab/plugin.h $(top_srcdir)/core/include/modlab/modlab.h \
		$(top_srcdir)/core/include/modlab/sweep.h $(top_srcdir)/core/include/modlab/sdk.h \
		$(top_srcdir)/core/include/modlab/spawn.h
	$(AM_V_GEN)$(MKDIR_P) core/cli && $(LUAJIT_BIN) $(top_srcdir)/lua/embed.lua $@ \
	  $(embedded_lua_args) \
	  cdef=$(top_srcdir)/core/include/modlab/plugin.h \
	  cdef=$(top_srcdir)/core/include/modlab/modlab.h \
	  cdef=$(top_srcdir)/core/include/modlab/sweep.h \
	  cdef=$(top_srcdir)/core/include/modlab/sdk.h \
	  cdef=$(top_srcdir)/core/include/modlab/spawn.h
EXTRA_DIST += lua/embed.lua

# The man page and the shell completions are written by the built binary from the table that
# makes `--help` (lua/modlab/cli/commands.lua, cli/docs.lua), so they cannot drift from it.
nodist_man1_MANS = modlab.1
bashcompletiondir = $(datadir)/bash-completion/completions
bashcompletion_DATA = completions/modlab
zshcompletiondir = $(datadir)/zsh/site-functions
zshcompletion_DATA = completions/_modlab
CLEANFILES += modlab.1 completions/modlab completions/_modlab
modlab.1: modlab$(EXEEXT)
	$(AM_V_GEN)./modlab$(EXEEXT) help --man >$@.tmp && mv $@.tmp $@
completions/modlab: modlab$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) completions && ./modlab$(EXEEXT) completion bash >$@.tmp && mv $@.tmp $@
completions/_modlab: modlab$(EXEEXT)
	$(AM_V_GEN)$(MKDIR_P) completions && ./modlab$(EXEEXT) completion zsh >$@.tmp && mv $@.tmp $@
