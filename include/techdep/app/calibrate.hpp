#pragma once
// `techdep calibrate` as a library call: fit scenario numbers, named by `--set` paths, to the
// scenario's own observations, and write the fitted values, the residuals and provenance
// atomically. The CLI parses flags into a CalibrateRequest and maps exceptions to exit codes.

#include <atomic>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "techdep/core/error.hpp"
#include "techdep/scenario/load_scenario.hpp"

namespace techdep {

/// Observations dated after this month are refused unless `allow_late`: 2021-2022 is the
/// calibration period, later years are how the scenarios are judged (docs/calibration.md).
inline constexpr std::string_view kLastCalibrationMonth = "2022-12";

/// One `--fit PATH[=LOW:HIGH]`: a number in the scenario and the interval to search.
struct FitParameter {
  std::string path;            ///< any `--set` path to a number, e.g. `events[wave-1].rate`
  std::optional<double> low;   ///< absent: the low end of the parameter's catalogue range
  std::optional<double> high;  ///< absent: the high end of the parameter's catalogue range
};

/// Parses `PATH` or `PATH=LOW:HIGH`. Throws UsageError naming the flag.
FitParameter parse_fit_parameter(const std::string& text);

struct CalibrateRequest {
  std::string scenario_path;
  std::vector<FitParameter> parameters;
  std::vector<Override> overrides;  ///< applied before the fitted values
  std::optional<std::filesystem::path> out_dir;  ///< default: runs/<UTC time>_<name>-calibrate
  int max_evaluations = 200;  ///< model runs the optimiser may ask for (the first included)
  bool allow_late = false;    ///< permit observations after kLastCalibrationMonth
  int threads = 1;
  std::vector<std::string> argv;  ///< recorded in the manifest
  /// Set asynchronously (SIGINT, SIGTERM): the fit stops after the current model run and
  /// calibrate_scenario throws Interrupted; no folder is written.
  const std::atomic<bool>* interrupt = nullptr;
};

/// Thrown when a calibration was interrupted (exit 130).
class Interrupted : public Error {
 public:
  using Error::Error;
};

struct FittedParameter {
  std::string path;
  double initial = 0.0;  ///< the scenario's value (clamped into [low, high])
  double fitted = 0.0;
  double low = 0.0;
  double high = 0.0;
};

struct ObservationFit {
  ObservationSpec observation;
  double model_before = 0.0;
  double model_after = 0.0;
};

struct CalibrateOutcome {
  std::filesystem::path out_dir;
  ScenarioSpec spec;  ///< the scenario with the fitted values
  std::vector<FittedParameter> parameters;
  std::vector<ObservationFit> observations;
  double objective_before = 0.0;  ///< sum of ((model - observed) / tolerance)^2
  double objective_after = 0.0;
  int evaluations = 0;
  std::string stop_reason;
  std::string report;  ///< calibrate.txt, also printed by the CLI
};

/// Minimises the sum over the scenario's observations of ((model - observed) / tolerance)^2
/// with NLopt's BOBYQA inside the bounds. Deterministic: the same request gives the same fit.
/// Throws UsageError (bad parameters or bounds, no observations, a zero tolerance, an
/// observation after kLastCalibrationMonth), ScenarioError (the scenario, or a trial value the
/// format rejects), IoError (outputs), NumericalError (the model broke an invariant). On a throw
/// no folder is left behind.
CalibrateOutcome calibrate_scenario(const CalibrateRequest& request);

}  // namespace techdep
