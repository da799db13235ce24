// The simulation's team of threads (include/techdep/core/worker_team.hpp): every chunk exactly
// once, job after job, errors of the lowest chunk, and helpers that really take chunks.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "techdep/core/worker_team.hpp"

namespace {

using techdep::WorkerTeam;

}  // namespace

TEST_CASE("A team calls every chunk once, with the chunk's bounds and a worker of the team",
          "[core][threads]") {
  const int threads = GENERATE(1, 2, 4);
  WorkerTeam team(threads);
  REQUIRE(team.size() >= 1);
  REQUIRE(team.size() <= static_cast<std::size_t>(threads));
  for (const std::size_t count : {0, 1, 7, 100, 1001}) {
    for (const std::size_t grain : {1, 3, 64}) {
      std::vector<std::atomic<int>> calls(count);
      std::atomic<bool> bad_bounds{false};
      std::atomic<bool> bad_worker{false};
      team.for_chunks(count, grain, [&](std::size_t begin, std::size_t end, std::size_t worker) {
        if (begin % grain != 0 || end != std::min(count, begin + grain)) bad_bounds = true;
        if (worker >= team.size()) bad_worker = true;
        for (std::size_t i = begin; i < end; ++i) ++calls[i];
      });
      CHECK_FALSE(bad_bounds);
      CHECK_FALSE(bad_worker);
      std::size_t once = 0;
      for (const std::atomic<int>& call : calls) once += call == 1 ? 1 : 0;
      CHECK(once == count);
    }
  }
}

TEST_CASE("A team runs thousands of short jobs one after another without losing a chunk",
          "[core][threads]") {
  // The helpers sleep, wake, and meet jobs that opened and closed while they were away: a chunk
  // taken twice, or one left out, changes a job's sum.
  WorkerTeam team(3);
  std::vector<long> sums(40, 0);
  bool all_right = true;
  for (int job = 0; job < 3000; ++job) {
    std::fill(sums.begin(), sums.end(), 0);
    team.for_chunks(sums.size(), 1 + job % 3, [&](std::size_t begin, std::size_t end, std::size_t) {
      for (std::size_t i = begin; i < end; ++i) sums[i] += static_cast<long>(i) + job;
    });
    for (std::size_t i = 0; i < sums.size(); ++i) {
      if (sums[i] != static_cast<long>(i) + job) all_right = false;
    }
    if (job % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // let them sleep
  }
  CHECK(all_right);
}

TEST_CASE("A team rethrows the lowest failing chunk's error after every chunk has run",
          "[core][threads]") {
  WorkerTeam team(2);
  std::atomic<int> done{0};
  try {
    team.for_chunks(50, 1, [&](std::size_t begin, std::size_t, std::size_t) {
      ++done;
      if (begin == 31 || begin == 17 || begin == 44) {
        throw std::runtime_error("chunk " + std::to_string(begin));
      }
    });
    FAIL("no error was rethrown");
  } catch (const std::runtime_error& error) {
    CHECK(std::string(error.what()) == "chunk 17");
  }
  CHECK(done == 50);
  // The team is still usable.
  std::atomic<int> again{0};
  team.for_chunks(10, 1, [&](std::size_t, std::size_t, std::size_t) { ++again; });
  CHECK(again == 10);
}

TEST_CASE("A team's helpers take chunks while the caller is busy with one", "[core][threads]") {
  WorkerTeam team(2);
  if (team.size() < 2) return;  // the helper could not be started: nothing to check
  // Whoever takes chunk 0 holds it until a helper has run a chunk (at once if the helper took it):
  // the caller alone would wait. After ten seconds it gives up, and the check below fails
  // instead of hanging.
  std::atomic<bool> helped{false};
  team.for_chunks(8, 1, [&](std::size_t begin, std::size_t, std::size_t worker) {
    if (worker != 0) helped = true;
    if (begin != 0) return;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!helped && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
  });
  CHECK(helped);
}
