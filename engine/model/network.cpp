#include "techdep/model/network.hpp"

#include <fmt/format.h>

#include "techdep/core/error.hpp"

namespace techdep {

NetworkReport network_report(const ScenarioSpec& spec, const NetworkRequest& request,
                             SimulationOptions options) {
  if (request.step < 0 || request.step > spec.time.steps) {
    throw UsageError(fmt::format("network: step {} is outside the run (0..{})", request.step,
                                 spec.time.steps));
  }
  if (request.sector < 0 || request.sector >= spec.sector_count()) {
    throw UsageError(fmt::format("network: sector index {} is out of range", request.sector));
  }
  Simulation simulation(spec, options);
  while (simulation.step_index() < request.step) simulation.step();

  NetworkReport report;
  report.network = simulation.supply_network(request.sector);
  report.edges = supply_edges(report.network);
  report.betweenness = betweenness(report.network);
  if (!request.suppliers.empty() && request.target >= 0) {
    report.cut = min_cut(report.network, request.suppliers, request.target);
  }
  return report;
}

}  // namespace techdep
