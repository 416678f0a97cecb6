//===- Function.cpp - function(): checks, evaluation, updates -------------===//
#include "thjit/Runtime/Function.h"
#include "DebugModes.h"
#include "GPUExecutable.h"
#include "Profile.h"
#include "thjit/CodeGen/CPU.h"
#include "thjit/CodeGen/GPU.h"
#include "thjit/CodeGen/Transfer.h"
#include "thjit/Runtime/CompileCache.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Rewrite/Rewrite.h"
#include "thjit/Support/Format.h"

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <set>
#include <unordered_map>

namespace thjit {

struct Function::Impl {
  std::vector<Var> inputs;
  size_t numOutputs = 0;
  /// The graph as given (givens applied, inline ops expanded), and the
  /// one compiled: after the mode's passes.
  Graph source, graph;
  std::vector<PassStats> passStats;
  std::string mode;
  /// The shared variable each update writes, in order after the outputs.
  std::vector<Var> updated;
  bool allowInputDowncast = false;
  std::string name;
  /// Native code (every mode but REFERENCE), compiled with these options.
  std::shared_ptr<codegen::Executable> native;
  codegen::CompileOptions codegenOptions;
  /// DEBUG and NANGUARD: the values the native code returns after the
  /// outputs (every node's), and the rewrites DEBUG checks.
  std::vector<Var> probed;
  std::vector<RewriteEvent> rewrites;
  /// PROFILE: the timings (kept after the function is gone, for the report
  /// printed at exit).
  std::shared_ptr<FunctionProfile> profile;
  /// "cuda": the graph runs here, keeping in GPU memory the outputs marked
  /// (updates of shared variables living there).
  std::string device = "cpu";
  std::shared_ptr<GPUExecutable> gpu;
  std::vector<bool> keepOnDevice;

  /// The outputs of one of this function's graphs, with its update labels.
  std::vector<GraphResult> results(const Graph &g) const;
};

/// The process-wide compile cache as the code generator sees it.
static const codegen::ObjectCache &objectCache() { return CompileCache::globalForCodegen(); }

static std::mutex &defaultDeviceMutex() {
  static std::mutex m;
  return m;
}
static std::string &defaultDeviceName() {
  static std::string d;
  return d;
}

static void checkDevice(const std::string &device, const std::string &where) {
  if (device != "cpu" && device != "cuda")
    throw ValueError(where + ": unknown device '" + device +
                     "' (expected 'cpu' or 'cuda')");
}

void setDefaultDevice(const std::string &device) {
  checkDevice(device, "setDefaultDevice");
  std::lock_guard<std::mutex> lock(defaultDeviceMutex());
  defaultDeviceName() = device;
}

std::string defaultDevice() {
  {
    std::lock_guard<std::mutex> lock(defaultDeviceMutex());
    if (!defaultDeviceName().empty())
      return defaultDeviceName();
  }
  const char *env = std::getenv("THJIT_DEVICE");
  if (!env || !*env)
    return "cpu";
  checkDevice(env, "THJIT_DEVICE");
  return env;
}

static std::string nameOrPosition(const Var &v, size_t i) {
  if (!v.name().empty())
    return "'" + v.name() + "'";
  return "#" + std::to_string(i + 1);
}

static const std::set<std::string> &knownModes() {
  static const std::set<std::string> modes{
      "", "FAST_RUN", "FAST_COMPILE", "DEBUG", "NANGUARD", "PROFILE",
      "REFERENCE"};
  return modes;
}

Function function(std::vector<Var> inputs, std::vector<Var> outputs,
                  FunctionOptions options) {
  std::string mode = options.mode;
  if (mode.empty())
    if (const char *env = std::getenv("THJIT_MODE"))
      mode = env;
  if (!knownModes().count(mode))
    throw ValueError("function: unknown mode '" + mode + "'" +
                     (options.mode.empty() ? " (from THJIT_MODE)" : "") +
                     "; use FAST_RUN, FAST_COMPILE, DEBUG, NANGUARD, PROFILE or "
                     "REFERENCE");
  std::set<Node *> seen;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Var &in = inputs[i];
    if (!in.defined())
      throw ValueError("function: input " + std::to_string(i + 1) +
                       " is undefined");
    if (in.isShared())
      throw TypeError("function: input " + nameOrPosition(in, i) +
                      " is a shared variable; shared variables are implicit "
                      "inputs of every function and cannot be listed");
    if (!in.isInput())
      throw TypeError("function: input " + nameOrPosition(in, i) +
                      " is not a symbolic input variable (it was computed "
                      "by " +
                      std::string(in.node()->name()) +
                      "); only variables made by scalar(), matrix(), ... can "
                      "be inputs");
    if (!seen.insert(in.node()).second)
      throw ValueError("function: input " + nameOrPosition(in, i) +
                       " is listed twice");
  }
  for (size_t i = 0; i < outputs.size(); ++i)
    if (!outputs[i].defined())
      throw ValueError("function: output " + std::to_string(i + 1) +
                       " is undefined");

