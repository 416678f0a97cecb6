//===- Parser.cpp - Recursive-descent parser for scripts ------------------===//
///
/// \file
/// One function per grammar rule of Python 3's grammar (the subset the
/// language keeps), from statements down to atoms. The parser pulls tokens
/// from the Lexer on demand and keeps a small lookahead queue.
///
//===----------------------------------------------------------------------===//
#include "thjit/Frontend/Parser.h"

#include <algorithm>
#include <deque>

namespace thjit::frontend {

namespace {

/// Where a target expression appears, which picks the error wording.
enum class TargetContext { Assign, For, Delete };

class Parser {
public:
  Parser(const std::string &source, const std::string &filename)
      : lexer(source, filename) {}

  Module parseModule(const std::string &filename);
  ExprPtr parseExpressionInput();

private:
  //===--------------------------------------------------------------------===//
  // Token stream
  //===--------------------------------------------------------------------===//

  /// The token `ahead` positions after the current one.
  const Token &peek(size_t ahead = 0) {
    while (lookahead.size() <= ahead)
      lookahead.push_back(lexer.next());
    return lookahead[ahead];
  }
  const Token &tok() { return peek(0); }
  bool at(TokenKind kind) { return tok().kind == kind; }
  Token consume() {
    tok(); // make sure the current token is in the queue
    Token t = std::move(lookahead.front());
    lookahead.pop_front();
    return t;
  }
  bool accept(TokenKind kind) {
    if (!at(kind))
      return false;
    consume();
    return true;
  }
  /// Consumes a token of `kind` or fails with `message` at the current one.
  Token expect(TokenKind kind, const char *message = "invalid syntax") {
    if (!at(kind))
      failGeneric(message, tok().loc);
    return consume();
  }
  /// A failure at the end of input could be fixed by more input (the REPL
  /// asks for another line).
  [[noreturn]] void fail(const std::string &message, const SourceLoc &loc) {
    bool atEnd =
        !lookahead.empty() && lookahead.front().is(TokenKind::EndOfFile);
    throw ParseError(message, loc, atEnd);
  }
  /// A generic error ("invalid syntax"). As in CPython, when it is on a
  /// later line than a bracket that is still open, the unclosed bracket is
  /// the likelier mistake and is reported instead.
  [[noreturn]] void failGeneric(const std::string &message,
                                const SourceLoc &loc) {
    const auto &open = lexer.openBrackets();
    if (!open.empty() && open.back().loc.line < tok().loc.line)
      fail(std::string("'") + open.back().ch + "' was never closed",
           open.back().loc);
    fail(message, loc);
  }
  [[noreturn]] void failInvalid() { failGeneric("invalid syntax", tok().loc); }

  bool atStatementEnd() {
    return at(TokenKind::Newline) || at(TokenKind::Semi) ||
           at(TokenKind::EndOfFile);
  }
  bool startsExpression(const Token &t) const;
  /// Consumes the closing bracket of a display or call; `last` is the
  /// element before it, for the "forgot a comma" hint.
  void expectClosing(TokenKind kind, const Expr *last);
  std::string expectName() { return expect(TokenKind::Name).text; }

  //===--------------------------------------------------------------------===//
  // Statements
  //===--------------------------------------------------------------------===//

  void parseStatement(StmtList &out);
  void parseSimpleStatements(StmtList &out);
  StmtPtr parseSimpleStatement();
  StmtPtr parseExpressionStatement();
  StmtList parseBlock(const std::string &owner, int ownerLine);
  StmtList parseLoopBody(const std::string &owner, int ownerLine);
  StmtPtr parseIf();
  StmtPtr parseWhile();
  StmtPtr parseFor();
  StmtPtr parseFunctionDef();
  StmtPtr parseTry();
  StmtPtr parseImport();
  StmtPtr parseImportFrom();
  ImportAlias parseImportAlias(bool dotted);
  std::vector<std::string> parseNameList();
  void checkTarget(const Expr &target, TargetContext context);
  void checkAugTarget(const Expr &target);

  //===--------------------------------------------------------------------===//
  // Expressions
  //===--------------------------------------------------------------------===//

  ExprPtr parseTestList();
  ExprPtr parseTargetList();
  ExprPtr parseTest();
  ExprPtr parseOrTest();
  ExprPtr parseAndTest();
  ExprPtr parseBoolOp(TokenKind keyword, BoolOp op,
                      ExprPtr (Parser::*operand)());
  ExprPtr parseNotTest();
  ExprPtr parseComparison();
  ExprPtr parseBinary(int minPrecedence);
  ExprPtr parseFactor();
  ExprPtr parsePower();
  ExprPtr parseAtomExpr();
  ExprPtr parseAtom();
  ExprPtr parseParenthesized();
  ExprPtr parseListDisplay();
  ExprPtr parseDictDisplay();
  ExprPtr parseLambda();
  ExprPtr parseCall(ExprPtr func);
  ExprPtr parseSubscript(ExprPtr value);
  ExprPtr parseSubscriptItem();
  ParameterList parseParameters(TokenKind end);
  void parseComprehensions(std::vector<Comprehension> &generators);

  /// Bounds the depth of expression trees (and so the recursion of the
  /// parser and of whoever walks the tree): each nested `test` (element,
  /// argument, operand in brackets), unary operator and link of a chain
  /// (`a + b + c`, `a.b(c)[d]`) counts one level while it is being parsed.
  class DepthGuard {
  public:
    DepthGuard(Parser &parser, int initialLevels) : parser(parser) {
      for (int i = 0; i < initialLevels; ++i)
        bump();
    }
    ~DepthGuard() { parser.depth -= levels; }
    DepthGuard(const DepthGuard &) = delete;
    DepthGuard &operator=(const DepthGuard &) = delete;
    /// One more level of the tree being built.
    void bump() {
      ++levels;
      if (++parser.depth > kMaxDepth)
        parser.fail("expression too deeply nested", parser.tok().loc);
    }

