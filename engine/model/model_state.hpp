#pragma once
// Private to the engine: the state a Simulation owns, as contiguous arrays indexed like the
// ScenarioSpec tables ([c][s][k] for pair-sector values, [c][s] for cells, [k][c] for pairs).

#include <cstddef>
#include <cstdint>
#include <vector>

#include "techdep/core/worker_team.hpp"
#include "techdep/graph/routes.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep::detail {

/// Parameters a `set` event may change, rebuilt from the spec each step (so lifting a `set`
/// restores the original value).
struct Parameters {
  std::vector<SectorSpec> sectors;
  std::vector<double> sanction_push, base_emigration, return_rate, training_rate;  // [c]
  std::vector<double> price;       // P[k][s]
  std::vector<double> trade_cost;  // tau[k][c], after agreements
  double reroute_markup = 0.0;
};

/// R of one flow, by territory, that some active event names (docs/model.md section 3).
struct LegRestriction {
  std::size_t flow = 0;  // [c][s][k], like ScenarioSpec::supply_index
  double restriction = 0.0;
};

/// Policy instruments, rebuilt by the events phase every step from the active events.
struct Policy {
  bool built = false;  // apply_events has built the instruments once
  // The flows the events name, sorted by flow; every other flow is open (R = 0). Sparse because
  // events name a few flows of the C S C (32 MB on W3 as a dense array), and only the route
  // search reads them: a leg is closed where R = 1 (`closed_legs`, sorted flows).
  std::vector<LegRestriction> leg_restriction;
  std::vector<std::size_t> closed_legs;
  std::vector<double> distrust;          // rho[c][k]
  std::vector<double> investment;        // I[c][s]
  std::vector<double> mandate;           // M[c][s]
  std::vector<double> segment_mandate;   // [c][s][segment]: the procurement rules' floors
  std::vector<double> exit_restriction;  // x[c]
  // Talent that responds (docs/model.md, Talent). [origin][host]: the open fraction of a host to
  // the origin's emigrants, prod(1 - g level) over host restrictions, and the return calls' extra
  // return rate; [origin]: the share of returns not held back by call-ups, and the share of remote
  // workers the origin's remote-work limits leave remote.
  std::vector<double> host_open, return_call;
  std::vector<double> return_kept, remote_kept;
  std::vector<double> event_strength;    // per event (spec events, then rule events); 0 inactive
  // per event: 1 from its start to its end, even while a ramp still holds its strength at 0
  // (evasion is not ramped: a ramped control offers its routes from its first step)
  std::vector<unsigned char> event_active;
  std::uint64_t route_version = 0;  // bumped whenever an event setting R, e, tau or mu moved
};

/// The options of every (buyer, sector) cell that can ever carry a share: the domestic producer
/// and each (brand, production site, shipper) with an initial share. Every other combination has
/// alpha = 0, hence a zero CES weight, a zero target and a share that stays exactly 0 all run, so
/// the per-flow phases walk these compressed rows instead of every country.
/// Arrays indexed [option] follow the cells in order; within a cell brands ascend, then sites,
/// then shippers. Without production sites and shipping tables an option is (k, k, k).
struct OptionLists {
  std::vector<std::size_t> first;     // [cell]: first option of the cell; cells + 1 entries
  std::vector<std::int32_t> origin;   // [option]: the brand home country
  std::vector<std::int32_t> site;     // [option]: where the goods are made
  std::vector<std::int32_t> shipper;  // [option]: who ships them to the buyer (customs consignor)
  std::vector<double> initial_share;  // [option]: S0 of the brand x site share x shipping share
  // [option]: 1 for a brand that does not serve the buyer at the start but sells in the sector's
  // world market and may enter (docs/model.md, Entry); its weight grows with its entry progress
  std::vector<unsigned char> entrant;
  std::vector<std::int32_t> domestic; // [cell]: the buyer's own position within its options
  // Distinct brands of each cell, ascending (what total dependency walks).
  std::vector<std::size_t> brand_first;  // [cell], cells + 1 entries
  std::vector<std::int32_t> brand;