  auto impl = std::make_shared<Function::Impl>();
  impl->inputs = inputs;
  impl->numOutputs = outputs.size();
  impl->allowInputDowncast = options.allowInputDowncast;
  impl->name = options.name.empty() ? "f" : options.name;
  impl->mode = mode.empty() ? "FAST_RUN" : mode;

  std::vector<Var> all = outputs;
  std::set<Node *> updatedNodes;
  for (const auto &[sharedVar, value] : options.updates) {
    if (!sharedVar.defined() || !value.defined())
      throw ValueError("function: an update is undefined");
    if (!sharedVar.isShared())
      throw TypeError("function: updates must be shared variables; " +
                      (sharedVar.name().empty() ? std::string("a value")
                                                : sharedVar.name()) +
                      " of type " + sharedVar.type()->str() + " is not");
    if (!updatedNodes.insert(sharedVar.node()).second)
      throw ValueError("function: shared variable " + sharedVar.name() +
                       " is updated twice");
    if (!isAssignable(value.type(), sharedVar.type()))
      throw TypeError(
          "function: the update of shared variable " +
          (sharedVar.name().empty() ? std::string("") : sharedVar.name() + " ") +
          "has type " + value.type()->str() + " but the variable has type " +
          sharedVar.type()->str() +
          (value.dtype() != sharedVar.dtype()
               ? std::string("; cast the new value to ") +
                     dtypeName(sharedVar.dtype())
               : std::string("")) +
          value.node()->whereCreated());
    impl->updated.push_back(sharedVar);
    all.push_back(value);
  }

