//===- GPUExecutable.cpp - Running a transferred graph on the GPU ---------===//
#include "GPUExecutable.h"
#include "GPUKernels.h"
#include "thjit/CodeGen/GPU.h"
#include "thjit/CodeGen/Plan.h"
#include "thjit/CodeGen/Transfer.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Runtime/CUDA.h"
#include "thjit/Support/Error.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <unordered_set>

namespace thjit {

namespace {

/// A shared variable's value in GPU memory (SharedStorage keeps it).
struct DeviceArrayValue : DeviceValue {
  explicit DeviceArrayValue(cuda::DeviceArray a) : array(std::move(a)) {}
  NDArray toHost() const override { return array.toHost(); }
  cuda::DeviceArray array;
};

/// Threads per block of the grid-stride element-wise kernels.
constexpr unsigned kElemwiseBlock = 256;

/// Split-K (Call::product): for K of at least kSplitMinK, in at most
/// kSplitMaxPieces pieces of at least kSplitMinPiece elements, so that each
/// piece's loop still outweighs writing and summing its partial product.
constexpr int64_t kSplitMinK = 1024, kSplitMinPiece = 256, kSplitMaxPieces = 64;

/// The smallest power of two >= n (1 for n <= 1).
int64_t pow2AtLeast(int64_t n) {
  int64_t p = 1;
  while (p < n)
    p *= 2;
  return p;
}

} // namespace

struct GPUExecutableImpl {
  Graph graph;
  /// The nodes whose results live in GPU memory (codegen::nodesOnGPU).
  std::set<const Node *> onGPU;
  codegen::Plan plan;
  codegen::PTXModule ptx;
  /// For each step, its kernels (contiguous first), or none.
  std::vector<std::vector<const codegen::GPUKernel *>> kernels;
  /// The host scalars kernels take by value (codegen::scalarsByValue).
  std::vector<bool> byValue;
  /// Whether a kernel can flag an element in the status word: only a
  /// signed integer raised to a power can (NumPy refuses negative ones).
  bool canFlag = false;

  // Loaded at the first call.
  mutable std::once_flag loaded;
  mutable std::shared_ptr<cuda::Module> module;
  mutable std::map<std::string, void *> functions;
  /// Constants uploaded once.
  mutable std::mutex constantsMutex;
  mutable std::map<int, cuda::DeviceArray> constants;
  /// PROFILE: an event recorded around every step, and each step's time.
  bool profile = false;
  mutable std::mutex profileMutex;
  mutable std::vector<double> stepSeconds;
  mutable int64_t calls = 0;

  void load() const {
    cuda::requireDevice();
    std::call_once(loaded, [&] {
      module = gpu::loadShared(ptx.ptx);
      for (const codegen::GPUKernel &k : ptx.kernels)
        functions[k.name] = module->function(k.name);
    });
  }
};

GPUExecutable::GPUExecutable(const Graph &g, const codegen::CompileOptions &options,
                             const codegen::ObjectCache *cache)
    : impl(std::make_unique<GPUExecutableImpl>()) {
  impl->graph = g;
  impl->profile = options.profile;
  impl->onGPU = codegen::nodesOnGPU(g);
  impl->plan = codegen::makePlan(g, options.updates, codegen::PlanTarget::GPU);
  impl->byValue = codegen::scalarsByValue(impl->plan, g);
  auto [arch, ptxVersion] = cuda::available()
                                ? gpu::targetFor(cuda::currentDevice())
                                : std::pair(codegen::gpuArch(), codegen::kPTXVersion);
  impl->ptx = codegen::compileForPTX(g, arch, options, ptxVersion, cache);
  impl->kernels.resize(impl->plan.steps.size());
  for (const codegen::GPUKernel &k : impl->ptx.kernels)
    impl->kernels[k.step].push_back(&k);
  for (auto [step, from] : impl->ptx.sharedKernels)
    impl->kernels[step] = impl->kernels[from];
  for (size_t s = 0; s < impl->plan.steps.size(); ++s)
    if (const auto &program = impl->plan.steps[s].program; program && !impl->kernels[s].empty())
      for (const ScalarProgram::Op &op : program->ops)
        impl->canFlag = impl->canFlag || (op.kind == OpKind::Pow && isSignedInt(op.dtype));
}

GPUExecutable::~GPUExecutable() = default;

const std::string &GPUExecutable::ptx() const { return impl->ptx.ptx; }

std::vector<codegen::StepProfile> GPUExecutable::stepProfile() const {
  std::lock_guard<std::mutex> lock(impl->profileMutex);
  std::vector<codegen::StepProfile> out;
  for (size_t s = 0; s < impl->plan.steps.size(); ++s) {
    const codegen::Step &step = impl->plan.steps[s];
    codegen::StepProfile p;
    p.node = codegen::userNode(step);
    p.producer = step.producer;
    p.generated = !impl->kernels[s].empty();
    p.calls = impl->calls;
    p.seconds = s < impl->stepSeconds.size() ? impl->stepSeconds[s] : 0;
    out.push_back(p);
  }
  return out;
}

std::string GPUExecutable::plan() const {
  const codegen::Plan &plan = impl->plan;
  std::vector<std::string> where(plan.steps.size());
  for (const auto &[s, why] : impl->ptx.hostSteps)
    where[s] = why;
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    if (impl->kernels[s].empty())
      continue;
    where[s] = "GPU:";
    for (const codegen::GPUKernel *k : impl->kernels[s])
      where[s] += " " + k->name;
  }
  return codegen::printPlan(plan, where);
}

