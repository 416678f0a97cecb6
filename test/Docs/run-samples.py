#!/usr/bin/env python3
"""Runs every code sample of the documentation, so that the docs cannot rot.

The samples are the fenced code blocks of docs/**/*.md and README.md:

  ```python   A thjit script. It is saved as `example.th` in a new directory
              and run there with `thjit example.th`; it must exit with
              status 0.
  ```cpp      C++. A block with `int main(` is a program: CMake builds it
              (test/Docs/CMakeLists.txt) and this script runs it. Any other
              block is a fragment: statements that CMake compiles as the
              body of a function, after `#include "thjit/thjit.h"`, `using
              namespace thjit;` and the block's own #include lines.
  ```output   What the code block before it on the page prints on standard
              output, compared exactly. A line `...` stands for any number of
              lines (the middle of a long printout).
  Any other fence (sh, console, text, none) is shown, not run. Use ```text
  for output that changes from run to run (timings).

A comment on the line just before a fence changes how the block is used:

  <!-- sample: continues -->      The block goes on from the previous
                                  sample of the same language on the page:
                                  they run (or compile) as one, and their
                                  ```output blocks are that run's output in
                                  order (a block without one prints nothing).
  <!-- sample: fails -->          The script must stop at an error (status
                                  1); its ```output is standard output
                                  followed by standard error.
  <!-- sample: flags ARGS -->     Run the script as `thjit ARGS example.th`
                                  (`flags --emit=graph` shows its graphs;
                                  on the first block of a sample).
  <!-- sample: toplevel -->       A C++ fragment of declarations (functions,
                                  types) compiled at file scope.
  <!-- sample: excerpt PATH -->   The block quotes PATH (from the repository
                                  root): its lines must appear there in
                                  order, indentation aside; a line `...` or
                                  `// ...` skips any number of lines.
  <!-- sample: skip REASON -->    Not run, for the reason given.

Several may be combined with `;` (`<!-- sample: continues; fails -->`).

Two more checks keep the pages together: every page of docs/ is linked from
docs/README.md (the index), and every relative link of a page of docs/
leads to a file that exists (and to a heading of it, for `page.md#anchor`).

Usage:
  run-samples.py --root SRC --extract-cpp DIR
      Writes each C++ sample as DIR/NAME.cpp (only when it changed) and
      prints one line per sample, `program NAME` or `fragment NAME`: what
      CMake's configure step builds. Problems are left to the test to report.
  run-samples.py --root SRC --thjit THJIT --cpp-build DIR
      Runs every sample (C++ programs from DIR/bin, built from DIR/samples)
      and reports each failure with the page and line of its block.
"""

import argparse
import concurrent.futures
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

SCRIPT_NAME = "example.th"
RUN_LANGUAGES = ("python", "cpp")
KEYWORDS = ("continues", "fails", "flags", "toplevel", "excerpt", "skip")
FENCE = re.compile(r"^( *)(`{3,}|~{3,})\s*([^\s`]*)")
DIRECTIVE = re.compile(r"^\s*<!--\s*sample:(.*?)-->\s*$")


class DocError(Exception):
    """A malformed page or sample: the message starts with PAGE:LINE."""


class Block:
    def __init__(self, page, fence_line, lang, lines):
        self.page = page              # path relative to the root
        self.fence_line = fence_line  # 1-based line of the opening fence
        self.lang = lang
        self.lines = lines            # the content, indentation removed
        self.options = {}             # keyword -> argument ("" if none)

    @property
    def where(self):
        return "%s:%d" % (self.page, self.fence_line)

    @property
    def first_line(self):
        return self.fence_line + 1


class Sample:
    """One run: a block and the blocks that continue it."""

    def __init__(self, block):
        self.pieces = [block]
        self.outputs = {}  # index of piece -> its ```output Block

    @property
    def first(self):
        return self.pieces[0]

    @property
    def lang(self):
        return self.first.lang

    @property
    def where(self):
        return self.first.where

    def option(self, key):
        return any(key in p.options for p in self.pieces)

    def expected(self):
        """The expected output, or None when no piece shows it."""
        if not self.outputs:
            return None
        lines = []
        for i in range(len(self.pieces)):
            if i in self.outputs:
                lines += self.outputs[i].lines
        return lines

    def name(self, index):
        """docs/cpp-api.md's third C++ sample is cpp_api_2."""
        page = self.first.page[:-len(".md")]
        page = page[len("docs/"):] if page.startswith("docs/") else \
            "top_" + page
        return "%s_%d" % (re.sub(r"[^A-Za-z0-9]+", "_", page), index)


