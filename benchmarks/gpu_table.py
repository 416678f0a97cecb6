#!/usr/bin/env python3
"""The table of benchmarks/gpu_run.sh: gpu_bench against PyTorch.

    gpu_table.py THJIT.jsonl TORCH.jsonl

Reads the JSON lines of gpu_bench --json and gpu_peers.py --json (one object
per workload and size per round; other lines are skipped) and prints a
Markdown table of the ratios the GPU targets are about:

  element-wise  thjit's bandwidth (bytes read + written per second) as a
                fraction of cuMemcpyDtoD's in the same process: >= 0.8
  gemm_f32      thjit's TFLOP/s over torch.matmul's (TF32 off): >= 0.5
  gemm_f16      the same in float16 (tensor cores): >= 0.7
  mlp           thjit's examples/s over PyTorch eager's: >= 1.5 at
                minibatch 60 (1024: no target)

With several rounds, each ratio is taken within a round (the i-th record of
a workload of one program with the i-th of the other) and the table shows
the median over rounds. A row whose correctness check failed says so; its
numbers are shown but its target is not counted as met.
"""
import json
import statistics
import sys

TARGETS = {  # (workload, size or None): (what, minimum)
    ("f1", None): 0.8, ("f2", None): 0.8, ("f3", None): 0.8, ("f4", None): 0.8,
    ("gemm_f32", None): 0.5, ("gemm_f16", None): 0.7, ("mlp", 60): 1.5,
}
ORDER = ["copy", "f1", "f2", "f3", "f4", "gemm_f32", "gemm_f16", "mlp"]


def read(path):
    records, device = {}, None
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line.startswith("{"):
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    continue
                if obj.get("workload") == "device":
                    device = device or obj
                    continue
                records.setdefault((obj["workload"], obj["size"]), []).append(obj)
    except FileNotFoundError:
        pass
    return records, device


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, spec="%.3g"):
    return "-" if x is None else spec % x


def fmt_time(s):
    if s is None:
        return "-"
    if s < 1e-3:
        return "%.1f us" % (s * 1e6)
    if s < 1:
        return "%.3f ms" % (s * 1e3)
    return "%.3f s" % s


