# SPDX-License-Identifier: MIT
# modular.so: EM-trained modular layers (Kirsch et al. 2018), REINFORCE and noisy top-k.
plugin_LTLIBRARIES += plugins/modular/modular.la
plugins_modular_modular_la_SOURCES = plugins/modular/modular.h plugins/modular/modular.c \
	plugins/modular/modular_route.c plugins/modular/modular_dense.c \
	plugins/modular/modular_em.c plugins/modular/modular_diag.c \
	plugins/modular/modular_conv.c plugins/modular/modular_state.c \
	plugins/modular/modular_gemm.c plugins/modular/modular_gemm_tiles.h \
	plugins/modular/modular_gemm_avx2.c plugins/modular/modular_gemm_avx512.c
plugins_modular_modular_la_CFLAGS = $(AM_CFLAGS) $(BLAS_CFLAGS)
plugins_modular_modular_la_LDFLAGS = $(plugin_ldflags)
plugins_modular_modular_la_LIBADD = -lm
