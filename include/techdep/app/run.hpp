#pragma once
// `techdep run` as a library call: load, simulate, write the run folder atomically, summarise.
// The CLI parses flags into a RunRequest and maps exceptions to exit codes; nothing else.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "techdep/scenario/load_scenario.hpp"

namespace techdep {

enum class OutputFormat { Long, Wide, Both };

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
};

enum class RunStatus { Completed, Interrupted };

struct RunOutcome {
  std::filesystem::path run_dir;
  RunStatus status = RunStatus::Completed;
  std::string summary;  ///< the one-screen summary printed at the end
  std::size_t timeseries_rows = 0;
  int steps_done = 0;
};

/// The countries a summary or report leads with: the outputs' countries (or the first three), at
/// most four; the first is the lead.
std::vector<CountryId> focus_countries(const ScenarioSpec& spec);

/// Throws ScenarioError (invalid scenario), IoError (inputs or outputs), NumericalError (the model
/// broke an invariant). On a throw no run folder is left behind.
RunOutcome run_scenario(const RunRequest& request);

}  // namespace techdep
