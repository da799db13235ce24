#include <cmath>
#include <limits>
#include <vector>

#include <catch2/catch.hpp>

#include "techdep/app/sensitivity.hpp"
#include "techdep/core/distribution.hpp"
#include "techdep/core/error.hpp"
#include "techdep/core/rng.hpp"
#include "techdep/core/statistics.hpp"

namespace {

constexpr int kDraws = 20000;

/// Draws as a sweep does: one stream per run seed, item 0.
std::vector<double> draws(const techdep::Distribution& distribution) {
  std::vector<double> values;
  for (int run = 0; run < kDraws; ++run) {
    const techdep::CounterRng stream(techdep::stream_key(
        techdep::run_seed(11, static_cast<std::uint64_t>(run)),
        techdep::Population::Parameters, 0, 0));
    values.push_back(techdep::sample(distribution, stream, 0));
  }
  return values;
}

/// Sample mean within 4 standard errors and sample variance within 4 of its standard errors
/// (Var(s^2) = (mu4 - sigma^4) / n; mu4 <= 9 sigma^4 covers these distributions, lognormal with
/// small log_sd included).
void check_moments(const techdep::Distribution& distribution, double kurtosis) {
  std::vector<double> values = draws(distribution);
  const techdep::SampleSummary stats = techdep::summarize(values);
  const double variance = distribution.variance();
  const double mean_error = std::sqrt(variance / kDraws);
  CHECK(std::abs(stats.mean - distribution.expected_value()) < 4.0 * mean_error);
  const double variance_error = variance * std::sqrt((kurtosis - 1.0) / kDraws);
  CHECK(std::abs(stats.sd * stats.sd - variance) < 4.0 * variance_error);
}

}  // namespace

TEST_CASE("Sampled values follow their distribution (moments within sampling error)", "[sweep]") {
  using techdep::DistributionKind;
  check_moments({.kind = DistributionKind::Uniform, .min = 2.0, .max = 5.0}, 1.8);
  check_moments({.kind = DistributionKind::Triangular, .min = 2.0, .max = 5.0, .mode = 3.0}, 2.4);
  check_moments({.kind = DistributionKind::Normal, .mean = 3.0, .sd = 0.5}, 3.0);
  const techdep::Distribution lognormal{.kind = DistributionKind::Lognormal, .mean = 1.0, .sd = 0.2};
  check_moments(lognormal, 3.8);
}

TEST_CASE("Truncated draws stay within their bounds, or fail when the bounds are unreachable",
          "[sweep]") {
  const techdep::Distribution truncated{.kind = techdep::DistributionKind::Normal, .mean = 0.0,
                                        .sd = 1.0, .lower = 0.5, .upper = 1.0};
  for (const double value : draws(truncated)) {
    CHECK(value >= 0.5);
    CHECK(value <= 1.0);
  }
  const techdep::Distribution impossible{.kind = techdep::DistributionKind::Normal, .mean = 0.0,
                                         .sd = 1.0, .lower = 40.0, .upper = 41.0};
  CHECK_THROWS_AS(techdep::sample(impossible, techdep::CounterRng(1), 0), techdep::NumericalError);
}

TEST_CASE("Summary statistics match values computed by hand", "[sweep]") {
  std::vector<double> values{10.0, 2.0, std::nan(""), 4.0, 1.0, 3.0};
  const techdep::SampleSummary stats = techdep::summarize(values);
  CHECK(stats.n == 5);
  CHECK(stats.mean == 4.0);
  // Deviations -3 -2 -1 0 6: squares sum to 50, over n - 1 = 4.
  CHECK(stats.sd == std::sqrt(12.5));
  // Type 7: h = 4 p; p05 -> x[0] + 0.2 (x[1] - x[0]); p95 -> x[3] + 0.8 (x[4] - x[3]).
  CHECK(stats.p05 == Approx(1.2).epsilon(1e-15));
  CHECK(stats.p25 == 2.0);
  CHECK(stats.p50 == 3.0);
  CHECK(stats.p75 == 4.0);
  CHECK(stats.p95 == Approx(8.8).epsilon(1e-15));
  CHECK(stats.min == 1.0);
  CHECK(stats.max == 10.0);

  std::vector<double> single{7.0};
  const techdep::SampleSummary one = techdep::summarize(single);
  CHECK(one.n == 1);
  CHECK(one.p05 == 7.0);
  CHECK(std::isnan(one.sd));
}

TEST_CASE("Summary statistics of values that include +inf keep inf, not an empty field",
          "[sweep]") {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  // Sorted: 1 2 inf inf inf. Type 7, h = 4 p: p25 = x[1] = 2; p50 = x[2]; p75 = x[3]; p05 lies
  // between 1 and 2; p95 between two infinities.
  std::vector<double> values{kInf, 1.0, kInf, 2.0, kInf};
  const techdep::SampleSummary stats = techdep::summarize(values);
  CHECK(stats.n == 5);
  CHECK(stats.mean == kInf);
  CHECK(std::isnan(stats.sd));  // no spread around an infinite mean
  CHECK(stats.p05 == Approx(1.2).epsilon(1e-15));
  CHECK(stats.p25 == 2.0);
  CHECK(stats.p50 == kInf);
  CHECK(stats.p75 == kInf);
  CHECK(stats.p95 == kInf);
  CHECK(stats.max == kInf);
  // Between a number and inf (p45: h = 1.8, between 2 and inf): inf, not a NaN.
  const std::vector<double> sorted{1.0, 2.0, kInf, kInf, kInf};
  CHECK(techdep::quantile_type7(sorted, 0.45) == kInf);
  std::vector<double> all_inf{kInf, kInf, kInf};
  const techdep::SampleSummary top = techdep::summarize(all_inf);
  CHECK(top.mean == kInf);
  CHECK(top.p05 == kInf);
  CHECK(top.p50 == kInf);
}

