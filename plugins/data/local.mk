# SPDX-License-Identifier: MIT
# data.so: dataset readers.
plugin_LTLIBRARIES += plugins/data/data.la
plugins_data_data_la_SOURCES = plugins/data/data.c plugins/data/synthetic.c
plugins_data_data_la_CFLAGS = $(AM_CFLAGS) $(ZLIB_CFLAGS)
plugins_data_data_la_LDFLAGS = $(plugin_ldflags)
plugins_data_data_la_LIBADD = $(ZLIB_LIBS) -lm
