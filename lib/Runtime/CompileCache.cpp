//===- CompileCache.cpp - On-disk compile cache ---------------------------===//
//
// Entry file `<dir>/<32 hex digest>.thjo`, all integers little-endian:
//
//   0  8 bytes  magic "THJITOBJ"
//   8  u32      format version (kFormatVersion)
//  12  u32      flags, must be 0
//  16  u64      key length K
//  24  u64      payload length P
//  32  u64      checksum of key and payload
//  40  K bytes  key text, then P bytes payload; the file ends right there.
//
// The full key is stored so that two keys with the same digest are told
// apart (a miss, the entry left alone); everything else that does not check
// out is corrupt (deleted, counted, a miss). Entries are never modified in
// place, only replaced by rename, so a reader sees one whole file or none.
//
//===----------------------------------------------------------------------===//
#include "thjit/Runtime/CompileCache.h"
#include "thjit/CodeGen/CPU.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace thjit {

namespace {

constexpr char kMagic[8] = {'T', 'H', 'J', 'I', 'T', 'O', 'B', 'J'};
/// Bump when the layout above changes: old entries then read as corrupt.
constexpr uint32_t kFormatVersion = 1;
constexpr size_t kHeaderSize = 40;
constexpr std::string_view kEntrySuffix = ".thjo";
constexpr std::string_view kTempInfix = ".thjo.tmp.";

uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

uint64_t fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

/// Reads up to 8 bytes little-endian, so the hash is the same on any host.
uint64_t loadLE(const unsigned char *p, size_t n) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i)
    v |= uint64_t(p[i]) << (8 * i);
  return v;
}

/// MurmurHash3_x64_128 (Austin Appleby, public domain), with a 64-bit seed.
void murmur3(std::string_view text, uint64_t seed, uint64_t &h1, uint64_t &h2) {
  const auto *data = reinterpret_cast<const unsigned char *>(text.data());
  const size_t len = text.size(), nblocks = len / 16;
  const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  h1 = h2 = seed;
  for (size_t i = 0; i < nblocks; ++i) {
    uint64_t k1 = loadLE(data + 16 * i, 8), k2 = loadLE(data + 16 * i + 8, 8);
    k1 *= c1, k1 = rotl(k1, 31), k1 *= c2, h1 ^= k1;
    h1 = rotl(h1, 27), h1 += h2, h1 = h1 * 5 + 0x52dce729;
    k2 *= c2, k2 = rotl(k2, 33), k2 *= c1, h2 ^= k2;
    h2 = rotl(h2, 31), h2 += h1, h2 = h2 * 5 + 0x38495ab5;
  }
  const unsigned char *tail = data + 16 * nblocks;
  size_t rest = len & 15;
  if (rest > 8) {
    uint64_t k2 = loadLE(tail + 8, rest - 8);
    k2 *= c2, k2 = rotl(k2, 33), k2 *= c1, h2 ^= k2;
  }
  if (rest > 0) {
    uint64_t k1 = loadLE(tail, rest < 8 ? rest : 8);
    k1 *= c1, k1 = rotl(k1, 31), k1 *= c2, h1 ^= k1;
  }
  h1 ^= len, h2 ^= len;
  h1 += h2, h2 += h1;
  h1 = fmix(h1), h2 = fmix(h2);
  h1 += h2, h2 += h1;
}

/// Covers the key too, so a damaged key byte reads as corruption rather than
/// as a different key (which would leave the bad file in place).
uint64_t checksum(std::string_view key, std::string_view payload) {
  uint64_t k1, k2, p1, p2;
  murmur3(key, 0x74686a69ULL, k1, k2);
  murmur3(payload, k1 ^ k2, p1, p2);
  return p1;
}

void putLE(std::string &out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(char((v >> (8 * i)) & 0xff));
}

bool isHex32(std::string_view s) {
  if (s.size() < 32)
    return false;
  for (size_t i = 0; i < 32; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(s[i])))
      return false;
  return true;
}