  Graph g(inputs, all);
  if (!options.givens.empty()) {
    for (const auto &[old, repl] : options.givens)
      if (!old.defined() || !repl.defined())
        throw ValueError("function: a given is undefined");
    g.replaceAll(options.givens);
  }
  // The device: asked for, else where its shared variables live.
  const bool gpuMode =
      impl->mode == "FAST_RUN" || impl->mode == "FAST_COMPILE" || impl->mode == "PROFILE";
  if (!options.device.empty()) {
    checkDevice(options.device, "function");
    if (options.device == "cuda" && !gpuMode)
      throw ValueError("function: mode " + impl->mode +
                       " runs on the CPU only; use FAST_RUN, FAST_COMPILE or "
                       "PROFILE with device='cuda'");
    impl->device = options.device;
  } else if (gpuMode) {
    impl->device = codegen::anyOnGPU(g.sharedVariables()) ? "cuda" : defaultDevice();
  }
  // Ops made from graphs to be inlined are replaced by their graphs (which
  // may hold more of them); on the GPU every one is, so that its graph
  // runs there with the rest (the GPU runtime runs no graph of its own).
  for (bool again = true; again;) {
    std::vector<std::pair<Var, Var>> inlined;
    for (Node *n : g.nodes())
      if (n->kind() == OpKind::OpFromGraph &&
          (n->attrs().graph->inlined || impl->device == "cuda")) {
        std::vector<Var> rs = inlineOpFromGraph(*n);
        for (int r = 0; r < n->numResults(); ++r)
          inlined.push_back({n->result(r), rs[r]});
      }
    again = !inlined.empty();
    if (again)
      g.replaceAll(inlined);
  }
  for (const Var &missing : g.missingInputs())
    throw ValueError("function: the outputs depend on input " +
                     (missing.name().empty() ? std::string("(unnamed)")
                                             : missing.name()) +
                     " of type " + missing.type()->str() +
                     ", which is not among the function's inputs" +
                     missing.node()->whereCreated());
  if (options.onUnusedInput != OnUnusedInput::Ignore) {
    std::set<Node *> used(g.nodes().begin(), g.nodes().end());
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (used.count(inputs[i].node()))
        continue;
      std::string msg = "function: input " + nameOrPosition(inputs[i], i) +
                        " is not used by any output or update";
      if (options.onUnusedInput == OnUnusedInput::Raise)
        throw ValueError(msg + "; pass on_unused_input='ignore' (or 'warn') "
                               "to allow it");
      std::cerr << "warning: " << msg << "\n";
    }
  }
  verifyGraph(g, inferNodeTypes);
  impl->source = g;
  PassOptions passes;
  passes.passes = passesForMode(impl->mode);
  passes.printAfter = pipelineOverrides().printAfter;
  passes.printAfterAll = pipelineOverrides().printAfterAll;
  passes.print = [&](const Graph &h) {
    return printGraph(h, impl->name, impl->results(h));
  };
  passes.extraRewrites = options.extraRewrites;
  if (impl->mode == "DEBUG")
    passes.onRewrite = [&](const RewriteEvent &e) {
      impl->rewrites.push_back(e);
    };
  impl->passStats = optimizeGraph(g, passes);
  verifyGraph(g, inferNodeTypes);
  impl->graph = std::move(g);

  if (impl->device == "cuda") {
    impl->keepOnDevice.assign(impl->graph.outputs().size(), false);
    for (size_t i = 0; i < impl->updated.size(); ++i)
      impl->keepOnDevice[impl->numOutputs + i] =
          impl->updated[i].node()->sharedStorage()->device() == "cuda";
    impl->graph = codegen::transferToGPU(impl->graph, impl->keepOnDevice);
    verifyGraph(impl->graph, inferNodeTypes);
  }
  // Updates may be written over the old values, except where the checks
  // after a call (DEBUG, NANGUARD) may still fail it.
  codegen::CompileOptions &codegenOptions = impl->codegenOptions;
  if (impl->mode != "DEBUG" && impl->mode != "NANGUARD") {
    codegenOptions.updates.resize(impl->numOutputs);
    codegenOptions.updates.insert(codegenOptions.updates.end(),
                                  impl->updated.begin(), impl->updated.end());
  }
  codegenOptions.profile = impl->mode == "PROFILE";
  codegenOptions.allowTF32 = options.allowTF32;
  if (impl->mode == "DEBUG" || impl->mode == "NANGUARD") {
    impl->probed = debugmode::probedValues(impl->graph);
    std::vector<Var> all = impl->graph.outputs();
    all.insert(all.end(), impl->probed.begin(), impl->probed.end());
    impl->native = codegen::compileForCPU(Graph(inputs, all), &objectCache());
  } else if (impl->mode == "PROFILE") {
    auto start = std::chrono::steady_clock::now();
    if (impl->device == "cuda")
      impl->gpu = std::make_shared<GPUExecutable>(impl->graph, codegenOptions, &objectCache());
    else
      impl->native = codegen::compileForCPU(impl->graph, &objectCache(), codegenOptions);
    auto profile = std::make_shared<FunctionProfile>();
    profile->name = impl->name;
    profile->passes = impl->passStats;
    profile->native = impl->native;
    profile->gpu = impl->gpu;
    profile->codegenSeconds = std::chrono::duration<double>(
                                  std::chrono::steady_clock::now() - start)
                                  .count();
    impl->profile = profile;
    FunctionProfile::registerForExit(profile);
  } else if (impl->device == "cuda") {
    impl->gpu = std::make_shared<GPUExecutable>(impl->graph, codegenOptions, &objectCache());
  } else if (impl->mode != "REFERENCE") {
    impl->native = codegen::compileForCPU(impl->graph, &objectCache(), codegenOptions);
  }
  Function f;
  f.impl = impl;
  return f;
}

