#pragma once
// What `techdep network SCENARIO --at DATE --sector S` prints: the supply network of one sector
// at one step, the betweenness of its hubs and, optionally, the narrowest cut between a supplier
// bloc and a target country.

#include <optional>
#include <vector>

#include "techdep/graph/supply_network.hpp"
#include "techdep/model/simulation.hpp"

namespace techdep {

struct NetworkRequest {
  int step = 0;                      ///< 0..spec.time.steps
  SectorId sector = 0;
  std::vector<CountryId> suppliers;  ///< the supplier bloc of the cut (empty: no cut)
  CountryId target = -1;             ///< the buyer the cut separates from the bloc
};

struct NetworkReport {
  SupplyNetwork network;
  std::vector<SupplyEdge> edges;
  std::vector<double> betweenness;  ///< per country
  std::optional<MinCut> cut;        ///< when suppliers and target were given
};

/// Runs a fresh simulation of `spec` to `request.step` and analyses the sector's network then.
/// Throws UsageError for a step or sector out of range, NumericalError from the run.
NetworkReport network_report(const ScenarioSpec& spec, const NetworkRequest& request,
                             SimulationOptions options = {});

}  // namespace techdep
