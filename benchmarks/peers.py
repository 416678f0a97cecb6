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

Training steps (train_lr, train_mlp, train_mlp32; N is the minibatch):
  numpy         the step with its gradient derived by hand, as a NumPy user
                writes it (updates in place)
  torch         PyTorch eager on the CPU: the cost as written, its gradient
                by autograd, SGD updates under no_grad (when python3-torch
                is installed)
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

try:
    import torch
except ImportError:  # run.sh says so and leaves the column out
    torch = None

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
    elif w == "train_lr":
        v.update(train_lr(n))
    elif w in ("train_mlp", "train_mlp32"):
        v.update(train_mlp(n, np.float64 if w == "train_mlp" else np.float32))
    else:
        raise SystemExit("peers.py: unknown workload " + w)
    return v


def train_lr(n, feats=784):
    """The paper's logistic regression step (cpu_jit_bench's train_lr)."""
    X = uniform(n * feats, -1, 1, 31, np.float64).reshape(n, feats)
    Y = (np.arange(n) * 7919 % 3 == 0).astype(np.float64)
    w0 = uniform(feats, -0.01, 0.01, 32, np.float64)
    v = {}
    w, b = w0.copy(), np.zeros(1)

    def numpy_step():
        p = 1 / (1 + np.exp(-(X @ w) - b[0]))
        pred = p > 0.5
        xent = -Y * np.log(p) - (1 - Y) * np.log(1 - p)
        d = (p - Y) / n
        w[:] -= 0.1 * (X.T @ d + 0.02 * w)
        b[0] -= 0.1 * d.sum()
        return pred, xent
    v["numpy"] = numpy_step
    if torch is not None:
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        wt = torch.tensor(w0, requires_grad=True)
        bt = torch.zeros((), dtype=torch.float64, requires_grad=True)

        def torch_step():
            p = 1 / (1 + torch.exp(-(Xt @ wt) - bt))
            xent = -Yt * torch.log(p) - (1 - Yt) * torch.log(1 - p)
            cost = xent.mean() + 0.01 * (wt ** 2).sum()
            gw, gb = torch.autograd.grad(cost, [wt, bt])
            with torch.no_grad():
                wt.sub_(0.1 * gw)
                bt.sub_(0.1 * gb)
            return p > 0.5, xent.detach()
        v["torch"] = torch_step
    return v


def train_mlp(batch, dtype, n_in=784, n_hid=500, n_out=10, lr=0.01):
    """Figure 5's MLP step on a minibatch sliced by index (cpu_jit_bench's
    train_mlp)."""
    batches = max(2, 6000 // batch)
    n = batch * batches
    X = uniform(n * n_in, 0, 1, 41, dtype).reshape(n, n_in)
    labels = np.arange(n) * 7919 % n_out
    Y = np.zeros((n, n_out), dtype)
    Y[np.arange(n), labels] = 1
    r1, r2 = np.sqrt(6.0 / (n_in + n_hid)), np.sqrt(6.0 / (n_hid + n_out))
    W10 = uniform(n_in * n_hid, -r1, r1, 42, dtype).reshape(n_in, n_hid)
    W20 = uniform(n_hid * n_out, -r2, r2, 43, dtype).reshape(n_hid, n_out)
    v = {}
    W1, b1 = W10.copy(), np.zeros(n_hid, dtype)
    W2, b2 = W20.copy(), np.zeros(n_out, dtype)
    counter = [0, 0]

    def numpy_step():
        i = counter[0] % batches
        counter[0] += 1
        x, y = X[i * batch:(i + 1) * batch], Y[i * batch:(i + 1) * batch]
        h = np.tanh(x @ W1 + b1)
        z = h @ W2 + b2
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        cost = -(y * logp).sum(axis=1).mean()
        dz = (np.exp(logp) - y) / batch
        dh = (dz @ W2.T) * (1 - h * h)
        W2[:] -= lr * (h.T @ dz)
        b2[:] -= lr * dz.sum(axis=0)
        W1[:] -= lr * (x.T @ dh)
        b1[:] -= lr * dh.sum(axis=0)
        return cost
    v["numpy"] = numpy_step
    if torch is not None:
        Xt, Lt = torch.from_numpy(X), torch.from_numpy(labels)
        params = [torch.tensor(W10, requires_grad=True),
                  torch.zeros(n_hid, dtype=Xt.dtype, requires_grad=True),
                  torch.tensor(W20, requires_grad=True),
                  torch.zeros(n_out, dtype=Xt.dtype, requires_grad=True)]

        def torch_step():
            i = counter[1] % batches
            counter[1] += 1
            x, t = Xt[i * batch:(i + 1) * batch], Lt[i * batch:(i + 1) * batch]
            W1t, b1t, W2t, b2t = params
            z = torch.tanh(x @ W1t + b1t) @ W2t + b2t
            cost = torch.nn.functional.cross_entropy(z, t)
            grads = torch.autograd.grad(cost, params)
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p.sub_(lr * g)
            return cost.item()
        v["torch"] = torch_step
    return v


def info():
    print(json.dumps({
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "numexpr": ne.__version__ if ne is not None else None,
        "torch": torch.__version__ if torch is not None else None,
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
    if torch is not None:
        # Debian's torch does its products through OpenBLAS (BLAS_INFO=
        # generic), which runs them on all the threads: torch's own pool
        # of as many threads only fights it (5-10x slower on 2 cores).
        torch.set_num_threads(1)
    variants = workload_variants(args.workload, args.size)
    times, iters = measure(variants, max(1, args.reps), args.min_ms / 1000.0)
    print(json.dumps({"workload": args.workload, "size": args.size,
                      "threads": args.threads, "times": times,
                      "iters": iters}))


if __name__ == "__main__":
    main()
