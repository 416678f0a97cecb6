//===- Executable.cpp - Calling compiled code; the runtime it calls -------===//
///
/// \file
/// A call fills the frame with the descriptors of the inputs and shared
/// values, calls the entry point once, and wraps the outputs' descriptors in
/// NDArrays. Compiled code calls back for buffers (thjit_rt_alloc: a slot's
/// buffer is reused while nothing outside holds it, so steady-state calls
/// allocate nothing) and for steps it does not generate (thjit_rt_step:
/// BLAS, or the reference kernel). A failed step is re-run with the
/// reference kernel, which raises the same exception the REFERENCE mode
/// does.
///
//===----------------------------------------------------------------------===//
#include "Blas.h"
#include "Engine.h"
#include "Lowering.h"
#include "thjit/CodeGen/CPU.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Support/ThreadPool.h"

#include <cblas.h>

#include "llvm/Config/llvm-config.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <link.h>
#include <unistd.h>
#include <mutex>
#include <unordered_map>

namespace thjit::codegen {

using EntryFn = int32_t (*)(void *state, int64_t *frame);

struct CallState;

class Executable {
public:
  Plan plan;
  std::string name;
  std::shared_ptr<LoadedCode> code;
  EntryFn entry = nullptr;
  /// The graph of each op_from_graph step, compiled on its own.
  std::unordered_map<const Node *, std::shared_ptr<Executable>> graphOps;

  /// One reusable call state; concurrent calls make their own.
  mutable std::mutex idleMutex;
  mutable std::unique_ptr<CallState> idle;

  /// PROFILE: the nanoseconds each step took, summed over `calls` calls.
  mutable std::mutex profileMutex;
  mutable std::vector<int64_t> stepNanos;
  mutable int64_t calls = 0;
};

struct CallState {
  const Executable *exe;
  std::vector<int64_t> frame;
  std::vector<std::shared_ptr<Buffer>> slots;
  /// Per slot, a buffer last handed out and still held (see allocate).
  std::vector<std::shared_ptr<Buffer>> spares;
  /// The call's arguments (the caller's vector, alive during the call).
  const std::vector<NDArray> *inputs = nullptr;
  std::vector<NDArray> shareds;
  /// Results of runtime steps by value (only those set this call).
  std::vector<NDArray> runtimeResults;
  std::vector<int> setResults;
  /// The shared variables this call writes over (SharedStorage::beginWrite).
  std::vector<int> writing;
  std::exception_ptr error;
  /// PROFILE: when the last step ended, and each step's time this call.
  int64_t lastTick = 0;
  std::vector<int64_t> stepNanos;

  explicit CallState(const Executable &e)
      : exe(&e), frame(e.plan.frameSize), slots(e.plan.numSlots),
        spares(e.plan.numSlots),
        runtimeResults(e.plan.values.size()) {
    for (size_t c = 0; c < e.plan.constants.size(); ++c)
      writeDescriptor(e.plan.constantValues[c], e.plan.constants[c]);
  }

  void writeDescriptor(int v, const NDArray &a) {
    const Plan &p = exe->plan;
    frame[p.dataWord(v)] = (int64_t)(intptr_t)a.data();
    for (int i = 0; i < a.ndim(); ++i) {
      frame[p.shapeWord(v, i)] = a.dim(i);
      frame[p.strideWord(v, i)] = a.strides()[i];
    }
  }

  const std::shared_ptr<Buffer> &rootBuffer(int v) const {
    const ValueInfo &vi = exe->plan.values[v];
    switch (vi.root) {
    case RootKind::Input:
      return (*inputs)[vi.rootIndex].buffer();
    case RootKind::Shared:
      return shareds[vi.rootIndex].buffer();
    case RootKind::Constant:
      return exe->plan.constants[vi.rootIndex].buffer();
    case RootKind::Slot:
      if (vi.inPlaceShared >= 0 &&
          frame[exe->plan.sharedInPlaceWords[vi.inPlaceShared]])
        return shareds[vi.inPlaceShared].buffer();
      return slots[vi.rootIndex];
    case RootKind::RuntimeResult:
      break;
    }
    return runtimeResults[vi.rootIndex].buffer();
  }

