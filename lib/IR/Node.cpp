//===- Node.cpp - Nodes, hash-consing and leaves --------------------------===//
#include "thjit/IR/Node.h"
#include "thjit/Support/Format.h"

#include <cstring>
#include <iomanip>
#include <sstream>
#include <unordered_map>

namespace thjit {

static const char *const kOpNames[] = {
#define THJIT_OP(KIND, NAME, FAMILY) NAME,
#include "thjit/IR/Ops.def"
};
static const OpFamily kOpFamilies[] = {
#define THJIT_OP(KIND, NAME, FAMILY) OpFamily::FAMILY,
#include "thjit/IR/Ops.def"
};

const char *opName(OpKind kind) { return kOpNames[(int)kind]; }
OpFamily opFamily(OpKind kind) { return kOpFamilies[(int)kind]; }

std::optional<OpKind> opKindByName(const std::string &name) {
  for (int i = 0; i < kNumOpKinds; ++i)
    if (name == kOpNames[i])
      return (OpKind)i;
  return std::nullopt;
}

bool ScalarProgram::mayFail() const {
  for (const Op &op : ops)
    if (op.kind == OpKind::Pow && isSignedInt(op.dtype)) {
      const Op *e = opOf(op.args[1]);
      if (!e || e->kind != OpKind::Constant || e->intValue < 0)
        return true;
    }
  return false;
}

size_t ScalarProgram::hash() const {
  size_t h = 0x5ca1a7;
  for (DType t : inputs)
    hashCombine(h, (size_t)t);
  for (const Op &op : ops) {
    hashCombine(h, (size_t)op.kind);
    hashCombine(h, (size_t)op.dtype);
    hashCombine(h, op.castTo ? (size_t)*op.castTo + 1 : 0);
    hashCombine(h, std::hash<double>()(op.floatValue));
    hashCombine(h, (size_t)op.intValue);
    for (int a : op.args)
      hashCombine(h, (size_t)a);
  }
  for (int o : outputs)
    hashCombine(h, (size_t)o);
  return h;
}

std::string ScalarProgram::str() const {
  auto name = [&](int i) {
    return i < (int)inputs.size() ? "i" + std::to_string(i)
                                  : "t" + std::to_string(i - inputs.size());
  };
  std::vector<std::string> parts;
  for (size_t k = 0; k < ops.size(); ++k) {
    if (ops[k].kind == OpKind::Constant) {
      std::ostringstream os;
      if (isFloat(ops[k].dtype))
        os << std::setprecision(17) << ops[k].floatValue;
      else if (ops[k].dtype == DType::UInt64)
        os << (uint64_t)ops[k].intValue;
      else
        os << ops[k].intValue;
      parts.push_back(name((int)(inputs.size() + k)) + "=" + os.str());
      continue;
    }
    std::vector<std::string> args;
    for (int a : ops[k].args)
      args.push_back(name(a));
    std::string fn = opName(ops[k].kind);
    if (ops[k].castTo)
      fn += std::string("<") + dtypeShortName(*ops[k].castTo) + ">";
    parts.push_back(name((int)(inputs.size() + k)) + "=" + fn + "(" +
                    join(args, ",") + ")");
  }
  // One output is the last value; several are listed.
  if (outputs.size() > 1) {
    std::vector<std::string> outs;
    for (int o : outputs)
      outs.push_back(name(o));
    parts.push_back("out(" + join(outs, ",") + ")");
  }
  return join(parts, "; ");
}

size_t Attrs::hash() const {
  size_t h = 0x51ed27;
  for (int a : axes)
    hashCombine(h, std::hash<int>()(a));
  hashCombine(h, keepdims);
  hashCombine(h, dtype ? (size_t)*dtype + 1 : 0);
  for (const IndexEntry &e : index)
    hashCombine(h, (size_t)e.kind * 8 + e.hasStart * 4 + e.hasStop * 2 +
                       e.hasStep);
  if (program)
    hashCombine(h, program->hash());
  hashCombine(h, std::hash<const void *>()(graph.get()));
  return h;
}

// ---- The uniquing table --------------------------------------------------

/// Weak set of uniqued nodes, keyed by structural hash.
class UniqueTable {
public:
  static UniqueTable &get() {
    static UniqueTable *table = new UniqueTable(); // never destroyed: nodes
    return *table;                                  // may outlive statics
  }

