//===- TensorType.cpp - Uniqued tensor types ------------------------------===//
#include "thjit/IR/TensorType.h"

#include <map>
#include <memory>
#include <mutex>

namespace thjit {

const TensorType *TensorType::get(DType dtype,
                                  const std::vector<int64_t> &shape) {
  // Types are few and small; they live for the whole process.
  static std::mutex mutex;
  static std::map<std::pair<DType, std::vector<int64_t>>,
                  std::unique_ptr<TensorType>>
      table;
  std::lock_guard<std::mutex> lock(mutex);
  auto &slot = table[{dtype, shape}];
  if (!slot)
    slot.reset(new TensorType(dtype, shape));
  return slot.get();
}

const TensorType *TensorType::ofRank(DType dtype, int ndim) {
  return get(dtype, std::vector<int64_t>(ndim, kUnknown));
}

const TensorType *TensorType::getBroadcastable(DType dtype,
                                               const std::vector<bool> &bcast) {
  std::vector<int64_t> shape;
  for (bool b : bcast)
    shape.push_back(b ? 1 : kUnknown);
  return get(dtype, shape);
}

std::vector<bool> TensorType::broadcastable() const {
  std::vector<bool> out;
  for (int64_t s : sizes)
    out.push_back(s == 1);
  return out;
}

std::string TensorType::str() const {
  std::string s = dtypeShortName(type);
  s += "[";
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (i)
      s += ",";
    s += sizes[i] == kUnknown ? "?" : std::to_string(sizes[i]);
  }
  return s + "]";
}

bool isAssignable(const TensorType *from, const TensorType *to) {
  if (from == to)
    return true;
  if (from->dtype() != to->dtype() || from->ndim() != to->ndim())
    return false;
  for (int i = 0; i < to->ndim(); ++i)
    if (to->size(i) != TensorType::kUnknown && from->size(i) != to->size(i))
      return false;
  return true;
}

} // namespace thjit