  /// Value v as an NDArray sharing the memory it lives in.
  NDArray array(int v) const {
    const Plan &p = exe->plan;
    const ValueInfo &vi = p.values[v];
    Shape shape(vi.ndim), strides(vi.ndim);
    for (int i = 0; i < vi.ndim; ++i) {
      shape[i] = frame[p.shapeWord(v, i)];
      strides[i] = frame[p.strideWord(v, i)];
    }
    return NDArray(rootBuffer(v), (std::byte *)(intptr_t)frame[p.dataWord(v)],
                   vi.dtype, shape, strides);
  }

  void *allocate(int slot, int64_t bytes) {
    std::shared_ptr<Buffer> &buf = slots[slot];
    std::shared_ptr<Buffer> &spare = spares[slot];
    size_t want = std::max<int64_t>(bytes, 1);
    auto fits = [&](const std::shared_ptr<Buffer> &b) {
      return b && b.use_count() == 1 && b->size() >= want;
    };
    // Reuse unless a caller still holds the last result in this slot. A
    // held buffer becomes the spare, taken back once its holder lets go:
    // a shared variable updated every call alternates between two buffers.
    if (fits(buf))
      return buf->data();
    if (fits(spare)) {
      std::swap(buf, spare);
    } else {
      if (buf && buf.use_count() > 1)
        spare = buf;
      buf = std::make_shared<Buffer>(want);
    }
    return buf->data();
  }

  /// A contiguous array in value v's slot holding `value`.
  void storeInSlot(int v, const NDArray &value) {
    const ValueInfo &vi = exe->plan.values[v];
    allocate(vi.rootIndex, (int64_t)value.nbytes());
    NDArray dst(slots[vi.rootIndex], slots[vi.rootIndex]->data(), vi.dtype,
                value.shape(), contiguousStrides(value.shape()));
    dst.assign(value);
    writeDescriptor(v, dst);
  }

  /// Takes the right to write over the shared variables the plan may
  /// update in place, where nothing else holds them; says which in the
  /// frame.
  void beginWrites() {
    const Plan &p = exe->plan;
    for (size_t j = 0; j < p.shareds.size(); ++j) {
      int word = p.sharedInPlaceWords[j];
      if (word < 0)
        continue;
      bool may = p.shareds[j].node()->sharedStorage()->beginWrite(shareds[j]);
      frame[word] = may;
      if (may)
        writing.push_back((int)j);
    }
  }

