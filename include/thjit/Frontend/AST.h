//===- thjit/Frontend/AST.h - Syntax tree of scripts ------------*- C++ -*-===//
///
/// \file
/// The abstract syntax tree produced by the Parser (see Parser.h). It follows
/// Python's own `ast` module closely, minus what the language leaves out.
///
/// Nodes are plain structs with public fields, owned through std::unique_ptr.
/// There are two families, expressions (Expr) and statements (Stmt); each node
/// records its kind in the `kind` field and where it starts in `loc`. Walk a
/// tree with a switch over the kind and the LLVM-style helpers at the end of
/// this file:
///
/// \code
///   switch (e.kind) {
///   case ExprKind::Binary: {
///     const auto &b = cast<BinaryExpr>(e);
///     ... eval(*b.lhs) ... eval(*b.rhs) ...
///   }
///   ...
///   }
///   if (const auto *name = dyn_cast<NameExpr>(&e)) ...
/// \endcode
///
/// Optional children are null pointers; optional names are empty strings.
/// Nothing in the tree is shared, and the parser never produces a node that
/// violates the invariants documented on its fields (e.g. assignment targets
/// are always assignable). Expression trees are at most about a thousand
/// levels deep (deeper input is a ParseError), so recursive walks are safe.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_FRONTEND_AST_H
#define THJIT_FRONTEND_AST_H

#include "thjit/Support/Error.h"

#include <cassert>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace thjit::frontend {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using ExprList = std::vector<ExprPtr>;
/// A block of statements (the body of a module, a loop, a function...).
using StmtList = std::vector<StmtPtr>;

//===----------------------------------------------------------------------===//
// Operators
//===----------------------------------------------------------------------===//

/// Prefix operators: `-x`, `+x`, `~x`, `not x`.
enum class UnaryOp : uint8_t { Neg, Pos, Invert, Not };

/// Infix arithmetic and bitwise operators, also used by augmented assignment.
enum class BinaryOp : uint8_t {
  Add,      ///< +
  Sub,      ///< -
  Mul,      ///< *
  Div,      ///< /
  FloorDiv, ///< //
  Mod,      ///< %
  Pow,      ///< **
  MatMul,   ///< @
  LShift,   ///< <<
  RShift,   ///< >>
  BitOr,    ///< |
  BitXor,   ///< ^
  BitAnd    ///< &
};

/// Short-circuit operators.
enum class BoolOp : uint8_t { And, Or };

/// Comparison operators (each link of a chained comparison).
enum class CmpOp : uint8_t {
  Eq,    ///< ==
  NotEq, ///< !=
  Lt,    ///< <
  LtE,   ///< <=
  Gt,    ///< >
  GtE,   ///< >=
  Is,    ///< is
  IsNot, ///< is not
  In,    ///< in
  NotIn  ///< not in
};

/// Python spelling: "-", "+", "~", "not".
const char *unaryOpSpelling(UnaryOp op);
/// Python spelling: "+", "//", "**", "@", ...
const char *binaryOpSpelling(BinaryOp op);
/// "and" or "or".
const char *boolOpSpelling(BoolOp op);
/// Python spelling: "==", "<=", "is not", "not in", ...
const char *cmpOpSpelling(CmpOp op);

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

/// Every expression kind, in the order of the structs below.
#define THJIT_EXPR_KINDS(X)                                                    \
  X(Name)                                                                      \
  X(Int)                                                                       \
  X(Float)                                                                     \
  X(Imag)                                                                      \
  X(Str)                                                                       \
  X(Bool)                                                                      \
  X(None)                                                                      \
  X(Ellipsis)                                                                  \
  X(Unary)                                                                     \
  X(Binary)                                                                    \
  X(BoolOp)                                                                    \
  X(Compare)                                                                   \
  X(IfExp)                                                                     \
  X(Lambda)                                                                    \
  X(Call)                                                                      \
  X(Attribute)                                                                 \
  X(Subscript)                                                                 \
  X(Slice)                                                                     \
  X(Tuple)                                                                     \
  X(List)                                                                      \
  X(Dict)                                                                      \
  X(ListComp)                                                                  \
  X(GeneratorExp)                                                              \
  X(DictComp)

