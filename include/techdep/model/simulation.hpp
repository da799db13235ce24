#pragma once
// The simulation: owns all model state and steps it through the named phases of model.md
// section 5. No I/O, no global state: two simulations can run side by side.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "techdep/graph/supply_network.hpp"
#include "techdep/model/metrics.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep {

enum class Phase { Events, Routes, Targets, Shares, Capability, Talent, Metrics, Rules };
std::string_view phase_name(Phase phase);

/// Which steps' metrics frames a Simulation computes as it steps. Total dependency warm-starts
/// from the last frame computed, so its last digits depend on this set, never on the caller.
enum class FrameSchedule {
  EveryStep,      ///< after every step (interactive callers that may look at any step)
  RecordedSteps,  ///< the steps a run records (every `outputs.every`, the last) and observes;
                  ///< metrics() at another step computes that frame when asked
};

/// [step] for steps 0 to time.steps: 1 where a run reads the metrics (every `outputs.every`
/// steps, the last step, the observed steps): FrameSchedule::RecordedSteps computes these.
std::vector<unsigned char> recorded_or_observed_steps(const ScenarioSpec& spec);

/// Which metrics a Simulation computes. The model itself never reads the per-flow breakdowns of
/// MetricsFrame (site, value by brand, site and shipper, installed base): in W3 they are
/// five arrays of 32 MB that nothing but an output would look at.
enum class MetricScope {
  All,       ///< every metric: callers that may ask for any (explain, the classroom, the game)
  Scenario,  ///< the optional breakdowns only where the scenario writes, observes or tests them
};

/// Whether the scenario's outputs, observations or rules read `metric`.
bool scenario_reads_metric(const ScenarioSpec& spec, Metric metric);

struct SimulationOptions {
  bool check_invariants = false;  ///< after every phase; always on in debug builds
  int threads = 1;                ///< results do not depend on it
  /// Which run of the scenario this is: the run's seed is
  /// run_seed(spec.seed, replicate) (include/techdep/core/rng.hpp): the same at every point.
  std::uint64_t replicate = 0;
  std::uint64_t point = 0;
  /// Rules read the metrics after every step, so any rule makes this EveryStep.
  FrameSchedule frames = FrameSchedule::EveryStep;
  /// metrics().value() of an optional breakdown the scope left out is a logic_error.
  MetricScope metrics = MetricScope::All;
};

/// A rule that fired: recorded for events.csv and the summary.
struct RuleFiring {
  int step = 0;
  std::string rule_id;
  double condition_value = 0.0;
  std::string event_id;  ///< id of the event it applied (rule id + "@" + step)
};

class Simulation {
 public:
  /// Keeps its own copy of the scenario: pass an rvalue to hand a large one over.
  Simulation(ScenarioSpec spec, SimulationOptions options = {});
  ~Simulation();
  Simulation(Simulation&&) noexcept;
  Simulation& operator=(Simulation&&) noexcept;

  /// Current step index t (0 before the first step, spec.time.steps at the end).
  int step_index() const;
  bool finished() const;
  /// Advances t -> t + 1 through every phase. Throws NumericalError on a broken invariant.
  void step();
  /// Metrics of the current state: computed at construction for t = 0, after every step of the
  /// options' schedule, and otherwise when first asked for (so not safe to call from two threads
  /// at once).
  const MetricsFrame& metrics() const;
  const std::vector<RuleFiring>& rule_firings() const;
  const ScenarioSpec& spec() const;
  /// The seed this run draws from: run_seed(spec.seed, replicate). Agent mode draws every
  /// random number from streams keyed by it; aggregate mode draws none.
  std::uint64_t run_seed() const;
  /// The supply network of one sector in the current state: every buyer's foreign shares, split
  /// into direct flows and flows through their hub. Throws std::out_of_range for a bad sector.
  SupplyNetwork supply_network(SectorId sector) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace techdep
