#pragma once
// Threads kept for a simulation's whole run, for the phases that split the countries among
// threads at every step. Starting threads for each phase (parallel_for) costs more than a small
// world's phase; a team's helpers sleep between phases and are woken in microseconds. Chunks are
// taken by whichever thread is free, so a thread whose core another process holds takes fewer:
// the phase waits for the slow core only for the chunk that thread is on, never for a fixed half
// of the work.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace techdep {

class WorkerTeam {
 public:
  /// Starts `threads - 1` helpers; the caller of for_chunks is the team's worker 0. A helper that
  /// cannot be started leaves a smaller team (the results are the same).
  explicit WorkerTeam(int threads);
  ~WorkerTeam();
  WorkerTeam(const WorkerTeam&) = delete;
  WorkerTeam& operator=(const WorkerTeam&) = delete;

  /// Workers, the caller included: `worker` arguments are below it.
  std::size_t size() const { return helpers_.size() + 1; }

  /// Calls task(begin, end, worker) once for every chunk [begin, end) of [0, count), `grain`
  /// long (the last one shorter), on whichever worker is free; returns when all are done. A
  /// task that writes only its own chunk's results, using `worker` only to pick its scratch,
  /// gives the same results for any team and any timing. If tasks throw, the exception of the
  /// lowest chunk is rethrown after every chunk is done. Not reentrant.
  template <class Task>
  void for_chunks(std::size_t count, std::size_t grain, Task&& task) {
    using Decayed = std::remove_reference_t<Task>;
    run(count, grain, [](void* context, std::size_t begin, std::size_t end, std::size_t worker) {
      (*static_cast<Decayed*>(context))(begin, end, worker);
    }, const_cast<void*>(static_cast<const void*>(&task)));
  }

 private:
  using Call = void (*)(void*, std::size_t, std::size_t, std::size_t);
  void run(std::size_t count, std::size_t grain, Call call, void* context);
  void take_chunks(std::size_t worker) noexcept;
  void helper_loop(std::size_t worker) noexcept;

  std::vector<std::thread> helpers_;
  // Odd while a job is open. A helper counts itself in `busy_` and then checks the job is still
  // the one it saw open; the caller closes the job and waits for `busy_` to reach 0 before it
  // touches the job again, so no helper works on a job that is gone.
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> busy_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> next_chunk_{0};
  std::size_t count_ = 0, grain_ = 1, chunks_ = 0;
  Call call_ = nullptr;
  void* context_ = nullptr;
  std::mutex error_mutex_;
  std::exception_ptr error_;
  std::size_t error_chunk_ = 0;
};

/// task(begin, end, worker) over [0, count) in chunks of `grain` on `team`, or in one call on
/// the caller's thread (worker 0) without one.
template <class Task>
void for_chunks_on(WorkerTeam* team, std::size_t count, std::size_t grain, Task&& task) {
  if (team == nullptr) {
    if (count > 0) task(std::size_t{0}, count, std::size_t{0});
    return;
  }
  team->for_chunks(count, grain, task);
}

/// task(index) for every index of [0, count), one index a chunk on `team`, or in order on the
/// caller's thread without one: for tasks that need no scratch of their worker.
template <class Task>
void for_each_on(WorkerTeam* team, std::size_t count, Task&& task) {
  for_chunks_on(team, count, 1, [&](std::size_t begin, std::size_t end, std::size_t) {
    for (std::size_t index = begin; index < end; ++index) task(index);
  });
}

}  // namespace techdep