namespace {

using codegen::GPUKernel;
using codegen::Step;
using Kernels = std::vector<const GPUKernel *>;

/// A value during a call: on the host, on the GPU, or both.
struct Slot {
  NDArray host;
  cuda::DeviceArray device;
  /// Whether `device` is this call's own memory (a kernel's result), and
  /// whether `host` was copied from it: then it can be returned, or kept
  /// by a shared variable, without a copy.
  bool fresh = false, downloaded = false;
};

/// The result shape of an element-wise step by Theano's rule (NumPy's,
/// except that a dim of size 1 broadcasts only where its operand's type
/// says so, as the reference kernels and the CPU check), with `ok` false
/// when the operands do not broadcast together.
Shape broadcastShape(const std::vector<Shape> &shapes,
                     const std::vector<const TensorType *> &types, int R, bool &ok) {
  Shape out(R, 1);
  for (const Shape &s : shapes)
    for (size_t j = 0; j < s.size(); ++j)
      if (s[j] != 1)
        out[R - s.size() + j] = s[j];
  ok = true;
  for (size_t k = 0; k < shapes.size(); ++k)
    for (size_t j = 0; j < shapes[k].size(); ++j)
      ok = ok && (shapes[k][j] == out[R - shapes[k].size() + j] ||
                  (shapes[k][j] == 1 && types[k]->isBroadcastable((int)j)));
  return out;
}

/// An operand's strides for a kernel computing `shape` (its dims line up
/// with the trailing ones; a dim broadcast at run time is read at 0).
void pushStrides(cuda::KernelArgs &args, const cuda::DeviceArray &a, const Shape &shape) {
  const Shape strides = gpu::broadcastStrides(a, shape);
  for (size_t j = shape.size() - a.ndim(); j < shape.size(); ++j)
    args.i64(strides[j]);
}

/// One launch of a GEMM kernel (ABI in lib/CodeGen/GPU/Gemm.h): C = alpha *
/// A B + beta * C, M x N (rows ldcR apart, columns adjacent), of dtype t,
/// A and B given by the device address of their element 0 and the strides
/// `ld` (A's rows, columns, B's rows, columns); a batched kernel computes
/// `batch` products, A, B and C `apart` (elements) from one to the next.
struct GemmLaunch {
  uint64_t A = 0, B = 0, C = 0;
  int64_t M = 0, N = 0, K = 0;
  std::array<int64_t, 4> ld{};
  int64_t ldcR = 0;
  double alpha = 1, beta = 0;
  int64_t batch = 1;
  std::array<int64_t, 3> apart{};
  /// What beta scales (read only when beta != 0): its strides (rows,
  /// columns, batch entries).
  uint64_t Cin = 0;
  std::array<int64_t, 3> cin{};
};

void launchGemm(void *function, const GPUKernel &k, DType t, const GemmLaunch &g) {
  cuda::KernelArgs args;
  args.pointer(g.A);
  args.pointer(g.B);
  args.pointer(g.C);
  for (int64_t v : {g.M, g.N, g.K, g.ld[0], g.ld[1], g.ld[2], g.ld[3], g.ldcR, int64_t(1)})
    args.i64(v);
  if (t == DType::Float64) {
    args.f64(g.alpha);
    args.f64(g.beta);
  } else {
    args.f32((float)g.alpha);
    args.f32((float)g.beta);
  }
  if (k.batched)
    for (int64_t v : {g.batch, g.apart[0], g.apart[1], g.apart[2]})
      args.i64(v);
  args.pointer(g.Cin);
  args.i64(g.cin[0]);
  args.i64(g.cin[1]);
  if (k.batched)
    args.i64(g.cin[2]);
  cuda::launch(function, (unsigned)((g.N + k.tileN - 1) / k.tileN),
               (unsigned)((g.M + k.tileM - 1) / k.tileM), (unsigned)g.batch, k.blockSize, 0,
               args);
}

/// The main kernel of a Reduce step for this call, by the memory order of
/// x's operand (GPU.h): `_rows` when its innermost axis is x's last reduced
/// one, so that the G threads of a result read adjacent elements; `_cols`
/// when it is the last kept one, so that adjacent threads on adjacent
/// results do; else the first kernel (the one of x's axes). x's operand:
/// the first operand the kernel reads that has x's shape and some dim of
/// more than one element and a stride other than 0; its innermost axis:
/// the one of those of least |stride|. Axes are "last" among those of
/// more than one element.
const GPUKernel *reduceKernel(const Step &step, const Kernels &kernels,
                              const std::vector<bool> &reduced, const Shape &xShape,
                              const std::vector<const cuda::DeviceArray *> &ops) {
  const int R = (int)xShape.size();
  const std::vector<bool> read = step.program->inputsRead();
  int inner = -1;
  for (size_t k = 0; k < ops.size() && inner < 0; ++k) {
    if (!read[k] || ops[k]->shape() != xShape)
      continue;
    const Shape &st = ops[k]->strides();
    for (int d = 0; d < R; ++d)
      if (xShape[d] > 1 && st[d] != 0 &&
          (inner < 0 || std::abs(st[d]) < std::abs(st[inner])))
        inner = d;
  }
  int lastReduced = -1, lastKept = -1;
  for (int d = 0; d < R; ++d)
    if (xShape[d] > 1)
      (reduced[d] ? lastReduced : lastKept) = d;
  using Part = codegen::GPUReducePart;
  const Part want = inner < 0              ? Part::None
                    : inner == lastReduced ? Part::Rows
                    : inner == lastKept    ? Part::Columns
                                           : Part::None;
  for (const GPUKernel *k : kernels)
    if (k->reducePart == want)
      return k;
  return kernels[0];
}

/// One call: its values, and a method per kind of step the GPU runs.
struct Call {
  Call(const GPUExecutableImpl &x)
      : x(x), plan(x.plan), slots(plan.values.size()),
        status(x.canFlag ? cuda::allocate(sizeof(int32_t)) : nullptr),
        maxBlocks(32u * (unsigned)cuda::currentDevice().multiprocessors) {
    if (status)
      cuda::fillBytes(status->data(), 0, sizeof(int32_t));
  }
  /// The status word's address (0 when no kernel can write it).
  uint64_t statusWord() const { return status ? status->data() : 0; }

