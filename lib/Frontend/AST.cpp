//===- AST.cpp - Syntax tree names and dumps ------------------------------===//
///
/// \file
/// Operator spellings, kind names, and the S-expression dump used by the
/// tests and `--emit=ast`.
///
//===----------------------------------------------------------------------===//
#include "thjit/Frontend/AST.h"

#include "thjit/Frontend/Lexer.h"
#include "thjit/Support/Format.h"

namespace thjit::frontend {

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

const char *unaryOpSpelling(UnaryOp op) {
  switch (op) {
  case UnaryOp::Neg:
    return "-";
  case UnaryOp::Pos:
    return "+";
  case UnaryOp::Invert:
    return "~";
  case UnaryOp::Not:
    return "not";
  }
  return "?";
}

const char *binaryOpSpelling(BinaryOp op) {
  switch (op) {
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::Div:
    return "/";
  case BinaryOp::FloorDiv:
    return "//";
  case BinaryOp::Mod:
    return "%";
  case BinaryOp::Pow:
    return "**";
  case BinaryOp::MatMul:
    return "@";
  case BinaryOp::LShift:
    return "<<";
  case BinaryOp::RShift:
    return ">>";
  case BinaryOp::BitOr:
    return "|";
  case BinaryOp::BitXor:
    return "^";
  case BinaryOp::BitAnd:
    return "&";
  }
  return "?";
}

const char *boolOpSpelling(BoolOp op) {
  return op == BoolOp::And ? "and" : "or";
}

const char *cmpOpSpelling(CmpOp op) {
  switch (op) {
  case CmpOp::Eq:
    return "==";
  case CmpOp::NotEq:
    return "!=";
  case CmpOp::Lt:
    return "<";
  case CmpOp::LtE:
    return "<=";
  case CmpOp::Gt:
    return ">";
  case CmpOp::GtE:
    return ">=";
  case CmpOp::Is:
    return "is";
  case CmpOp::IsNot:
    return "is not";
  case CmpOp::In:
    return "in";
  case CmpOp::NotIn:
    return "not in";
  }
  return "?";
}

const char *exprKindName(ExprKind kind) {
  switch (kind) {
#define THJIT_EXPR_KIND_NAME(NAME)                                             \
  case ExprKind::NAME:                                                         \
    return #NAME;
    THJIT_EXPR_KINDS(THJIT_EXPR_KIND_NAME)
#undef THJIT_EXPR_KIND_NAME
  }
  return "?";
}

const char *stmtKindName(StmtKind kind) {
  switch (kind) {
#define THJIT_STMT_KIND_NAME(NAME)                                             \
  case StmtKind::NAME:                                                         \
    return #NAME;
    THJIT_STMT_KINDS(THJIT_STMT_KIND_NAME)
#undef THJIT_STMT_KIND_NAME
  }
  return "?";
}

//===----------------------------------------------------------------------===//
// Expression dump
//===----------------------------------------------------------------------===//

/// "2j" for 2.0, "1.5j" for 1.5 (Python's repr of a pure imaginary).
static std::string formatImag(double value) {
  std::string text = formatPyFloat(value);
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ".0") == 0)
    text.resize(text.size() - 2);
  return text + "j";
}

/// `x`, or `_` for a missing optional child.
static std::string dumpOptional(const ExprPtr &expr) {
  return expr ? dumpExpr(*expr) : "_";
}

static std::string dumpList(const ExprList &exprs) {
  std::string out;
  for (const ExprPtr &e : exprs)
    out += " " + dumpExpr(*e);
  return out;
}

static std::string dumpParams(const ParameterList &params) {
  auto one = [](const Parameter &p) {
    if (!p.defaultValue)
      return p.name;
    return "(= " + p.name + " " + dumpExpr(*p.defaultValue) + ")";
  };
  std::string out = "(params";
  for (const Parameter &p : params.positional)
    out += " " + one(p);
  if (!params.varArgs.empty())
    out += " *" + params.varArgs;
  else if (!params.keywordOnly.empty())
    out += " *";
  for (const Parameter &p : params.keywordOnly)
    out += " " + one(p);
  if (!params.varKwargs.empty())
    out += " **" + params.varKwargs;
  return out + ")";
}

