#!/usr/bin/python3
"""Draws the benchmark results as PNGs, like Figures 5 and 7 of the Theano paper.

usage: plots.py RESULTS_JSON OUT_DIR

benchmarks/run.py calls draw() on the dict it writes as results.json; this
command line redraws the plots from a saved results.json. Only what the rows
contain is drawn (a --only or --quick run has fewer rows), so a plot whose
rows are all missing is not written at all:

  elementwise.png  speed-up over NumPy of the four element-wise formulas
                   against the number of elements (Figure 7);
  training.png     examples per second of the training steps, one bar per
                   implementation (Figure 5);
  compile.png      compile time against graph size (compile_scaling rows).

The figures are small (they are committed to git) and use Debian's
matplotlib with the non-interactive Agg backend, so no display is needed.
"""
import json
import os
import statistics
import sys

# The same as run.py's FORMULAS: kept here so that run.py can import this
# module (and this module run alone) without a circular import.
FORMULAS = {
    "f1": "a**2 + b**2 + 2*a*b",
    "f2": "2*a + 3*b",
    "f3": "a + 1",
    "f4": "2*a + b**10",
}

# (times key, legend label, colour, marker) of the element-wise lines. For
# numexpr, ne.evaluate(expr) allocates its result like NumPy and the paper's
# Figure 7 compares that; evaluate(expr, out=r) is the fallback.
ELEMENTWISE_LINES = [
    ("thjit", "thjit (formula as written)", "C0", "o"),
    ("numexpr", "numexpr", "C1", "s"),
    ("c_1t", "C, 1 thread", "C2", "^"),
]

# Training implementations, in the order of the bars.
TRAINING_BARS = [
    ("thjit", "thjit", "C0"),
    ("thjit_fused", "thjit, fused by hand", "C9"),
    ("hand", "C++ (OpenBLAS)", "C2"),
    ("numpy", "NumPy", "C7"),
    ("torch", "PyTorch", "C3"),
]
TRAINING_NAMES = {"train_lr": "LR f64", "train_mlp": "MLP f64",
                  "train_mlp32": "MLP f32"}

DPI = 90


def title(results):
    """The machine line every figure carries: where and when it was measured."""
    m = results.get("machine", {})
    parts = [m.get("cpu") or "unknown CPU"]
    if m.get("logical_cpus"):
        parts.append("%s logical CPUs" % m["logical_cpus"])
    if m.get("date"):
        parts.append(str(m["date"])[:10])
    return ", ".join(parts)


def raw_rounds(results, w, n):
    for r in results.get("raw", []):
        if r.get("workload") == w and r.get("size") == n:
            return r.get("rounds") or []
    return []


def speedup(results, row, key):
    """time_numpy / time_key. As in run.py's table, the ratio is taken within
    each round (the two processes ran seconds apart) and the median over the
    rounds is plotted, so slow drift of the machine cancels; without the raw
    rounds, the ratio of the median times."""
    vals = []
    for rd in raw_rounds(results, row["workload"], row["size"]):
        t = rd.get("times", {})
        if t.get("numpy") and t.get(key):
            vals.append(t["numpy"] / t[key])
    if vals:
        return statistics.median(vals)
    t = row.get("times", {})
    if t.get("numpy") and t.get(key):
        return t["numpy"] / t[key]
    return None


def draw_elementwise(plt, results, path):
    from matplotlib import ticker
    # Size 1 is the call-overhead row, not a point of the curve.
    rows = [r for r in results.get("rows", [])
            if r.get("workload") in FORMULAS and r.get("size", 0) > 1
            and r.get("times")]
    if not rows:
        return False
    # One panel per formula measured (2x2 for all four), none left empty.
    formulas = sorted({r["workload"] for r in rows})
    ncols = 1 if len(formulas) == 1 else 2
    nrows = (len(formulas) + 1) // 2
    fig, axes = plt.subplots(nrows, ncols, figsize=(9.5 if ncols == 2 else 6, 3 * nrows + 1),
                             sharex=True, squeeze=False)
    for ax in axes.flat[len(formulas):]:
        ax.set_visible(False)
    handles = {}
    for ax, w in zip(axes.flat, formulas):
        ax.set_title(FORMULAS[w], fontsize=10, family="monospace")
        ax.set_xscale("log")
        ax.set_yscale("log")
        # Speed-ups span about 0.3x to 10x: label 1, 2, 5 of every decade
        # as "2x" rather than only the powers of ten.
        ax.yaxis.set_major_locator(ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: "%gx" % v))
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.grid(True, which="major", alpha=0.3)
        line = ax.axhline(1.0, color="k", linestyle="--", linewidth=1)
        handles["NumPy"] = line
        mine = sorted((r for r in rows if r["workload"] == w),
                      key=lambda r: r["size"])
        for key, label, colour, marker in ELEMENTWISE_LINES:
            pts = []
            for r in mine:
                k = key
                if key == "numexpr" and r["times"].get("numexpr_alloc"):
                    k = "numexpr_alloc"
                s = speedup(results, r, k)
                if s is not None:
                    pts.append((r["size"], s))
            if pts:
                xs, ys = zip(*pts)
                handles[label], = ax.plot(xs, ys, color=colour, marker=marker,
                                          markersize=4, label=label)
    for i, ax in enumerate(axes.flat[:len(formulas)]):
        # The bottom panel of each column carries the x axis (sharex hides
        # the others' tick labels).
        if i + ncols >= len(formulas):
            ax.set_xlabel("number of elements")
            ax.xaxis.set_tick_params(labelbottom=True)
    for ax in axes[:, 0]:
        ax.set_ylabel("speed-up over NumPy")
    order = [label for _, label, _, _ in ELEMENTWISE_LINES] + ["NumPy"]
    labels = [l for l in order if l in handles]
    # One legend line under two columns, two lines under one.
    ncol = len(labels) if ncols == 2 else 2
    fig.legend([handles[l] for l in labels], labels, loc="lower center",
               ncol=ncol, fontsize=9, frameon=False)
    fig.suptitle("Element-wise formulas, float64 (%s)" % title(results), fontsize=10)
    lines = (len(labels) + ncol - 1) // ncol
    fig.tight_layout(rect=(0, 0.17 * lines / (3 * nrows + 1), 1, 1))
    save(fig, path)
    plt.close(fig)
    return True


