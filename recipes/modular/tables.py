#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tables of recipes/modular/README.md from run directories (metrics.jsonl, summary.json).
   python3 recipes/modular/tables.py fashion RUNS_DIR | lm RUNS_DIR |
   python3 recipes/modular/tables.py cooc RUN_DIR [fashion | BROWN_DIR]"""
import glob
import json
import math
import os
import statistics
import sys


def rows(d):
    with open(os.path.join(d, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f if line.strip()]


def diag_layers(row, split):
    return (row.get("diagnostics") or {}).get(split) or {}


def config(d):
    name = os.path.basename(d).rsplit("-", 2)[0]
    return name


def fashion(root):
    groups = {}
    for d in sorted(glob.glob(os.path.join(root, "modular_fashion_*"))):
        if not os.path.exists(os.path.join(d, "summary.json")):
            continue
        name = config(d).replace("modular_fashion_", "")
        key = name.rsplit("_s", 1)[0]
        groups.setdefault(key, []).append(d)
    print("| setting | seeds | epochs | test accuracy (mean ± sd) | per seed | eff. modules "
          "layer 1 / 2 (train, min over epochs) | eff. modules (test, last epoch) |")
    print("|---|---|---|---|---|---|---|")
    for key, ds in sorted(groups.items()):
        accs, mins, tests, epochs = [], {}, {}, 0
        for d in ds:
            r = rows(d)
            epochs = len(r)
            accs.append(r[-1]["test_accuracy"])
            for row in r:
                for layer, rep in diag_layers(row, "train").items():
                    v = rep["effective_modules"]
                    mins[layer] = min(mins.get(layer, v), v)
            for layer, rep in diag_layers(r[-1], "test").items():
                tests.setdefault(layer, []).append(rep["effective_modules"])
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        eff = " / ".join("%.2f" % mins[k] for k in sorted(mins))
        efft = " / ".join("%.2f" % statistics.mean(tests[k]) for k in sorted(tests))
        print("| %s | %d | %d | %.4f ± %.4f | %s | %s | %s |" % (
            key, len(ds), epochs, statistics.mean(accs), sd,
            ", ".join("%.4f" % a for a in accs), eff, efft))


def lm(root):
    print("| setting | steps x batch | valid ppl | test ppl | eff. modules (train) | "
          "controller perplexity (train) |")
    print("|---|---|---|---|---|---|")
    for d in sorted(glob.glob(os.path.join(root, "modular_lm_*"))):
        if not os.path.exists(os.path.join(d, "summary.json")):
            continue
        r = rows(d)[-1]
        cfg = json.load(open(os.path.join(d, "config.json")))
        t = diag_layers(r, "train")
        rep = next(iter(t.values())) if t else {}
        print("| %s | %s x %s | %.1f | %.1f | %.2f | %.2f |" % (
            config(d).replace("modular_lm_", ""), cfg.get("args", {}).get("steps", "?"),
            cfg["batch"], math.exp(r["valid_loss"]), math.exp(r["test_loss"]),
            rep.get("effective_modules", float("nan")),
            rep.get("controller_perplexity", float("nan"))))




FASHION = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Boot"]


def cooc(run_dir, split="test", names=None):
    """Per layer and module: share of the split's rows it took, and its top classes with the
    fraction of the module's rows of each (the class's purity within the module)."""
    last = rows(run_dir)[-1]
    for layer, rep in sorted(diag_layers(last, split).items()):
        print("layer %s (%s, M=%d), %s split:" % (layer, rep["train"], rep["modules"], split))
        total = sum(sum(r) for r in rep["cooccurrence"]) or 1
        for m, counts in enumerate(rep["cooccurrence"]):
            n = sum(counts)
            if n == 0:
                continue
            top = sorted(range(len(counts)), key=lambda c: -counts[c])[:3]
            label = lambda c: names[c] if names and c < len(names) else str(c)
            print("  module %d: %5.1f%% of rows; %s" % (m, 100.0 * n / total, ", ".join(
                "%s %.0f%%" % (label(c), 100.0 * counts[c] / n) for c in top if counts[c])))


def brown_vocab(root, n=100):
    """The first n ids of the text reader's vocabulary (plugins/data/text.c, format=brown,
    lower=true): <unk>, <eos>, then training words by falling count, ties first seen."""
    import re
    files = sorted(f for f in os.listdir(root) if re.fullmatch(r"c[a-r]\d\d", f))
    count, first = {}, {}
    for i, f in enumerate(files):
        if i % 10 in (8, 9):
            continue
        for line in open(os.path.join(root, f), encoding="latin-1"):
            toks = line.split()
            if not toks:
                continue
            for t in toks + ["<eos>"]:
                w = t if t == "<eos>" else t.rsplit("/", 1)[0].lower()
                if w == "<eos>" or w == "<unk>":
                    continue
                count[w] = count.get(w, 0) + 1
                first.setdefault(w, len(first))
    words = sorted(count, key=lambda w: (-count[w], first[w]))
    return ["<unk>", "<eos>"] + words[:n - 2]


if __name__ == "__main__":
    if sys.argv[1] == "cooc":   # cooc RUN_DIR [fashion | BROWN_DIR]
        names = None
        if sys.argv[3:] == ["fashion"]:
            names = FASHION
        elif sys.argv[3:]:
            names = brown_vocab(sys.argv[3])
        cooc(sys.argv[2], "test", names)
    else:
        {"fashion": fashion, "lm": lm}[sys.argv[1]](sys.argv[2])
