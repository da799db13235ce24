#pragma once
// The target step of model.md section 5.3 for one buyer and sector: CES weights, quantity caps from
// restrictions, water-filling, the fall-through to domestic producers and the mandate floor.
// Plain arrays in, plain arrays out, so the simulation can call it from its hot loop with scratch
// space it owns (no allocation here).

#include <limits>
#include <span>

namespace techdep {

/// Marks an option without a quantity cap.
inline constexpr double kUncapped = std::numeric_limits<double>::infinity();

/// Shares in proportion to `weights`, each at most `caps[i]`; the excess of capped options goes to
/// the uncapped ones in proportion to their weights. Options with zero weight get nothing. Returns
/// the mass left unallocated (every option with weight capped, or no weight at all).
/// `fixed` is scratch space of the same size. `total` is the mass to distribute.
double water_fill(std::span<const double> weights, std::span<const double> caps, double total,
                  std::span<double> shares, std::span<unsigned char> fixed);

/// Everything the target step needs about one (buyer, sector) cell, one entry per origin country
/// (the buyer itself is the domestic option at index `domestic`).
struct CellTargetInputs {
  int domestic = 0;
  double sigma = 3.0;
  std::span<const double> log_alpha;   ///< calibrated log CES weights; -inf for alpha = 0
  std::span<const double> log_price;   ///< log effective price p (section 5.3)
  std::span<const double> restriction; ///< R, 0 for the domestic option
  std::span<const double> evasion;     ///< e
  std::span<const double> multiplier;  ///< reroute psi >= 1, or 0 when no route exists
  std::span<const double> cap_scale;   ///< calibration factor >= 1 of restricted caps
                                       ///< (docs/model.md, "caps at t = 0")
  double capability_effective = 1.0;   ///< CapEff = Cap * In
  double mandate = 0.0;                ///< M
};

/// Scratch arrays, each of the cell's option count, owned by the caller.
struct CellTargetScratch {
  std::span<double> unrestricted_weight;  ///< x = alpha p^-sigma (shifted)
  std::span<double> weight;               ///< w = alpha * omega (shifted)
  std::span<double> simple_cap;
  std::span<double> trial_weight;
  std::span<double> trial_cap;
  std::span<double> trial_share;
  std::span<unsigned char> fixed;
};

struct CellTargetOutputs {
  std::span<double> target;         ///< S*
  std::span<double> cap;            ///< quantity cap per option (kUncapped when none)
  std::span<double> reroute_share;  ///< part of an option's flow that goes through a hub
  double domestic_demand = 0.0;     ///< D = max(M, domestic share before the CapEff clip)
};

/// Computes S*, the caps and D for one cell (model.md section 5.3, with the cap calibration of
/// docs/model.md). Pure: no state, no allocation.
void compute_cell_targets(const CellTargetInputs& in, CellTargetScratch& scratch,
                          CellTargetOutputs& out);

/// The last part of the target step, given the weights and the caps: water-filling, demand no
/// option can take falling to the domestic option up to its cap `caps[domestic]` (CapEff), then
/// the mandate floor. Agent mode calls it for a firm's own weights under its cell's caps.
/// `trial_weight` and `fixed` are scratch of the option count.
void capped_targets(std::span<const double> weights, std::span<const double> caps, int domestic,
                    double mandate, std::span<double> target, std::span<double> trial_weight,
                    std::span<unsigned char> fixed);

/// A restricted option's availability factor A = (1 - R) + R e psi^-sigma of the wedge
/// omega = p^-sigma * A (psi = 0: no route, the rerouted term vanishes).
double restriction_wedge(double restriction, double evasion, double multiplier, double exponent);

}  // namespace techdep
