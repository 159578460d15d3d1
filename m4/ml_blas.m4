dnl SPDX-License-Identifier: MIT
dnl ML_CHECK_BLAS: an OpenBLAS (or other CBLAS) providing cblas_sgemm.
dnl Prefers pkg-config's openblas; falls back to searching -lopenblas, -lcblas, -lblas.
dnl Sets BLAS_CFLAGS / BLAS_LIBS.
AC_DEFUN([ML_CHECK_BLAS], [
  PKG_CHECK_MODULES([BLAS], [openblas], [ml_have_blas=yes], [ml_have_blas=no])
  ml_save_LIBS=$LIBS
  ml_save_CPPFLAGS=$CPPFLAGS
  CPPFLAGS="$CPPFLAGS $BLAS_CFLAGS"
  LIBS="$BLAS_LIBS $LIBS"
  AC_CHECK_HEADER([cblas.h], [],
    [AC_MSG_ERROR([cblas.h not found: install OpenBLAS with 'apt-get install libopenblas-dev' (or run ./bootstrap)])])
  AC_SEARCH_LIBS([cblas_sgemm], [openblas cblas blas], [],
    [AC_MSG_ERROR([no CBLAS library with cblas_sgemm: install OpenBLAS with 'apt-get install libopenblas-dev' (or run ./bootstrap)])])
  AC_CHECK_FUNCS([openblas_set_num_threads openblas_get_config])
  AS_IF([test "x$ml_have_blas" = xno], [BLAS_LIBS="$LIBS"; LIBS=$ml_save_LIBS], [LIBS=$ml_save_LIBS])
  CPPFLAGS=$ml_save_CPPFLAGS
  AC_SUBST([BLAS_CFLAGS])
  AC_SUBST([BLAS_LIBS])
])

dnl ML_CHECK_LAPACKE: LAPACKE (ssyevr for the spectral regulariser). Sets LAPACKE_LIBS.
AC_DEFUN([ML_CHECK_LAPACKE], [
  PKG_CHECK_MODULES([LAPACKE], [lapacke], [],
    [AC_MSG_ERROR([LAPACKE not found: install it with 'apt-get install liblapacke-dev' (or run ./bootstrap)])])
])
