#pragma once
// The named phases of one step (model.md section 5), as free functions over explicit inputs and
// outputs. The Simulation calls them in order; tests may call them one by one.

#include <algorithm>
#include <span>

#include "model/model_state.hpp"
#include "techdep/model/metrics.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep::detail {

/// Largest step number; an event without an end is active up to it.
inline constexpr int kNoEnd = 1 << 30;

/// d[c][s]; equal weights when the spec leaves them out.
double sector_weight(const CountrySpec& country, SectorId sector, int sectors);

/// Ramp strength in [0, 1] of an event at `step`; 0 outside [at_step, effective_end).
double event_strength(const EventSpec& event, int effective_end, int step);

/// The step from which each event is inactive: its own end or the start of a `lift` naming it.
void effective_ends(std::span<const EventSpec> events, std::vector<int>& ends);

/// Phase 1. Rebuilds parameters and policy from the spec and the events active at `step`.
/// One-off effects (a cyber incident's capacity hit) are applied to `capability` only when
/// `apply_one_offs`, at the incident's start step. Bumps policy.route_version when R, e, tau or
/// mu changed.
void apply_events(const ScenarioSpec& spec, std::span<const EventSpec> events,
                  std::span<const int> ends, int step, bool apply_one_offs, Parameters& params,
                  Policy& policy, std::span<double> capability, Scratch& scratch);

/// The options of every cell: the domestic producer and every origin with an initial share;
/// then the demand segments' slots (build_segment_slots).
void build_option_lists(const ScenarioSpec& spec, OptionLists& options);

/// One slot per (cell, segment) of `demand_segments`, with each segment's initial shares: its
/// own domestic share where the scenario gives one, the rest of the cell's domestic supply
/// shared by the others, the foreign options in the cell's proportions.
void build_segment_slots(const ScenarioSpec& spec, OptionLists& options);

/// Phase 2. When the policy's route version moved past the one gathered: each option's R (its
/// brand, site and shipper against every active control, ban and enforcement), evasion, the
/// route search for the options that can evade (relays scaled by `hub_capacity` [hub]) and
/// S0 R. Sectors of the route search run on up to `threads` threads (same results).
void update_option_policy(const ScenarioSpec& spec, std::span<const EventSpec> events,
                          const Parameters& params, const Policy& policy,
                          const OptionLists& options, std::span<const double> hub_capacity,
                          std::span<const double> entry, std::span<const double> presence,
                          std::span<const double> grey_evasion, int threads,
                          OptionPolicy& gathered);

/// [c][k]: the largest, over sectors, of the initial-share-weighted supplier cut of brand k's
/// options to buyer c (the restriction that builds lasting distrust).
void supplier_cut_by_pair(const ScenarioSpec& spec, const OptionLists& options,
                          const OptionPolicy& option_policy, std::span<double> out);

/// Lock-in after the shares (docs/model.md, Lock-in): the installed base moves toward the
/// shares, a vendor's presence follows its openness at the re-entry speed, lasting distrust builds with new supplier cuts and incidents and fades. Returns whether
/// an option's reach moved (the option policy must then be gathered again).
bool update_lock_in(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                    const OptionLists& options, const OptionPolicy& option_policy,
                    const Calibration& calibration, ModelState& state, std::vector<double>& drive);

/// The largest level of the active secondary sanctions that threaten `brand` for serving the
/// buyer in the sector (0: none).
double secondary_sanctions_risk(std::span<const EventSpec> events, const Policy& policy,
                                CountryId buyer, SectorId sector, int brand);

/// The inputs of every sector with a nonzero coefficient.
void build_input_lists(const ScenarioSpec& spec, Calibration& calibration);

/// Takes the logs of the price and trade cost tables of `params` (once per step).
void refresh_log_price_tables(const Parameters& params, LogPriceTables& tables);

/// log tau of the path from a production site, through its shipper, to the buyer.
double path_log_trade_cost(const ScenarioSpec& spec, const LogPriceTables& tables, int site,
                           int shipper, CountryId buyer);

/// Log price of the buyer's own producers: learning (capability built) lowers it.
double domestic_log_price(const ScenarioSpec& spec, const Parameters& params,
                          const LogPriceTables& tables, const OptionLists& options,
                          const ModelState& state, CountryId buyer, SectorId sector);

