#pragma once
// `techdep sensitivity`: Morris elementary-effects screening (Morris 1991; Campolongo et al.
// 2007's mu*) or Sobol variance-based indices (Saltelli sampling, Jansen estimators, bootstrap
// intervals) of the assumptions behind one output, over the `uncertain:` parameters' ranges or
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

/// Sobol indices of one parameter (Saltelli et al. 2010, Jansen's estimators), each with a
/// bootstrap percentile interval at 95%. `first`: the share of the output's variance due to the
/// parameter alone; `total`: with all its interactions. Both 0 when the output does not vary.
struct SobolIndices {
  double first = 0.0, first_low = 0.0, first_high = 0.0;
  double total = 0.0, total_low = 0.0, total_high = 0.0;
};

/// Saltelli's design on the unit cube: `samples` rows of A, then `samples` rows of B, then for
/// each parameter i the `samples` rows of A with column i taken from B: samples x (parameters + 2)
/// points, drawn from the Permutations stream of `seed`.
std::vector<std::vector<double>> sobol_design(int parameters, int samples, std::uint64_t seed);

/// First-order and total indices from the model's values at sobol_design's points, in that order:
/// V_i = V - sum_j (f(B)_j - f(A_B^i)_j)^2 / 2N, V_Ti = sum_j (f(A)_j - f(A_B^i)_j)^2 / 2N, with V
/// the variance of f over A and B; `resamples` bootstrap resamples of the rows j (drawn from
/// `seed`) give the intervals.
std::vector<SobolIndices> sobol_indices(const std::vector<double>& values, int parameters,
                                        int samples, int resamples, std::uint64_t seed);

struct SensitivityRequest {
  std::string scenario;  ///< a scenario file or a run folder
  std::vector<Override> overrides;
  std::string metric, country, sector, partner, segment, at;  ///< as for explain
  std::vector<std::string> params;  ///< `PATH=LOW:HIGH`; empty: every `uncertain:` parameter
  std::string method = "morris";  ///< "morris" (screening) or "sobol" (variance shares)
  int trajectories = 10;
  int levels = 4;
  int samples = 64;      ///< Sobol: base samples N; N x (parameters + 2) runs
  int resamples = 1000;  ///< Sobol: bootstrap resamples for the intervals
  /// Called with the number of runs once the design is known, before the first run starts.
  std::function<void(int runs)> on_plan;
  std::optional<std::filesystem::path> out_dir;  ///< sensitivity.csv, elementary_effects.csv
  int threads = 1;
  EvaluationControl control;
};

struct ParameterSensitivity {
  std::string path;
  double low = 0.0;
  double high = 0.0;
  MorrisStatistics stats;
  SobolIndices sobol;  ///< with method "sobol"
};

struct SensitivityOutcome {
  std::vector<ParameterSensitivity> parameters;  ///< ranked by mu* (Sobol: total index), largest first
  double nominal_value = 0.0;  ///< the output with the scenario's own values
  int runs = 0;
  std::string table;
  bool interrupted = false;  ///< control.interrupt stopped it: nothing else is set or written
};

/// Throws UsageError (no parameters, a bad range or target), ScenarioError (a path or value the
/// scenario rejects), IoError.
SensitivityOutcome sensitivity_analysis(const SensitivityRequest& request);

}  // namespace techdep