  const NDArray &onHost(int v) {
    Slot &s = slots[v];
    if (!s.host.defined()) {
      s.host = s.device.toHost();
      s.downloaded = true;
    }
    return s.host;
  }
  const cuda::DeviceArray &onDevice(int v) {
    Slot &s = slots[v];
    if (s.device.defined())
      return s.device;
    if (plan.values[v].root == codegen::RootKind::Constant) {
      std::lock_guard<std::mutex> lock(x.constantsMutex);
      auto it = x.constants.find(v);
      if (it == x.constants.end())
        it = x.constants.emplace(v, cuda::DeviceArray::fromHost(s.host)).first;
      return s.device = it->second;
    }
    return s.device = cuda::DeviceArray::fromHost(s.host);
  }
  /// The shape of a value, wherever it is.
  const Shape &shapeOf(int v) const {
    return slots[v].device.defined() ? slots[v].device.shape() : slots[v].host.shape();
  }
  /// A step's reference kernel on host copies of its operands. A step
  /// that computes part of a lowered node (which runs here only to raise
  /// an error) first runs that node's, which raises the user's error.
  void runOnHost(const Step &step) {
    if (step.origin) {
      std::vector<NDArray> in;
      for (int v : step.originOperands)
        in.push_back(onHost(v));
      evaluateNode(*step.origin, in);
    }
    std::vector<NDArray> ops;
    for (int v : step.operands)
      ops.push_back(onHost(v));
    if (step.producer) // a fused producer is evaluated first
      ops = evaluateNode(*step.producer, ops);
    std::vector<NDArray> rs = evaluateNode(*step.node, ops);
    for (size_t r = 0; r < step.results.size(); ++r) {
      const DType t = plan.values[step.results[r]].dtype; // a sum stored cast (Plan.cpp)
      slots[step.results[r]].host = rs[r].dtype() == t ? rs[r] : rs[r].astype(t);
    }
  }
  /// The shape of what a step computes per element (an element-wise
  /// step's result, a fused Reduce step's source): its operands' shapes
  /// broadcast to rank R. When they do not broadcast, the reference
  /// kernel raises the user's error.
  Shape elementShape(const Step &step, int R) {
    std::vector<Shape> shapes;
    std::vector<const TensorType *> types;
    for (int v : step.operands) {
      shapes.push_back(shapeOf(v));
      types.push_back(plan.values[v].var.type());
    }
    bool ok;
    Shape shape = broadcastShape(shapes, types, R, ok);
    if (!ok) {
      runOnHost(step);
      throw RuntimeError(std::string(step.node->name()) +
                         ": operands do not broadcast together");
    }
    return shape;
  }
  /// A new result in GPU memory.
  const cuda::DeviceArray &newResult(int v, const Shape &shape) {
    slots[v].device = cuda::DeviceArray::empty(plan.values[v].dtype, shape);
    slots[v].fresh = true;
    return slots[v].device;
  }
  /// The step's operands in GPU memory, their addresses pushed to args.
  /// (A scalar the kernel takes by value is pushed as its bits, and stands
  /// in `ops` as an empty 0-d array: it has no strides.)
  std::vector<const cuda::DeviceArray *> pushOperands(const Step &step,
                                                      cuda::KernelArgs &args) {
    static const cuda::DeviceArray scalar{};
    std::vector<const cuda::DeviceArray *> ops;
    for (int v : step.operands) {
      if (x.byValue[v]) {
        const NDArray &h = onHost(v);
        uint64_t bits = 0;
        std::memcpy(&bits, h.data(), itemSize(h.dtype()));
        args.i64((int64_t)bits);
        ops.push_back(&scalar);
        continue;
      }
      ops.push_back(&onDevice(v));
      args.pointer(ops.back()->data());
    }
    return ops;
  }
  /// A grid of at most 32 blocks per multiprocessor over the work items
  /// (the kernels loop); the kernel's block size, else kElemwiseBlock.
  void launch(const GPUKernel *k, int64_t workItems, cuda::KernelArgs &args) {
    const unsigned blocks =
        (unsigned)std::clamp<int64_t>(workItems, 1, std::max(1u, maxBlocks));
    const unsigned threads = k->blockSize ? k->blockSize : kElemwiseBlock;
    cuda::launch(x.functions.at(k->name), blocks, 1, 1, threads, 0, args);
  }

  /// A new contiguous result holding a's elements.
  const cuda::DeviceArray &copyResult(int v, const cuda::DeviceArray &a) {
    slots[v].device = gpu::contiguousCopy(a);
    slots[v].fresh = true;
    return slots[v].device;
  }
  /// The values of operands [first, end) on the host (sizes, indices).
  std::vector<NDArray> hostValues(const Step &step, size_t first) {
    std::vector<NDArray> values;
    for (size_t i = first; i < step.operands.size(); ++i)
      values.push_back(onHost(step.operands[i]));
    return values;
  }

  void step(const Step &step, const Kernels &kernels);
  void dimShuffle(const Step &step);
  void alloc(const Step &step);
  void subtensor(const Step &step);
  void setSubtensor(const Step &step);
  void reshape(const Step &step);
  void join(const Step &step);
  void split(const Step &step);
  /// Advanced indexing: x[index], and writes into a copy of x.
  void take(const Step &step);
  void advancedWrite(const Step &step);
  std::pair<cuda::DeviceArray, AdvancedSelection> advancedSelection(const Step &step,
                                                                    const cuda::DeviceArray &x);
  void elementwise(const Step &step, const Kernels &kernels);
  void reduce(const Step &step, const Kernels &kernels);
  void softmax(const Step &step, const Kernels &kernels);
  void splitK(uint64_t A, uint64_t B, const cuda::DeviceArray &out, int64_t M, int64_t N,
              int64_t K, const std::array<int64_t, 4> &ld, double alpha, double beta,
              int64_t pieces);
  void product(const Step &step, const Kernels &kernels);

