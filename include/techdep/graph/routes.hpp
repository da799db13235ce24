#pragma once
// Phase 2 of docs/model.md: transshipment routes around restricted flows, chosen by a logit over
// the candidate relays. The only door to Boost.Graph's shortest paths; the simulation sees plain
// arrays.

#include <cstdint>
#include <span>
#include <vector>

namespace techdep {

/// One restricted option that may be rerouted: goods of some brand made at `site`, normally
/// shipped to `buyer` by `shipper` (the site itself or a trading hub).
struct RouteRequest {
  int buyer = 0;
  int sector = 0;
  int site = 0;
  int shipper = 0;
};

/// What the route search reads. Pair-sector arrays are indexed like ScenarioSpec::supply_index:
/// `[buyer][sector][origin]` for the edge origin -> buyer.
struct RouteInputs {
  int countries = 0;
  int sectors = 0;
  /// The edges origin -> buyer closed by territory (R = 1), as ascending [c][s][k] indices
  /// (like ScenarioSpec::supply_index); a leg i -> j of a route is open unless listed (legs run
  /// to hubs, which no restriction on the target names)
  std::span<const std::size_t> closed_legs;
  std::span<const double> trade_cost;  ///< tau[k][c], [k][c]
  double reroute_markup = 0.0;         ///< mu, paid on every hop
  double dispersion = 8.0;             ///< theta of the logit over routes
  std::span<const RouteRequest> requests;
  /// [request][hub]: the open fraction of the last leg hub -> buyer for that request's goods
  /// (0: the hub may not relay them, e.g. it controls the brand; enforcement and the hub's
  /// re-export capacity scale it)
  std::span<const double> relay_open;
  int threads = 1;  ///< sectors run on this many threads; same results
};

/// Routes of every request, compressed rows: request r's routes are [first[r], first[r + 1]).
struct RouteTable {
  /// [request]: psi, the geometric mean over routes (weighted by flow) of a route's cost
  /// relative to the option's own path, >= 1; 0 where no route is open
  std::vector<double> multiplier;
  /// [request]: capacity-weighted availability a = sum_q pi_q open_q in [0, 1]; the rerouted
  /// demand the option can still reach is R e a
  std::vector<double> availability;
  std::vector<std::size_t> first;  ///< requests + 1 entries
  std::vector<int> hub;            ///< [route]: the last hub, which ships to the buyer
  std::vector<double> fraction;    ///< [route]: part of the option's rerouted flow it carries
  int cheaper_than_direct = 0;     ///< requests whose best route costs less than their own path
};

/// For every request, the candidate routes are the cheapest path site -> ... -> h over open legs
/// that avoid the buyer, then h -> buyer, one per last hub h (not the buyer, the site or the
/// option's own shipper). Leg weights are max(0, log(tau (1 + mu))). A route's cost relative to
/// the option's own path is psi_q = max(1, exp(d_q - d_own)); its choice weight is
/// open_q psi_q^-theta (logit in log cost; enforcement risk enters as log open_q), pi_q the
/// normalised weights. a = sum pi_q open_q; the rerouted flow splits by pi_q open_q / a.
void find_routes(const RouteInputs& inputs, RouteTable& table);

}  // namespace techdep