enum class ExprKind : uint8_t {
#define THJIT_EXPR_KIND_ENUM(NAME) NAME,
  THJIT_EXPR_KINDS(THJIT_EXPR_KIND_ENUM)
#undef THJIT_EXPR_KIND_ENUM
};

/// The kind's name as written above ("Binary", "ListComp").
const char *exprKindName(ExprKind kind);

/// Base of all expressions.
struct Expr {
  const ExprKind kind;
  /// Where the expression starts (for `a + b`, where `a` starts; for a
  /// parenthesized tuple, its '(').
  SourceLoc loc;

  virtual ~Expr() = default;
  Expr(const Expr &) = delete;
  Expr &operator=(const Expr &) = delete;

protected:
  Expr(ExprKind kind, SourceLoc loc) : kind(kind), loc(std::move(loc)) {}
};

/// Base of the concrete expression structs: fixes the kind and provides
/// `classof` for isa/cast/dyn_cast.
template <ExprKind K> struct ExprNode : Expr {
  static constexpr ExprKind Kind = K;
  explicit ExprNode(SourceLoc loc) : Expr(K, std::move(loc)) {}
  static bool classof(const Expr *e) { return e->kind == K; }
};

/// A variable reference: `x`.
struct NameExpr : ExprNode<ExprKind::Name> {
  using ExprNode::ExprNode;
  std::string id;
};

/// An integer literal: `42`, `0xff`, `1_000`. Literals that do not fit in
/// int64_t are rejected by the parser.
struct IntExpr : ExprNode<ExprKind::Int> {
  using ExprNode::ExprNode;
  int64_t value = 0;
};

/// A float literal: `1.5`, `.5`, `1e-3`.
struct FloatExpr : ExprNode<ExprKind::Float> {
  using ExprNode::ExprNode;
  double value = 0;
};

/// An imaginary literal: `2j` has value 2.0 (the real part is zero).
struct ImagExpr : ExprNode<ExprKind::Imag> {
  using ExprNode::ExprNode;
  double value = 0;
};

/// A string literal with escapes decoded (UTF-8); adjacent literals are
/// already concatenated (`'a' "b"` is one StrExpr "ab").
struct StrExpr : ExprNode<ExprKind::Str> {
  using ExprNode::ExprNode;
  std::string value;
};

/// `True` or `False`.
struct BoolExpr : ExprNode<ExprKind::Bool> {
  using ExprNode::ExprNode;
  bool value = false;
};

/// `None`.
struct NoneExpr : ExprNode<ExprKind::None> {
  using ExprNode::ExprNode;
};

/// `...` (Python's Ellipsis).
struct EllipsisExpr : ExprNode<ExprKind::Ellipsis> {
  using ExprNode::ExprNode;
};

/// `-x`, `+x`, `~x`, `not x`.
struct UnaryExpr : ExprNode<ExprKind::Unary> {
  using ExprNode::ExprNode;
  UnaryOp op = UnaryOp::Neg;
  ExprPtr operand;
};

/// `lhs OP rhs` for the arithmetic and bitwise operators.
struct BinaryExpr : ExprNode<ExprKind::Binary> {
  using ExprNode::ExprNode;
  BinaryOp op = BinaryOp::Add;
  ExprPtr lhs, rhs;
};

/// `a and b and c` / `a or b`: a run of the same operator is flattened, so
/// `values` has at least two elements. Evaluate left to right and stop at
/// the first falsy (and) / truthy (or) value, which is the result.
struct BoolOpExpr : ExprNode<ExprKind::BoolOp> {
  using ExprNode::ExprNode;
  BoolOp op = BoolOp::And;
  ExprList values;
};

/// A possibly chained comparison `left ops[0] comparators[0] ops[1] ...`:
/// `a < b <= c` is `a < b and b <= c` with `b` evaluated once.
/// `ops.size() == comparators.size() >= 1`.
struct CompareExpr : ExprNode<ExprKind::Compare> {
  using ExprNode::ExprNode;
  ExprPtr left;
  std::vector<CmpOp> ops;
  ExprList comparators;
};

/// The conditional expression `body if test else orelse`.
struct IfExpExpr : ExprNode<ExprKind::IfExp> {
  using ExprNode::ExprNode;
  ExprPtr test, body, orelse;
};

