dnl SPDX-License-Identifier: MIT
dnl ML_CHECK_CFLAG(FLAG, VAR): append FLAG to VAR when the compiler accepts it.
AC_DEFUN([ML_CHECK_CFLAG], [
  AC_MSG_CHECKING([whether $CC accepts $1])
  ml_save_CFLAGS=$CFLAGS
  CFLAGS="$CFLAGS -Werror $1"
  AC_COMPILE_IFELSE([AC_LANG_PROGRAM([], [])],
    [AC_MSG_RESULT([yes]); $2="$$2 $1"], [AC_MSG_RESULT([no])])
  CFLAGS=$ml_save_CFLAGS
])

dnl ML_WARNINGS: the warning set for all of modlab's code (WARN_CFLAGS), and
dnl --enable-werror to make them errors (CI uses it).
AC_DEFUN([ML_WARNINGS], [
  WARN_CFLAGS=""
  for ml_flag in -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
                 -Wpointer-arith -Wformat=2 -Wno-unused-parameter -Wvla -Wundef; do
    ML_CHECK_CFLAG([$ml_flag], [WARN_CFLAGS])
  done
  AC_ARG_ENABLE([werror],
    [AS_HELP_STRING([--enable-werror], [treat compiler warnings as errors])],
    [], [enable_werror=no])
  AS_IF([test "x$enable_werror" = xyes], [WARN_CFLAGS="$WARN_CFLAGS -Werror"])
  AC_SUBST([WARN_CFLAGS])
])

dnl AX_PTHREAD_SIMPLE: -pthread is enough on the GNU toolchains modlab targets.
AC_DEFUN([AX_PTHREAD_SIMPLE], [
  PTHREAD_CFLAGS=""
  ML_CHECK_CFLAG([-pthread], [PTHREAD_CFLAGS])
  AC_SUBST([PTHREAD_CFLAGS])
])
