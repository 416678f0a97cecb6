//===- Interpreter.cpp - Executing the script language's AST --------------===//
///
/// \file
/// A tree-walking interpreter: statements return how control leaves them
/// (normally, break, continue, return); expressions return Values. Arithmetic
/// on symbolic variables builds graphs, on arrays runs NumPy-style eagerly
/// (Library.cpp), on Python values follows Python.
///
//===----------------------------------------------------------------------===//
#include "thjit/CodeGen/CPU.h"
#include "thjit/Frontend/Interpreter.h"
#include "thjit/Rewrite/Rewrite.h"
#include "Library.h"
#include "thjit/Frontend/Parser.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Support/Format.h"

#include <cmath>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <unordered_map>

namespace thjit::frontend {

namespace {

/// A scope: module globals or a function call's locals.
struct Env {
  std::unordered_map<std::string, Value> vars;
  std::shared_ptr<Env> parent; // enclosing function scope or globals
  std::set<std::string> globalNames, nonlocalNames;
};
using EnvPtr = std::shared_ptr<Env>;

enum class Flow { Normal, Break, Continue, Return };

/// A def or lambda, with the scope it closes over.
struct UserFunction : Callable {
  const ParameterList *params;
  const StmtList *body = nullptr; // def
  const Expr *result = nullptr;   // lambda
  EnvPtr closure;
  std::vector<Value> defaults;    // of positional then keyword-only params
  std::shared_ptr<const Module> owner; // keeps the AST alive
  UserFunction(std::string n) : Callable(std::move(n)) {}
  Value call(Interpreter &interp, CallArgs &args) override;
};

} // namespace

struct Interpreter::Impl {
  Interpreter &self;
  std::ostream &realOut;
  std::ostream &err;
  InterpreterOptions opts;
  std::ostringstream sink; // swallows the script's output in emit modes
  EnvPtr globals = std::make_shared<Env>();
  Library library;
  Value returnValue;
  std::optional<SourceLoc> errorLoc;
  std::vector<std::shared_ptr<const Module>> modules;
  std::map<std::string, std::vector<std::string>> sourceLines;
  std::vector<std::pair<std::string, std::string>> handling; // kind, msg
  std::shared_ptr<const Module> current;
  int depth = 0;

  Impl(Interpreter &s, std::ostream &o, std::ostream &e,
       InterpreterOptions options)
      : self(s), realOut(o), err(e), opts(std::move(options)),
        library(s) {
    library.setArguments(opts.argv);
  }

  std::ostream &out() { return opts.emit.empty() ? realOut : sink; }

  // ---- errors ---------------------------------------------------------------

  void noteLocation(const SourceLoc &loc) {
    if (!errorLoc)
      errorLoc = loc;
  }

  void report(const Error &e, const SourceLoc &fallback) {
    SourceLoc loc = errorLoc.value_or(fallback);
    if (const auto *pe = dynamic_cast<const ParseError *>(&e))
      loc = pe->loc();
    errorLoc.reset();
    std::string what = e.what();
    // As clang colours them: the location bold, "error:" bold red, the
    // caret bold green.
    auto paint = [&](const char *code, const std::string &text) {
      return opts.color ? std::string("\033[") + code + "m" + text + "\033[0m"
                        : text;
    };
    err << paint("1", loc.str() + ":") << " " << paint("1;31", "error:") << " "
        << e.kind() << ": " << what << "\n";
    auto it = sourceLines.find(loc.file);
    if (it != sourceLines.end() && loc.line >= 1 &&
        loc.line <= (int)it->second.size()) {
      const std::string &line = it->second[loc.line - 1];
      err << line << "\n";
      std::string caret;
      for (int i = 1; i < loc.col && i - 1 < (int)line.size(); ++i)
        caret += line[i - 1] == '\t' ? '\t' : ' ';
      err << caret << paint("1;32", "^") << "\n";
    }
    err.flush();
  }

  // ---- statements -----------------------------------------------------------

  Flow execBlock(const StmtList &body, const EnvPtr &env) {
    for (const StmtPtr &s : body) {
      Flow f = exec(*s, env);
      if (f != Flow::Normal)
        return f;
    }
    return Flow::Normal;
  }