static std::string dumpGenerators(const std::vector<Comprehension> &gens) {
  std::string out;
  for (const Comprehension &g : gens) {
    out += " (for " + dumpExpr(*g.target) + " " + dumpExpr(*g.iter);
    for (const ExprPtr &c : g.ifs)
      out += " (if " + dumpExpr(*c) + ")";
    out += ")";
  }
  return out;
}

static const char *unaryOpDumpName(UnaryOp op) {
  switch (op) {
  case UnaryOp::Neg:
    return "neg";
  case UnaryOp::Pos:
    return "pos";
  case UnaryOp::Invert:
    return "invert";
  case UnaryOp::Not:
    return "not";
  }
  return "?";
}

static const char *cmpOpDumpName(CmpOp op) {
  if (op == CmpOp::IsNot)
    return "is-not";
  if (op == CmpOp::NotIn)
    return "not-in";
  return cmpOpSpelling(op);
}

std::string dumpExpr(const Expr &expr) {
  switch (expr.kind) {
  case ExprKind::Name:
    return cast<NameExpr>(expr).id;
  case ExprKind::Int:
    return std::to_string(cast<IntExpr>(expr).value);
  case ExprKind::Float:
    return formatPyFloat(cast<FloatExpr>(expr).value);
  case ExprKind::Imag:
    return formatImag(cast<ImagExpr>(expr).value);
  case ExprKind::Str:
    return reprString(cast<StrExpr>(expr).value);
  case ExprKind::Bool:
    return cast<BoolExpr>(expr).value ? "True" : "False";
  case ExprKind::None:
    return "None";
  case ExprKind::Ellipsis:
    return "...";
  case ExprKind::Unary: {
    const auto &u = cast<UnaryExpr>(expr);
    return std::string("(") + unaryOpDumpName(u.op) + " " +
           dumpExpr(*u.operand) + ")";
  }
  case ExprKind::Binary: {
    const auto &b = cast<BinaryExpr>(expr);
    return std::string("(") + binaryOpSpelling(b.op) + " " + dumpExpr(*b.lhs) +
           " " + dumpExpr(*b.rhs) + ")";
  }
  case ExprKind::BoolOp: {
    const auto &b = cast<BoolOpExpr>(expr);
    return std::string("(") + boolOpSpelling(b.op) + dumpList(b.values) + ")";
  }
  case ExprKind::Compare: {
    const auto &c = cast<CompareExpr>(expr);
    std::string out = "(cmp " + dumpExpr(*c.left);
    for (size_t i = 0; i < c.ops.size(); ++i)
      out += std::string(" ") + cmpOpDumpName(c.ops[i]) + " " +
             dumpExpr(*c.comparators[i]);
    return out + ")";
  }
  case ExprKind::IfExp: {
    const auto &e = cast<IfExpExpr>(expr);
    return "(ifexp " + dumpExpr(*e.test) + " " + dumpExpr(*e.body) + " " +
           dumpExpr(*e.orelse) + ")";
  }
  case ExprKind::Lambda: {
    const auto &l = cast<LambdaExpr>(expr);
    return "(lambda " + dumpParams(l.params) + " " + dumpExpr(*l.body) + ")";
  }
  case ExprKind::Call: {
    const auto &c = cast<CallExpr>(expr);
    std::string out = "(call " + dumpExpr(*c.func);
    for (const Argument &a : c.args) {
      std::string value = dumpExpr(*a.value);
      switch (a.kind) {
      case Argument::Positional:
        out += " " + value;
        break;
      case Argument::Keyword:
        out += " (kw " + a.name + " " + value + ")";
        break;
      case Argument::Star:
        out += " (* " + value + ")";
        break;
      case Argument::DoubleStar:
        out += " (** " + value + ")";
        break;
      }
    }
    return out + ")";
  }
  case ExprKind::Attribute: {
    const auto &a = cast<AttributeExpr>(expr);
    return "(. " + dumpExpr(*a.value) + " " + a.attr + ")";
  }
  case ExprKind::Subscript: {
    const auto &s = cast<SubscriptExpr>(expr);
    return "([] " + dumpExpr(*s.value) + " " + dumpExpr(*s.index) + ")";
  }
  case ExprKind::Slice: {
    const auto &s = cast<SliceExpr>(expr);
    return "(slice " + dumpOptional(s.lower) + " " + dumpOptional(s.upper) +
           " " + dumpOptional(s.step) + ")";
  }
  case ExprKind::Tuple:
    return "(tuple" + dumpList(cast<TupleExpr>(expr).elts) + ")";
  case ExprKind::List:
    return "(list" + dumpList(cast<ListExpr>(expr).elts) + ")";
  case ExprKind::Dict: {
    const auto &d = cast<DictExpr>(expr);
    std::string out = "(dict";
    for (size_t i = 0; i < d.keys.size(); ++i)
      out +=
          " (item " + dumpExpr(*d.keys[i]) + " " + dumpExpr(*d.values[i]) + ")";
    return out + ")";
  }
  case ExprKind::ListComp: {
    const auto &c = cast<ListCompExpr>(expr);
    return "(listcomp " + dumpExpr(*c.element) + dumpGenerators(c.generators) +
           ")";
  }
  case ExprKind::GeneratorExp: {
    const auto &c = cast<GeneratorExpExpr>(expr);
    return "(genexp " + dumpExpr(*c.element) + dumpGenerators(c.generators) +
           ")";
  }
  case ExprKind::DictComp: {
    const auto &c = cast<DictCompExpr>(expr);
    return "(dictcomp " + dumpExpr(*c.key) + " " + dumpExpr(*c.value) +
           dumpGenerators(c.generators) + ")";
  }
  }
  return "?";
}