/// Capability share left unused beyond the slack the start already had (>= 0).
double idle_capability(const ScenarioSpec& spec, const OptionLists& options,
                       const ModelState& state, std::size_t cell);

/// Effective log prices of one (buyer, sector) cell, one per option (model.md section 5.3).
/// `lock_in` receives each option's switching-cost and network terms (included in `log_price`).
/// `security_scale` multiplies the sector's security sensitivity (a demand segment's own).
void fill_log_prices(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                     const LogPriceTables& tables, const OptionLists& options,
                     const ModelState& state, CountryId buyer, SectorId sector,
                     std::span<double> log_price, std::span<double> lock_in,
                     double security_scale = 1.0);

/// Phase 3. CES targets, caps, reroute split and domestic demand of every cell.
/// Countries run on the workers of `scratch.team`; each cell writes only its own
/// outputs, so the results do not depend on the thread count.
void compute_targets(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                     const OptionPolicy& option_policy, const Calibration& calibration,
                     const ModelState& state, Targets& targets, Scratch& scratch);


/// Phase 4. The immediate cut to the caps, then the geometric approach to the targets; countries
/// on `team` (null: the caller's thread).
void update_shares(const ScenarioSpec& spec, const Parameters& params, const OptionLists& options,
                   const Targets& targets, WorkerTeam* team, ModelState& state);

/// Phase 4 for a cell split into demand segments: each segment's own cut and adjustment (its
/// speed `lambda` times the segment's factor), the cell's shares their weighted sum.
void update_segment_shares(const ScenarioSpec& spec, double lambda, const OptionLists& options,
                           const Targets& targets, std::size_t cell, ModelState& state);

/// Phase 5. Capability growth, transfer and depreciation.
void update_capability(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                       const OptionLists& options, std::span<const EventSpec> events,
                       const Targets& targets, ModelState& state, Scratch& scratch);

/// Phase 6: the base emigration hazard of a country, `(h0 + theta pressure)(1 - x)` in [0, 1].
double base_emigration_hazard(const ScenarioSpec& spec, const Parameters& params,
                              const Policy& policy, const OptionLists& options,
                              const OptionPolicy& option_policy, const ModelState& state,
                              CountryId country);

/// Phase 6: calls fn(hazard, destination weights, hosts' openness) for the base hazard (the
/// country's attraction) and for every active emigration wave of the country (its destinations,
/// or the attraction). A destination's effective weight is its weight times its openness (host
/// restrictions). Hazards add but never take more than everyone: together they are at most 1.
/// Aggregate and agent mode share it, so both read the same hazards.
template <class Fn>
void for_each_emigration_channel(const ScenarioSpec& spec, const Parameters& params,
                                 const Policy& policy, const OptionLists& options,
                                 const OptionPolicy& option_policy,
                                 std::span<const EventSpec> events, const ModelState& state,
                                 CountryId country, Fn&& fn) {
  const CountrySpec& info = spec.countries[static_cast<std::size_t>(country)];
  const double stay = 1.0 - policy.exit_restriction[static_cast<std::size_t>(country)];
  const double base =
      base_emigration_hazard(spec, params, policy, options, option_policy, state, country);
  double hazard_left = 1.0 - base;
  const std::size_t cn = spec.countries.size();
  const std::span<const double> open(policy.host_open.data() + static_cast<std::size_t>(country) * cn,
                                     cn);
  fn(base, std::span<const double>(info.attraction), open);
  for (std::size_t e = 0; e < events.size(); ++e) {
    const EventSpec& event = events[e];
    const double strength = policy.event_strength[e];
    if (event.type != EventType::EmigrationWave || strength <= 0.0) continue;
    if (std::find(event.to.begin(), event.to.end(), country) == event.to.end()) continue;
    const double hazard = std::min(hazard_left, event.rate * strength * stay);
    hazard_left -= hazard;
    fn(hazard,
       event.destinations.empty() ? std::span<const double>(info.attraction)
                                  : std::span<const double>(event.destinations),
       open);
  }
}