  const GPUExecutableImpl &x;
  const codegen::Plan &plan;
  std::vector<Slot> slots;
  /// Set to 1 by a kernel whose element failed; only where one can.
  std::shared_ptr<cuda::DeviceBuffer> status;
  const unsigned maxBlocks;
};

void Call::step(const Step &step, const Kernels &kernels) {
  using codegen::StepKind;
  // Where the transfer pass put the step (kernels are only for those on
  // the GPU).
  const bool onGPU = x.onGPU.count(codegen::userNode(step)) > 0;
  const OpKind op = step.node->kind();
  if (step.kind == StepKind::ShapeI)
    slots[step.results[0]].host = NDArray::scalar(
        Scalar::fromInt(shapeOf(step.operands[0])[step.node->attrs().axes[0]]));
  else if (op == OpKind::Shape) { // read where the operand is
    std::vector<Scalar> sizes;
    for (int64_t d : shapeOf(step.operands[0]))
      sizes.push_back(Scalar::fromInt(d));
    slots[step.results[0]].host =
        NDArray::fromValues(DType::Int64, sizes, {(int64_t)sizes.size()});
  }
  else if (onGPU && op == OpKind::Alloc)
    alloc(step);
  else if (onGPU && op == OpKind::DimShuffle)
    dimShuffle(step);
  else if (onGPU && op == OpKind::Subtensor)
    subtensor(step);
  else if (onGPU && op == OpKind::SetSubtensor)
    setSubtensor(step);
  else if (onGPU && op == OpKind::Reshape)
    reshape(step);
  else if (onGPU && op == OpKind::Join)
    join(step);
  else if (onGPU && op == OpKind::Split)
    split(step);
  else if (onGPU && op == OpKind::AdvancedSubtensor)
    take(step);
  else if (onGPU &&
           (op == OpKind::AdvancedIncSubtensor || op == OpKind::AdvancedSetSubtensor))
    advancedWrite(step);
  else if (kernels.empty())
    runOnHost(step);
  else if (step.kind == StepKind::Reduce)
    reduce(step, kernels);
  else if (kernels[0]->kind == codegen::GPUKernelKind::Gemm)
    product(step, kernels);
  else if (kernels[0]->kind == codegen::GPUKernelKind::Softmax)
    softmax(step, kernels);
  else
    elementwise(step, kernels);
}

/// A view of the operand's memory.
void Call::dimShuffle(const Step &step) {
  const cuda::DeviceArray &a = onDevice(step.operands[0]);
  Shape shape, strides;
  for (int p : step.node->attrs().axes) {
    shape.push_back(p < 0 ? 1 : a.shape()[p]);
    strides.push_back(p < 0 ? 0 : a.strides()[p]);
  }
  slots[step.results[0]].device = a.view(shape, strides);
}

/// A broadcast view of the value (nothing writes over a GPU value).
void Call::alloc(const Step &step) {
  Shape shape;
  for (size_t i = 1; i < step.operands.size(); ++i)
    shape.push_back(onHost(step.operands[i]).item().toInt());
  const cuda::DeviceArray &value = onDevice(step.operands[0]);
  const TensorType *type = plan.values[step.operands[0]].var.type();
  const int lead = (int)shape.size() - value.ndim();
  bool fits =
      lead >= 0 && std::all_of(shape.begin(), shape.end(), [](int64_t d) { return d >= 0; });
  Shape strides(shape.size(), 0);
  for (int a = 0; fits && a < value.ndim(); ++a) {
    const int64_t want = shape[lead + a], have = value.shape()[a];
    fits = have == want || (type->isBroadcastable(a) && have == 1);
    strides[lead + a] = have == want ? value.strides()[a] : 0;
  }
  if (!fits) // the reference raises the user's error
    runOnHost(step);
  else
    slots[step.results[0]].device = value.view(shape, strides);
}

/// Whether an array of this shape can be a value of type t (the reference
/// kernels raise the user's error when not).
bool fitsType(const Shape &shape, const TensorType *t) {
  if ((int)shape.size() != t->ndim())
    return false;
  for (int d = 0; d < t->ndim(); ++d)
    if (t->size(d) != TensorType::kUnknown && shape[d] != t->size(d))
      return false;
  return true;
}

/// x[index]: a view; the index values are read on the host.
void Call::subtensor(const Step &step) {
  const std::vector<NDArray> index = hostValues(step, 1);
  try {
    slots[step.results[0]].device =
        applyIndex(onDevice(step.operands[0]), step.node->attrs().index, index);
  } catch (const Error &) {
    runOnHost(step); // raises the reference's error, where the user's code is
    throw;
  }
}

/// set_subtensor(x[index], y): a copy of x, then y copied into the view.
void Call::setSubtensor(const Step &step) {
  const cuda::DeviceArray &x = onDevice(step.operands[0]);
  const cuda::DeviceArray &y = onDevice(step.operands[1]);
  const std::vector<NDArray> index = hostValues(step, 2);
  cuda::DeviceArray view;
  try {
    view = applyIndex(x, step.node->attrs().index, index);
  } catch (const Error &) {
    runOnHost(step);
    throw;
  }
  // y fits the selection where its type broadcasts or its sizes agree.
  const TensorType *yt = plan.values[step.operands[1]].var.type();
  const int lead = view.ndim() - y.ndim();
  bool fits = lead >= 0;
  for (int i = 0; fits && i < y.ndim(); ++i)
    fits = y.shape()[i] == view.shape()[lead + i] || yt->isBroadcastable(i);
  if (!fits) {
    runOnHost(step);
    throw RuntimeError("set_subtensor: the value does not fit the selection");
  }
  const cuda::DeviceArray &out = copyResult(step.results[0], x);
  gpu::copyInto(applyIndex(out, step.node->attrs().index, index), y);
}

/// A view when x's layout allows (as NumPy's), else a contiguous copy.
void Call::reshape(const Step &step) {
  const cuda::DeviceArray &x = onDevice(step.operands[0]);
  Shape to;
  for (const Scalar &v : onHost(step.operands[1]).values())
    to.push_back(v.toInt());
  Shape shape, strides;
  try {
    shape = resolveReshape(x.shape(), to);
  } catch (const Error &) {
    runOnHost(step);
    throw;
  }
  const int r = step.results[0];
  if (!fitsType(shape, plan.values[r].var.type())) {
    runOnHost(step);
    throw RuntimeError("reshape: the result does not fit its type");
  }
  if (x.size() == 0)
    newResult(r, shape);
  else if (reshapeStrides(x.shape(), x.strides(), shape, strides))
    slots[r].device = x.view(shape, strides);
  else
    slots[r].device = copyResult(r, x).view(shape, contiguousStrides(shape));
}

/// concatenate: each operand copied into its slice of the result.
void Call::join(const Step &step) {
  const int axis = step.node->attrs().axes[0];
  std::vector<const cuda::DeviceArray *> ops;
  for (int v : step.operands)
    ops.push_back(&onDevice(v));
  Shape shape = ops[0]->shape();
  shape[axis] = 0;
  for (const cuda::DeviceArray *a : ops) {
    for (int d = 0; d < a->ndim(); ++d)
      if (d != axis && a->shape()[d] != shape[d]) {
        runOnHost(step); // raises the reference's ShapeError
        throw RuntimeError("join: operand shapes differ");
      }
    shape[axis] += a->shape()[axis];
  }
  const cuda::DeviceArray &out = newResult(step.results[0], shape);
  int64_t at = 0;
  for (const cuda::DeviceArray *a : ops) {
    gpu::copyInto(out.slice(axis, at, at + a->shape()[axis], 1), *a);
    at += a->shape()[axis];
  }
}

/// split: views of consecutive slices; the sizes are read on the host.
void Call::split(const Step &step) {
  const int axis = step.node->attrs().axes[0];
  const cuda::DeviceArray &x = onDevice(step.operands[0]);
  std::vector<int64_t> sizes;
  int64_t total = 0;
  bool valid = true;
  for (const Scalar &v : onHost(step.operands[1]).values()) {
    sizes.push_back(v.toInt());
    valid = valid && sizes.back() >= 0;
    total += sizes.back();
  }
  if (!valid || total != x.shape()[axis]) {
    runOnHost(step); // raises the reference's ValueError
    throw RuntimeError("split: the sizes do not add up");
  }
  int64_t at = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    slots[step.results[i]].device = x.slice(axis, at, at + sizes[i], 1);
    at += sizes[i];
  }
}