TEST_CASE("Morris effects of a linear function are its coefficients, with no spread", "[sweep]") {
  // f(x) = 10 x0 + x1 + 0 x2 on the unit cube: every elementary effect of x_i is exactly a_i.
  const std::vector<double> coefficients{10.0, 1.0, 0.0};
  const auto design = techdep::morris_design(3, 20, 4, 5);
  REQUIRE(design.size() == 20 * 4);
  std::vector<double> values;
  for (const std::vector<double>& x : design) {
    double value = 0.0;
    for (std::size_t i = 0; i < 3; ++i) {
      CHECK(x[i] >= 0.0);
      CHECK(x[i] <= 1.0);
      value += coefficients[i] * x[i];
    }
    values.push_back(value);
  }
  const auto stats = techdep::morris_statistics(design, values, 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(stats[i].effects == 20);
    CHECK(stats[i].mu == Approx(coefficients[i]).margin(1e-12));
    CHECK(stats[i].mu_star == Approx(coefficients[i]).margin(1e-12));
    CHECK(stats[i].sigma == Approx(0.0).margin(1e-12));
  }
}

TEST_CASE("Morris separates non-linear and interacting inputs from linear ones", "[sweep]") {
  // f = x0 + 4 x1 x2: x0 linear (sigma 0); x1 and x2 interact (sigma > 0, mu* = 4 E[x_other]).
  const auto design = techdep::morris_design(3, 200, 4, 9);
  std::vector<double> values;
  for (const std::vector<double>& x : design) values.push_back(x[0] + 4.0 * x[1] * x[2]);
  const auto stats = techdep::morris_statistics(design, values, 3);
  CHECK(stats[0].sigma == Approx(0.0).margin(1e-12));
  CHECK(stats[1].sigma > 0.5);
  CHECK(stats[2].sigma > 0.5);
  CHECK(stats[1].mu_star > stats[0].mu_star);
  CHECK(stats[2].mu_star > stats[0].mu_star);
}

TEST_CASE("Sobol indices of the Ishigami function match the analytic ones", "[sweep]") {
  // f = sin x1 + a sin^2 x2 + b x3^4 sin x1 on [-pi, pi]^3 (Ishigami and Homma 1990), a = 7,
  // b = 0.1. Analytic variances (Saltelli et al. 2008, 4.7): V1 = (1 + b pi^4 / 5)^2 / 2,
  // V2 = a^2 / 8, V3 = 0, V13 = 8 b^2 pi^8 / 225 (V = V1 + V2 + V13, b^2 pi^8 / 18 - b^2 pi^8 / 50).
  constexpr double kPi = 3.14159265358979323846;
  constexpr double a = 7.0;
  constexpr double b = 0.1;
  const double pi4 = std::pow(kPi, 4);
  const double pi8 = std::pow(kPi, 8);
  const double v1 = 0.5 * (1.0 + b * pi4 / 5.0) * (1.0 + b * pi4 / 5.0);
  const double v2 = a * a / 8.0;
  const double v13 = 8.0 * b * b * pi8 / 225.0;
  const double v = a * a / 8.0 + b * pi4 / 5.0 + b * b * pi8 / 18.0 + 0.5;
  REQUIRE(v == Approx(v1 + v2 + v13).epsilon(1e-12));
  const double first[3] = {v1 / v, v2 / v, 0.0};
  const double total[3] = {(v1 + v13) / v, v2 / v, v13 / v};

  constexpr int kSamples = 20000;
  const auto design = techdep::sobol_design(3, kSamples, 5);
  REQUIRE(design.size() == static_cast<std::size_t>(kSamples) * 5);
  std::vector<double> values;
  for (const std::vector<double>& u : design) {
    const double x1 = -kPi + 2.0 * kPi * u[0];
    const double x2 = -kPi + 2.0 * kPi * u[1];
    const double x3 = -kPi + 2.0 * kPi * u[2];
    values.push_back(std::sin(x1) + a * std::sin(x2) * std::sin(x2) +
                     b * std::pow(x3, 4) * std::sin(x1));
  }
  const auto indices = techdep::sobol_indices(values, 3, kSamples, 200, 5);
  REQUIRE(indices.size() == 3);
  for (int i = 0; i < 3; ++i) {
    INFO("x" << i + 1 << ": first " << indices[i].first << " [" << indices[i].first_low << ", "
              << indices[i].first_high << "] analytic " << first[i] << "; total "
              << indices[i].total << " [" << indices[i].total_low << ", " << indices[i].total_high
              << "] analytic " << total[i]);
    // Jansen's estimators at N = 20,000: standard errors about 0.01.
    CHECK(indices[i].first == Approx(first[i]).margin(0.03));
    CHECK(indices[i].total == Approx(total[i]).margin(0.03));
    // The bootstrap intervals are about +- 2 standard errors wide and hold the analytic value.
    CHECK(indices[i].first_low < indices[i].first);
    CHECK(indices[i].first < indices[i].first_high);
    CHECK(indices[i].first_high - indices[i].first_low < 0.1);
    CHECK(indices[i].first_low - 0.01 <= first[i]);
    CHECK(first[i] <= indices[i].first_high + 0.01);
    CHECK(indices[i].total_low - 0.01 <= total[i]);
    CHECK(total[i] <= indices[i].total_high + 0.01);
  }
  // x3 acts only through its interaction with x1: no first-order share, a real total one.
  CHECK(indices[2].total > 0.2);
  // Same seed, same design.
  CHECK(techdep::sobol_design(3, 10, 5) == techdep::sobol_design(3, 10, 5));
}
