//===- Repl.cpp - The REPL's commands and completion ----------------------===//
#include "thjit/Frontend/Repl.h"
#include "thjit/Frontend/Parser.h"
#include "thjit/Ops/Ops.h"
#include "thjit/Rewrite/Rewrite.h"
#include "thjit/Support/Format.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <ostream>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace thjit::frontend {

namespace {

struct Command {
  const char *name;
  const char *args;
  const char *help;
};

/// The commands of LANGUAGE.md, in the order :help lists them.
const Command kCommands[] = {
    {"help", "", "this list"},
    {"type", "EXPR", "the type of a value: f64[?,?] for a matrix, a "
                     "function's signature"},
    {"graph", "[-opt] EXPR", "the graph of a function or a symbolic "
                             "expression, as given or (-opt) after rewriting"},
    {"plan", "EXPR", "the steps the compiled code runs and where each value "
                     "lives"},
    {"ir", "EXPR", "the optimized LLVM IR it compiles to"},
    {"asm", "EXPR", "the host assembly it compiles to"},
    {"ptx", "EXPR", "the NVPTX kernels of its element-wise steps (for "
                    "--gpu-arch=)"},
    {"dot", "EXPR [FILE]", "the graph after rewriting as Graphviz DOT; "
                           "FILE.svg, .png or .pdf is drawn by Graphviz"},
    {"passes", "[EXPR]", "the rewrite passes, or what each did to a function"},
    {"time", "EXPR", "how long evaluating EXPR takes (best of 5)"},
    {"profile", "f(ARGS)", "calls f in PROFILE mode and prints the time "
                           "per node"},
    {"quit", "", "leave (or Ctrl-D)"},
};

const char *const kKeywords[] = {
    "and",    "as",   "assert", "break",  "continue", "def",   "del",
    "elif",   "else", "except", "False",  "finally",  "for",   "from",
    "global", "if",   "import", "in",     "is",       "lambda", "None",
    "nonlocal", "not", "or",   "pass",   "raise",    "return", "True",
    "try",    "while"};

bool isIdentChar(char c) {
  return std::isalnum((unsigned char)c) || c == '_';
}

/// The function a command works on: a compiled function as it is, a
/// symbolic expression compiled with its free inputs as parameters.
Function functionOf(const Value &v, const std::string &what) {
  if (v.is(ValueKind::Function))
    return v.as<std::shared_ptr<CompiledFunction>>()->fn;
  if (v.is(ValueKind::Symbolic)) {
    Var x = v.as<Var>();
    FunctionOptions options;
    options.onUnusedInput = OnUnusedInput::Ignore;
    options.name = "expr";
    return function(Graph({}, {x}).missingInputs(), {x}, options);
  }
  throw TypeError(what + " needs a compiled function or a symbolic "
                         "expression, not " +
                  typeName(v));
}

/// ":type": a symbolic value's type, an array's dtype and shape, a
/// function's signature, else the Python type name.
std::string describeType(const Value &v) {
  switch (v.kind()) {
  case ValueKind::Symbolic: {
    const Var &x = v.as<Var>();
    return x.type()->str() +
           (x.isShared() ? "  (shared variable)" : "  (symbolic)");
  }
  case ValueKind::Array: {
    const NDArray &a = v.as<NDArray>();
    return TensorType::get(a.dtype(), a.shape())->str() + "  (numpy.ndarray)";
  }
  case ValueKind::Function: {
    const Function &f = v.as<std::shared_ptr<CompiledFunction>>()->fn;
    std::vector<std::string> params, results;
    for (const Var &in : f.inputs())
      params.push_back((in.name().empty() ? "_" : in.name()) + ": " +
                       in.type()->str());
    for (size_t i = 0; i < f.numOutputs(); ++i)
      results.push_back(f.graph().outputs()[i].type()->str());
    return "function " + f.name() + "(" + join(params, ", ") + ") -> " +
           (results.size() == 1 ? results[0]
                                : "(" + join(results, ", ") + ")");
  }
  default:
    return typeName(v);
  }
}

std::string formatSeconds(double s) {
  const char *unit = "s";
  if (s < 1e-6) {
    s *= 1e9;
    unit = "ns";
  } else if (s < 1e-3) {
    s *= 1e6;
    unit = "us";
  } else if (s < 1) {
    s *= 1e3;
    unit = "ms";
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g %s", s, unit);
  return buf;
}

std::string lower(std::string s) {
  for (char &c : s)
    c = (char)std::tolower((unsigned char)c);
  return s;
}

} // namespace

Repl::Repl(Interpreter &interp, std::ostream &out)
    : interp(interp), out(out) {}

std::string Repl::help() {
  std::string s = "Type statements as in a script; an expression's value is "
                  "printed.\nBlocks (if, for, def, ...) end with an empty "
                  "line. Tab completes names and\nattributes. Commands:\n";
  for (const Command &c : kCommands) {
    std::string head = std::string(":") + c.name + (*c.args ? " " : "") + c.args;
    s += "  " + head + std::string(head.size() < 22 ? 22 - head.size() : 1, ' ') +
         c.help + "\n";
  }
  return s;
}

bool Repl::needsMore(const std::string &buffer) {
  if (!buffer.empty() && buffer[0] == ':')
    return false;
  return isIncomplete(buffer);
}

bool Repl::handle(const std::string &input) {
  std::string trimmed = input;
  while (!trimmed.empty() && std::isspace((unsigned char)trimmed.back()))
    trimmed.pop_back();
  if (trimmed.empty())
    return true;
  if (trimmed[0] != ':') {
    interp.runInteractive(input);
    return true;
  }
  if (trimmed == ":quit" || trimmed == ":q" || trimmed == ":exit")
    return false;
  try {
    command(trimmed);
  } catch (const Error &e) {
    interp.report(e, trimmed);
  }
  out.flush();
  return true;
}

void Repl::command(const std::string &line) {
  size_t nameEnd = 1;
  while (nameEnd < line.size() && isIdentChar(line[nameEnd]))
    ++nameEnd;
  std::string name = line.substr(1, nameEnd - 1);
  size_t argStart = nameEnd;
  while (argStart < line.size() && line[argStart] == ' ')
    ++argStart;
  std::string arg = line.substr(argStart);
  const Command *cmd = nullptr;
  for (const Command &c : kCommands)
    if (name == c.name)
      cmd = &c;
  if (!cmd)
    throw NameError("unknown command ':" + name + "' (:help lists them)");
  if (*cmd->args && cmd->args[0] != '[' && arg.empty())
    throw TypeError(std::string(":") + cmd->name + " needs an argument: :" +
                    cmd->name + " " + cmd->args);
  auto value = [&] { return interp.evaluate(line, argStart); };

  if (name == "help") {
    out << help();
  } else if (name == "type") {
    out << describeType(value()) << "\n";
  } else if (name == "graph") {
    bool optimized = arg.compare(0, 4, "-opt") == 0 &&
                     (arg.size() == 4 || arg[4] == ' ');
    if (optimized) {
      argStart += 4;
      while (argStart < line.size() && line[argStart] == ' ')
        ++argStart;
    }
    Value v = value();
    if (v.is(ValueKind::Symbolic) && !optimized) {
      Var x = v.as<Var>();
      Graph g(Graph({}, {x}).missingInputs(), {x});
      out << printGraph(g, "expr");
    } else {
      out << functionOf(v, ":graph").str(optimized);
    }
  } else if (name == "plan" || name == "ir" || name == "asm" ||
             name == "ptx") {
    Function f = functionOf(value(), ":" + name);
    out << f.emit(name == "ir" ? "llvm" : name);
  } else if (name == "dot") {
    // A last word with an extension (after another word) is the file.
    size_t space = line.find_last_of(' ');
    std::string file;
    if (space != std::string::npos && space >= argStart) {
      std::string last = line.substr(space + 1);
      size_t dot = last.rfind('.');
      bool path = dot != std::string::npos && dot + 1 < last.size() && dot > 0;
      for (char c : last)
        path = path && (isIdentChar(c) || c == '.' || c == '/' || c == '-');
      if (path && std::isalpha((unsigned char)last[dot + 1]))
        file = last;
    }
    std::string expr = file.empty() ? line : line.substr(0, space);
    std::string dot =
        functionOf(interp.evaluate(expr, argStart), ":dot").dot();
    if (file.empty())
      out << dot;
    else
      out << writeGraphPicture(dot, file) << "\n";
  } else if (name == "passes") {
    if (arg.empty()) {
      out << describePasses();
      return;
    }
    Function f = functionOf(value(), ":passes");
    out << "mode " << f.mode() << "\n";
    for (const PassStats &p : f.passStats()) {
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    "  %-14s %4d rewrites  %5d -> %5d nodes  %s%s\n",
                    p.pass.c_str(), p.rewrites, p.nodesBefore, p.nodesAfter,
                    formatSeconds(p.seconds).c_str(),
                    p.budgetExhausted ? "  (budget exhausted)" : "");
      out << buf;
    }
  } else if (name == "time") {
    std::function<Value()> thunk = interp.prepare(line, argStart);
    using Clock = std::chrono::steady_clock;
    auto run = [&](int64_t n) {
      auto t0 = Clock::now();
      for (int64_t i = 0; i < n; ++i)
        thunk();
      return std::chrono::duration<double>(Clock::now() - t0).count();
    };
    // As Python's timeit: loops grow until one round takes 0.2 s.
    int64_t loops = 1;
    while (run(loops) < 0.2 && loops < 100000000)
      loops *= 10;
    double best = INFINITY;
    for (int r = 0; r < 5; ++r)
      best = std::min(best, run(loops) / (double)loops);
    out << formatSeconds(best) << " per loop (best of 5, " << loops << " loop"
        << (loops == 1 ? "" : "s") << " each)\n";
  } else if (name == "profile") {
    std::shared_ptr<CompiledFunction> profiled;
    Value result = interp.evaluate(line, argStart, [&](const Value &callee) {
      if (!callee.is(ValueKind::Function))
        throw TypeError(":profile needs a call of a compiled function, not "
                        "of " +
                        typeName(callee));
      const auto &cf = callee.as<std::shared_ptr<CompiledFunction>>();
      // The same function compiled again in PROFILE mode; its updates
      // apply as the call would apply them.
      profiled = std::make_shared<CompiledFunction>(*cf);
      profiled->options.mode = "PROFILE";
      profiled->fn = function(cf->inputs, cf->outputs, profiled->options);
      return Value(profiled);
    });
    out << profiled->fn.profileReport();
  }
}

