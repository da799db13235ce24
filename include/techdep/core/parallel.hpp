#pragma once
// Runs independent tasks on a few threads. Each task writes only its own result slot, so the
// results do not depend on the thread count or on scheduling.

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>
#include <vector>

namespace techdep {

/// Calls task(index) for index in [0, count) on up to `threads` threads. If tasks throw, the
/// exception of the lowest index is rethrown after all threads stop.
template <typename Task>
void parallel_for(std::size_t count, int threads, Task&& task) {
  const std::size_t workers =
      std::min<std::size_t>(count, static_cast<std::size_t>(std::max(1, threads)));
  std::vector<std::exception_ptr> errors(count);
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t index = next++; index < count; index = next++) {
      try {
        task(index);
      } catch (...) {
        errors[index] = std::current_exception();
      }
    }
  };
  if (workers <= 1) {
    work();
  } else {
    std::vector<std::jthread> pool;
    pool.reserve(workers);
    for (std::size_t worker = 0; worker < workers; ++worker) pool.emplace_back(work);
  }
  for (const std::exception_ptr& error : errors) {
    if (error) std::rethrow_exception(error);
  }
}

/// Splits [0, count) into up to `blocks` contiguous ranges, block b being
/// [b count / n, (b + 1) count / n), and calls task(begin, end, b) for each on its own thread.
/// A task that writes only its own range gives results independent of `blocks`.
template <typename Task>
void parallel_blocks(std::size_t count, std::size_t blocks, Task&& task) {
  const std::size_t used = std::max<std::size_t>(1, std::min(blocks, count));
  parallel_for(used, static_cast<int>(used), [&](std::size_t block) {
    task(block * count / used, (block + 1) * count / used, block);
  });
}

}  // namespace techdep
