dnl SPDX-License-Identifier: MIT
dnl ML_CHECK_LUAJIT: LuaJIT 2.1 headers and library via pkg-config; the binary `luajit`
dnl is used at build time to check the embedded Lua sources compile.
AC_DEFUN([ML_CHECK_LUAJIT], [
  PKG_CHECK_MODULES([LUAJIT], [luajit >= 2.1], [],
    [AC_MSG_ERROR([LuaJIT 2.1 not found: install it with 'apt-get install libluajit-5.1-dev' (or run ./bootstrap)])])
])
