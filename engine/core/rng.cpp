#include "techdep/core/rng.hpp"

#include "techdep/core/cpu_dispatch.hpp"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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
TECHDEP_TARGET_CLONES
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

// GCC only: the fuzzing build's clang keeps the portable version.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !TECHDEP_SANITIZED
#define TECHDEP_PHILOX_AVX512 1
// philox_block with AVX-512 intrinsics, the same bits. The vector-extension version's multiply of
// 64-bit lanes compiles to the three-multiply emulation of a 64 x 64 product (GCC does not see
// that the lanes hold 32 bits), and its counters and stores go lane by lane; here each product is
// one vpmuludq (the low 32 bits of each lane), counters are built and words stored a vector at a
// time. Philox was a third of W2 agents' CPU.
// GCC 12's intrinsics pass _mm512_undefined_epi32() as the unused merge operand, which
// -Wuninitialized reports once they are inlined into a function with its own target.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
[[gnu::target("avx512f")]]
void philox_block_avx512(std::uint64_t first_item, std::size_t count, std::uint32_t step,
                         std::uint32_t lane, std::uint64_t key, std::uint64_t* first_words,
                         std::uint64_t* second_words) {
  using namespace philox;
  const __m512i low = _mm512_set1_epi64(0xFFFFFFFFLL);
  const __m512i multiplier0 = _mm512_set1_epi64(kMultiplier0);
  const __m512i multiplier1 = _mm512_set1_epi64(kMultiplier1);
  const __m512i offsets = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
  __m512i c0[kVectors], c1[kVectors], c2[kVectors], c3[kVectors];
  for (std::size_t v = 0; v < kVectors; ++v) {
    const __m512i item = _mm512_add_epi64(
        _mm512_set1_epi64(static_cast<long long>(first_item + v * kLanes)), offsets);
    c0[v] = _mm512_and_si512(item, low);
    c1[v] = _mm512_srli_epi64(item, 32);
    c2[v] = _mm512_set1_epi64(step);
    c3[v] = _mm512_set1_epi64(lane);
  }
  std::uint64_t key0 = key & 0xFFFFFFFFULL;
  std::uint64_t key1 = key >> 32;
  for (int round = 0; round < kRounds; ++round) {
    const __m512i k0 = _mm512_set1_epi64(static_cast<long long>(key0));
    const __m512i k1 = _mm512_set1_epi64(static_cast<long long>(key1));
    for (std::size_t v = 0; v < kVectors; ++v) {
      const __m512i product0 = _mm512_mul_epu32(c0[v], multiplier0);
      const __m512i product1 = _mm512_mul_epu32(c2[v], multiplier1);
      // 0x96: a ^ b ^ c
      c0[v] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(product1, 32), c1[v], k0, 0x96);
      c2[v] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(product0, 32), c3[v], k1, 0x96);
      c1[v] = _mm512_and_si512(product1, low);
      c3[v] = _mm512_and_si512(product0, low);
    }
    key0 = (key0 + kWeyl0) & 0xFFFFFFFFULL;
    key1 = (key1 + kWeyl1) & 0xFFFFFFFFULL;
  }
  for (std::size_t v = 0; v < kVectors && v * kLanes < count; ++v) {
    const __m512i first = _mm512_or_si512(_mm512_slli_epi64(c0[v], 32), c1[v]);
    const __m512i second = _mm512_or_si512(_mm512_slli_epi64(c2[v], 32), c3[v]);
    const std::size_t left = count - v * kLanes;
    const auto mask = static_cast<__mmask8>(left >= kLanes ? 0xFF : (1U << left) - 1U);
    _mm512_mask_storeu_epi64(first_words + v * kLanes, mask, first);
    _mm512_mask_storeu_epi64(second_words + v * kLanes, mask, second);
  }
}
#pragma GCC diagnostic pop
#endif

}  // namespace

void CounterRng::fill_words(std::uint64_t first_item, std::size_t count, std::uint32_t step,
                            std::uint32_t lane, std::uint64_t* first_words,
                            std::uint64_t* second_words) const {
#ifdef TECHDEP_PHILOX_AVX512
  static const bool avx512 = __builtin_cpu_supports("avx512f");
  const auto block_of = avx512 ? philox_block_avx512 : philox_block;
#else
  const auto block_of = philox_block;
#endif
  for (std::size_t done = 0; done < count; done += kBlock) {
    const std::size_t block = count - done < kBlock ? count - done : kBlock;
    block_of(first_item + done, block, step, lane, key_, first_words + done,
             second_words + done);
  }
}

}  // namespace techdep
