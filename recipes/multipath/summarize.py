#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Tables for recipes/multipath/README.md from the run directories of run_all.sh.

    python3 recipes/multipath/summarize.py runs/multipath > recipes/multipath/results.md

Per configuration (experiments.txt), over its seeds: validation accuracy at the best
validation epoch, test accuracy at that same epoch (selection on validation only), their
mean and sample standard deviation, parameters, multiply-accumulates per example (macs.json,
counted by the recipe), training samples/s (mean over epochs and seeds; the machine was
shared, so only rough), the routers' allocation entropy and spread across examples. Then
the per-class mean allocation of the best routed configuration (highest mean validation
accuracy), for its best seed (highest validation accuracy), on the test split at the best
validation epoch."""
import json
import os
import statistics
import sys

CLASSES = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Boot"]


def load(top):
    runs = []
    for d in sorted(os.listdir(top)):
        p = os.path.join(top, d)
        try:
            with open(os.path.join(p, "summary.json")) as f:
                summ = json.load(f)
            with open(os.path.join(p, "config.json")) as f:
                cfg = json.load(f)
            with open(os.path.join(p, "macs.json")) as f:
                macs = json.load(f)["macs_per_example"]
        except (OSError, ValueError, KeyError):
            continue   # unfinished or failed
        if summ.get("status") != "finished":
            continue
        with open(os.path.join(p, "metrics.jsonl")) as f:
            metrics = [json.loads(line) for line in f if line.strip()]
        with open(os.path.join(p, "timing.jsonl")) as f:
            rates = [json.loads(line)["samples_per_s"] for line in f if line.strip()]
        name = cfg["args"]["name"].rsplit("_s", 1)[0]
        runs.append(dict(dir=d, name=name, seed=cfg["args"]["seed"], summ=summ, cfg=cfg,
                         macs=macs, metrics=metrics, rate=statistics.mean(rates)))
    return runs


def mean_sd(v):
    if not v:
        return "-"
    if len(v) == 1:
        return "%.4f" % v[0]
    return "%.4f ± %.4f" % (statistics.mean(v), statistics.stdev(v))


def best_row(r):
    return r["metrics"][r["summ"]["best_valid_epoch"] - 1]


def routers(row, split):
    diag = (row.get("diagnostics") or {}).get(split) or {}
    return {k: v for k, v in diag.items() if "entropy" in v}


def main():
    runs = load(sys.argv[1] if len(sys.argv) > 1 else "runs/multipath")
    order = []
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "experiments.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                order.append(line.split()[0])
    print("| configuration | seeds | valid acc (best epoch) | test acc (same epoch) | "
          "params | MACs/example | train samples/s | router entropy / max | "
          "router spread |")
    print("|---|---|---|---|---|---|---|---|---|")
    best = None
    for name in order:
        rs = [r for r in runs if r["name"] == name]
        if not rs:
            print("| %s | 0 | not run | | | | | | |" % name)
            continue
        va = [r["summ"]["best_valid_accuracy"] for r in rs]
        te = [r["summ"]["test_accuracy_at_best_valid"] for r in rs]
        ent, spr = [], []
        for r in rs:
            for k, v in sorted(routers(best_row(r), "test").items()):
                ent.append("%s %.3f/%.3f" % (k.split(".")[0], v["entropy"], v["entropy_max"]))
                spr.append(v["spread"])
        ent_txt = "; ".join(sorted(set(e.split(" ")[0] for e in ent)))
        if ent:
            per_layer = {}
            for e in ent:
                layer, val = e.split(" ")
                per_layer.setdefault(layer, []).append(float(val.split("/")[0]))
            mx = ent[0].split("/")[1]
            ent_txt = ", ".join("L%s %.3f" % (k, statistics.mean(v))
                                for k, v in sorted(per_layer.items())) + " / " + mx
        else:
            ent_txt = "-"
        print("| %s | %d | %s | %s | %d | %d | %.0f | %s | %s |" % (
            name, len(rs), mean_sd(va), mean_sd(te), rs[0]["summ"]["params"], rs[0]["macs"],
            statistics.mean(r["rate"] for r in rs), ent_txt,
            "%.4f" % statistics.mean(spr) if spr else "-"))
        if ent and (best is None or statistics.mean(va) > best[0]):
            best = (statistics.mean(va), name, max(rs, key=lambda r: r["summ"]
                                                   ["best_valid_accuracy"]))
    if not best:
        return
    _, name, r = best
    row = best_row(r)
    print()
    print("Per-class mean allocation of the best routed configuration, `%s` (highest mean "
          "validation accuracy), seed %d (its best on validation, %.4f), test split, epoch "
          "%d; run `%s`. Entry `i>j` is the mean weight of source path i in destination path "
          "j (each destination's weights sum to 1)." % (
              name, r["seed"], r["summ"]["best_valid_accuracy"],
              r["summ"]["best_valid_epoch"], r["dir"]))
    for key, rep in sorted(routers(row, "test").items()):
        n = rep["paths"]
        cols = ["%d>%d" % (i, j) for i in range(n) for j in range(n)]
        print()
        print("Router of layer %s (%s, n=%d): entropy %.4f of max %.4f, spread %.4f" % (
            key, rep["routing"], n, rep["entropy"], rep["entropy_max"], rep["spread"]))
        print()
        print("| class | " + " | ".join(cols) + " |")
        print("|---|" + "---|" * len(cols))
        for c in sorted(rep["per_class"], key=int):
            print("| %s | %s |" % (CLASSES[int(c)] if int(c) < 10 else c,
                                   " | ".join("%.3f" % a for a in rep["per_class"][c])))
        print("| all | %s |" % " | ".join("%.3f" % a for a in rep["mean"]))


if __name__ == "__main__":
    main()
