#pragma once
// `techdep sweep` and `techdep run --replicates N` as library calls: every (sweep point,
// replicate) run of a scenario, on local threads or MPI ranks, summarised per point and step.
// Outputs do not depend on the thread or rank count (docs/output-format.md, "Sweep folder").

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "techdep/app/run.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep {

struct SweepRequest {
  std::string scenario_path;
  std::vector<Override> overrides;
  std::optional<std::uint64_t> seed;    ///< replaces the scenario's base seed
  std::optional<int> replicates;        ///< replaces the scenario's `replicates`
  std::optional<std::filesystem::path> out_dir;  ///< default: runs/<UTC time>_<name>
  bool use_sweep = true;           ///< false: the scenario's own point only (`run --replicates`)
  bool write_timeseries = false;   ///< every run's rows in timeseries.csv
  bool resume = false;             ///< finish `<out>.incomplete` instead of starting afresh
  bool check_invariants = false;
  int threads = 1;                 ///< runs side by side; results do not depend on it
  std::string command = "sweep";  ///< recorded in the manifest
  std::vector<std::string> argv;
  /// Set asynchronously (SIGINT, SIGTERM): no new run starts, finished ones are kept, the
  /// manifest says `interrupted` and `resume` can finish the sweep later.
  const std::atomic<bool>* interrupt = nullptr;
  std::function<void(const SweepProgress&)> on_progress;
};

struct SweepOutcome {
  /// The finished folder; when interrupted, the `<out>.incomplete` folder to resume.
  std::filesystem::path out_dir;
  /// Completed, Partial (some runs failed: exit 4) or Interrupted (exit 130).
  RunStatus status = RunStatus::Completed;
  std::size_t runs_total = 0;
  std::size_t runs_failed = 0;
  std::size_t runs_this_session = 0;  ///< runs computed now (not reused from an earlier session)
  std::string summary;                ///< a few lines for the terminal
  bool mpi_worker = false;            ///< an MPI rank other than 0: it wrote and prints nothing
};

/// Runs every point x replicate. Throws ScenarioError, IoError (the folder exists, or an
/// incomplete one does without `resume`), UsageError (resuming a different sweep). A run that
/// fails is recorded, not thrown.
SweepOutcome run_sweep(const SweepRequest& request);

/// `techdep run` with several replicates or uncertain parameters: the scenario's own point,
/// `replicates` runs, written like a sweep folder (timeseries.csv unless `summary_only`).
RunOutcome run_replicates(const RunRequest& request, int replicates);

/// The folder an unfinished sweep bound for `out_dir` lives in: `<out_dir>.incomplete`.
std::filesystem::path incomplete_dir(const std::filesystem::path& out_dir);

}  // namespace techdep
