# SPDX-License-Identifier: MIT
# The table of `make bench`: medians per side and thread count, the better thread count of
# each side, the modlab/PyTorch ratio, the sgemm-only bound, peak RSS, and the issue-4
# targets met or not. Input: bench/out/results.txt (key=value lines from bench/run.sh).
function kv(line, a,    n, i, f, p) {
    delete a
    n = split(line, f, " ")
    a["kind"] = f[2]
    for (i = 1; i <= n; i++)
        if ((p = index(f[i], "=")) > 0)
            a[substr(f[i], 1, p - 1)] = substr(f[i], p + 1)
}
function best(s, side, m, what,    v1, v2) {
    v1 = val[s, side, m, 1, what] + 0; v2 = val[s, side, m, 2, what] + 0
    return v1 > v2 ? v1 : v2
}
function fmt(v) { return v > 0 ? sprintf("%9.0f", v) : sprintf("%9s", "-") }
function ratio(a, b) { return (a > 0 && b > 0) ? sprintf("%6.2fx", a / b) : sprintf("%7s", "-") }
function verdict(ok, have) { return have ? (ok ? "met" : "NOT met") : "not measured" }
/^fact / { sub(/^fact /, ""); facts = facts "  " $0 "\n"; next }
{
    kv($0, a)
    s = a["setting"]
    if (!(s in seen)) { seen[s] = 1; order[++ns] = s }
    if (a["kind"] == "result") {
        for (w in a) val[s, a["side"], a["model"], a["threads"], w] = a[w]
    } else if (a["kind"] == "bound") {
        val[s, "bound", a["model"], a["threads"], "train_sps"] = a["train_sps"]
    } else if (a["kind"] == "modular") {
        nmod[s]++
        for (w in a) mod[s, nmod[s], w] = a[w]
    } else if (a["kind"] == "routing") {
        key = a["paths"] " " a["width"]
        if (!(key in rseen)) { rseen[key] = 1; rorder[++nr] = key }
        if (!((key, a["router"]) in rms)) rrouters[key] = rrouters[key] " " a["router"]
        rms[key, a["router"]] = a["router_ms"]; rblock[key, a["router"]] = a["block_ms"]
        rshare[key, a["router"]] = a["share"]; rreps = a["reps"]
    } else if (a["kind"] == "accuracy") {
        acc[a["side"]] += a["test_acc"]; nacc[a["side"]]++
        accs[a["side"]] = accs[a["side"]] " " a["test_acc"]
    }
}
END {
    print ""
    print "modlab vs PyTorch (make bench): medians of " reps " repetitions, samples/s"
    printf "%s", facts
    for (i = 1; i <= ns; i++) {
        s = order[i]
        print ""
        if (s == "a") print "setting a: the environment as the machine sets it"
        else print "setting b: OPENBLAS_CORETYPE unset, OMP_WAIT_POLICY=passive, " \
                   "GLIBC_TUNABLES=glibc.malloc.hugetlb=1"
        printf "%-14s %9s %9s %9s | %9s %9s %9s | %8s\n", "", "torch 1t", "torch 2t",
               "torch", "modlab 1t", "modlab 2t", "modlab", "modlab/"
        printf "%-14s %9s %9s %9s | %9s %9s %9s | %8s\n", "", "", "", "best", "", "",
               "best", "torch"
        for (mi = 1; mi <= 2; mi++) {
            m = mi == 1 ? "mlp" : "cnn"
            for (wi = 1; wi <= 2; wi++) {
                w = wi == 1 ? "train_sps" : "infer_sps"
                if (val[s, "modlab", m, 1, w] == "" && val[s, "torch", m, 1, w] == "") continue
                printf "%-14s %s %s %s | %s %s %s | %s\n", m (wi == 1 ? " train" : " infer"),
                       fmt(val[s, "torch", m, 1, w]), fmt(val[s, "torch", m, 2, w]),
                       fmt(best(s, "torch", m, w)), fmt(val[s, "modlab", m, 1, w]),
                       fmt(val[s, "modlab", m, 2, w]), fmt(best(s, "modlab", m, w)),
                       ratio(best(s, "modlab", m, w), best(s, "torch", m, w))
            }
            if (val[s, "bound", m, 1, "train_sps"] != "")
                printf "%-14s %9s %9s %9s | %9s %9s %9s | %8s\n", m " sgemm bound",
                       "", "", "", fmt(val[s, "bound", m, 1, "train_sps"]),
                       fmt(val[s, "bound", m, 2, "train_sps"]),
                       fmt(best(s, "bound", m, "train_sps")), ""
        }
        printf "%-14s %9s %9s %9s | %9s %9s %9s |\n", "peak RSS MB", "mlp", "cnn", "",
               "mlp", "cnn", ""
        printf "%-14s %9.0f %9.0f %9s | %9.0f %9.0f %9s |\n", "(max of 1t,2t)",
               rss(s, "torch", "mlp"), rss(s, "torch", "cnn"), "",
               rss(s, "modlab", "mlp"), rss(s, "modlab", "cnn"), ""
        # The issue-4 targets, in this setting.
        mt = best(s, "modlab", "mlp", "train_sps"); pt = best(s, "torch", "mlp", "train_sps")
        bd = best(s, "bound", "mlp", "train_sps")
        ct = best(s, "modlab", "cnn", "train_sps"); qt = best(s, "torch", "cnn", "train_sps")
        printf "targets %s: MLP train >= 1.2x torch: %s (%s); MLP train >= 60%% of bound: %s " \
               "(%.0f%%)\n", s, verdict(mt >= 1.2 * pt, mt && pt), ratio(mt, pt),
               verdict(mt >= 0.6 * bd, mt && bd), bd ? 100 * mt / bd : 0
        printf "targets %s: CNN train >= 1.2x torch: %s (%s); inference >= torch: MLP %s, " \
               "CNN %s\n", s, verdict(ct >= 1.2 * qt, ct && qt), ratio(ct, qt),
               verdict(best(s, "modlab", "mlp", "infer_sps") >= best(s, "torch", "mlp",
                       "infer_sps"), pt && mt),
               verdict(best(s, "modlab", "cnn", "infer_sps") >= best(s, "torch", "cnn",
                       "infer_sps"), ct && qt)
        printf "targets %s: peak RSS below torch: MLP %s, CNN %s\n", s,
               verdict(rss(s, "modlab", "mlp") < rss(s, "torch", "mlp"),
                       rss(s, "modlab", "mlp") && rss(s, "torch", "mlp")),
               verdict(rss(s, "modlab", "cnn") < rss(s, "torch", "cnn"),
                       rss(s, "modlab", "cnn") && rss(s, "torch", "cnn"))
        # Issue 8: the modular layer's forward against one module (bench/modular_bench).
        if (nmod[s]) {
            printf "modular layer (M=8 K=1) vs one module, forward, 1 thread, medians of " \
                   "%s, CPU ms:\n", mod[s, 1, "reps"]
            for (k = 1; k <= nmod[s]; k++)
                printf "  %4s->%-4s batch %4s %-8s linear %7.3f  modular %7.3f  ratio " \
                       "%5.2f  (small_gemm=false %5.2f)\n", mod[s, k, "in"],
                       mod[s, k, "out"], mod[s, k, "batch"], mod[s, k, "mode"],
                       mod[s, k, "linear_ms"], mod[s, k, "modular_ms"],
                       mod[s, k, "ratio"], mod[s, k, "sgemm_only_ratio"]
            bad = ""
            for (k = 1; k <= nmod[s]; k++)
                if (mod[s, k, "ratio"] + 0 > 1.5)
                    bad = bad " " mod[s, k, "in"] "->" mod[s, k, "out"] "/" \
                          mod[s, k, "batch"] "/" mod[s, k, "mode"]
            printf "targets %s: modular forward <= 1.5x one module: %s\n", s,
                   bad == "" ? "met (every row)" : "NOT met at" bad
        }
    }
    # Issue 7: the routers' overhead in a multipath block (bench/mp_routing), setting a.
    if (nr) {
        print ""
        printf "multipath routing overhead (block {n,C,14,14}, batch 128, 1 thread, setting a, " \
               "medians of %s): router ms (share of the block's forward)\n", rreps
        for (k = 1; k <= nr; k++) {
            split(rorder[k], pw, " ")
            line = sprintf("  n=%s C=%-3s", pw[1], pw[2])
            nrt = split(rrouters[rorder[k]], rt, " ")
            for (j = 1; j <= nrt; j++)
                line = line sprintf("  %s %.3f (%.1f%%)", rt[j], rms[rorder[k], rt[j]],
                                    100 * rshare[rorder[k], rt[j]])
            print line
        }
        bad = ""; have = 0; detail = ""
        for (k = 1; k <= nr; k++) {
            split(rorder[k], pw, " ")
            f = rms[rorder[k], "fdcc"]; c = rms[rorder[k], "cross_pred(conv)"]
            if (pw[1] != 4 || f == "" || c == "") continue
            have = 1
            detail = detail sprintf(" C=%s %.3f vs %.3f ms;", pw[2], f, c)
            if (f + 0 >= c + 0) bad = bad " C=" pw[2]
        }
        printf "targets a: fdcc router cheaper than cross_prediction's (conv predictor) at " \
               "n=4: %s%s\n", have ? (bad == "" ? "met" : "NOT met at" bad) : "not measured",
               have ? " (" substr(detail, 2, length(detail) - 2) ")" : ""
    }
    if (nacc["modlab"] || nacc["torch"]) {
        print ""
        ma = nacc["modlab"] ? acc["modlab"] / nacc["modlab"] : 0
        ta = nacc["torch"] ? acc["torch"] / nacc["torch"] : 0
        printf "accuracy (MLP, 10 epochs, test set): modlab%s (mean %.4f), torch%s (mean " \
               "%.4f): difference %.2f points, within 0.5: %s\n", accs["modlab"], ma,
               accs["torch"], ta, 100 * (ma - ta),
               verdict((ma - ta) < 0.005 && (ta - ma) < 0.005, ma && ta)
    }
}
function rss(s, side, m,    a, b) {
    a = val[s, side, m, 1, "rss_kb"] + 0; b = val[s, side, m, 2, "rss_kb"] + 0
    return (a > b ? a : b) / 1024
}