std::vector<std::string> Repl::complete(const std::string &line,
                                        size_t cursor) {
  cursor = std::min(cursor, line.size());
  size_t start = cursor;
  while (start > 0 && (isIdentChar(line[start - 1]) || line[start - 1] == '.'))
    --start;
  std::string word = line.substr(start, cursor - start);
  std::vector<std::string> candidates;
  std::string prefix = word, base;
  if (start == 1 && line[0] == ':' && word.find('.') == std::string::npos) {
    for (const Command &c : kCommands)
      candidates.push_back(c.name);
  } else if (size_t dot = word.rfind('.'); dot != std::string::npos) {
    // `a.b.c`: the attributes of a.b, which is only names and attributes,
    // so evaluating it runs nothing.
    base = word.substr(0, dot + 1);
    prefix = word.substr(dot + 1);
    std::string object = word.substr(0, dot);
    bool plain = !object.empty() && object[0] != '.' && object.back() != '.' &&
                 !std::isdigit((unsigned char)object[0]) &&
                 object.find("..") == std::string::npos;
    if (!plain)
      return {};
    Value v;
    try {
      v = interp.evaluate(object);
    } catch (const Error &) {
      return {};
    }
    candidates = interp.attributeNames(v);
  } else {
    candidates = interp.names();
    for (const char *k : kKeywords)
      candidates.push_back(k);
  }
  std::vector<std::string> out;
  for (const std::string &c : candidates)
    if (c.compare(0, prefix.size(), prefix) == 0 &&
        (prefix.size() > 0 || c[0] != '_'))
      out.push_back(base + c);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string writeGraphPicture(const std::string &dot, const std::string &path) {
  size_t period = path.rfind('.');
  std::string ext = period == std::string::npos ? "" : lower(path.substr(period + 1));
  if (ext == "dot" || ext == "gv") {
    std::ofstream f(path, std::ios::binary);
    if (!(f << dot))
      throw IOError("cannot write '" + path + "': " + std::strerror(errno));
    return "wrote " + path;
  }
  if (ext != "svg" && ext != "png" && ext != "pdf")
    throw ValueError("cannot draw a graph as '" + path +
                     "': use a .dot, .gv, .svg, .png or .pdf file");
  // Graphviz reads the DOT from a pipe and writes the picture itself.
  int fds[2];
  if (pipe(fds) != 0)
    throw IOError(std::string("cannot run Graphviz: ") + std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0)
    throw IOError(std::string("cannot run Graphviz: ") + std::strerror(errno));
  if (pid == 0) {
    dup2(fds[0], 0);
    close(fds[0]);
    close(fds[1]);
    std::string format = "-T" + ext;
    execlp("dot", "dot", format.c_str(), "-o", path.c_str(), (char *)nullptr);
    _exit(127);
  }
  close(fds[0]);
  size_t done = 0;
  while (done < dot.size()) {
    ssize_t n = write(fds[1], dot.data() + done, dot.size() - done);
    if (n <= 0)
      break;
    done += (size_t)n;
  }
  close(fds[1]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 127)
    throw IOError("cannot draw '" + path +
                  "': Graphviz's dot was not found (install graphviz, or "
                  "write a .dot file)");
  if (WEXITSTATUS(status) != 0)
    throw IOError("Graphviz's dot could not write '" + path + "'");
  return "wrote " + path;
}

} // namespace thjit::frontend
