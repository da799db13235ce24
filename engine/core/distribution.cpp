#include "techdep/core/distribution.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "techdep/core/error.hpp"

namespace techdep {

namespace {

// Two standard deviations either side: the range Morris screening explores for unbounded kinds.
constexpr double kScreeningHalfWidthSd = 2.0;

double draw_untruncated(const Distribution& d, const std::array<std::uint64_t, 2>& words) {
  switch (d.kind) {
    case DistributionKind::Uniform:
      return d.min + (d.max - d.min) * uniform01(words[0]);
    case DistributionKind::Triangular: {
      // Inversion of the triangular CDF (a = min, c = mode, b = max).
      const double u = uniform01(words[0]);
      const double width = d.max - d.min;
      if (width <= 0.0) return d.min;
      const double split = (d.mode - d.min) / width;
      if (u < split) return d.min + std::sqrt(u * width * (d.mode - d.min));
      return d.max - std::sqrt((1.0 - u) * width * (d.max - d.mode));
    }
    case DistributionKind::Normal:
      return d.mean + d.sd * standard_normal(words[0], words[1]);
    case DistributionKind::Lognormal:
      return std::exp(d.mean + d.sd * standard_normal(words[0], words[1]));
  }
  return d.min;
}

}  // namespace

double Distribution::expected_value() const {
  switch (kind) {
    case DistributionKind::Uniform:
      return 0.5 * (min + max);
    case DistributionKind::Triangular:
      return (min + mode + max) / 3.0;
    case DistributionKind::Normal:
      return mean;
    case DistributionKind::Lognormal:
      return std::exp(mean + 0.5 * sd * sd);
  }
  return mean;
}

double Distribution::variance() const {
  switch (kind) {
    case DistributionKind::Uniform:
      return (max - min) * (max - min) / 12.0;
    case DistributionKind::Triangular:
      return (min * min + mode * mode + max * max - min * mode - min * max - mode * max) / 18.0;
    case DistributionKind::Normal:
      return sd * sd;
    case DistributionKind::Lognormal:
      return (std::exp(sd * sd) - 1.0) * std::exp(2.0 * mean + sd * sd);
  }
  return 0.0;
}

double Distribution::central_value() const {
  return std::clamp(expected_value(), std::max(lower, -std::numeric_limits<double>::max()),
                    std::min(upper, std::numeric_limits<double>::max()));
}

std::pair<double, double> Distribution::screening_range() const {
  double low = min;
  double high = max;
  if (kind == DistributionKind::Normal) {
    low = mean - kScreeningHalfWidthSd * sd;
    high = mean + kScreeningHalfWidthSd * sd;
  } else if (kind == DistributionKind::Lognormal) {
    low = std::exp(mean - kScreeningHalfWidthSd * sd);
    high = std::exp(mean + kScreeningHalfWidthSd * sd);
  }
  return {std::max(low, lower), std::min(high, upper)};
}

std::string_view distribution_name(DistributionKind kind) {
  switch (kind) {
    case DistributionKind::Uniform:
      return "uniform";
    case DistributionKind::Triangular:
      return "triangular";
    case DistributionKind::Normal:
      return "normal";
    case DistributionKind::Lognormal:
      return "lognormal";
  }
  return "uniform";
}

double sample(const Distribution& distribution, const CounterRng& stream, std::uint64_t item) {
  for (std::uint32_t attempt = 0; attempt < static_cast<std::uint32_t>(kMaxRedraws); ++attempt) {
    const double value = draw_untruncated(distribution, stream.words(item, attempt));
    if (value >= distribution.lower && value <= distribution.upper) return value;
  }
  throw NumericalError(fmt::format(
      "{} distribution: no value within the bounds [{}, {}] in {} draws; the bounds lie far in "
      "the tail",
      distribution_name(distribution.kind), distribution.lower, distribution.upper, kMaxRedraws));
}

}  // namespace techdep
