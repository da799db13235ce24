#pragma once
// Total dependency (model.md section 7, "the matrix model"): the value-added origin of a buyer's
// demand, direct and through the input-output chain. The coupling matrix G is never formed: it is
// applied as a structured operator (shares times coefficients) and the system is solved by
// sweeps (Gauss-Seidel over sectors for the transposed form, Jacobi for the forward one),
// warm-started from the previous calls.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace techdep {

class WorkerTeam;

/// The state the matrix model reads. Arrays are indexed like ScenarioSpec tables.
struct DependencyInputs {
  int countries = 0;
  int sectors = 0;
  std::span<const double> share;          ///< S[c][s][k]
  std::span<const double> shortage;       ///< U[c][s]
  std::span<const double> initial_share;  ///< S0[c][s][k]: the input mix when U = 1
  std::span<const double> inputs;         ///< a[s'][s]; every column sums to < 1
  /// Optional: the only origins that can have a share in each (buyer, sector) cell, as
  /// compressed rows over the cells ([c][s]; `cell_first` has C S + 1 entries). Empty: every
  /// origin is looked at. Saves scanning C x S x C shares when buyers use a few origins.
  std::span<const std::size_t> cell_first;
  std::span<const std::int32_t> cell_origin;
};

/// How the last solve went.
struct DependencySolveReport {
  bool transposed = true;  ///< per-origin transposed solves, or per-focus-buyer forward solves
  int iterations = 0;      ///< sweeps of the largest solve (every tile of origins does as many)
  double residual = 0.0;   ///< infinity norm of the last residual
  int threads = 1;         ///< threads the transposed solve's tiles of origins were shared among
  int tiles = 1;           ///< tiles of origins the transposed solve swept, each in cache
};

/// Stopping rule of the sweeps: infinity norm of the residual b - (I - G) y. The error is at most
/// residual / (1 - max column sum of a) (a contraction in that norm; docs/model.md).
inline constexpr double kDependencyTolerance = 1e-13;
/// A bound that only a coefficient column summing to (almost) 1 can reach; then NumericalError.
inline constexpr int kDependencyMaxIterations = 100000;

/// Solves for a fixed set of focus buyers, keeping the last solution as the next warm start.
/// Chooses per call the smaller set of right-hand sides: one transposed solve per origin
/// (countries of them) or one forward solve per focus buyer and sector.
class TotalDependencySolver {
 public:
  /// `focus`: the buyers whose total dependency is wanted (sorted, unique; empty = every country).
  /// `threads`: the transposed solves of large states share tiles of origins among up to this
  /// many threads; the results do not depend on it. `team`: threads to share them among (its
  /// size then stands for `threads`), not used by anything else during solve(); without one
  /// and with `threads` > 1 the solver keeps a team of its own.
  TotalDependencySolver(int countries, int sectors, std::vector<int> focus, int threads = 1,
                        WorkerTeam* team = nullptr);
  ~TotalDependencySolver();
  TotalDependencySolver(TotalDependencySolver&&) noexcept;
  TotalDependencySolver& operator=(TotalDependencySolver&&) noexcept;

  /// Writes total_dependency[c][s][k] for the focus buyers c; other rows are left untouched.
  /// Throws NumericalError when the sweeps do not converge.
  DependencySolveReport solve(const DependencyInputs& inputs, std::span<double> total_dependency);

  const std::vector<int>& focus() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Gross requirements x = (I - G)^-1 f of buyer c's demand for sector s, over (origin k, sector
/// s'), indexed [k][s']: how much of each origin's output in each sector the demand needs, directly
/// and through inputs. A cold-started forward solve; for tests and explanations.
std::vector<double> gross_requirements(const DependencyInputs& inputs, int buyer, int sector);

}  // namespace techdep
