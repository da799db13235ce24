#pragma once
// Agent mode (model.md section 6; docs/model.md "Agent mode"): importer firms replace the
// representative buyer of each (country, sector) in phase 4, worker agents decide the talent flows
// of phase 6. Everything else (events, routes, targets, capability, metrics, rules) reads the
// aggregated state, exactly as in aggregate mode.
//
// Populations are structures of arrays sized once at construction; a step allocates nothing.
// Randomness is counter-based (include/techdep/core/rng.hpp): firm f of cell (c, s) at step t
// draws from stream (run seed, Firms, c, s) at counter (f, t), so the results do not depend on
// the thread count or on the order in which cells are visited.

#include <cstdint>
#include <span>
#include <vector>

#include "model/model_state.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep::detail {

/// The counter value of set-up draws (attributes); steps use their own index, which stays below.
inline constexpr std::uint32_t kSetupCounter = 0xFFFFFFFFU;

struct FirmPopulation {
  std::vector<std::size_t> first;         // [cell]: index of the cell's first firm; cells + 1
  std::vector<double> size;               // [firm]: share of the cell's demand; sums to 1 per cell
                                          // and to its segment's weight per demand segment
  std::vector<double> review_multiplier;  // [firm]: review probability = min(1, lambda * this)
  std::vector<double> risk_aversion;      // [firm]: multiplies kappa
  std::vector<double> share;  // the firm's own shares, one per option of its cell: a cell's firms
                              // start at (firms per cell) x OptionLists::first[cell]
};

struct WorkerPopulation {
  std::vector<std::size_t> first;         // [country]: index of its first worker; countries + 1
  std::vector<double> leave_multiplier;   // [worker]: mean 1 over the country's workers
  std::vector<double> return_multiplier;  // [worker]: mean 1 over the country's workers
  std::vector<std::int32_t> location;     // [worker]: kAtHome, or the country it lives in
};

inline constexpr std::int32_t kAtHome = -1;

/// Per-country scratch (countries run in parallel, each with its own row), sized once.
struct AgentScratch {
  std::size_t width = 0;              // options of the widest cell
  std::vector<double> cut_ratio;      // [c][option]
  std::vector<double> served;         // [c][option]: size-weighted firm shares
  std::vector<double> distrust_base;  // [c][option]: the cell's own distrust term, to subtract
  std::vector<double> segment_distrust_base;  // [c][option]: the same for a demand segment
  std::vector<double> firm_weight, firm_trial;  // [c][option]
  // One cell's distrust rows gathered into its option order, [c][option].
  std::vector<double> distrust, distrust0;
  std::vector<unsigned char> firm_fixed;        // [c][option]
  std::vector<double> destination_cdf;          // [c][j]
  std::vector<double> return_rate;              // [c][j]: of the diaspora of c living in j
  std::vector<std::uint64_t> at_home, leaving, abroad, returning;  // [c], [c][j], [c][j], [c][j]
  std::vector<double> talent_flow;              // [c]

  /// Elements from one country's row of a [c][option] array to the next: whole cache lines and
  /// one more, so that threads on neighbouring countries never write to the same line, however
  /// the array is aligned. Rows of 16 options packed end to end (W2) made the firms' step on two
  /// threads 30% slower than without that false sharing.
  template <typename T>
  std::size_t stride() const {
    constexpr std::size_t kLine = 64;
    return ((width * sizeof(T) + kLine - 1) / kLine + 1) * kLine / sizeof(T);
  }

  /// Country c's row of a [c][option] array.
  template <typename T>
  std::span<T> row(std::vector<T>& values, std::size_t c) const {
    return std::span<T>(values.data() + c * stride<T>(), width);
  }
};

struct AgentPopulations {
  std::uint64_t seed = 0;
  FirmPopulation firms;
  WorkerPopulation workers;
  AgentScratch scratch;
};

/// Draws every firm's and worker's attributes from the run seed; firms start at the initial shares
/// S0 of their cell, workers at home.
AgentPopulations make_agent_populations(const ScenarioSpec& spec, const OptionLists& options,
                                        std::uint64_t seed);

/// Phase 4 in agent mode. Per cell, the immediate cut scales every firm's share of a capped option
/// by cap / S (the quantity limit rations every buyer in proportion), then each firm reviews with
/// its own probability and, when it does, jumps to its own CES target under the cell's caps.
/// Writes the size-weighted shares, shortage and rerouted parts into `state`.
void update_firm_shares(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                        const OptionPolicy& option_policy, const Calibration& calibration,
                        const Targets& targets, int step, WorkerTeam* team,
                        AgentPopulations& agents, ModelState& state);

/// Phase 6 in agent mode. Returns first (each worker abroad with its own probability), then each
/// worker at home leaves with its own hazard and picks a destination by logit over attraction
/// and compatriots already there; talent, diaspora, emigrants and returns follow from the
/// fractions of agents who moved, as in aggregate mode (training included).
void update_worker_talent(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                          const OptionLists& options, const OptionPolicy& option_policy,
                          std::span<const EventSpec> events, int step, WorkerTeam* team,
                          AgentPopulations& agents, ModelState& state);

}  // namespace techdep::detail