  // Returns an existing equal node (with its count raised) or inserts `n`.
  Node *findOrInsert(Node *n) {
    std::lock_guard<std::mutex> lock(mutex);
    auto range = nodes.equal_range(n->hashValue);
    for (auto it = range.first; it != range.second; ++it) {
      Node *other = it->second;
      if (!equal(other, n))
        continue;
      // Only take a node that is not already being destroyed.
      int c = other->refs.load();
      while (c > 0)
        if (other->refs.compare_exchange_weak(c, c + 1))
          return other;
    }
    n->uniqued = true;
    nodes.emplace(n->hashValue, n);
    return n;
  }

  void erase(Node *n) {
    std::lock_guard<std::mutex> lock(mutex);
    auto range = nodes.equal_range(n->hashValue);
    for (auto it = range.first; it != range.second; ++it)
      if (it->second == n) {
        nodes.erase(it);
        return;
      }
  }

private:
  static bool equal(const Node *a, const Node *b) {
    if (a->opKind != b->opKind || a->types != b->types ||
        !(a->attributes == b->attributes) || a->ops != b->ops)
      return false;
    if (a->opKind != OpKind::Constant)
      return true;
    const NDArray &x = a->constant, &y = b->constant;
    return x.dtype() == y.dtype() && x.shape() == y.shape() &&
           std::memcmp(x.data(), y.data(), x.nbytes()) == 0;
  }

  std::mutex mutex;
  std::unordered_multimap<size_t, Node *> nodes;
};

static std::atomic<uint64_t> nextSerial{1};
static std::atomic<size_t> liveNodes{0};

size_t liveNodeCount() { return liveNodes.load(); }

// Nodes are freed iteratively: dropping the last reference to a long chain
// must not recurse once per node.
static thread_local std::vector<Node *> *pendingFree = nullptr;

void Node::release() {
  if (refs.fetch_sub(1, std::memory_order_acq_rel) != 1)
    return;
  if (pendingFree) {
    pendingFree->push_back(this);
    return;
  }
  std::vector<Node *> pending{this};
  pendingFree = &pending;
  while (!pending.empty()) {
    Node *n = pending.back();
    pending.pop_back();
    if (n->uniqued)
      UniqueTable::get().erase(n);
    std::vector<Var> operands = std::move(n->ops);
    delete n;
    liveNodes.fetch_sub(1);
    operands.clear(); // may push more nodes onto `pending`
  }
  pendingFree = nullptr;
}

NodeRef::NodeRef(Node *n) : ptr(n) {
  if (ptr)
    ptr->retain();
}
NodeRef::~NodeRef() {
  if (ptr)
    ptr->release();
}

std::string Node::whereCreated() const {
  if (loc.valid())
    return " (created at " + loc.str() + ")";
  if (!label.empty())
    return " (named " + label + ")";
  return "";
}

const std::string &Node::resultName(unsigned i) const {
  static const std::string none;
  return i == 0 ? label : i - 1 < laterLabels.size() ? laterLabels[i - 1] : none;
}

void Node::setResultName(unsigned i, const std::string &n) {
  laterLabels.resize(std::max<size_t>(types.size(), 1) - 1);
  if (i == 0)
    label = n;
  else
    laterLabels.at(i - 1) = n;
}

Node *Node::allocate(OpKind kind) {
  Node *n = new Node();
  liveNodes.fetch_add(1);
  n->opKind = kind;
  n->loc = currentLocation();
  n->serial = nextSerial++;
  return n;
}

void Node::discard(Node *n) {
  n->refs.store(0);
  delete n;
  liveNodes.fetch_sub(1);
}

NodeRef makeNode(OpKind kind, std::vector<Var> operands, Attrs attrs,
                 std::vector<const TensorType *> resultTypes) {
  Node *n = Node::allocate(kind);
  n->ops = std::move(operands);
  n->attributes = std::move(attrs);
  n->types = std::move(resultTypes);
  size_t h = std::hash<int>()((int)kind);
  hashCombine(h, n->attributes.hash());
  for (const Var &v : n->ops) {
    hashCombine(h, std::hash<const void *>()(v.node()));
    hashCombine(h, v.index());
  }
  for (const TensorType *t : n->types)
    hashCombine(h, std::hash<const void *>()(t));
  n->hashValue = h;
  n->refs.store(1);
  Node *found = UniqueTable::get().findOrInsert(n);
  if (found != n)
    Node::discard(n); // an equal node exists
  return NodeRef::adopt(found);
}

NodeRef Node::makeLeaf(OpKind kind, const TensorType *type,
                       const std::string &name) {
  Node *n = allocate(kind);
  n->types = {type};
  n->label = name;
  return NodeRef(n);
}

Var makeInput(const TensorType *type, const std::string &name) {
  return Var(Node::makeLeaf(OpKind::Input, type, name));
}

std::string typeMismatch(const NDArray &value, const TensorType *type) {
  if (value.dtype() != type->dtype())
    return std::string("dtype ") + dtypeName(value.dtype()) + " is not " +
           dtypeName(type->dtype());
  if (value.ndim() != type->ndim())
    return "rank " + std::to_string(value.ndim()) + " is not " +
           std::to_string(type->ndim());
  for (int i = 0; i < type->ndim(); ++i)
    if (type->size(i) != TensorType::kUnknown &&
        value.dim(i) != type->size(i)) {
      if (type->size(i) == 1)
        return "dimension " + std::to_string(i) +
               " is broadcastable (size 1) in the type but has size " +
               std::to_string(value.dim(i));
      return "dimension " + std::to_string(i) + " has size " +
             std::to_string(value.dim(i)) + ", not " +
             std::to_string(type->size(i));
    }
  return "";
}

Var makeShared(NDArray value, const TensorType *type,
               const std::string &name, const std::string &device) {
  std::string why = typeMismatch(value, type);
  if (!why.empty())
    throw TypeError("shared variable " + (name.empty() ? "" : name + " ") +
                    "of type " + type->str() + " cannot hold this value: " +
                    why);
  NodeRef n = Node::makeLeaf(OpKind::Shared, type, name);
  n->storage = std::make_shared<SharedStorage>(std::move(value), device);
  return Var(n);
}

Var makeConstant(NDArray value, const TensorType *type) {
  if (!type)
    type = TensorType::get(value.dtype(), value.shape());
  if (!value.isContiguous() || value.buffer().use_count() > 1)
    value = value.copy(); // constants own contiguous, private bytes
  Node *n = Node::allocate(OpKind::Constant);
  n->types = {type};
  size_t h = std::hash<int>()((int)OpKind::Constant);
  hashCombine(h, std::hash<const void *>()(type));
  hashCombine(h, std::hash<std::string_view>()(std::string_view(
                     reinterpret_cast<const char *>(value.data()),
                     value.nbytes())));
  n->constant = std::move(value);
  n->hashValue = h;
  n->refs.store(1);
  Node *found = UniqueTable::get().findOrInsert(n);
  if (found != n)
    Node::discard(n);
  return Var(NodeRef::adopt(found));
}

// ---- SharedStorage ------------------------------------------------------------

bool SharedStorage::beginWrite(const NDArray &held) {
  std::lock_guard<std::mutex> lock(mutex);
  if (writing || !held.defined() || current.buffer() != held.buffer() ||
      current.buffer().use_count() != 2 || !held.isContiguous() ||
      held.data() != held.buffer()->data())
    return false;
  writing = true;
  return true;
}

void SharedStorage::endWrite() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    writing = false;
  }
  written.notify_all();
}