const std::vector<Var> &Function::inputs() const { return impl->inputs; }
size_t Function::numOutputs() const { return impl->numOutputs; }
const std::string &Function::name() const { return impl->name; }
const Graph &Function::graph() const { return impl->graph; }

const Graph &Function::sourceGraph() const { return impl->source; }
const std::string &Function::mode() const { return impl->mode; }
const std::string &Function::device() const { return impl->device; }
const std::vector<PassStats> &Function::passStats() const {
  return impl->passStats;
}

std::vector<GraphResult> Function::Impl::results(const Graph &g) const {
  std::vector<GraphResult> results;
  const auto &outs = g.outputs();
  for (size_t i = 0; i < numOutputs; ++i)
    results.push_back({"", outs[i]});
  for (size_t i = 0; i < updated.size(); ++i) {
    std::string label = updated[i].name();
    if (label.empty())
      label = "%shared";
    results.push_back({label, outs[numOutputs + i]});
  }
  return results;
}

std::string Function::emit(const std::string &what) const {
  if (what == "plan" && impl->gpu)
    return impl->gpu->plan();
  if (what == "plan")
    return codegen::emitPlan(impl->graph, impl->codegenOptions);
  if (what == "llvm")
    return codegen::emitLLVM(impl->graph, true, impl->codegenOptions);
  if (what == "asm")
    return codegen::emitAssembly(impl->graph, impl->codegenOptions);
  if (what == "ptx" && impl->gpu)
    return impl->gpu->ptx();
  if (what == "ptx")
    return codegen::emitPTX(impl->graph, codegen::gpuArch(),
                            impl->codegenOptions);
  throw ValueError("emit: expected 'plan', 'llvm', 'asm' or 'ptx', not '" +
                   what + "'");
}

std::string Function::dot(bool optimized) const {
  const Graph &g = optimized ? impl->graph : impl->source;
  return printDot(g, impl->name, impl->results(g));
}

std::string Function::str(bool optimized) const {
  const Graph &g = optimized ? impl->graph : impl->source;
  return printGraph(g, impl->name, impl->results(g));
}

bool Function::argumentFits(size_t i, const NDArray &arg) const {
  const TensorType *t = impl->inputs[i].type();
  return arg.defined() && arg.dtype() == t->dtype() &&
         arg.ndim() == t->ndim() && typeMismatch(arg, t).empty();
}

NDArray Function::convertArgument(size_t i, const NDArray &arg) const {
  const Var &in = impl->inputs[i];
  const TensorType *t = in.type();
  // The common case first: the call path builds no message.
  if (argumentFits(i, arg))
    return arg;
  std::string who = impl->name + ": input " + nameOrPosition(in, i) +
                    " (argument " + std::to_string(i + 1) + ")";
  std::string got = std::string(dtypeName(arg.dtype())) + " array of shape " +
                    formatShape(arg.shape());
  if (!arg.defined())
    throw TypeError(who + " has no value");
  if (arg.ndim() != t->ndim())
    throw TypeError(who + " has type " + t->str() + " (rank " +
                    std::to_string(t->ndim()) + ") but got a " + got);
  NDArray value = arg;
  if (arg.dtype() != t->dtype()) {
    bool lossless = promoteTypes(arg.dtype(), t->dtype()) == t->dtype();
    if (!lossless && !impl->allowInputDowncast)
      throw TypeError(who + " has type " + t->str() + " but got a " + got +
                      "; converting " + dtypeName(arg.dtype()) + " to " +
                      dtypeName(t->dtype()) +
                      " may lose precision (cast the data, or pass "
                      "allow_input_downcast=True)");
    value = arg.astype(t->dtype());
  }
  std::string why = typeMismatch(value, t);
  if (!why.empty())
    throw TypeError(who + " has type " + t->str() + " but got a " + got +
                    ": " + why);
  return value;
}

