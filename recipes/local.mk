# SPDX-License-Identifier: MIT
dist_recipe_DATA += recipes/synthetic.lua recipes/quickstart.lua recipes/fashion_cnn.lua
dist_recipe_DATA += recipes/multipath/mp_cnn.lua
