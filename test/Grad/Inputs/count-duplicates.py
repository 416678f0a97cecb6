"""Reads graphs printed by `thjit --emit=graph` and reports, per graph, how
many nodes it has and every pair of nodes computing the same thing: the
same op, attributes and operands (what printGraph shows after ` = `)."""
import re
import sys

graph, seen, nodes, dups = None, {}, 0, []


def report():
    if graph is None:
        return
    print("%s: %d nodes, %d duplicated" % (graph, nodes, len(dups)))
    for first, second, rhs in dups:
        print("  %s and %s are both %s" % (first, second, rhs))


for line in sys.stdin:
    m = re.match(r"graph (\w+)\(", line)
    if m:
        report()
        graph, seen, nodes, dups = m.group(1), {}, 0, []
        continue
    m = re.match(r"\s+(%\w+): \S+ = (.*)$", line)
    if m and graph is not None:
        name, rhs = m.groups()
        nodes += 1
        if rhs in seen:
            dups.append((seen[rhs], name, rhs))
        else:
            seen[rhs] = name
report()
