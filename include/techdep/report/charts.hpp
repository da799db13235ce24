#pragma once
// Which charts the report and the classroom page draw, and the page data both share: one list of
// charts per focus country (domestic share, shortage, supplier shares by origin and by shipper,
// total dependency by bloc, talent), each line a sum of output series.

#include <functional>
#include <string>
#include <vector>

#include "techdep/output/timeseries_writer.hpp"
#include "techdep/scenario/scenario_spec.hpp"

namespace techdep {

/// One line of a chart: the sum of one or more series (a bloc sums its members).
struct ChartLine {
  std::string label;
  std::vector<SeriesKey> keys;
};

struct ChartPlan {
  std::string id;     ///< stable and unique: `supplier_share.RUS.semiconductors`
  std::string title;
  std::string unit;
  CountryId country = -1;
  SectorId sector = -1;  ///< -1 for charts over every sector or of a country metric
  std::vector<ChartLine> lines;
};

/// The charts for the focus countries, limited to the metrics the outputs record. Lines of
/// every possible partner are listed; drop_flat_lines() prunes the ones that never move off 0.
std::vector<ChartPlan> plan_charts(const ScenarioSpec& spec, const std::vector<CountryId>& focus);

/// The value of a series at a recorded point (a step index into the caller's table); NaN when
/// the series has no value there.
using SeriesLookup = std::function<double(const SeriesKey& key, std::size_t point)>;

/// A line's values over `points` recorded points: the sum of its series (NaN if any is NaN).
std::vector<double> line_values(const ChartLine& line, std::size_t points,
                                const SeriesLookup& lookup);

/// Values smaller than this in magnitude are floating-point residue (sums of shares that cancel,
/// 1.1e-16 where 0 was meant), not model results: charts show them as 0 and a line of nothing
/// else is flat.
inline constexpr double kChartNoise = 1e-9;
inline double without_noise(double value) { return value > -kChartNoise && value < kChartNoise ? 0.0 : value; }

/// Removes lines whose values are 0, residue or missing at every point, and charts left with no
/// line.
void drop_flat_lines(std::vector<ChartPlan>& charts, std::size_t points, const SeriesLookup& lookup);

/// Sectors the outputs record (every sector when outputs name none).
std::vector<SectorId> output_sectors(const ScenarioSpec& spec);

/// Whether the outputs record `metric` for the focus countries.
bool records_metric(const ScenarioSpec& spec, Metric metric);

}  // namespace techdep