std::vector<NDArray> Function::operator()(const std::vector<NDArray> &args) const {
  if (args.size() != impl->inputs.size())
    throw TypeError(impl->name + "() takes " +
                    std::to_string(impl->inputs.size()) + " argument" +
                    (impl->inputs.size() == 1 ? "" : "s") + " but " +
                    std::to_string(args.size()) +
                    (args.size() == 1 ? " was" : " were") + " given");
  // Only PROFILE reads the clock: the call path stays as short as it was.
  std::chrono::steady_clock::time_point start;
  if (impl->profile)
    start = std::chrono::steady_clock::now();
  // Arguments of the right types are passed as they are (no copies).
  std::vector<NDArray> convertedArgs;
  for (size_t i = 0; i < args.size(); ++i) {
    if (convertedArgs.empty()) {
      if (argumentFits(i, args[i]))
        continue;
      convertedArgs.assign(args.begin(), args.begin() + i);
    }
    convertedArgs.push_back(convertArgument(i, args[i]));
  }
  const std::vector<NDArray> &converted =
      convertedArgs.empty() ? args : convertedArgs;
  std::vector<NDArray> results;
  // GPU functions: the updates kept in GPU memory, by output (else null).
  std::vector<std::shared_ptr<const DeviceValue>> onDevice;
  if (impl->gpu) {
    for (GPUResult &r : impl->gpu->run(converted, impl->keepOnDevice)) {
      results.push_back(std::move(r.host));
      onDevice.push_back(std::move(r.device));
    }
  } else if (impl->native) {
    results = codegen::run(*impl->native, converted);
    if (!impl->probed.empty()) {
      size_t n = impl->graph.outputs().size();
      std::vector<NDArray> probes(results.begin() + n, results.end());
      results.resize(n);
      debugmode::CallValues values(impl->inputs, converted, impl->probed,
                                   probes);
      if (impl->mode == "NANGUARD")
        debugmode::nanGuard(impl->name, impl->inputs, impl->probed, values);
      if (impl->mode == "DEBUG") {
        debugmode::checkRewrites(impl->name, impl->rewrites, impl->inputs,
                                 converted);
        debugmode::checkKernels(impl->name, impl->probed, values);
      }
    }
  } else {
    results = evaluateGraph(impl->graph, converted);
    // Results own their memory: no aliasing of arguments, shared values,
    // constants or one another.
    for (NDArray &r : results)
      if (r.buffer().use_count() > 1 || !r.isContiguous())
        r = r.copy();
  }
  convertedArgs.clear();
  for (size_t i = 0; i < impl->updated.size(); ++i) {
    NDArray &v = results[impl->numOutputs + i];
    if (!v.defined()) // in GPU memory, computed with the variable's type
      continue;
    std::string why = typeMismatch(v, impl->updated[i].type());
    if (!why.empty())
      throw TypeError(impl->name + ": the new value of shared variable " +
                      impl->updated[i].name() + " does not fit its type " +
                      impl->updated[i].type()->str() + ": " + why);
  }
  for (size_t i = 0; i < impl->updated.size(); ++i) {
    const std::shared_ptr<SharedStorage> &storage =
        impl->updated[i].node()->sharedStorage();
    size_t o = impl->numOutputs + i;
    if (o < onDevice.size() && onDevice[o])
      storage->setDeviceValue(onDevice[o], false);
    else
      storage->set(results[o]);
  }
  results.resize(impl->numOutputs);
  if (impl->profile)
    impl->profile->recordCall(std::chrono::duration<double>(
                                  std::chrono::steady_clock::now() - start)
                                  .count());
  return results;
}

std::string Function::profileReport() const {
  if (!impl->profile)
    throw ValueError(impl->name + ": no profile: compile it with "
                                  "mode='PROFILE' (or profile=True)");
  impl->profile->callsReported = impl->profile->calls;
  return impl->profile->report();
}

} // namespace thjit
