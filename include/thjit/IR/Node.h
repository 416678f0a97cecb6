//===- thjit/IR/Node.h - Nodes, values and user handles ---------*- C++ -*-===//
///
/// \file
/// A Node applies an op (an OpKind plus attributes) to operands and has one or
/// more typed results. Nodes are immutable and hash-consed: making a node that
/// exists (same kind, attributes, operands and result types) returns the one
/// that exists, so common sub-expressions merge as they are built. Leaves
/// (inputs and shared variables) are distinct by identity; constants merge
/// by value. The uniquing table holds nodes weakly: a node lives as long as a
/// Var or another node refers to it.
///
/// A Var is a user handle: (node, result index), cheap to copy.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_IR_NODE_H
#define THJIT_IR_NODE_H

#include "thjit/Array/NDArray.h"
#include "thjit/IR/ScalarProgram.h"
#include "thjit/IR/TensorType.h"
#include "thjit/Support/Error.h"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace thjit {

enum class OpKind : uint16_t {
#define THJIT_OP(KIND, NAME, FAMILY) KIND,
#include "thjit/IR/Ops.def"
};

enum class OpFamily : uint8_t {
  Leaf,
  Elemwise,
  Reduce,
  Blas,
  Shape,
  Subtensor,
  NNet,
  GradControl,
  OpFromGraph,
  Transfer
};

/// The printed name of an op kind ("add", "dimshuffle").
const char *opName(OpKind kind);
OpFamily opFamily(OpKind kind);
/// The kind with this printed name.
std::optional<OpKind> opKindByName(const std::string &name);
constexpr int kNumOpKinds = 0
#define THJIT_OP(KIND, NAME, FAMILY) +1
#include "thjit/IR/Ops.def"
    ;

/// One entry of an index (Subtensor and friends). Its symbolic values (the
/// integer, a slice's bounds, an index array) are operands of the node, in
/// order. Array entries (an integer array, or a boolean mask covering as
/// many axes as it has) make an advanced index: only the Advanced* ops take
/// them.
struct IndexEntry {
  enum Kind : uint8_t { Int, Slice, NewAxis, Array };
  Kind kind = Int;
  bool hasStart = false, hasStop = false, hasStep = false; // Slice only
  /// How many operands the entry takes.
  int numOperands() const {
    if (kind == Int || kind == Array)
      return 1;
    if (kind == NewAxis)
      return 0;
    return hasStart + hasStop + hasStep;
  }
  bool operator==(const IndexEntry &o) const {
    return kind == o.kind && hasStart == o.hasStart && hasStop == o.hasStop &&
           hasStep == o.hasStep;
  }
};

class Var;
class Graph;

/// The graph of an op_from_graph node (Theano's OpFromGraph, built by
/// opFromGraph() in thjit/Ops/Ops.h): one op whose results are `outputs`
/// computed from `inputs`.
struct OpGraph {
  /// For printing: op_from_graph{name}.
  std::string name;
  /// Input leaves: the declared inputs, then one for each shared variable
  /// the outputs read. A node passes those shared variables as its last
  /// operands, so that gradients reach them.
  std::vector<Var> inputs;
  std::vector<Var> outputs;
  /// The shared variables behind the last inputs.
  std::vector<Var> shared;
  /// Replaced by its graph when a function using it is compiled (else it is
  /// compiled on its own and called as one step).
  bool inlined = false;
  /// Optional gradient: the gradients of the declared inputs, given the
  /// node's declared operands and the gradients of its results (zeros for
  /// results nothing depends on). An undefined Var is no gradient.
  std::function<std::vector<Var>(const std::vector<Var> &,
                                 const std::vector<Var> &)>
      lopOverride;
  /// With lopOverride: the declared inputs whose gradients go through the
  /// graph all the same (Theano's 'default' entries); the override's
  /// answers for them are not used. Empty: none.
  std::vector<bool> lopThroughGraph;
  /// Optional R-op: the tangents of the results, given the node's declared
  /// operands and their tangents (zeros where they have none).
  std::function<std::vector<Var>(const std::vector<Var> &,
                                 const std::vector<Var> &)>
      ropOverride;
};

/// The attributes of a node; each op uses the fields it documents, the rest
/// keep their defaults.
struct Attrs {
  /// Reduce: the reduced axes, sorted. DimShuffle: the new order, -1 for a
  /// new broadcastable axis ('x'). Join/Split/ArgMax/ArgMin: {axis}.
  /// TensorDot: the first operand's axes then the second's.
  /// ShapeI: {axis}.
  std::vector<int> axes;
  /// Reduce: keep the reduced axes as length 1.
  bool keepdims = false;
  /// Cast, ARange, Eye, Alloc: the result dtype.
  std::optional<DType> dtype;
  /// Subtensor, SetSubtensor, IncSubtensor and their Advanced* forms: the
  /// index.
  std::vector<IndexEntry> index;
  /// Composite: what one element computes.
  std::shared_ptr<const ScalarProgram> program;
  /// OpFromGraph: its graph (ops made separately differ, even when their
  /// graphs are alike).
  std::shared_ptr<const OpGraph> graph;

