#include "techdep/matrix/ces_targets.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace techdep {

double water_fill(std::span<const double> weights, std::span<const double> caps, double total,
                  std::span<double> shares, std::span<unsigned char> fixed) {
  const std::size_t n = weights.size();
  for (std::size_t i = 0; i < n; ++i) {
    shares[i] = 0.0;
    fixed[i] = weights[i] > 0.0 ? 0 : 1;
  }
  double remaining = total;
  // Fixing every violator of a round at once is exact: lowering the free mass can only raise the
  // level the others would reach, so a violator never becomes feasible again. At most n rounds.
  // The loops select instead of branching on `fixed`: which options have a weight follows no
  // pattern (a buyer's suppliers), so branches on it mispredict. Adding +0.0 for a fixed option
  // leaves the sum bit for bit what skipping it gives.
  for (std::size_t round = 0; round <= n; ++round) {
    double free_weight = 0.0;
    for (std::size_t i = 0; i < n; ++i) free_weight += fixed[i] ? 0.0 : weights[i];
    if (!(free_weight > 0.0)) break;
    const double level = remaining / free_weight;
    bool violated = false;
    for (std::size_t i = 0; i < n; ++i) {
      const bool violates = (fixed[i] == 0) & (level * weights[i] > caps[i]);
      if (violates) {
        shares[i] = caps[i];
        fixed[i] = 1;
        remaining -= caps[i];
        violated = true;
      }
    }
    if (!violated) {
      for (std::size_t i = 0; i < n; ++i) shares[i] = fixed[i] ? shares[i] : level * weights[i];
      remaining = 0.0;
      break;
    }
    remaining = std::max(remaining, 0.0);
  }
  return std::max(remaining, 0.0);
}

double restriction_wedge(double restriction, double evasion, double multiplier, double exponent) {
  const double rerouted =
      multiplier > 0.0 ? restriction * evasion * std::pow(multiplier, exponent) : 0.0;
  return (1.0 - restriction) + rerouted;
}

void compute_cell_targets(const CellTargetInputs& in, CellTargetScratch& scratch,
                          CellTargetOutputs& out) {
  const std::size_t n = in.log_alpha.size();
  const auto dom = static_cast<std::size_t>(in.domestic);
  const double sigma = in.sigma;

  // Weights in log space, shifted by their maximum: only ratios matter and large elasticities
  // would overflow p^-sigma.
  double shift = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < n; ++i) {
    if (std::isfinite(in.log_alpha[i])) {
      shift = std::max(shift, in.log_alpha[i] - sigma * in.log_price[i]);
    }
  }
  double total_weight = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(in.log_alpha[i]) || !std::isfinite(shift)) {
      // NaN inputs must reach the invariant check, not vanish into a zero weight.
      const bool poisoned = std::isnan(in.log_alpha[i]) || std::isnan(in.log_price[i]);
      scratch.unrestricted_weight[i] = poisoned ? std::nan("") : 0.0;
      scratch.weight[i] = scratch.unrestricted_weight[i];
      continue;
    }
    const double x = std::exp(in.log_alpha[i] - sigma * in.log_price[i] - shift);
    const double wedge =
        i == dom ? 1.0
                 : restriction_wedge(in.restriction[i], in.evasion[i], in.multiplier[i], -sigma);
    scratch.unrestricted_weight[i] = x;
    scratch.weight[i] = x * wedge;
    total_weight += x * wedge;
  }

  auto availability = [&](std::size_t i) {
    return (1.0 - in.restriction[i]) +
           (in.multiplier[i] > 0.0 ? in.restriction[i] * in.evasion[i] : 0.0);
  };
  auto restricted = [&](std::size_t i) { return i != dom && in.restriction[i] > 0.0; };

  // The other restricted suppliers' caps inside S^: availability times the share they would get
  // if they alone were unrestricted (closed form, no recursion).
  for (std::size_t j = 0; j < n; ++j) {
    if (!restricted(j)) {
      scratch.simple_cap[j] = kUncapped;
      continue;
    }
    const double x = scratch.unrestricted_weight[j];
    const double denominator = total_weight - scratch.weight[j] + x;
    scratch.simple_cap[j] = denominator > 0.0 ? availability(j) * x / denominator : 0.0;
  }

  for (std::size_t k = 0; k < n; ++k) {
    out.reroute_share[k] = 0.0;
    if (!restricted(k)) {
      out.cap[k] = k == dom ? in.capability_effective : kUncapped;
      continue;
    }
    // An option without weight gets nothing in its trial whatever the others do (water_fill
    // fixes it at 0), so its trial is skipped: most restricted origins of a cell are not among
    // its suppliers.
    double trial_share = 0.0;
    if (!(scratch.unrestricted_weight[k] == 0.0)) {
      for (std::size_t i = 0; i < n; ++i) {
        scratch.trial_weight[i] = scratch.weight[i];
        scratch.trial_cap[i] = scratch.simple_cap[i];
      }
      scratch.trial_weight[k] = scratch.unrestricted_weight[k];
      scratch.trial_cap[k] = kUncapped;
      scratch.trial_cap[dom] = in.capability_effective;
      water_fill(scratch.trial_weight, scratch.trial_cap, 1.0, scratch.trial_share, scratch.fixed);
      trial_share = scratch.trial_share[k];
    }
    out.cap[k] = in.cap_scale[k] * availability(k) * trial_share;

    if (in.multiplier[k] > 0.0 && in.evasion[k] > 0.0) {
      const double wedge =
          restriction_wedge(in.restriction[k], in.evasion[k], in.multiplier[k], -sigma);
      const double rerouted =
          in.restriction[k] * in.evasion[k] * std::pow(in.multiplier[k], -sigma);
      out.reroute_share[k] = wedge > 0.0 ? rerouted / wedge : 0.0;
    }
  }

  // Domestic demand: the domestic share with the CapEff clip removed; what no foreign option can
  // take counts as demand for domestic output whatever the domestic weight.
  for (std::size_t i = 0; i < n; ++i) scratch.trial_cap[i] = out.cap[i];
  scratch.trial_cap[dom] = kUncapped;
  const double unserved_uncapped =
      water_fill(scratch.weight, scratch.trial_cap, 1.0, scratch.trial_share, scratch.fixed);
  out.domestic_demand = std::max(in.mandate, scratch.trial_share[dom] + unserved_uncapped);

  capped_targets(scratch.weight, out.cap, in.domestic, in.mandate, out.target,
                 scratch.trial_weight, scratch.fixed);
}

void capped_targets(std::span<const double> weights, std::span<const double> caps, int domestic,
                    double mandate, std::span<double> target, std::span<double> trial_weight,
                    std::span<unsigned char> fixed) {
  const std::size_t n = weights.size();
  const auto dom = static_cast<std::size_t>(domestic);
  const double capability_effective = caps[dom];
  const double unserved = water_fill(weights, caps, 1.0, target, fixed);
  target[dom] += std::clamp(capability_effective - target[dom], 0.0, unserved);

  const double floor = std::min(mandate, capability_effective);
  if (target[dom] < floor) {
    // The mandate fixes the domestic share; the foreign options share what is left, caps intact.
    for (std::size_t i = 0; i < n; ++i) trial_weight[i] = weights[i];
    trial_weight[dom] = 0.0;
    const double left = water_fill(trial_weight, caps, 1.0 - floor, target, fixed);
    target[dom] = floor + std::clamp(capability_effective - floor, 0.0, left);
  }
}

}  // namespace techdep