  void clearCallValues() {
    for (int j : writing)
      exe->plan.shareds[j].node()->sharedStorage()->endWrite();
    writing.clear();
    for (int v : setResults)
      runtimeResults[v] = NDArray();
    setResults.clear();
    inputs = nullptr;
    shareds.clear();
    error = nullptr;
  }
};

/// Keeps the result of a runtime step.
static void setResult(CallState &st, int v, const NDArray &value) {
  st.runtimeResults[v] = value;
  st.setResults.push_back(v);
  st.writeDescriptor(v, value);
}

/// The write of step n's result over its operand x = in[0] (a subtensor
/// write's x, gemm's C): checks (IndexError, ShapeError), and the write
/// when `write`. The commit group calls it in both phases: the first only
/// checks, the second writes.
static void writeOver(const Node &n, const std::vector<NDArray> &in,
                      bool write) {
  if (n.kind() != OpKind::Gemm) {
    SubtensorWrite w = prepareSubtensorWrite(n, in[0], in);
    if (write)
      w.commit();
    return;
  }
  if (gemmOver(in, write))
    return;
  NDArray r = evaluateNode(n, in)[0]; // raises for what BLAS refused
  if (write)
    NDArray(in[0]).assign(r);
}

/// A dot or gemm of float32/float64 vectors and matrices BLAS reads as
/// they are, run straight from the frame's descriptors: no NDArray and no
/// reference count is made (the steady-state path of a training step).
/// False, with nothing written, for anything else: the general path then
/// copies, converts, or raises the reference kernel's error.
static bool fastBlasStep(CallState &st, const Step &step, int phases,
                         bool overShared) {
  const Plan &p = st.exe->plan;
  const Node &n = *step.node;
  bool gemm = n.kind() == OpKind::Gemm;
  if ((!gemm && n.kind() != OpKind::Dot) || traceBlas())
    return false;
  int r = step.results[0];
  const ValueInfo &result = p.values[r];
  DType t = result.dtype;
  if (!isBlasDType(t) || result.root != RootKind::Slot)
    return false;
  const int64_t *frame = st.frame.data();
  auto operand = [&](int v) {
    BlasOperand m;
    m.data = (std::byte *)(intptr_t)frame[p.dataWord(v)];
    m.ndim = p.values[v].ndim;
    for (int i = 0; i < m.ndim && i < 2; ++i) {
      m.dim[i] = frame[p.shapeWord(v, i)];
      m.stride[i] = frame[p.strideWord(v, i)];
    }
    return m;
  };
  auto sameType = [&](int v, int ndim) {
    return p.values[v].dtype == t && (ndim < 0 || p.values[v].ndim == ndim);
  };
  int first = gemm ? 2 : 0;
  int va = step.operands[first], vb = step.operands[first + 1];
  if (!sameType(va, -1) || !sameType(vb, -1))
    return false;
  BlasOperand a = operand(va), b = operand(vb);
  if (a.ndim < 1 || a.ndim > 2 || b.ndim < 1 || b.ndim > 2)
    return false;
  int64_t k = a.dim[a.ndim - 1];
  // (A product of inner size 1 of matrices is a ger: the general path.)
  if (k != b.dim[0] || k <= (a.ndim == 2 && b.ndim == 2 ? 1 : 0) ||
      k > INT_MAX || !blasReadable(a) || !blasReadable(b))
    return false;
  BlasOperand out;
  out.ndim = 0;
  if (a.ndim == 2)
    out.dim[out.ndim++] = a.dim[0];
  if (b.ndim == 2)
    out.dim[out.ndim++] = b.dim[1];
  int64_t size = 1;
  for (int i = 0; i < out.ndim; ++i) {
    if (out.dim[i] > INT_MAX)
      return false;
    size *= out.dim[i];
  }
  if (size == 0)
    return false;
  out.stride[0] = out.ndim == 2 ? out.dim[1] : 1;
  out.stride[1] = 1;
  double alpha = 1, beta = 0;
  BlasOperand c;
  if (gemm) {
    auto number = [&](int v, double &x) {
      if (!sameType(v, 0))
        return false;
      const void *d = (const void *)(intptr_t)frame[p.dataWord(v)];
      x = t == DType::Float64 ? *(const double *)d : *(const float *)d;
      return true;
    };
    int vc = step.operands[0];
    if (!number(step.operands[1], alpha) || !number(step.operands[4], beta) ||
        !sameType(vc, out.ndim))
      return false;
    c = operand(vc);
    for (int i = 0; i < out.ndim; ++i)
      if (c.dim[i] != out.dim[i])
        return false;
  }
  if (alpha == 0)
    return false;
  auto setDescriptor = [&](const BlasOperand &m) {
    st.frame[p.dataWord(r)] = (int64_t)(intptr_t)m.data;
    for (int i = 0; i < m.ndim; ++i) {
      st.frame[p.shapeWord(r, i)] = m.dim[i];
      st.frame[p.strideWord(r, i)] = m.stride[i];
    }
  };
  if (overShared) {
    // C is the variable's memory, contiguous (beginWrite saw to it); the
    // first phase only checks, the second writes.
    if (phases & 2)
      blasGemm(t, alpha, a, b, beta, c);
    setDescriptor(c);
    return true;
  }
  if (step.inPlace == 0) // over a dead value: the general path sees whether
    return false;        // anything else holds it
  size_t bytes = (size_t)size * itemSize(t);
  out.data = (std::byte *)st.allocate(result.rootIndex, (int64_t)bytes);
  if (gemm && beta != 0) {
    bool contiguous = c.stride[out.ndim - 1] == 1 &&
                      (out.ndim == 1 || c.stride[0] == out.stride[0]);
    bool apart = c.data + bytes <= out.data || out.data + bytes <= c.data;
    if (!contiguous || !apart)
      return false;
    std::memcpy(out.data, c.data, bytes);
  }
  blasGemm(t, alpha, a, b, beta, out);
  setDescriptor(out);
  return true;
}

/// Phases (Lowering's Phase bits): 1 checks and, outside the commit group,
/// does everything; 2 does a commit-group step's writes.
static int32_t runStep(CallState &st, int s, int phases) {
  const Plan &p = st.exe->plan;
  const Step &step = p.steps[s];
  // Written over x: a shared variable the call may write, or a value
  // nothing reads after this step, when nothing else holds its memory (only
  // the call's own holder and `operands`).
  const ValueInfo *x =
      step.inPlace == 0 ? &p.values[step.operands[0]] : nullptr;
  bool overShared = x && x->root == RootKind::Shared &&
                    st.frame[p.sharedInPlaceWords[x->rootIndex]];
  // The commit group's second phase writes shared variables only: the first
  // checked the write (the operands have not changed since), and did
  // everything else.
  if (!(phases & 1) && !overShared)
    return 0;
  if (isBlasProduct(step.node->kind()) &&
      fastBlasStep(st, step, phases, overShared))
    return 0;
  std::vector<NDArray> operands;
  operands.reserve(step.operands.size());
  for (int v : step.operands)
    operands.push_back(st.array(v));
  if (!(phases & 1)) {
    writeOver(*step.node, operands, /*write=*/true);
    return 0;
  }
  const Node &n = *step.node;
  if (x) {
    if (overShared || (x->root != RootKind::Shared &&
                       operands[0].buffer().use_count() == 2)) {
      writeOver(n, operands, (phases & 2) || !overShared);
      int r = step.results[0];
      if (p.values[r].root == RootKind::RuntimeResult)
        setResult(st, r, operands[0]);
      else // a slot's value, which lives in the variable's memory now
        st.writeDescriptor(r, operands[0]);
      return 0;
    }
  }
  if (isBlasProduct(n.kind())) {
    // The result goes into the step's slot: BLAS writes there directly.
    DType t = p.values[step.results[0]].dtype;
    if (isBlasDType(t)) {
      Shape shape = productShape(n, operands);
      int v = step.results[0];
      int slot = p.values[v].rootIndex;
      st.allocate(slot, shapeSize(shape) * (int64_t)itemSize(t));
      NDArray out(st.slots[slot], st.slots[slot]->data(), t, shape,
                  contiguousStrides(shape));
      if (blasProduct(n, operands, out)) {
        st.writeDescriptor(v, out);
        return 0;
      }
    }
    st.storeInSlot(step.results[0], evaluateNode(n, operands)[0]);
    return 0;
  }
  std::vector<NDArray> results =
      n.kind() == OpKind::OpFromGraph
          ? run(*st.exe->graphOps.at(&n), operands)
          : evaluateNode(n, operands);
  for (size_t r = 0; r < results.size(); ++r)
    setResult(st, step.results[r], results[r]);
  return 0;
}

// ---- compiling and calling --------------------------------------------------

/// Every module names its entry point the same: each object is loaded into
/// its own JIT dylib, and a cached object stays valid.
constexpr const char *kEntrySymbol = "thjit_entry";

static std::unique_ptr<llvm::Module> buildModule(const Plan &plan,
                                                 llvm::LLVMContext &ctx) {
  std::unique_ptr<llvm::Module> m = lowerToLLVM(plan, kEntrySymbol, ctx);
  Engine::get().configure(*m);
  return m;
}

/// The GNU build ID of the binary this code is linked into (ld writes one by
/// default): any rebuild of thjit changes it, so a cache never hands an
/// object made by other code generation to this one. "" when there is none.
static std::string buildId() {
  struct Search {
    uintptr_t address;
    std::string id;
  } search{(uintptr_t)&buildId, ""};
  dl_iterate_phdr(
      [](dl_phdr_info *info, size_t, void *data) -> int {
        auto *s = static_cast<Search *>(data);
        bool mine = false;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
          mine = mine || (ph.p_type == PT_LOAD && s->address >= lo &&
                          s->address < lo + ph.p_memsz);
        }
        if (!mine)
          return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE)
            continue;
          const char *p = (const char *)(info->dlpi_addr + ph.p_vaddr);
          const char *end = p + ph.p_memsz;
          while (p + sizeof(ElfW(Nhdr)) <= end) {
            auto *n = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof(ElfW(Nhdr));
            const char *desc = name + ((n->n_namesz + 3) & ~3u);
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
                std::memcmp(name, "GNU", 4) == 0) {
              static const char *hex = "0123456789abcdef";
              for (unsigned k = 0; k < n->n_descsz; ++k) {
                s->id += hex[(unsigned char)desc[k] >> 4];
                s->id += hex[(unsigned char)desc[k] & 15];
              }
              return 1;
            }
            p = desc + ((n->n_descsz + 3) & ~3u);
          }
        }
        return 1;
      },
      &search);
  return search.id;
}

