# SPDX-License-Identifier: MIT
dist_recipe_DATA += recipes/synthetic.lua recipes/quickstart.lua recipes/fashion_cnn.lua
