dnl SPDX-License-Identifier: MIT
dnl ML_FUZZ: --enable-fuzz builds the fuzz/ targets as libFuzzer binaries. The code under test
dnl gets -fsanitize=fuzzer-no-link,address,undefined (through SAN_CFLAGS, so libmodlab and the
dnl plugins are instrumented too); only the targets link -fsanitize=fuzzer (FUZZ_LDFLAGS).
dnl Without it the same target sources link fuzz/standalone_driver.c (make fuzz-smoke).
AC_DEFUN([ML_FUZZ], [
  AC_ARG_ENABLE([fuzz],
    [AS_HELP_STRING([--enable-fuzz],
      [build libFuzzer targets with ASan and UBSan (needs clang: CC=clang)])],
    [], [enable_fuzz=no])
  FUZZ_CFLAGS=""
  FUZZ_LDFLAGS=""
  AS_IF([test "x$enable_fuzz" = xyes], [
    ml_fuzz_san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
    ml_fuzz_san="$ml_fuzz_san -fno-omit-frame-pointer"
    ml_save_CFLAGS=$CFLAGS; ml_save_LDFLAGS=$LDFLAGS
    CFLAGS="$CFLAGS -fsanitize=fuzzer $ml_fuzz_san"
    LDFLAGS="$LDFLAGS -fsanitize=fuzzer $ml_fuzz_san"
    AC_MSG_CHECKING([whether $CC links libFuzzer targets])
    AC_LINK_IFELSE([AC_LANG_SOURCE([[
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }
]])], [AC_MSG_RESULT([yes])], [AC_MSG_RESULT([no])
      AC_MSG_ERROR([--enable-fuzz needs clang with libFuzzer: run
    CC=clang ./configure --enable-fuzz
after 'apt-get install clang libclang-rt-14-dev' (or ./bootstrap -- --enable-fuzz)])])
    CFLAGS=$ml_save_CFLAGS; LDFLAGS=$ml_save_LDFLAGS
    SAN_CFLAGS="$SAN_CFLAGS -fsanitize=fuzzer-no-link $ml_fuzz_san"
    FUZZ_LDFLAGS="-fsanitize=fuzzer"])
  AM_CONDITIONAL([ML_FUZZ], [test "x$enable_fuzz" = xyes])
  AC_SUBST([FUZZ_CFLAGS])
  AC_SUBST([FUZZ_LDFLAGS])
])
