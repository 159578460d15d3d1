# SPDX-License-Identifier: MIT
# Validate YAML sweep files against W&B's sweep schema (wandb/sweeps schema.json, commit
# b1dfc5f9, MIT licensed, copied next to this file). Exit 0 valid, 1 invalid, 77 no modules.
import json
import os
import sys

try:
    import jsonschema
    import yaml
except ImportError:
    sys.exit(77)

schema = json.load(open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "sweep", "wandb_sweep_schema.json")))
bad = 0
for path in sys.argv[1:]:
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(yaml.safe_load(open(path))))
    for e in errors:
        print(f"{path}: {e.message}")
    bad += len(errors) > 0
sys.exit(1 if bad else 0)