/// One named parameter of a def or lambda.
struct Parameter {
  std::string name;
  ExprPtr defaultValue; ///< Null when the parameter has no default.
  SourceLoc loc;
};

/// The parameters of a def or lambda:
/// `def f(a, b=1, *args, c, d=2, **kwargs)` has positional {a, b=1},
/// varArgs "args", keywordOnly {c, d=2} and varKwargs "kwargs". Names are
/// distinct; among `positional`, once one has a default all later ones do.
/// Defaults are evaluated once, when the def or lambda is executed.
struct ParameterList {
  std::vector<Parameter> positional;
  std::string varArgs;                ///< `*args` name, or empty.
  std::vector<Parameter> keywordOnly; ///< After `*` or `*args`.
  std::string varKwargs;              ///< `**kwargs` name, or empty.
};

/// `lambda params: body`.
struct LambdaExpr : ExprNode<ExprKind::Lambda> {
  using ExprNode::ExprNode;
  ParameterList params;
  ExprPtr body;
};

/// One argument of a call.
struct Argument {
  enum Kind : uint8_t {
    Positional, ///< `f(value)`
    Keyword,    ///< `f(name=value)`
    Star,       ///< `f(*value)`: spread an iterable as positional arguments.
    DoubleStar  ///< `f(**value)`: spread a dict as keyword arguments.
  };
  Kind kind = Positional;
  std::string name; ///< Keyword only.
  ExprPtr value;
  SourceLoc loc; ///< Where the argument starts (the name, '*' or '**').
};

/// `func(args...)`. Arguments are in source order; the parser guarantees
/// Python's ordering rules (no positional after a keyword or `**`, no `*`
/// after `**`, no repeated keyword name). A generator expression passed as
/// the sole argument (`sum(x for x in xs)`) is a Positional GeneratorExp.
struct CallExpr : ExprNode<ExprKind::Call> {
  using ExprNode::ExprNode;
  ExprPtr func;
  std::vector<Argument> args;
};

/// `value.attr`.
struct AttributeExpr : ExprNode<ExprKind::Attribute> {
  using ExprNode::ExprNode;
  ExprPtr value;
  std::string attr;
};

/// `value[index]`. Python's rules: `x[i]` has index i; `x[i, j]`, `x[i,]`
/// and `x[()]` have a TupleExpr index; a slice `a:b:c` is a SliceExpr, which
/// appears only as the index or as an element of the index tuple
/// (`x[1:3, ::2]` is a Tuple of two Slices, `x[:, None]` a Tuple of a Slice
/// and a None).
struct SubscriptExpr : ExprNode<ExprKind::Subscript> {
  using ExprNode::ExprNode;
  ExprPtr value;
  ExprPtr index;
};

/// `lower:upper:step` inside a subscript; each part may be null (`::2`).
struct SliceExpr : ExprNode<ExprKind::Slice> {
  using ExprNode::ExprNode;
  ExprPtr lower, upper, step;
};

/// `(a, b)`, `a, b`, `(a,)`, `()`.
struct TupleExpr : ExprNode<ExprKind::Tuple> {
  using ExprNode::ExprNode;
  ExprList elts;
};

/// `[a, b]`.
struct ListExpr : ExprNode<ExprKind::List> {
  using ExprNode::ExprNode;
  ExprList elts;
};

/// `{k1: v1, k2: v2}`; `keys.size() == values.size()`.
struct DictExpr : ExprNode<ExprKind::Dict> {
  using ExprNode::ExprNode;
  ExprList keys, values;
};

/// One `for target in iter if c1 if c2` clause of a comprehension. The
/// target is assignable (a Name, Tuple/List of targets, Attribute or
/// Subscript), as for a for statement.
struct Comprehension {
  ExprPtr target;
  ExprPtr iter;
  ExprList ifs;
  SourceLoc loc; ///< The 'for'.
};

/// `[element for ... if ... for ...]`: clauses nest left to right, the
/// first being the outermost loop.
struct ListCompExpr : ExprNode<ExprKind::ListComp> {
  using ExprNode::ExprNode;
  ExprPtr element;
  std::vector<Comprehension> generators; ///< At least one.
};

/// `(element for ...)`, or the sole argument of a call without its own
/// parentheses. Same shape as ListCompExpr.
struct GeneratorExpExpr : ExprNode<ExprKind::GeneratorExp> {
  using ExprNode::ExprNode;
  ExprPtr element;
  std::vector<Comprehension> generators; ///< At least one.
};

