#!/usr/bin/python3
"""NumPy and numexpr peers of cpu_jit_bench (run with /usr/bin/python3).

    peers.py --info
    peers.py --workload W --size N [--reps R] [--min-ms M] [--threads T]

Times one workload at one size and prints one JSON object of median seconds
per call, in the same shape as cpu_jit_bench's. Each variant is warmed up,
then timed R times (round robin) over enough calls to last M ms, so Python's
start-up and imports never count.

Variants:
  numpy         the expression as NumPy code (temporaries and a new result
                array on every call)
  numexpr       numexpr.evaluate(expr, out=preallocated), with T threads: the
                strictest numexpr (no allocation of the result per call)
  numexpr_alloc numexpr.evaluate(expr), a new result per call (informational)
"""
import argparse
import json
import sys
import time

import numpy as np

try:
    import numexpr as ne
except ImportError:  # run.sh says so and leaves the column out
    ne = None

FORMULAS = {
    "f1": "a**2 + b**2 + 2*a*b",
    "f2": "2*a + 3*b",
    "f3": "a + 1",
    "f4": "2*a + b**10",
}


def uniform(n, lo, hi, seed, dtype):
    return np.random.default_rng(seed).uniform(lo, hi, n).astype(dtype)


def calibrate(fn, min_sec):
    fn()
    fn()
    iters = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(iters):
            fn()
        t = time.perf_counter() - t0
        if t >= min_sec or iters >= 1 << 40:
            return iters
        factor = 1.3 * min_sec / t if t > 0 else 100
        iters = max(iters * 2, int(iters * min(factor, 100.0)) + 1)


def measure(variants, reps, min_sec):
    iters = {k: calibrate(fn, min_sec) for k, fn in variants.items()}
    samples = {k: [] for k in variants}
    for _ in range(reps):
        for k, fn in variants.items():
            n = iters[k]
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            samples[k].append((time.perf_counter() - t0) / n)
    times = {k: float(np.median(v)) for k, v in samples.items()}
    return times, iters


def workload_variants(w, n):
    v = {}
    if w in FORMULAS:
        a = uniform(n, 0.5, 1.5, 1, np.float64)
        b = uniform(n, 0.5, 1.5, 2, np.float64)
        out = np.empty_like(a)
        if w == "f1":
            v["numpy"] = lambda: a**2 + b**2 + 2*a*b
        elif w == "f2":
            v["numpy"] = lambda: 2*a + 3*b
        elif w == "f3":
            v["numpy"] = lambda: a + 1
        else:
            v["numpy"] = lambda: 2*a + b**10
        if ne is not None:
            expr = FORMULAS[w]
            env = {"a": a, "b": b}
            v["numexpr"] = lambda: ne.evaluate(expr, local_dict=env, out=out)
            v["numexpr_alloc"] = lambda: ne.evaluate(expr, local_dict=env)
    elif w in ("exp", "tanh"):
        x = uniform(n, -4, 4, 5, np.float32)
        fn = np.exp if w == "exp" else np.tanh
        out = np.empty_like(x)
        v["numpy"] = lambda: fn(x)
        if ne is not None:
            expr = w + "(x)"
            env = {"x": x}
            v["numexpr"] = lambda: ne.evaluate(expr, local_dict=env, out=out)
    elif w == "sum":
        x = uniform(n, 0, 1, 6, np.float64)
        v["numpy"] = lambda: np.sum(x)
    elif w == "dot":
        a = uniform(n * n, -1, 1, 7, np.float64).reshape(n, n)
        b = uniform(n * n, -1, 1, 8, np.float64).reshape(n, n)
        v["numpy"] = lambda: np.dot(a, b)
    else:
        raise SystemExit("peers.py: unknown workload " + w)
    return v


def info():
    print(json.dumps({
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numexpr": ne.__version__ if ne is not None else None,
    }))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--info", action="store_true")
    p.add_argument("--workload")
    p.add_argument("--size", type=int)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--min-ms", type=float, default=20)
    p.add_argument("--threads", type=int, default=0)
    args = p.parse_args()
    if args.info:
        info()
        return
    if ne is not None and args.threads > 0:
        ne.set_num_threads(args.threads)
    variants = workload_variants(args.workload, args.size)
    times, iters = measure(variants, max(1, args.reps), args.min_ms / 1000.0)
    print(json.dumps({"workload": args.workload, "size": args.size,
                      "threads": args.threads, "times": times,
                      "iters": iters}))


if __name__ == "__main__":
    main()