// ---- Var --------------------------------------------------------------------

const TensorType *Var::type() const { return ref->resultTypes()[idx]; }
const std::string &Var::name() const {
  // A node whose results are not named apart has one name for all.
  return ref->namedApart() ? ref->resultName(idx) : ref->userName();
}
Var &Var::setName(const std::string &n) {
  if (ref->namedApart())
    ref->setResultName(idx, n);
  else
    ref->setUserName(n);
  return *this;
}
bool Var::isLeaf() const { return ref->isLeaf(); }
bool Var::isInput() const { return ref->kind() == OpKind::Input; }
bool Var::isShared() const { return ref->kind() == OpKind::Shared; }
bool Var::isConstant() const { return ref->kind() == OpKind::Constant; }

NDArray Var::constantValue() const {
  if (isConstant())
    return ref->constantValue();
  if (isShared())
    return ref->sharedStorage()->get();
  throw ValueError("not a constant");
}

NDArray Var::getValue() const {
  if (!isShared())
    throw TypeError("get_value: " +
                    (name().empty() ? std::string("this variable") : name()) +
                    " is not a shared variable");
  return ref->sharedStorage()->get().copy();
}

void Var::setValue(const NDArray &value) const {
  if (!isShared())
    throw TypeError("set_value: " +
                    (name().empty() ? std::string("this variable") : name()) +
                    " is not a shared variable");
  std::string why = typeMismatch(value, type());
  if (!why.empty())
    throw TypeError("set_value of shared variable " +
                    (name().empty() ? std::string("") : name() + " ") +
                    "(type " + type()->str() + "): " + why);
  ref->sharedStorage()->set(value.copy());
}

} // namespace thjit