/// The basic part of an advanced index applied to x on the device (a view
/// V), and the index arrays resolved against V on the host (the reference
/// kernel's code, so its errors).
std::pair<cuda::DeviceArray, AdvancedSelection>
Call::advancedSelection(const Step &step, const cuda::DeviceArray &x) {
  const size_t first = step.node->kind() == OpKind::AdvancedSubtensor ? 1 : 2;
  std::vector<NDArray> in(first); // x (and y): on the device, not read
  for (NDArray &v : hostValues(step, first))
    in.push_back(std::move(v));
  try {
    const AdvancedBasicIndex basic = advancedBasicIndex(*step.node, in);
    cuda::DeviceArray view = applyIndex(x, basic.spec, basic.values);
    AdvancedSelection s = selectAdvanced(*step.node, view.shape(), view.strides(), in);
    return {view, std::move(s)};
  } catch (const Error &) {
    runOnHost(step); // raises the error where the user's code is
    throw;
  }
}

namespace {

/// a, an array of the selection's shape, as (B's size, the other axes):
/// B's axes stepped through as one. False where a's strides do not allow
/// it (a broadcast).
bool byRows(const cuda::DeviceArray &a, const AdvancedSelection &s, cuda::DeviceArray &rows) {
  const size_t nb = s.b.size();
  int64_t step = 0, next = 0;
  bool any = false;
  for (size_t i = nb; i-- > 0;) {
    const int axis = s.bFirst[i];
    const int64_t size = a.shape()[axis], stride = a.strides()[axis];
    if (size == 1)
      continue;
    if (any && stride != next)
      return false;
    step = any ? step : stride;
    any = true;
    next = stride * size;
  }
  Shape shape{shapeSize(s.b)}, strides{step};
  for (size_t i = nb; i < s.bFirst.size(); ++i) {
    shape.push_back(a.shape()[s.bFirst[i]]);
    strides.push_back(a.strides()[s.bFirst[i]]);
  }
  rows = a.view(shape, strides);
  return true;
}

/// The offsets with every repeat but the last made gpu::kSkipRow: puts in
/// any order then leave NumPy's result (the last write wins).
NDArray lastWrites(const NDArray &offsets) {
  NDArray out = offsets.copy();
  int64_t *o = out.data<int64_t>();
  std::unordered_set<int64_t> written;
  for (int64_t i = out.size(); i-- > 0;)
    if (!written.insert(o[i]).second)
      o[i] = gpu::kSkipRow;
  return out;
}

} // namespace

/// x[index] with index arrays (any of NumPy's advanced indexes): the
/// offsets of the selected sub-arrays computed on the host, then gathered
/// by the take kernels.
void Call::take(const Step &step) {
  const auto [view, s] = advancedSelection(step, onDevice(step.operands[0]));
  const cuda::DeviceArray &out = newResult(step.results[0], s.shape);
  cuda::DeviceArray rows;
  if (out.size() > 0 && byRows(out, s, rows)) // (a new array's B axes are adjacent)
    gpu::take(rows, view.view(s.restShape, s.restStrides),
              cuda::DeviceArray::fromHost(s.offsets));
}

/// x[index] = y and x[index] += y with index arrays: a copy of x, then y,
/// broadcast to the selection, put (the last of repeated elements wins) or
/// added atomically (repeats add up) at the selected sub-arrays.
void Call::advancedWrite(const Step &step) {
  const cuda::DeviceArray &y = onDevice(step.operands[1]);
  const cuda::DeviceArray &out = copyResult(step.results[0], onDevice(step.operands[0]));
  const auto [view, s] = advancedSelection(step, out);
  // y fits the selection where its type broadcasts or its sizes agree.
  const TensorType *yt = plan.values[step.operands[1]].var.type();
  const int lead = (int)s.shape.size() - y.ndim();
  bool fits = lead >= 0;
  for (int i = 0; fits && i < y.ndim(); ++i)
    fits = y.shape()[i] == s.shape[lead + i] || yt->isBroadcastable(i);
  if (!fits) {
    runOnHost(step); // raises the reference's ShapeError
    throw RuntimeError(std::string(opName(step.node->kind())) +
                       ": the value does not fit the selection");
  }
  if (shapeSize(s.shape) == 0)
    return;
  const cuda::DeviceArray whole = y.view(s.shape, gpu::broadcastStrides(y, s.shape));
  cuda::DeviceArray values;
  if (!byRows(whole, s, values))
    byRows(gpu::contiguousCopy(whole), s, values);
  const cuda::DeviceArray table = view.view(s.restShape, s.restStrides);
  if (step.node->kind() == OpKind::AdvancedIncSubtensor)
    gpu::scatterAdd(table, values, cuda::DeviceArray::fromHost(s.offsets));
  else
    gpu::put(table, values, cuda::DeviceArray::fromHost(lastWrites(s.offsets)));
}