/// `{key: value for ...}`.
struct DictCompExpr : ExprNode<ExprKind::DictComp> {
  using ExprNode::ExprNode;
  ExprPtr key, value;
  std::vector<Comprehension> generators; ///< At least one.
};

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

/// Every statement kind, in the order of the structs below.
#define THJIT_STMT_KINDS(X)                                                    \
  X(Expr)                                                                      \
  X(Assign)                                                                    \
  X(AugAssign)                                                                 \
  X(If)                                                                        \
  X(For)                                                                       \
  X(While)                                                                     \
  X(FunctionDef)                                                               \
  X(Return)                                                                    \
  X(Pass)                                                                      \
  X(Break)                                                                     \
  X(Continue)                                                                  \
  X(Try)                                                                       \
  X(Raise)                                                                     \
  X(Assert)                                                                    \
  X(Global)                                                                    \
  X(Nonlocal)                                                                  \
  X(Delete)                                                                    \
  X(Import)                                                                    \
  X(ImportFrom)

enum class StmtKind : uint8_t {
#define THJIT_STMT_KIND_ENUM(NAME) NAME,
  THJIT_STMT_KINDS(THJIT_STMT_KIND_ENUM)
#undef THJIT_STMT_KIND_ENUM
};

/// The kind's name as written above ("Assign", "FunctionDef").
const char *stmtKindName(StmtKind kind);

/// Base of all statements.
struct Stmt {
  const StmtKind kind;
  /// Where the statement starts (its first token).
  SourceLoc loc;

  virtual ~Stmt() = default;
  Stmt(const Stmt &) = delete;
  Stmt &operator=(const Stmt &) = delete;

protected:
  Stmt(StmtKind kind, SourceLoc loc) : kind(kind), loc(std::move(loc)) {}
};

/// Base of the concrete statement structs: fixes the kind and provides
/// `classof` for isa/cast/dyn_cast.
template <StmtKind K> struct StmtNode : Stmt {
  static constexpr StmtKind Kind = K;
  explicit StmtNode(SourceLoc loc) : Stmt(K, std::move(loc)) {}
  static bool classof(const Stmt *s) { return s->kind == K; }
};

/// An expression evaluated for its effect (the REPL prints a non-None
/// value).
struct ExprStmt : StmtNode<StmtKind::Expr> {
  using StmtNode::StmtNode;
  ExprPtr value;
};

/// `t1 = t2 = value`: evaluate value once, then assign it to each target
/// left to right. A target is a Name, Attribute, Subscript, or a Tuple/List
/// of targets (unpacking: `gw, gb = grad(...)`, `(a, b) = ...`, `[a, b] =`).
struct AssignStmt : StmtNode<StmtKind::Assign> {
  using StmtNode::StmtNode;
  ExprList targets; ///< At least one.
  ExprPtr value;
};

/// `target op= value`; target is a Name, Attribute or Subscript.
struct AugAssignStmt : StmtNode<StmtKind::AugAssign> {
  using StmtNode::StmtNode;
  ExprPtr target;
  BinaryOp op = BinaryOp::Add;
  ExprPtr value;
};

/// `if test: body else: orelse`. An `elif` chain is an IfStmt that is the
/// only statement of the enclosing orelse (as in Python's ast).
struct IfStmt : StmtNode<StmtKind::If> {
  using StmtNode::StmtNode;
  ExprPtr test;
  StmtList body;   ///< Not empty.
  StmtList orelse; ///< Empty without else/elif.
};

/// `for target in iter: body else: orelse`; orelse runs when the loop ends
/// without `break`. Target as for AssignStmt (`for i, x in enumerate(xs)`).
struct ForStmt : StmtNode<StmtKind::For> {
  using StmtNode::StmtNode;
  ExprPtr target;
  ExprPtr iter;
  StmtList body;
  StmtList orelse;
};

/// `while test: body else: orelse`; orelse runs when the loop ends without
/// `break`.
struct WhileStmt : StmtNode<StmtKind::While> {
  using StmtNode::StmtNode;
  ExprPtr test;
  StmtList body;
  StmtList orelse;
};