/// Only names we made are counted or deleted, so a cache directory pointed
/// at a wrong place never loses foreign files.
bool isEntryName(std::string_view n) {
  return n.size() == 32 + kEntrySuffix.size() && isHex32(n) &&
         n.substr(32) == kEntrySuffix;
}
bool isTempName(std::string_view n) {
  return isHex32(n) && n.substr(32, kTempInfix.size()) == kTempInfix;
}

bool writeAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    bytes.remove_prefix(size_t(n));
  }
  return true;
}

enum class Check { Ok, OtherKey, Corrupt };

Check verify(std::string_view file, std::string_view key) {
  if (file.size() < kHeaderSize ||
      file.substr(0, 8) != std::string_view(kMagic, 8))
    return Check::Corrupt;
  auto *p = reinterpret_cast<const unsigned char *>(file.data());
  uint64_t version = loadLE(p + 8, 4), flags = loadLE(p + 12, 4);
  uint64_t keyLen = loadLE(p + 16, 8), payLen = loadLE(p + 24, 8);
  uint64_t sum = loadLE(p + 32, 8);
  uint64_t room = file.size() - kHeaderSize;
  // Compared one at a time so a huge garbage length cannot overflow.
  if (version != kFormatVersion || flags != 0 || keyLen > room ||
      payLen != room - keyLen)
    return Check::Corrupt;
  std::string_view storedKey = file.substr(kHeaderSize, keyLen);
  if (checksum(storedKey, file.substr(kHeaderSize + keyLen)) != sum)
    return Check::Corrupt;
  return storedKey == key ? Check::Ok : Check::OtherKey;
}

} // namespace

std::string digest(std::string_view text) {
  uint64_t h1, h2;
  murmur3(text, 0, h1, h2);
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", (unsigned long long)h1,
                (unsigned long long)h2);
  return buf;
}

CompileCache &CompileCache::global() {
  static CompileCache cache = fromEnvironment();
  return cache;
}

const codegen::ObjectCache &CompileCache::globalForCodegen() {
  static const codegen::ObjectCache cache{
      [](const std::string &key) { return global().lookup(key); },
      [](const std::string &key, const std::string &object) { global().store(key, object); }};
  return cache;
}

CompileCache CompileCache::fromEnvironment() {
  auto env = [](const char *name) -> std::string {
    const char *v = std::getenv(name);
    return v ? v : "";
  };
  std::string flag = env("THJIT_CACHE");
  for (char &c : flag)
    c = char(std::tolower(static_cast<unsigned char>(c)));
  bool off = flag == "0" || flag == "off" || flag == "false" || flag == "no";

  std::string d = env("THJIT_CACHE_DIR");
  if (d.empty()) {
    std::string xdg = env("XDG_CACHE_HOME"), home = env("HOME");
    if (!xdg.empty() && xdg[0] == '/')
      d = xdg + "/thjit";
    else if (!home.empty())
      d = home + "/.cache/thjit";
  }
  // Created now (not on the first store) so an unusable location disables
  // the cache once instead of failing every store; never when switched off.
  bool ok = !off && !d.empty();
  if (ok) {
    std::error_code ec;
    fs::create_directories(d, ec);
    ok = !ec && fs::is_directory(d, ec);
  }
  return CompileCache(std::move(d), ok);
}

CompileCache::CompileCache(std::string directory)
    : CompileCache(std::move(directory), true) {}

CompileCache::CompileCache(std::string directory, bool enabled)
    : dir(std::move(directory)), isEnabled(enabled && !dir.empty()) {}

std::string CompileCache::entryPath(std::string_view keyText) const {
  return (fs::path(dir) / (digest(keyText) + std::string(kEntrySuffix)))
      .string();
}

