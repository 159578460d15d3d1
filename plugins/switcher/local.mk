# SPDX-License-Identifier: MIT
# switcher.so: a dense/conv layer gated by a U-Net reading its weights (Han et al. 2021).
plugin_LTLIBRARIES += plugins/switcher/switcher.la
plugins_switcher_switcher_la_SOURCES = plugins/switcher/switcher.c plugins/switcher/unet.c \
	plugins/switcher/unet.h plugins/switcher/unet_layer.c
plugins_switcher_switcher_la_CFLAGS = $(AM_CFLAGS)
plugins_switcher_switcher_la_LDFLAGS = $(plugin_ldflags)
plugins_switcher_switcher_la_LIBADD = -lm