/// `def name(params): body`.
struct FunctionDefStmt : StmtNode<StmtKind::FunctionDef> {
  using StmtNode::StmtNode;
  std::string name;
  ParameterList params;
  StmtList body;
};

/// `return [value]`; only inside a def (checked by the parser).
struct ReturnStmt : StmtNode<StmtKind::Return> {
  using StmtNode::StmtNode;
  ExprPtr value; ///< Null for a bare `return`.
};

/// `pass`.
struct PassStmt : StmtNode<StmtKind::Pass> {
  using StmtNode::StmtNode;
};

/// `break`; only inside a loop body (checked by the parser).
struct BreakStmt : StmtNode<StmtKind::Break> {
  using StmtNode::StmtNode;
};

/// `continue`; only inside a loop body (checked by the parser).
struct ContinueStmt : StmtNode<StmtKind::Continue> {
  using StmtNode::StmtNode;
};

/// One `except [type [as name]]: body` clause.
struct ExceptHandler {
  /// The kind(s) caught, evaluated when an exception reaches the handler:
  /// any expression, in practice a Name (`TypeError`), an Attribute, or a
  /// Tuple of them (`(TypeError, ValueError)`). Null for a bare `except:`,
  /// which the parser only accepts as the last handler.
  ExprPtr type;
  std::string name; ///< The `as` name, or empty.
  StmtList body;
  SourceLoc loc; ///< The 'except'.
};

/// `try: body except...: ... else: orelse finally: finalbody`. There is at
/// least one handler or a finally block; orelse requires a handler.
struct TryStmt : StmtNode<StmtKind::Try> {
  using StmtNode::StmtNode;
  StmtList body;
  std::vector<ExceptHandler> handlers;
  StmtList orelse;
  StmtList finalbody;
};

/// `raise [exc [from cause]]`; a bare `raise` re-raises the exception being
/// handled.
struct RaiseStmt : StmtNode<StmtKind::Raise> {
  using StmtNode::StmtNode;
  ExprPtr exc;   ///< Null for a bare `raise`.
  ExprPtr cause; ///< Null without `from`.
};

/// `assert test[, msg]`.
struct AssertStmt : StmtNode<StmtKind::Assert> {
  using StmtNode::StmtNode;
  ExprPtr test;
  ExprPtr msg; ///< Null without a message.
};

/// `global a, b`.
struct GlobalStmt : StmtNode<StmtKind::Global> {
  using StmtNode::StmtNode;
  std::vector<std::string> names;
};

/// `nonlocal a, b`; only inside a def (checked by the parser).
struct NonlocalStmt : StmtNode<StmtKind::Nonlocal> {
  using StmtNode::StmtNode;
  std::vector<std::string> names;
};

/// `del t1, t2`; each target is a Name, Attribute, Subscript or a Tuple/List
/// of them.
struct DeleteStmt : StmtNode<StmtKind::Delete> {
  using StmtNode::StmtNode;
  ExprList targets;
};

/// One `name [as asName]` of an import.
struct ImportAlias {
  /// Dotted module path for `import` ("theano.tensor"); a plain name for
  /// `from ... import`.
  std::string name;
  std::string asName; ///< Empty without `as`.
  SourceLoc loc;
};

/// `import a.b.c [as x], d`. Without `as`, `import a.b.c` binds `a`.
struct ImportStmt : StmtNode<StmtKind::Import> {
  using StmtNode::StmtNode;
  std::vector<ImportAlias> names; ///< At least one.
};

/// `from module import x [as y], z` or `from module import *`.
struct ImportFromStmt : StmtNode<StmtKind::ImportFrom> {
  using StmtNode::StmtNode;
  std::string module;     ///< Dotted path without the leading dots; may be
                          ///< empty for `from . import x`.
  int level = 0;          ///< Number of leading dots (relative import).
  bool importAll = false; ///< `import *`; then `names` is empty.
  std::vector<ImportAlias> names; ///< At least one unless importAll.
};

/// A parsed file or REPL input.
struct Module {
  std::string filename;
  StmtList body;
};

//===----------------------------------------------------------------------===//
// isa / cast / dyn_cast
//===----------------------------------------------------------------------===//

/// An Expr or Stmt type, possibly const.
template <typename T>
concept SyntaxNode = std::is_base_of_v<Expr, std::remove_const_t<T>> ||
    std::is_base_of_v<Stmt, std::remove_const_t<T>>;

