# SPDX-License-Identifier: MIT
dist_recipe_DATA += recipes/synthetic.lua recipes/quickstart.lua recipes/fashion_cnn.lua
dist_recipe_DATA += recipes/multipath/mp_cnn.lua
# The graph API's reference recipes (issue 20); the ResNet's seeds sweep and its results.
dist_recipe_DATA += recipes/resnet.lua recipes/custom_loop.lua
resnetrecipedir = $(recipedir)/resnet
dist_resnetrecipe_DATA = recipes/resnet/seeds.yaml recipes/resnet/seeds_augment.yaml \
	recipes/resnet/README.md
EXTRA_DIST += recipes/resnet/results/seeds_augment.csv
