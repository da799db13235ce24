#pragma once
// Phase 2 of model.md section 5: transshipment routes around restricted flows. The only door to
// Boost.Graph's shortest paths; the simulation sees plain arrays.

#include <span>
#include <vector>

namespace techdep {

/// What the route search reads. Pair-sector arrays are indexed like ScenarioSpec::supply_index:
/// `[buyer][sector][origin]` for the flow origin -> buyer.
struct RouteInputs {
  int countries = 0;
  int sectors = 0;
  std::span<const double> restriction;  ///< R, [c][s][k]
  std::span<const double> evasion;      ///< e, [c][s][k]
  std::span<const double> trade_cost;   ///< tau[k][c], [k][c]
  double reroute_markup = 0.0;          ///< mu
  int threads = 1;                      ///< sectors run on this many threads; same results
};

/// Reroute options, [c][s][k] like RouteInputs.
struct RouteTable {
  std::vector<double> multiplier;  ///< psi >= 1; 0 where no route exists or none was needed
  std::vector<int> hub;            ///< the hub that ships to the buyer (last intermediate), or -1
  int cheaper_than_direct = 0;     ///< pairs whose hub path costs less than the direct edge
};

/// For every pair (k, c) and sector with 0 < R and e > 0, finds the cheapest path k -> ... -> c in
/// the graph of open edges (R < 1, weight max(0, log(tau (1 + mu)))) that avoids the direct edge,
/// by Dijkstra. psi = max(1, exp(dist) / (tau[k][c] (1 + mu))). Pairs that cannot evade get no
/// route: their rerouted term is zero whatever the graph.
void find_routes(const RouteInputs& inputs, RouteTable& table);

}  // namespace techdep
