#include "techdep/core/rng.hpp"

namespace techdep {
namespace {

// One vector of eight 64-bit lanes, each holding a 32-bit Philox word: GCC's vector extension
// compiles it for AVX-512, AVX2 or SSE2 (the clones below); every version computes the same bits.
// Four vectors at a time: a round's multiplies wait on the previous round, so one vector alone
// leaves the multiplier idle most of the time.
using Lanes = std::uint64_t __attribute__((vector_size(64)));
constexpr std::size_t kLanes = 8;
constexpr std::size_t kVectors = 4;
constexpr std::size_t kBlock = kLanes * kVectors;

// philox4x32 (rng.hpp) of the kBlock counters (item, item >> 32, step, lane), item = first_item
// + i, at once.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
[[gnu::target_clones("avx512f", "avx2", "default")]]
#endif
void philox_block(std::uint64_t first_item, std::size_t count, std::uint32_t step,
                  std::uint32_t lane, std::uint64_t key, std::uint64_t* first_words,
                  std::uint64_t* second_words) {
  using namespace philox;
  constexpr std::uint64_t kLow = 0xFFFFFFFFULL;
  Lanes c0[kVectors], c1[kVectors], c2[kVectors], c3[kVectors];
  for (std::size_t v = 0; v < kVectors; ++v) {
    for (std::size_t i = 0; i < kLanes; ++i) {
      const std::uint64_t item = first_item + v * kLanes + i;
      c0[v][i] = item & kLow;
      c1[v][i] = item >> 32;
      c2[v][i] = step;
      c3[v][i] = lane;
    }
  }
  std::uint64_t key0 = key & kLow;
  std::uint64_t key1 = key >> 32;
  for (int round = 0; round < kRounds; ++round) {
    for (std::size_t v = 0; v < kVectors; ++v) {
      const Lanes product0 = c0[v] * std::uint64_t{kMultiplier0};
      const Lanes product1 = c2[v] * std::uint64_t{kMultiplier1};
      c0[v] = (product1 >> 32) ^ c1[v] ^ key0;
      c2[v] = (product0 >> 32) ^ c3[v] ^ key1;
      c1[v] = product1 & kLow;
      c3[v] = product0 & kLow;
    }
    key0 = (key0 + kWeyl0) & kLow;
    key1 = (key1 + kWeyl1) & kLow;
  }
  for (std::size_t v = 0; v < kVectors; ++v) {
    const Lanes first = (c0[v] << 32) | c1[v];
    const Lanes second = (c2[v] << 32) | c3[v];
    for (std::size_t i = 0; i < kLanes && v * kLanes + i < count; ++i) {
      first_words[v * kLanes + i] = first[i];
      second_words[v * kLanes + i] = second[i];
    }
  }
}

}  // namespace

void CounterRng::fill_words(std::uint64_t first_item, std::size_t count, std::uint32_t step,
                            std::uint32_t lane, std::uint64_t* first_words,
                            std::uint64_t* second_words) const {
  for (std::size_t done = 0; done < count; done += kBlock) {
    const std::size_t block = count - done < kBlock ? count - done : kBlock;
    philox_block(first_item + done, block, step, lane, key_, first_words + done,
                 second_words + done);
  }
}

}  // namespace techdep
