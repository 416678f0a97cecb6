//===- ParserTest.cpp - Statements, expressions, errors and dumps ---------===//
#include "thjit/Frontend/Parser.h"

#include <catch2/catch.hpp>

using namespace thjit;
using namespace thjit::frontend;

/// The dump of the expression `source`.
static std::string expr(const std::string &source) {
  return dumpExpr(*parseExpression(source, "t.th"));
}

/// The dump of the single statement of `source`.
static std::string stmt(const std::string &source) {
  Module module = parseModule(source, "t.th");
  REQUIRE(module.body.size() == 1);
  return dumpStmt(*module.body[0]);
}

/// The dumps of the statements of `source`, one per line.
static std::string stmts(const std::string &source) {
  std::string out;
  for (const StmtPtr &s : parseModule(source, "t.th").body)
    out += (out.empty() ? "" : "\n") + dumpStmt(*s);
  return out;
}

/// "line:col: message" for the error parsing `source`, or "no error".
static std::string parseError(const std::string &source) {
  try {
    parseModule(source, "t.th");
  } catch (const ParseError &e) {
    return std::to_string(e.loc().line) + ":" + std::to_string(e.loc().col) +
           ": " + e.what();
  }
  return "no error";
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

TEST_CASE("atoms and literals", "[parser]") {
  CHECK(expr("x") == "x");
  CHECK(expr("42") == "42");
  CHECK(expr("0x10") == "16");
  CHECK(expr("1.5") == "1.5");
  CHECK(expr("1e-3") == "0.001");
  CHECK(expr("2j") == "2j");
  CHECK(expr("1.5j") == "1.5j");
  CHECK(expr("'a'") == "'a'");
  CHECK(expr("'a' \"b\" '''c'''") == "'abc'");
  CHECK(expr("True") == "True");
  CHECK(expr("False") == "False");
  CHECK(expr("None") == "None");
  CHECK(expr("...") == "...");
  CHECK(expr("[]") == "(list)");
  CHECK(expr("[1, 2,]") == "(list 1 2)");
  CHECK(expr("()") == "(tuple)");
  CHECK(expr("(x)") == "x");
  CHECK(expr("(x,)") == "(tuple x)");
  CHECK(expr("(1, 2)") == "(tuple 1 2)");
  CHECK(expr("1, 2") == "(tuple 1 2)");
  CHECK(expr("1,") == "(tuple 1)");
  CHECK(expr("{}") == "(dict)");
  CHECK(expr("{'a': 1, b: [2],}") == "(dict (item 'a' 1) (item b (list 2)))");
  CHECK(expr("{w: w - 0.1 * gw}") == "(dict (item w (- w (* 0.1 gw))))");
}

TEST_CASE("literal values in the tree", "[parser]") {
  ExprPtr e = parseExpression("[7, 2.5, 3j, 's\\n', True, None]");
  const auto *list = dyn_cast<ListExpr>(e);
  REQUIRE(list);
  REQUIRE(list->elts.size() == 6);
  CHECK(cast<IntExpr>(list->elts[0])->value == 7);
  CHECK(cast<FloatExpr>(list->elts[1])->value == 2.5);
  CHECK(cast<ImagExpr>(list->elts[2])->value == 3.0);
  CHECK(cast<StrExpr>(list->elts[3])->value == "s\n");
  CHECK(cast<BoolExpr>(list->elts[4])->value);
  CHECK(isa<NoneExpr>(list->elts[5]));
  CHECK_FALSE(isa<NameExpr>(list->elts[5]));
  CHECK(dyn_cast<NameExpr>(list->elts[5]) == nullptr);
}

TEST_CASE("operator precedence", "[parser]") {
  // Python's table, loosest first: lambda, if-else, or, and, not,
  // comparisons, |, ^, &, shifts, + -, * / // % @, unary, **.
  CHECK(expr("a + b * c") == "(+ a (* b c))");
  CHECK(expr("a * b + c") == "(+ (* a b) c)");
  CHECK(expr("(a + b) * c") == "(* (+ a b) c)");
  CHECK(expr("a - b / c // d % e @ f") == "(- a (@ (% (// (/ b c) d) e) f))");
  CHECK(expr("a << b + c") == "(<< a (+ b c))");
  CHECK(expr("a & b << c") == "(& a (<< b c))");
  CHECK(expr("a ^ b & c") == "(^ a (& b c))");
  CHECK(expr("a | b ^ c") == "(| a (^ b c))");
  CHECK(expr("a < b | c") == "(cmp a < (| b c))");
  CHECK(expr("not a == b") == "(not (cmp a == b))");
  CHECK(expr("not a and b") == "(and (not a) b)");
  CHECK(expr("a and b or c and d") == "(or (and a b) (and c d))");
  CHECK(expr("a or b if c else d") == "(ifexp c (or a b) d)");
  CHECK(expr("lambda: a if b else c") == "(lambda (params) (ifexp b a c))");
  CHECK(expr("-x ** 2") == "(neg (** x 2))");
  CHECK(expr("-x * 2") == "(* (neg x) 2)");
  CHECK(expr("2 ** -x") == "(** 2 (neg x))");
  CHECK(expr("~x + +y - -z") == "(- (+ (invert x) (pos y)) (neg z))");
  CHECK(expr("- - x") == "(neg (neg x))");
  CHECK(expr("not not x") == "(not (not x))");
  CHECK(expr("a ** b.c[d](e)") == "(** a (call ([] (. b c) d) e))");
  CHECK(expr("-a.b") == "(neg (. a b))");
}

TEST_CASE("associativity", "[parser]") {
  CHECK(expr("a - b - c") == "(- (- a b) c)");
  CHECK(expr("a / b / c") == "(/ (/ a b) c)");
  CHECK(expr("a // b * c") == "(* (// a b) c)");
  CHECK(expr("a ** b ** c") == "(** a (** b c))");
  CHECK(expr("a ** -b ** c") == "(** a (neg (** b c)))");
  CHECK(expr("a << b >> c") == "(>> (<< a b) c)");
  CHECK(expr("a | b | c") == "(| (| a b) c)");
  CHECK(expr("a if b else c if d else e") == "(ifexp b a (ifexp d c e))");
  CHECK(expr("a or b or c") == "(or a b c)");
  CHECK(expr("a and b and c") == "(and a b c)");
  CHECK(expr("(a or b) or c") == "(or (or a b) c)");
}

TEST_CASE("comparisons chain", "[parser]") {
  CHECK(expr("a < b <= c") == "(cmp a < b <= c)");
  CHECK(expr("a == b != c > d >= e") == "(cmp a == b != c > d >= e)");
  CHECK(expr("a in b not in c") == "(cmp a in b not-in c)");
  CHECK(expr("a is b is not c") == "(cmp a is b is-not c)");
  CHECK(expr("x not in xs or y") == "(or (cmp x not-in xs) y)");
  ExprPtr e = parseExpression("a < b is not c");
  const auto &cmp = cast<CompareExpr>(*e);
  REQUIRE(cmp.ops.size() == 2);
  CHECK(cmp.ops[0] == CmpOp::Lt);
  CHECK(cmp.ops[1] == CmpOp::IsNot);
  CHECK(cmp.comparators.size() == 2);
}

TEST_CASE("attributes, calls and subscripts chain", "[parser]") {
  CHECK(expr("w.get_value()") == "(call (. w get_value))");
  CHECK(expr("x.T") == "(. x T)");
  CHECK(expr("x.dimshuffle(1, 0)") == "(call (. x dimshuffle) 1 0)");
  CHECK(expr("T.nnet.sigmoid(x)") == "(call (. (. T nnet) sigmoid) x)");
  CHECK(expr("f(a)(b)[c].d") == "(. ([] (call (call f a) b) c) d)");
  CHECK(expr("np.random.RandomState(1).randn(2, 3)") ==
        "(call (. (call (. (. np random) RandomState) 1) randn) 2 3)");
  CHECK(expr("'a'.join(xs)") == "(call (. 'a' join) xs)");
}

TEST_CASE("call arguments", "[parser]") {
  CHECK(expr("f()") == "(call f)");
  CHECK(expr("f(a,)") == "(call f a)");
  CHECK(expr("x.sum(axis=0)") == "(call (. x sum) (kw axis 0))");
  CHECK(expr("function(inputs=[x], outputs=p, updates={w: w - gw})") ==
        "(call function (kw inputs (list x)) (kw outputs p) (kw updates "
        "(dict (item w (- w gw)))))");
  CHECK(expr("f(a, *args, k=1, **kw)") ==
        "(call f a (* args) (kw k 1) (** kw))");
  CHECK(expr("f(*a, b, *c, k=1, *d, **e, z=2)") ==
        "(call f (* a) b (* c) (kw k 1) (* d) (** e) (kw z 2))");
  CHECK(expr("f(key=lambda x: -x)") ==
        "(call f (kw key (lambda (params x) (neg x))))");
  CHECK(expr("sum(x for x in xs)") == "(call sum (genexp x (for x xs)))");
  CHECK(expr("f((x for x in xs), 1)") == "(call f (genexp x (for x xs)) 1)");
  CHECK(expr("f(a == 1)") == "(call f (cmp a == 1))");

  ExprPtr e = parseExpression("timeit(f, *args, number=3, **kw)");
  const auto &call = cast<CallExpr>(*e);
  REQUIRE(call.args.size() == 4);
  CHECK(call.args[0].kind == Argument::Positional);
  CHECK(call.args[1].kind == Argument::Star);
  CHECK(call.args[2].kind == Argument::Keyword);
  CHECK(call.args[2].name == "number");
  CHECK(cast<IntExpr>(call.args[2].value)->value == 3);
  CHECK(call.args[3].kind == Argument::DoubleStar);
  CHECK(call.args[1].loc.col == 11); // the '*'
  CHECK(call.args[2].loc.col == 18); // the keyword's name
}

TEST_CASE("subscripts and slices", "[parser]") {
  CHECK(expr("x[i]") == "([] x i)");
  CHECK(expr("x[1:3]") == "([] x (slice 1 3 _))");
  CHECK(expr("x[1:3, ::2]") == "([] x (tuple (slice 1 3 _) (slice _ _ 2)))");
  CHECK(expr("x[:, None]") == "([] x (tuple (slice _ _ _) None))");
  CHECK(expr("x[...]") == "([] x ...)");
  CHECK(expr("x[..., 0]") == "([] x (tuple ... 0))");
  CHECK(expr("x[()]") == "([] x (tuple))");
  CHECK(expr("x[idx]") == "([] x idx)");
  CHECK(expr("x[a,]") == "([] x (tuple a))");
  CHECK(expr("x[1, 2]") == "([] x (tuple 1 2))");
  CHECK(expr("x[:]") == "([] x (slice _ _ _))");
  CHECK(expr("x[::]") == "([] x (slice _ _ _))");
  CHECK(expr("x[a:]") == "([] x (slice a _ _))");
  CHECK(expr("x[:b]") == "([] x (slice _ b _))");
  CHECK(expr("x[::-1]") == "([] x (slice _ _ (neg 1)))");
  CHECK(expr("x[a:b:c]") == "([] x (slice a b c))");
  CHECK(expr("x[i + 1:n - 1]") == "([] x (slice (+ i 1) (- n 1) _))");
  CHECK(expr("x[a][b]") == "([] ([] x a) b)");
  CHECK(expr("x[y[0]:]") == "([] x (slice ([] y 0) _ _))");
  CHECK(expr("x[lambda: 0]") == "([] x (lambda (params) 0))");

  ExprPtr e = parseExpression("x[1:, ::2]");
  const auto &sub = cast<SubscriptExpr>(*e);
  const auto &index = cast<TupleExpr>(*sub.index);
  const auto &first = cast<SliceExpr>(*index.elts[0]);
  CHECK(first.lower);
  CHECK_FALSE(first.upper);
  CHECK_FALSE(first.step);
  CHECK(first.loc.col == 3);
  CHECK(cast<SliceExpr>(*index.elts[1]).loc.col == 7);
}

TEST_CASE("comprehensions", "[parser]") {
  CHECK(expr("[f(x) for x in xs if c]") ==
        "(listcomp (call f x) (for x xs (if c)))");
  CHECK(expr("[x for x in xs]") == "(listcomp x (for x xs))");
  CHECK(expr("[(i, j) for i in range(3) for j in range(i) if j if i > j]") ==
        "(listcomp (tuple i j) (for i (call range 3)) (for j (call range i) "
        "(if j) (if (cmp i > j))))");
  CHECK(expr("[i for i, x in enumerate(xs)]") ==
        "(listcomp i (for (tuple i x) (call enumerate xs)))");
  CHECK(expr("[x if x else 0 for x in xs]") ==
        "(listcomp (ifexp x x 0) (for x xs))");
  CHECK(expr("[[y for y in x] for x in xs]") ==
        "(listcomp (listcomp y (for y x)) (for x xs))");
  CHECK(expr("(x * 2 for x in xs)") == "(genexp (* x 2) (for x xs))");
  CHECK(expr("{k: v for k, v in items}") ==
        "(dictcomp k v (for (tuple k v) items))");
  CHECK(expr("[x for x in a or b]") == "(listcomp x (for x (or a b)))");

  ExprPtr e = parseExpression("[x for a, b in ys if a for x in b]");
  const auto &comp = cast<ListCompExpr>(*e);
  REQUIRE(comp.generators.size() == 2);
  CHECK(isa<TupleExpr>(comp.generators[0].target));
  CHECK(comp.generators[0].ifs.size() == 1);
  CHECK(comp.generators[1].ifs.empty());
  CHECK(comp.generators[1].loc.col == 24);
}

TEST_CASE("lambdas and conditional expressions", "[parser]") {
  CHECK(expr("lambda: 0") == "(lambda (params) 0)");
  CHECK(expr("lambda x, y=2: x + y") == "(lambda (params x (= y 2)) (+ x y))");
  CHECK(expr("lambda *a, **k: a") == "(lambda (params *a **k) a)");
  CHECK(expr("lambda x: lambda y: x") ==
        "(lambda (params x) (lambda (params y) x))");
  CHECK(expr("a if b else c") == "(ifexp b a c)");
  CHECK(expr("(a if b else c) + 1") == "(+ (ifexp b a c) 1)");
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

TEST_CASE("expression statements", "[parser]") {
  CHECK(stmt("f(x)") == "(expr (call f x))");
  CHECK(stmt("x") == "(expr x)");
  CHECK(stmt("1, 2") == "(expr (tuple 1 2))");
  CHECK(stmt("print(x)\n") == "(expr (call print x))");
  CHECK(stmt("print") == "(expr print)");
  CHECK(stmt("print(x, end='')") == "(expr (call print x (kw end '')))");
}

TEST_CASE("assignment", "[parser]") {
  CHECK(stmt("x = 1") == "(assign x 1)");
  CHECK(stmt("a = b = 0") == "(assign a b 0)");
  CHECK(stmt("gw, gb = T.grad(cost, [w, b])") ==
        "(assign (tuple gw gb) (call (. T grad) cost (list w b)))");
  CHECK(stmt("(a, b) = x") == "(assign (tuple a b) x)");
  CHECK(stmt("[a, b] = x") == "(assign (list a b) x)");
  CHECK(stmt("a, (b, c) = x") == "(assign (tuple a (tuple b c)) x)");
  CHECK(stmt("a, = x") == "(assign (tuple a) x)");
  CHECK(stmt("x.y = 1") == "(assign (. x y) 1)");
  CHECK(stmt("x[0] = 1") == "(assign ([] x 0) 1)");
  CHECK(stmt("x[1:2, ::3] = y") ==
        "(assign ([] x (tuple (slice 1 2 _) (slice _ _ 3))) y)");
  CHECK(stmt("f().a[0] = 1") == "(assign ([] (. (call f) a) 0) 1)");
  CHECK(stmt("x = 1, 2") == "(assign x (tuple 1 2))");
  CHECK(stmt("a, b = b, a") == "(assign (tuple a b) (tuple b a))");
  CHECK(stmt("x = y = z = f()") == "(assign x y z (call f))");
  CHECK(stmt("x = lambda: 0") == "(assign x (lambda (params) 0))");

  Module m = parseModule("a = b = 0", "t.th");
  const auto &assign = cast<AssignStmt>(*m.body[0]);
  CHECK(assign.targets.size() == 2);
  CHECK(cast<NameExpr>(assign.targets[1])->id == "b");
  CHECK(assign.targets[1]->loc.col == 5);
  CHECK(assign.value->loc.col == 9);
}

TEST_CASE("augmented assignment", "[parser]") {
  CHECK(stmt("x += 1") == "(augassign += x 1)");
  CHECK(stmt("x.y -= 2") == "(augassign -= (. x y) 2)");
  CHECK(stmt("x[i] *= 3") == "(augassign *= ([] x i) 3)");
  CHECK(stmt("x += 1, 2") == "(augassign += x (tuple 1 2))");
  const char *ops[] = {"+=", "-=", "*=", "/=", "//=", "%=", "**=",
                       "@=", "&=", "|=", "^=", "<<=", ">>="};
  for (const char *op : ops) {
    INFO(op);
    CHECK(stmt(std::string("x ") + op + " y") ==
          std::string("(augassign ") + op + " x y)");
  }
  Module m = parseModule("x //= 2", "t.th");
  CHECK(cast<AugAssignStmt>(*m.body[0]).op == BinaryOp::FloorDiv);
}

TEST_CASE("if, elif and else", "[parser]") {
  CHECK(stmt("if x:\n  y = 1\n") == "(if x\n  (body\n    (assign y 1)))");
  CHECK(stmt("if x:\n  a\nelif y:\n  b\nelif z:\n  c\nelse:\n  d\n") ==
        "(if x\n"
        "  (body\n"
        "    (expr a))\n"
        "  (else\n"
        "    (if y\n"
        "      (body\n"
        "        (expr b))\n"
        "      (else\n"
        "        (if z\n"
        "          (body\n"
        "            (expr c))\n"
        "          (else\n"
        "            (expr d)))))))");
  CHECK(stmt("if x: y = 1") == "(if x\n  (body\n    (assign y 1)))");
  CHECK(stmt("if x: a; b\nelse: c") ==
        "(if x\n  (body\n    (expr a)\n    (expr b))\n  (else\n    (expr "
        "c)))");

  Module m = parseModule("if a:\n  pass\nelif b:\n  pass\n", "t.th");
  const auto &outer = cast<IfStmt>(*m.body[0]);
  REQUIRE(outer.orelse.size() == 1);
  const auto *elif = dyn_cast<IfStmt>(outer.orelse[0]);
  REQUIRE(elif);
  CHECK(elif->loc.line == 3);
  CHECK(elif->orelse.empty());
}

TEST_CASE("for and while loops", "[parser]") {
  CHECK(stmt("for i in range(10):\n  pred, err = train(D[0], D[1])\n") ==
        "(for i (call range 10)\n"
        "  (body\n"
        "    (assign (tuple pred err) (call train ([] D 0) ([] D 1)))))");
  CHECK(stmt("for i, x in enumerate(xs): pass") ==
        "(for (tuple i x) (call enumerate xs)\n  (body\n    (pass)))");
  CHECK(stmt("for (a, b) in xs: pass") ==
        "(for (tuple a b) xs\n  (body\n    (pass)))");
  CHECK(stmt("for x in 1, 2: pass") ==
        "(for x (tuple 1 2)\n  (body\n    (pass)))");
  CHECK(stmt("for x in xs:\n  break\nelse:\n  pass\n") ==
        "(for x xs\n  (body\n    (break))\n  (else\n    (pass)))");
  CHECK(stmt("while i < 10:\n  i += 1\n  continue\nelse:\n  done()\n") ==
        "(while (cmp i < 10)\n"
        "  (body\n"
        "    (augassign += i 1)\n"
        "    (continue))\n"
        "  (else\n"
        "    (expr (call done))))");
  CHECK(stmt("while True: break") == "(while True\n  (body\n    (break)))");
  // break and continue inside nested blocks of a loop.
  CHECK(stmts("for x in xs:\n  if x:\n    try:\n      break\n    finally:\n"
              "      continue\n") ==
        "(for x xs\n  (body\n    (if x\n      (body\n        (try\n"
        "          (body\n            (break))\n          (finally\n"
        "            (continue)))))))");
}

TEST_CASE("function definitions", "[parser]") {
  CHECK(stmt("def f():\n  return\n") ==
        "(def f (params)\n  (body\n    (return)))");
  CHECK(stmt("def f(x, y=1, *args, **kwargs):\n  return x, y\n") ==
        "(def f (params x (= y 1) *args **kwargs)\n"
        "  (body\n"
        "    (return (tuple x y))))");
  CHECK(stmt("def f(a, *, b, c=2): pass") ==
        "(def f (params a * b (= c 2))\n  (body\n    (pass)))");
  CHECK(stmt("def f(a, *rest, b): pass") ==
        "(def f (params a *rest b)\n  (body\n    (pass)))");
  CHECK(stmt("def f(**kw,): pass") ==
        "(def f (params **kw)\n  (body\n    (pass)))");
  CHECK(stmt("def f(x):\n  def g(y):\n    return x + y\n  return g\n") ==
        "(def f (params x)\n"
        "  (body\n"
        "    (def g (params y)\n"
        "      (body\n"
        "        (return (+ x y))))\n"
        "    (return g)))");
  // return and nonlocal are fine inside a def, even inside a loop there.
  CHECK_NOTHROW(parseModule("def f():\n  for x in y:\n    return x\n", "t"));
  CHECK_NOTHROW(parseModule("def f():\n  x = 1\n  def g():\n"
                            "    nonlocal x\n    x = 2\n",
                            "t"));

  Module m = parseModule("def f(a, b=1, *c, d, e=2, **g):\n  pass\n", "t");
  const auto &def = cast<FunctionDefStmt>(*m.body[0]);
  CHECK(def.name == "f");
  REQUIRE(def.params.positional.size() == 2);
  CHECK(def.params.positional[0].name == "a");
  CHECK_FALSE(def.params.positional[0].defaultValue);
  CHECK(cast<IntExpr>(def.params.positional[1].defaultValue)->value == 1);
  CHECK(def.params.positional[1].loc.col == 10);
  CHECK(def.params.varArgs == "c");
  REQUIRE(def.params.keywordOnly.size() == 2);
  CHECK(def.params.keywordOnly[0].name == "d");
  CHECK(def.params.keywordOnly[1].defaultValue);
  CHECK(def.params.varKwargs == "g");
  CHECK(def.body.size() == 1);
}

TEST_CASE("pass, break and continue", "[parser]") {
  CHECK(stmt("pass") == "(pass)");
  CHECK(stmt("while x:\n  break\n") == "(while x\n  (body\n    (break)))");
  CHECK(stmt("while x:\n  continue\n") ==
        "(while x\n  (body\n    (continue)))");
}

TEST_CASE("try statements", "[parser]") {
  CHECK(stmt("try:\n  f()\nexcept TypeError as e:\n  g(e)\nexcept (ValueError,"
             " ShapeError):\n  pass\nexcept Exception:\n  pass\nexcept:\n"
             "  raise\nelse:\n  h()\nfinally:\n  done()\n") ==
        "(try\n"
        "  (body\n"
        "    (expr (call f)))\n"
        "  (except TypeError e\n"
        "    (expr (call g e)))\n"
        "  (except (tuple ValueError ShapeError)\n"
        "    (pass))\n"
        "  (except Exception\n"
        "    (pass))\n"
        "  (except\n"
        "    (raise))\n"
        "  (else\n"
        "    (expr (call h)))\n"
        "  (finally\n"
        "    (expr (call done))))");
  CHECK(stmt("try:\n  pass\nfinally:\n  pass\n") ==
        "(try\n  (body\n    (pass))\n  (finally\n    (pass)))");
  CHECK(stmt("try: x\nexcept E: y") ==
        "(try\n  (body\n    (expr x))\n  (except E\n    (expr y)))");

  Module m = parseModule("try:\n  pass\nexcept T.E as err:\n  pass\n", "t");
  const auto &t = cast<TryStmt>(*m.body[0]);
  REQUIRE(t.handlers.size() == 1);
  CHECK(isa<AttributeExpr>(t.handlers[0].type));
  CHECK(t.handlers[0].name == "err");
  CHECK(t.handlers[0].loc.line == 3);
  CHECK(t.orelse.empty());
  CHECK(t.finalbody.empty());
}

TEST_CASE("raise, assert, global, nonlocal, del", "[parser]") {
  CHECK(stmt("raise") == "(raise)");
  CHECK(stmt("raise ValueError('bad')") == "(raise (call ValueError 'bad'))");
  CHECK(stmt("raise E from e") == "(raise E (from e))");
  CHECK(stmt("assert x") == "(assert x)");
  CHECK(stmt("assert x > 0, 'positive'") == "(assert (cmp x > 0) 'positive')");
  CHECK(stmt("global a") == "(global a)");
  CHECK(stmt("global a, b") == "(global a b)");
  CHECK(stmts("def f():\n  nonlocal a, b\n") ==
        "(def f (params)\n  (body\n    (nonlocal a b)))");
  CHECK(stmt("del x") == "(del x)");
  CHECK(stmt("del x, y.z, w[0]") == "(del x (. y z) ([] w 0))");
  CHECK(stmt("del x,") == "(del x)");
  CHECK(stmt("del (a, b)") == "(del (tuple a b))");
  CHECK(stmt("del [a, b]") == "(del (list a b))");
}

TEST_CASE("imports", "[parser]") {
  CHECK(stmt("import theano") == "(import theano)");
  CHECK(stmt("import theano.tensor as T") == "(import (as theano.tensor T))");
  CHECK(stmt("import numpy as np, theano, a.b.c") ==
        "(import (as numpy np) theano a.b.c)");
  CHECK(stmt("from theano import function, shared") ==
        "(from theano function shared)");
  CHECK(stmt("from a.b import x as y, z") == "(from a.b (as x y) z)");
  CHECK(stmt("from a import *") == "(from a *)");
  CHECK(stmt("from a import (x,\n  y,)") == "(from a x y)");
  CHECK(stmt("from . import x") == "(from . x)");
  CHECK(stmt("from ..a import x") == "(from ..a x)");
  CHECK(stmt("from ... import x") == "(from ... x)");

  Module m = parseModule("from .m.n import *\nimport a.b as c", "t.th");
  const auto &from = cast<ImportFromStmt>(*m.body[0]);
  CHECK(from.module == "m.n");
  CHECK(from.level == 1);
  CHECK(from.importAll);
  CHECK(from.names.empty());
  const auto &imp = cast<ImportStmt>(*m.body[1]);
  REQUIRE(imp.names.size() == 1);
  CHECK(imp.names[0].name == "a.b");
  CHECK(imp.names[0].asName == "c");
  CHECK(imp.names[0].loc.str() == "t.th:2:8");
}

TEST_CASE("several statements on a line", "[parser]") {
  CHECK(stmts("a = 1; b = 2") == "(assign a 1)\n(assign b 2)");
  CHECK(stmts("a = 1; b = 2;\nc") == "(assign a 1)\n(assign b 2)\n(expr c)");
  CHECK(stmts("x = 1\n\n\ny = 2  # c\n") == "(assign x 1)\n(assign y 2)");
  CHECK(stmts("") == "");
  CHECK(stmts("# just a comment\n\n") == "");
  CHECK(stmts("for x in y: a; b") ==
        "(for x y\n  (body\n    (expr a)\n    (expr b)))");
}

TEST_CASE("blocks nest by indentation", "[parser]") {
  const char *source = "def f(x):\n"
                       "    if x:\n"
                       "        for i in x:\n"
                       "            y = i\n"
                       "\n"
                       "        # done\n"
                       "        return y\n"
                       "    return None\n"
                       "z = f([1])\n";
  CHECK(dumpAST(parseModule(source, "t.th")) ==
        "(module\n"
        "  (def f (params x)\n"
        "    (body\n"
        "      (if x\n"
        "        (body\n"
        "          (for i x\n"
        "            (body\n"
        "              (assign y i)))\n"
        "          (return y)))\n"
        "      (return None)))\n"
        "  (assign z (call f (list 1))))");
  CHECK(dumpAST(parseModule("", "t.th")) == "(module)");
  // Brackets and backslashes join lines.
  CHECK(stmts("x = f(a,\n      b)\ny = 1 + \\\n  2\n") ==
        "(assign x (call f a b))\n(assign y (+ 1 2))");
  // Tabs indent too.
  CHECK(stmts("if x:\n\ty = 1\n\tz = 2\n") ==
        "(if x\n  (body\n    (assign y 1)\n    (assign z 2)))");
}

TEST_CASE("nodes record where they start", "[parser]") {
  Module m =
      parseModule("x = 1\nif a:\n    y = f(b, c=d) + e[1:2]\n", "file.th");
  CHECK(m.filename == "file.th");
  REQUIRE(m.body.size() == 2);
  CHECK(m.body[0]->loc.str() == "file.th:1:1");
  const auto &ifStmt = cast<IfStmt>(*m.body[1]);
  CHECK(ifStmt.loc.str() == "file.th:2:1");
  CHECK(ifStmt.test->loc.str() == "file.th:2:4");
  const auto &assign = cast<AssignStmt>(*ifStmt.body[0]);
  CHECK(assign.loc.str() == "file.th:3:5");
  const auto &sum = cast<BinaryExpr>(*assign.value);
  CHECK(sum.loc.col == 9);
  const auto &call = cast<CallExpr>(*sum.lhs);
  CHECK(call.loc.col == 9);
  CHECK(call.args[0].value->loc.col == 11);
  CHECK(call.args[1].loc.col == 14);
  CHECK(call.args[1].value->loc.col == 16);
  const auto &sub = cast<SubscriptExpr>(*sum.rhs);
  CHECK(sub.loc.col == 21);
  CHECK(sub.index->loc.col == 23);

  ExprPtr e = parseExpression("(a, b) + -c");
  CHECK(e->loc.col == 1);
  CHECK(cast<BinaryExpr>(*e).rhs->loc.col == 10);
}

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

TEST_CASE("Python 2 print statements get a hint", "[parser][errors]") {
  const char *hint =
      "Missing parentheses in call to 'print'. Did you mean print(...)?";
  CHECK(parseError("print \"x\"") == std::string("1:1: ") + hint);
  CHECK(parseError("print x") == std::string("1:1: ") + hint);
  CHECK(parseError("if a:\n    print w.get_value(), b\n") ==
        std::string("2:5: ") + hint);
  CHECK(parseError("print 1") == std::string("1:1: ") + hint);
  CHECK(parseError("exec 'x = 1'") ==
        "1:1: Missing parentheses in call to 'exec'. Did you mean exec(...)?");
  // Python 3 uses of the name are fine.
  CHECK(parseError("print") == "no error");
  CHECK(parseError("print(x)") == "no error");
  CHECK(parseError("print -1") == "no error");
  CHECK(parseError("p = print") == "no error");
}

TEST_CASE("syntax errors and their locations", "[parser][errors]") {
  struct Case {
    const char *source;
    const char *error;
  } cases[] = {
      // Generic.
      {"x = = 1", "1:5: invalid syntax"},
      {"x = 1 2", "1:7: invalid syntax"},
      {"x +=", "1:5: invalid syntax"},
      {"x = (1 +)", "1:9: invalid syntax"},
      {"f(a b)", "1:3: invalid syntax. Perhaps you forgot a comma?"},
      {"[a b]", "1:2: invalid syntax. Perhaps you forgot a comma?"},
      {"x[]", "1:3: invalid syntax"},
      {"else: pass", "1:1: invalid syntax"},
      {"import a.b as", "1:14: invalid syntax"},
      {"x = 1 if y", "1:5: expected 'else' after 'if' expression"},
      // Blocks and indentation.
      {"if x\n  pass\n", "1:5: expected ':'"},
      {"def f()\n  pass\n", "1:8: expected ':'"},
      {"def f:\n  pass\n", "1:6: expected '('"},
      {"while x y:\n  pass\n", "1:9: invalid syntax"},
      {"if True:\npass\n",
       "2:1: expected an indented block after 'if' statement on line 1"},
      {"for x in y:\n\nz = 1\n",
       "3:1: expected an indented block after 'for' statement on line 1"},
      {"def f():\n  '''doc'''\n\ndef g():\nreturn 1\n",
       "5:1: expected an indented block after function definition on line 4"},
      {"if x:\n  pass\nelse:\n", "4:1: expected an indented block after "
                                 "'else' statement on line 3"},
      {"  x = 1", "1:3: unexpected indent"},
      {"def f():\n  x = 1\n    y = 2\n", "3:5: unexpected indent"},
      {"def f():\n    x = 1\n  y = 2\n",
       "3:3: unindent does not match any outer indentation level"},
      // Brackets, strings and characters (from the lexer).
      {"x = (1,\n     2\ny = 3\n", "1:5: '(' was never closed"},
      {"x = [1, 2)", "1:10: closing parenthesis ')' does not match opening "
                     "parenthesis '['"},
      {"x = 1)", "1:6: unmatched ')'"},
      {"s = 'abc\n", "1:5: unterminated string literal"},
      {"s = \"\"\"abc\n\n", "1:5: unterminated triple-quoted string literal"},
      {"x = a $ b", "1:7: invalid character '$' (U+0024)"},
      // Targets.
      {"f() = 1", "1:1: cannot assign to function call here. Maybe you "
                  "meant '==' instead of '='?"},
      {"1 = x", "1:1: cannot assign to literal here. Maybe you meant '==' "
                "instead of '='?"},
      {"a, f() = 1", "1:4: cannot assign to function call here. Maybe you "
                     "meant '==' instead of '='?"},
      {"x = a + b = 1", "1:5: cannot assign to expression here. Maybe you "
                        "meant '==' instead of '='?"},
      {"None = 1", "1:1: cannot assign to None"},
      {"True = 1", "1:1: cannot assign to True"},
      {"for f() in x: pass", "1:5: cannot assign to function call"},
      {"[0 for 1 in x]", "1:8: cannot assign to literal"},
      {"del f()", "1:5: cannot delete function call"},
      {"del (a, 1)", "1:9: cannot delete literal"},
      {"a, b += 1",
       "1:1: 'tuple' is an illegal expression for augmented assignment"},
      {"f() += 1", "1:1: 'function call' is an illegal expression for "
                   "augmented assignment"},
      // Calls and parameters.
      {"f(a=1, b)", "1:8: positional argument follows keyword argument"},
      {"f(**k, a)",
       "1:8: positional argument follows keyword argument unpacking"},
      {"f(**k, *a)", "1:8: iterable argument unpacking follows keyword "
                     "argument unpacking"},
      {"f(a=1, a=2)", "1:8: keyword argument repeated: a"},
      {"f(a.b=1)",
       "1:3: expression cannot contain assignment, perhaps you meant \"==\"?"},
      {"f(x for x in y, 1)", "1:3: Generator expression must be parenthesized"},
      {"f(1, x for x in y)", "1:6: Generator expression must be parenthesized"},
      {"def f(a=1, b): pass",
       "1:12: non-default argument follows default argument"},
      {"lambda a=1, b: 0",
       "1:13: non-default argument follows default argument"},
      {"def f(a, a): pass",
       "1:10: duplicate argument 'a' in function definition"},
      {"def f(*): pass", "1:7: named arguments must follow bare *"},
      {"def f(**k, a): pass",
       "1:12: arguments cannot follow var-keyword argument"},
      // Placement.
      {"return 1", "1:1: 'return' outside function"},
      {"break", "1:1: 'break' outside loop"},
      {"if x:\n  continue\n", "2:3: 'continue' not properly in loop"},
      {"for x in y:\n  def f():\n    break\n", "3:5: 'break' outside loop"},
      {"while x:\n  pass\nelse:\n  break\n", "4:3: 'break' outside loop"},
      {"nonlocal x", "1:1: nonlocal declaration not allowed at module level"},
      // try.
      {"try:\n  pass\nx = 1\n", "3:1: expected 'except' or 'finally' block"},
      {"try:\n  pass\nexcept:\n  pass\nexcept E:\n  pass\n",
       "3:1: default 'except:' must be last"},
      {"try:\n  pass\nexcept A, e:\n  pass\n",
       "3:8: multiple exception types must be parenthesized"},
      // Displays and imports.
      {"x = {1: 2, 3}", "1:12: ':' expected after dictionary key"},
      {"x = {1, 2}", "1:5: set literals are not supported"},
      {"from a import x,",
       "1:17: trailing comma not allowed without surrounding parentheses"},
      // What the language leaves out.
      {"class A: pass", "1:1: class definitions are not supported"},
      {"with f() as g: pass", "1:1: 'with' statements are not supported"},
      {"x = yield", "1:5: 'yield' is not supported"},
      {"@dec\ndef f(): pass", "1:1: decorators are not supported"},
      {"def f() -> int: pass", "1:9: return annotations are not supported"},
      {"x = [*a]",
       "1:6: starred expressions are only supported as call arguments"},
  };
  for (const Case &c : cases) {
    INFO(c.source);
    CHECK(parseError(c.source) == c.error);
  }
}

TEST_CASE("parse errors are SyntaxErrors with a file location",
          "[parser][errors]") {
  try {
    parseModule("x = 1\ny = (2 +\n", "script.th");
    FAIL("no error");
  } catch (const SyntaxError &e) {
    CHECK(std::string(e.kind()) == "SyntaxError");
    CHECK(std::string(e.what()) == "'(' was never closed");
    const auto *parseError = dynamic_cast<const ParseError *>(&e);
    REQUIRE(parseError);
    CHECK(parseError->loc().str() == "script.th:2:5");
  }
  // The first error in the text wins, even when a later one is in the
  // lexer's domain.
  CHECK(parseError("x = = 1\ny = (\n") == "1:5: invalid syntax");
}

TEST_CASE("absurd nesting is an error, not a crash", "[parser][errors]") {
  auto repeat = [](const std::string &s, int n) {
    std::string out;
    for (int i = 0; i < n; ++i)
      out += s;
    return out;
  };
  // What real code needs parses.
  CHECK_NOTHROW(
      parseModule("x = " + repeat("(", 150) + "1" + repeat(")", 150), "t"));
  CHECK_NOTHROW(parseModule("x = 1" + repeat(" + 1", 500), "t"));
  CHECK_NOTHROW(parseModule("x = a" + repeat(".b", 500), "t"));
  // Beyond CPython's limits, or deep enough to threaten the stack.
  CHECK(parseError("x = " + repeat("(", 201)) ==
        "1:205: too many nested parentheses");
  CHECK(parseError("x = " + repeat("-", 5000) + "1") ==
        "1:1004: expression too deeply nested");
  CHECK(parseError("x = 1" + repeat(" + 1", 50000))
            .find("expression too deeply nested") != std::string::npos);
  CHECK(parseError("x = a" + repeat(".b", 50000))
            .find("expression too deeply nested") != std::string::npos);
  CHECK(parseError("x = " + repeat("not ", 5000) + "1")
            .find("expression too deeply nested") != std::string::npos);
  CHECK(parseError("x = " + repeat("lambda: ", 5000) + "1")
            .find("expression too deeply nested") != std::string::npos);
  std::string blocks;
  for (int i = 0; i < 120; ++i)
    blocks += std::string(i, ' ') + "if x:\n";
  CHECK(parseError(blocks + std::string(120, ' ') + "pass\n") ==
        "102:102: too many levels of indentation");
}

//===----------------------------------------------------------------------===//
// parseExpression and isIncomplete
//===----------------------------------------------------------------------===//

TEST_CASE("parseExpression takes one expression", "[parser]") {
  CHECK(expr("  a, b  \n\n") == "(tuple a b)");
  CHECK(expr("f(x)\n") == "(call f x)");
  CHECK(expr("(1 +\n 2)") == "(+ 1 2)");
  CHECK_THROWS_WITH(parseExpression("x = 1", "t"), "invalid syntax");
  CHECK_THROWS_WITH(parseExpression("a\nb", "t"), "invalid syntax");
  CHECK_THROWS_WITH(parseExpression("", "t"), "invalid syntax");
  CHECK_THROWS_WITH(parseExpression("if x: y", "t"), "invalid syntax");
  try {
    parseExpression("a +", "<repl>");
    FAIL("no error");
  } catch (const ParseError &e) {
    CHECK(e.loc().str() == "<repl>:1:4");
  }
}

TEST_CASE("isIncomplete follows the interactive prompt", "[parser]") {
  // Complete input.
  CHECK_FALSE(isIncomplete(""));
  CHECK_FALSE(isIncomplete("\n"));
  CHECK_FALSE(isIncomplete("x = 1"));
  CHECK_FALSE(isIncomplete("x = 1\n"));
  CHECK_FALSE(isIncomplete("f(a,\n  b)\n"));
  CHECK_FALSE(isIncomplete("# comment\n"));
  // Open brackets, triple-quoted strings, backslashes: even after a blank
  // line.
  CHECK(isIncomplete("x = (1,\n"));
  CHECK(isIncomplete("x = [\n  1,\n\n"));
  CHECK(isIncomplete("f(a, g(b,\n"));
  CHECK(isIncomplete("s = '''abc\n"));
  CHECK(isIncomplete("s = '''abc\n\n"));
  CHECK(isIncomplete("x = 1 + \\\n"));
  // Compound statements wait for a blank line.
  CHECK(isIncomplete("for i in x:"));
  CHECK(isIncomplete("for i in x:\n"));
  CHECK(isIncomplete("for i in x:\n  print(i)\n"));
  CHECK(isIncomplete("for i in x: print(i)\n"));
  CHECK(isIncomplete("if x:\n  y = 1\nelse:\n"));
  CHECK(isIncomplete("if x:\n  # comment\n"));
  CHECK(isIncomplete("def f():\n  return 1\n"));
  CHECK(isIncomplete("try:\n  pass\n"));
  CHECK(isIncomplete("x = 1\nwhile x:\n  x -= 1\n"));
  CHECK_FALSE(isIncomplete("for i in x:\n  print(i)\n\n"));
  CHECK_FALSE(isIncomplete("for i in x: print(i)\n\n"));
  CHECK_FALSE(isIncomplete("if x:\n  y = 1\n  \n"));
  CHECK_FALSE(isIncomplete("def f():\n  return 1\n\n"));
  // A blank line ends input with an error, which the parser then reports.
  CHECK_FALSE(isIncomplete("if x:\n\n"));
  CHECK_FALSE(isIncomplete("try:\n  pass\n\n"));
  CHECK_FALSE(isIncomplete("x = 1 + \\\n\n"));
  // Errors are complete: the REPL shows them at once.
  CHECK_FALSE(isIncomplete("x = 1 +\n"));
  CHECK_FALSE(isIncomplete("print 'x'\n"));
  CHECK_FALSE(isIncomplete("s = 'abc\n"));
  CHECK_FALSE(isIncomplete("x = (1 2,\n"));
  CHECK_FALSE(isIncomplete("x = 1)\n"));
}

//===----------------------------------------------------------------------===//
// A whole script, names and casts
//===----------------------------------------------------------------------===//

TEST_CASE("the seed paper's logistic regression parses", "[parser]") {
  const char *source = R"(import numpy
import theano.tensor as T
from theano import shared, function

x = T.matrix()
y = T.lvector()
w = shared(numpy.random.randn(100))
b = shared(numpy.zeros(()))
print("Initial model:")
print(w.get_value(), b.get_value())

p_1 = 1 / (1 + T.exp(-T.dot(x, w)-b))
xent = -y*T.log(p_1) - (1-y)*T.log(1-p_1)
cost = xent.mean() + 0.01*(w**2).sum()
gw,gb = T.grad(cost, [w,b])
prediction = p_1 > 0.5

predict = function(inputs=[x], outputs=prediction)
train = function(
            inputs=[x,y],
            outputs=[prediction, xent],
            updates={w:w-0.1*gw, b:b-0.1*gb})

N = 4
feats = 100
D = (numpy.random.randn(N, feats), numpy.random.randint(size=N,low=0, high=2))
training_steps = 10
for i in range(training_steps):
    pred, err = train(D[0], D[1])
print("Final model:")
print(w.get_value(), b.get_value())
print("target values for D", D[1])
print("prediction on D", predict(D[0]))
)";
  Module m = parseModule(source, "logreg.th");
  CHECK(m.body.size() == 25);
  CHECK(dumpStmt(*m.body[9]) ==
        "(assign p_1 (/ 1 (+ 1 (call (. T exp) (- (neg (call (. T dot) x w)) "
        "b)))))");
  CHECK(dumpStmt(*m.body[10]) ==
        "(assign xent (- (* (neg y) (call (. T log) p_1)) (* (- 1 y) (call "
        "(. T log) (- 1 p_1)))))");
  CHECK(dumpStmt(*m.body[11]) ==
        "(assign cost (+ (call (. xent mean)) (* 0.01 (call (. (** w 2) "
        "sum)))))");
  CHECK(dumpStmt(*m.body[15]) ==
        "(assign train (call function (kw inputs (list x y)) (kw outputs "
        "(list prediction xent)) (kw updates (dict (item w (- w (* 0.1 gw))) "
        "(item b (- b (* 0.1 gb)))))))");
  CHECK(m.body[15]->loc.line == 19);
  CHECK(isa<ForStmt>(m.body[20]));
}

TEST_CASE("kind names and operator spellings", "[parser]") {
  CHECK(std::string(exprKindName(ExprKind::IfExp)) == "IfExp");
  CHECK(std::string(exprKindName(ExprKind::GeneratorExp)) == "GeneratorExp");
  CHECK(std::string(stmtKindName(StmtKind::FunctionDef)) == "FunctionDef");
  CHECK(std::string(stmtKindName(StmtKind::ImportFrom)) == "ImportFrom");
  CHECK(std::string(binaryOpSpelling(BinaryOp::FloorDiv)) == "//");
  CHECK(std::string(binaryOpSpelling(BinaryOp::MatMul)) == "@");
  CHECK(std::string(unaryOpSpelling(UnaryOp::Invert)) == "~");
  CHECK(std::string(boolOpSpelling(BoolOp::Or)) == "or");
  CHECK(std::string(cmpOpSpelling(CmpOp::NotIn)) == "not in");
  CHECK(std::string(cmpOpSpelling(CmpOp::IsNot)) == "is not");
}

TEST_CASE("isa, cast and dyn_cast", "[parser]") {
  Module m = parseModule("x = f(1)\n", "t.th");
  const Stmt &s = *m.body[0];
  CHECK(isa<AssignStmt>(s));
  CHECK(isa<AssignStmt>(&s));
  CHECK_FALSE(isa<ExprStmt>(s));
  CHECK(dyn_cast<ExprStmt>(&s) == nullptr);
  const auto &assign = cast<AssignStmt>(s);
  const CallExpr *call = dyn_cast<CallExpr>(assign.value);
  REQUIRE(call);
  CHECK(call->kind == ExprKind::Call);
  CHECK(CallExpr::Kind == ExprKind::Call);
  // Mutable access through a non-const node.
  Stmt &mutableStmt = *m.body[0];
  cast<AssignStmt>(mutableStmt).value = std::make_unique<NoneExpr>(s.loc);
  CHECK(dumpStmt(s) == "(assign x None)");
  const Expr *null = nullptr;
  CHECK(dyn_cast<NameExpr>(null) == nullptr);
}