def doc_pages(root):
    pages = []
    docs = os.path.join(root, "docs")
    for dirpath, dirnames, filenames in os.walk(docs):
        dirnames.sort()
        for f in sorted(filenames):
            if f.endswith(".md"):
                pages.append(os.path.relpath(os.path.join(dirpath, f), root))
    if os.path.exists(os.path.join(root, "README.md")):
        pages.append("README.md")
    return sorted(pages)


def parse_directive(page, line_no, text):
    options = {}
    for item in text.split(";"):
        item = item.strip()
        if not item:
            continue
        key, _, arg = item.partition(" ")
        if key not in KEYWORDS:
            raise DocError("%s:%d: unknown sample directive '%s' (known: %s)"
                           % (page, line_no, key, ", ".join(KEYWORDS)))
        arg = arg.strip()
        if key in ("excerpt", "skip", "flags") and not arg:
            raise DocError("%s:%d: 'sample: %s' needs %s" % (
                page, line_no, key, {"excerpt": "a file", "skip": "a reason",
                                     "flags": "arguments"}[key]))
        options[key] = arg
    return options


def parse_page(root, page, problems):
    """The fenced blocks of a page, with their directives. A block with a
    bad directive is left out, and the problem appended to `problems`."""
    with open(os.path.join(root, page), encoding="utf-8") as f:
        text = f.read().split("\n")
    blocks = []
    i = 0
    last_text = None  # (line number, text) of the last non-blank line
    while i < len(text):
        m = FENCE.match(text[i])
        if not m:
            if text[i].strip():
                last_text = (i + 1, text[i])
            i += 1
            continue
        indent, fence, lang = len(m.group(1)), m.group(2), m.group(3).lower()
        start = i
        body = []
        i += 1
        while i < len(text):
            close = text[i].strip()
            if close.startswith(fence[0] * len(fence)) and \
               not close.strip(fence[0]):
                break
            line = text[i]
            body.append(line[indent:] if line[:indent].strip() == ""
                        else line.lstrip())
            i += 1
        else:
            raise DocError("%s:%d: code block never closed" % (page, start + 1))
        block = Block(page, start + 1, lang, body)
        d = DIRECTIVE.match(last_text[1]) if last_text else None
        try:
            if d:
                block.options = parse_directive(page, last_text[0], d.group(1))
            blocks.append(block)
        except DocError as e:
            problems.append(str(e))
        last_text = (i + 1, text[i])
        i += 1
    return blocks


def collect(root):
    """Samples by page, excerpts, skipped blocks, and problems found."""
    samples, excerpts, skipped, problems = [], [], [], []
    for page in doc_pages(root):
        try:
            blocks = parse_page(root, page, problems)
        except DocError as e:
            problems.append(str(e))
            continue
        last_of = {}      # language -> the last Sample of it on this page
        last_code = None  # the last Sample, for ```output
        for b in blocks:
            if b.lang == "output":
                if b.options:
                    problems.append("%s: an output block takes no sample "
                                    "directive" % b.where)
                if last_code is None:
                    problems.append("%s: an output block must follow a "
                                    "python or cpp sample (show other "
                                    "output as ```text)" % b.where)
                    continue
                piece = len(last_code.pieces) - 1
                if piece in last_code.outputs:
                    problems.append("%s: a second output block for the block "
                                    "at %s" % (b.where,
                                               last_code.pieces[piece].where))
                    continue
                last_code.outputs[piece] = b
                continue
            if "skip" in b.options:
                skipped.append(b)
                last_code = None
                continue
            if "excerpt" in b.options:
                excerpts.append(b)
                last_code = None
                continue
            if b.lang not in RUN_LANGUAGES:
                if b.options:
                    problems.append("%s: sample directives apply to python "
                                    "and cpp blocks only" % b.where)
                last_code = None
                continue
            if "continues" in b.options:
                prev = last_of.get(b.lang)
                if prev is None:
                    problems.append("%s: 'continues', but no %s block before "
                                    "it on the page" % (b.where, b.lang))
                    continue
                prev.pieces.append(b)
                last_code = prev
                continue
            s = Sample(b)
            samples.append(s)
            last_of[b.lang] = s
            last_code = s
    for s in samples:
        if s.option("toplevel") and s.lang != "cpp":
            problems.append("%s: 'toplevel' is for C++ fragments" % s.where)
        for key in ("fails", "flags"):
            if s.option(key) and s.lang != "python":
                problems.append("%s: '%s' is for python samples" % (s.where,
                                                                   key))
    return samples, excerpts, skipped, problems