  std::size_t max_count = 0;  // options of the widest cell: the scratch rows' width

  // Demand segments (docs/model.md, Demand segments). A cell with `demand_segments` rows has one
  // slot per segment, each a buyer with its own shares of the cell's options; a cell without
  // rows has no slot and is one whole buyer. Slot-option arrays hold the slots' rows one after
  // another, in the cell's option order.
  std::vector<std::size_t> slot_first;         // [cell], cells + 1 entries
  std::vector<std::int32_t> slot_segment;      // [slot]: the segment id
  std::vector<double> slot_weight;             // [slot]: its share of the cell's demand
  std::vector<std::int32_t> slot_cell;         // [slot]
  std::vector<std::size_t> slot_option_first;  // [slot], slots + 1 entries
  std::vector<double> slot_initial_share;      // [slot option]: S0 of the segment

  std::size_t size() const { return origin.size(); }
  std::size_t count(std::size_t cell) const { return first[cell + 1] - first[cell]; }
  /// The option of the cell's own producers.
  std::size_t domestic_option(std::size_t cell) const {
    return first[cell] + static_cast<std::size_t>(domestic[cell]);
  }
  std::size_t slots() const { return slot_segment.size(); }
  bool segmented(std::size_t cell) const { return slot_first[cell + 1] > slot_first[cell]; }
};

/// The policy and routes of every option, gathered from the dense [c][s][k] arrays whenever
/// they change (the route version moves): the per-flow phases then read contiguous arrays.
struct OptionPolicy {
  std::vector<double> restriction;        // R [option]
  std::vector<double> evasion;            // e a [option]: evasion times the routes' availability
  std::vector<double> multiplier;         // psi [option]
  std::vector<double> restricted_supply;  // S0 R [option]: the emigration pressure's exposure
  // [option]: 1 - R of the events alone, before an entrant's progress or a vendor's presence
  // limit its reach (what a vendor that left may come back to)
  std::vector<double> open_by_policy;
  std::vector<double> control_evasion;  // [option]: e of the active export controls (max)
  // [option]: the part of R from the supplier's side (export controls, vendors' exits, secondary
  // sanctions), not the buyer's own bans: what builds lasting distrust of the brand
  std::vector<double> supplier_cut;
  std::vector<std::int32_t> route;        // [option]: its request in `routes`, or -1
  std::vector<RouteRequest> requests;     // restricted options that may evade
  std::vector<double> relay_open;         // [request][hub]
  RouteTable routes;                      // per request
  std::uint64_t route_version = ~std::uint64_t{0};  // of the policy gathered; none yet
};

/// Per-option results of the targets phase, read by the shares and capability phases.
struct Targets {
  std::vector<double> target;            // S* [option]
  std::vector<double> cap;               // quantity cap [option] (kUncapped when none)
  std::vector<double> reroute_share;     // part of an option's flow that goes through its hub
  std::vector<double> domestic_demand;   // D[c][s]
  std::vector<double> input_availability;  // In[c][s], from the shortage at the start of the step
  std::vector<double> log_price;         // log p [option]
  std::vector<double> lock_in;           // [option]: the switching and network terms of log p
  // Demand segments: each slot's targets, caps and route split by option, its CES weights (the
  // served-first pass reruns the water-filling on them), its domestic demand and the part of
  // the cell's domestic capability it may use (per unit of its own demand).
  std::vector<double> slot_target, slot_cap, slot_reroute, slot_weight;  // [slot option]
  std::vector<double> slot_domestic_demand, slot_domestic_cap;          // [slot]
};

/// Imports of one cell across the border (shipper != buyer): value at landed prices, with the
/// rerouted part at its route multiplier, and volume as a share of demand.
struct CellImports {
  double value = 0.0;
  double volume = 0.0;
};

