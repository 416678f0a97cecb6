//===- CompileCacheTest.cpp - The on-disk compile cache -------------------===//
#include "thjit/Runtime/CompileCache.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

using namespace thjit;
using Catch::Contains;
namespace fs = std::filesystem;

namespace {

/// A fresh directory under the system temp dir, removed at the end; tests
/// never see the user's real cache.
struct TempDir {
  fs::path path;
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path = fs::temp_directory_path() /
           ("thjit-cache-test-" + std::to_string(::getpid()) + "-" +
            std::to_string(counter++) + "-" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
};

std::string readFile(const std::string &p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void writeFile(const std::string &p, const std::string &bytes) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << bytes;
}

/// Every byte value, NULs included, as object files have.
std::string binaryPayload(size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = char((i * 131 + seed * 7) & 0xff);
  return s;
}

/// Sets or unsets an environment variable, restoring it at the end.
struct EnvVar {
  std::string name;
  std::optional<std::string> saved;
  EnvVar(const char *n, const char *value) : name(n) {
    if (const char *v = std::getenv(n))
      saved = v;
    if (value)
      ::setenv(n, value, 1);
    else
      ::unsetenv(n);
  }
  ~EnvVar() {
    if (saved)
      ::setenv(name.c_str(), saved->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

} // namespace

TEST_CASE("digest is MurmurHash3 x64_128 and stable", "[cache]") {
  // Reference vectors of MurmurHash3_x64_128 with seed 0.
  CHECK(digest("") == "00000000000000000000000000000000");
  CHECK(digest("The quick brown fox jumps over the lazy dog") ==
        "e34bbc7bbc071b6c7a433ca9c49a9347");
  // Computed once with this implementation; they must never change, or
  // every user's cache silently goes cold.
  CHECK(digest("hello") == "cbd8a7b341bd9b025b1e906a48ae1d19");
  CHECK(digest("thjit") == "7673a15d90cfc5d4c1d8abd2ed8f8ce2");
  CHECK(digest("hello") != digest("hellp"));
  CHECK(digest(std::string("a\0b", 3)) != digest("a"));
  CHECK(digest("x").size() == 32);
}

TEST_CASE("store then lookup returns the object; other keys miss", "[cache]") {
  TempDir dir;
  CompileCache cache(dir.str());
  REQUIRE(cache.enabled());
  CHECK(cache.directory() == dir.str());
  std::string obj = binaryPayload(100000, 1);
  CHECK_FALSE(cache.lookup("key A"));
  REQUIRE(cache.store("key A", obj));
  auto got = cache.lookup("key A");
  REQUIRE(got);
  CHECK(*got == obj);
  CHECK_FALSE(cache.lookup("key B"));
  // Replacing an entry, and the empty key and object.
  REQUIRE(cache.store("key A", "new"));
  CHECK(cache.lookup("key A") == std::optional<std::string>("new"));
  REQUIRE(cache.store("", ""));
  CHECK(cache.lookup("") == std::optional<std::string>(""));

  CacheStats s = cache.stats();
  CHECK(s.hits == 3);
  CHECK(s.misses == 2);
  CHECK(s.stores == 3);
  CHECK(s.corrupt == 0);
  // No temp file is left behind.
  for (auto &e : fs::directory_iterator(dir.path))
    CHECK(e.path().extension() == ".thjo");
}

TEST_CASE("a different key under the same digest is a miss, kept", "[cache]") {
  TempDir dir;
  CompileCache cache(dir.str());
  REQUIRE(cache.store("key B", "object of B"));
  // Simulate a collision: B's valid entry sits where A's would be.
  fs::rename(cache.entryPath("key B"), cache.entryPath("key A"));
  CHECK_FALSE(cache.lookup("key A"));
  CHECK(fs::exists(cache.entryPath("key A")));
  CHECK(cache.stats().corrupt == 0);
  // Storing A then replaces it.
  REQUIRE(cache.store("key A", "object of A"));
  CHECK(cache.lookup("key A") == std::optional<std::string>("object of A"));
}

TEST_CASE("corrupt or stale entries are misses, deleted and counted",
          "[cache]") {
  TempDir dir;
  CompileCache cache(dir.str());
  const std::string key = "graph text|x86_64-pc-linux-gnu|+avx2|19.1|0.1";
  const std::string obj = binaryPayload(5000, 2);
  REQUIRE(cache.store(key, obj));
  const std::string path = cache.entryPath(key);
  const std::string good = readFile(path);
  REQUIRE(good.size() == 40 + key.size() + obj.size());

  auto damaged = [&](const char *what, std::string bytes) {
    INFO(what);
    writeFile(path, bytes);
    uint64_t before = cache.stats().corrupt;
    CHECK_FALSE(cache.lookup(key));
    CHECK_FALSE(fs::exists(path));
    CHECK(cache.stats().corrupt == before + 1);
  };
  damaged("truncated payload", good.substr(0, good.size() - 1));
  damaged("truncated header", good.substr(0, 10));
  damaged("empty file", "");
  damaged("trailing bytes", good + "x");
  std::string b = good;
  b.back() ^= 1;
  damaged("flipped payload byte", b);
  b = good;
  b[40 + 3] ^= 0x20;
  damaged("flipped key byte", b);
  b = good;
  b[0] = 'X';
  damaged("wrong magic", b);
  b = good;
  b[8] = 2;
  damaged("other format version", b);
  b = good;
  b[16 + 7] = char(0xff); // a huge key length must not overflow the checks
  damaged("garbage key length", b);
  // After all that, the entry works again once stored.
  REQUIRE(cache.store(key, obj));
  CHECK(cache.lookup(key) == obj);
}

TEST_CASE("store into an unusable directory fails quietly", "[cache]") {
  TempDir dir;
  writeFile(dir.str() + "/file", "not a directory");
  CompileCache under(dir.str() + "/file/sub");
  bool stored = true;
  CHECK_NOTHROW(stored = under.store("k", "v"));
  CHECK_FALSE(stored);
  CHECK_FALSE(under.lookup("k"));
  CHECK(under.stats().entries == 0);
  CHECK(under.clear() == 0);

  // Read-only: only meaningful when not running as root.
  fs::path ro = dir.path / "ro";
  fs::create_directories(ro);
  fs::permissions(ro, fs::perms::owner_read | fs::perms::owner_exec);
  bool writable = static_cast<bool>(std::ofstream(ro / "probe"));
  CompileCache readOnly(ro.string());
  CHECK_NOTHROW(stored = readOnly.store("k", "v"));
  if (!writable)
    CHECK_FALSE(stored);
  fs::permissions(ro, fs::perms::owner_all);
}

TEST_CASE("a disabled cache neither stores nor finds", "[cache]") {
  TempDir dir;
  CompileCache cache(dir.str());
  REQUIRE(cache.store("k", "v"));
  cache.setEnabled(false);
  CHECK_FALSE(cache.enabled());
  CHECK_FALSE(cache.lookup("k"));
  CHECK_FALSE(cache.store("k2", "v"));
  cache.setEnabled(true);
  CHECK(cache.lookup("k") == std::optional<std::string>("v"));
  CHECK_FALSE(CompileCache("").enabled());
}

/// The object writer `w` stores for `key`: readers must get one of these,
/// whole, and never another key's.
static std::string objectFor(const std::string &key, int w) {
  return key + "#" + std::to_string(w) + "#" +
         binaryPayload(20000 + 997 * size_t(w), unsigned(w));
}
static bool validObject(const std::string &key, const std::string &got) {
  for (int w = 0; w < 8; ++w)
    if (got == objectFor(key, w))
      return true;
  return false;
}

TEST_CASE("concurrent stores and lookups never see partial data", "[cache]") {
  TempDir dir;
  CompileCache cache(dir.str());
  std::atomic<int> bad{0}, hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 150; ++i) {
        // Half the keys are shared by all threads, half are this thread's.
        std::string key = (i % 2) ? "shared " + std::to_string(i % 3)
                                  : "own " + std::to_string(t);
        if ((i + t) % 3 != 0)
          cache.store(key, objectFor(key, t));
        if (auto got = cache.lookup(key)) {
          ++hits;
          if (!validObject(key, *got))
            ++bad;
        }
      }
    });
  for (auto &th : threads)
    th.join();
  CHECK(bad == 0);
  CHECK(hits > 0);
  CHECK(cache.stats().corrupt == 0);
  CHECK(cache.stats().entries == 8 + 3);
}

TEST_CASE("concurrent processes never see partial data", "[cache]") {
  TempDir dir;
  std::vector<pid_t> children;
  for (int p = 0; p < 4; ++p) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      CompileCache cache(dir.str());
      int bad = 0;
      for (int i = 0; i < 200; ++i) {
        std::string key = "shared " + std::to_string(i % 2);
        cache.store(key, objectFor(key, p));
        auto got = cache.lookup(key);
        if (got && !validObject(key, *got))
          ++bad;
      }
      ::_exit(bad == 0 && cache.stats().corrupt == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
}

TEST_CASE("stats counts entries and bytes; clear removes them", "[cache]") {
  TempDir dir;
  CompileCache cache(dir.str());
  CHECK(cache.stats().entries == 0);
  CHECK(cache.stats().bytes == 0);
  REQUIRE(cache.store("a", std::string(100, 'a')));
  REQUIRE(cache.store("bb", std::string(2000, 'b')));
  REQUIRE(cache.store("ccc", ""));
  // Foreign files are neither counted nor removed; a stale temp file from
  // an interrupted store is not counted but is removed.
  writeFile(dir.str() + "/notes.txt", "mine");
  std::string stale = cache.entryPath("d");
  stale = stale.substr(0, stale.size() - 5) + ".thjo.tmp.Ab12Cd";
  writeFile(stale, "half");

  CacheStats s = cache.stats();
  CHECK(s.directory == dir.str());
  CHECK(s.enabled);
  CHECK(s.entries == 3);
  CHECK(s.bytes == (40 + 1 + 100) + (40 + 2 + 2000) + (40 + 3 + 0));
  CHECK(s.stores == 3);

  std::string text = formatCacheStats(s);
  CHECK_THAT(text, Contains("directory: " + dir.str() + "\n"));
  CHECK_THAT(text, Contains("status:    enabled\n"));
  CHECK_THAT(text, Contains("entries:   3\n"));
  CHECK_THAT(text, Contains("size:      2.2 KiB (2226 bytes)\n"));
  CHECK_THAT(text, Contains("this run:  0 hits, 0 misses, 3 stores"));

  CHECK(cache.clear() == 3);
  CHECK(cache.stats().entries == 0);
  CHECK_FALSE(cache.lookup("a"));
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(dir.str() + "/notes.txt"));
  CHECK(cache.clear() == 0);

  CacheStats empty;
  empty.directory = "/x";
  CHECK(formatCacheStats(empty) == "directory: /x\n"
                                   "status:    disabled\n"
                                   "entries:   0\n"
                                   "size:      0 B\n");
}

TEST_CASE("fromEnvironment honours THJIT_CACHE_DIR, XDG, HOME, THJIT_CACHE",
          "[cache]") {
  TempDir dir;
  {
    EnvVar a("THJIT_CACHE", nullptr), b("THJIT_CACHE_DIR", dir.str().c_str());
    CompileCache c = CompileCache::fromEnvironment();
    CHECK(c.enabled());
    CHECK(c.directory() == dir.str());
  }
  {
    EnvVar a("THJIT_CACHE", nullptr), b("THJIT_CACHE_DIR", nullptr),
        x("XDG_CACHE_HOME", (dir.str() + "/xdg").c_str());
    CompileCache c = CompileCache::fromEnvironment();
    CHECK(c.enabled());
    CHECK(c.directory() == dir.str() + "/xdg/thjit");
    CHECK(fs::is_directory(dir.path / "xdg" / "thjit"));
  }
  {
    // A relative XDG_CACHE_HOME is ignored, as the XDG spec says.
    EnvVar a("THJIT_CACHE", nullptr), b("THJIT_CACHE_DIR", nullptr),
        x("XDG_CACHE_HOME", "relative"), h("HOME", dir.str().c_str());
    CompileCache c = CompileCache::fromEnvironment();
    CHECK(c.enabled());
    CHECK(c.directory() == dir.str() + "/.cache/thjit");
  }
  for (const char *off : {"0", "off", "OFF", "false", "no"}) {
    EnvVar a("THJIT_CACHE", off),
        b("THJIT_CACHE_DIR", (dir.str() + "/off").c_str());
    CompileCache c = CompileCache::fromEnvironment();
    CHECK_FALSE(c.enabled());
    CHECK_FALSE(fs::exists(dir.path / "off"));
  }
  {
    // A directory that cannot be created disables the cache.
    writeFile(dir.str() + "/file", "x");
    EnvVar a("THJIT_CACHE", "1"),
        b("THJIT_CACHE_DIR", (dir.str() + "/file/sub").c_str());
    CHECK_FALSE(CompileCache::fromEnvironment().enabled());
  }
  {
    EnvVar a("THJIT_CACHE", nullptr), b("THJIT_CACHE_DIR", nullptr),
        x("XDG_CACHE_HOME", nullptr), h("HOME", nullptr);
    CHECK_FALSE(CompileCache::fromEnvironment().enabled());
  }
  {
    // global() is fromEnvironment() made once; switched off here so that a
    // first call from this test never creates the user's ~/.cache/thjit.
    EnvVar a("THJIT_CACHE", "0");
    CHECK(&CompileCache::global() == &CompileCache::global());
  }
}
