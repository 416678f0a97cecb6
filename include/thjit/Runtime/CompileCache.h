//===- thjit/Runtime/CompileCache.h - On-disk compile cache -----*- C++ -*-===//
///
/// \file
/// The on-disk cache of compiled object files (DESIGN §9). The JIT builds the
/// key text (optimized graph's canonical text, target triple and CPU
/// features, LLVM version, thjit version) and decides what to store; this is
/// only the store. An entry is one file named by digest(keyText) holding a
/// header, the full key text and the object, so a digest collision is a miss
/// and a corrupt or stale entry is deleted and recompiled, never trusted.
/// Writes go to a unique temp file renamed into place, so concurrent threads
/// and processes never read a half-written entry. The cache is best effort:
/// no method throws for I/O problems, and a failed store only costs a
/// recompile later. No LLVM dependency.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_RUNTIME_COMPILECACHE_H
#define THJIT_RUNTIME_COMPILECACHE_H

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace thjit {

namespace codegen {
struct ObjectCache;
}

/// A 128-bit digest of `text` (MurmurHash3 x64_128, seed 0) as 32 lowercase
/// hex digits: h1 then h2, each most significant digit first. Stable across
/// runs, processes and machines; not cryptographic.
std::string digest(std::string_view text);

/// What `thjit --cache=stats` reports.
struct CacheStats {
  std::string directory;
  bool enabled = false;
  size_t entries = 0; ///< Entry files in the directory now.
  uint64_t bytes = 0; ///< Their total size.
  /// Counters of this process (this CompileCache object).
  uint64_t hits = 0, misses = 0, stores = 0, corrupt = 0;
};

class CompileCache {
public:
  /// The process-wide cache, made by fromEnvironment() on first use.
  static CompileCache &global();
  /// global() as the code generators take a cache.
  static const codegen::ObjectCache &globalForCodegen();
  /// A cache configured from the environment: the directory is
  /// $THJIT_CACHE_DIR, else $XDG_CACHE_HOME/thjit, else $HOME/.cache/thjit
  /// (relative XDG_CACHE_HOME ignored, as the XDG spec says). Disabled when
  /// THJIT_CACHE is 0/off/false/no, or when no directory can be determined
  /// or created.
  static CompileCache fromEnvironment();

  /// A cache in `directory` (created on the first store when missing).
  explicit CompileCache(std::string directory);
  CompileCache(const CompileCache &) = delete;
  CompileCache &operator=(const CompileCache &) = delete;

  bool enabled() const { return isEnabled.load(std::memory_order_relaxed); }
  void setEnabled(bool on) { isEnabled.store(on, std::memory_order_relaxed); }
  const std::string &directory() const { return dir; }
  /// The file that holds (or would hold) the entry of `keyText`.
  std::string entryPath(std::string_view keyText) const;

  /// The stored object for `keyText`, verified; nullopt when disabled,
  /// absent, unreadable, or stored for another key (a digest collision).
  /// A truncated, corrupt, or other-format-version entry is also nullopt,
  /// and is deleted and counted in `corrupt`.
  std::optional<std::string> lookup(std::string_view keyText);
  /// Stores `object` for `keyText` atomically (unique temp file in the same
  /// directory, then rename; no fsync: a crash may lose an entry, which the
  /// checksum then rejects). False when disabled or on any failure
  /// (read-only directory, disk full); never throws.
  bool store(std::string_view keyText, std::string_view object);

  /// Counts entries and bytes in the directory, plus this object's counters.
  CacheStats stats() const;
  /// Removes every entry and every temp file left by an interrupted store;
  /// returns how many entries were removed.
  size_t clear();

private:
  CompileCache(std::string directory, bool enabled);

  std::string dir;
  std::atomic<bool> isEnabled;
  std::atomic<uint64_t> hits{0}, misses{0}, stores{0}, corrupt{0};
};

/// What `thjit --cache=stats` prints: aligned "name: value" lines
/// (directory, status, entries, size in B/KiB/MiB/GiB, and this process's
/// counters when any is nonzero), ending with a newline.
std::string formatCacheStats(const CacheStats &stats);

} // namespace thjit

#endif