def draw_training(plt, results, path):
    rows = [r for r in results.get("rows", [])
            if r.get("workload") in TRAINING_NAMES and r.get("times")]
    if not rows:
        return False
    order = list(TRAINING_NAMES)
    rows.sort(key=lambda r: (order.index(r["workload"]), r["size"]))
    bars = [b for b in TRAINING_BARS
            if any(r["times"].get(b[0]) for r in rows)]
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows) + 2), 4.5))
    width = 0.8 / len(bars)
    for i, (key, label, colour) in enumerate(bars):
        xs, ys = [], []
        for g, r in enumerate(rows):
            t = r["times"].get(key)
            if t:  # a missing implementation leaves a gap, not a zero bar
                xs.append(g + (i - (len(bars) - 1) / 2) * width)
                ys.append(r["size"] / t)
        ax.bar(xs, ys, width, color=colour, label=label)
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(["%s, %d" % (TRAINING_NAMES[r["workload"]], r["size"])
                        for r in rows], fontsize=9)
    ax.set_xlabel("training step, examples per minibatch")
    ax.set_ylabel("examples per second")
    ax.grid(True, axis="y", which="major", alpha=0.3)
    ax.legend(fontsize=8, ncol=len(bars), loc="upper center",
              bbox_to_anchor=(0.5, -0.17), frameon=False)
    fig.suptitle("Training steps (%s)" % title(results), fontsize=10)
    fig.tight_layout()
    save(fig, path)
    plt.close(fig)
    return True


def draw_compile(plt, results, path):
    rows = sorted((r for r in results.get("rows", [])
                   if r.get("workload") == "compile_scaling"),
                  key=lambda r: r["size"])
    if not rows:
        return False
    fig, ax = plt.subplots(figsize=(7, 5))
    ref_drawn = False
    for key, label, colour in (("chain", "chain of element-wise ops", "C0"),
                               ("mlp", "MLP training step", "C3")):
        pts = [(r[key]["nodes"], r[key]["compile_s"]) for r in rows
               if r.get(key) and r[key].get("nodes") and r[key].get("compile_s")]
        if not pts:
            continue
        xs, ys = zip(*pts)
        ax.plot(xs, ys, color=colour, marker="o", label=label)
        # Slope 1 on log-log axes is linear growth: a line bending above it
        # means the compiler is super-linear in the graph's size.
        if len(pts) > 1:
            ax.plot([xs[0], xs[-1]], [ys[0], ys[0] * xs[-1] / xs[0]],
                    color="gray", linestyle=":", linewidth=1,
                    label=None if ref_drawn else "linear growth (slope 1)")
            ref_drawn = True
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("nodes in the graph")
    ax.set_ylabel("compile time (s)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=9)
    fig.suptitle("Compile time (%s)" % title(results), fontsize=10)
    fig.tight_layout()
    save(fig, path)
    plt.close(fig)
    return True


def save(fig, path):
    # optimize: a smaller PNG, these are committed to git.
    fig.savefig(path, dpi=DPI, pil_kwargs={"optimize": True})


def draw(results, out_dir):
    """results: the dict run.py writes as results.json; writes PNGs into
    out_dir and returns the list of paths written. Draws only what the rows
    contain (a --only or --quick run has fewer rows); returns [] when
    matplotlib is missing (print a note to stderr)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: matplotlib is not installed (apt-get install "
              "python3-matplotlib); no plots drawn", file=sys.stderr)
        return []
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name, fn in (("elementwise.png", draw_elementwise),
                     ("training.png", draw_training),
                     ("compile.png", draw_compile)):
        path = os.path.join(out_dir, name)
        if fn(plt, results, path):
            written.append(path)
    return written


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    with open(sys.argv[1]) as f:
        results = json.load(f)
    for path in draw(results, sys.argv[2]):
        print(path)


if __name__ == "__main__":
    main()