  bool operator==(const Attrs &o) const {
    return axes == o.axes && keepdims == o.keepdims && dtype == o.dtype &&
           index == o.index && graph == o.graph &&
           (program == o.program ||
            (program && o.program && *program == *o.program));
  }
  size_t hash() const;
};

/// A copy of a shared variable's value in another memory (the GPU's),
/// made by the runtime that uses it (lib/Runtime/CUDA.h's DeviceArray).
class DeviceValue {
public:
  virtual ~DeviceValue() = default;
  /// The value in host memory.
  virtual NDArray toHost() const = 0;
};

/// The storage of a shared variable: its current value. A compiled call
/// may write the new value over the old one (an SGD step in place): it
/// first takes the right to (beginWrite), which it gets only when nothing
/// but the storage and the call hold the value. Until the call ends
/// (endWrite), readers wait, so that none sees a half-written value.
///
/// A variable that lives on the GPU (`device` "cuda") keeps its value there
/// between calls of GPU functions: the host copy is made only when get()
/// needs it, and a host value set() is copied to the GPU at the next call.
class SharedStorage {
public:
  SharedStorage(NDArray value, std::string device = "cpu")
      : current(std::move(value)), where(std::move(device)) {}
  NDArray get() const {
    std::unique_lock<std::mutex> lock(mutex);
    written.wait(lock, [&] { return !writing; });
    if (hostStale) {
      current = onDevice->toHost();
      hostStale = false;
    }
    return current;
  }
  void set(NDArray value) {
    std::lock_guard<std::mutex> lock(mutex);
    current = std::move(value);
    onDevice = nullptr;
    hostStale = false;
  }
  /// "cpu", or "cuda" for a variable that lives on the GPU.
  const std::string &device() const { return where; }
  /// The value in GPU memory, or null when the host's is newer.
  std::shared_ptr<const DeviceValue> deviceValue() const {
    std::lock_guard<std::mutex> lock(mutex);
    return onDevice;
  }
  /// A value in GPU memory: a new one computed there (the host copy is
  /// then stale), or (`hostToo`) the host value's copy.
  void setDeviceValue(std::shared_ptr<const DeviceValue> value, bool hostToo) {
    std::lock_guard<std::mutex> lock(mutex);
    onDevice = std::move(value);
    hostStale = !hostToo;
  }
  /// `held` is the value the calling call read with get(). True when the
  /// call may write over it: the storage and that call are its only
  /// holders, it fills its buffer contiguously, and no call writes it.
  bool beginWrite(const NDArray &held);
  void endWrite();

private:
  mutable std::mutex mutex;
  mutable std::condition_variable written;
  bool writing = false;
  mutable NDArray current;
  std::string where;
  std::shared_ptr<const DeviceValue> onDevice;
  mutable bool hostStale = false;
};

class Node;
class Var;

/// Intrusive strong reference to a Node.
class NodeRef {
public:
  NodeRef() = default;
  explicit NodeRef(Node *n);
  NodeRef(const NodeRef &o) : NodeRef(o.ptr) {}
  NodeRef(NodeRef &&o) noexcept : ptr(o.ptr) { o.ptr = nullptr; }
  NodeRef &operator=(NodeRef o) noexcept {
    std::swap(ptr, o.ptr);
    return *this;
  }
  ~NodeRef();
  Node *get() const { return ptr; }
  Node *operator->() const { return ptr; }
  Node &operator*() const { return *ptr; }
  explicit operator bool() const { return ptr != nullptr; }
  bool operator==(const NodeRef &o) const { return ptr == o.ptr; }

  /// Adopts a pointer whose count was already raised for us.
  static NodeRef adopt(Node *n) {
    NodeRef r;
    r.ptr = n;
    return r;
  }

private:
  Node *ptr = nullptr;
};

/// A symbolic value: one result of a node. The handle users hold.
class Var {
public:
  Var() = default;
  Var(NodeRef node, unsigned index = 0) : ref(std::move(node)), idx(index) {}

  bool defined() const { return (bool)ref; }
  explicit operator bool() const { return defined(); }
  Node *node() const { return ref.get(); }
  const NodeRef &nodeRef() const { return ref; }
  unsigned index() const { return idx; }
  const TensorType *type() const;
  DType dtype() const { return type()->dtype(); }
  int ndim() const { return type()->ndim(); }

  /// The user's name, "" when none.
  const std::string &name() const;
  /// Names the value (its node). Returns *this for chaining.
  Var &setName(const std::string &name);

  bool isLeaf() const;
  bool isInput() const;
  bool isShared() const;
  bool isConstant() const;
  /// The value of a constant, or of a shared variable now.
  NDArray constantValue() const;

  /// Shared variables: Theano's get_value/set_value. set_value checks the
  /// dtype, rank and broadcastable dimensions: it never silently casts.
  NDArray getValue() const;
  void setValue(const NDArray &value) const;

