#!/usr/bin/python3
"""Runs cpu_jit_bench and peers.py interleaved and prints the results table.

benchmarks/run.sh builds the benchmark and calls this; see it for usage.

For every workload and size, each round runs the C++ program (thjit and the
C baselines) and the Python peers (NumPy, numexpr) one after the other,
alternating which goes first. Each process times many calls itself after a
warm-up and reports medians, so process start-up never counts. Ratios are
computed within a round (the processes ran seconds apart) and the table
shows the median over rounds, so slow drift of this shared machine cancels.
"""
import argparse
import csv
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from plots import FORMULAS, draw

HERE = os.path.dirname(os.path.abspath(__file__))


def run_json(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit("failed: " + " ".join(cmd))
    if p.stderr.strip():
        sys.stderr.write(p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def machine_info(bench_info, peer_info):
    model, cores = platform.processor(), os.cpu_count()
    lscpu = {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            k, _, v = line.partition(":")
            lscpu[k.strip()] = v.strip()
        model = lscpu.get("Model name", model)
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = "%.0f GiB" % (kb / 2**20)
    except (OSError, ValueError, IndexError):
        pass
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    fl = line.split(":")[1].split()
                    flags = " ".join(x for x in ("avx2", "fma", "avx512f")
                                     if x in fl)
                    break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": model,
        "llvm_cpu": bench_info["jit_target"].split()[1]
        if len(bench_info["jit_target"].split()) > 1 else "",
        "l3": lscpu.get("L3 cache", ""),
        "hypervisor": lscpu.get("Hypervisor vendor", ""),
        "logical_cpus": cores,
        "memory": mem,
        "cpu_flags": flags,
        "kernel": platform.release(),
        "thjit_threads": bench_info["threads"],
        "THJIT_NUM_THREADS": os.environ.get("THJIT_NUM_THREADS", "(unset)"),
        "cxx_compiler": bench_info["cxx_compiler"],
        "build_type": bench_info["build_type"],
        "llvm": bench_info["llvm"],
        "jit_target": bench_info["jit_target"],
        "openblas": bench_info["openblas"],
        "have_fuse": bench_info["have_fuse"],
        "python": peer_info["python"],
        "numpy": peer_info["numpy"],
        "numexpr": peer_info["numexpr"],
    }


# ---- the measurement plan ---------------------------------------------------

def plan(args):
    sizes = [1000, 1000000] if args.quick else \
        [1000, 10000, 100000, 1000000, 10000000]
    items = []
    for w in ("f1", "f2", "f3", "f4"):
        for n in sizes:
            items.append((w, n))
    items.append(("f3", 1))  # call overhead: one element
    items += [("exp", 10000000), ("tanh", 10000000), ("sum", 10000000),
              ("dot", 1000)]
    if args.only:
        items = [it for it in items if it[0] in args.only]
    return items


TRAINING = {
    "train_lr": "logistic regression step, 784 features, float64",
    "train_mlp": "MLP 784-500-10 step, float64",
    "train_mlp32": "MLP 784-500-10 step, float32",
}


def training_plan(args):
    if args.quick:
        items = [("train_lr", 60), ("train_mlp", 60), ("train_mlp32", 60)]
    else:
        items = [("train_lr", n) for n in (1, 60, 400, 4000)] + \
            [("train_mlp", 1), ("train_mlp", 60), ("train_mlp32", 1), ("train_mlp32", 60)]
    if args.only:
        items = [it for it in items if it[0] in args.only]
    return items


def step_flops(w, n):
    """Floating-point operations of one step: its products (2 per multiply-
    add); the element-wise work is a few per example and left out."""
    if w == "train_lr":  # X w, then X^T d
        return 2 * 2 * n * 784
    # forward X W1 and H W2; backward dW2 = H^T dZ, dH = dZ W2^T, dW1 = X^T dA
    return 2 * n * (784 * 500 + 500 * 10) + 2 * n * (500 * 10 * 2 + 784 * 500)


def evaluate_training(w, n, rounds, limits):
    t = {k: median([rd["times"].get(k) for rd in rounds])
         for k in rounds[0]["times"]}
    row = {"workload": w, "size": n, "times": t, "checks": {
        k: v for k, v in rounds[0]["extra"].items() if k.startswith("max_rel_diff")}}

    def vs(peer):
        return per_round(rounds, lambda T, E: T[peer] / T["thjit"]) \
            if peer in t else None
    for peer in ("thjit_fused", "hand", "numpy", "torch"):
        row["vs_" + peer] = vs(peer)
    row["examples_per_s"] = n / t["thjit"]
    row["gflops"] = step_flops(w, n) / t["thjit"] / 1e9
    peak = limits.get("sgemm_gflops" if w.endswith("32") else "dgemm_gflops")
    row["pct_gemm_peak"] = 100 * row["gflops"] / peak if peak else None
    if w == "train_lr":  # reads X twice: bound by memory, not arithmetic
        gbs = 2 * 8 * n * 784 / t["thjit"] / 1e9
        row["pct_triad"] = 100 * gbs / limits["triad_gbs"] if limits.get("triad_gbs") else None
    targets = [("as fast as fused by hand (>= 0.9)", row["vs_thjit_fused"],
                row["vs_thjit_fused"] >= 0.9)]
    if w.startswith("train_mlp") and n == 60:
        targets.append((">= 2x NumPy", row["vs_numpy"], row["vs_numpy"] >= 2))
        if row["vs_torch"] is not None:
            targets.append((">= 1.5x PyTorch", row["vs_torch"], row["vs_torch"] >= 1.5))
        targets.append((">= 90% of hand C++", row["vs_hand"], row["vs_hand"] >= 0.9))
    row["targets"] = targets
    return row


def measure_item(args, env, w, n):
    """Rounds of (C++, Python) in alternating order: per-round merged times."""
    rounds = []
    for r in range(args.rounds):
        cpp = [args.bench, "--workload", w, "--size", str(n), "--reps",
               str(args.reps), "--min-ms", str(args.min_ms)]
        py = ["/usr/bin/python3", os.path.join(HERE, "peers.py"),
              "--workload", w, "--size", str(n), "--reps", str(args.reps),
              "--min-ms", str(args.min_ms), "--threads", str(args.threads)]
        order = [cpp, py] if r % 2 == 0 else [py, cpp]
        merged, extra = {}, {}
        for cmd in order:
            res = run_json(cmd, env)
            merged.update(res["times"])
            for k, v in res.items():
                if k not in ("times", "iters", "workload", "size", "threads"):
                    extra[k] = v
        rounds.append({"times": merged, "extra": extra})
    return rounds


def measure_cpp(args, env, w, n):
    """Rounds of the C++ program alone (workloads without Python peers)."""
    rounds = []
    for r in range(args.rounds):
        res = run_json([args.bench, "--workload", w, "--size", str(n), "--reps",
                        str(args.reps), "--min-ms", str(args.min_ms)], env)
        rounds.append({"times": res["times"], "extra": {
            k: v for k, v in res.items()
            if k not in ("times", "iters", "workload", "size", "threads")}})
    return rounds


def evaluate_limits(n, rounds):
    """The machine, measured in this run: what the other rows are held against."""
    row = {"workload": "limits", "size": n, "targets": [], "times": {
        k: median([rd["times"][k] for rd in rounds]) for k in rounds[0]["times"]}}
    for k in ("triad_gbs", "triad_1t_gbs", "dgemm_gflops", "sgemm_gflops", "gemm_order"):
        row[k] = median([rd["extra"].get(k) for rd in rounds])
    return row


def evaluate_call(n, rounds):
    t = {k: median([rd["times"][k] for rd in rounds]) for k in rounds[0]["times"]}
    row = {"workload": "call", "size": n, "times": t, "checks": {
        "max_rel_diff": rounds[0]["extra"].get("max_rel_diff")}}
    row["targets"] = [("call overhead < 1 us", t["thjit"], t["thjit"] < 1e-6)]
    return row


def measure_first_result(args, env):
    """Per round, in a fresh compile cache: the seconds from starting `thjit
    first_result.th` (the logistic regression built, compiled and called
    once) to its exit, once with the cache empty and once with it filled."""
    thjit = os.path.join(os.path.dirname(args.bench), "thjit")
    script = os.path.join(HERE, "first_result.th")
    rounds = []
    for r in range(args.compile_rounds):
        d = tempfile.mkdtemp(prefix="thjit-bench-cache-")
        times = {}
        for name in ("cold", "warm"):
            t0 = time.perf_counter()
            p = subprocess.run([thjit, script], capture_output=True, text=True,
                               env=dict(env, THJIT_CACHE_DIR=d))
            times[name] = time.perf_counter() - t0
            if p.returncode != 0 or "first cost" not in p.stdout:
                sys.stderr.write(p.stdout + p.stderr)
                raise SystemExit("failed: %s %s" % (thjit, script))
        shutil.rmtree(d, ignore_errors=True)
        rounds.append(times)
    return {"workload": "first_result", "size": 400, "targets": [], "times": {
        k: median([r[k] for r in rounds]) for k in ("cold", "warm")}}


def measure_compile(args, env, length):
    """Per round: a fresh cache directory; process A compiles the chain (the
    first compile is a miss: the compile time; the second, in-process, a
    hit), then process B compiles it again (a cache hit in a new process)."""
    rounds = []
    for r in range(args.compile_rounds):
        d = tempfile.mkdtemp(prefix="thjit-bench-cache-")
        e = dict(env, THJIT_CACHE_DIR=d)
        cmd = [args.bench, "--workload", "compile", "--size", str(length)]
        a = run_json(cmd, e)
        b = run_json(cmd, e)
        shutil.rmtree(d, ignore_errors=True)
        rounds.append({"miss": a, "hit": b})
    return rounds


def measure_compile_scaling(args, env, size):
    """Per round, in a fresh cache directory: one process compiles a chain of
    `size` element-wise ops and an MLP training step of about `size` nodes."""
    rounds = []
    for r in range(args.compile_rounds):
        d = tempfile.mkdtemp(prefix="thjit-bench-cache-")
        rounds.append(run_json([args.bench, "--workload", "compile_scaling",
                                "--size", str(size)], dict(env, THJIT_CACHE_DIR=d)))
        shutil.rmtree(d, ignore_errors=True)
    return rounds


def evaluate_compile_scaling(size, rounds):
    row = {"workload": "compile_scaling", "size": size, "targets": []}
    for g in ("chain", "mlp"):
        row[g] = {k: median([r[g + "_" + k] for r in rounds])
                  for k in ("nodes", "compile_s", "passes_s", "us_per_node")}
    if size >= 10000:
        for g in ("chain", "mlp"):
            t = row[g]["compile_s"]
            row["targets"].append(("%s of %d nodes compiles in < 10 s" % (
                g, row[g]["nodes"]), t, t < 10))
    return row


# ---- evaluation -------------------------------------------------------------

def per_round(rounds, fn):
    vals = []
    for rd in rounds:
        try:
            v = fn(rd["times"], rd["extra"])
        except (KeyError, TypeError, ZeroDivisionError):
            v = None
        vals.append(v)
    return median(vals)


def evaluate(w, n, rounds, have_numexpr, limits):
    """One table row: medians, ratios and the verdict of the targets."""
    t = {k: median([rd["times"].get(k) for rd in rounds])
         for k in rounds[0]["times"]}
    extra = rounds[0]["extra"]
    row = {"workload": w, "size": n, "times": t, "checks": {
        k: v for k, v in extra.items() if k.startswith("max_rel_diff")}}
    targets = []
    if w in FORMULAS:
        # The graph as the user wrote it: function() fuses it (issue 5's
        # target is that it is as fast as fusing by hand).
        best = "thjit"
        row["thjit_variant"] = best
        if "thjit_fused" in t:
            row["vs_fused"] = per_round(rounds, lambda T, E: T["thjit_fused"] / T["thjit"])
            if n >= 1000:
                targets.append(("as fast as fused by hand (>= 0.9)", row["vs_fused"],
                                row["vs_fused"] >= 0.9))
        bpe = extra.get("bytes_per_element", 24)
        row["vs_numpy"] = per_round(rounds, lambda T, E: T["numpy"] / T[best])
        row["vs_numexpr"] = per_round(rounds, lambda T, E: T["numexpr"] / T[best]) \
            if have_numexpr else None
        row["vs_numexpr_alloc"] = per_round(
            rounds, lambda T, E: T["numexpr_alloc"] / T[best]) if have_numexpr else None
        row["vs_numpy_unfused"] = per_round(rounds, lambda T, E: T["numpy"] / T["thjit"])
        row["bw_pct_triad"] = per_round(
            rounds, lambda T, E: 100 * bpe * T["triad"] / (24 * T[best]))
        row["gbs"] = bpe * n / t[best] / 1e9
        row["triad_gbs"] = 24 * n / t["triad"] / 1e9
        row["excess_over_c_us"] = per_round(
            rounds, lambda T, E: (T[best] - T["c_1t"]) * 1e6)
        if n == 1:
            targets.append(("call overhead < 1 us (thjit - C call, 1 element)",
                            row["excess_over_c_us"], row["excess_over_c_us"] < 1.0))
        if n == 1000:
            targets.append(("faster than NumPy", row["vs_numpy"], row["vs_numpy"] > 1))
        if n >= 1000000:
            if have_numexpr:
                targets.append((">= 2x numexpr", row["vs_numexpr"], row["vs_numexpr"] >= 2))
            targets.append((">= 85% of triad bandwidth", row["bw_pct_triad"],
                            row["bw_pct_triad"] >= 85))
    elif w in ("exp", "tanh"):
        row["vs_libm_1t"] = per_round(rounds, lambda T, E: T["libm_1t"] / T["thjit"])
        row["vs_libm_mt"] = per_round(rounds, lambda T, E: T["libm_mt"] / T["thjit"])
        row["vs_numpy"] = per_round(rounds, lambda T, E: T["numpy"] / T["thjit"])
        if have_numexpr:
            row["vs_numexpr"] = per_round(rounds, lambda T, E: T["numexpr"] / T["thjit"])
        targets.append((">= 4x scalar libm loop", row["vs_libm_1t"], row["vs_libm_1t"] >= 4))
    elif w == "sum":
        row["bw_pct_triad"] = per_round(
            rounds, lambda T, E: 100 * 8 * T["triad"] / (24 * T["thjit"]))
        row["gbs"] = 8 * n / t["thjit"] / 1e9
        row["triad_gbs"] = 24 * n / t["triad"] / 1e9
        row["vs_numpy"] = per_round(rounds, lambda T, E: T["numpy"] / T["thjit"])
        row["vs_csum"] = per_round(rounds, lambda T, E: T["csum"] / T["thjit"])
        targets.append((">= 85% of triad bandwidth", row["bw_pct_triad"],
                        row["bw_pct_triad"] >= 85))
    elif w == "dot":
        row["thjit_over_cblas"] = per_round(rounds, lambda T, E: T["thjit"] / T["cblas"])
        row["vs_numpy"] = per_round(rounds, lambda T, E: T["numpy"] / T["thjit"])
        row["gflops"] = 2.0 * n**3 / t["thjit"] / 1e9
        peak = limits.get("dgemm_gflops")
        row["pct_gemm_peak"] = 100 * row["gflops"] / peak if peak else None
        targets.append(("within 5% of cblas", row["thjit_over_cblas"],
                        row["thjit_over_cblas"] <= 1.05))
    row["targets"] = targets
    return row


def evaluate_compile(length, rounds):
    def med(proc, key):
        return median([r[proc].get(key) for r in rounds])

    row = {"workload": "compile", "size": length, "checks": {
        k: v for k, v in rounds[0]["miss"].items() if k.startswith("max_rel_diff")}}
    targets = []
    for name, label in (("compile_fused", "fused by hand: one composite node"),
                        ("compile", "unfused: one loop per op")):
        if name + "_first_s" not in rounds[0]["miss"]:
            continue
        miss = med("miss", name + "_first_s")
        hit = med("hit", name + "_first_s")
        hits = sum(r["hit"].get(name + "_first_cache_hits", 0) for r in rounds)
        row[name] = {
            "compile_s": miss,
            "again_in_process_s": med("miss", name + "_again_s"),
            "new_process_hit_s": hit,
            "new_process_cache_hits": hits,
        }
        mine = [("compile < 1 s (%s)" % label, miss, miss < 1.0),
                ("cache hit in a new process < 10 ms (%s)%s" % (
                    label, "" if hits else ": no hit counted"), hit,
                 hits > 0 and hit < 0.010)]
        row[name]["verdicts"] = "; ".join(
            "%s: %s" % (n.split(" (")[0], "met" if ok else "**missed**")
            for n, _, ok in mine)
        targets += mine
    row["engine_init_s"] = med("miss", "engine_init_s")
    row["engine_init_with_hit_s"] = med("hit", "engine_init_s")
    row["graph_build_s"] = med("miss", "graph_build_s")
    row["targets"] = targets
    return row


# ---- printing ---------------------------------------------------------------

def fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-6:
        return "%.0f ns" % (s * 1e9)
    if s < 1e-3:
        return "%.2f us" % (s * 1e6)
    if s < 1:
        return "%.2f ms" % (s * 1e3)
    return "%.2f s" % s


def fmt_x(v):
    return "-" if v is None else "%.2fx" % v


def fmt_pct(v):
    return "-" if v is None else "%.0f%%" % v


def fmt_size(n):
    for e in range(7, 2, -1):
        if n == 10**e:
            return "1e%d" % e
    return str(n)


def markdown(rows, info):
    L = []
    L.append("Machine: %s (LLVM's host CPU: %s)%s, %s logical CPUs, L3 %s, %s RAM; "
             "%s threads (THJIT_NUM_THREADS=%s); "
             "%s %s, LLVM %s; NumPy %s, numexpr %s; %s." % (
                 info["cpu"], info["llvm_cpu"],
                 " in a %s guest" % info["hypervisor"] if info["hypervisor"] else "",
                 info["logical_cpus"], info["l3"] or "?", info["memory"],
                 info["thjit_threads"], info["THJIT_NUM_THREADS"],
                 info["cxx_compiler"], info["build_type"], info["llvm"],
                 info["numpy"], info["numexpr"] or "(missing)", info["date"]))
    L.append("")
    L.append("Element-wise formulas, float64 (times: median seconds per call; "
             "ratios: peer time / thjit time, so > 1 means thjit is faster):")
    L.append("")
    L.append("| formula | n | thjit | thjit fused | (fused, `**` as products) | "
             "C, 1 thread | triad | NumPy | numexpr (out=) | numexpr | vs NumPy | "
             "vs numexpr (out=) | vs numexpr | % of triad BW | targets |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["workload"] not in FORMULAS:
            continue
        t = r["times"]
        L.append("| `%s` | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            FORMULAS[r["workload"]], fmt_size(r["size"]), fmt_time(t.get("thjit")),
            fmt_time(t.get("thjit_fused")), fmt_time(t.get("thjit_fused_mul")),
            fmt_time(t.get("c_1t")),
            fmt_time(t.get("triad")), fmt_time(t.get("numpy")),
            fmt_time(t.get("numexpr")), fmt_time(t.get("numexpr_alloc")),
            fmt_x(r["vs_numpy"]), fmt_x(r.get("vs_numexpr")),
            fmt_x(r.get("vs_numexpr_alloc")),
            fmt_pct(r["bw_pct_triad"]) if r["size"] >= 1000000 else "-",
            verdicts(r)))
    L.append("")
    L.append("thjit: the graph as written, one loop per op; thjit fused: `fuse(expr)`, "
             "one loop; (fused, `**` as products): informational, `fuse(a*a + b*b + 2*a*b)` "
             "and `fuse(2*a + b8*b2)` with b2 = b*b, b4 = b2*b2, b8 = b4*b4, i.e. what "
             "strength reduction of `**` by a small integer would give; C, 1 thread: "
             "the hand-fused loop called through a function "
             "pointer; triad: `a[i] = b[i] + s*c[i]` on the same number of threads; "
             "numexpr (out=): `ne.evaluate(expr, out=r)`; numexpr: `ne.evaluate(expr)`. "
             "Ratios and verdicts use thjit, the formula as written (function() fuses it); thjit fused is the same formula fused by hand, for comparison. Bandwidth counts "
             "24 bytes per element (16 for `a + 1`), the triad's 24. The 1-element "
             "row measures call overhead: thjit minus the C call.")
    L.append("")
    L.append("Training steps (median time per step; ratios: other time / thjit "
             "time, so > 1 means thjit is faster):")
    L.append("")
    L.append("| step | examples | thjit | thjit fused | hand C++ (OpenBLAS) | "
             "NumPy | PyTorch | vs fused | vs hand | vs NumPy | vs PyTorch | "
             "examples/s | GFLOP/s (% of GEMM peak) | targets |")
    L.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if r["workload"] not in TRAINING:
            continue
        t = r["times"]
        flops = "%.1f (%s)" % (r["gflops"], fmt_pct(r["pct_gemm_peak"]))
        if r.get("pct_triad") is not None:
            flops += "; %s of triad bandwidth" % fmt_pct(r["pct_triad"])
        L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.3g | %s | %s |" % (
            TRAINING[r["workload"]], r["size"], fmt_time(t.get("thjit")),
            fmt_time(t.get("thjit_fused")), fmt_time(t.get("hand")),
            fmt_time(t.get("numpy")), fmt_time(t.get("torch")),
            fmt_x(r["vs_thjit_fused"]), fmt_x(r["vs_hand"]), fmt_x(r["vs_numpy"]),
            fmt_x(r["vs_torch"]), r["examples_per_s"], flops, verdicts(r)))
    L.append("")
    L.append("thjit: the step as a user writes it (`grad` of the cost, SGD "
             "updates); thjit fused: the same step with the gradient derived and "
             "fused by hand (`fuse`, sigmoid/softmax minus the target, gemm "
             "updates); hand C++: the step written in C++ on OpenBLAS (two gemv "
             "for logistic regression; five gemm, scalar tanh/exp loops for the "
             "MLP); NumPy: the step with its gradient derived by hand; PyTorch: "
             "eager on the CPU, the cost as written (`cross_entropy` for the MLP) "
             "and autograd, one intra-op thread (its products run on OpenBLAS's "
             "threads). The MLP slices its minibatch by index from shared data. "
             "GFLOP/s counts the products' FLOPs (2 per multiply-add) over thjit's "
             "time, held against this run's dgemm (float64) or sgemm (float32) "
             "peak; the logistic regression's two matrix-vector products read X "
             "twice and are bound by memory: its bandwidth is held against the "
             "triad's.")
    L.append("")
    L.append("Other workloads:")
    L.append("")
    L.append("| workload | n | thjit | baselines | ratio | targets |")
    L.append("|---|---|---|---|---|---|")
    for r in rows:
        w, t = r["workload"], r.get("times", {})
        if w in ("exp", "tanh"):
            base = "scalar libm %s, libm %d threads %s, NumPy %s, numexpr %s" % (
                fmt_time(t.get("libm_1t")), info["thjit_threads"],
                fmt_time(t.get("libm_mt")), fmt_time(t.get("numpy")),
                fmt_time(t.get("numexpr")))
            ratio = "%s vs scalar libm, %s vs NumPy" % (
                fmt_x(r["vs_libm_1t"]), fmt_x(r["vs_numpy"]))
            name = "%s float32" % w
        elif w == "sum":
            base = "triad %s (%.1f GB/s), C sum %s, NumPy %s" % (
                fmt_time(t.get("triad")), r["triad_gbs"], fmt_time(t.get("csum")),
                fmt_time(t.get("numpy")))
            ratio = "%s of triad BW (%.1f GB/s), %s vs NumPy" % (
                fmt_pct(r["bw_pct_triad"]), r["gbs"], fmt_x(r["vs_numpy"]))
            name = "sum float64"
        elif w == "limits":
            L.append("| machine limits | triad 1e%d, GEMM order %d | - | triad %.1f GB/s "
                     "(%d threads), %.1f GB/s (1 thread); OpenBLAS dgemm %.1f GFLOP/s, "
                     "sgemm %.1f GFLOP/s | - | |" % (
                         len(str(r["size"])) - 1, r["gemm_order"], r["triad_gbs"],
                         info["thjit_threads"], r["triad_1t_gbs"], r["dgemm_gflops"],
                         r["sgemm_gflops"]))
            continue
        elif w == "call":
            base = "C++ function through a pointer %s" % fmt_time(t.get("c_call"))
            ratio = "%s per call" % fmt_time(t.get("thjit"))
            name = "call overhead: f(x, y) = x + y on 0-d float64, calls in a row"
        elif w == "first_result":
            L.append("| process start to first result: `thjit benchmarks/first_result.th` "
                     "(logistic regression, 400 x 784, built, compiled, called once) | "
                     "%d examples | %s | compile cache empty | %s with the cache filled | |" % (
                         r["size"], fmt_time(t["cold"]), fmt_time(t["warm"])))
            continue
        elif w == "dot":
            base = "cblas_dgemm %s, NumPy %s" % (fmt_time(t.get("cblas")),
                                                  fmt_time(t.get("numpy")))
            ratio = "thjit/cblas %.3f (%.1f GFLOP/s, %s of the dgemm peak)" % (
                r["thjit_over_cblas"], r["gflops"], fmt_pct(r["pct_gemm_peak"]))
            name = "dot float64 n x n"
        elif w == "compile":
            for name, label in (("compile_fused", "fused by hand"),
                                ("compile", "unfused")):
                if name not in r:
                    continue
                c = r[name]
                L.append("| compile a chain of n element-wise ops (%s) | %d | %s | "
                         "same graph again in-process %s; LLVM start-up (first compile of a "
                         "process, not counted) %s, or %s when that compile is a cache hit "
                         "| new process, same graph: %s (%d cache hits) | %s |" % (
                             label, r["size"], fmt_time(c["compile_s"]),
                             fmt_time(c["again_in_process_s"]),
                             fmt_time(r["engine_init_s"]),
                             fmt_time(r["engine_init_with_hit_s"]),
                             fmt_time(c["new_process_hit_s"]),
                             c["new_process_cache_hits"], c["verdicts"]))
            continue
        elif w == "compile_scaling":
            for g, label in (("chain", "a chain of element-wise ops"),
                             ("mlp", "an MLP training step (tanh layers of 16, "
                                     "softmax, gradients, SGD updates)")):
                c = r[g]
                L.append("| compile %s | %d nodes | %s | rewrite passes %s | %.0f us per "
                         "node | %s |" % (label, c["nodes"], fmt_time(c["compile_s"]),
                                          fmt_time(c["passes_s"]), c["us_per_node"],
                                          verdicts(r) if g == "mlp" else ""))
            continue
        else:
            continue
        L.append("| %s | %s | %s | %s | %s | %s |" % (
            name, fmt_size(r["size"]), fmt_time(t.get("thjit")), base, ratio,
            verdicts(r)))
    return "\n".join(L) + "\n"


