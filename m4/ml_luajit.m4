dnl SPDX-License-Identifier: MIT
dnl ML_CHECK_LUAJIT: LuaJIT 2.1 headers and library via pkg-config, and the `luajit` binary,
dnl which embeds the Lua sources into the modlab binary at build time (LUAJIT_BIN).
AC_DEFUN([ML_CHECK_LUAJIT], [
  PKG_CHECK_MODULES([LUAJIT], [luajit >= 2.1], [],
    [AC_MSG_ERROR([LuaJIT 2.1 not found: install it with 'apt-get install libluajit-5.1-dev' (or run ./bootstrap)])])
  AC_PATH_PROGS([LUAJIT_BIN], [luajit])
  AS_IF([test -z "$LUAJIT_BIN"],
    [AC_MSG_ERROR([the luajit program is needed at build time: 'apt-get install luajit' (or run ./bootstrap)])])
])
