# SPDX-License-Identifier: MIT
# runtime/: options, the plugin registry and loader, the host table, models and sublayers,
# diagnostics, datasets, the E-step, the trainer and its checkpoints, gradient checks.
core_libmodlab_internal_la_SOURCES += core/runtime/opts.c core/runtime/opts.h \
	core/runtime/registry.c core/runtime/registry.h core/runtime/loader.c \
	core/runtime/load_crash.c core/runtime/load_crash.h core/runtime/host.c \
	core/runtime/model.c core/runtime/model.h core/runtime/graph.c core/runtime/graph_memory.c core/runtime/normalization.c \
	core/runtime/sublayer.c \
	core/runtime/diagnostics.c core/runtime/dataset.c core/runtime/dataset.h \
	core/runtime/pipeline.c core/runtime/pipeline.h core/runtime/prefetch.c core/runtime/prefetch.h \
	core/runtime/estep.c core/runtime/estep.h core/runtime/argmax.h core/runtime/trainer.c \
	core/runtime/trainer_step.c core/runtime/trainer.h \
	core/runtime/train_ckpt.c core/runtime/checkpoint.c core/runtime/checkpoint.h \
	core/runtime/gradcheck.c core/runtime/version.c
modlabinclude_HEADERS += core/include/modlab/plugin.h core/include/modlab/modlab.h
