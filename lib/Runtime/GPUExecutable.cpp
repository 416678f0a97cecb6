//===- GPUExecutable.cpp - Running a transferred graph on the GPU ---------===//
#include "GPUExecutable.h"
#include "thjit/CodeGen/GPU.h"
#include "thjit/CodeGen/Plan.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Runtime/CUDA.h"
#include "thjit/Support/Error.h"

#include <algorithm>
#include <map>
#include <mutex>

namespace thjit {

namespace {

/// A shared variable's value in GPU memory (SharedStorage keeps it).
struct DeviceArrayValue : DeviceValue {
  explicit DeviceArrayValue(cuda::DeviceArray a) : array(std::move(a)) {}
  NDArray toHost() const override { return array.toHost(); }
  cuda::DeviceArray array;
};

/// The architecture to generate for: the device's, or the newest LLVM 19
/// targets below it (PTX runs on later GPUs, compiled by the driver).
std::string archFor(const cuda::DeviceInfo &device) {
  const int want = device.major * 10 + device.minor;
  std::string best = codegen::kDefaultGPUArch;
  for (const std::string &a : codegen::supportedGPUArchs())
    if (a.back() != 'a' && std::atoi(a.c_str() + 3) <= want)
      best = a;
  return best;
}

/// Functions with the same PTX share one loaded module (the driver
/// compiles PTX to machine code at load: once per process is enough).
std::shared_ptr<cuda::Module> loadShared(const std::string &ptx) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<cuda::Module>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  std::weak_ptr<cuda::Module> &slot = loaded[ptx];
  std::shared_ptr<cuda::Module> m = slot.lock();
  if (!m)
    slot = m = cuda::Module::load(ptx);
  return m;
}

/// Threads per block of the grid-stride element-wise kernels.
constexpr unsigned kElemwiseBlock = 256;

} // namespace

struct GPUExecutableImpl {
  Graph graph;
  codegen::Plan plan;
  codegen::PTXModule ptx;
  /// For each step, its kernels (contiguous first), or none.
  std::vector<std::vector<const codegen::GPUKernel *>> kernels;

  // Loaded at the first call.
  mutable std::once_flag loaded;
  mutable std::shared_ptr<cuda::Module> module;
  mutable std::map<std::string, void *> functions;
  /// Constants uploaded once.
  mutable std::mutex constantsMutex;
  mutable std::map<int, cuda::DeviceArray> constants;

  void load() const {
    cuda::requireDevice();
    std::call_once(loaded, [&] {
      module = loadShared(ptx.ptx);
      for (const codegen::GPUKernel &k : ptx.kernels)
        functions[k.name] = module->function(k.name);
    });
  }
};

GPUExecutable::GPUExecutable(const Graph &g, const codegen::CompileOptions &options)
    : impl(std::make_unique<GPUExecutableImpl>()) {
  impl->graph = g;
  impl->plan = codegen::makePlan(g, options.updates);
  std::string arch = cuda::available() ? archFor(cuda::currentDevice())
                                       : codegen::gpuArch();
  impl->ptx = codegen::compileForPTX(g, arch, options);
  impl->kernels.resize(impl->plan.steps.size());
  for (const codegen::GPUKernel &k : impl->ptx.kernels)
    impl->kernels[k.step].push_back(&k);
  for (auto [step, from] : impl->ptx.sharedKernels)
    impl->kernels[step] = impl->kernels[from];
}

GPUExecutable::~GPUExecutable() = default;

const std::string &GPUExecutable::ptx() const { return impl->ptx.ptx; }

namespace {

/// A value during a call: on the host, on the GPU, or both.
struct Slot {
  NDArray host;
  cuda::DeviceArray device;
  /// Whether `device` is this call's own memory (a kernel's result), and
  /// whether `host` was copied from it: then it can be returned, or kept
  /// by a shared variable, without a copy.
  bool fresh = false, downloaded = false;
};

/// The result shape of an element-wise step by NumPy's rule, or empty
/// with `ok` false when the operands do not broadcast together.
Shape broadcastShape(const std::vector<Shape> &shapes, int R, bool &ok) {
  Shape out(R, 1);
  ok = true;
  for (const Shape &s : shapes)
    for (int j = 0; j < (int)s.size(); ++j) {
      int64_t &d = out[R - s.size() + j];
      if (s[j] == d || s[j] == 1)
        continue;
      if (d != 1)
        ok = false;
      d = s[j];
    }
  return out;
}

} // namespace

