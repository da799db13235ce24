#pragma once
// The values a page's charts draw at one step, shared by students' sessions and game rooms.

#include <cmath>

#include <nlohmann/json.hpp>

#include "techdep/model/simulation.hpp"
#include "techdep/report/charts.hpp"

namespace techdep {

inline nlohmann::ordered_json finite_or_null(double value) {
  return std::isfinite(value) ? nlohmann::ordered_json(without_noise(value))
                              : nlohmann::ordered_json(nullptr);
}

inline double line_value(const ChartLine& line, const MetricsFrame& frame) {
  double sum = 0.0;
  for (const SeriesKey& key : line.keys) {
    sum += frame.value(key.metric, key.country, key.sector, key.partner, key.segment);
  }
  return sum;
}

/// {"step": N, "values": [[line values of chart 0], [chart 1], ...]}
inline nlohmann::ordered_json chart_point(const std::vector<ChartPlan>& charts, const MetricsFrame& frame) {
  nlohmann::ordered_json values = nlohmann::ordered_json::array();
  for (const ChartPlan& chart : charts) {
    nlohmann::ordered_json lines = nlohmann::ordered_json::array();
    for (const ChartLine& line : chart.lines) lines.push_back(finite_or_null(line_value(line, frame)));
    values.push_back(std::move(lines));
  }
  return {{"step", frame.step}, {"values", std::move(values)}};
}

}  // namespace techdep
