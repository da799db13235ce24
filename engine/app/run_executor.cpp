#include "app/run_executor.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

namespace techdep::detail {

namespace {

bool stop_requested(const std::atomic<bool>* interrupt, const std::atomic<bool>& failed) {
  return failed.load() || (interrupt != nullptr && interrupt->load());
}

class ThreadExecutor final : public RunExecutor {
 public:
  explicit ThreadExecutor(int threads) : threads_(std::max(1, threads)) {}

  bool coordinator() const override { return true; }
  int ranks() const override { return 1; }

  void execute(const std::vector<std::size_t>& todo, const RunTask& task, const ResultSink& sink,
               const std::atomic<bool>* interrupt) override {
    std::atomic<bool> sink_failed{false};
    if (threads_ == 1 || todo.size() <= 1) {
      for (const std::size_t index : todo) {
        if (stop_requested(interrupt, sink_failed)) break;
        sink(task(index));
      }
      return;
    }
    std::mutex mutex;
    std::condition_variable ready_cv;
    std::condition_variable room_cv;
    std::deque<std::string> ready;
    std::atomic<std::size_t> next{0};
    const std::size_t workers = std::min<std::size_t>(todo.size(), static_cast<std::size_t>(threads_));
    // A result can be megabytes (every recorded value of a run): workers wait while this many
    // are queued, so a sink slower than the runs bounds memory instead of queueing every run.
    const std::size_t queue_limit = 2 * workers;
    std::size_t active = workers;
    std::exception_ptr sink_error;
    {
      std::vector<std::jthread> pool;
      pool.reserve(workers);
      for (std::size_t worker = 0; worker < workers; ++worker) {
        pool.emplace_back([&] {
          // Runs are taken in index order, so points finish roughly in order and the
          // coordinator can summarise and release each one early.
          while (!stop_requested(interrupt, sink_failed)) {
            const std::size_t slot = next++;
            if (slot >= todo.size()) break;
            std::string result = task(todo[slot]);
            std::unique_lock lock(mutex);
            room_cv.wait(lock, [&] { return ready.size() < queue_limit; });
            ready.push_back(std::move(result));
            ready_cv.notify_one();
          }
          const std::lock_guard lock(mutex);
          --active;
          ready_cv.notify_one();
        });
      }
      while (true) {
        std::unique_lock lock(mutex);
        ready_cv.wait(lock, [&] { return !ready.empty() || active == 0; });
        if (ready.empty()) break;
        std::string result = std::move(ready.front());
        ready.pop_front();
        lock.unlock();
        room_cv.notify_all();
        if (sink_error) continue;  // drain what is in flight, write nothing more
        try {
          sink(std::move(result));
        } catch (...) {
          sink_error = std::current_exception();
          sink_failed = true;
        }
      }
    }
    if (sink_error) std::rethrow_exception(sink_error);
  }

  int finish(int exit_code) override { return exit_code; }

 private:
  int threads_;
};

}  // namespace

std::unique_ptr<RunExecutor> make_thread_executor(int threads) {
  return std::make_unique<ThreadExecutor>(threads);
}

}  // namespace techdep::detail

#ifndef TECHDEP_WITH_MPI
namespace techdep::detail {

std::unique_ptr<RunExecutor> make_run_executor(int threads) {
  return make_thread_executor(threads);
}

}  // namespace techdep::detail
#endif