std::vector<StepProfile> stepProfile(const Executable &exe) {
  std::lock_guard<std::mutex> lock(exe.profileMutex);
  std::vector<StepProfile> out;
  const Plan &p = exe.plan;
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const Step &s = p.steps[i];
    StepProfile sp;
    sp.node = s.origin ? s.origin : s.node;
    sp.producer = s.producer;
    sp.generated = s.kind != StepKind::Runtime;
    sp.calls = exe.calls;
    sp.seconds = i < exe.stepNanos.size() ? exe.stepNanos[i] * 1e-9 : 0;
    out.push_back(sp);
  }
  return out;
}

static Plan planOf(const Graph &g, const CompileOptions &options) {
  Plan p = makePlan(g, options.updates);
  p.profile = options.profile;
  return p;
}

std::string objectKey(const Graph &g, const CompileOptions &options) {
  static const std::string build = buildId();
  std::vector<GraphResult> results;
  for (const Var &o : g.outputs())
    results.push_back({"", o});
  std::string updates;
  for (int j : updateIndices(g, options.updates))
    updates += " " + std::to_string(j);
  return "thjit " THJIT_VERSION " object 2 build " + build +
         "\nLLVM " LLVM_VERSION_STRING "\n" +
         Engine::get().hostDescription() + "\n" +
         (options.profile ? "profile\n" : "") + (options.allowTF32 ? "tf32\n" : "") +
         "updates" + updates + "\n" +
         printGraph(g, "f", results);
}