  Flow exec(const Stmt &s, const EnvPtr &env) {
    try {
      return execUnguarded(s, env);
    } catch (const Error &) {
      noteLocation(s.loc);
      throw;
    }
  }

  Flow execUnguarded(const Stmt &s, const EnvPtr &env);
  void assign(const Expr &target, const Value &value, const EnvPtr &env);
  void setName(const std::string &name, const Value &value, const EnvPtr &env);
  Flow execTry(const TryStmt &t, const EnvPtr &env);
  void execImport(const Stmt &s, const EnvPtr &env);

  // ---- expressions ----------------------------------------------------------

  Value eval(const Expr &e, const EnvPtr &env) {
    try {
      return evalUnguarded(e, env);
    } catch (const Error &) {
      noteLocation(e.loc);
      throw;
    }
  }
  Value evalUnguarded(const Expr &e, const EnvPtr &env);
  Value lookup(const std::string &name, const EnvPtr &env, const SourceLoc &loc);
  Value evalCall(const CallExpr &c, const EnvPtr &env);
  CallArgs evalArguments(const CallExpr &c, const EnvPtr &env);
  Value evalCompare(const CompareExpr &c, const EnvPtr &env);
  Value comprehension(const std::vector<Comprehension> &gens, size_t i,
                      const EnvPtr &env,
                      const std::function<void(const EnvPtr &)> &emit);
  Value makeFunction(std::string name, const ParameterList &params,
                     const StmtList *body, const Expr *result,
                     const EnvPtr &env);
};

// ---- Names ---------------------------------------------------------------------

Value Interpreter::Impl::lookup(const std::string &name, const EnvPtr &env,
                                const SourceLoc &loc) {
  for (Env *e = env.get(); e; e = e->parent.get()) {
    if (e->globalNames.count(name))
      break;
    auto it = e->vars.find(name);
    if (it != e->vars.end())
      return it->second;
  }
  auto it = globals->vars.find(name);
  if (it != globals->vars.end())
    return it->second;
  if (const Value *b = library.builtin(name))
    return *b;
  throw NameError("name '" + name + "' is not defined");
}

void Interpreter::Impl::setName(const std::string &name, const Value &value,
                                const EnvPtr &env) {
  if (env->globalNames.count(name)) {
    globals->vars[name] = value;
    return;
  }
  if (env->nonlocalNames.count(name)) {
    for (Env *e = env->parent.get(); e && e != globals.get();
         e = e->parent.get())
      if (e->vars.count(name)) {
        e->vars[name] = value;
        return;
      }
    throw NameError("no binding for nonlocal '" + name + "' found");
  }
  // A symbolic value takes the first name it is given, so that printed
  // graphs read like the script (`p_1 = ...` prints as %p_1).
  if (value.is(ValueKind::Symbolic)) {
    Var v = value.as<Var>();
    if (v.name().empty() && !v.isConstant())
      v.setName(name);
  }
  env->vars[name] = value;
}

void Interpreter::Impl::assign(const Expr &target, const Value &value,
                               const EnvPtr &env) {
  switch (target.kind) {
  case ExprKind::Name:
    setName(cast<NameExpr>(target).id, value, env);
    return;
  case ExprKind::Tuple:
  case ExprKind::List: {
    const ExprList &elts = target.kind == ExprKind::Tuple
                               ? cast<TupleExpr>(target).elts
                               : cast<ListExpr>(target).elts;
    std::vector<Value> items = library.toList(value);
    if (items.size() != elts.size())
      throw ValueError(items.size() < elts.size()
                           ? "not enough values to unpack (expected " +
                                 std::to_string(elts.size()) + ", got " +
                                 std::to_string(items.size()) + ")"
                           : "too many values to unpack (expected " +
                                 std::to_string(elts.size()) + ")");
    for (size_t i = 0; i < elts.size(); ++i)
      assign(*elts[i], items[i], env);
    return;
  }
  case ExprKind::Attribute: {
    const auto &a = cast<AttributeExpr>(target);
    library.setAttr(eval(*a.value, env), a.attr, value);
    return;
  }
  case ExprKind::Subscript: {
    const auto &s = cast<SubscriptExpr>(target);
    library.setItem(eval(*s.value, env), eval(*s.index, env), value);
    return;
  }
  default:
    throw SyntaxError("cannot assign to this expression");
  }
}

// ---- Statements ------------------------------------------------------------------

Flow Interpreter::Impl::execUnguarded(const Stmt &s, const EnvPtr &env) {
  switch (s.kind) {
  case StmtKind::Expr:
    eval(*cast<ExprStmt>(s).value, env);
    return Flow::Normal;
  case StmtKind::Assign: {
    const auto &a = cast<AssignStmt>(s);
    Value v = eval(*a.value, env);
    for (const ExprPtr &t : a.targets)
      assign(*t, v, env);
    return Flow::Normal;
  }
  case StmtKind::AugAssign: {
    const auto &a = cast<AugAssignStmt>(s);
    Value rhs = eval(*a.value, env);
    Value lhs = eval(*a.target, env);
    // Lists extend in place, as Python's += does.
    if (a.op == BinaryOp::Add && lhs.is(ValueKind::List)) {
      for (const Value &v : library.toList(rhs))
        lhs.as<std::shared_ptr<ListObj>>()->items.push_back(v);
      return Flow::Normal;
    }
    assign(*a.target, library.binary(a.op, lhs, rhs), env);
    return Flow::Normal;
  }
  case StmtKind::If: {
    const auto &i = cast<IfStmt>(s);
    if (truthy(eval(*i.test, env)))
      return execBlock(i.body, env);
    return execBlock(i.orelse, env);
  }
  case StmtKind::While: {
    const auto &w = cast<WhileStmt>(s);
    while (truthy(eval(*w.test, env))) {
      Flow f = execBlock(w.body, env);
      if (f == Flow::Break)
        return Flow::Normal;
      if (f == Flow::Return)
        return f;
    }
    return execBlock(w.orelse, env);
  }
  case StmtKind::For: {
    const auto &f = cast<ForStmt>(s);
    Value iterable = eval(*f.iter, env);
    Flow result = Flow::Normal;
    bool broke = false;
    library.forEach(iterable, [&](const Value &item) {
      assign(*f.target, item, env);
      Flow fl = execBlock(f.body, env);
      if (fl == Flow::Break) {
        broke = true;
        return false;
      }
      if (fl == Flow::Return) {
        result = fl;
        return false;
      }
      return true;
    });
    if (result == Flow::Return)
      return result;
    if (!broke)
      return execBlock(f.orelse, env);
    return Flow::Normal;
  }
  case StmtKind::FunctionDef: {
    const auto &d = cast<FunctionDefStmt>(s);
    setName(d.name, makeFunction(d.name, d.params, &d.body, nullptr, env), env);
    return Flow::Normal;
  }
  case StmtKind::Return: {
    const auto &r = cast<ReturnStmt>(s);
    returnValue = r.value ? eval(*r.value, env) : Value();
    return Flow::Return;
  }
  case StmtKind::Pass:
    return Flow::Normal;
  case StmtKind::Break:
    return Flow::Break;
  case StmtKind::Continue:
    return Flow::Continue;
  case StmtKind::Try:
    return execTry(cast<TryStmt>(s), env);
  case StmtKind::Raise: {
    const auto &r = cast<RaiseStmt>(s);
    if (!r.exc) {
      if (handling.empty())
        throw RuntimeError("no active exception to re-raise");
      throwErrorOfKind(handling.back().first, handling.back().second);
    }
    Value e = eval(*r.exc, env);
    if (e.is(ValueKind::Callable))
      e = library.callValue(e, {});
    if (!e.is(ValueKind::Exception))
      throw TypeError("exceptions must be made by an exception kind, e.g. "
                      "ValueError('...'); got " +
                      typeName(e));
    const auto &x = *e.as<std::shared_ptr<ExceptionObj>>();
    throwErrorOfKind(x.kind, x.message);
  }
  case StmtKind::Assert: {
    const auto &a = cast<AssertStmt>(s);
    if (!truthy(eval(*a.test, env)))
      throw AssertionError(a.msg ? str(eval(*a.msg, env)) : "assertion failed");
    return Flow::Normal;
  }
  case StmtKind::Global:
    for (const std::string &n : cast<GlobalStmt>(s).names)
      env->globalNames.insert(n);
    return Flow::Normal;
  case StmtKind::Nonlocal:
    for (const std::string &n : cast<NonlocalStmt>(s).names)
      env->nonlocalNames.insert(n);
    return Flow::Normal;
  case StmtKind::Delete:
    for (const ExprPtr &t : cast<DeleteStmt>(s).targets) {
      const auto *n = dyn_cast<NameExpr>(t.get());
      if (!n)
        throw NotImplementedError("del supports names only");
      if (!env->vars.erase(n->id))
        throw NameError("name '" + n->id + "' is not defined");
    }
    return Flow::Normal;
  case StmtKind::Import:
  case StmtKind::ImportFrom:
    execImport(s, env);
    return Flow::Normal;
  }
  return Flow::Normal;
}

Flow Interpreter::Impl::execTry(const TryStmt &t, const EnvPtr &env) {
  Flow flow = Flow::Normal;
  auto runFinally = [&] {
    if (!t.finalbody.empty()) {
      Flow f = execBlock(t.finalbody, env);
      if (f != Flow::Normal)
        flow = f;
    }
  };
  try {
    flow = execBlock(t.body, env);
  } catch (const Error &e) {
    errorLoc.reset();
    std::string kind = e.kind();
    const ExceptHandler *match = nullptr;
    for (const ExceptHandler &h : t.handlers) {
      if (!h.type) {
        match = &h;
        break;
      }
      std::vector<Value> kinds;
      Value tv = eval(*h.type, env);
      kinds = tv.is(ValueKind::Tuple) ? library.toList(tv)
                                      : std::vector<Value>{tv};
      for (const Value &k : kinds)
        if (library.exceptionMatches(k, kind))
          match = &h;
      if (match)
        break;
    }
    if (!match) {
      runFinally();
      throw;
    }
    handling.push_back({kind, e.what()});
    if (!match->name.empty()) {
      auto x = std::make_shared<ExceptionObj>();
      x->kind = kind;
      x->message = e.what();
      setName(match->name, Value(x), env);
    }
    try {
      flow = execBlock(match->body, env);
    } catch (...) {
      handling.pop_back();
      runFinally();
      throw;
    }
    handling.pop_back();
    runFinally();
    return flow;
  }
  if (flow == Flow::Normal)
    flow = execBlock(t.orelse, env);
  runFinally();
  return flow;
}

void Interpreter::Impl::execImport(const Stmt &s, const EnvPtr &env) {
  if (const auto *im = dyn_cast<ImportStmt>(&s)) {
    for (const ImportAlias &a : im->names) {
      Value mod = library.module(a.name);
      if (!a.asName.empty()) {
        setName(a.asName, mod, env);
        continue;
      }
      // `import a.b` binds `a`.
      std::string top = a.name.substr(0, a.name.find('.'));
      setName(top, library.module(top), env);
    }
    return;
  }
  const auto &from = cast<ImportFromStmt>(s);
  Value mod = library.module(from.module);
  const auto &ns = mod.as<std::shared_ptr<Namespace>>();
  if (from.importAll) {
    for (const auto &[name, v] : ns->members)
      setName(name, v, env);
    return;
  }
  for (const ImportAlias &a : from.names) {
    auto it = ns->members.find(a.name);
    if (it == ns->members.end())
      throw ImportError("cannot import name '" + a.name + "' from '" +
                        from.module + "'");
    setName(a.asName.empty() ? a.name : a.asName, it->second, env);
  }
}

// ---- Functions --------------------------------------------------------------------

Value Interpreter::Impl::makeFunction(std::string name,
                                      const ParameterList &params,
                                      const StmtList *body, const Expr *result,
                                      const EnvPtr &env) {
  auto f = std::make_shared<UserFunction>(std::move(name));
  f->params = &params;
  f->body = body;
  f->result = result;
  f->closure = env;
  f->owner = current;
  for (const Parameter &p : params.positional)
    f->defaults.push_back(p.defaultValue ? eval(*p.defaultValue, env) : Value());
  for (const Parameter &p : params.keywordOnly)
    f->defaults.push_back(p.defaultValue ? eval(*p.defaultValue, env) : Value());
  return Value(std::static_pointer_cast<Callable>(f));
}

Value UserFunction::call(Interpreter &interp, CallArgs &args) {
  Interpreter::Impl &I = *interp.impl_();
  if (++I.depth > 500) {
    --I.depth;
    throw RuntimeError("maximum recursion depth exceeded");
  }
  struct DepthGuard {
    int &d;
    ~DepthGuard() { --d; }
  } guard{I.depth};
  auto env = std::make_shared<Env>();
  env->parent = closure;
  const auto &pos = params->positional;
  std::vector<bool> set(pos.size() + params->keywordOnly.size(), false);
  auto paramName = [&](size_t i) {
    return i < pos.size() ? pos[i].name : params->keywordOnly[i - pos.size()].name;
  };
  std::vector<Value> extra;
  for (size_t i = 0; i < args.positional.size(); ++i) {
    if (i < pos.size()) {
      env->vars[pos[i].name] = args.positional[i];
      set[i] = true;
    } else if (!params->varArgs.empty()) {
      extra.push_back(args.positional[i]);
    } else {
      size_t required = 0;
      while (required < pos.size() && !pos[required].defaultValue)
        ++required;
      throw tooManyPositional(name, required, pos.size(),
                              args.positional.size());
    }
  }
  auto kwargs = std::make_shared<DictObj>();
  for (auto &[k, v] : args.keywords) {
    size_t i = 0;
    while (i < set.size() && paramName(i) != k)
      ++i;
    if (i == set.size()) {
      if (params->varKwargs.empty())
        throw TypeError(name + "() got an unexpected keyword argument '" + k +
                        "'");
      kwargs->set(Value(k), v);
      continue;
    }
    if (set[i])
      throw TypeError(name + "() got multiple values for argument '" + k +
                      "'");
    env->vars[k] = v;
    set[i] = true;
  }
  for (size_t i = 0; i < set.size(); ++i) {
    if (set[i])
      continue;
    const Parameter &p =
        i < pos.size() ? pos[i] : params->keywordOnly[i - pos.size()];
    if (!p.defaultValue)
      throw TypeError(name + "() missing required argument '" + p.name + "'");
    env->vars[p.name] = defaults[i];
  }
  if (!params->varArgs.empty())
    env->vars[params->varArgs] = Value::tuple(extra);
  if (!params->varKwargs.empty())
    env->vars[params->varKwargs] = Value(kwargs);
  if (result)
    return I.eval(*result, env);
  Flow f = I.execBlock(*body, env);
  if (f == Flow::Return) {
    Value r = I.returnValue;
    I.returnValue = Value();
    return r;
  }
  return Value();
}

// ---- Expressions --------------------------------------------------------------------

Value Interpreter::Impl::evalCall(const CallExpr &c, const EnvPtr &env) {
  Value callee = eval(*c.func, env);
  CallArgs args = evalArguments(c, env);
  LocationScope scope(c.loc);
  return library.call(callee, args);
}

CallArgs Interpreter::Impl::evalArguments(const CallExpr &c,
                                          const EnvPtr &env) {
  CallArgs args;
  for (const Argument &a : c.args) {
    switch (a.kind) {
    case Argument::Positional:
      args.positional.push_back(eval(*a.value, env));
      break;
    case Argument::Keyword:
      args.keywords.push_back({a.name, eval(*a.value, env)});
      break;
    case Argument::Star:
      for (const Value &v : library.toList(eval(*a.value, env)))
        args.positional.push_back(v);
      break;
    case Argument::DoubleStar: {
      Value d = eval(*a.value, env);
      if (!d.is(ValueKind::Dict))
        throw TypeError("argument after ** must be a dict, not " + typeName(d));
      for (const auto &[k, v] : d.as<std::shared_ptr<DictObj>>()->items) {
        if (!k.is(ValueKind::Str))
          throw TypeError("keywords must be strings");
        args.keywords.push_back({k.as<std::string>(), v});
      }
      break;
    }
    }
  }
  return args;
}

Value Interpreter::Impl::evalCompare(const CompareExpr &c, const EnvPtr &env) {
  Value left = eval(*c.left, env);
  Value result;
  for (size_t i = 0; i < c.ops.size(); ++i) {
    Value right = eval(*c.comparators[i], env);
    LocationScope scope(c.loc);
    result = library.compare(c.ops[i], left, right);
    // A chain stops at the first false link (only for plain truth values).
    if (i + 1 < c.ops.size() && !truthy(result))
      return result;
    left = right;
  }
  return result;
}

Value Interpreter::Impl::comprehension(
    const std::vector<Comprehension> &gens, size_t i, const EnvPtr &env,
    const std::function<void(const EnvPtr &)> &emit) {
  if (i == gens.size()) {
    emit(env);
    return Value();
  }
  const Comprehension &g = gens[i];
  library.forEach(eval(*g.iter, env), [&](const Value &item) {
    assign(*g.target, item, env);
    for (const ExprPtr &cond : g.ifs)
      if (!truthy(eval(*cond, env)))
        return true;
    comprehension(gens, i + 1, env, emit);
    return true;
  });
  return Value();
}

Value Interpreter::Impl::evalUnguarded(const Expr &e, const EnvPtr &env) {
  switch (e.kind) {
  case ExprKind::Name:
    return lookup(cast<NameExpr>(e).id, env, e.loc);
  case ExprKind::Int:
    return Value(cast<IntExpr>(e).value);
  case ExprKind::Float:
    return Value(cast<FloatExpr>(e).value);
  case ExprKind::Imag:
    return Value(std::complex<double>(0, cast<ImagExpr>(e).value));
  case ExprKind::Str:
    return Value(cast<StrExpr>(e).value);
  case ExprKind::Bool:
    return Value(cast<BoolExpr>(e).value);
  case ExprKind::None:
    return Value();
  case ExprKind::Ellipsis:
    return Value(EllipsisTag{});
  case ExprKind::Unary: {
    const auto &u = cast<UnaryExpr>(e);
    Value v = eval(*u.operand, env);
    LocationScope scope(e.loc);
    return library.unary(u.op, v);
  }
  case ExprKind::Binary: {
    const auto &b = cast<BinaryExpr>(e);
    Value l = eval(*b.lhs, env);
    Value r = eval(*b.rhs, env);
    LocationScope scope(e.loc);
    return library.binary(b.op, l, r);
  }
  case ExprKind::BoolOp: {
    const auto &b = cast<BoolOpExpr>(e);
    Value v;
    for (const ExprPtr &x : b.values) {
      v = eval(*x, env);
      if (truthy(v) == (b.op == BoolOp::Or))
        return v;
    }
    return v;
  }
  case ExprKind::Compare:
    return evalCompare(cast<CompareExpr>(e), env);
  case ExprKind::IfExp: {
    const auto &i = cast<IfExpExpr>(e);
    return truthy(eval(*i.test, env)) ? eval(*i.body, env)
                                      : eval(*i.orelse, env);
  }
  case ExprKind::Lambda: {
    const auto &l = cast<LambdaExpr>(e);
    return makeFunction("<lambda>", l.params, nullptr, l.body.get(), env);
  }
  case ExprKind::Call:
    return evalCall(cast<CallExpr>(e), env);
  case ExprKind::Attribute: {
    const auto &a = cast<AttributeExpr>(e);
    Value v = eval(*a.value, env);
    LocationScope scope(e.loc);
    return library.getAttr(v, a.attr);
  }
  case ExprKind::Subscript: {
    const auto &s = cast<SubscriptExpr>(e);
    Value v = eval(*s.value, env);
    Value index = eval(*s.index, env);
    LocationScope scope(e.loc);
    return library.getItem(v, index);
  }
  case ExprKind::Slice: {
    const auto &s = cast<SliceExpr>(e);
    auto sl = std::make_shared<SliceObj>();
    if (s.lower)
      sl->start = eval(*s.lower, env);
    if (s.upper)
      sl->stop = eval(*s.upper, env);
    if (s.step)
      sl->step = eval(*s.step, env);
    return Value(sl);
  }
  case ExprKind::Tuple: {
    std::vector<Value> items;
    for (const ExprPtr &x : cast<TupleExpr>(e).elts)
      items.push_back(eval(*x, env));
    return Value::tuple(std::move(items));
  }
  case ExprKind::List: {
    std::vector<Value> items;
    for (const ExprPtr &x : cast<ListExpr>(e).elts)
      items.push_back(eval(*x, env));
    return Value::list(std::move(items));
  }
  case ExprKind::Dict: {
    const auto &d = cast<DictExpr>(e);
    auto obj = std::make_shared<DictObj>();
    for (size_t i = 0; i < d.keys.size(); ++i)
      obj->set(eval(*d.keys[i], env), eval(*d.values[i], env));
    return Value(obj);
  }
  case ExprKind::ListComp:
  case ExprKind::GeneratorExp: {
    const auto &gens = e.kind == ExprKind::ListComp
                           ? cast<ListCompExpr>(e).generators
                           : cast<GeneratorExpExpr>(e).generators;
    const Expr &elt = e.kind == ExprKind::ListComp
                          ? *cast<ListCompExpr>(e).element
                          : *cast<GeneratorExpExpr>(e).element;
    auto scope = std::make_shared<Env>();
    scope->parent = env;
    std::vector<Value> items;
    comprehension(gens, 0, scope,
                  [&](const EnvPtr &s) { items.push_back(eval(elt, s)); });
    return Value::list(std::move(items));
  }
  case ExprKind::DictComp: {
    const auto &d = cast<DictCompExpr>(e);
    auto scope = std::make_shared<Env>();
    scope->parent = env;
    auto obj = std::make_shared<DictObj>();
    comprehension(d.generators, 0, scope, [&](const EnvPtr &s) {
      obj->set(eval(*d.key, s), eval(*d.value, s));
    });
    return Value(obj);
  }
  }
  return Value();
}

// ---- The public face ----------------------------------------------------------------

Interpreter::Interpreter(std::ostream &out, std::ostream &err,
                         InterpreterOptions options)
    : impl(std::make_unique<Impl>(*this, out, err, std::move(options))) {}

Interpreter::~Interpreter() = default;

std::ostream &Interpreter::out() { return impl->out(); }
const InterpreterOptions &Interpreter::options() const { return impl->opts; }
Interpreter::Impl *Interpreter::impl_() { return impl.get(); }

Value Interpreter::call(const Value &callee, CallArgs &args) {
  if (!callee.is(ValueKind::Callable))
    throw TypeError("'" + typeName(callee) + "' object is not callable");
  return callee.as<std::shared_ptr<Callable>>()->call(*this, args);
}

void Interpreter::functionCompiled(const Function &f) {
  const std::string &emit = impl->opts.emit;
  if (emit == "graph")
    // After the passes only when --passes= chose them.
    impl->realOut << f.str(pipelineOverrides().overridePasses);
  else if (emit == "graph-opt")
    impl->realOut << f.str();
  else if (emit == "plan")
    impl->realOut << "plan of " << f.name() << ": " << f.emit("plan");
  else if (emit == "llvm")
    impl->realOut << "; function " << f.name() << "\n" << f.emit("llvm");
  else if (emit == "asm")
    impl->realOut << "# function " << f.name() << "\n" << f.emit("asm");
  else if (emit == "ptx")
    impl->realOut << "// function " << f.name() << "\n" << f.emit("ptx");
  else if (emit == "dot")
    impl->realOut << f.dot();
  impl->realOut << std::flush;
}

static std::vector<std::string> splitLines(const std::string &s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line))
    lines.push_back(line);
  return lines;
}

