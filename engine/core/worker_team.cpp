#include "techdep/core/worker_team.hpp"

#include <algorithm>
#include <system_error>

namespace techdep {

namespace {

// A W2 step's phases are 0.1 to 1 ms apart: a helper spins for about as long as a wake-up costs
// in this VM (tens of microseconds), then sleeps on the generation (a futex) so that it leaves
// the core to the run's other threads (the time-series writer) and to other processes.
constexpr int kSpinsBeforeSleep = 4096;
// The caller waiting for a helper to finish its last chunk: that helper may share its core with
// another process, so the caller yields after a while instead of taking the core from it.
constexpr int kSpinsBeforeYield = 1024;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

WorkerTeam::WorkerTeam(int threads) {
  const auto helpers = static_cast<std::size_t>(std::max(1, threads) - 1);
  helpers_.reserve(helpers);
  for (std::size_t worker = 1; worker <= helpers; ++worker) {
    try {
      helpers_.emplace_back([this, worker] { helper_loop(worker); });
    } catch (const std::system_error&) {
      break;  // fewer helpers: the caller and the started ones take every chunk
    }
  }
}

WorkerTeam::~WorkerTeam() {
  stopping_.store(true);
  generation_.fetch_add(2);  // stays even: no job, but every sleeping helper sees a change
  generation_.notify_all();
  for (std::thread& helper : helpers_) helper.join();
}

void WorkerTeam::run(std::size_t count, std::size_t grain, Call call, void* context) {
  grain = std::max<std::size_t>(grain, 1);
  const std::size_t chunks = (count + grain - 1) / grain;
  if (helpers_.empty() || chunks <= 1) {
    for (std::size_t begin = 0; begin < count; begin += grain) {
      call(context, begin, std::min(count, begin + grain), 0);
    }
    return;
  }
  count_ = count;
  grain_ = grain;
  chunks_ = chunks;
  call_ = call;
  context_ = context;
  error_ = nullptr;
  error_chunk_ = chunks;
  next_chunk_.store(0);
  generation_.fetch_add(1);  // odd: open
  generation_.notify_all();
  take_chunks(0);
  generation_.fetch_add(1);  // even: closed; a helper that has not counted itself in stays out
  for (int spins = 0; busy_.load() != 0; ++spins) {
    if (spins < kSpinsBeforeYield) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  if (error_) std::rethrow_exception(error_);
}

void WorkerTeam::take_chunks(std::size_t worker) noexcept {
  for (std::size_t chunk = next_chunk_.fetch_add(1); chunk < chunks_;
       chunk = next_chunk_.fetch_add(1)) {
    const std::size_t begin = chunk * grain_;
    try {
      call_(context_, begin, std::min(count_, begin + grain_), worker);
    } catch (...) {
      const std::lock_guard lock(error_mutex_);
      if (chunk < error_chunk_) {
        error_chunk_ = chunk;
        error_ = std::current_exception();
      }
    }
  }
}

void WorkerTeam::helper_loop(std::size_t worker) noexcept {
  // Not a load: the first job may open before this thread first runs, and must not be taken for
  // one already seen.
  std::uint64_t seen = 0;
  while (true) {
    std::uint64_t now = generation_.load();
    for (int spins = 0; now == seen || (now & 1) == 0; now = generation_.load()) {
      if (stopping_.load()) return;
      if (now != seen) {
        seen = now;  // a job opened and closed while this helper was away
        continue;
      }
      if (spins < kSpinsBeforeSleep) {
        ++spins;
        cpu_relax();
      } else {
        generation_.wait(seen);
      }
    }
    // Sequentially consistent: either the caller's wait sees this helper busy, or this helper
    // sees the job closed.
    busy_.fetch_add(1);
    if (generation_.load() == now) take_chunks(worker);
    busy_.fetch_sub(1);
    seen = now;
  }
}

}  // namespace techdep
