#pragma once
// `techdep run` as a library call: load, simulate, write the run folder atomically, summarise.
// The CLI parses flags into a RunRequest and maps exceptions to exit codes; nothing else.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "techdep/scenario/load_scenario.hpp"

namespace techdep {

enum class OutputFormat { Long, Wide, Both };

/// Progress of work made of many runs (replicates, sweep points), reported after each run.
struct SweepProgress {
  std::size_t done = 0;    ///< runs finished, this session and earlier ones
  std::size_t total = 0;   ///< runs in all
  std::size_t failed = 0;  ///< finished runs that failed
};

struct RunRequest {
  std::string scenario_path;
  std::vector<Override> overrides;
  std::optional<std::uint64_t> seed;            ///< replaces the scenario's seed
  std::optional<std::filesystem::path> out_dir; ///< default: runs/<UTC time>_<name>
  OutputFormat format = OutputFormat::Long;
  bool check_invariants = false;
  int threads = 1;
  std::vector<std::string> argv;                ///< recorded in the manifest
  /// Set asynchronously (SIGINT, SIGTERM): the run stops after the current step, writes what it
  /// has and marks the manifest `interrupted`.
  const std::atomic<bool>* interrupt = nullptr;
  /// Several runs: replaces the scenario's `replicates`. With more than one replicate, or with
  /// `uncertain` parameters, the folder is a sweep folder of one point (docs/output-format.md).
  std::optional<int> replicates;
  bool summary_only = false;  ///< several runs: summary.csv without every run's timeseries.csv
  bool resume = false;        ///< several runs: finish `<out>.incomplete`
  std::function<void(const SweepProgress&)> on_progress;
};

/// Partial: a run of several (replicates, sweep points) failed; the others completed.
enum class RunStatus { Completed, Interrupted, Partial };

struct RunOutcome {
  std::filesystem::path run_dir;
  RunStatus status = RunStatus::Completed;
  std::string summary;  ///< the one-screen summary printed at the end
  std::size_t timeseries_rows = 0;
  int steps_done = 0;
  int replicates = 1;
  bool mpi_worker = false;  ///< an MPI rank other than 0: it wrote and prints nothing
};

/// The countries a summary or report leads with: the outputs' countries (or the first three), at
/// most four; the first is the lead.
std::vector<CountryId> focus_countries(const ScenarioSpec& spec);

/// Throws ScenarioError (invalid scenario), IoError (inputs or outputs), NumericalError (the model
/// broke an invariant). On a throw no run folder is left behind.
RunOutcome run_scenario(const RunRequest& request);

/// What one simulated run leaves for its folder besides the time series.
struct RunRecord {
  RunStatus status = RunStatus::Completed;
  int steps_done = 0;
  std::uint64_t run_seed = 0;
  std::string observations_csv;
  std::string events_csv;
  std::string summary;
  std::size_t observation_rows = 0;
  std::size_t event_rows = 0;
  double simulate_seconds = 0.0;
};

/// One run held in memory (the Python package): the bytes of its run folder's files, except the
/// resolved scenario and the manifest, which name the folder and are made by write_run_folder.
struct MemoryRun {
  LoadedScenario loaded;  ///< the scenario as run (seed replaced), its merged document kept
  std::string scenario_path;
  std::vector<Override> overrides;
  int threads = 1;
  std::string started_utc;
  double load_seconds = 0.0;
  std::string timeseries_csv;
  std::size_t timeseries_rows = 0;
  RunRecord record;
};

/// `run_scenario` without a folder: one run of the scenario's own point, its timeseries.csv in
/// long form. `on_step(step, steps)` is called after every step on the calling thread. Ignores
/// out_dir, format and argv. Throws as run_scenario, and UsageError when the scenario asks for
/// several runs (replicates or uncertain parameters: run_sweep).
MemoryRun run_in_memory(const RunRequest& request,
                        const std::function<void(int, int)>& on_step = {});

/// Writes a MemoryRun as the run folder `run_scenario` writes for the same request (only
/// timings, times and argv differ), atomically; an existing folder is an IoError.
void write_run_folder(const MemoryRun& run, const std::filesystem::path& out_dir,
                      const std::vector<std::string>& argv);

}  // namespace techdep
