//===- Value.cpp - Printing, truth and equality of script values ----------===//
#include "thjit/Frontend/Value.h"
#include "thjit/Support/Format.h"

namespace thjit::frontend {

Value Value::list(std::vector<Value> items) {
  auto l = std::make_shared<ListObj>();
  l->items = std::move(items);
  return Value(l);
}

Value Value::tuple(std::vector<Value> items) {
  auto t = std::make_shared<TupleObj>();
  t->items = std::move(items);
  return Value(t);
}

int64_t RangeObj::size() const {
  if (step > 0)
    return stop > start ? (stop - start + step - 1) / step : 0;
  return start > stop ? (start - stop - step - 1) / (-step) : 0;
}

Value *DictObj::find(const Value &key) {
  for (auto &[k, v] : items)
    if (valuesEqual(k, key))
      return &v;
  return nullptr;
}

void DictObj::set(const Value &key, const Value &value) {
  if (Value *v = find(key))
    *v = value;
  else
    items.push_back({key, value});
}

std::string typeName(const Value &v) {
  switch (v.kind()) {
  case ValueKind::None:
    return "NoneType";
  case ValueKind::Bool:
    return "bool";
  case ValueKind::Int:
    return "int";
  case ValueKind::Float:
    return "float";
  case ValueKind::Complex:
    return "complex";
  case ValueKind::Str:
    return "str";
  case ValueKind::List:
    return "list";
  case ValueKind::Tuple:
    return "tuple";
  case ValueKind::Dict:
    return "dict";
  case ValueKind::Slice:
    return "slice";
  case ValueKind::Ellipsis:
    return "ellipsis";
  case ValueKind::Range:
    return "range";
  case ValueKind::Array:
    return "numpy.ndarray";
  case ValueKind::Symbolic:
    return v.as<Var>().isShared() ? "SharedVariable" : "TensorVariable";
  case ValueKind::Function:
    return "Function";
  case ValueKind::Callable:
    return v.as<std::shared_ptr<Callable>>()->typeName();
  case ValueKind::Namespace:
    return "module";
  case ValueKind::DType:
    return "numpy.dtype";
  case ValueKind::Exception:
    return v.as<std::shared_ptr<ExceptionObj>>()->kind;
  case ValueKind::Object:
    return v.as<std::shared_ptr<Object>>()->typeName();
  }
  return "object";
}

static std::string reprString(const std::string &s) {
  // Python prefers single quotes unless the string contains one.
  char q = s.find('\'') != std::string::npos && s.find('"') == std::string::npos
               ? '"'
               : '\'';
  std::string out(1, q);
  for (unsigned char c : s) {
    switch (c) {
    case '\n':
      out += "\\n";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\\':
      out += "\\\\";
      break;
    default:
      if (c == (unsigned char)q) {
        out += '\\';
        out += (char)c;
      } else if (c < 0x20 || c == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      } else {
        out += (char)c;
      }
    }
  }
  return out + q;
}

static std::string describeVar(const Var &x) {
  if (!x.name().empty())
    return x.name();
  return "<" + std::string(x.isShared() ? "shared " : "") + x.type()->str() +
         ">";
}

static std::string sequence(const std::vector<Value> &items, const char *open,
                            const char *close, bool tuple) {
  std::string s = open;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i)
      s += ", ";
    s += repr(items[i]);
  }
  if (tuple && items.size() == 1)
    s += ",";
  return s + close;
}