/// The contiguous kernel when every operand is broadcast whole by its type
/// or contiguous with the result's elements, else the strided one.
void Call::elementwise(const Step &step, const Kernels &kernels) {
  const int R = plan.values[step.results[0]].ndim;
  const Shape shape = elementShape(step, R);
  const int64_t n = shapeSize(shape);
  std::vector<cuda::DeviceArray> results;
  for (int r : step.results)
    results.push_back(newResult(r, shape));
  if (n == 0)
    return;
  cuda::KernelArgs args;
  std::vector<const cuda::DeviceArray *> ops = pushOperands(step, args);
  const GPUKernel *kernel = kernels.back();
  if (kernels.front()->contiguous) {
    bool flat = true;
    for (size_t k = 0; k < ops.size(); ++k) {
      const TensorType *t = plan.values[step.operands[k]].var.type();
      bool whole = true;
      for (int j = 0; j < t->ndim(); ++j)
        whole = whole && t->isBroadcastable(j);
      flat = flat && (whole || (ops[k]->size() == n && ops[k]->isContiguous()));
    }
    if (flat)
      kernel = kernels.front();
  }
  for (const cuda::DeviceArray &r : results)
    args.pointer(r.data());
  args.pointer(statusWord());
  args.i64(n);
  if (!kernel->contiguous) {
    // Each operand's strides over the result's dims (0 where it is
    // broadcast), dims merged, then padded back to rank R (GPU.h).
    std::vector<Shape> strides;
    for (const cuda::DeviceArray *a : ops)
      strides.push_back(gpu::broadcastStrides(*a, shape));
    Shape merged = shape;
    gpu::mergeDims(merged, strides);
    const size_t pad = R - merged.size();
    merged.insert(merged.begin(), pad, 1);
    for (int64_t d : merged)
      args.i64(d);
    for (int64_t d : merged)
      args.i64((int64_t)codegen::gpuDivider(d));
    for (Shape &st : strides) {
      st.insert(st.begin(), pad, 0);
      for (int64_t v : st)
        args.i64(v);
    }
  }
  launch(kernel, (n + kElemwiseBlock - 1) / kElemwiseBlock, args);
}

/// `_rows` or `_cols` (reduceKernel), then `_finish` when each result is
/// split in P pieces; G threads per result (GPU.h says how to choose them).
void Call::reduce(const Step &step, const Kernels &kernels) {
  // x: operand 0, or what the fused producer computes from the operands.
  const int R = plan.values[step.source].ndim;
  const Shape xShape = step.producer ? elementShape(step, R) : shapeOf(step.operands[0]);
  const OpKind op = step.node->kind();
  std::vector<bool> reduced(R, false);
  for (int a : reducedAxes(op, step.node->attrs(), R))
    reduced[a] = true;
  int64_t M = 1, K = 1;
  Shape outShape;
  for (int d = 0; d < R; ++d) {
    (reduced[d] ? K : M) *= xShape[d];
    if (!reduced[d] || step.node->attrs().keepdims)
      outShape.push_back(reduced[d] ? 1 : xShape[d]);
  }
  if (K == 0 && !reductionHasIdentity(op)) { // the reference decides
    runOnHost(step);
    return;
  }
  const cuda::DeviceArray &out = newResult(step.results[0], outShape);
  if (M == 0)
    return;
  cuda::KernelArgs args;
  std::vector<const cuda::DeviceArray *> ops = pushOperands(step, args);
  const GPUKernel *main = reduceKernel(step, kernels, reduced, xShape, ops);
  const GPUKernel *finish = kernels.back();
  const int64_t perBlock = main->blockSize;
  int64_t G = std::min<int64_t>(pow2AtLeast((K + 7) / 8), perBlock);
  if (main->reducePart == codegen::GPUReducePart::Columns && M >= 32)
    G = std::min<int64_t>(G, 8);
  int64_t work = (M + perBlock / G - 1) / (perBlock / G), P = 1;
  const int64_t S = cuda::currentDevice().multiprocessors;
  if (work < 2 * S && K >= 4096) {
    G = perBlock;
    work = M;
    P = std::min((2 * S + work - 1) / work, (K + 2047) / 2048);
  }
  std::shared_ptr<cuda::DeviceBuffer> scratch;
  const bool isArg = op == OpKind::ArgMax || op == OpKind::ArgMin;
  if (P > 1)
    scratch = cuda::allocate(size_t(M * P) * (isArg ? 16 : 8));
  args.pointer(out.data());
  args.pointer(scratch ? scratch->data() : 0);
  args.pointer(statusWord());
  args.i64(G);
  args.i64(P);
  for (int64_t d : xShape)
    args.i64(d);
  for (const cuda::DeviceArray *a : ops)
    pushStrides(args, *a, xShape);
  launch(main, work * P, args);
  if (P > 1) {
    const int64_t finishG = std::min<int64_t>(pow2AtLeast(P), perBlock);
    cuda::KernelArgs fargs;
    fargs.pointer(out.data());
    fargs.pointer(scratch->data());
    fargs.i64(finishG);
    fargs.i64(M);
    fargs.i64(P);
    launch(finish, (M + perBlock / finishG - 1) / (perBlock / finishG), fargs);
  }
}

