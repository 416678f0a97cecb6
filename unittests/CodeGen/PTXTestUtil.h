//===- PTXTestUtil.h - Checking emitted PTX with ptxas ----------*- C++ -*-===//
///
/// \file
/// What PTXTest.cpp and GemmPTXTest.cpp share: NVIDIA's assembler, found
/// and run on a module, and a look at a kernel's parameters.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_UNITTESTS_CODEGEN_PTXTESTUTIL_H
#define THJIT_UNITTESTS_CODEGEN_PTXTESTUTIL_H

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace thjit::test {

/// The architectures every kernel is checked for.
inline const std::vector<std::string> kPTXArchs{"sm_80", "sm_90"};

/// ptxas: $THJIT_PTXAS, else /usr/local/cuda/bin/ptxas; empty when it is not
/// there (tests then skip assembling, with a warning).
inline std::string ptxasPath() {
  const char *e = std::getenv("THJIT_PTXAS");
  std::string p = e && *e ? e : "/usr/local/cuda/bin/ptxas";
  return access(p.c_str(), X_OK) == 0 ? p : "";
}

/// Runs `tool -arch=arch [flags]` on ptx: (exit status, its messages).
inline std::pair<int, std::string> runPtxas(const std::string &tool, const std::string &ptx,
                                            const std::string &arch,
                                            const std::string &flags = "") {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("thjit-ptx-test-" + std::to_string(getpid()) + ".ptx"))
                         .string();
  {
    std::ofstream out(path);
    out << ptx;
  }
  std::string cmd = "'" + tool + "' " + flags + " -arch=" + arch + " '" + path +
                    "' -o /dev/null 2>&1";
  std::string messages;
  FILE *p = popen(cmd.c_str(), "r");
  REQUIRE(p);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0)
    messages.append(buf, n);
  int status = pclose(p);
  std::filesystem::remove(path);
  return {status, messages};
}

/// The parameters kernel `name` declares in `ptx`, or -1 without it.
inline int paramCount(const std::string &ptx, const std::string &name) {
  size_t at = ptx.find(".visible .entry " + name + "(");
  if (at == std::string::npos)
    return -1;
  size_t end = ptx.find(')', at);
  int count = 0;
  for (size_t p = ptx.find(".param", at); p < end; p = ptx.find(".param", p + 1))
    ++count;
  return count;
}

} // namespace thjit::test

#endif