std::string repr(const Value &v) {
  switch (v.kind()) {
  case ValueKind::None:
    return "None";
  case ValueKind::Bool:
    return v.as<bool>() ? "True" : "False";
  case ValueKind::Int:
    return std::to_string(v.as<int64_t>());
  case ValueKind::Float:
    return formatPyFloat(v.as<double>());
  case ValueKind::Complex:
    return Scalar(v.as<std::complex<double>>()).str();
  case ValueKind::Str:
    return reprString(v.as<std::string>());
  case ValueKind::List:
    return sequence(v.as<std::shared_ptr<ListObj>>()->items, "[", "]", false);
  case ValueKind::Tuple:
    return sequence(v.as<std::shared_ptr<TupleObj>>()->items, "(", ")", true);
  case ValueKind::Dict: {
    std::string s = "{";
    bool first = true;
    for (const auto &[k, val] : v.as<std::shared_ptr<DictObj>>()->items) {
      if (!first)
        s += ", ";
      first = false;
      s += repr(k) + ": " + repr(val);
    }
    return s + "}";
  }
  case ValueKind::Slice: {
    const auto &sl = *v.as<std::shared_ptr<SliceObj>>();
    return "slice(" + repr(sl.start) + ", " + repr(sl.stop) + ", " +
           repr(sl.step) + ")";
  }
  case ValueKind::Ellipsis:
    return "Ellipsis";
  case ValueKind::Range: {
    const auto &r = *v.as<std::shared_ptr<RangeObj>>();
    return "range(" + std::to_string(r.start) + ", " + std::to_string(r.stop) +
           (r.step != 1 ? ", " + std::to_string(r.step) : "") + ")";
  }
  case ValueKind::Array:
    return v.as<NDArray>().repr();
  case ValueKind::Symbolic:
    return describeVar(v.as<Var>());
  case ValueKind::Function: {
    const Function &f = v.as<std::shared_ptr<CompiledFunction>>()->fn;
    std::vector<std::string> names;
    for (const Var &in : f.inputs())
      names.push_back(in.name().empty() ? "_" : in.name());
    return "<thjit function " + f.name() + "(" + join(names, ", ") + ")>";
  }
  case ValueKind::Callable:
    return v.as<std::shared_ptr<Callable>>()->repr();
  case ValueKind::Namespace:
    return "<module '" + v.as<std::shared_ptr<Namespace>>()->name + "'>";
  case ValueKind::DType:
    return std::string("dtype('") + dtypeName(v.as<DType>()) + "')";
  case ValueKind::Exception: {
    const auto &e = *v.as<std::shared_ptr<ExceptionObj>>();
    return e.kind + "(" + reprString(e.message) + ")";
  }
  case ValueKind::Object:
    return "<" + v.as<std::shared_ptr<Object>>()->typeName() + " object>";
  }
  return "?";
}

std::string str(const Value &v) {
  switch (v.kind()) {
  case ValueKind::Str:
    return v.as<std::string>();
  case ValueKind::Array:
    return v.as<NDArray>().str();
  case ValueKind::Exception:
    return v.as<std::shared_ptr<ExceptionObj>>()->message;
  case ValueKind::DType:
    return dtypeName(v.as<DType>());
  default:
    return repr(v);
  }
}

bool truthy(const Value &v) {
  switch (v.kind()) {
  case ValueKind::None:
    return false;
  case ValueKind::Bool:
    return v.as<bool>();
  case ValueKind::Int:
    return v.as<int64_t>() != 0;
  case ValueKind::Float:
    return v.as<double>() != 0;
  case ValueKind::Complex:
    return v.as<std::complex<double>>() != 0.0;
  case ValueKind::Str:
    return !v.as<std::string>().empty();
  case ValueKind::List:
    return !v.as<std::shared_ptr<ListObj>>()->items.empty();
  case ValueKind::Tuple:
    return !v.as<std::shared_ptr<TupleObj>>()->items.empty();
  case ValueKind::Dict:
    return !v.as<std::shared_ptr<DictObj>>()->items.empty();
  case ValueKind::Range:
    return v.as<std::shared_ptr<RangeObj>>()->size() > 0;
  case ValueKind::Array: {
    const NDArray &a = v.as<NDArray>();
    if (a.size() != 1)
      throw ValueError("the truth value of an array with more than one "
                       "element is ambiguous; use a.any() or a.all()");
    return a.item().toBool();
  }
  case ValueKind::Symbolic:
    throw TypeError("a symbolic variable has no truth value (its value is "
                    "only known when a compiled function runs); use "
                    "T.switch for an element-wise condition");
  default:
    return true;
  }
}