/// Phase 6: the share of `origin`'s diaspora living in `host` (host == origin: unknown
/// destination) that comes home this step: the base return rate, plus host_push times the host's
/// restriction, plus the active return calls, all times what call-ups leave; at most 1. With
/// none of these active it is the return rate itself, to the bit.
inline double diaspora_return_rate(const ScenarioSpec& spec, const Parameters& params,
                                   const Policy& policy, std::size_t origin, std::size_t host) {
  const std::size_t pair = origin * spec.countries.size() + host;
  const double push = spec.countries[origin].host_push * (1.0 - policy.host_open[pair]);
  return std::min(1.0, (params.return_rate[origin] + push + policy.return_call[pair]) *
                           policy.return_kept[origin]);
}

// Phase 6's bookkeeping, shared by aggregate and agent mode so that both count the same way.
// `flow` [c] collects the change of each country's talent L; it is applied at the end.

/// `share` of origin's diaspora in `host` comes home, its remote workers in the same proportion;
/// the host loses those of them who were part of its talent. Returns the persons.
double bring_home(const ScenarioSpec& spec, std::size_t origin, std::size_t host, double share,
                  ModelState& state, std::span<double> flow);

/// Remote workers of `origin` who stop working for home (attrition, remote-work limits) join
/// the talent of the host they live in.
void convert_remote(const ScenarioSpec& spec, const Policy& policy, std::size_t origin,
                    ModelState& state, std::span<double> flow);

/// `moved` leavers from `origin` join its diaspora in `host` (host == origin: unknown
/// destination); the origin's remote_share of them keep working for home, the rest join the
/// host's talent.
void settle_leavers(const ScenarioSpec& spec, std::size_t origin, std::size_t host, double moved,
                    ModelState& state, std::span<double> flow);

/// Counts a country's leavers as emigrants and refills training_rate of its gap to L0 (from
/// `talent`, its value at the start of the phase).
void train_and_count_leavers(const ScenarioSpec& spec, const Parameters& params,
                             std::size_t country, double talent, double leavers,
                             ModelState& state, std::span<double> flow);

/// L <- max(0, L + flow).
void apply_talent_flow(ModelState& state, std::span<const double> flow);

/// The talent that drives capability: L plus remote_weight times the country's remote workers.
double effective_talent(const ScenarioSpec& spec, const ModelState& state, std::size_t country);

/// Phase 6. Emigration, returns and training.
void update_talent(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                   const OptionLists& options, const OptionPolicy& option_policy,
                   std::span<const EventSpec> events, ModelState& state, Scratch& scratch);

}  // namespace techdep::detail

namespace techdep {
class TotalDependencySolver;
}

namespace techdep::detail {

/// log of the CES price index [sum_k alpha_k omega'_k]^(1/(1-sigma)) of one cell (model.md
/// section 7) over its options; `log_price` one per option, as filled by fill_log_prices.
/// -inf/+inf when nothing is available.
double log_price_level(const ScenarioSpec& spec, const Parameters& params,
                       const OptionPolicy& option_policy, const Calibration& calibration,
                       CountryId buyer, SectorId sector, std::span<const double> log_price);

/// A cell's imports across the border; `option_value` (one per option of the cell) receives each
/// option's import value (0 for goods made and bought at home).
CellImports cell_imports(const ScenarioSpec& spec, const LogPriceTables& tables, const OptionLists& options,
                         const OptionPolicy& option_policy, const ModelState& state,
                         std::size_t cell, std::span<double> option_value);

/// Phase 7. Fills every metric of the frame from the state. Total dependency only when `solver`
/// is given (for its focus buyers). The foreign log prices are the targets phase's (nothing
/// they depend on moved since); `log_price` is scratch of one cell's options.
/// Flows outside the options are never written: the frame's flow arrays must start at 0.
/// Countries run on the workers of `scratch` as in compute_targets.
void compute_metrics(const ScenarioSpec& spec, const Parameters& params, const Policy& policy,
                     const OptionPolicy& option_policy,
                     const Calibration& calibration, const Targets& targets,
                     const ModelState& state, TotalDependencySolver* solver, Scratch& scratch,
                     MetricsFrame& frame);

}  // namespace techdep::detail
