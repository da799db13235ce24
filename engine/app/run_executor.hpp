#pragma once
// Where the runs of a sweep execute: threads of this process, or the ranks of an MPI job. Either
// way, each result reaches the coordinating thread of rank 0 as bytes, and the files written from
// them depend only on the results, never on which thread or rank computed them. Private to
// engine/app.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace techdep::detail {

/// Computes run `index` and returns its encoded result. Must not throw.
using RunTask = std::function<std::string(std::size_t index)>;
/// Receives one encoded result, on the coordinating thread. May throw (writing failed): no new
/// run starts and the exception propagates once the runs in flight have stopped.
using ResultSink = std::function<void(std::string encoded)>;

class RunExecutor {
 public:
  virtual ~RunExecutor() = default;
  /// Rank 0 (or a single process): the one that writes files.
  virtual bool coordinator() const = 0;
  /// Processes computing runs: 1 without MPI.
  virtual int ranks() const = 0;
  /// Coordinator: runs every index of `todo` somewhere and hands each result to `sink`; no new
  /// run starts once `interrupt` is set. Worker ranks: compute whatever the coordinator sends
  /// until it says stop (`todo` and `sink` are ignored).
  virtual void execute(const std::vector<std::size_t>& todo, const RunTask& task,
                       const ResultSink& sink, const std::atomic<bool>* interrupt) = 0;
  /// Coordinator: tells the workers the exit code it will return. Workers: returns that code.
  virtual int finish(int exit_code) = 0;
};

/// Up to `threads` runs side by side in this process.
std::unique_ptr<RunExecutor> make_thread_executor(int threads);

/// An MPI executor when the binary was built with TECHDEP_WITH_MPI and started by mpirun (one
/// run at a time per rank; rank 0 coordinates); otherwise the thread executor.
std::unique_ptr<RunExecutor> make_run_executor(int threads);

}  // namespace techdep::detail
