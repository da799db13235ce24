#pragma once
// `techdep sensitivity`: Morris elementary-effects screening (Morris 1991; Campolongo et al.
// 2007's mu*) of the assumptions behind one output, over the `uncertain:` parameters' ranges or
// explicit `--param PATH=LOW:HIGH` ranges.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "techdep/app/compare.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep {

/// Morris statistics of one parameter. Effects are in output units per full range of the
/// parameter: EE = (f(x + delta e_i) - f(x)) / delta with x in the unit cube.
struct MorrisStatistics {
  double mu = 0.0;       ///< mean elementary effect (signed)
  double mu_star = 0.0;  ///< mean absolute effect: the ranking measure
  double sigma = 0.0;    ///< standard deviation (n - 1): non-linearity or interactions
  int effects = 0;       ///< one per trajectory
};

/// `trajectories` one-at-a-time trajectories on a `levels`-level grid of the unit cube, each
/// `parameters + 1` points (trajectory-major), step delta = levels / (2 (levels - 1)). Drawn from
/// the Permutations stream of `seed`.
std::vector<std::vector<double>> morris_design(int parameters, int trajectories, int levels,
                                               std::uint64_t seed);

/// Elementary-effects statistics from the model's values at the design's points.
std::vector<MorrisStatistics> morris_statistics(const std::vector<std::vector<double>>& design,
                                                const std::vector<double>& values, int parameters);

struct SensitivityRequest {
  std::string scenario;  ///< a scenario file or a run folder
  std::vector<Override> overrides;
  std::string metric, country, sector, partner, at;  ///< as for explain
  std::vector<std::string> params;  ///< `PATH=LOW:HIGH`; empty: every `uncertain:` parameter
  int trajectories = 10;
  int levels = 4;
  std::optional<std::filesystem::path> out_dir;  ///< sensitivity.csv, elementary_effects.csv
  int threads = 1;
  EvaluationControl control;
};

struct ParameterSensitivity {
  std::string path;
  double low = 0.0;
  double high = 0.0;
  MorrisStatistics stats;
};

struct SensitivityOutcome {
  std::vector<ParameterSensitivity> parameters;  ///< ranked by mu*, largest first
  double nominal_value = 0.0;  ///< the output with the scenario's own values
  int runs = 0;
  std::string table;
  bool interrupted = false;  ///< control.interrupt stopped it: nothing else is set or written
};

/// Throws UsageError (no parameters, a bad range or target), ScenarioError (a path or value the
/// scenario rejects), IoError.
SensitivityOutcome sensitivity_analysis(const SensitivityRequest& request);

}  // namespace techdep