  bool operator==(const Var &o) const {
    return ref == o.ref && idx == o.idx;
  }
  bool operator!=(const Var &o) const { return !(*this == o); }

private:
  NodeRef ref;
  unsigned idx = 0;
};

/// Orders Vars by identity, for use as map keys (`<` on Vars builds a graph).
struct VarLess {
  bool operator()(const Var &a, const Var &b) const {
    return a.node() != b.node() ? a.node() < b.node() : a.index() < b.index();
  }
};

struct VarHash {
  size_t operator()(const Var &v) const {
    return std::hash<const void *>()(v.node()) ^ v.index();
  }
};

class Node {
public:
  OpKind kind() const { return opKind; }
  const char *name() const { return opName(opKind); }
  const std::vector<Var> &operands() const { return ops; }
  const Var &operand(int i) const { return ops[i]; }
  int numOperands() const { return (int)ops.size(); }
  const std::vector<const TensorType *> &resultTypes() const { return types; }
  int numResults() const { return (int)types.size(); }
  Var result(unsigned i = 0) { return Var(NodeRef(this), i); }
  const Attrs &attrs() const { return attributes; }

  bool isLeaf() const { return opFamily(opKind) == OpFamily::Leaf; }
  /// Constants: the value. Shared variables: the storage.
  const NDArray &constantValue() const { return constant; }
  const std::shared_ptr<SharedStorage> &sharedStorage() const {
    return storage;
  }

  /// The user's name and where the node was first made (metadata: not part
  /// of the node's identity).
  const std::string &userName() const { return label; }
  void setUserName(const std::string &n) { label = n; }
  /// Result i's own name, where results are named apart (a composite
  /// computing several of the user's values); result 0's is userName().
  const std::string &resultName(unsigned i) const;
  void setResultName(unsigned i, const std::string &n);
  bool namedApart() const { return !laterLabels.empty(); }
  const SourceLoc &location() const { return loc; }
  /// " (created at FILE:LINE:COL)" or " (named NAME)" or "": for messages.
  std::string whereCreated() const;
  /// For a node a rewrite made to stand for several of the user's nodes (a
  /// fused composite): the user's computation, a graph whose inputs are
  /// this node's operands in order. Run-time errors re-run it, so that
  /// they name the user's op and place. Null for other nodes. Metadata,
  /// like the name: not part of the node's identity.
  const std::shared_ptr<const Graph> &unfused() const { return userGraph; }
  void setUnfused(std::shared_ptr<const Graph> g) { userGraph = std::move(g); }

  /// Unique id among live and dead nodes; orders leaves deterministically.
  uint64_t id() const { return serial; }

  // Reference counting (see NodeRef).
  void retain() { refs.fetch_add(1, std::memory_order_relaxed); }
  void release();

private:
  friend NodeRef makeNode(OpKind, std::vector<Var>, Attrs,
                          std::vector<const TensorType *>);
  friend Var makeInput(const TensorType *, const std::string &);
  friend Var makeShared(NDArray, const TensorType *, const std::string &,
                        const std::string &);
  friend Var makeConstant(NDArray, const TensorType *);
  friend class UniqueTable;
  Node() = default;
  /// A new, counted node of this kind located at currentLocation().
  static Node *allocate(OpKind kind);
  static NodeRef makeLeaf(OpKind kind, const TensorType *type,
                          const std::string &name);
  /// Frees a node that was never shared (an equal one existed).
  static void discard(Node *n);

  OpKind opKind = OpKind::Input;
  std::vector<Var> ops;
  std::vector<const TensorType *> types;
  Attrs attributes;
  NDArray constant;
  std::shared_ptr<SharedStorage> storage;
  std::string label;
  std::vector<std::string> laterLabels; ///< results 1, 2, ... named apart
  SourceLoc loc;
  std::shared_ptr<const Graph> userGraph;
  uint64_t serial = 0;
  size_t hashValue = 0;
  bool uniqued = false;
  std::atomic<int> refs{0};
};

/// The node with this op, operands, attributes and result types: an existing
/// one when there is one (hash-consing), else a new one located at
/// currentLocation(). The caller (lib/Ops) has inferred the types.
NodeRef makeNode(OpKind kind, std::vector<Var> operands, Attrs attrs,
                 std::vector<const TensorType *> resultTypes);
/// A new symbolic input.
Var makeInput(const TensorType *type, const std::string &name = "");
/// A new shared variable holding `value` (of a type `type` accepts).
/// `device` is where it lives: "cpu" or "cuda" (SharedStorage).
Var makeShared(NDArray value, const TensorType *type,
               const std::string &name = "", const std::string &device = "cpu");
/// The constant with this value (merged with an equal constant). `type`
/// defaults to the value's dtype and exact shape.
Var makeConstant(NDArray value, const TensorType *type = nullptr);

/// Checks a value against a type: dtype, rank and static sizes. Returns ""
/// when it fits, else what differs.
std::string typeMismatch(const NDArray &value, const TensorType *type);

/// The number of nodes alive (tests use it to show graphs are freed).
size_t liveNodeCount();

} // namespace thjit

#endif