# ---- Links -------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose_lines(root, page):
    """(line number, text) of the page's lines outside code blocks, with
    inline code removed."""
    with open(os.path.join(root, page), encoding="utf-8") as f:
        lines = f.read().split("\n")
    fence = None
    for n, line in enumerate(lines, 1):
        m = FENCE.match(line)
        if m and fence is None:
            fence = m.group(2)
            continue
        if fence is not None:
            if line.strip().startswith(fence):
                fence = None
            continue
        if line.startswith("    "):  # an indented code block
            continue
        yield n, re.sub(r"`+[^`]*`+", "", line)


def anchors(root, page):
    """GitHub's anchors of the page's headings."""
    out = set()
    for _, line in prose_lines(root, page):
        m = re.match(r"#+\s+(.*)", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower())
            out.add(slug.replace(" ", "-"))
    return out


def check_links(root, pages):
    problems = []
    docs = [p for p in pages if p.startswith("docs/")]
    index = "docs/README.md"
    linked = set()
    for page in docs:
        for n, line in prose_lines(root, page):
            for target in LINK.findall(line):
                if re.match(r"[a-z]+:", target) or target.startswith("#"):
                    continue
                path, _, anchor = target.partition("#")
                full = os.path.normpath(os.path.join(root, os.path.dirname(page),
                                                     path))
                rel = os.path.relpath(full, root)
                if page == index:
                    linked.add(rel)
                if not os.path.exists(full):
                    problems.append("%s:%d: a link to %s, which does not "
                                    "exist" % (page, n, target))
                elif anchor and rel.endswith(".md") and \
                        anchor not in anchors(root, rel):
                    problems.append("%s:%d: a link to %s, which has no "
                                    "heading #%s" % (page, n, path, anchor))
    if index in docs:
        for page in docs:
            if page != index and page not in linked:
                problems.append("%s: not linked from %s (the index of the "
                                "documentation)" % (page, index))
    return problems


# ---- C++ ---------------------------------------------------------------------

def is_program(sample):
    return any("int main(" in "\n".join(p.lines) for p in sample.pieces)


def cpp_source(root, sample):
    """The translation unit CMake compiles for a C++ sample. #line
    directives make compiler errors point at the page."""
    def located(piece, lines):
        path = os.path.join(root, piece.page).replace("\\", "/")
        return ['#line %d "%s"' % (piece.first_line, path)] + lines

    if is_program(sample):
        out = []
        for p in sample.pieces:
            out += located(p, p.lines)
        return "\n".join(out) + "\n"
    head = ['#include "thjit/thjit.h"']
    body = []
    for p in sample.pieces:
        # #include and using lines go first, in place of blank lines (so
        # the lines below keep their numbers).
        lines = []
        for line in p.lines:
            if line.startswith("#include") or line.startswith("using "):
                if line not in head:
                    head.append(line)
                lines.append("")
            else:
                lines.append(line)
        body += located(p, lines)
    if "using namespace thjit;" not in head:
        head.append("using namespace thjit;")
    if sample.option("toplevel"):
        return "\n".join(head + body) + "\n"
    return "\n".join(head + ["[[maybe_unused]] static void docSample() {"] +
                     body + ["}"]) + "\n"


def cpp_samples(samples):
    """(name, sample) for each C++ sample."""
    out, count = [], {}
    for s in samples:
        if s.lang == "cpp":
            n = count.get(s.first.page, 0)
            count[s.first.page] = n + 1
            out.append((s.name(n), s))
    return out


