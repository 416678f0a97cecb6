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
#include "thjit/CodeGen/GPU.h"
#include "thjit/Runtime/CompileCache.h"
#include "thjit/Runtime/CUDA.h"
#include "thjit/Array/DType.h"
#include "thjit/Frontend/Interpreter.h"
#include "thjit/Frontend/Parser.h"
#include "thjit/Frontend/Repl.h"
#include "thjit/Ops/OpDef.h"
#include "thjit/Rewrite/Rewrite.h"
#include "thjit/Support/Format.h"

#include "llvm/LineEditor/LineEditor.h"

#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

using namespace thjit;
using namespace thjit::frontend;

namespace {

/// The stages --emit= can cut the pipeline at.
struct Stage {
  const char *name;
  const char *help;
};

const Stage kStages[] = {
    {"ast", "the syntax tree of the script"},
    {"graph", "each compiled function's graph as given (after --passes= "
              "when given)"},
    {"graph-opt", "each function's graph after rewriting"},
    {"plan", "the steps its code runs and where each value lives (in place "
             "or not)"},
    {"llvm", "its optimized LLVM IR"},
    {"asm", "its host assembly"},
    {"ptx", "the NVPTX kernels of its element-wise steps (--gpu-arch=)"},
    {"dot", "its graph after rewriting as Graphviz DOT (fused loops as "
            "clusters)"},
    {"run", "run the script (the default)"},
};

/// One command-line option: its spelling and its help.
struct Option {
  const char *flag;
  const char *help;
};

const Option kOptions[] = {
    {"--emit=STAGE", "print a stage instead of running (below)"},
    {"--passes=P1,P2,...", "run these rewrite passes instead of the mode's "
                           "(see --list-passes; empty for none)"},
    {"--print-after=P1,...", "print each function's graph after these passes "
                             "(to standard error)"},
    {"--print-after-all", "print each function's graph after every pass"},
    {"--mode=MODE", "the default mode of function(): FAST_RUN, FAST_COMPILE, "
                    "DEBUG, NANGUARD, PROFILE, REFERENCE"},
    {"--floatX=float32|float64", "the default float type (default float64)"},
    {"--device=cpu|cuda", "where functions run (default cpu, or "
                          "$THJIT_DEVICE)"},
    {"--gpu-arch=sm_XX", "the GPU architecture of --emit=ptx and :ptx "
                         "(default sm_80; any machine, no GPU needed)"},
    {"--devices", "list the CUDA devices (name, compute capability, "
                  "memory) or say why there are none, then exit"},
    {"--cache=stats|clear", "show or empty the compile cache, then exit"},
    {"--list-passes", "list the rewrite passes and their rewrites"},
    {"--list-ops[=markdown]", "list every op with its description (as the "
                              "Markdown of docs/ops.md)"},
    {"-i, --interactive", "start the REPL even when standard input is not "
                          "a terminal (lines are read plainly)"},
    {"-c CODE", "run CODE as a script (the rest are its arguments)"},
    {"-", "read the script from standard input"},
    {"--version", "print the version"},
    {"--help", "print this help"},
};

/// `  flag    help`, the help wrapped at 79 columns under itself.
void printEntry(std::ostream &o, const std::string &flag,
                const std::string &help) {
  const size_t indent = 28, width = 79 - indent;
  o << "  " << flag;
  size_t col = 2 + flag.size();
  if (col >= indent) {
    o << "\n";
    col = 0;
  }
  o << std::string(indent - col, ' ');
  std::istringstream words(help);
  std::string word;
  size_t used = 0;
  while (words >> word) {
    if (used && used + 1 + word.size() > width) {
      o << "\n" << std::string(indent, ' ');
      used = 0;
    } else if (used) {
      o << ' ';
      ++used;
    }
    o << word;
    used += word.size();
  }
  o << "\n";
}

void printHelp(std::ostream &o) {
  o << "usage: thjit [options] [FILE [ARGS...] | -c CODE | -]\n\n"
       "Runs a thjit script (a small Python: see docs/language.md), or starts\n"
       "the REPL when no script is given and standard input is a terminal.\n\n"
       "options:\n";
  for (const Option &opt : kOptions)
    printEntry(o, opt.flag, opt.help);
  o << "\nstages of --emit=:\n";
  for (const Stage &stage : kStages)
    printEntry(o, stage.name, stage.help);
}

bool knownStage(const std::string &name) {
  for (const Stage &stage : kStages)
    if (name == stage.name)
      return true;
  return false;
}

std::string stageNames() {
  std::vector<std::string> names;
  for (const Stage &stage : kStages)
    names.push_back(stage.name);
  return join(names, ", ");
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

/// The device of functions that do not choose one. Functions compile for
/// cuda without a GPU (their PTX can be printed); calls then say why none
/// can run.
bool setDevice(const std::string &device, const char *where) {
  if (device == "cpu" || device == "cuda") {
    setDefaultDevice(device);
    return true;
  }
  std::cerr << "thjit: error: unknown device '" << device << "' in "
            << where << " (expected cpu or cuda)\n";
  return false;
}

std::string readAll(std::istream &in) {
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Where the REPL keeps its history: $THJIT_HISTORY, else ~/.thjit_history.
std::string historyPath() {
  if (const char *p = std::getenv("THJIT_HISTORY"))
    return p;
  if (const char *home = std::getenv("HOME"))
    return std::string(home) + "/.thjit_history";
  return "";
}

/// The REPL on a terminal: LLVM's LineEditor (libedit) gives line editing,
/// history and tab completion; without a terminal, plain lines.
int repl(Interpreter &interp, bool terminal) {
  Repl session(interp, std::cout);
  // As Python's -i: without a terminal, the banner and prompts go to
  // standard error, so that standard output holds only the session's.
  std::ostream &chatter = terminal ? std::cout : std::cerr;
  chatter << "thjit " THJIT_VERSION " (:help for help, :quit or Ctrl-D to "
             "leave)\n";
  std::unique_ptr<llvm::LineEditor> editor;
  if (terminal) {
    editor = std::make_unique<llvm::LineEditor>("thjit", historyPath());
    editor->setListCompleter([&](llvm::StringRef line, size_t pos) {
      std::string text = line.str();
      size_t start = std::min(pos, text.size());
      while (start > 0 && (std::isalnum((unsigned char)text[start - 1]) ||
                           text[start - 1] == '_' || text[start - 1] == '.'))
        --start;
      size_t typed = pos - start;
      std::vector<llvm::LineEditor::Completion> out;
      for (const std::string &c : session.complete(text, pos)) {
        size_t dot = c.rfind('.');
        out.emplace_back(c.substr(typed),
                         dot == std::string::npos ? c : c.substr(dot + 1));
      }
      return out;
    });
  }
  std::string buffer;
  while (true) {
    const char *prompt = buffer.empty() ? ">>> " : "... ";
    std::optional<std::string> line;
    if (editor) {
      editor->setPrompt(prompt);
      line = editor->readLine();
    } else {
      chatter << prompt << std::flush;
      std::string l;
      if (std::getline(std::cin, l))
        line = l;
    }
    if (!line) {
      chatter << "\n";
      return 0;
    }
    buffer += *line + "\n";
    if (Repl::needsMore(buffer))
      continue;
    std::string input;
    input.swap(buffer);
    if (!session.handle(input))
      return 0;
  }
}

/// Colour in messages when standard error is a terminal and neither
/// NO_COLOR nor THJIT_NO_COLOR is set.
bool wantColour() {
  return isatty(2) && !std::getenv("NO_COLOR") && !std::getenv("THJIT_NO_COLOR");
}

} // namespace

int main(int argc, char **argv) {
  InterpreterOptions options;
  options.color = wantColour();
  if (const char *device = std::getenv("THJIT_DEVICE"))
    if (!setDevice(device, "THJIT_DEVICE"))
      return 2;
  bool forceRepl = false;
  int rest = argc;
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
      if (!knownStage(emit)) {
        std::cerr << "thjit: error: unknown --emit value '" << emit
                  << "' (expected one of " << stageNames() << ")\n";
        return 2;
      }
    } else if (a == "--devices") {
      std::cout << cuda::devicesReport();
      return cuda::available() ? 0 : 1;
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
    } else if (auto v = value("--gpu-arch=")) {
      try {
        codegen::setGPUArch(*v);
      } catch (const Error &e) {
        std::cerr << "thjit: error: --gpu-arch: " << e.what() << "\n";
        return 2;
      }
    } else if (auto v = value("--device=")) {
      if (!setDevice(*v, "--device"))
        return 2;
    } else if (auto v = value("--floatX=")) {
      auto t = parseDType(*v);
      if (!t || !isFloat(*t)) {
        std::cerr << "thjit: error: --floatX must be float32 or float64\n";
        return 2;
      }
      setFloatX(*t);
    } else if (auto v = value("--mode=")) {
      options.defaultMode = *v;
    } else if (a == "-i" || a == "--interactive") {
      forceRepl = true;
    } else if (a == "-c") {
      if (i + 1 >= argc) {
        std::cerr << "thjit: error: -c needs an argument\n";
        return 2;
      }
      code = argv[++i];
      haveCode = true;
      options.argv = {"-c"};
      rest = i + 1;
      break;
    } else if (a == "-") {
      fromStdin = true;
      options.argv = {"-"};
      rest = i + 1;
      break;
    } else if (!a.empty() && a[0] == '-') {
      std::cerr << "thjit: error: unknown option '" << a
                << "' (see thjit --help)\n";
      return 2;
    } else {
      file = a;
      options.argv = {file};
      rest = i + 1;
      break;
    }
  }
  // What follows the script is its own: sys.argv[1:], as in Python.
  for (int i = rest; i < argc; ++i)
    options.argv.push_back(argv[i]);
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
  } else if (isatty(0) || forceRepl) {
    Interpreter interp(std::cout, std::cerr, options);
    return repl(interp, isatty(0));
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
