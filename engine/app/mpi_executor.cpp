// The MPI door: the only file that includes mpi.h (built with TECHDEP_WITH_MPI). Rank 0 hands
// out run indices one at a time and receives each result as bytes; the other ranks compute.
// Dynamic hand-out balances runs of unequal length; which rank computed a run never reaches the
// output, so a job writes the same bytes as a threaded run.

#include <mpi.h>

#include <cstdint>
#include <cstdlib>
#include <deque>

#include <fmt/format.h>

#include "app/run_executor.hpp"
#include "techdep/core/error.hpp"

namespace techdep::detail {

namespace {

constexpr int kTagWork = 1;
constexpr int kTagStop = 2;
constexpr int kTagResult = 3;

// Open MPI, MPICH and Slurm's PMI set these in every process they launch.
bool launched_by_mpirun() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

void check(int code, const char* what) {
  if (code != MPI_SUCCESS) throw IoError(fmt::format("MPI: {} failed (code {})", what, code));
}

class MpiExecutor final : public RunExecutor {
 public:
  MpiExecutor() {
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiExecutor() override {
    // A coordinator that failed before finishing still releases its workers.
    if (rank_ == 0 && !finished_) stop_workers(-1);
    MPI_Finalize();
  }
  MpiExecutor(const MpiExecutor&) = delete;
  MpiExecutor& operator=(const MpiExecutor&) = delete;

  bool coordinator() const override { return rank_ == 0; }
  int ranks() const override { return size_; }

  void execute(const std::vector<std::size_t>& todo, const RunTask& task, const ResultSink& sink,
               const std::atomic<bool>* interrupt) override {
    if (rank_ != 0) {
      serve(task);
      return;
    }
    if (size_ == 1) {
      for (const std::size_t index : todo) {
        if (interrupt != nullptr && interrupt->load()) break;
        sink(task(index));
      }
      return;
    }
    std::size_t next = 0;
    int busy = 0;
    bool stopping = false;
    const auto hand_out = [&](int worker) {
      if (stopping || next >= todo.size() || (interrupt != nullptr && interrupt->load())) return;
      const auto index = static_cast<std::uint64_t>(todo[next++]);
      check(MPI_Send(&index, 1, MPI_UINT64_T, worker, kTagWork, MPI_COMM_WORLD), "MPI_Send");
      ++busy;
    };
    for (int worker = 1; worker < size_; ++worker) hand_out(worker);
    std::string buffer;
    while (busy > 0) {
      MPI_Status status;
      check(MPI_Probe(MPI_ANY_SOURCE, kTagResult, MPI_COMM_WORLD, &status), "MPI_Probe");
      int bytes = 0;
      MPI_Get_count(&status, MPI_BYTE, &bytes);
      buffer.assign(static_cast<std::size_t>(bytes), '\0');
      check(MPI_Recv(buffer.data(), bytes, MPI_BYTE, status.MPI_SOURCE, kTagResult, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE),
            "MPI_Recv");
      --busy;
      try {
        sink(std::move(buffer));
      } catch (...) {
        stopping = true;
        drain(busy);
        throw;
      }
      hand_out(status.MPI_SOURCE);
    }
  }

  int finish(int exit_code) override {
    if (rank_ == 0) {
      stop_workers(exit_code);
      finished_ = true;
      return exit_code;
    }
    return worker_exit_code_;
  }

 private:
  void serve(const RunTask& task) {
    while (true) {
      MPI_Status status;
      MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
      if (status.MPI_TAG == kTagStop) {
        int code = 0;
        MPI_Recv(&code, 1, MPI_INT, 0, kTagStop, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        worker_exit_code_ = code < 0 ? 1 : code;
        return;
      }
      std::uint64_t index = 0;
      MPI_Recv(&index, 1, MPI_UINT64_T, 0, kTagWork, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      const std::string result = task(static_cast<std::size_t>(index));
      check(MPI_Send(result.data(), static_cast<int>(result.size()), MPI_BYTE, 0, kTagResult,
                     MPI_COMM_WORLD),
            "MPI_Send");
    }
  }

  // Receives and drops the results still in flight, so that no worker blocks in a send.
  static void drain(int busy) {
    std::string buffer;
    for (; busy > 0; --busy) {
      MPI_Status status;
      MPI_Probe(MPI_ANY_SOURCE, kTagResult, MPI_COMM_WORLD, &status);
      int bytes = 0;
      MPI_Get_count(&status, MPI_BYTE, &bytes);
      buffer.assign(static_cast<std::size_t>(bytes), '\0');
      MPI_Recv(buffer.data(), bytes, MPI_BYTE, status.MPI_SOURCE, kTagResult, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
    }
  }

  void stop_workers(int exit_code) {
    for (int worker = 1; worker < size_; ++worker) {
      MPI_Send(&exit_code, 1, MPI_INT, worker, kTagStop, MPI_COMM_WORLD);
    }
  }

  int rank_ = 0;
  int size_ = 1;
  bool finished_ = false;
  int worker_exit_code_ = 0;
};

}  // namespace

std::unique_ptr<RunExecutor> make_run_executor(int threads) {
  if (!launched_by_mpirun()) return make_thread_executor(threads);
  return std::make_unique<MpiExecutor>();
}

}  // namespace techdep::detail
