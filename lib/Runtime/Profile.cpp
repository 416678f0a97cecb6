//===- Profile.cpp - The PROFILE mode's report ----------------------------===//
#include "Profile.h"
#include "GPUExecutable.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

namespace thjit {

/// A node as the report names it: its op (a fused node's program), and
/// where the user made it.
static std::string describe(const Node &n) {
  std::string s = n.name();
  if (n.kind() == OpKind::Composite)
    s += "{" + n.attrs().program->str() + "}";
  if (s.size() > 60)
    s = s.substr(0, 57) + "...";
  return s + n.whereCreated();
}

static std::string fixed(double v, int decimals, int width) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%*.*f", width, decimals, v);
  return buf;
}

std::string FunctionProfile::report() {
  std::vector<codegen::StepProfile> steps;
  if (native)
    steps = codegen::stepProfile(*native);
  else if (gpu)
    steps = gpu->stepProfile();
  int64_t n;
  double wall;
  {
    std::lock_guard<std::mutex> lock(mutex);
    n = calls;
    wall = callSeconds;
  }
  double inSteps = 0;
  for (const auto &s : steps)
    inSteps += s.seconds;
  std::string out = "Profile of function " + name + ": " + std::to_string(n) +
                    " call" + (n == 1 ? "" : "s") + ", " +
                    fixed(wall * 1e3, 3, 0) + " ms (" +
                    fixed(n ? wall / n * 1e6 : 0, 2, 0) +
                    " us per call, of which " +
                    fixed(n ? inSteps / n * 1e6 : 0, 2, 0) + " in its steps)\n";
  double compile = codegenSeconds;
  std::string perPass;
  for (const PassStats &p : passes) {
    compile += p.seconds;
    perPass += ", " + p.pass + " " + fixed(p.seconds * 1e3, 2, 0) + " (" +
               std::to_string(p.rewrites) + " rewrites)";
  }
  out += "  compile: " + fixed(compile * 1e3, 2, 0) + " ms: code generation " +
         fixed(codegenSeconds * 1e3, 2, 0) + perPass + "\n";
  if (steps.empty())
    return out;
  auto share = [&](double s) {
    return fixed(inSteps > 0 ? 100 * s / inSteps : 0, 1, 5) + "%";
  };
  // Per node, the slowest first.
  std::vector<size_t> order(steps.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return steps[a].seconds > steps[b].seconds;
  });
  out += "  per node:\n    time(ms)   share  per call(us)  kind     node\n";
  for (size_t i : order) {
    const auto &s = steps[i];
    std::string node = describe(*s.node);
    if (s.producer)
      node += " <- " + describe(*s.producer);
    out += "    " + fixed(s.seconds * 1e3, 3, 8) + "  " + share(s.seconds) +
           "  " + fixed(n ? s.seconds / n * 1e6 : 0, 2, 12) + "  " +
           (s.generated ? "loop   " : "runtime") + "  " + node + "\n";
  }
  // Per kernel kind (op).
  std::map<std::string, std::pair<double, int>> byOp;
  for (const auto &s : steps) {
    auto &e = byOp[s.node->name()];
    e.first += s.seconds;
    ++e.second;
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> ops(byOp.begin(),
                                                                  byOp.end());
  std::stable_sort(ops.begin(), ops.end(), [](const auto &a, const auto &b) {
    return a.second.first > b.second.first;
  });
  out += "  per op:\n    time(ms)   share  steps  op\n";
  for (const auto &[op, e] : ops)
    out += "    " + fixed(e.first * 1e3, 3, 8) + "  " + share(e.first) + "  " +
           fixed(e.second, 0, 5) + "  " + op + "\n";
  return out;
}

static std::vector<std::shared_ptr<FunctionProfile>> &registry() {
  static std::vector<std::shared_ptr<FunctionProfile>> all;
  return all;
}
static std::mutex registryMutex;

void FunctionProfile::registerForExit(std::shared_ptr<FunctionProfile> p) {
  std::lock_guard<std::mutex> lock(registryMutex);
  if (registry().empty())
    std::atexit([] {
      std::lock_guard<std::mutex> lock(registryMutex);
      std::cout << std::flush;
      for (const auto &p : registry())
        if (p->calls > p->callsReported)
          std::cerr << p->report();
      std::cerr << std::flush;
    });
  registry().push_back(std::move(p));
}

} // namespace thjit
