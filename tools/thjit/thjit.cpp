//===- thjit.cpp - The thjit script runner and REPL -----------------------===//
///
/// \file
/// `thjit FILE` runs a script, `thjit -c CODE` a string, `thjit -` standard
/// input; `thjit` alone on a terminal starts the REPL. `--emit=` cuts the
/// pipeline at a stage (MLIR Toy style): `ast` prints the syntax tree,
/// `graph` the graph of every function the script compiles, `run` (the
/// default) runs it.
///
//===----------------------------------------------------------------------===//
#include "thjit/Runtime/CompileCache.h"
#include "thjit/Array/DType.h"
#include "thjit/Frontend/Interpreter.h"
#include "thjit/Frontend/Parser.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Rewrite/Rewrite.h"

#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

using namespace thjit;
using namespace thjit::frontend;

namespace {

/// One command-line option: its spelling, its help, and what it sets.
struct Option {
  const char *flag;
  const char *help;
};

const Option kOptions[] = {
    {"--emit=ast|graph|graph-opt|plan|llvm|asm|run",
     "print a stage instead of running: the syntax tree, each compiled "
     "function's graph (as given, or after --passes), its graph after "
     "rewriting, the steps its code runs and where each value lives (in "
     "place or not), its optimized LLVM IR or its assembly (default run)"},
    {"--passes=P1,P2,...", "run these rewrite passes instead of the mode's "
                           "(see --list-passes; empty for none)"},
    {"--print-after=P1,...", "print each function's graph after these passes "
                             "(to standard error)"},
    {"--print-after-all", "print each function's graph after every pass"},
    {"--list-passes", "list the rewrite passes and their rewrites"},
    {"--list-ops[=markdown]", "list every op with its description (as the "
                              "Markdown of docs/ops.md)"},
    {"--cache=stats|clear", "show or empty the compile cache, then exit"},
    {"--floatX=float32|float64", "the default float type (default float64)"},
    {"--mode=MODE", "the default mode of function(): FAST_RUN, FAST_COMPILE, "
                    "REFERENCE"},
    {"-c CODE", "run CODE as a script"},
    {"-", "read the script from standard input"},
    {"--version", "print the version"},
    {"--help", "print this help"},
};

void printHelp(std::ostream &o) {
  o << "usage: thjit [options] [FILE | -c CODE | -]\n\n"
       "Runs a thjit script (a small Python: see LANGUAGE.md), or starts the\n"
       "REPL when no script is given and standard input is a terminal.\n\n"
       "options:\n";
  for (const Option &opt : kOptions) {
    std::string flag = opt.flag;
    o << "  " << flag << std::string(flag.size() < 28 ? 28 - flag.size() : 1, ' ')
      << opt.help << "\n";
  }
}

/// Parses a comma-separated list of pass names into `out`; prints an error
/// and returns false when one is unknown.
bool setPasses(std::vector<std::string> &out, const std::string &list,
               const char *flag) {
  out.clear();
  std::stringstream ss(list);
  std::string name;
  while (std::getline(ss, name, ','))
    if (!name.empty())
      out.push_back(name);
  try {
    checkPassNames(out, flag);
  } catch (const Error &e) {
    std::cerr << "thjit: error: " << e.what() << "\n";
    return false;
  }
  return true;
}

std::string readAll(std::istream &in) {
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int repl(Interpreter &interp) {
  std::cout << "thjit " THJIT_VERSION " (type :help for help, :quit to leave)\n";
  std::string buffer, line;
  while (true) {
    std::cout << (buffer.empty() ? ">>> " : "... ") << std::flush;
    if (!std::getline(std::cin, line)) {
      std::cout << "\n";
      return 0;
    }
    if (buffer.empty()) {
      if (line == ":quit" || line == ":q")
        return 0;
      if (line == ":help") {
        std::cout << "Type Python-like statements; expressions print their "
                     "value.\n:quit leaves.\n";
        continue;
      }
    }
    buffer += line + "\n";
    if (isIncomplete(buffer))
      continue;
    interp.runInteractive(buffer);
    buffer.clear();
  }
}

} // namespace

int main(int argc, char **argv) {
  InterpreterOptions options;
  std::string emit = "run", file, code;
  bool haveCode = false, fromStdin = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char *prefix) -> std::optional<std::string> {
      size_t n = std::strlen(prefix);
      if (a.compare(0, n, prefix) == 0)
        return a.substr(n);
      return std::nullopt;
    };
    if (a == "--help" || a == "-h") {
      printHelp(std::cout);
      return 0;
    }
    if (a == "--version") {
      std::cout << "thjit " THJIT_VERSION "\n";
      return 0;
    }
    if (auto v = value("--emit=")) {
      emit = *v;
      if (emit != "ast" && emit != "graph" && emit != "graph-opt" &&
          emit != "plan" && emit != "llvm" && emit != "asm" && emit != "run") {
        std::cerr << "thjit: error: unknown --emit value '" << emit
                  << "' (expected ast, graph, graph-opt, llvm, asm or run)\n";
        return 2;
      }
    } else if (a == "--list-passes") {
      std::cout << describePasses();
      return 0;
    } else if (a == "--list-ops" || a == "--list-ops=markdown") {
      std::cout << describeOps(a != "--list-ops");
      return 0;
    } else if (auto v = value("--passes=")) {
      if (!setPasses(pipelineOverrides().passes, *v, "--passes"))
        return 2;
      pipelineOverrides().overridePasses = true;
    } else if (auto v = value("--print-after=")) {
      if (!setPasses(pipelineOverrides().printAfter, *v, "--print-after"))
        return 2;
    } else if (a == "--print-after-all") {
      pipelineOverrides().printAfterAll = true;
    } else if (auto v = value("--cache=")) {
      CompileCache &cache = CompileCache::global();
      if (*v == "stats") {
        std::cout << formatCacheStats(cache.stats());
      } else if (*v == "clear") {
        size_t n = cache.clear();
        std::cout << "removed " << n << " entr" << (n == 1 ? "y" : "ies")
                  << " from " << cache.directory() << "\n";
      } else {
        std::cerr << "thjit: error: unknown --cache value '" << *v
                  << "' (expected stats or clear)\n";
        return 2;
      }
      return 0;
    } else if (auto v = value("--floatX=")) {
      auto t = parseDType(*v);
      if (!t || !isFloat(*t)) {
        std::cerr << "thjit: error: --floatX must be float32 or float64\n";
        return 2;
      }
      setFloatX(*t);
    } else if (auto v = value("--mode=")) {
      options.defaultMode = *v;
    } else if (a == "-c") {
      if (i + 1 >= argc) {
        std::cerr << "thjit: error: -c needs an argument\n";
        return 2;
      }
      code = argv[++i];
      haveCode = true;
      break; // the rest are the script's arguments
    } else if (a == "-") {
      fromStdin = true;
      break;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "thjit: error: unknown option '" << a
                << "' (see thjit --help)\n";
      return 2;
    } else {
      file = a;
      break;
    }
  }
  if (emit != "run" && emit != "ast")
    options.emit = emit;

  std::string source, name;
  if (haveCode) {
    source = code;
    name = "<string>";
  } else if (fromStdin) {
    source = readAll(std::cin);
    name = "<stdin>";
  } else if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::cerr << "thjit: error: cannot open '" << file
                << "': " << std::strerror(errno) << "\n";
      return 1;
    }
    source = readAll(in);
    name = file;
  } else if (isatty(0)) {
    Interpreter interp(std::cout, std::cerr, options);
    return repl(interp);
  } else {
    source = readAll(std::cin);
    name = "<stdin>";
  }

  if (emit == "ast") {
    try {
      std::cout << dumpAST(parseModule(source, name));
      return 0;
    } catch (const ParseError &e) {
      std::cerr << e.loc().str() << ": error: SyntaxError: " << e.what()
                << "\n";
      return 1;
    }
  }
  Interpreter interp(std::cout, std::cerr, options);
  return interp.runSource(source, name);
}