int Interpreter::runSource(const std::string &source,
                           const std::string &filename) {
  impl->sourceLines[filename] = splitLines(source);
  SourceLoc start{filename, 1, 1};
  try {
    auto mod = std::make_shared<Module>(parseModule(source, filename));
    impl->modules.push_back(mod);
    impl->current = mod;
    impl->execBlock(mod->body, impl->globals);
    impl->out().flush();
    return 0;
  } catch (const Error &e) {
    impl->out().flush();
    impl->report(e, start);
    return 1;
  }
}

int Interpreter::runFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    impl->err << "thjit: error: cannot open '" << path << "'\n";
    return 1;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return runSource(ss.str(), path);
}

std::function<Value()>
Interpreter::prepare(const std::string &line, size_t start,
                     const CalleeMap &calleeMap) {
  std::string name = "<stdin>";
  impl->sourceLines[name] = {line};
  // The command before the expression becomes blanks, so that columns in
  // errors are the line's.
  std::string source = std::string(std::min(start, line.size()), ' ') +
                       line.substr(std::min(start, line.size()));
  // Held as a module's statement: lambdas made by it keep their AST.
  auto mod = std::make_shared<Module>();
  mod->filename = name;
  auto stmt = std::make_unique<ExprStmt>(SourceLoc{name, 1, 1});
  stmt->value = parseExpression(source, name);
  const Expr *e = stmt->value.get();
  mod->body.push_back(std::move(stmt));
  impl->modules.push_back(mod);
  impl->current = mod;
  const auto *call = dyn_cast<CallExpr>(e);
  if (calleeMap && !call) {
    impl->noteLocation(e->loc);
    throw TypeError("expected a call, f(args)");
  }
  Impl *in = impl.get();
  return [in, e, call, calleeMap]() {
    in->errorLoc.reset();
    if (!calleeMap)
      return in->eval(*e, in->globals);
    Value callee = calleeMap(in->eval(*call->func, in->globals));
    CallArgs args = in->evalArguments(*call, in->globals);
    try {
      return in->library.call(callee, args);
    } catch (const Error &) {
      in->noteLocation(call->loc);
      throw;
    }
  };
}