bool valuesEqual(const Value &a, const Value &b) {
  if (a.isNumber() && b.isNumber()) {
    auto num = [](const Value &x) -> std::complex<double> {
      switch (x.kind()) {
      case ValueKind::Bool:
        return x.as<bool>() ? 1.0 : 0.0;
      case ValueKind::Int:
        return (double)x.as<int64_t>();
      case ValueKind::Float:
        return x.as<double>();
      default:
        return x.as<std::complex<double>>();
      }
    };
    if (a.is(ValueKind::Int) && b.is(ValueKind::Int))
      return a.as<int64_t>() == b.as<int64_t>();
    return num(a) == num(b);
  }
  if (a.kind() != b.kind())
    return false;
  switch (a.kind()) {
  case ValueKind::None:
  case ValueKind::Ellipsis:
    return true;
  case ValueKind::Str:
    return a.as<std::string>() == b.as<std::string>();
  case ValueKind::List:
  case ValueKind::Tuple: {
    const auto &x = a.is(ValueKind::List)
                        ? a.as<std::shared_ptr<ListObj>>()->items
                        : a.as<std::shared_ptr<TupleObj>>()->items;
    const auto &y = b.is(ValueKind::List)
                        ? b.as<std::shared_ptr<ListObj>>()->items
                        : b.as<std::shared_ptr<TupleObj>>()->items;
    if (x.size() != y.size())
      return false;
    for (size_t i = 0; i < x.size(); ++i)
      if (!valuesEqual(x[i], y[i]))
        return false;
    return true;
  }
  case ValueKind::Symbolic:
    return a.as<Var>() == b.as<Var>();
  case ValueKind::DType:
    return a.as<DType>() == b.as<DType>();
  case ValueKind::Array:
    return a.as<NDArray>().data() == b.as<NDArray>().data() &&
           a.as<NDArray>().shape() == b.as<NDArray>().shape();
  default:
    // Shared objects (functions, namespaces, ...) are equal when identical.
    return std::visit(
        [&](const auto &x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (requires { x.get(); })
            return x.get() == std::get<T>(b.v).get();
          else
            return false;
        },
        a.v);
  }
}

namespace {
struct Builtin : Callable {
  std::function<Value(Interpreter &, CallArgs &)> fn;
  Builtin(std::string n, std::function<Value(Interpreter &, CallArgs &)> f)
      : Callable(std::move(n)), fn(std::move(f)) {}
  Value call(Interpreter &interp, CallArgs &args) override {
    return fn(interp, args);
  }
};
} // namespace

std::shared_ptr<Callable>
makeBuiltin(std::string name,
            std::function<Value(Interpreter &, CallArgs &)> fn) {
  return std::make_shared<Builtin>(std::move(name), std::move(fn));
}

TypeError tooManyPositional(const std::string &fn, size_t required,
                            size_t most, size_t given) {
  // Python's wording: "takes 2 positional arguments", "takes from 1 to 3
  // positional arguments".
  std::string count = required == most ? std::to_string(most)
                                       : "from " + std::to_string(required) +
                                             " to " + std::to_string(most);
  return TypeError(fn + "() takes " + count + " positional argument" +
                   (count == "1" ? "" : "s") + " but " +
                   std::to_string(given) +
                   (given == 1 ? " was given" : " were given"));
}

ArgBinder::ArgBinder(const CallArgs &args, std::string function,
                     std::vector<std::string> params, size_t required,
                     bool variadic, std::vector<std::string> keywordOnly)
    : fn(std::move(function)), names(std::move(params)) {
  size_t positional = names.size();
  names.insert(names.end(), keywordOnly.begin(), keywordOnly.end());
  bound.assign(names.size(), nullptr);
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < positional) {
      bound[i] = &args.positional[i];
      continue;
    }
    if (!variadic)
      throw tooManyPositional(fn, required, positional,
                              args.positional.size());
    extra.push_back(args.positional[i]);
  }
  for (const auto &[key, value] : args.keywords) {
    auto it = std::find(names.begin(), names.end(), key);
    if (it == names.end())
      throw TypeError(fn + "() got an unexpected keyword argument '" + key +
                      "'");
    size_t i = it - names.begin();
    if (bound[i])
      throw TypeError(fn + "() got multiple values for argument '" + key +
                      "'");
    bound[i] = &value;
  }
  for (size_t i = 0; i < required; ++i)
    if (!bound[i])
      throw TypeError(fn + "() missing required argument '" + names[i] + "'");
}

const Value *ArgBinder::get(const std::string &param) const {
  auto it = std::find(names.begin(), names.end(), param);
  return it == names.end() ? nullptr : bound[it - names.begin()];
}

Value ArgBinder::getOr(const std::string &param, Value dflt) const {
  const Value *v = get(param);
  return v && !v->isNone() ? *v : dflt;
}

} // namespace thjit::frontend