def extract_cpp(root, out_dir):
    try:
        samples, _, _, _ = collect(root)
    except Exception as e:  # the test reports it; configuring goes on
        print("# run-samples.py: %s" % e, file=sys.stderr)
        return 0
    os.makedirs(out_dir, exist_ok=True)
    current = cpp_samples(samples)
    names = {name + ".cpp" for name, _ in current}
    for f in os.listdir(out_dir):  # samples that are gone
        if f.endswith(".cpp") and f not in names:
            os.remove(os.path.join(out_dir, f))
    for name, s in current:
        path = os.path.join(out_dir, name + ".cpp")
        source = cpp_source(root, s)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != source:
            with open(path, "w", encoding="utf-8") as f:
                f.write(source)
        print("%s %s" % ("program" if is_program(s) else "fragment", name))
    return 0


# ---- Checking ----------------------------------------------------------------

ELLIPSES = ("...", "// ...")


def segments(lines):
    """`lines` cut at each line `...` (or `// ...`)."""
    segs = [[]]
    for line in lines:
        if line.strip() in ELLIPSES:
            segs.append([])
        else:
            segs[-1].append(line)
    return segs


def find(seg, lines, start, stop):
    """The first position >= start where `seg` occurs in lines[:stop]."""
    for k in range(start, stop - len(seg) + 1):
        if lines[k:k + len(seg)] == seg:
            return k
    return None


def matches(expected, actual):
    """Whether the lines match; a line `...` in `expected` matches any run
    of lines."""
    segs = segments(expected)
    if len(segs) == 1:
        return expected == actual
    first, middle, last = segs[0], segs[1:-1], segs[-1]
    pos, end = len(first), len(actual) - len(last)
    if end < pos or actual[:pos] != first or actual[end:] != last:
        return False
    for seg in middle:
        k = find(seg, actual, pos, end)
        if k is None:
            return False
        pos = k + len(seg)
    return True


def lines_of(text):
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def output_problem(sample, actual_text):
    """None when the output is as shown, else a message with a diff."""
    expected = sample.expected()
    if expected is None:
        return None
    actual = lines_of(actual_text)
    if matches(expected, actual):
        return None
    where = ", ".join(sample.outputs[i].where for i in sorted(sample.outputs))
    diff = difflib.unified_diff(expected, actual, "shown in the docs",
                                "printed", lineterm="")
    return ("the output differs from the output block%s at %s:\n%s" %
            ("s" if len(sample.outputs) > 1 else "", where, "\n".join(diff)))


def script_of(sample):
    """The script and, for each of its lines, the page line it comes from."""
    lines, origin = [], []
    for p in sample.pieces:
        for k, line in enumerate(p.lines):
            lines.append(line)
            origin.append("%s:%d" % (p.page, p.first_line + k))
    return "\n".join(lines) + "\n", origin


def relocate(text, origin):
    """example.th:LINE in thjit's messages, as PAGE:LINE."""
    def page_line(m):
        n = int(m.group(1))
        return origin[n - 1] if 0 < n <= len(origin) else m.group(0)
    return re.sub(re.escape(SCRIPT_NAME) + r":(\d+)", page_line, text)