//===----------------------------------------------------------------------===//
// Statement dump
//===----------------------------------------------------------------------===//

namespace {
/// Writes statements one per line, nesting blocks two spaces deeper. Each
/// form's closing parentheses go on its last line.
class StmtDumper {
public:
  std::string out;

  void stmt(const Stmt &s, int indent);
  void block(const char *label, const StmtList &body, int indent);

private:
  void line(int indent, const std::string &text) {
    if (!out.empty())
      out += '\n';
    out.append(static_cast<size_t>(indent), ' ');
    out += text;
  }
  void close() { out += ')'; }
};
} // namespace

void StmtDumper::block(const char *label, const StmtList &body, int indent) {
  line(indent, std::string("(") + label);
  for (const StmtPtr &s : body)
    stmt(*s, indent + 2);
  close();
}

static std::string dumpAlias(const ImportAlias &alias) {
  if (alias.asName.empty())
    return alias.name;
  return "(as " + alias.name + " " + alias.asName + ")";
}

void StmtDumper::stmt(const Stmt &s, int indent) {
  switch (s.kind) {
  case StmtKind::Expr:
    line(indent, "(expr " + dumpExpr(*cast<ExprStmt>(s).value) + ")");
    return;
  case StmtKind::Assign: {
    const auto &a = cast<AssignStmt>(s);
    line(indent,
         "(assign" + dumpList(a.targets) + " " + dumpExpr(*a.value) + ")");
    return;
  }
  case StmtKind::AugAssign: {
    const auto &a = cast<AugAssignStmt>(s);
    line(indent, std::string("(augassign ") + binaryOpSpelling(a.op) + "= " +
                     dumpExpr(*a.target) + " " + dumpExpr(*a.value) + ")");
    return;
  }
  case StmtKind::If: {
    const auto &i = cast<IfStmt>(s);
    line(indent, "(if " + dumpExpr(*i.test));
    block("body", i.body, indent + 2);
    if (!i.orelse.empty())
      block("else", i.orelse, indent + 2);
    close();
    return;
  }
  case StmtKind::For: {
    const auto &f = cast<ForStmt>(s);
    line(indent, "(for " + dumpExpr(*f.target) + " " + dumpExpr(*f.iter));
    block("body", f.body, indent + 2);
    if (!f.orelse.empty())
      block("else", f.orelse, indent + 2);
    close();
    return;
  }
  case StmtKind::While: {
    const auto &w = cast<WhileStmt>(s);
    line(indent, "(while " + dumpExpr(*w.test));
    block("body", w.body, indent + 2);
    if (!w.orelse.empty())
      block("else", w.orelse, indent + 2);
    close();
    return;
  }
  case StmtKind::FunctionDef: {
    const auto &f = cast<FunctionDefStmt>(s);
    line(indent, "(def " + f.name + " " + dumpParams(f.params));
    block("body", f.body, indent + 2);
    close();
    return;
  }
  case StmtKind::Return: {
    const auto &r = cast<ReturnStmt>(s);
    line(indent, r.value ? "(return " + dumpExpr(*r.value) + ")" : "(return)");
    return;
  }
  case StmtKind::Pass:
    line(indent, "(pass)");
    return;
  case StmtKind::Break:
    line(indent, "(break)");
    return;
  case StmtKind::Continue:
    line(indent, "(continue)");
    return;
  case StmtKind::Try: {
    const auto &t = cast<TryStmt>(s);
    line(indent, "(try");
    block("body", t.body, indent + 2);
    for (const ExceptHandler &h : t.handlers) {
      std::string head = "except";
      if (h.type)
        head += " " + dumpExpr(*h.type);
      if (!h.name.empty())
        head += " " + h.name;
      block(head.c_str(), h.body, indent + 2);
    }
    if (!t.orelse.empty())
      block("else", t.orelse, indent + 2);
    if (!t.finalbody.empty())
      block("finally", t.finalbody, indent + 2);
    close();
    return;
  }
  case StmtKind::Raise: {
    const auto &r = cast<RaiseStmt>(s);
    std::string text = "(raise";
    if (r.exc)
      text += " " + dumpExpr(*r.exc);
    if (r.cause)
      text += " (from " + dumpExpr(*r.cause) + ")";
    line(indent, text + ")");
    return;
  }
  case StmtKind::Assert: {
    const auto &a = cast<AssertStmt>(s);
    std::string text = "(assert " + dumpExpr(*a.test);
    if (a.msg)
      text += " " + dumpExpr(*a.msg);
    line(indent, text + ")");
    return;
  }
  case StmtKind::Global:
  case StmtKind::Nonlocal: {
    const auto &names = s.kind == StmtKind::Global
                            ? cast<GlobalStmt>(s).names
                            : cast<NonlocalStmt>(s).names;
    std::string text = s.kind == StmtKind::Global ? "(global" : "(nonlocal";
    for (const std::string &n : names)
      text += " " + n;
    line(indent, text + ")");
    return;
  }
  case StmtKind::Delete:
    line(indent, "(del" + dumpList(cast<DeleteStmt>(s).targets) + ")");
    return;
  case StmtKind::Import: {
    std::string text = "(import";
    for (const ImportAlias &a : cast<ImportStmt>(s).names)
      text += " " + dumpAlias(a);
    line(indent, text + ")");
    return;
  }
  case StmtKind::ImportFrom: {
    const auto &i = cast<ImportFromStmt>(s);
    std::string text =
        "(from " + std::string(static_cast<size_t>(i.level), '.') + i.module;
    if (i.importAll)
      text += " *";
    for (const ImportAlias &a : i.names)
      text += " " + dumpAlias(a);
    line(indent, text + ")");
    return;
  }
  }
}

std::string dumpStmt(const Stmt &stmt) {
  StmtDumper dumper;
  dumper.stmt(stmt, 0);
  return dumper.out;
}

std::string dumpAST(const Module &module) {
  StmtDumper dumper;
  dumper.block("module", module.body, 0);
  return dumper.out;
}

} // namespace thjit::frontend