std::vector<GPUResult> GPUExecutable::run(const std::vector<NDArray> &inputs,
                                          const std::vector<bool> &keepOnDevice) const {
  using codegen::StepKind;
  const GPUExecutableImpl &x = *impl;
  const codegen::Plan &plan = x.plan;
  x.load();
  std::vector<Slot> slots(plan.values.size());

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

  auto onHost = [&](int v) -> const NDArray & {
    Slot &s = slots[v];
    if (!s.host.defined()) {
      s.host = s.device.toHost();
      s.downloaded = true;
    }
    return s.host;
  };
  auto onDevice = [&](int v) -> const cuda::DeviceArray & {
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
  };
  auto runOnHost = [&](const codegen::Step &step) {
    std::vector<NDArray> ops;
    for (int v : step.operands)
      ops.push_back(onHost(v));
    if (step.producer) // a fused producer is evaluated first
      ops = evaluateNode(*step.producer, ops);
    std::vector<NDArray> rs = evaluateNode(*step.node, ops);
    for (size_t r = 0; r < step.results.size(); ++r)
      slots[step.results[r]].host = rs[r];
  };

  std::shared_ptr<cuda::DeviceBuffer> status = cuda::allocate(sizeof(int32_t));
  cuda::fillBytes(status->data(), 0, sizeof(int32_t));
  const unsigned maxBlocks = 32u * (unsigned)cuda::currentDevice().multiprocessors;

  for (size_t s = 0; s < plan.steps.size(); ++s) {
    const codegen::Step &step = plan.steps[s];
    const std::vector<const codegen::GPUKernel *> &kernels = x.kernels[s];
    if (step.kind == StepKind::DimShuffle && slots[step.operands[0]].device.defined()) {
      const cuda::DeviceArray &a = slots[step.operands[0]].device;
      Shape shape, strides;
      for (int p : step.node->attrs().axes) {
        shape.push_back(p < 0 ? 1 : a.shape()[p]);
        strides.push_back(p < 0 ? 0 : a.strides()[p]);
      }
      slots[step.results[0]].device = a.view(shape, strides);
      continue;
    }
    if (step.kind == StepKind::ShapeI) {
      int v = step.operands[0];
      const Shape &shape =
          slots[v].device.defined() ? slots[v].device.shape() : slots[v].host.shape();
      slots[step.results[0]].host =
          NDArray::scalar(Scalar::fromInt(shape[step.node->attrs().axes[0]]));
      continue;
    }
    if (step.kind != StepKind::Elemwise || kernels.empty()) {
      runOnHost(step);
      continue;
    }

    // An element-wise kernel: the result's shape by broadcasting.
    const int R = plan.values[step.results[0]].ndim;
    std::vector<Shape> shapes;
    for (int v : step.operands)
      shapes.push_back(slots[v].device.defined() ? slots[v].device.shape()
                                                 : slots[v].host.shape());
    bool ok;
    Shape shape = broadcastShape(shapes, R, ok);
    if (!ok) { // the reference kernel raises the user's error
      runOnHost(step);
      throw RuntimeError(std::string(step.node->name()) +
                         ": operands do not broadcast together");
    }
    const int64_t n = shapeSize(shape);
    std::vector<cuda::DeviceArray> results;
    for (int r : step.results) {
      results.push_back(cuda::DeviceArray::empty(plan.values[r].dtype, shape));
      slots[r].device = results.back();
      slots[r].fresh = true;
    }
    if (n == 0)
      continue;
    // The contiguous kernel when every operand is broadcast whole by its
    // type or contiguous with the result's elements.
    const codegen::GPUKernel *kernel = kernels.back();
    std::vector<const cuda::DeviceArray *> ops;
    for (int v : step.operands)
      ops.push_back(&onDevice(v));
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
    cuda::KernelArgs args;
    for (const cuda::DeviceArray *a : ops)
      args.pointer(a->data());
    for (const cuda::DeviceArray &r : results)
      args.pointer(r.data());
    args.pointer(status->data());
    args.i64(n);
    if (!kernel->contiguous) {
      for (int64_t d : shape)
        args.i64(d);
      for (const cuda::DeviceArray *a : ops) {
        int offset = R - a->ndim();
        for (int j = 0; j < a->ndim(); ++j) // a broadcast dim is read at 0
          args.i64(a->shape()[j] == 1 && shape[offset + j] != 1 ? 0 : a->strides()[j]);
      }
    }
    unsigned blocks = (unsigned)std::min<int64_t>(
        (n + kElemwiseBlock - 1) / kElemwiseBlock, std::max(1u, maxBlocks));
    cuda::launch(x.functions.at(kernel->name), blocks, 1, 1, kElemwiseBlock, 0, args);
  }

  // An element that failed (an integer to a negative power): the reference
  // evaluation of the whole call raises the error the user's code gets.
  int32_t failed = 0;
  cuda::copyToHost(&failed, status->data(), sizeof failed);
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
      cuda::DeviceArray a = onDevice(v);
      if (!s.fresh || !a.isContiguous())
        a = a.copy();
      s.fresh = false; // a second output of the same value copies
      out[o].device = std::make_shared<DeviceArrayValue>(a);
      continue;
    }
    // Results own their memory: no aliasing of arguments, shared values,
    // constants or one another.
    NDArray h = onHost(v);
    if (!s.downloaded)
      h = h.copy();
    s.downloaded = false;
    out[o].host = h;
  }
  return out;
}

} // namespace thjit