Value Interpreter::evaluate(const std::string &line, size_t start,
                            const CalleeMap &calleeMap) {
  return prepare(line, start, calleeMap)();
}

void Interpreter::report(const Error &e, const std::string &line) {
  impl->sourceLines["<stdin>"] = {line};
  impl->report(e, SourceLoc{"<stdin>", 1, 1});
}

std::vector<std::string> Interpreter::names() const {
  std::set<std::string> all;
  for (const auto &[name, value] : impl->globals->vars)
    all.insert(name);
  for (const std::string &name : impl->library.builtinNames())
    all.insert(name);
  return {all.begin(), all.end()};
}

const Value *Interpreter::lookup(const std::string &name) const {
  auto it = impl->globals->vars.find(name);
  if (it != impl->globals->vars.end())
    return &it->second;
  return impl->library.builtin(name);
}

std::vector<std::string> Interpreter::attributeNames(const Value &v) {
  return impl->library.attributeNames(v);
}

bool Interpreter::runInteractive(const std::string &source) {
  std::string name = "<stdin>";
  impl->errorLoc.reset();
  impl->sourceLines[name] = splitLines(source);
  try {
    auto mod = std::make_shared<Module>(parseModule(source, name));
    impl->modules.push_back(mod);
    impl->current = mod;
    for (const StmtPtr &s : mod->body) {
      if (const auto *es = dyn_cast<ExprStmt>(s.get())) {
        Value v;
        try {
          v = impl->eval(*es->value, impl->globals);
        } catch (const Error &) {
          impl->noteLocation(s->loc);
          throw;
        }
        if (!v.isNone())
          impl->out() << repr(v) << "\n";
        continue;
      }
      impl->exec(*s, impl->globals);
    }
    impl->out().flush();
    return true;
  } catch (const Error &e) {
    impl->out().flush();
    impl->report(e, SourceLoc{name, 1, 1});
    return false;
  }
}

} // namespace thjit::frontend