std::shared_ptr<Executable> compileForCPU(const Graph &g,
                                          const ObjectCache *cache,
                                          const CompileOptions &options) {
  auto exe = std::make_shared<Executable>();
  exe->plan = planOf(g, options);
  for (const Step &s : exe->plan.steps)
    if (s.node->kind() == OpKind::OpFromGraph && !exe->graphOps.count(s.node)) {
      const OpGraph &inner = *s.node->attrs().graph;
      exe->graphOps[s.node] =
          compileForCPU(Graph(inner.inputs, inner.outputs), cache);
    }
  std::string key = cache ? objectKey(g, options) : std::string();
  std::optional<std::string> object;
  if (cache && cache->lookup)
    object = cache->lookup(key);
  if (object) {
    try {
      exe->code = Engine::get().load(*object, kEntrySymbol);
    } catch (const CompileError &) {
      object.reset(); // an object this LLVM cannot load: compile afresh
    }
  }
  if (!object) {
    llvm::LLVMContext ctx;
    std::unique_ptr<llvm::Module> m = buildModule(exe->plan, ctx);
    Engine::get().optimize(*m);
    object = Engine::get().emitObject(*m);
    exe->code = Engine::get().load(*object, kEntrySymbol);
    if (cache && cache->store)
      cache->store(key, *object);
  }
  exe->entry = reinterpret_cast<EntryFn>(exe->code->address());
  return exe;
}

