#pragma once
// Random numbers that give the same bytes on any compiler, library and thread count.
//
// Counter-based: a draw is a pure function of (stream key, counter), so agent i at step t gets
// the same number whichever thread handles it and in whatever order (Philox4x32-10, Salmon et
// al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011). Distributions are written here
// because the standard library's differ between implementations.

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>

namespace techdep {

/// splitmix64's finaliser: a bijective 64-bit mix (Steele, Lea, Flood 2014).
constexpr std::uint64_t mix64(std::uint64_t value) {
  value += 0x9e3779b97f4a7c15ULL;
  value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
  value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
  return value ^ (value >> 31);
}

/// Combines words into one key; order matters.
constexpr std::uint64_t hash_words(std::uint64_t first, std::uint64_t second) {
  return mix64(first ^ mix64(second + 0x632be59bd9b4e019ULL));
}

/// Seeds are whole numbers below 2^53: R, JavaScript and spreadsheets read numbers as doubles,
/// and a larger seed read back from runs.csv or manifest.json would name another run.
inline constexpr std::uint64_t kMaxSeed = (std::uint64_t{1} << 53) - 1;

/// The seed of one run: a function of (base seed, replicate) only, never of the sweep point or
/// the scenario's content, so the points of a sweep, a baseline and its variants all draw the
/// same numbers (common random numbers): a difference between two of them carries no sampling
/// noise of its own. Below 2^53 like every seed (kMaxSeed).
constexpr std::uint64_t run_seed(std::uint64_t base_seed, std::uint64_t replicate) {
  return hash_words(base_seed, replicate) & kMaxSeed;
}

/// Populations that draw random numbers, each from its own streams.
enum class Population : std::uint32_t { Firms = 1, Workers = 2, Parameters = 3, Permutations = 4 };

/// The key of an independent stream: (run seed, population, country, sector).
constexpr std::uint64_t stream_key(std::uint64_t seed, Population population, int country,
                                   int sector) {
  const std::uint64_t where = (static_cast<std::uint64_t>(population) << 48) ^
                              (static_cast<std::uint64_t>(static_cast<std::uint32_t>(country)) << 24) ^
                              static_cast<std::uint64_t>(static_cast<std::uint32_t>(sector));
  return hash_words(seed, where);
}

/// Philox4x32-10's constants: the round multipliers and the key's Weyl increments (also used by
/// the batched version in engine/core/rng.cpp).
namespace philox {
inline constexpr std::uint32_t kMultiplier0 = 0xD2511F53U;
inline constexpr std::uint32_t kMultiplier1 = 0xCD9E8D57U;
inline constexpr std::uint32_t kWeyl0 = 0x9E3779B9U;
inline constexpr std::uint32_t kWeyl1 = 0xBB67AE85U;
inline constexpr int kRounds = 10;
}  // namespace philox

/// Philox4x32 with 10 rounds: four 32-bit outputs for a 128-bit counter and a 64-bit key.
constexpr std::array<std::uint32_t, 4> philox4x32(std::array<std::uint32_t, 4> counter,
                                                  std::array<std::uint32_t, 2> key) {
  using namespace philox;
  for (int round = 0; round < kRounds; ++round) {
    const std::uint64_t product0 = static_cast<std::uint64_t>(kMultiplier0) * counter[0];
    const std::uint64_t product1 = static_cast<std::uint64_t>(kMultiplier1) * counter[2];
    const auto high0 = static_cast<std::uint32_t>(product0 >> 32);
    const auto low0 = static_cast<std::uint32_t>(product0);
    const auto high1 = static_cast<std::uint32_t>(product1 >> 32);
    const auto low1 = static_cast<std::uint32_t>(product1);
    counter = {high1 ^ counter[1] ^ key[0], low1, high0 ^ counter[3] ^ key[1], low0};
    key = {key[0] + kWeyl0, key[1] + kWeyl1};
  }
  return counter;
}

/// A counter-based stream: draw(i, j) is the j-th 64-bit number of item i at counter `step`.
class CounterRng {
 public:
  explicit constexpr CounterRng(std::uint64_t key) : key_(key) {}
  /// words(item, step, lane) for the items first_item, ..., first_item + count - 1, into
  /// first_words[i] and second_words[i]: the same numbers, computed for many items at once in
  /// vector lanes (a loop over a million agents spends most of its time in Philox otherwise).
  void fill_words(std::uint64_t first_item, std::size_t count, std::uint32_t step,
                  std::uint32_t lane, std::uint64_t* first_words,
                  std::uint64_t* second_words) const;

  /// Two independent 64-bit words for (item, step, lane); lane picks among several draws.
  constexpr std::array<std::uint64_t, 2> words(std::uint64_t item, std::uint32_t step,
                                               std::uint32_t lane = 0) const {
    const std::array<std::uint32_t, 4> out = philox4x32(
        {static_cast<std::uint32_t>(item), static_cast<std::uint32_t>(item >> 32), step, lane},
        {static_cast<std::uint32_t>(key_), static_cast<std::uint32_t>(key_ >> 32)});
    return {(static_cast<std::uint64_t>(out[0]) << 32) | out[1],
            (static_cast<std::uint64_t>(out[2]) << 32) | out[3]};
  }

 private:
  std::uint64_t key_;
};

/// Uniform in [0, 1) with 53 random bits.
constexpr double uniform01(std::uint64_t word) {
  return static_cast<double>(word >> 11) * 0x1.0p-53;
}

/// Uniform in (0, 1]: safe under a logarithm.
constexpr double uniform_open_zero(std::uint64_t word) {
  return static_cast<double>((word >> 11) + 1) * 0x1.0p-53;
}

/// Standard normal from two words (Box-Muller; the cosine branch).
inline double standard_normal(std::uint64_t first, std::uint64_t second) {
  constexpr double kTwoPi = 6.283185307179586476925286766559;
  return std::sqrt(-2.0 * std::log(uniform_open_zero(first))) * std::cos(kTwoPi * uniform01(second));
}

/// Pareto with scale 1 and the given shape (> 0), by inversion: mean shape / (shape - 1).
inline double pareto(std::uint64_t word, double shape) {
  return std::pow(uniform_open_zero(word), -1.0 / shape);
}

/// A small sequential generator for set-up work (sampling parameters, permutations).
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t seed) : state_(seed) {}
  constexpr std::uint64_t next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    std::uint64_t value = state_;
    value = (value ^ (value >> 30)) * 0xbf58476d1ce4e5b9ULL;
    value = (value ^ (value >> 27)) * 0x94d049bb133111ebULL;
    return value ^ (value >> 31);
  }
  /// Uniform in [0, bound) without modulo bias.
  constexpr std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    std::uint64_t draw = next();
    while (draw >= limit) draw = next();
    return draw % bound;
  }

 private:
  std::uint64_t state_;
};

}  // namespace techdep
