#!/usr/bin/env python3
"""PyTorch peers of gpu_bench: the same workloads on the same CUDA device.

    gpu_peers.py [--sizes full|small] [--only W[,W...]] [--reps R]
                 [--min-ms M] [--warmup K] [--seed S] [--json] [--no-compile]

benchmarks/gpu_run.sh runs it beside gpu_bench (docs/performance.md, "GPU").
It prints one readable line per workload, or with --json one JSON object per
line in gpu_bench's shape: first {"workload": "device", ...}, then
{"workload": W, "size": N, "times": {variant: seconds}, "iters": ...,
"samples": ..., "ok": true, ...}.

Workloads (--only takes these names or the groups elementwise, gemm, mlp):
  copy         dst.copy_(src) of a float32 vector (device to device), the
               bandwidth yardstick: bytes read + written
  f1 f2 f3 f4  the Figure 7 formulas on float32 vectors: PyTorch eager
               (`torch`: one kernel per op, temporaries from the caching
               allocator) and torch.compile (`torch_compile`: Inductor's
               fused Triton kernel) when it works here (else the error is
               reported and the variant left out)
  gemm_f32     A @ B of N x N float32 matrices, TF32 off
               (torch.backends.cuda.matmul.allow_tf32 = False)
  gemm_f16     the same in float16; cuBLAS's reduced-precision reductions
               off, so it accumulates in float32 as thjit does
  mlp          the SGD step of the 784-500-10 MLP (tanh, softmax output,
               cross_entropy) as peers.py's torch variant writes it on the
               CPU: the cost as written, autograd, `p.sub_(lr * g)` under
               no_grad, on a minibatch held in GPU memory. `torch` leaves the
               loss on the device (steps queue up without waiting);
               `torch_sync` reads it each step with .item() as peers.py
               does (informational)

Method (as gpu_bench): fresh random inputs (the seed is printed), a check
against float64 before timing (relative L2 error), warm-up calls, calls per
repetition chosen to last --min-ms, variants timed round robin between two
torch.cuda.Events, medians. Sizes: full (1e8 elements, N = 4096,
minibatches 60 and 1024) or small (1e4, 64, 60 and 1024; one timed call).

Without a CUDA device it exits with status 3 and says why. --cpu runs the
same code on the CPU with a host clock, to test this script on a machine
without a GPU: its numbers mean nothing.
"""
import argparse
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError as e:  # gpu_run.sh reports it
    print("gpu_peers.py: PyTorch is not installed (%s)" % e, file=sys.stderr)
    sys.exit(3)

FORMULAS = {  # benchmarks/peers.py's Figure 7 formulas
    "f1": "a**2 + b**2 + 2*a*b",
    "f2": "2*a + 3*b",
    "f3": "a + 1",
    "f4": "2*a + b**10",
}
INPUTS = {"f1": 2, "f2": 2, "f3": 1, "f4": 2}
GROUPS = {
    "elementwise": ["copy", "f1", "f2", "f3", "f4"],
    "gemm": ["gemm_f32", "gemm_f16"],
    "mlp": ["mlp"],
}
SIZES = {
    "full": {"elements": 100_000_000, "order": 4096, "batches": [60, 1024]},
    "small": {"elements": 10_000, "order": 64, "batches": [60, 1024]},
}
N_IN, N_HID, N_OUT, LR = 784, 500, 10, 0.01

all_ok = True


def f1(a, b):
    return a**2 + b**2 + 2*a*b


def f2(a, b):
    return 2*a + 3*b


def f3(a, b):
    return a + 1


def f4(a, b):
    return 2*a + b**10


FUNCTIONS = {"f1": f1, "f2": f2, "f3": f3, "f4": f4}


# ---- timing ---------------------------------------------------------------------

