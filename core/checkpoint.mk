# SPDX-License-Identifier: MIT
# Checkpoints: the JSON reader/writer, the safetensors layout, ml_model_save / ml_model_load.
core_libmodlab_la_SOURCES += core/json.c core/json.h core/safetensors.c core/safetensors.h \
	core/checkpoint.c core/checkpoint.h

check_PROGRAMS += tests/unit/test_json tests/unit/test_safetensors tests/unit/test_checkpoint
tests_unit_test_json_CFLAGS = $(test_cflags)
tests_unit_test_json_LDADD = $(test_ldadd)
tests_unit_test_safetensors_CFLAGS = $(test_cflags)
tests_unit_test_safetensors_LDADD = $(test_ldadd)
tests_unit_test_checkpoint_CFLAGS = $(test_cflags)
tests_unit_test_checkpoint_LDADD = $(test_ldadd)
TESTS += tests/unit/test_json tests/unit/test_safetensors tests/unit/test_checkpoint \
	tests/test_safetensors_python.sh tests/checkpoint_nan.sh
EXTRA_DIST += tests/test_safetensors_python.sh tests/data/read_safetensors.py \
	tests/checkpoint_nan.sh
