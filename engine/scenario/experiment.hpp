#pragma once
// The keys that turn one scenario into many runs: `replicates`, `uncertain` and `sweep`. Sweep
// points and sampled values become extra overrides applied to the effective document, so any
// path `--set` accepts can be varied. Private to engine/scenario.

#include <string>
#include <vector>

#include "scenario/checker.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep::detail {

/// The located form of a scenario's sweep and uncertain parameters, kept to build points later.
struct Experiment {
  std::vector<std::string> paths;          ///< sweep paths
  std::vector<Loc> path_locs;              ///< where each sweep path is written
  std::vector<std::vector<NodePtr>> points;  ///< [point][path]; null: the point leaves it alone
  std::vector<Loc> uncertain_locs;         ///< where each uncertain path is written
  FactsIndex facts;                        ///< for re-validating a point
};

/// Reads `replicates`, `uncertain` and `sweep` of `root` into `spec` and `experiment`, and checks
/// every path by applying it to a copy of `root` (problems point at where the path is written).
/// `from_csv` designs are read here; their files are appended to `input_files`.
void read_experiment(const Node& root, Checker& checker, ScenarioSpec& spec,
                     Experiment& experiment, std::vector<std::string>& input_files);

/// A copy of `root` without the experiment keys, with sweep point `point` and the sampled
/// `uncertain_values` (one per uncertain parameter, or none) applied as overrides.
NodePtr experiment_point(const Node& root, const ScenarioSpec& spec, const Experiment& experiment,
                         int point, const std::vector<double>& uncertain_values,
                         Diagnostics& diagnostics);

}  // namespace techdep::detail