class Clock:
    """Device time between two points of the current stream: CUDA events,
    or (--cpu) the host's clock."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def time_calls(self, fn, n):
        """Seconds per call over n calls in a row."""
        if self.cuda:
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(n):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1e3 / n
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return (time.perf_counter() - t0) / n


def measure(clock, variants, opts):
    """variants: {name: fn}. Warm-up, calibration to --min-ms, then reps
    round robin. Returns (medians, iters, samples)."""
    iters = {}
    for name, fn in variants.items():
        for _ in range(opts.warmup):
            fn()
        clock.sync()
        n = 1
        for _ in range(20):
            total = clock.time_calls(fn, n) * n
            if total >= opts.min_sec or n >= 1 << 20:
                break
            factor = 1.3 * opts.min_sec / total if total > 0 else 100
            n = max(n * 2, math.ceil(n * min(factor, 100.0)))
        iters[name] = n
    samples = {name: [] for name in variants}
    for _ in range(opts.reps):
        for name, fn in variants.items():
            samples[name].append(clock.time_calls(fn, iters[name]))
    medians = {name: statistics.median(s) for name, s in samples.items()}
    return medians, iters, samples


# ---- reports ----------------------------------------------------------------------

def rel_err(got, ref):
    """||got - ref|| / ||ref|| in float64; inf when got has a NaN."""
    got, ref = got.double().flatten(), ref.double().flatten()
    if got.numel() != ref.numel() or bool(torch.isnan(got).any()):
        return math.inf
    den = float(torch.linalg.vector_norm(ref))
    num = float(torch.linalg.vector_norm(got - ref))
    return num / den if den > 0 else num


def human(seconds):
    if seconds is None or not math.isfinite(seconds):
        return "-"
    if seconds < 1e-3:
        return "%.2f us" % (seconds * 1e6)
    if seconds < 1:
        return "%.3f ms" % (seconds * 1e3)
    return "%.3f s" % seconds


class Report:
    def __init__(self, workload, size, dtype="float32", label=""):
        self.obj = {"workload": workload, "size": size, "dtype": dtype,
                    "times": {}, "iters": {}, "samples": {}, "ok": True}
        self.label = label or workload
        self.summary = ""

    def __setitem__(self, key, value):
        self.obj[key] = value

    def __getitem__(self, key):
        return self.obj[key]

    def check(self, key, err, tol):
        global all_ok
        self.obj[key] = err if math.isfinite(err) else None
        if not err <= tol:
            self.obj["ok"] = False
            all_ok = False

    def timed(self, medians, iters, samples, names):
        for n in names:
            self.obj["times"][n] = medians[n]
            self.obj["iters"][n] = iters[n]
            self.obj["samples"][n] = samples[n]

    def print(self, opts):
        if opts.json:
            print(json.dumps(self.obj), flush=True)
            return
        times = ", ".join("%s %s" % (k, human(v))
                          for k, v in self.obj["times"].items())
        print("%s: %s%s%s" % (self.label, times, self.summary,
                              "" if self.obj["ok"] else "  ** CHECK FAILED **"),
              flush=True)


def uniform(shape, lo, hi, gen, device, dtype=torch.float32):
    x = torch.rand(shape, generator=gen, device=device, dtype=torch.float32)
    return (x * (hi - lo) + lo).to(dtype)


def wanted(opts, name, group):
    return not opts.only or name in opts.only or group in opts.only


# ---- workloads ----------------------------------------------------------------------

def elementwise(opts, sizes, device, clock, gen):
    names = [w for w in GROUPS["elementwise"] if wanted(opts, w, "elementwise")]
    if not names:
        return
    n = sizes["elements"]
    a = uniform((n,), 0.5, 1.5, gen, device)
    b = uniform((n,), 0.5, 1.5, gen, device)
    a64, b64 = a.double(), b.double()
    variants, reports, errors = {}, {}, {}
    src, dst = a.clone(), torch.full_like(a, math.nan)
    variants["torch_copy"] = lambda: dst.copy_(src)
    dst.copy_(src)
    copy_rep = Report("copy", n, label="copy (dst.copy_(src), n %d, float32)" % n)
    copy_rep["bytes"] = 8.0 * n
    copy_rep.check("err_copy", rel_err(dst, a), 0)
    for w in FORMULAS:
        if w not in names:
            continue
        fn = FUNCTIONS[w]
        rep = Report(w, n, label="%s %s (n %d, float32)" % (w, FORMULAS[w], n))
        rep["formula"] = FORMULAS[w]
        rep["bytes"] = 4.0 * (INPUTS[w] + 1) * n
        ref = fn(a64, b64)
        rep.check("err_vs_f64", rel_err(fn(a, b), ref), 1e-5)
        variants[w + ":torch"] = (lambda fn=fn: fn(a, b))
        if not opts.no_compile and hasattr(torch, "compile"):
            try:
                compiled = torch.compile(fn, dynamic=False)
                t0 = time.perf_counter()
                out = compiled(a, b)  # compiles
                clock.sync()
                rep["compile_s"] = time.perf_counter() - t0
                rep.check("err_compile_vs_f64", rel_err(out, ref), 1e-5)
                variants[w + ":torch_compile"] = (lambda c=compiled: c(a, b))
            except Exception as e:  # reported, the variant left out
                errors[w] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0][:300]
                                        if str(e) else "")
                rep["torch_compile_error"] = errors[w]
        elif opts.no_compile:
            rep["torch_compile_error"] = "--no-compile"
        else:
            rep["torch_compile_error"] = "torch %s has no torch.compile" % torch.__version__
        del ref
        reports[w] = rep
    medians, iters, samples = measure(clock, variants, opts)
    copy_rep.timed(medians, iters, samples, ["torch_copy"])
    copy_gbs = copy_rep["bytes"] / medians["torch_copy"] / 1e9
    copy_rep["gbps"] = copy_gbs
    copy_rep.summary = "; %.1f GB/s (bytes read + written)" % copy_gbs
    if "copy" in names:
        copy_rep.print(opts)
    for w, rep in reports.items():
        for variant in ("torch", "torch_compile"):
            key = w + ":" + variant
            if key not in medians:
                continue
            rep["times"][variant] = medians[key]
            rep["iters"][variant] = iters[key]
            rep["samples"][variant] = samples[key]
        gbps = {v: rep["bytes"] / t / 1e9 for v, t in rep["times"].items()}
        rep["gbps"] = gbps
        rep["copy_gbps"] = copy_gbs
        rep["fraction_of_copy"] = {v: g / copy_gbs for v, g in gbps.items()}
        rep.summary = "; " + ", ".join(
            "%s %.1f GB/s (%.2f of the copy's)" % (v, g, g / copy_gbs)
            for v, g in gbps.items())
        if w in errors:
            rep.summary += "; torch.compile failed: " + errors[w]
        rep.print(opts)


def gemm(opts, sizes, device, clock, gen):
    names = [w for w in GROUPS["gemm"] if wanted(opts, w, "gemm")]
    if not names:
        return
    n = sizes["order"]
    a = uniform((n, n), -1, 1, gen, device)
    b = uniform((n, n), -1, 1, gen, device)
    variants, reports = {}, {}
    for w in names:
        dtype = torch.float16 if w == "gemm_f16" else torch.float32
        at, bt = a.to(dtype), b.to(dtype)
        rep = Report(w, n, dtype=str(dtype).replace("torch.", ""),
                     label="A @ B %s %d^3" % (str(dtype).replace("torch.", ""), n))
        rep["flops"] = 2.0 * n**3
        def product(at=at, bt=bt):
            return at @ bt
        if device.type == "cpu" and dtype == torch.float16:
            # (--cpu: PyTorch has no float16 product on some CPUs)
            def product(at=at, bt=bt):
                return (at.float() @ bt.float()).half()
        ref = at.double() @ bt.double()
        rep.check("err_vs_f64", rel_err(product(), ref), 2e-3 if w == "gemm_f16" else 1e-4)
        del ref
        variants[w] = product
        reports[w] = rep
    medians, iters, samples = measure(clock, variants, opts)
    for w, rep in reports.items():
        rep.timed(medians, iters, samples, [w])
        rep["times"] = {"torch": rep["times"].pop(w)}
        rep["iters"] = {"torch": rep["iters"].pop(w)}
        rep["samples"] = {"torch": rep["samples"].pop(w)}
        tflops = rep["flops"] / rep["times"]["torch"] / 1e12
        rep["tflops"] = tflops
        err = rep["err_vs_f64"]
        rep.summary = "; %.2f TFLOP/s; error vs float64 %.2g" % (
            tflops, math.inf if err is None else err)
        rep.print(opts)


def mlp_step(params, x, t, holder, sync):
    W1, b1, W2, b2 = params
    z = torch.tanh(x @ W1 + b1) @ W2 + b2
    cost = F.cross_entropy(z, t)
    grads = torch.autograd.grad(cost, params)
    with torch.no_grad():
        for p, g in zip(params, grads):
            p.sub_(LR * g)
    holder[0] = cost.item() if sync else cost.detach()


def mlp(opts, sizes, device, clock, gen):
    if not wanted(opts, "mlp", "mlp"):
        return
    for batch in sizes["batches"]:
        x = uniform((batch, N_IN), 0, 1, gen, device)
        t = (torch.arange(batch, device=device) * 7919) % N_OUT
        r1, r2 = math.sqrt(6.0 / (N_IN + N_HID)), math.sqrt(6.0 / (N_HID + N_OUT))
        W1 = uniform((N_IN, N_HID), -r1, r1, gen, device)
        W2 = uniform((N_HID, N_OUT), -r2, r2, gen, device)

        def fresh(dtype):
            return [p.to(dtype).clone().requires_grad_(True) for p in
                    (W1, torch.zeros(N_HID, device=device), W2,
                     torch.zeros(N_OUT, device=device))]
        rep = Report("mlp", batch,
                     label="MLP 784-500-10 SGD step, float32, minibatch %d" % batch)
        rep["examples"] = batch
        rep["flops"] = 2.0 * batch * (2.0 * N_IN * N_HID + 3.0 * N_HID * N_OUT)
        # Three steps against the same steps in float64: the same losses.
        p32, p64, h32, h64 = fresh(torch.float32), fresh(torch.float64), [None], [None]
        worst, losses = 0.0, []
        for _ in range(3):
            mlp_step(p32, x, t, h32, True)
            mlp_step(p64, x.double(), t, h64, True)
            worst = max(worst, abs(h32[0] - h64[0]) / max(1e-30, abs(h64[0])))
            losses.append(h32[0])
        rep.check("err_loss_vs_f64", worst if math.isfinite(worst) else math.inf, 1e-4)
        rep["losses"] = " ".join("%.6g" % v for v in losses)
        params, holder = fresh(torch.float32), [None]
        variants = {"torch": lambda: mlp_step(params, x, t, holder, False),
                    "torch_sync": lambda: mlp_step(params, x, t, holder, True)}
        medians, iters, samples = measure(clock, variants, opts)
        rep.timed(medians, iters, samples, list(variants))
        rep["examples_per_s"] = {v: batch / s for v, s in medians.items()}
        rep["tflops"] = {v: rep["flops"] / s / 1e12 for v, s in medians.items()}
        rep.summary = "; " + ", ".join("%s %.4g examples/s" % (v, batch / s)
                                       for v, s in medians.items())
        rep.print(opts)


# ---- main -----------------------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", choices=sorted(SIZES), default="full")
    p.add_argument("--only", default="",
                   help="comma-separated workloads or groups")
    p.add_argument("--reps", type=int)
    p.add_argument("--min-ms", type=float)
    p.add_argument("--warmup", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-compile", action="store_true",
                   help="leave torch.compile out")
    p.add_argument("--cpu", action="store_true",
                   help="run on the CPU with a host clock (tests this script "
                        "without a GPU; the numbers mean nothing)")
    opts = p.parse_args()
    known = set(GROUPS) | {w for ws in GROUPS.values() for w in ws}
    opts.only = [w for w in opts.only.split(",") if w]
    for w in opts.only:
        if w not in known:
            p.error("unknown workload %s (known: %s)" % (w, " ".join(sorted(known))))
    small = opts.sizes == "small"
    opts.reps = max(1, opts.reps if opts.reps is not None else (1 if small else 10))
    opts.min_sec = max(0.0, opts.min_ms if opts.min_ms is not None else (0 if small else 20)) / 1e3
    opts.warmup = max(0, opts.warmup if opts.warmup is not None else (1 if small else 3))
    if opts.seed is None:  # fresh inputs every run
        opts.seed = int.from_bytes(__import__("os").urandom(4), "little") % 1000000000 + 1

    if opts.cpu:
        device = torch.device("cpu")
        name = "CPU (--cpu: numbers mean nothing)"
    else:
        if not torch.cuda.is_available():
            print("gpu_peers.py: no CUDA device: torch %s sees none (torch.cuda.is_available() "
                  "is False; CUDA build: %s)" % (torch.__version__, torch.version.cuda),
                  file=sys.stderr)
            return 3
        device = torch.device("cuda", torch.cuda.current_device())
        name = torch.cuda.get_device_name(device)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_fp16_reduced_precision_reduction = False
    clock = Clock(device)
    gen = torch.Generator(device=device)
    gen.manual_seed(opts.seed)
    info = {"workload": "device", "name": name, "torch": torch.__version__,
            "cuda": torch.version.cuda, "sizes": opts.sizes, "reps": opts.reps,
            "min_ms": opts.min_sec * 1e3, "warmup": opts.warmup, "seed": opts.seed,
            "allow_tf32": False}
    if device.type == "cuda":
        prop = torch.cuda.get_device_properties(device)
        info.update(arch="sm_%d%d" % (prop.major, prop.minor),
                    multiprocessors=prop.multi_processor_count,
                    memory=prop.total_memory)
    if opts.json:
        print(json.dumps(info), flush=True)
    else:
        print("PyTorch %s (CUDA %s) on %s, sizes %s, seed %d"
              % (torch.__version__, torch.version.cuda, name, opts.sizes, opts.seed),
              flush=True)
    sizes = SIZES[opts.sizes]
    elementwise(opts, sizes, device, clock, gen)
    gemm(opts, sizes, device, clock, gen)
    mlp(opts, sizes, device, clock, gen)
    if not all_ok:
        print("gpu_peers.py: a correctness check failed (see \"ok\": false above)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