/// Fixed at construction: the t = 0 equilibrium.
struct Calibration {
  OptionLists options;
  // The inputs of each sector with a coefficient a != 0, compressed rows: a sector uses a few.
  std::vector<std::size_t> input_first;   // [sector], sectors + 1 entries
  std::vector<std::int32_t> input_sector;
  std::vector<double> log_alpha;         // [option], -inf where alpha = 0 (the domestic option)
  std::vector<double> cap_scale;         // [option], >= 1
  std::vector<double> slot_log_alpha, slot_cap_scale;  // [slot option]: the segments' own
  std::vector<double> log_price_level0;  // [c][s]: log of the CES price index at t = 0
  std::vector<CellImports> imports0;     // [c][s]: imports at t = 0, the value indices' base
  std::vector<double> opening0;          // [c][s]: initial demand under restriction at t = 0
  std::vector<double> supplier_cut0;     // [c][k]: the distrust drive's restriction at t = 0
  std::vector<double> distrust0;         // [c][k]: rho at t = 0 (incidents count from there)
};

struct ModelState {
  std::vector<double> share;      // S [option]; every other flow's share is 0
  // [slot option]: each demand segment's own shares; S of a segmented cell is their weighted sum
  std::vector<double> slot_share;
  std::vector<double> hub_capacity;  // [hub]: re-export capacity, grows as brokers organise
  std::vector<double> entry;         // [option]: an entrant's progress in [0, 1] (0 elsewhere)
  // Lock-in (docs/model.md): what buyers have installed, by option; how much of its former
  // reach a vendor still has; and the distrust that outlasts the events that caused it.
  std::vector<double> installed_base;    // B [option]
  std::vector<double> presence;          // [option], 1 for options that never left
  // [option]: the evasion of the last export control on the option: parallel importers keep
  // serving a vendor's buyers at that rate until its presence is back
  std::vector<double> grey_evasion;
  std::vector<double> lasting_distrust;  // H [c][k] in [0, 1]
  std::vector<double> shortage;   // U[c][s]
  std::vector<double> rerouted;   // V [option]: part of S shipped via the route's hub
  std::vector<double> capability; // Cap[c][s]
  std::vector<double> experience; // [c][s]: years of demand served beyond the start's domestic share
  std::vector<double> talent;     // L[c]
  std::vector<double> emigrants;  // cumulative [c]
  std::vector<double> returns;    // cumulative [c]
  std::vector<double> diaspora;   // [origin][destination]; destination == origin: unknown
  // [origin][destination]: the part of the diaspora still working remotely for home firms. They
  // count toward home's capability (by remote_weight) and not toward the host's talent.
  std::vector<double> remote;
  std::vector<double> return_flow;  // [c]: persons who came home in the last step
};

/// Logs of the price tables, taken once per step instead of once per flow.
struct LogPriceTables {
  std::vector<double> price;       // log P[k][s]
  std::vector<double> trade_cost;  // log tau[k][c]
};

/// One worker's scratch for the cells it computes, each array of the country count.
struct CellWork {
  std::vector<double> unrestricted_weight, weight, simple_cap, trial_weight, trial_cap,
      trial_share, log_price;
  // Demand segments: a segment's lock-in terms, and the restricted supply the cell's segments
  // can still get (all of them; those not served first)
  std::vector<double> segment_lock_in, segment_quantity, segment_rest_quantity;
  std::vector<unsigned char> fixed;
};

/// Scratch space of the hot loops, sized once.
struct Scratch {
  std::vector<CellWork> workers;  // one per worker of `team`
  WorkerTeam* team = nullptr;     // the per-country phases' threads; null: the caller's only
  LogPriceTables log_tables;
  std::vector<double> strength_prev;  // event strengths the policy was last built from
  std::vector<double> capability_next, talent_flow, leavers, pair_drive;
};

}  // namespace techdep::detail
