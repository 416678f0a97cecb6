//===- ReplTest.cpp - The REPL's completion, commands and sessions --------===//
#include "thjit/Frontend/Repl.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

using namespace thjit;
using namespace thjit::frontend;

namespace {
/// A session whose output and errors are kept for the checks.
struct Session {
  std::ostringstream out, err;
  Interpreter interp{out, err};
  Repl repl{interp, out};

  Session() {
    repl.handle("import theano.tensor as T\nimport numpy as np\n"
                "from theano import function, shared\n");
  }
  bool has(const std::vector<std::string> &v, const std::string &s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  }
};
} // namespace

TEST_CASE("Completion offers names, attributes and commands", "[repl]") {
  Session s;
  s.repl.handle("xmat = T.dmatrix('x')\nvalues = np.ones(3)\n");
  auto names = s.repl.complete("xm", 2);
  CHECK(names == std::vector<std::string>{"xmat"});
  // Built-ins and keywords too; names starting with '_' only when asked.
  CHECK(s.has(s.repl.complete("pri", 3), "print"));
  CHECK(s.has(s.repl.complete("whi", 3), "while"));
  // Attributes of a module, a symbolic variable and an array, whole.
  CHECK(s.repl.complete("T.nnet.sigm", 11) ==
        std::vector<std::string>{"T.nnet.sigmoid"});
  auto attrs = s.repl.complete("y = xmat.dim", 12);
  CHECK(attrs == std::vector<std::string>{"xmat.dimshuffle"});
  CHECK(s.has(s.repl.complete("values.", 7), "values.shape"));
  CHECK(s.has(s.repl.complete("values.", 7), "values.tolist"));
  CHECK_FALSE(s.has(s.repl.complete("values.", 7), "values.get_value"));
  // Commands after a leading ':'.
  CHECK(s.repl.complete(":gr", 3) == std::vector<std::string>{"graph"});
  // Nothing for an unknown object or a call; completion runs no code.
  CHECK(s.repl.complete("nope.x", 6).empty());
  CHECK(s.repl.complete("f().x", 5).empty());
}

TEST_CASE("A failing input leaves the session's variables intact",
          "[repl]") {
  Session s;
  s.repl.handle("w = shared(np.zeros(2), name='w')\nx = T.vector('x')\n"
                "f = function([x], x.sum(), updates={w: w + x})\nkept = 7\n");
  s.repl.handle("f(np.ones(3))\n"); // shape error inside the call
  CHECK(s.err.str().find("ShapeError") != std::string::npos);
  s.repl.handle("kept = kept + undefined\n");
  CHECK(s.err.str().find("NameError") != std::string::npos);
  s.out.str("");
  s.repl.handle("kept\n");
  s.repl.handle("w.get_value()\n");
  CHECK(s.out.str() == "7\narray([0., 0.])\n");
}

TEST_CASE("Commands report errors and the session goes on", "[repl]") {
  Session s;
  CHECK(s.repl.handle(":nope\n"));
  CHECK(s.err.str().find("unknown command ':nope'") != std::string::npos);
  CHECK(s.repl.handle(":type 1 +\n"));
  CHECK(s.err.str().find("SyntaxError") != std::string::npos);
  s.out.str("");
  s.repl.handle(":type T.matrix('m')\n");
  CHECK(s.out.str() == "f64[?,?]  (symbolic)\n");
  CHECK_FALSE(s.repl.handle(":quit\n"));
}

TEST_CASE("Blocks need more lines; commands never do", "[repl]") {
  CHECK(Repl::needsMore("for i in range(3):\n"));
  CHECK_FALSE(Repl::needsMore("for i in range(3):\n  print(i)\n\n"));
  CHECK(Repl::needsMore("x = (1 +\n"));
  CHECK_FALSE(Repl::needsMore(":graph (f\n"));
}

TEST_CASE("writeGraphPicture refuses what it cannot draw", "[repl]") {
  CHECK_THROWS_AS(writeGraphPicture("digraph g {}", "/tmp/x.jpeg"),
                  ValueError);
  CHECK_THROWS_AS(writeGraphPicture("digraph g {}", "/nonexistent/dir/g.dot"),
                  IOError);
}