std::vector<NDArray> run(const Executable &exe,
                         const std::vector<NDArray> &inputs) {
  const Plan &p = exe.plan;
  std::unique_ptr<CallState> st;
  {
    std::lock_guard<std::mutex> lock(exe.idleMutex);
    st = std::move(exe.idle);
  }
  if (!st)
    st = std::make_unique<CallState>(exe);
  st->inputs = &inputs;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (p.inputValues[i] >= 0) // else unused
      st->writeDescriptor(p.inputValues[i], inputs[i]);
  for (size_t j = 0; j < p.shareds.size(); ++j) {
    st->shareds.push_back(p.shareds[j].node()->sharedStorage()->get());
    st->writeDescriptor(p.sharedValues[j], st->shareds.back());
  }
  // After every get: a call never waits for a variable while it holds the
  // right to write another (two calls would wait for each other).
  st->beginWrites();
  auto release = [&] {
    st->clearCallValues();
    std::lock_guard<std::mutex> lock(exe.idleMutex);
    if (!exe.idle)
      exe.idle = std::move(st);
  };
  int32_t status = exe.entry(st.get(), st->frame.data());
  if (status != 0) {
    std::exception_ptr error = st->error;
    int s = status - 1;
    if (!error) {
      // Generated code found bad values: the reference kernel says why.
      try {
        const Step &step = p.steps[s];
        std::vector<NDArray> operands;
        for (int v : step.origin ? step.originOperands : step.operands)
          operands.push_back(st->array(v));
        // The user's nodes, where a rewrite fused several into one.
        auto evaluateUsers = [](const Node &n, const std::vector<NDArray> &in) {
          return n.unfused() ? evaluateGraph(*n.unfused(), in)
                             : evaluateNode(n, in);
        };
        if (step.origin) {
          evaluateNode(*step.origin, operands);
        } else {
          if (step.producer) // a fused producer runs first
            operands = evaluateUsers(*step.producer, operands);
          evaluateUsers(*step.node, operands);
        }
        error = std::make_exception_ptr(RuntimeError(
            "internal error: compiled code of " +
            std::string(p.steps[s].node->name()) +
            " failed where its reference kernel succeeded"));
      } catch (...) {
        error = std::current_exception();
      }
    }
    release();
    std::rethrow_exception(error);
  }
  if (p.profile && !st->stepNanos.empty()) {
    std::lock_guard<std::mutex> lock(exe.profileMutex);
    exe.stepNanos.resize(p.steps.size(), 0);
    for (size_t i = 0; i < p.steps.size(); ++i)
      exe.stepNanos[i] += st->stepNanos[i];
    ++exe.calls;
    std::fill(st->stepNanos.begin(), st->stepNanos.end(), 0);
  }
  // Outputs own their memory: a slot's buffer is handed over when no other
  // output shares it; anything else is copied.
  // The new value of a shared variable written over the old one is that
  // variable's memory.
  std::vector<NDArray> outs;
  std::vector<const Buffer *> given;
  outs.reserve(p.outputValues.size());
  given.reserve(p.outputValues.size());
  for (size_t o = 0; o < p.outputValues.size(); ++o) {
    int v = p.outputValues[o];
    NDArray a = st->array(v);
    RootKind root = p.values[v].root;
    bool fresh = std::find(given.begin(), given.end(), a.buffer().get()) ==
                 given.end();
    bool owned = (root == RootKind::Slot || root == RootKind::RuntimeResult) &&
                 a.isContiguous() && a.data() == a.buffer()->data() && fresh;
    for (const NDArray &in : *st->inputs)
      owned = owned && in.buffer() != a.buffer();
    for (const NDArray &sh : st->shareds)
      owned = owned && sh.buffer() != a.buffer();
    int j = p.outputUpdates[o];
    if (j >= 0 && fresh && a.buffer() == st->shareds[j].buffer() &&
        std::find(st->writing.begin(), st->writing.end(), j) != st->writing.end())
      owned = true;
    if (!owned)
      a = a.copy();
    else if (j >= 0 && p.sharedInPlaceWords[j] >= 0 && root == RootKind::Slot &&
             a.buffer() == st->slots[p.values[v].rootIndex])
      // Not written in place this time (the old value was held): the
      // variable alone holds the new value, so that the next call may.
      st->slots[p.values[v].rootIndex].reset();
    given.push_back(a.buffer().get());
    outs.push_back(a);
  }
  release();
  return outs;
}

