#pragma once
// Probability distributions of uncertain scenario parameters, sampled from the project's
// counter-based streams so that a draw depends only on (stream key, item), never on the thread
// that makes it or on the standard library.

#include <cstdint>
#include <limits>
#include <string_view>
#include <utility>

#include "techdep/core/rng.hpp"

namespace techdep {

enum class DistributionKind { Uniform, Triangular, Normal, Lognormal };

/// A distribution, optionally truncated to [lower, upper]. Fields a kind does not use keep their
/// defaults. Lognormal: ln X is normal with mean `mean` and standard deviation `sd`.
struct Distribution {
  DistributionKind kind = DistributionKind::Uniform;
  double min = 0.0;   ///< uniform, triangular
  double max = 1.0;   ///< uniform, triangular
  double mode = 0.5;  ///< triangular
  double mean = 0.0;  ///< normal; lognormal: of ln X
  double sd = 1.0;    ///< normal; lognormal: of ln X
  double lower = -std::numeric_limits<double>::infinity();  ///< truncation
  double upper = std::numeric_limits<double>::infinity();   ///< truncation

  /// Mean and variance of the untruncated distribution.
  double expected_value() const;
  double variance() const;
  /// A typical value inside the bounds (the mean, clamped), used to check a parameter's path.
  double central_value() const;
  /// The range Morris screening explores: [min, max] for uniform and triangular, the central
  /// 95.45% (mean +- 2 sd, on the log scale for lognormal) otherwise; intersected with the bounds.
  std::pair<double, double> screening_range() const;
};

std::string_view distribution_name(DistributionKind kind);

/// Redraws allowed before a truncated distribution is declared impossible to sample.
inline constexpr int kMaxRedraws = 1000;

/// Draws item `item` of `stream`. Values outside [lower, upper] are redrawn with the next counter
/// (rejection, so the truncated shape is exact). Throws NumericalError after kMaxRedraws misses.
double sample(const Distribution& distribution, const CounterRng& stream, std::uint64_t item);

}  // namespace techdep
