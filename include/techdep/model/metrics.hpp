#pragma once
// The metrics of one step (model.md section 7) as dense arrays, indexed like ScenarioSpec tables.

#include <vector>

#include "techdep/core/metric.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep {

struct MetricsFrame {
  int step = 0;
  int countries = 0;
  int sectors = 0;
  int blocs = 0;

  // [c][s]
  std::vector<double> domestic_share, import_share, shortage, rerouted_share, hhi, critical,
      capacity, price_index, import_unit_value, import_value, compliance_gap;
  // [c][s][k]
  std::vector<double> supplier_share;
  /// [c][s][k]; breakdowns only outputs read, never the model: empty where the run's
  /// MetricScope left them out (SimulationOptions::metrics)
  std::vector<double> shipper_share, site_share, import_value_by_shipper, import_value_by_site,
      import_value_by_brand, installed_base;
  /// [c][s][k]; computed only for the output countries when the metric is selected, NaN elsewhere;
  /// empty (every value NaN) when the run solves no total dependency
  std::vector<double> total_dependency;
  // [c][s][b]
  std::vector<double> bloc_share;
  // [c]
  std::vector<double> talent, emigrants, returns, diaspora, sovereignty, remote_workers,
      return_flow;
  /// [c][k]: c's emigrants living in k now; k == c holds those of unknown destination
  std::vector<double> diaspora_by_destination;
  /// [c][k]: c's distrust of k, events' plus lasting
  std::vector<double> distrust;

  /// Demand segments (the scenario's `segments`, 0 without): the per_segment metrics of each
  /// segment, [c][s][g] and [c][s][g][k]; 0 where the cell has no such segment.
  int segments = 0;
  std::vector<double> segment_domestic_share, segment_import_share, segment_shortage,
      segment_compliance_gap, segment_supplier_share;

  /// The value of a metric at an index; `partner` is a country for partner metrics and a bloc for
  /// bloc_share; ignored for the others. `sector` is ignored for country metrics. `segment` (a
  /// segment id, per_segment metrics only) picks one demand segment; -1 is the whole.
  double value(Metric metric, CountryId country, SectorId sector, int partner,
               int segment = -1) const;
  /// Where `value` reads it: a pointer into this frame's arrays (or to a NaN for a value not
  /// computed), valid while the frame lives unresized. A Simulation sizes its frame once, so a
  /// caller recording many steps can resolve its series once and read them every step.
  const double* address(Metric metric, CountryId country, SectorId sector, int partner,
                        int segment = -1) const;
};

}  // namespace techdep
