//===- thjit/Array/Random.h - NumPy's legacy RandomState --------*- C++ -*-===//
///
/// \file
/// RandomState reproduces the streams of NumPy's legacy
/// numpy.random.RandomState (and so of the np.random.* functions) bit for
/// bit: the same seed and the same sequence of calls give exactly the same
/// doubles and integers as NumPy 1.24. The generator is MT19937; floats use
/// NumPy's 53-bit random_sample, normals the legacy polar Box-Muller with its
/// cached second value, and bounded integers the legacy masked rejection
/// sampling, drawing 32-bit or 64-bit words (or 8-, 16- and 1-bit pieces of
/// a buffered 32-bit word for the small dtypes) exactly as NumPy does.
///
//===----------------------------------------------------------------------===//
#ifndef THJIT_ARRAY_RANDOM_H
#define THJIT_ARRAY_RANDOM_H

#include "thjit/Array/NDArray.h"

#include <array>
#include <cstdint>
#include <vector>

namespace thjit {

class RandomState {
public:
  /// The number of 32-bit words of MT19937's state.
  static constexpr int kStateWords = 624;

  /// The whole state, as numpy.random.get_state() reports it:
  /// ('MT19937', key, pos, has_gauss, cached_gaussian).
  struct State {
    std::array<uint32_t, kStateWords> key{};
    int pos = kStateWords;
    bool hasGauss = false;
    double gauss = 0.0;
  };

  /// Seeds from std::random_device (as RandomState() seeds from the OS).
  RandomState();
  /// RandomState(seed) for an integer seed; ValueError unless
  /// 0 <= seed <= 2**32 - 1.
  explicit RandomState(int64_t seed);

  /// np.random.seed(seed) for an integer seed: MT19937's init_genrand, and
  /// the cached normal is dropped. ValueError unless 0 <= seed <= 2**32 - 1
  /// (any uint32_t is accepted).
  void seed(int64_t seed);
  /// np.random.seed([k0, k1, ...]): MT19937's init_by_array. ValueError when
  /// `key` is empty or a word is outside [0, 2**32 - 1].
  void seedArray(const std::vector<int64_t> &key);

  State getState() const;
  /// Restores a state from getState(); ValueError when pos is not in
  /// [0, 624].
  void setState(const State &state);

  // ---- single draws
  /// The next tempered 32-bit output of MT19937.
  uint32_t nextUInt32();
  /// Two 32-bit outputs, the first in the high half (NumPy's next_uint64).
  uint64_t nextUInt64();
  /// A double in [0, 1) from 53 random bits (random_sample with size=None).
  double randomSample();
  /// A standard normal (standard_normal with size=None).
  double standardNormal();
  /// A uniform integer in [0, max] by masked rejection (NumPy's
  /// random_interval, used by shuffle and permutation).
  uint64_t randomInterval(uint64_t max);

  // ---- arrays; shape {} gives a 0-d array. Negative dimensions are a
  // ValueError.
  /// random_sample(shape) / rand(*shape): float64 in [0, 1).
  NDArray rand(const Shape &shape);
  /// standard_normal(shape) / randn(*shape): float64.
  NDArray randn(const Shape &shape);
  /// uniform(low, high, shape): low + (high - low) * random_sample().
  /// ValueError "Range exceeds valid bounds" when high - low is not finite
  /// (NumPy raises OverflowError).
  NDArray uniform(double low, double high, const Shape &shape);
  /// normal(loc, scale, shape): loc + scale * standard_normal(). ValueError
  /// "scale < 0" when scale has its sign bit set (-0.0 included; NaN is
  /// accepted), as in NumPy.
  NDArray normal(double loc, double scale, const Shape &shape);
  /// randint(low, high, shape, dtype): integers in [low, high) of an
  /// integer dtype or Bool. ValueError "low >= high", "low is out of bounds
  /// for int8", "high is out of bounds for int8" (checked in that order
  /// after the bounds); TypeError for other dtypes. An empty shape draws
  /// nothing and checks no bounds, as in NumPy.
  NDArray randint(int64_t low, int64_t high, const Shape &shape,
                  DType t = DType::Int64);
  /// permutation(n): a shuffled arange(n) of int64. ValueError when n < 0.
  NDArray permutation(int64_t n);
  /// permutation(x): a shuffled copy of x (along its first axis).
  NDArray permutation(const NDArray &x);
  /// shuffle(x): shuffles x in place along its first axis (legacy
  /// Fisher-Yates from the end); 0-d arrays are a TypeError.
  void shuffle(NDArray &x);

private:
  void reload();

  std::array<uint32_t, kStateWords> key{};
  int pos = kStateWords;
  bool hasGauss = false;
  double gauss = 0.0;
};

/// The process-wide instance behind np.random.* (seeded from
/// std::random_device until seed() is called). Not thread-safe.
RandomState &globalRandomState();

} // namespace thjit

#endif
