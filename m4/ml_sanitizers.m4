dnl SPDX-License-Identifier: MIT
dnl ML_SANITIZERS: --enable-asan, --enable-ubsan (SAN_CFLAGS / SAN_LDFLAGS) and
dnl --enable-valgrind (tests run under valgrind's memcheck: VALGRIND conditional).
AC_DEFUN([ML_SANITIZERS], [
  SAN_CFLAGS=""
  AC_ARG_ENABLE([asan],
    [AS_HELP_STRING([--enable-asan], [build with AddressSanitizer (and LeakSanitizer)])],
    [], [enable_asan=no])
  AC_ARG_ENABLE([ubsan],
    [AS_HELP_STRING([--enable-ubsan], [build with UndefinedBehaviorSanitizer, aborting on error])],
    [], [enable_ubsan=no])
  AS_IF([test "x$enable_asan" = xyes],
    [SAN_CFLAGS="$SAN_CFLAGS -fsanitize=address -fno-omit-frame-pointer"])
  AS_IF([test "x$enable_ubsan" = xyes],
    [SAN_CFLAGS="$SAN_CFLAGS -fsanitize=undefined -fno-sanitize-recover=undefined"])
  AS_IF([test -n "$SAN_CFLAGS"], [
    ml_save_CFLAGS=$CFLAGS; ml_save_LDFLAGS=$LDFLAGS
    CFLAGS="$CFLAGS $SAN_CFLAGS"; LDFLAGS="$LDFLAGS $SAN_CFLAGS"
    AC_LINK_IFELSE([AC_LANG_PROGRAM([], [])], [],
      [AC_MSG_ERROR([the compiler cannot link with $SAN_CFLAGS (install libasan8/libubsan1)])])
    CFLAGS=$ml_save_CFLAGS; LDFLAGS=$ml_save_LDFLAGS])
  AM_CONDITIONAL([ML_ASAN], [test "x$enable_asan" = xyes])
  AC_SUBST([SAN_CFLAGS])
  AC_ARG_ENABLE([valgrind],
    [AS_HELP_STRING([--enable-valgrind], [run the test programs under valgrind memcheck])],
    [], [enable_valgrind=no])
  AS_IF([test "x$enable_valgrind" = xyes], [AC_CHECK_PROGS([VALGRIND], [valgrind])
    AS_IF([test -z "$VALGRIND"], [AC_MSG_ERROR([--enable-valgrind: valgrind not found (apt-get install valgrind)])])])
  AM_CONDITIONAL([ML_VALGRIND], [test "x$enable_valgrind" = xyes])
])
