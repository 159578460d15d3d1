-- SPDX-License-Identifier: MIT
-- modlab.json for recipes: the module is modlab.util.json.
return require "modlab.util.json"