def size_text(n):
    if n >= 1000000 and n % 1000000 == 0:
        p = len(str(n)) - 1
        if n == 10**p:
            return "1e%d" % p
    return str(n)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    ours, our_dev = read(argv[1])
    theirs, their_dev = read(argv[2])
    if our_dev:
        print("thjit: %s%s" % (our_dev.get("report", "").strip().replace("\n", "; "),
                               " (EMULATED: times mean nothing)" if our_dev.get("emulated") else ""))
        print("thjit build: %s, LLVM %s; sizes %s, %s reps of >= %s ms, seed %s"
              % (our_dev.get("build_type"), our_dev.get("llvm"), our_dev.get("sizes"),
                 our_dev.get("reps"), our_dev.get("min_ms"), our_dev.get("seed")))
    else:
        print("thjit: no results")
    if their_dev:
        print("PyTorch %s (CUDA %s) on %s; seed %s"
              % (their_dev.get("torch"), their_dev.get("cuda"), their_dev.get("name"),
                 their_dev.get("seed")))
    else:
        print("PyTorch: no results")
    print()

    keys = sorted(set(ours) | set(theirs),
                  key=lambda k: (ORDER.index(k[0]) if k[0] in ORDER else 99, k[1]))
    print("| workload | size | thjit | PyTorch | ratio | target | verdict | checks |")
    print("|---|---|---|---|---|---|---|---|")
    met = missed = none = 0
    for key in keys:
        w, n = key
        a, b = ours.get(key, []), theirs.get(key, [])
        rounds = max(len(a), len(b))
        pairs = [(a[i] if i < len(a) else None, b[i] if i < len(b) else None)
                 for i in range(rounds)]
        checks = []
        if a and not all(r.get("ok") for r in a):
            checks.append("thjit FAILED")
        if b and not all(r.get("ok") for r in b):
            checks.append("PyTorch FAILED")
        if not a:
            checks.append("no thjit result")
        if not b:
            checks.append("no PyTorch result")
        check_text = ", ".join(checks) or "ok"
        ratio, ratio_name, ours_text, theirs_text = None, "", "-", "-"

        def t(r, v):
            return r and r.get("times", {}).get(v)

        if w == "copy":
            ours_text = "cuMemcpyDtoD %s GB/s" % fmt(med(r.get("gbps") for r in a), "%.4g")
            theirs_text = "copy_ %s GB/s" % fmt(med(r.get("gbps") for r in b), "%.4g")
        elif w in ("f1", "f2", "f3", "f4"):
            frac = med(r.get("fraction_of_copy") for r in a)
            ours_text = "%s, %s GB/s = %s of copy" % (
                fmt_time(med(t(r, "thjit") for r in a)),
                fmt(med(r.get("gbps") for r in a), "%.4g"), fmt(frac, "%.2f"))
            parts = []
            for v, name in (("torch", "eager"), ("torch_compile", "compile")):
                times = [t(r, v) for r in b]
                if any(x is not None for x in times):
                    fr = med(r.get("fraction_of_copy", {}).get(v) for r in b)
                    speed = med(t(x, v) / t(y, "thjit") for y, x in pairs
                                if t(x, v) and t(y, "thjit"))
                    parts.append("%s %s (%s of its copy; thjit %sx)" % (
                        name, fmt_time(med(times)), fmt(fr, "%.2f"), fmt(speed, "%.2f")))
                elif v == "torch_compile" and b:
                    err = b[0].get("torch_compile_error")
                    parts.append("compile: " + (err[:60] if err else "no result"))
            theirs_text = "; ".join(parts) or "-"
            ratio, ratio_name = frac, "thjit / copy BW"
        elif w in ("gemm_f32", "gemm_f16"):
            ours_text = "%s, %s TFLOP/s" % (fmt_time(med(t(r, "thjit") for r in a)),
                                            fmt(med(r.get("tflops") for r in a), "%.1f"))
            theirs_text = "matmul %s, %s TFLOP/s" % (fmt_time(med(t(r, "torch") for r in b)),
                                                     fmt(med(r.get("tflops") for r in b), "%.1f"))
            ratio = med(t(y, "torch") / t(x, "thjit") for x, y in pairs
                        if t(x, "thjit") and t(y, "torch"))
            ratio_name = "thjit / torch TFLOP/s"
        elif w == "mlp":
            ours_text = "%s, %s ex/s" % (fmt_time(med(t(r, "thjit") for r in a)),
                                         fmt(med(r.get("examples_per_s") for r in a), "%.4g"))
            eager = med(t(r, "torch") for r in b)
            sync = med(t(r, "torch_sync") for r in b)
            theirs_text = "eager %s, %s ex/s (with .item() per step: %s ex/s)" % (
                fmt_time(eager), fmt(n / eager if eager else None, "%.4g"),
                fmt(n / sync if sync else None, "%.4g"))
            ratio = med(t(y, "torch") / t(x, "thjit") for x, y in pairs
                        if t(x, "thjit") and t(y, "torch"))
            ratio_name = "thjit / eager examples/s"
        target = TARGETS.get((w, n), TARGETS.get((w, None)))
        if target is None:
            verdict = ""
        elif ratio is None:
            verdict, none = "no result", none + 1
        elif ratio >= target and check_text == "ok":
            verdict, met = "met", met + 1
        else:
            verdict, missed = "**missed**" if ratio < target else "**check failed**", missed + 1
        print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            w, size_text(n), ours_text, theirs_text,
            "-" if ratio is None else "%.2f (%s)" % (ratio, ratio_name),
            "" if target is None else ">= %g" % target, verdict, check_text))
    print()
    print("Targets: %d met, %d missed, %d without a result." % (met, missed, none))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
