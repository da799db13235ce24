#include <cmath>
#include <set>

#include <catch2/catch.hpp>

#include <vector>

#include "techdep/core/rng.hpp"

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors", "[core][rng]") {
  using techdep::philox4x32;
  CHECK(philox4x32({0, 0, 0, 0}, {0, 0}) ==
        std::array<std::uint32_t, 4>{0x6627e8d5U, 0xe169c58dU, 0xbc57ac4cU, 0x9b00dbd8U});
  CHECK(philox4x32({0xffffffffU, 0xffffffffU, 0xffffffffU, 0xffffffffU},
                   {0xffffffffU, 0xffffffffU}) ==
        std::array<std::uint32_t, 4>{0x408f276dU, 0x41c83b0eU, 0xa20bc7c6U, 0x6d5451fdU});
  CHECK(philox4x32({0x243f6a88U, 0x85a308d3U, 0x13198a2eU, 0x03707344U},
                   {0xa4093822U, 0x299f31d0U}) ==
        std::array<std::uint32_t, 4>{0xd16cfe09U, 0x94fdccebU, 0x5001e420U, 0x24126ea1U});
}

TEST_CASE("Counter streams are pure functions of key, item and step", "[core][rng]") {
  const techdep::CounterRng stream(techdep::stream_key(42, techdep::Population::Workers, 3, -1));
  CHECK(stream.words(7, 5) == stream.words(7, 5));
  CHECK(stream.words(7, 5) != stream.words(8, 5));
  CHECK(stream.words(7, 5) != stream.words(7, 6));
  CHECK(stream.words(7, 5, 0) != stream.words(7, 5, 1));
  const techdep::CounterRng other(techdep::stream_key(42, techdep::Population::Workers, 4, -1));
  CHECK(stream.words(7, 5) != other.words(7, 5));
}

TEST_CASE("Run seeds depend on base seed and replicate, differ across them, fit in a double",
          "[core][rng]") {
  std::set<std::uint64_t> seeds;
  for (std::uint64_t base = 0; base < 50; ++base) {
    for (std::uint64_t replicate = 0; replicate < 50; ++replicate) {
      const std::uint64_t seed = techdep::run_seed(base, replicate);
      seeds.insert(seed);
      CHECK(seed <= techdep::kMaxSeed);
      CHECK(static_cast<std::uint64_t>(static_cast<double>(seed)) == seed);
    }
  }
  CHECK(seeds.size() == 2500);
  CHECK(techdep::run_seed(1, 2) == techdep::run_seed(1, 2));
  CHECK(techdep::run_seed(1, 2) != techdep::run_seed(2, 1));
}

TEST_CASE("Uniform draws have the moments of U(0,1) within sampling error", "[core][rng]") {
  const techdep::CounterRng stream(99);
  constexpr int kDraws = 200000;
  double sum = 0.0;
  double sum_squares = 0.0;
  double normal_sum = 0.0;
  double normal_squares = 0.0;
  for (int item = 0; item < kDraws; ++item) {
    const auto words = stream.words(static_cast<std::uint64_t>(item), 0);
    const double u = techdep::uniform01(words[0]);
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    sum += u;
    sum_squares += u * u;
    const double z = techdep::standard_normal(words[0], words[1]);
    normal_sum += z;
    normal_squares += z * z;
  }
  // Standard errors: mean 1/sqrt(12 n), normal mean 1/sqrt(n); 5 standard errors of slack.
  const double n = kDraws;
  CHECK(std::abs(sum / n - 0.5) < 5.0 / std::sqrt(12.0 * n));
  CHECK(std::abs(sum_squares / n - 1.0 / 3.0) < 5.0 * std::sqrt(4.0 / 45.0 / n));
  CHECK(std::abs(normal_sum / n) < 5.0 / std::sqrt(n));
  CHECK(std::abs(normal_squares / n - 1.0) < 5.0 * std::sqrt(2.0 / n));
}

TEST_CASE("Pareto draws are at least 1 and have the right mean", "[core][rng]") {
  const techdep::CounterRng stream(7);
  constexpr double kShape = 3.0;
  constexpr int kDraws = 200000;
  double sum = 0.0;
  for (int item = 0; item < kDraws; ++item) {
    const double x = techdep::pareto(stream.words(static_cast<std::uint64_t>(item), 0)[0], kShape);
    REQUIRE(x >= 1.0);
    sum += x;
  }
  // Mean 1.5, variance 0.75 for shape 3.
  CHECK(std::abs(sum / kDraws - 1.5) < 5.0 * std::sqrt(0.75 / kDraws));
}

TEST_CASE("Batched draws equal one-at-a-time draws, across a 2^32 item boundary and in ragged "
          "batches", "[core][rng]") {
  const techdep::CounterRng rng(techdep::stream_key(42, techdep::Population::Workers, 3, 0));
  for (const std::uint64_t first : {std::uint64_t{0}, std::uint64_t{12345},
                                    (std::uint64_t{1} << 32) - 37}) {
    for (const std::size_t count : {std::size_t{1}, std::size_t{31}, std::size_t{32},
                                    std::size_t{33}, std::size_t{100}}) {
      std::vector<std::uint64_t> first_words(count), second_words(count);
      rng.fill_words(first, count, 17, 2, first_words.data(), second_words.data());
      for (std::size_t i = 0; i < count; ++i) {
        const auto expected = rng.words(first + i, 17, 2);
        CHECK(first_words[i] == expected[0]);
        CHECK(second_words[i] == expected[1]);
      }
    }
  }
}
