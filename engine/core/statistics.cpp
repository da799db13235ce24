#include "techdep/core/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace techdep {

double quantile_type7(std::span<const double> sorted, double p) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double h = static_cast<double>(sorted.size() - 1) * p;
  const auto low = static_cast<std::size_t>(std::floor(h));
  if (low + 1 >= sorted.size()) return sorted.back();
  const double below = sorted[low];
  const double above = sorted[low + 1];
  const double fraction = h - static_cast<double>(low);
  // Infinite values (price_index is +inf where nothing is available at any price) are values:
  // between two equal ones, or between a number and an infinity, the quantile is that value or
  // the infinity; the formula alone would make inf - inf a NaN, written as "does not exist".
  if (fraction == 0.0 || below == above) return below;
  if (std::isinf(below) != std::isinf(above)) return std::isinf(below) ? below : above;
  return below + fraction * (above - below);
}

SampleSummary summarize(std::span<double> values) {
  const auto finite_end = std::partition(values.begin(), values.end(),
                                         [](double value) { return !std::isnan(value); });
  const std::span<double> finite(values.begin(), finite_end);
  // Sorting first makes the sums independent of the order the replicates arrived in. Replicates
  // that agree (a series no uncertain parameter reaches) are sorted already: checked in one pass.
  if (!std::is_sorted(finite.begin(), finite.end())) std::sort(finite.begin(), finite.end());
  SampleSummary out;
  out.n = static_cast<int>(finite.size());
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (finite.empty()) {
    out.mean = out.sd = out.p05 = out.p25 = out.p50 = out.p75 = out.p95 = out.min = out.max = kNaN;
    return out;
  }
  out.p05 = quantile_type7(finite, 0.05);
  out.p25 = quantile_type7(finite, 0.25);
  out.p50 = quantile_type7(finite, 0.50);
  out.p75 = quantile_type7(finite, 0.75);
  out.p95 = quantile_type7(finite, 0.95);
  out.min = finite.front();
  out.max = finite.back();
  if (std::isinf(out.min) || std::isinf(out.max)) {
    // The mean of values that include +inf is +inf (-inf alike; both: it does not exist); the
    // spread around an infinite mean does not exist.
    out.mean = std::isinf(out.min) && std::isinf(out.max) && out.min != out.max ? kNaN
               : std::isinf(out.max)                                            ? out.max
                                                                                : out.min;
    out.sd = kNaN;
    return out;
  }
  // Summing offsets from the minimum keeps identical replicates exact (mean = value, sd = 0).
  double offsets = 0.0;
  for (const double value : finite) offsets += value - finite.front();
  out.mean = finite.front() + offsets / static_cast<double>(finite.size());
  if (finite.size() >= 2) {
    // Two-pass: no cancellation when the spread is tiny beside the mean.
    double squares = 0.0;
    for (const double value : finite) squares += (value - out.mean) * (value - out.mean);
    out.sd = std::sqrt(squares / static_cast<double>(finite.size() - 1));
  } else {
    out.sd = kNaN;
  }
  return out;
}

}  // namespace techdep
