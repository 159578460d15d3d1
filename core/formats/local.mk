# SPDX-License-Identifier: MIT
# formats/: the file formats, bytes in and out with no model behind them: the strict JSON
# reader/writer, the YAML tree reader (libyaml), the safetensors layout, and the one shortest-double number formatter.
core_libmodlab_internal_la_SOURCES += core/formats/json.h core/formats/json_doc.h core/formats/json_parse.c \
	core/formats/json_tree.c core/formats/json_write.c \
	core/formats/yaml_tree.c core/formats/yaml_tree.h \
	core/formats/safetensors.h core/formats/safetensors_le.h \
	core/formats/safetensors_read.c core/formats/safetensors_write.c \
	core/formats/numfmt.c

check_PROGRAMS += tests/unit/core/formats/test_numfmt tests/unit/core/formats/test_json tests/unit/core/formats/test_safetensors tests/unit/core/runtime/test_checkpoint
TESTS += tests/unit/core/formats/test_numfmt tests/unit/core/formats/test_json tests/unit/core/formats/test_safetensors tests/unit/core/runtime/test_checkpoint \
	tests/e2e/test_safetensors_python.sh tests/e2e/checkpoint_nan.sh
EXTRA_DIST += tests/e2e/test_safetensors_python.sh tests/python/read_safetensors.py \
	tests/e2e/checkpoint_nan.sh