/// G threads per row of the last axis.
void Call::softmax(const Step &step, const Kernels &kernels) {
  const GPUKernel *k = kernels[0];
  const cuda::DeviceArray &in = onDevice(step.operands[0]);
  const Shape &shape = in.shape();
  const cuda::DeviceArray &out = newResult(step.results[0], shape);
  const int64_t N = shape.back(), rows = N ? in.size() / N : 0;
  if (rows == 0)
    return;
  const int64_t G = std::min<int64_t>(pow2AtLeast((N + 3) / 4), k->blockSize);
  cuda::KernelArgs args;
  args.pointer(in.data());
  args.pointer(out.data());
  args.i64(G);
  for (int64_t d : shape)
    args.i64(d);
  for (int64_t st : in.strides())
    args.i64(st);
  const int64_t perBlock = k->blockSize / G;
  launch(k, (rows + perBlock - 1) / perBlock, args);
}

/// out = alpha * A B + beta * out (out contiguous, M x N, holding C when
/// beta != 0; A and B at their element 0, with the strides `ld`: A's rows,
/// columns, B's rows, columns) as the sum of `pieces` products over K's
/// pieces, computed at once into partial products
/// (codegen::compileSplitKKernels).
void Call::splitK(uint64_t A, uint64_t B, const cuda::DeviceArray &out, int64_t M, int64_t N,
                  int64_t K, const std::array<int64_t, 4> &ld, double alpha, double beta,
                  int64_t pieces) {
  const gpu::RuntimeKernels &rk = gpu::runtimeKernels(&codegen::compileSplitKKernels);
  const DType t = out.dtype();
  const int64_t size = (int64_t)itemSize(t);
  const std::string gemm = codegen::splitKGemmKernelName(t);
  // `whole` pieces of Kc elements of K, and one of the rest.
  const int64_t Kc = (K + pieces - 1) / pieces, whole = K / Kc, rest = K - whole * Kc;
  const int64_t partials = whole + (rest > 0);
  const cuda::DeviceArray scratch = cuda::DeviceArray::empty(t, {partials, M, N});
  auto launch = [&](int64_t first, int64_t count, int64_t k) {
    GemmLaunch g;
    g.A = A + uint64_t(first * Kc * ld[1] * size);
    g.B = B + uint64_t(first * Kc * ld[2] * size);
    g.C = scratch.data() + uint64_t(first * M * N * size);
    g.M = M, g.N = N, g.K = k, g.ld = ld, g.ldcR = N;
    g.batch = count;
    g.apart = {Kc * ld[1], Kc * ld[2], M * N};
    launchGemm(rk.functions.at(gemm), rk.info.at(gemm), t, g);
  };
  launch(0, whole, Kc);
  if (rest > 0)
    launch(whole, 1, rest);
  cuda::KernelArgs sum;
  sum.pointer(scratch.data());
  sum.pointer(out.data());
  sum.i64(M * N);
  sum.i64(partials);
  for (double v : {alpha, beta}) {
    int64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    sum.i64(bits);
  }
  constexpr unsigned kThreads = 256;
  const unsigned blocks =
      (unsigned)std::clamp<int64_t>((M * N + kThreads - 1) / kThreads, 1, rk.maxBlocks);
  cuda::launch(rk.functions.at(codegen::splitKSumKernelName(t)), blocks, 1, 1, kThreads, 0,
               sum);
}

/// dot / gemm / batched_dot of matrices (or batches of them): C = alpha *
/// A B + beta * C, one block per tile of C (lib/CodeGen/GPU/Gemm.h). The
/// step's kernels are the one of large tiles, then the one of small tiles.
void Call::product(const Step &step, const Kernels &kernels) {
  const GPUKernel *k = kernels[0];
  const OpKind op = step.node->kind();
  const int first = op == OpKind::Gemm ? 2 : 0, r = step.results[0];
  const cuda::DeviceArray &A = onDevice(step.operands[first]);
  const cuda::DeviceArray &B = onDevice(step.operands[first + 1]);
  const int z = k->batched ? 1 : 0; // the first matrix dim
  const int64_t batch = k->batched ? A.shape()[0] : 1;
  const int64_t M = A.shape()[z], K = A.shape()[z + 1], N = B.shape()[z + 1];
  Shape outShape{M, N};
  if (k->batched)
    outShape.insert(outShape.begin(), batch);
  double alpha = 1, beta = 0;
  const cuda::DeviceArray *C = nullptr;
  if (op == OpKind::Gemm) {
    alpha = onHost(step.operands[1]).item().toDouble();
    beta = onHost(step.operands[4]).item().toDouble();
    C = &onDevice(step.operands[0]);
  }
  if (B.shape()[z] != K || (k->batched && B.shape()[0] != batch) ||
      (C && C->shape() != outShape)) {
    runOnHost(step); // the reference raises the user's error
    return;
  }
  // The kernels read C where it is (a view, a broadcast row) and write a
  // new result; when beta is 0, C is not read. The mma kernels read it at
  // the result's (contiguous) strides (Gemm.h).
  if (!C || beta == 0)
    C = nullptr, beta = 0;
  cuda::DeviceArray cContiguous;
  if (C && k->tensorCores && !C->isContiguous()) {
    cContiguous = gpu::contiguousCopy(*C);
    C = &cContiguous;
  }
  const cuda::DeviceArray &out = newResult(r, outShape);
  if (M == 0 || N == 0 || batch == 0)
    return;
  const int64_t ldaR = A.strides()[z], ldaC = A.strides()[z + 1];
  const int64_t ldbR = B.strides()[z], ldbC = B.strides()[z + 1];
  const int64_t sa = k->batched ? A.strides()[0] : 0, sb = k->batched ? B.strides()[0] : 0;
  const int64_t ldcR = N, strideC = M * N;
  const int64_t size = (int64_t)itemSize(out.dtype());
  // The large tiles when their grid gives every multiprocessor at least 2
  // blocks (enough to keep it busy), else the small ones, whose grid is 4
  // to 16 times larger: a product too small to fill the GPU is bound by
  // latency, and idle multiprocessors cost more than smaller tiles do.
  auto blocks = [&](const GPUKernel *g) {
    return ((N + g->tileN - 1) / g->tileN) * ((M + g->tileM - 1) / g->tileM) * batch;
  };
  const int64_t S = cuda::currentDevice().multiprocessors;
  if (kernels.size() > 1 && blocks(k) < 2 * S)
    k = kernels[1];
  // Split-K: when even the small tiles leave multiprocessors idle and K is
  // long (a linear model's gradient X^T d over a large batch: a few tiles,
  // each looping over the whole batch), K's pieces run in parallel into
  // partial products, which a second kernel sums.
  const bool real = out.dtype() == DType::Float32 || out.dtype() == DType::Float64;
  if (!k->batched && real && alpha != 0 && blocks(k) < S && K >= kSplitMinK) {
    const int64_t pieces = std::min({(2 * S + blocks(k) - 1) / blocks(k),
                                     K / kSplitMinPiece, kSplitMaxPieces});
    if (pieces > 1) {
      if (C) // the sum kernel adds beta times out
        gpu::copyInto(out, *C);
      splitK(A.data(), B.data(), out, M, N, K, {ldaR, ldaC, ldbR, ldbC}, alpha, beta, pieces);
      return;
    }
  }
  // CUDA's grid is at most 65535 blocks in y (rows) and z (batches).
  constexpr int64_t kMaxGrid = 65535;
  const int64_t rowsPerLaunch = kMaxGrid * k->tileM;
  for (int64_t b0 = 0; b0 < batch; b0 += kMaxGrid)
    for (int64_t m0 = 0; m0 < M; m0 += rowsPerLaunch) {
      GemmLaunch g;
      g.A = A.data() + (b0 * sa + m0 * ldaR) * size;
      g.B = B.data() + b0 * sb * size;
      g.C = out.data() + (b0 * strideC + m0 * ldcR) * size;
      g.M = std::min(rowsPerLaunch, M - m0), g.N = N, g.K = K;
      g.ld = {ldaR, ldaC, ldbR, ldbC}, g.ldcR = ldcR;
      g.alpha = alpha, g.beta = beta;
      g.batch = std::min(kMaxGrid, batch - b0);
      g.apart = {sa, sb, strideC};
      if (C) {
        const Shape &cs = C->strides();
        const int64_t ciR = cs[z], ciC = cs[z + 1], ciZ = k->batched ? cs[0] : 0;
        g.Cin = C->data() + (b0 * ciZ + m0 * ciR) * size;
        g.cin = {ciR, ciC, ciZ};
      }
      launchGemm(x.functions.at(k->name), *k, out.dtype(), g);
    }
}

} // namespace

