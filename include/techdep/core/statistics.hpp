#pragma once
// Summary statistics of replicate values (summary.csv).

#include <span>

namespace techdep {

/// Statistics of the finite values among a sample; NaN values (a metric that does not exist)
/// are left out and not counted.
struct SampleSummary {
  int n = 0;
  double mean = 0.0;
  double sd = 0.0;  ///< sample standard deviation (n - 1 denominator); NaN when n < 2
  double p05 = 0.0, p25 = 0.0, p50 = 0.0, p75 = 0.0, p95 = 0.0;
  double min = 0.0, max = 0.0;
};

/// The p-quantile (0 <= p <= 1) of sorted values by linear interpolation between order
/// statistics, Hyndman and Fan's type 7 (R's default, numpy's `linear`): h = (n - 1) p,
/// x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h]).
double quantile_type7(std::span<const double> sorted, double p);

/// Summarises `values`; it is sorted in place. All fields are NaN when no value is finite.
SampleSummary summarize(std::span<double> values);

}  // namespace techdep
