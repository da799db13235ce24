#pragma once
// `techdep compare` and `techdep explain`: what-if analysis on top of the simulation.

#include <array>
#include <atomic>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "techdep/scenario/load_scenario.hpp"

namespace techdep {

/// Every selected series of a scenario, recorded at every step: values[step][series].
struct SeriesTable {
  std::vector<std::string> names;  ///< series_name() of each column
  std::vector<std::vector<double>> values;
};

/// Runs the scenario in aggregate mode and records the series its outputs select, every step.
SeriesTable simulate_series(const ScenarioSpec& spec, int threads = 1);

/// A scenario file, or a run folder (replayed from its scenario.resolved.yaml).
LoadedScenario load_scenario_or_run(const std::string& path,
                                    const std::vector<Override>& overrides);

struct CompareRequest {
  std::string base;
  std::vector<std::string> variants;
  std::vector<Override> overrides;  ///< applied to the base and every variant alike
  /// A difference counts as diverging when |difference| > threshold x max(1, scale), scale being
  /// the series' largest magnitude in base or variant: 0.01 of a share, 1% of a head count.
  double threshold = 0.01;
  std::optional<std::filesystem::path> out_dir;
  int threads = 1;
};

struct SeriesComparison {
  std::string variant;
  std::string series;
  double base_end = 0.0;
  double variant_end = 0.0;
  double peak_difference = 0.0;  ///< the signed difference of largest magnitude
  int peak_step = 0;
  int first_divergence_step = -1;  ///< first step diverging beyond the threshold; -1 never
  /// max(1, largest |value| of the series in base or variant): differences are ranked by
  /// |peak_difference| / scale, so head counts do not crowd out shares.
  double scale = 1.0;
};

struct CompareOutcome {
  std::vector<SeriesComparison> rows;  ///< every common series of every variant
  std::string table;                   ///< the human-readable summary (largest differences)
};

/// Runs base and variants with the same seed (common random numbers) and compares every series
/// they share by name. With out_dir, writes differences.csv and compare_summary.csv atomically.
CompareOutcome compare_scenarios(const CompareRequest& request);

/// A scenario already loaded, and the name its comparison rows carry (`variant`).
struct NamedScenario {
  std::string label;
  ScenarioSpec spec;
};

/// compare_scenarios on loaded scenarios, the first the base (the Python package, whose
/// variants carry their own overrides); writes nothing.
CompareOutcome compare_specs(std::vector<NamedScenario> scenarios, double threshold, int threads);

/// What stops the many model evaluations of `explain` and `sensitivity` early, and who hears how
/// far they are.
struct EvaluationControl {
  /// Set asynchronously (Ctrl-C in the Python package): no new evaluation starts, and the call
  /// returns with `interrupted` set and no results.
  const std::atomic<bool>* interrupt = nullptr;
  /// Called after each evaluation, from the worker threads (so it must be thread-safe).
  std::function<void(std::size_t done, std::size_t total)> on_progress;
};

/// values[i] = evaluate(i) for every i < values.size(), on `threads` threads, under `control`.
/// False when interrupted (values then incomplete).
bool evaluate_all(std::vector<double>& values, int threads, const EvaluationControl& control,
                  const std::function<double(std::size_t)>& evaluate);

/// What `explain` attributes a change to: the scenario's events, or the model's mechanisms that
/// keep a change in place (lock-in, learning, entry), each switched off by its parameter.
enum class ExplainPlayers { Events, Mechanisms };

/// A mechanism `explain --by mechanisms` can switch off: the parameter that carries it (a sector
/// key, or a country key when `sector` is null) and the value that switches it off. It is on
/// when any sector (country) holds another value.
struct ExplainMechanism {
  std::string_view name;
  double SectorSpec::*sector = nullptr;
  double CountrySpec::*country = nullptr;
  double off = 0.0;
};

/// The mechanisms, in the order `explain` lists them.
inline constexpr std::array<ExplainMechanism, 8> kExplainMechanisms{{
    {"switching_cost", &SectorSpec::switching_cost, nullptr, 0.0},
    {"network_effect", &SectorSpec::network_effect, nullptr, 0.0},
    {"reentry_cost", &SectorSpec::reentry_speed, nullptr, 1.0},
    {"lasting_distrust", nullptr, &CountrySpec::distrust_build, 0.0},
    {"learning", &SectorSpec::learning, nullptr, 0.0},
    {"learning_by_doing", &SectorSpec::learning_by_doing, nullptr, 0.0},
    {"idle_pricing", &SectorSpec::idle_pricing, nullptr, 0.0},
    {"entry", &SectorSpec::entry_speed, nullptr, 0.0},
}};

struct ExplainRequest {
  std::string scenario;
  ExplainPlayers by = ExplainPlayers::Events;
  std::vector<Override> overrides;
  std::string metric;
  std::string country;
  std::string sector;   ///< required for sector metrics
  std::string partner;  ///< required for partner and bloc metrics
  std::string segment;  ///< a demand segment of the cell (per-segment metrics); empty: the whole
  std::string at;       ///< a date or step; empty: the last step
  int exact_limit = 10; ///< exact Shapley up to this many events; sampled beyond
  int samples = 200;    ///< permutations for sampled Shapley
  std::optional<std::filesystem::path> out_dir;
  int threads = 1;
  EvaluationControl control;
  /// Called with the number of runs (coalitions) once known, before the first one starts.
  std::function<void(std::size_t runs, std::size_t events, bool exact)> on_plan;
};

struct EventContribution {
  std::string event_id;
  double shapley = 0.0;
  /// Sampled Shapley: the standard error of the mean marginal contribution over the sampled
  /// permutations (sd / sqrt(permutations)); 0 when exact or not a player.
  double standard_error = 0.0;
  double leave_one_out = 0.0;  ///< full minus the scenario without this event
};

struct ExplainOutcome {
  double with_events = 0.0;
  double without_events = 0.0;
  std::string method;  ///< "exact Shapley" or "sampled Shapley (N permutations)"
  std::vector<EventContribution> contributions;  ///< ranked by |shapley|, largest first
  std::string table;
  bool interrupted = false;  ///< control.interrupt stopped it: nothing else is set or written
};

/// Attributes the change in one metric, between the scenario and the same world without its
/// events, to each event. Rules stay in every coalition (they are responses, not events).
ExplainOutcome explain_scenario(const ExplainRequest& request);

/// The value `explain` and `sensitivity` look at: one series at one step.
struct MetricTarget {
  Metric metric = Metric::Shortage;
  CountryId country = -1;
  SectorId sector = -1;  ///< -1 for country metrics
  int partner = -1;      ///< a country, or a bloc for bloc_share; -1 otherwise
  int segment = -1;      ///< a demand segment; -1: the whole demand
  int step = 0;
};

/// The names `--metric --country [--sector] [--partner] [--segment] [--at]` give.
struct MetricTargetNames {
  const std::string& metric;
  const std::string& country;
  const std::string& sector;
  const std::string& partner;
  const std::string& segment;
  const std::string& at;
};

/// Resolves the names against a scenario; an empty `at` means the last step, an empty segment
/// the whole demand. Throws UsageError, naming `command`, for an unknown or missing name, or a
/// segment the cell's demand is not split into.
MetricTarget resolve_metric_target(const ScenarioSpec& spec, std::string_view command,
                                   const MetricTargetNames& names);

/// Simulates `spec` (aggregate mode, seed as given) up to the target's step; the target's value.
double evaluate_target(const ScenarioSpec& spec, const MetricTarget& target);

/// The scenario with only the events in `keep` (indices into spec.events); lifts of removed
/// events are dropped and event references renumbered.
ScenarioSpec with_events(const ScenarioSpec& spec, const std::vector<bool>& keep);

}  // namespace techdep