/// `To`, const when `From` is.
template <typename To, typename From>
using CastResult = std::conditional_t<std::is_const_v<From>, const To, To>;

/// True when `node` (not null) is a `To`: `isa<NameExpr>(e)`.
template <typename To, SyntaxNode From> bool isa(From *node) {
  assert(node && "isa<> on a null node");
  return To::classof(node);
}
template <typename To, SyntaxNode From> bool isa(From &node) {
  return To::classof(&node);
}
template <typename To, SyntaxNode From>
bool isa(const std::unique_ptr<From> &node) {
  return isa<To>(node.get());
}

/// `node` as a `To`; asserts that it is one.
template <typename To, SyntaxNode From> CastResult<To, From> *cast(From *node) {
  assert(isa<To>(node) && "cast<> to the wrong node kind");
  return static_cast<CastResult<To, From> *>(node);
}
template <typename To, SyntaxNode From> CastResult<To, From> &cast(From &node) {
  assert(isa<To>(node) && "cast<> to the wrong node kind");
  return static_cast<CastResult<To, From> &>(node);
}
template <typename To, SyntaxNode From>
To *cast(const std::unique_ptr<From> &node) {
  return cast<To>(node.get());
}

/// `node` as a `To`, or null when it is not one (or is null):
/// `if (auto *name = dyn_cast<NameExpr>(stmt.target)) ...`.
template <typename To, SyntaxNode From>
CastResult<To, From> *dyn_cast(From *node) {
  return node && To::classof(node) ? static_cast<CastResult<To, From> *>(node)
                                   : nullptr;
}
template <typename To, SyntaxNode From>
To *dyn_cast(const std::unique_ptr<From> &node) {
  return dyn_cast<To>(node.get());
}

//===----------------------------------------------------------------------===//
// Dumping
//===----------------------------------------------------------------------===//

/// A one-line S-expression for an expression, e.g. `(+ x (** y 2))` or
/// `(call (. T sum) x (kw axis 0))`. The forms:
///   Name `x`; literals `1`, `1.5`, `2j`, `'s'`, `True`, `None`, `...`;
///   `(neg x)` `(pos x)` `(invert x)` `(not x)`; `(OP a b)` for a binary op
///   (`+`, `**`, `//`, `@`, ...); `(and a b c)` `(or a b)`;
///   `(cmp a < b not-in c is-not d)`; `(ifexp test body orelse)`;
///   `(lambda (params ...) body)`; `(call f a (kw name v) (* a) (** k))`;
///   `(. value attr)`; `([] value index)`; `(slice lower upper step)` with
///   `_` for a missing part; `(tuple ...)` `(list ...)`;
///   `(dict (item k v) ...)`; `(listcomp elt (for target iter (if c)...)...)`,
///   `(genexp ...)`, `(dictcomp k v (for ...))`.
/// Parameters: `(params a (= b 1) *args c **kw)`, a bare `*` as `*`.
std::string dumpExpr(const Expr &expr);

/// A deterministic indented dump of a module: `(module` then one statement
/// per line indented by two spaces, blocks nested in labelled groups:
/// \code
///   (module
///     (assign a b 0)                ; targets..., value
///     (augassign += x 1)
///     (if (cmp x < 0)
///       (body
///         (expr (call print x)))
///       (else
///         (pass)))
///     (def f (params x (= y 1))
///       (body
///         (return (+ x y)))))
/// \endcode
/// Other forms: `(for target iter (body ...) (else ...))`,
/// `(while test (body ...) (else ...))`, `(try (body ...) (except [TYPE
/// [NAME]] ...) (else ...) (finally ...))`, `(return [v])`, `(raise [e
/// [(from c)]])`, `(assert test [msg])`, `(global a b)`, `(nonlocal a)`,
/// `(del t...)`, `(import a.b (as c.d e))`, `(from ..a.b x (as y z))`,
/// `(from a *)`, `(pass)`, `(break)`, `(continue)`. No trailing newline.
std::string dumpAST(const Module &module);
/// One statement (and its blocks) in the dumpAST format, at indent 0.
std::string dumpStmt(const Stmt &stmt);

} // namespace thjit::frontend

#endif