std::optional<std::string> CompileCache::lookup(std::string_view keyText) {
  if (!enabled())
    return std::nullopt;
  std::string path = entryPath(keyText);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    if (fd >= 0)
      ::close(fd);
    ++misses;
    return std::nullopt;
  }
  std::string file(size_t(st.st_size), '\0');
  size_t got = 0;
  bool readError = false;
  while (got < file.size()) {
    ssize_t n = ::read(fd, file.data() + got, file.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      readError = true;
    if (n <= 0)
      break;
    got += size_t(n);
  }
  ::close(fd);
  file.resize(got);
  // An I/O error says nothing about the entry itself: a plain miss.
  Check c = readError ? Check::OtherKey : verify(file, keyText);
  if (c == Check::Ok) {
    ++hits;
    return file.substr(kHeaderSize + keyText.size());
  }
  if (c == Check::Corrupt) {
    // Delete only the file we read: another process may have renamed a good
    // entry over it meanwhile, and that one must survive.
    struct stat now;
    if (::stat(path.c_str(), &now) == 0 && now.st_dev == st.st_dev &&
        now.st_ino == st.st_ino)
      ::unlink(path.c_str());
    ++corrupt;
  }
  ++misses;
  return std::nullopt;
}

bool CompileCache::store(std::string_view keyText, std::string_view object) {
  if (!enabled())
    return false;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return false;
  std::string path = entryPath(keyText);
  // A unique name per writer, in the same directory so rename is atomic.
  std::string temp = path.substr(0, path.size() - kEntrySuffix.size()) +
                     std::string(kTempInfix) + "XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0)
    return false;
  std::string header(kMagic, 8);
  putLE(header, kFormatVersion, 4);
  putLE(header, 0, 4);
  putLE(header, keyText.size(), 8);
  putLE(header, object.size(), 8);
  putLE(header, checksum(keyText, object), 8);
  header.append(keyText);
  bool ok = writeAll(fd, header) && writeAll(fd, object);
  ok = (::close(fd) == 0) && ok;
  if (ok)
    ok = ::rename(temp.c_str(), path.c_str()) == 0;
  if (!ok) {
    ::unlink(temp.c_str());
    return false;
  }
  ++stores;
  return true;
}

CacheStats CompileCache::stats() const {
  CacheStats s;
  s.directory = dir;
  s.enabled = enabled();
  s.hits = hits, s.misses = misses, s.stores = stores, s.corrupt = corrupt;
  std::error_code ec;
  if (dir.empty())
    return s;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    if (!isEntryName(it->path().filename().string()))
      continue;
    std::error_code sizeEc;
    uint64_t size = it->file_size(sizeEc);
    if (!sizeEc)
      ++s.entries, s.bytes += size;
  }
  return s;
}

size_t CompileCache::clear() {
  if (dir.empty())
    return 0;
  // Collect first: removing while iterating may skip or repeat names.
  std::vector<std::pair<fs::path, bool>> doomed;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (isEntryName(name) || isTempName(name))
      doomed.push_back({it->path(), isEntryName(name)});
  }
  size_t removed = 0;
  for (auto &[path, isEntry] : doomed)
    if (fs::remove(path, ec) && isEntry)
      ++removed;
  return removed;
}

static std::string humanBytes(uint64_t bytes) {
  if (bytes < 1024)
    return std::to_string(bytes) + " B";
  static const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = double(bytes) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3)
    v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

std::string formatCacheStats(const CacheStats &s) {
  auto line = [](const char *label, const std::string &value) {
    std::string l = std::string(label) + ":";
    l.resize(11, ' ');
    return l + value + "\n";
  };
  std::string out =
      line("directory", s.directory.empty() ? "(none)" : s.directory);
  out += line("status", s.enabled ? "enabled" : "disabled");
  out += line("entries", std::to_string(s.entries));
  out += line(
      "size",
      humanBytes(s.bytes) +
          (s.bytes >= 1024 ? " (" + std::to_string(s.bytes) + " bytes)" : ""));
  if (s.hits || s.misses || s.stores || s.corrupt)
    out += line("this run", std::to_string(s.hits) + " hits, " +
                                std::to_string(s.misses) + " misses, " +
                                std::to_string(s.stores) + " stores, " +
                                std::to_string(s.corrupt) + " corrupt");
  return out;
}

} // namespace thjit