  private:
    Parser &parser;
    int levels = 0;
  };
  static constexpr int kMaxDepth = 1000;

  Lexer lexer;
  std::deque<Token> lookahead;
  int depth = 0;         ///< Levels counted by active DepthGuards.
  int functionDepth = 0; ///< Enclosing defs.
  int loopDepth = 0;     ///< Enclosing loop bodies within the current def.
};

} // namespace

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

bool Parser::startsExpression(const Token &t) const {
  switch (t.kind) {
  case TokenKind::Name:
  case TokenKind::Int:
  case TokenKind::Float:
  case TokenKind::Imag:
  case TokenKind::String:
  case TokenKind::LParen:
  case TokenKind::LSquare:
  case TokenKind::LBrace:
  case TokenKind::Minus:
  case TokenKind::Plus:
  case TokenKind::Tilde:
  case TokenKind::Ellipsis:
  case TokenKind::KwNone:
  case TokenKind::KwTrue:
  case TokenKind::KwFalse:
  case TokenKind::KwNot:
  case TokenKind::KwLambda:
    return true;
  default:
    return false;
  }
}

void Parser::expectClosing(TokenKind kind, const Expr *last) {
  if (accept(kind))
    return;
  if (last && startsExpression(tok()))
    failGeneric("invalid syntax. Perhaps you forgot a comma?", last->loc);
  failInvalid();
}

/// How Python names an expression in "cannot assign to ..." messages.
static std::string describeForTarget(const Expr &e) {
  switch (e.kind) {
  case ExprKind::Call:
    return "function call";
  case ExprKind::Int:
  case ExprKind::Float:
  case ExprKind::Imag:
  case ExprKind::Str:
    return "literal";
  case ExprKind::Bool:
    return cast<BoolExpr>(e).value ? "True" : "False";
  case ExprKind::None:
    return "None";
  case ExprKind::Ellipsis:
    return "ellipsis";
  case ExprKind::Compare:
    return "comparison";
  case ExprKind::IfExp:
    return "conditional expression";
  case ExprKind::Lambda:
    return "lambda";
  case ExprKind::Dict:
    return "dict literal";
  case ExprKind::ListComp:
    return "list comprehension";
  case ExprKind::GeneratorExp:
    return "generator expression";
  case ExprKind::DictComp:
    return "dict comprehension";
  case ExprKind::Tuple:
    return "tuple";
  case ExprKind::List:
    return "list";
  case ExprKind::Name:
    return "name";
  case ExprKind::Attribute:
    return "attribute";
  case ExprKind::Subscript:
    return "subscript";
  case ExprKind::Slice:
    return "slice";
  default:
    return "expression";
  }
}

void Parser::checkTarget(const Expr &target, TargetContext context) {
  switch (target.kind) {
  case ExprKind::Name:
  case ExprKind::Attribute:
  case ExprKind::Subscript:
    return;
  case ExprKind::Tuple:
    for (const ExprPtr &e : cast<TupleExpr>(target).elts)
      checkTarget(*e, context);
    return;
  case ExprKind::List:
    for (const ExprPtr &e : cast<ListExpr>(target).elts)
      checkTarget(*e, context);
    return;
  default:
    break;
  }
  std::string what = describeForTarget(target);
  if (context == TargetContext::Delete)
    fail("cannot delete " + what, target.loc);
  bool constant =
      target.kind == ExprKind::Bool || target.kind == ExprKind::None;
  if (context == TargetContext::For || constant)
    fail("cannot assign to " + what, target.loc);
  fail("cannot assign to " + what +
           " here. Maybe you meant '==' instead of '='?",
       target.loc);
}

void Parser::checkAugTarget(const Expr &target) {
  if (target.kind == ExprKind::Name || target.kind == ExprKind::Attribute ||
      target.kind == ExprKind::Subscript)
    return;
  fail("'" + describeForTarget(target) +
           "' is an illegal expression for augmented assignment",
       target.loc);
}

/// The operator of an augmented assignment token, if it is one.
static bool augAssignOp(TokenKind kind, BinaryOp &op) {
  switch (kind) {
  case TokenKind::PlusEqual:
    op = BinaryOp::Add;
    return true;
  case TokenKind::MinusEqual:
    op = BinaryOp::Sub;
    return true;
  case TokenKind::StarEqual:
    op = BinaryOp::Mul;
    return true;
  case TokenKind::SlashEqual:
    op = BinaryOp::Div;
    return true;
  case TokenKind::DoubleSlashEqual:
    op = BinaryOp::FloorDiv;
    return true;
  case TokenKind::PercentEqual:
    op = BinaryOp::Mod;
    return true;
  case TokenKind::DoubleStarEqual:
    op = BinaryOp::Pow;
    return true;
  case TokenKind::AtEqual:
    op = BinaryOp::MatMul;
    return true;
  case TokenKind::AmpEqual:
    op = BinaryOp::BitAnd;
    return true;
  case TokenKind::PipeEqual:
    op = BinaryOp::BitOr;
    return true;
  case TokenKind::CaretEqual:
    op = BinaryOp::BitXor;
    return true;
  case TokenKind::LShiftEqual:
    op = BinaryOp::LShift;
    return true;
  case TokenKind::RShiftEqual:
    op = BinaryOp::RShift;
    return true;
  default:
    return false;
  }
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

Module Parser::parseModule(const std::string &filename) {
  Module module;
  module.filename = filename;
  while (!at(TokenKind::EndOfFile))
    parseStatement(module.body);
  return module;
}

ExprPtr Parser::parseExpressionInput() {
  accept(TokenKind::Indent);
  ExprPtr expr = parseTestList();
  accept(TokenKind::Newline);
  while (accept(TokenKind::Dedent)) {
  }
  if (!at(TokenKind::EndOfFile))
    failInvalid();
  return expr;
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

void Parser::parseStatement(StmtList &out) {
  switch (tok().kind) {
  case TokenKind::Indent:
    fail("unexpected indent", tok().loc);
  case TokenKind::KwIf:
    out.push_back(parseIf());
    return;
  case TokenKind::KwWhile:
    out.push_back(parseWhile());
    return;
  case TokenKind::KwFor:
    out.push_back(parseFor());
    return;
  case TokenKind::KwDef:
    out.push_back(parseFunctionDef());
    return;
  case TokenKind::KwTry:
    out.push_back(parseTry());
    return;
  case TokenKind::KwClass:
    fail("class definitions are not supported", tok().loc);
  case TokenKind::KwWith:
    fail("'with' statements are not supported", tok().loc);
  case TokenKind::KwAsync:
  case TokenKind::KwAwait:
    fail("'async' and 'await' are not supported", tok().loc);
  case TokenKind::At:
    fail("decorators are not supported", tok().loc);
  default:
    parseSimpleStatements(out);
    return;
  }
}

void Parser::parseSimpleStatements(StmtList &out) {
  for (;;) {
    out.push_back(parseSimpleStatement());
    if (accept(TokenKind::Semi)) {
      if (accept(TokenKind::Newline) || at(TokenKind::EndOfFile))
        return;
      continue;
    }
    if (accept(TokenKind::Newline) || at(TokenKind::EndOfFile))
      return;
    failInvalid();
  }
}

StmtList Parser::parseBlock(const std::string &owner, int ownerLine) {
  if (!at(TokenKind::Colon))
    failGeneric(at(TokenKind::Newline) || at(TokenKind::EndOfFile)
                    ? "expected ':'"
                    : "invalid syntax",
                tok().loc);
  consume();
  StmtList body;
  if (!accept(TokenKind::Newline)) {
    // A body on the header's line: simple statements only.
    parseSimpleStatements(body);
    return body;
  }
  if (!at(TokenKind::Indent))
    fail("expected an indented block after " + owner + " on line " +
             std::to_string(ownerLine),
         tok().loc);
  consume();
  while (!at(TokenKind::Dedent) && !at(TokenKind::EndOfFile))
    parseStatement(body);
  accept(TokenKind::Dedent);
  return body;
}

StmtList Parser::parseLoopBody(const std::string &owner, int ownerLine) {
  ++loopDepth;
  StmtList body = parseBlock(owner, ownerLine);
  --loopDepth;
  return body;
}

StmtPtr Parser::parseIf() {
  // Also parses an `elif`, which is an `if` nested in the previous orelse.
  Token keyword = consume();
  auto stmt = std::make_unique<IfStmt>(keyword.loc);
  std::string owner =
      keyword.is(TokenKind::KwIf) ? "'if' statement" : "'elif' statement";
  stmt->test = parseTest();
  stmt->body = parseBlock(owner, keyword.loc.line);
  if (at(TokenKind::KwElif)) {
    stmt->orelse.push_back(parseIf());
  } else if (at(TokenKind::KwElse)) {
    int line = consume().loc.line;
    stmt->orelse = parseBlock("'else' statement", line);
  }
  return stmt;
}

StmtPtr Parser::parseWhile() {
  Token keyword = consume();
  auto stmt = std::make_unique<WhileStmt>(keyword.loc);
  stmt->test = parseTest();
  stmt->body = parseLoopBody("'while' statement", keyword.loc.line);
  if (at(TokenKind::KwElse)) {
    int line = consume().loc.line;
    stmt->orelse = parseBlock("'else' statement", line);
  }
  return stmt;
}

StmtPtr Parser::parseFor() {
  Token keyword = consume();
  auto stmt = std::make_unique<ForStmt>(keyword.loc);
  stmt->target = parseTargetList();
  checkTarget(*stmt->target, TargetContext::For);
  expect(TokenKind::KwIn);
  stmt->iter = parseTestList();
  stmt->body = parseLoopBody("'for' statement", keyword.loc.line);
  if (at(TokenKind::KwElse)) {
    int line = consume().loc.line;
    stmt->orelse = parseBlock("'else' statement", line);
  }
  return stmt;
}

StmtPtr Parser::parseFunctionDef() {
  Token keyword = consume();
  auto stmt = std::make_unique<FunctionDefStmt>(keyword.loc);
  stmt->name = expectName();
  expect(TokenKind::LParen, "expected '('");
  stmt->params = parseParameters(TokenKind::RParen);
  expect(TokenKind::RParen);
  if (at(TokenKind::Arrow))
    fail("return annotations are not supported", tok().loc);

  int savedLoopDepth = loopDepth;
  loopDepth = 0;
  ++functionDepth;
  stmt->body = parseBlock("function definition", keyword.loc.line);
  --functionDepth;
  loopDepth = savedLoopDepth;
  return stmt;
}

StmtPtr Parser::parseTry() {
  Token keyword = consume();
  auto stmt = std::make_unique<TryStmt>(keyword.loc);
  stmt->body = parseBlock("'try' statement", keyword.loc.line);
  while (at(TokenKind::KwExcept)) {
    ExceptHandler handler;
    handler.loc = consume().loc;
    if (!stmt->handlers.empty() && !stmt->handlers.back().type)
      fail("default 'except:' must be last", stmt->handlers.back().loc);
    if (!at(TokenKind::Colon)) {
      handler.type = parseTest();
      if (at(TokenKind::Comma))
        fail("multiple exception types must be parenthesized",
             handler.type->loc);
      if (accept(TokenKind::KwAs))
        handler.name = expectName();
    }
    handler.body = parseBlock("'except' statement", handler.loc.line);
    stmt->handlers.push_back(std::move(handler));
  }
  if (at(TokenKind::KwElse)) {
    if (stmt->handlers.empty())
      failInvalid();
    int line = consume().loc.line;
    stmt->orelse = parseBlock("'else' statement", line);
  }
  if (at(TokenKind::KwFinally)) {
    int line = consume().loc.line;
    stmt->finalbody = parseBlock("'finally' statement", line);
  }
  if (stmt->handlers.empty() && stmt->finalbody.empty())
    fail("expected 'except' or 'finally' block", tok().loc);
  return stmt;
}

std::vector<std::string> Parser::parseNameList() {
  std::vector<std::string> names{expectName()};
  while (accept(TokenKind::Comma))
    names.push_back(expectName());
  return names;
}

StmtPtr Parser::parseSimpleStatement() {
  SourceLoc loc = tok().loc;
  switch (tok().kind) {
  case TokenKind::KwPass:
    consume();
    return std::make_unique<PassStmt>(loc);
  case TokenKind::KwBreak:
    if (loopDepth == 0)
      fail("'break' outside loop", loc);
    consume();
    return std::make_unique<BreakStmt>(loc);
  case TokenKind::KwContinue:
    if (loopDepth == 0)
      fail("'continue' not properly in loop", loc);
    consume();
    return std::make_unique<ContinueStmt>(loc);
  case TokenKind::KwReturn: {
    if (functionDepth == 0)
      fail("'return' outside function", loc);
    consume();
    auto stmt = std::make_unique<ReturnStmt>(loc);
    if (!atStatementEnd())
      stmt->value = parseTestList();
    return stmt;
  }
  case TokenKind::KwRaise: {
    consume();
    auto stmt = std::make_unique<RaiseStmt>(loc);
    if (atStatementEnd())
      return stmt;
    stmt->exc = parseTest();
    if (accept(TokenKind::KwFrom))
      stmt->cause = parseTest();
    return stmt;
  }
  case TokenKind::KwAssert: {
    consume();
    auto stmt = std::make_unique<AssertStmt>(loc);
    stmt->test = parseTest();
    if (accept(TokenKind::Comma))
      stmt->msg = parseTest();
    return stmt;
  }
  case TokenKind::KwGlobal: {
    consume();
    auto stmt = std::make_unique<GlobalStmt>(loc);
    stmt->names = parseNameList();
    return stmt;
  }
  case TokenKind::KwNonlocal: {
    if (functionDepth == 0)
      fail("nonlocal declaration not allowed at module level", loc);
    consume();
    auto stmt = std::make_unique<NonlocalStmt>(loc);
    stmt->names = parseNameList();
    return stmt;
  }
  case TokenKind::KwDel: {
    consume();
    auto stmt = std::make_unique<DeleteStmt>(loc);
    // `del a, b` has two targets; `del (a, b)` one Tuple target.
    do {
      if (!stmt->targets.empty() && !startsExpression(tok()))
        break;
      stmt->targets.push_back(parseBinary(1));
      checkTarget(*stmt->targets.back(), TargetContext::Delete);
    } while (accept(TokenKind::Comma));
    return stmt;
  }
  case TokenKind::KwImport:
    return parseImport();
  case TokenKind::KwFrom:
    return parseImportFrom();
  case TokenKind::KwYield:
    fail("'yield' is not supported", loc);
  default:
    return parseExpressionStatement();
  }
}

StmtPtr Parser::parseExpressionStatement() {
  const Token &first = tok();
  // Python 2's print statement: `print x`, `print "x"`.
  if (first.is(TokenKind::Name) &&
      (first.text == "print" || first.text == "exec")) {
    TokenKind next = peek(1).kind;
    if (next == TokenKind::Name || next == TokenKind::Int ||
        next == TokenKind::Float || next == TokenKind::Imag ||
        next == TokenKind::String || next == TokenKind::KwNone ||
        next == TokenKind::KwTrue || next == TokenKind::KwFalse ||
        next == TokenKind::KwLambda)
      fail("Missing parentheses in call to '" + first.text +
               "'. Did you mean " + first.text + "(...)?",
           first.loc);
  }

  SourceLoc loc = first.loc;
  ExprPtr expr = parseTestList();

  BinaryOp op;
  if (augAssignOp(tok().kind, op)) {
    checkAugTarget(*expr);
    consume();
    auto stmt = std::make_unique<AugAssignStmt>(loc);
    stmt->target = std::move(expr);
    stmt->op = op;
    stmt->value = parseTestList();
    return stmt;
  }

  if (at(TokenKind::Equal)) {
    auto stmt = std::make_unique<AssignStmt>(loc);
    while (accept(TokenKind::Equal)) {
      checkTarget(*expr, TargetContext::Assign);
      stmt->targets.push_back(std::move(expr));
      expr = parseTestList();
    }
    stmt->value = std::move(expr);
    return stmt;
  }

  auto stmt = std::make_unique<ExprStmt>(loc);
  stmt->value = std::move(expr);
  return stmt;
}

ImportAlias Parser::parseImportAlias(bool dotted) {
  ImportAlias alias;
  alias.loc = tok().loc;
  alias.name = expectName();
  while (dotted && accept(TokenKind::Dot))
    alias.name += "." + expectName();
  if (accept(TokenKind::KwAs))
    alias.asName = expectName();
  return alias;
}

StmtPtr Parser::parseImport() {
  auto stmt = std::make_unique<ImportStmt>(consume().loc);
  do
    stmt->names.push_back(parseImportAlias(/*dotted=*/true));
  while (accept(TokenKind::Comma));
  return stmt;
}

StmtPtr Parser::parseImportFrom() {
  auto stmt = std::make_unique<ImportFromStmt>(consume().loc);
  for (;;) {
    if (accept(TokenKind::Dot))
      stmt->level += 1;
    else if (accept(TokenKind::Ellipsis))
      stmt->level += 3;
    else
      break;
  }
  if (at(TokenKind::Name) || stmt->level == 0) {
    stmt->module = expectName();
    while (accept(TokenKind::Dot))
      stmt->module += "." + expectName();
  }
  expect(TokenKind::KwImport);
  if (accept(TokenKind::Star)) {
    stmt->importAll = true;
    return stmt;
  }
  bool parenthesized = accept(TokenKind::LParen);
  for (;;) {
    stmt->names.push_back(parseImportAlias(/*dotted=*/false));
    if (!accept(TokenKind::Comma))
      break;
    if (parenthesized && at(TokenKind::RParen))
      break;
    if (!parenthesized && atStatementEnd())
      fail("trailing comma not allowed without surrounding parentheses",
           tok().loc);
  }
  if (parenthesized)
    expect(TokenKind::RParen);
  return stmt;
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

/// `test (',' test)* [',']`: a Tuple when there is a comma.
ExprPtr Parser::parseTestList() {
  ExprPtr first = parseTest();
  if (!at(TokenKind::Comma))
    return first;
  auto tuple = std::make_unique<TupleExpr>(first->loc);
  tuple->elts.push_back(std::move(first));
  while (accept(TokenKind::Comma)) {
    if (!startsExpression(tok()))
      break;
    tuple->elts.push_back(parseTest());
  }
  return tuple;
}

/// The targets of `for` and `del`: `expr (',' expr)* [',']`, stopping
/// before `in`.
ExprPtr Parser::parseTargetList() {
  ExprPtr first = parseBinary(1);
  if (!at(TokenKind::Comma))
    return first;
  auto tuple = std::make_unique<TupleExpr>(first->loc);
  tuple->elts.push_back(std::move(first));
  while (accept(TokenKind::Comma)) {
    if (!startsExpression(tok()))
      break;
    tuple->elts.push_back(parseBinary(1));
  }
  return tuple;
}

/// `lambda` or `or_test ['if' or_test 'else' test]`.
ExprPtr Parser::parseTest() {
  DepthGuard guard(*this, 1);
  if (at(TokenKind::KwLambda))
    return parseLambda();
  ExprPtr body = parseOrTest();
  if (!at(TokenKind::KwIf))
    return body;
  consume();
  auto expr = std::make_unique<IfExpExpr>(body->loc);
  expr->test = parseOrTest();
  if (!accept(TokenKind::KwElse))
    fail("expected 'else' after 'if' expression", body->loc);
  expr->body = std::move(body);
  expr->orelse = parseTest();
  return expr;
}

ExprPtr Parser::parseOrTest() {
  return parseBoolOp(TokenKind::KwOr, BoolOp::Or, &Parser::parseAndTest);
}

ExprPtr Parser::parseAndTest() {
  return parseBoolOp(TokenKind::KwAnd, BoolOp::And, &Parser::parseNotTest);
}

/// `a OP b OP c` for one short-circuit operator, flattened into one node.
ExprPtr Parser::parseBoolOp(TokenKind keyword, BoolOp op,
                            ExprPtr (Parser::*operand)()) {
  ExprPtr first = (this->*operand)();
  if (!at(keyword))
    return first;
  auto expr = std::make_unique<BoolOpExpr>(first->loc);
  expr->op = op;
  expr->values.push_back(std::move(first));
  while (accept(keyword))
    expr->values.push_back((this->*operand)());
  return expr;
}

ExprPtr Parser::parseNotTest() {
  if (!at(TokenKind::KwNot))
    return parseComparison();
  DepthGuard guard(*this, 1);
  auto expr = std::make_unique<UnaryExpr>(consume().loc);
  expr->op = UnaryOp::Not;
  expr->operand = parseNotTest();
  return expr;
}

/// The comparison operator at the current token(s), consuming them.
static bool parseCmpOp(TokenKind kind, TokenKind next, CmpOp &op, int &length) {
  length = 1;
  switch (kind) {
  case TokenKind::Less:
    op = CmpOp::Lt;
    return true;
  case TokenKind::Greater:
    op = CmpOp::Gt;
    return true;
  case TokenKind::LessEqual:
    op = CmpOp::LtE;
    return true;
  case TokenKind::GreaterEqual:
    op = CmpOp::GtE;
    return true;
  case TokenKind::EqualEqual:
    op = CmpOp::Eq;
    return true;
  case TokenKind::NotEqual:
    op = CmpOp::NotEq;
    return true;
  case TokenKind::KwIn:
    op = CmpOp::In;
    return true;
  case TokenKind::KwIs:
    if (next == TokenKind::KwNot) {
      op = CmpOp::IsNot;
      length = 2;
    } else {
      op = CmpOp::Is;
    }
    return true;
  case TokenKind::KwNot:
    if (next != TokenKind::KwIn)
      return false;
    op = CmpOp::NotIn;
    length = 2;
    return true;
  default:
    return false;
  }
}

ExprPtr Parser::parseComparison() {
  ExprPtr left = parseBinary(1);
  std::unique_ptr<CompareExpr> expr;
  for (;;) {
    CmpOp op;
    int length;
    TokenKind kind = tok().kind;
    bool twoWords = kind == TokenKind::KwIs || kind == TokenKind::KwNot;
    TokenKind next = twoWords ? peek(1).kind : TokenKind::EndOfFile;
    if (!parseCmpOp(kind, next, op, length))
      break;
    for (int i = 0; i < length; ++i)
      consume();
    if (!expr) {
      expr = std::make_unique<CompareExpr>(left->loc);
      expr->left = std::move(left);
    }
    expr->ops.push_back(op);
    expr->comparators.push_back(parseBinary(1));
  }
  if (!expr)
    return left;
  return expr;
}

/// The binary operators between comparisons and unary operators, with
/// their precedence (higher binds tighter); 0 when `kind` is not one.
static int binaryPrecedence(TokenKind kind, BinaryOp &op) {
  switch (kind) {
  case TokenKind::Pipe:
    op = BinaryOp::BitOr;
    return 1;
  case TokenKind::Caret:
    op = BinaryOp::BitXor;
    return 2;
  case TokenKind::Amp:
    op = BinaryOp::BitAnd;
    return 3;
  case TokenKind::LShift:
    op = BinaryOp::LShift;
    return 4;
  case TokenKind::RShift:
    op = BinaryOp::RShift;
    return 4;
  case TokenKind::Plus:
    op = BinaryOp::Add;
    return 5;
  case TokenKind::Minus:
    op = BinaryOp::Sub;
    return 5;
  case TokenKind::Star:
    op = BinaryOp::Mul;
    return 6;
  case TokenKind::Slash:
    op = BinaryOp::Div;
    return 6;
  case TokenKind::DoubleSlash:
    op = BinaryOp::FloorDiv;
    return 6;
  case TokenKind::Percent:
    op = BinaryOp::Mod;
    return 6;
  case TokenKind::At:
    op = BinaryOp::MatMul;
    return 6;
  default:
    return 0;
  }
}

/// Left-associative binary operators by precedence climbing: `|` `^` `&`
/// `<<`/`>>` `+`/`-` `*`/`/`/`//`/`%`/`@`.
ExprPtr Parser::parseBinary(int minPrecedence) {
  DepthGuard guard(*this, 0);
  ExprPtr lhs = parseFactor();
  for (;;) {
    BinaryOp op;
    int precedence = binaryPrecedence(tok().kind, op);
    if (precedence == 0 || precedence < minPrecedence)
      return lhs;
    guard.bump();
    consume();
    ExprPtr rhs = parseBinary(precedence + 1);
    auto expr = std::make_unique<BinaryExpr>(lhs->loc);
    expr->op = op;
    expr->lhs = std::move(lhs);
    expr->rhs = std::move(rhs);
    lhs = std::move(expr);
  }
}

/// Unary `-`, `+`, `~`, which bind looser than `**` on their right.
ExprPtr Parser::parseFactor() {
  UnaryOp op;
  switch (tok().kind) {
  case TokenKind::Minus:
    op = UnaryOp::Neg;
    break;
  case TokenKind::Plus:
    op = UnaryOp::Pos;
    break;
  case TokenKind::Tilde:
    op = UnaryOp::Invert;
    break;
  default:
    return parsePower();
  }
  DepthGuard guard(*this, 1);
  auto expr = std::make_unique<UnaryExpr>(consume().loc);
  expr->op = op;
  expr->operand = parseFactor();
  return expr;
}

/// `atom_expr ['**' factor]`: right-associative, `2**-1` allowed.
ExprPtr Parser::parsePower() {
  ExprPtr base = parseAtomExpr();
  if (!accept(TokenKind::DoubleStar))
    return base;
  DepthGuard guard(*this, 1);
  auto expr = std::make_unique<BinaryExpr>(base->loc);
  expr->op = BinaryOp::Pow;
  expr->lhs = std::move(base);
  expr->rhs = parseFactor();
  return expr;
}

/// An atom followed by calls, subscripts and attribute accesses.
ExprPtr Parser::parseAtomExpr() {
  DepthGuard guard(*this, 0);
  ExprPtr expr = parseAtom();
  for (;; guard.bump()) {
    if (at(TokenKind::LParen)) {
      expr = parseCall(std::move(expr));
    } else if (at(TokenKind::LSquare)) {
      expr = parseSubscript(std::move(expr));
    } else if (accept(TokenKind::Dot)) {
      auto attr = std::make_unique<AttributeExpr>(expr->loc);
      attr->value = std::move(expr);
      attr->attr = expectName();
      expr = std::move(attr);
    } else {
      return expr;
    }
  }
}

ExprPtr Parser::parseAtom() {
  const Token &t = tok();
  SourceLoc loc = t.loc;
  switch (t.kind) {
  case TokenKind::Name: {
    auto expr = std::make_unique<NameExpr>(loc);
    expr->id = consume().text;
    return expr;
  }
  case TokenKind::Int: {
    auto expr = std::make_unique<IntExpr>(loc);
    expr->value = consume().intValue;
    return expr;
  }
  case TokenKind::Float: {
    auto expr = std::make_unique<FloatExpr>(loc);
    expr->value = consume().floatValue;
    return expr;
  }
  case TokenKind::Imag: {
    auto expr = std::make_unique<ImagExpr>(loc);
    expr->value = consume().floatValue;
    return expr;
  }
  case TokenKind::String: {
    // Adjacent string literals concatenate.
    auto expr = std::make_unique<StrExpr>(loc);
    while (at(TokenKind::String))
      expr->value += consume().stringValue;
    return expr;
  }
  case TokenKind::KwTrue:
  case TokenKind::KwFalse: {
    auto expr = std::make_unique<BoolExpr>(loc);
    expr->value = consume().is(TokenKind::KwTrue);
    return expr;
  }
  case TokenKind::KwNone:
    consume();
    return std::make_unique<NoneExpr>(loc);
  case TokenKind::Ellipsis:
    consume();
    return std::make_unique<EllipsisExpr>(loc);
  case TokenKind::LParen:
    return parseParenthesized();
  case TokenKind::LSquare:
    return parseListDisplay();
  case TokenKind::LBrace:
    return parseDictDisplay();
  case TokenKind::KwYield:
    fail("'yield' is not supported", loc);
  case TokenKind::KwAwait:
    fail("'async' and 'await' are not supported", loc);
  case TokenKind::Star:
    fail("starred expressions are only supported as call arguments", loc);
  default:
    failInvalid();
  }
}

/// `()`, `(x)`, `(x,)`, `(a, b)`, `(x for ...)`.
ExprPtr Parser::parseParenthesized() {
  SourceLoc loc = consume().loc;
  if (accept(TokenKind::RParen))
    return std::make_unique<TupleExpr>(loc);
  ExprPtr first = parseTest();
  if (at(TokenKind::KwFor)) {
    auto gen = std::make_unique<GeneratorExpExpr>(loc);
    gen->element = std::move(first);
    parseComprehensions(gen->generators);
    expectClosing(TokenKind::RParen, nullptr);
    return gen;
  }
  if (!at(TokenKind::Comma)) {
    expectClosing(TokenKind::RParen, first.get());
    return first;
  }
  auto tuple = std::make_unique<TupleExpr>(loc);
  tuple->elts.push_back(std::move(first));
  while (accept(TokenKind::Comma) && !at(TokenKind::RParen))
    tuple->elts.push_back(parseTest());
  expectClosing(TokenKind::RParen, tuple->elts.back().get());
  return tuple;
}

/// `[]`, `[a, b]`, `[x for ...]`.
ExprPtr Parser::parseListDisplay() {
  SourceLoc loc = consume().loc;
  if (accept(TokenKind::RSquare))
    return std::make_unique<ListExpr>(loc);
  ExprPtr first = parseTest();
  if (at(TokenKind::KwFor)) {
    auto comp = std::make_unique<ListCompExpr>(loc);
    comp->element = std::move(first);
    parseComprehensions(comp->generators);
    expectClosing(TokenKind::RSquare, nullptr);
    return comp;
  }
  auto list = std::make_unique<ListExpr>(loc);
  list->elts.push_back(std::move(first));
  while (accept(TokenKind::Comma) && !at(TokenKind::RSquare))
    list->elts.push_back(parseTest());
  expectClosing(TokenKind::RSquare, list->elts.back().get());
  return list;
}

/// `{}`, `{k: v, ...}`, `{k: v for ...}`.
ExprPtr Parser::parseDictDisplay() {
  SourceLoc loc = consume().loc;
  if (accept(TokenKind::RBrace))
    return std::make_unique<DictExpr>(loc);
  if (at(TokenKind::DoubleStar))
    fail("dict unpacking is not supported", tok().loc);
  ExprPtr key = parseTest();
  if (!at(TokenKind::Colon)) {
    if (at(TokenKind::Comma) || at(TokenKind::RBrace) || at(TokenKind::KwFor))
      fail("set literals are not supported", loc);
    expectClosing(TokenKind::RBrace, key.get());
  }
  consume();
  ExprPtr value = parseTest();
  if (at(TokenKind::KwFor)) {
    auto comp = std::make_unique<DictCompExpr>(loc);
    comp->key = std::move(key);
    comp->value = std::move(value);
    parseComprehensions(comp->generators);
    expectClosing(TokenKind::RBrace, nullptr);
    return comp;
  }
  auto dict = std::make_unique<DictExpr>(loc);
  dict->keys.push_back(std::move(key));
  dict->values.push_back(std::move(value));
  while (accept(TokenKind::Comma) && !at(TokenKind::RBrace)) {
    ExprPtr k = parseTest();
    if (!at(TokenKind::Colon))
      fail("':' expected after dictionary key", k->loc);
    consume();
    dict->keys.push_back(std::move(k));
    dict->values.push_back(parseTest());
  }
  expectClosing(TokenKind::RBrace, dict->values.back().get());
  return dict;
}

/// `for target in or_test (if or_test)*`, repeated.
void Parser::parseComprehensions(std::vector<Comprehension> &generators) {
  while (at(TokenKind::KwFor)) {
    Comprehension gen;
    gen.loc = consume().loc;
    gen.target = parseTargetList();
    checkTarget(*gen.target, TargetContext::For);
    expect(TokenKind::KwIn);
    gen.iter = parseOrTest();
    while (accept(TokenKind::KwIf))
      gen.ifs.push_back(parseOrTest());
    generators.push_back(std::move(gen));
  }
}

ExprPtr Parser::parseLambda() {
  auto expr = std::make_unique<LambdaExpr>(consume().loc);
  expr->params = parseParameters(TokenKind::Colon);
  expect(TokenKind::Colon, "expected ':'");
  expr->body = parseTest();
  return expr;
}

/// The parameters of a def (up to `)`) or lambda (up to `:`), without the
/// closing token.
ParameterList Parser::parseParameters(TokenKind end) {
  ParameterList params;
  std::vector<std::string> seen;
  auto addName = [&](const std::string &name, const SourceLoc &loc) {
    if (std::find(seen.begin(), seen.end(), name) != seen.end())
      fail("duplicate argument '" + name + "' in function definition", loc);
    seen.push_back(name);
  };
  bool seenDefault = false;
  bool seenStar = false;
  while (!at(end)) {
    if (at(TokenKind::Star)) {
      SourceLoc starLoc = consume().loc;
      if (seenStar)
        fail("* argument may appear only once", starLoc);
      seenStar = true;
      if (at(TokenKind::Name)) {
        addName(tok().text, tok().loc);
        params.varArgs = consume().text;
      } else if (at(end) ||
                 (at(TokenKind::Comma) &&
                  (peek(1).is(end) || peek(1).is(TokenKind::DoubleStar)))) {
        fail("named arguments must follow bare *", starLoc);
      }
    } else if (accept(TokenKind::DoubleStar)) {
      addName(tok().text, tok().loc);
      params.varKwargs = expectName();
      accept(TokenKind::Comma);
      if (!at(end))
        fail("arguments cannot follow var-keyword argument", tok().loc);
      break;
    } else {
      Parameter param;
      param.loc = tok().loc;
      param.name = expectName();
      addName(param.name, param.loc);
      if (accept(TokenKind::Equal))
        param.defaultValue = parseTest();
      if (seenStar) {
        params.keywordOnly.push_back(std::move(param));
      } else {
        if (param.defaultValue)
          seenDefault = true;
        else if (seenDefault)
          fail("non-default argument follows default argument", param.loc);
        params.positional.push_back(std::move(param));
      }
    }
    if (!accept(TokenKind::Comma))
      break;
  }
  return params;
}

/// `func(arg, name=value, *args, **kwargs)` or `func(x for x in xs)`.
ExprPtr Parser::parseCall(ExprPtr func) {
  auto call = std::make_unique<CallExpr>(func->loc);
  call->func = std::move(func);
  consume(); // (
  bool seenKeyword = false, seenDoubleStar = false;
  while (!at(TokenKind::RParen)) {
    Argument arg;
    arg.loc = tok().loc;
    if (accept(TokenKind::Star)) {
      if (seenDoubleStar)
        fail("iterable argument unpacking follows keyword argument "
             "unpacking",
             arg.loc);
      arg.kind = Argument::Star;
      arg.value = parseTest();
    } else if (accept(TokenKind::DoubleStar)) {
      seenDoubleStar = true;
      arg.kind = Argument::DoubleStar;
      arg.value = parseTest();
    } else {
      ExprPtr value = parseTest();
      if (at(TokenKind::Equal)) {
        auto *name = dyn_cast<NameExpr>(value.get());
        if (!name)
          fail("expression cannot contain assignment, perhaps you meant "
               "\"==\"?",
               value->loc);
        for (const Argument &other : call->args)
          if (other.kind == Argument::Keyword && other.name == name->id)
            fail("keyword argument repeated: " + name->id, arg.loc);
        consume();
        seenKeyword = true;
        arg.kind = Argument::Keyword;
        arg.name = name->id;
        arg.value = parseTest();
      } else if (at(TokenKind::KwFor)) {
        auto gen = std::make_unique<GeneratorExpExpr>(value->loc);
        gen->element = std::move(value);
        parseComprehensions(gen->generators);
        if (!call->args.empty() || !at(TokenKind::RParen))
          fail("Generator expression must be parenthesized", gen->loc);
        arg.value = std::move(gen);
      } else {
        if (seenDoubleStar)
          fail("positional argument follows keyword argument unpacking",
               arg.loc);
        if (seenKeyword)
          fail("positional argument follows keyword argument", arg.loc);
        arg.value = std::move(value);
      }
    }
    call->args.push_back(std::move(arg));
    if (!accept(TokenKind::Comma))
      break;
  }
  expectClosing(TokenKind::RParen,
                call->args.empty() ? nullptr : call->args.back().value.get());
  return call;
}

/// `value[index]` with slices and index tuples.
ExprPtr Parser::parseSubscript(ExprPtr value) {
  auto expr = std::make_unique<SubscriptExpr>(value->loc);
  expr->value = std::move(value);
  consume(); // [
  if (at(TokenKind::RSquare))
    failInvalid();
  ExprPtr first = parseSubscriptItem();
  if (!at(TokenKind::Comma)) {
    expectClosing(TokenKind::RSquare, first.get());
    expr->index = std::move(first);
    return expr;
  }
  auto tuple = std::make_unique<TupleExpr>(first->loc);
  tuple->elts.push_back(std::move(first));
  while (accept(TokenKind::Comma) && !at(TokenKind::RSquare))
    tuple->elts.push_back(parseSubscriptItem());
  expectClosing(TokenKind::RSquare, tuple->elts.back().get());
  expr->index = std::move(tuple);
  return expr;
}

/// `test` or `[test] ':' [test] [':' [test]]`.
ExprPtr Parser::parseSubscriptItem() {
  SourceLoc loc = tok().loc;
  ExprPtr lower;
  if (!at(TokenKind::Colon)) {
    lower = parseTest();
    if (!at(TokenKind::Colon))
      return lower;
  }
  consume(); // :
  auto slice = std::make_unique<SliceExpr>(loc);
  slice->lower = std::move(lower);
  auto atPartEnd = [&] {
    return at(TokenKind::Colon) || at(TokenKind::Comma) ||
           at(TokenKind::RSquare);
  };
  if (!atPartEnd())
    slice->upper = parseTest();
  if (accept(TokenKind::Colon) && !atPartEnd())
    slice->step = parseTest();
  return slice;
}

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

Module parseModule(const std::string &source, const std::string &filename) {
  Parser parser(source, filename);
  return parser.parseModule(filename);
}

ExprPtr parseExpression(const std::string &source,
                        const std::string &filename) {
  Parser parser(source, filename);
  return parser.parseExpressionInput();
}

/// True when the last line of `source` is blank; lines end with '\n', so
/// "if x:\n  y\n" ends with "  y" and "if x:\n  y\n\n" with "".
static bool endsWithBlankLine(const std::string &source) {
  size_t end = source.size();
  if (end > 0 && source[end - 1] == '\n')
    --end;
  size_t newline = end == 0 ? std::string::npos : source.rfind('\n', end - 1);
  size_t start = newline == std::string::npos ? 0 : newline + 1;
  for (size_t i = start; i < end; ++i)
    if (source[i] != ' ' && source[i] != '\t' && source[i] != '\f' &&
        source[i] != '\r')
      return false;
  return true;
}

bool isIncomplete(const std::string &source) {
  try {
    Module module = parseModule(source, "");
    bool hasCompound = false;
    for (const StmtPtr &s : module.body)
      if (isa<IfStmt>(s) || isa<ForStmt>(s) || isa<WhileStmt>(s) ||
          isa<FunctionDefStmt>(s) || isa<TryStmt>(s))
        hasCompound = true;
    return hasCompound && !endsWithBlankLine(source);
  } catch (const ParseError &error) {
    if (!error.isIncompleteInput())
      return false;
    if (!endsWithBlankLine(source))
      return true;
  }
  // A blank line ends a block, but not a bracket, a triple-quoted string
  // or a backslash continuation.
  try {
    tokenize(source);
  } catch (const ParseError &error) {
    return error.isIncompleteInput();
  }
  return false;
}

} // namespace thjit::frontend