std::vector<GPUResult> GPUExecutable::run(const std::vector<NDArray> &inputs,
                                          const std::vector<bool> &keepOnDevice) const {
  const GPUExecutableImpl &x = *impl;
  const codegen::Plan &plan = x.plan;
  x.load();
  Call call(x);
  std::vector<Slot> &slots = call.slots;

  // Leaves: arguments and host shared variables on the host; shared
  // variables that live on the GPU there (uploaded once after a set).
  for (size_t i = 0; i < plan.inputValues.size(); ++i)
    if (plan.inputValues[i] >= 0) // -1: an input nothing reads
      slots[plan.inputValues[i]].host = inputs[i];
  for (size_t i = 0; i < plan.shareds.size(); ++i) {
    Slot &s = slots[plan.sharedValues[i]];
    const std::shared_ptr<SharedStorage> &storage =
        plan.shareds[i].node()->sharedStorage();
    if (storage->device() != "cuda") {
      s.host = storage->get();
      continue;
    }
    if (auto d = storage->deviceValue()) {
      s.device = static_cast<const DeviceArrayValue &>(*d).array;
      continue;
    }
    s.host = storage->get();
    s.device = cuda::DeviceArray::fromHost(s.host);
    storage->setDeviceValue(std::make_shared<DeviceArrayValue>(s.device), true);
  }
  for (size_t i = 0; i < plan.constantValues.size(); ++i)
    slots[plan.constantValues[i]].host = plan.constants[i];

  // PROFILE: events between the steps; their spans are read at the end
  // (reading one waits for the device).
  std::vector<cuda::Event> marks(x.profile ? plan.steps.size() + 1 : 0);
  if (x.profile)
    marks[0].record();
  for (size_t s = 0; s < plan.steps.size(); ++s) {
    call.step(plan.steps[s], x.kernels[s]);
    if (x.profile)
      marks[s + 1].record();
  }
  if (x.profile) {
    std::vector<double> spans(plan.steps.size());
    for (size_t s = 0; s < spans.size(); ++s)
      spans[s] = cuda::elapsedMs(marks[s], marks[s + 1]) * 1e-3;
    std::lock_guard<std::mutex> lock(x.profileMutex);
    x.stepSeconds.resize(spans.size(), 0);
    for (size_t s = 0; s < spans.size(); ++s)
      x.stepSeconds[s] += spans[s];
    ++x.calls;
  }

  // An element that failed (an integer to a negative power): the reference
  // evaluation of the whole call raises the error the user's code gets.
  // Reading the status waits for the kernels; where none can fail, a call
  // whose results all stay on the GPU returns without waiting.
  int32_t failed = 0;
  if (x.canFlag)
    cuda::copyToHost(&failed, call.status->data(), sizeof failed);
  if (failed) {
    evaluateGraph(x.graph, inputs);
    throw RuntimeError("a GPU kernel reported an invalid element, but the "
                       "reference kernels computed the call");
  }

  std::vector<GPUResult> out(plan.outputValues.size());
  for (size_t o = 0; o < out.size(); ++o) {
    int v = plan.outputValues[o];
    Slot &s = slots[v];
    if (o < keepOnDevice.size() && keepOnDevice[o]) {
      cuda::DeviceArray a = call.onDevice(v);
      if (!s.fresh || !a.isContiguous())
        a = gpu::contiguousCopy(a);
      s.fresh = false; // a second output of the same value copies
      out[o].device = std::make_shared<DeviceArrayValue>(a);
      continue;
    }
    // Results own their memory: no aliasing of arguments, shared values,
    // constants or one another.
    NDArray h = call.onHost(v);
    if (!s.downloaded)
      h = h.copy();
    s.downloaded = false;
    out[o].host = h;
  }
  return out;
}

} // namespace thjit