def verdicts(r):
    if not r["targets"]:
        return ""
    return "; ".join("%s: %s" % (name, "met" if ok else "**missed**")
                     for name, _, ok in r["targets"])


def update_docs(md):
    """Replaces the table between the markers of docs/performance.md."""
    doc = os.path.join(HERE, "..", "docs", "performance.md")
    begin, end = "<!-- results:begin -->", "<!-- results:end -->"
    with open(doc) as f:
        text = f.read()
    if begin not in text or end not in text:
        print("warning: no results markers in %s" % doc, file=sys.stderr)
        return
    a, b = text.index(begin) + len(begin), text.index(end)
    with open(doc, "w") as f:
        f.write(text[:a] + "\n" + md.rstrip() + "\n" + text[b:])
    print("updated %s" % os.path.normpath(doc))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bench", required=True, help="path of cpu_jit_bench")
    p.add_argument("--out", required=True, help="folder for results.{csv,json,md}")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: every workload once, briefly (CI runs it)")
    p.add_argument("--rounds", type=int)
    p.add_argument("--reps", type=int)
    p.add_argument("--min-ms", type=float)
    p.add_argument("--only", nargs="*",
                   help="workloads to run (limits f1 ... dot train_lr train_mlp "
                        "train_mlp32 call first_result compile compile_scaling)")
    p.add_argument("--update-docs", action="store_true",
                   help="also put the table into docs/performance.md")
    args = p.parse_args()
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.reps is None:
        args.reps = 1 if args.quick else 5
    if args.min_ms is None:
        args.min_ms = 2 if args.quick else 20
    # An unfused 1000-op chain takes many seconds to compile: fewer rounds.
    args.compile_rounds = 1 if args.quick else min(args.rounds, 2)
    os.makedirs(args.out, exist_ok=True)

    env = dict(os.environ)
    # Keep the compile cache out of $HOME, and fresh for every run.
    cache = os.path.join(os.path.abspath(args.out), "cache")
    shutil.rmtree(cache, ignore_errors=True)
    env.setdefault("THJIT_CACHE_DIR", cache)
    bench_info = run_json([args.bench, "--info"], env)
    peer_info = run_json(["/usr/bin/python3", os.path.join(HERE, "peers.py"), "--info"])
    args.threads = bench_info["threads"]
    have_numexpr = peer_info["numexpr"] is not None
    if not have_numexpr:
        print("note: numexpr is not installed (apt-get install python3-numexpr); "
              "the numexpr column is left out", file=sys.stderr)
    info = machine_info(bench_info, peer_info)
    if not info["have_fuse"]:
        print("note: thjit::fuse is not available; thjit_fused is left out and the "
              "targets are judged on the unfused graphs", file=sys.stderr)

    rows, raw = [], []
    limits = {}
    if not args.only or "limits" in args.only:
        print("... limits", file=sys.stderr, flush=True)
        rounds = measure_cpp(args, env, "limits", 10000000)
        raw.append({"workload": "limits", "size": 10000000, "rounds": rounds})
        rows.append(evaluate_limits(10000000, rounds))
        limits = rows[-1]
    for w, n in plan(args):
        print("... %s n=%s" % (w, n), file=sys.stderr, flush=True)
        rounds = measure_item(args, env, w, n)
        raw.append({"workload": w, "size": n, "rounds": rounds})
        rows.append(evaluate(w, n, rounds, have_numexpr, limits))
    for w, n in training_plan(args):
        print("... %s n=%s" % (w, n), file=sys.stderr, flush=True)
        rounds = measure_item(args, env, w, n)
        raw.append({"workload": w, "size": n, "rounds": rounds})
        rows.append(evaluate_training(w, n, rounds, limits))
    if not args.only or "call" in args.only:
        print("... call n=1000000", file=sys.stderr, flush=True)
        calls = 100000 if args.quick else 1000000
        rounds = measure_cpp(args, env, "call", calls)
        raw.append({"workload": "call", "size": calls, "rounds": rounds})
        rows.append(evaluate_call(calls, rounds))
    if not args.only or "first_result" in args.only:
        print("... first_result", file=sys.stderr, flush=True)
        rows.append(measure_first_result(args, env))
    if not args.only or "compile" in args.only:
        print("... compile n=1000", file=sys.stderr, flush=True)
        rounds = measure_compile(args, env, 1000)
        raw.append({"workload": "compile", "size": 1000, "rounds": rounds})
        rows.append(evaluate_compile(1000, rounds))

    if not args.only or "compile_scaling" in args.only:
        for size in ((100, 1000) if args.quick else (100, 1000, 10000)):
            print("... compile_scaling n=%d" % size, file=sys.stderr, flush=True)
            rounds = measure_compile_scaling(args, env, size)
            raw.append({"workload": "compile_scaling", "size": size, "rounds": rounds})
            rows.append(evaluate_compile_scaling(size, rounds))

    missed = [(r["workload"], r["size"], name) for r in rows
              for name, _, ok in r["targets"] if not ok]
    met = sum(ok for r in rows for _, _, ok in r["targets"])
    md = markdown(rows, info)
    md += "\nTargets: %d met, %d missed.\n" % (met, len(missed))
    print(md)
    bad = [(r["workload"], r["size"], k, v) for r in rows
           for k, v in r.get("checks", {}).items()
           if v is None or v > (1e-3 if r["workload"].endswith("32") else 1e-5)]
    for w, n, k, v in bad:
        print("warning: %s n=%s: %s = %s" % (w, n, k, v), file=sys.stderr)
    if args.update_docs:
        update_docs(md)

    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(md)
    results = {"machine": info, "settings": {
        "rounds": args.rounds, "reps": args.reps, "min_ms": args.min_ms},
        "rows": rows, "raw": raw}
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["workload", "size", "variant", "median_s"])
        for r in rows:
            for k, v in r.get("times", {}).items():
                wr.writerow([r["workload"], r["size"], k, v])
            for name in ("compile", "compile_fused"):
                for k, v in r.get(name, {}).items():
                    if isinstance(v, (int, float)):
                        wr.writerow([r["workload"], r["size"], name + "." + k, v])
    plots = draw(results, args.out)
    if args.update_docs and plots:
        img = os.path.join(HERE, "..", "docs", "img")
        os.makedirs(img, exist_ok=True)
        for path in plots:
            shutil.copy(path, img)
        print("updated %s" % os.path.normpath(img))
    print("results: %s/results.{md,csv,json}%s" % (
        args.out, "".join(", " + os.path.basename(p) for p in plots)))


if __name__ == "__main__":
    main()