std::string emitLLVM(const Graph &g, bool optimized,
                     const CompileOptions &options) {
  Plan plan = planOf(g, options);
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = buildModule(plan, ctx);
  if (optimized)
    Engine::get().optimize(*m);
  std::string text;
  llvm::raw_string_ostream os(text);
  m->print(os, nullptr);
  return text;
}

std::string emitAssembly(const Graph &g, const CompileOptions &options) {
  Plan plan = planOf(g, options);
  llvm::LLVMContext ctx;
  std::unique_ptr<llvm::Module> m = buildModule(plan, ctx);
  Engine::get().optimize(*m);
  return Engine::get().emitAssembly(*m);
}

std::string emitPlan(const Graph &g, const CompileOptions &options) {
  return printPlan(planOf(g, options));
}

std::string hostTargetDescription() { return Engine::get().hostDescription(); }

} // namespace thjit::codegen

using thjit::codegen::CallState;

/// The size of the last-level cache one core sees (sysfs: sysconf reports
/// every L3 of the package in some VMs), or THJIT_STREAMING_BYTES.
static int64_t streamingThreshold() {
  if (const char *e = std::getenv("THJIT_STREAMING_BYTES"))
    if (*e)
      return std::max<int64_t>(0, std::atoll(e));
  for (const char *level : {"index3", "index2"}) {
    std::string path = std::string("/sys/devices/system/cpu/cpu0/cache/") + level + "/size";
    if (FILE *f = std::fopen(path.c_str(), "r")) {
      long long n = 0;
      char unit = 0;
      int got = std::fscanf(f, "%lld%c", &n, &unit);
      std::fclose(f);
      if (got >= 1 && n > 0)
        return n << (unit == 'K' ? 10 : unit == 'M' ? 20 : 0);
    }
  }
  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  return l3 > 0 ? l3 : int64_t(32) << 20;
}

extern "C" {
int64_t thjit_rt_streaming_bytes = streamingThreshold();
}

extern "C" void *thjit_rt_alloc(void *state, int32_t slot, int64_t bytes) {
  auto *st = static_cast<CallState *>(state);
  try {
    return st->allocate(slot, bytes);
  } catch (...) {
    st->error = std::current_exception();
    return nullptr;
  }
}

static int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

extern "C" void thjit_rt_profile(void *state, int32_t step) {
  auto *st = static_cast<CallState *>(state);
  int64_t now = nowNanos();
  if (step >= 0) {
    if (st->stepNanos.size() < st->exe->plan.steps.size())
      st->stepNanos.resize(st->exe->plan.steps.size(), 0);
    st->stepNanos[step] += now - st->lastTick;
  }
  st->lastTick = now;
}

extern "C" int32_t thjit_rt_step(void *state, int32_t step, int32_t phases) {
  auto *st = static_cast<CallState *>(state);
  try {
    return thjit::codegen::runStep(*st, step, phases);
  } catch (...) {
    st->error = std::current_exception();
    return 1;
  }
}