def run_python(sample, thjit):
    script, origin = script_of(sample)
    fails = sample.option("fails")
    flags = shlex.split(sample.first.options.get("flags", ""))
    with tempfile.TemporaryDirectory(prefix="thjit-doc-") as d:
        with open(os.path.join(d, SCRIPT_NAME), "w", encoding="utf-8") as f:
            f.write(script)
        try:
            r = subprocess.run([thjit] + flags + [SCRIPT_NAME], cwd=d,
                               capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            return "ran for more than 300 s"
        except OSError as e:
            return "could not run %s: %s" % (thjit, e)
    if fails:
        if r.returncode != 1:
            return "should fail with status 1 (sample: fails) but exited " \
                   "with %d" % r.returncode
        return output_problem(sample, r.stdout + r.stderr)
    if r.returncode != 0:
        return "exited with status %d:\n%s%s" % (
            r.returncode, r.stdout[-2000:], relocate(r.stderr, origin))
    return output_problem(sample, r.stdout)


def run_cpp(root, name, sample, build):
    source = os.path.join(build, "samples", name + ".cpp")
    current = None
    if os.path.exists(source):
        with open(source, encoding="utf-8") as f:
            current = f.read()
    if current != cpp_source(root, sample):
        return ("was not built from this text of the page: rebuild "
                "(cmake --build build) so that CMake extracts it again")
    if not is_program(sample):
        objs = [os.path.join(dp, f) for dp, _, fs in os.walk(build)
                for f in fs if f == name + ".cpp.o"]
        if not objs or os.path.getmtime(objs[0]) < os.path.getmtime(source):
            return "was not compiled: rebuild (cmake --build build)"
        return None
    exe = os.path.join(build, "bin", name)
    if not os.path.exists(exe) or \
            os.path.getmtime(exe) < os.path.getmtime(source):
        return "was not built: rebuild (cmake --build build)"
    with tempfile.TemporaryDirectory(prefix="thjit-doc-") as d:
        try:
            r = subprocess.run([exe], cwd=d, capture_output=True, text=True,
                               timeout=300)
        except subprocess.TimeoutExpired:
            return "ran for more than 300 s"
        except OSError as e:
            return "could not run %s: %s" % (exe, e)
    if r.returncode != 0:
        return "exited with status %d:\n%s%s" % (r.returncode,
                                                  r.stdout[-2000:], r.stderr)
    return output_problem(sample, r.stdout)


def check_excerpt(root, block):
    path = block.options["excerpt"]
    full = os.path.join(root, path)
    if not os.path.exists(full):
        return "quotes %s, which does not exist" % path
    with open(full, encoding="utf-8") as f:
        source = [l.strip() for l in f.read().split("\n")]
    want = [l.strip() for l in block.lines]
    while want and not want[0]:
        want.pop(0)
    while want and not want[-1]:
        want.pop()
    pos = 0
    for seg in segments(want):
        k = find(seg, source, pos, len(source))
        if k is None:
            break
        pos = k + len(seg)
    else:
        return None
    # Name the first line that is not there, to help fix the quote.
    missing = next((l for l in want if l not in ELLIPSES and
                    l not in source), None)
    return "is not an excerpt of %s%s" % (
        path, ": this line is not in it: " + missing if missing else
        " (its lines are there, but not in this order)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", required=True, help="the repository")
    ap.add_argument("--extract-cpp", metavar="DIR")
    ap.add_argument("--thjit", help="the thjit tool")
    ap.add_argument("--cpp-build", metavar="DIR",
                    help="where CMake built the C++ samples")
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    if args.extract_cpp:
        return extract_cpp(root, args.extract_cpp)
    if not args.thjit or not args.cpp_build:
        ap.error("--thjit and --cpp-build are needed to run the samples")
    thjit = shutil.which(args.thjit)
    if not thjit:
        ap.error("no thjit at %s" % args.thjit)
    thjit = os.path.abspath(thjit)

    samples, excerpts, skipped, problems = collect(root)
    failures = list(problems) + check_links(root, doc_pages(root))
    jobs = []
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        for s in samples:
            if s.lang == "python":
                jobs.append((s, pool.submit(run_python, s, thjit)))
        for name, s in cpp_samples(samples):
            jobs.append((s, pool.submit(run_cpp, root, name, s,
                                        os.path.abspath(args.cpp_build))))
        for b in excerpts:
            jobs.append((b, pool.submit(check_excerpt, root, b)))
        for item, job in jobs:
            problem = job.result()
            if problem:
                kind = item.lang if isinstance(item, Sample) else "excerpt"
                failures.append("%s: %s sample %s" % (item.where, kind,
                                                     problem))
    counts = {}
    for s in samples:
        key = s.lang if s.lang == "python" else \
            ("cpp program" if is_program(s) else "cpp fragment")
        counts[key] = counts.get(key, 0) + 1
    print("ran %d python samples and %d C++ programs, compiled %d C++ "
          "fragments, checked %d excerpts, skipped %d" % (
              counts.get("python", 0), counts.get("cpp program", 0),
              counts.get("cpp fragment", 0), len(excerpts), len(skipped)))
    for b in skipped:
        print("skipped %s: %s" % (b.where, b.options["skip"]))
    for f in failures:
        print("error: " + f, file=sys.stderr)
    if failures:
        print("%d of the documentation's samples failed (conventions: "
              "docs/README.md)" % len(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
