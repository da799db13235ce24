#include "techdep/matrix/total_dependency.hpp"

#include <cstddef>
#include <utility>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "techdep/core/error.hpp"

namespace techdep {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;

// Row layout of every (country, sector) block: sector-major, so the block of one sector is a
// contiguous run of `countries` rows and each sweep is a handful of small matrix products.
Index row_of(int sector, int country, int countries) {
  return static_cast<Index>(sector) * countries + country;
}

// mix[(s', c), j]: the origin mix of c's purchases of s', normalised over what is served (the
// initial mix when nothing is served). G[(j,s'), (c,s)] = a[s'][s] * mix[(s', c), j].
void build_mix(const DependencyInputs& in, MatrixXd& mix) {
  const int countries = in.countries;
  mix.resize(static_cast<Index>(in.sectors) * countries, countries);
  for (int c = 0; c < countries; ++c) {
    for (int s = 0; s < in.sectors; ++s) {
      const std::size_t cell = static_cast<std::size_t>(c) * static_cast<std::size_t>(in.sectors) +
                               static_cast<std::size_t>(s);
      const double served = 1.0 - in.shortage[cell];
      const bool none = !(served > 0.0);
      for (int k = 0; k < countries; ++k) {
        const std::size_t idx =
            cell * static_cast<std::size_t>(countries) + static_cast<std::size_t>(k);
        mix(row_of(s, c, countries), k) = none ? in.initial_share[idx] : in.share[idx] / served;
      }
    }
  }
}

double coefficient(const DependencyInputs& in, int input, int output) {
  return in.inputs[static_cast<std::size_t>(input) * static_cast<std::size_t>(in.sectors) +
                   static_cast<std::size_t>(output)];
}

double value_added(const DependencyInputs& in, int sector) {
  double used = 0.0;
  for (int input = 0; input < in.sectors; ++input) used += coefficient(in, input, sector);
  return 1.0 - used;
}

[[noreturn]] void throw_divergence(int iterations, double residual) {
  throw NumericalError(fmt::format(
      "total dependency: sweeps did not converge after {} iterations (residual {:g}); an input "
      "coefficient column sums to 1 or more",
      iterations, residual));
}

// Jacobi sweeps y <- base + G(y) until the sweep changes nothing beyond the tolerance;
// `add_coupling(y, next)` adds G(y) to next (G or G^T, applied block by block).
template <class AddCoupling>
DependencySolveReport sweep_until_converged(const MatrixXd& base, MatrixXd& y, MatrixXd& next,
                                            bool transposed, AddCoupling&& add_coupling) {
  DependencySolveReport report;
  report.transposed = transposed;
  for (int iteration = 1; iteration <= kDependencyMaxIterations; ++iteration) {
    next = base;
    add_coupling(y, next);
    report.residual = (next - y).cwiseAbs().maxCoeff();
    report.iterations = iteration;
    y.swap(next);
    if (report.residual < kDependencyTolerance) return report;
  }
  throw_divergence(report.iterations, report.residual);
}

// Y = B + G^T Y, one column per origin k: Y[(s, j), k] is the value added by k per unit of j's
// output of s. G^T Y = sum over s' of a[s'][s] * (mix_{s'} Y_{s'}).
// Work matrices kept between calls, so a step allocates nothing once they are sized.
struct Workspace {
  MatrixXd base, mixed, next;
  std::vector<double> value_added;
};

DependencySolveReport solve_transposed(const DependencyInputs& in, const MatrixXd& mix, MatrixXd& y,
                                       Workspace& work) {
  const int countries = in.countries;
  const int sectors = in.sectors;
  const Index rows = static_cast<Index>(sectors) * countries;
  MatrixXd& base = work.base;
  base.setZero(rows, countries);
  for (int s = 0; s < sectors; ++s) {
    const double v = value_added(in, s);
    for (int k = 0; k < countries; ++k) base(row_of(s, k, countries), k) = v;
  }
  if (y.rows() != rows || y.cols() != countries) y = base;

  MatrixXd& mixed = work.mixed;
  mixed.resize(rows, countries);
  auto add_coupling = [&](const MatrixXd& current, MatrixXd& next) {
    for (int s = 0; s < sectors; ++s) {
      mixed.middleRows(row_of(s, 0, countries), countries).noalias() =
          mix.middleRows(row_of(s, 0, countries), countries) *
          current.middleRows(row_of(s, 0, countries), countries);
    }
    for (int s = 0; s < sectors; ++s) {
      for (int input = 0; input < sectors; ++input) {
        const double a = coefficient(in, input, s);
        if (a == 0.0) continue;
        next.middleRows(row_of(s, 0, countries), countries) +=
            a * mixed.middleRows(row_of(input, 0, countries), countries);
      }
    }
  };
  return sweep_until_converged(base, y, work.next, true, add_coupling);
}

// X = F + G X for one buyer, one column per demanded sector: X[(s', k), s0] is the output of s'
// by origin k that one unit of the buyer's demand for s0 requires.
DependencySolveReport solve_forward(const DependencyInputs& in, const MatrixXd& mix, int buyer,
                                    MatrixXd& x, Workspace& work) {
  const int countries = in.countries;
  const int sectors = in.sectors;
  const Index rows = static_cast<Index>(sectors) * countries;
  MatrixXd& demand = work.base;
  demand.setZero(rows, sectors);
  for (int s = 0; s < sectors; ++s) {
    for (int k = 0; k < countries; ++k) {
      demand(row_of(s, k, countries), s) =
          in.share[(static_cast<std::size_t>(buyer) * static_cast<std::size_t>(sectors) +
                    static_cast<std::size_t>(s)) *
                       static_cast<std::size_t>(countries) +
                   static_cast<std::size_t>(k)];
    }
  }
  if (x.rows() != rows || x.cols() != sectors) x = demand;

  MatrixXd& used = work.mixed;
  used.resize(rows, sectors);
  auto add_coupling = [&](const MatrixXd& current, MatrixXd& next) {
    used.setZero();
    for (int input = 0; input < sectors; ++input) {
      for (int s = 0; s < sectors; ++s) {
        const double a = coefficient(in, input, s);
        if (a == 0.0) continue;
        used.middleRows(row_of(input, 0, countries), countries) +=
            a * current.middleRows(row_of(s, 0, countries), countries);
      }
    }
    for (int input = 0; input < sectors; ++input) {
      next.middleRows(row_of(input, 0, countries), countries).noalias() +=
          mix.middleRows(row_of(input, 0, countries), countries).transpose() *
          used.middleRows(row_of(input, 0, countries), countries);
    }
  };
  return sweep_until_converged(demand, x, work.next, false, add_coupling);
}

}  // namespace

struct TotalDependencySolver::Impl {
  int countries = 0;
  int sectors = 0;
  std::vector<int> focus;
  MatrixXd mix;
  MatrixXd per_origin;              // warm start of the transposed solves
  std::vector<MatrixXd> per_buyer;  // warm starts of the forward solves, one per focus buyer
  Workspace work;
};

TotalDependencySolver::TotalDependencySolver(int countries, int sectors, std::vector<int> focus)
    : impl_(std::make_unique<Impl>()) {
  impl_->countries = countries;
  impl_->sectors = sectors;
  if (focus.empty()) {
    for (int c = 0; c < countries; ++c) focus.push_back(c);
  }
  impl_->focus = std::move(focus);
  impl_->per_buyer.resize(impl_->focus.size());
}

TotalDependencySolver::~TotalDependencySolver() = default;
TotalDependencySolver::TotalDependencySolver(TotalDependencySolver&&) noexcept = default;
TotalDependencySolver& TotalDependencySolver::operator=(TotalDependencySolver&&) noexcept = default;

const std::vector<int>& TotalDependencySolver::focus() const { return impl_->focus; }

DependencySolveReport TotalDependencySolver::solve(const DependencyInputs& in,
                                                   std::span<double> total_dependency) {
  Impl& self = *impl_;
  const int countries = in.countries;
  const int sectors = in.sectors;
  build_mix(in, self.mix);
  auto out_index = [&](int c, int s, int k) {
    return (static_cast<std::size_t>(c) * static_cast<std::size_t>(sectors) +
            static_cast<std::size_t>(s)) *
               static_cast<std::size_t>(countries) +
           static_cast<std::size_t>(k);
  };

  // Right-hand sides: `countries` transposed solves, or sectors per focus buyer forward.
  const bool transposed =
      static_cast<std::size_t>(countries) <= self.focus.size() * static_cast<std::size_t>(sectors);
  if (transposed) {
    DependencySolveReport report = solve_transposed(in, self.mix, self.per_origin, self.work);
    for (const int c : self.focus) {
      for (int s = 0; s < sectors; ++s) {
        for (int k = 0; k < countries; ++k) {
          double sum = 0.0;
          for (int j = 0; j < countries; ++j) {
            sum += in.share[out_index(c, s, j)] * self.per_origin(row_of(s, j, countries), k);
          }
          total_dependency[out_index(c, s, k)] = sum;
        }
      }
    }
    return report;
  }

  std::vector<double>& value = self.work.value_added;
  value.resize(static_cast<std::size_t>(sectors));
  for (int s = 0; s < sectors; ++s) value[static_cast<std::size_t>(s)] = value_added(in, s);
  DependencySolveReport worst;
  worst.transposed = false;
  for (std::size_t f = 0; f < self.focus.size(); ++f) {
    const int c = self.focus[f];
    MatrixXd& x = self.per_buyer[f];
    const DependencySolveReport report = solve_forward(in, self.mix, c, x, self.work);
    if (report.iterations > worst.iterations) worst = report;
    for (int s = 0; s < sectors; ++s) {
      for (int k = 0; k < countries; ++k) {
        double sum = 0.0;
        for (int input = 0; input < sectors; ++input) {
          sum += value[static_cast<std::size_t>(input)] * x(row_of(input, k, countries), s);
        }
        total_dependency[out_index(c, s, k)] = sum;
      }
    }
  }
  return worst;
}

std::vector<double> gross_requirements(const DependencyInputs& in, int buyer, int sector) {
  MatrixXd mix;
  build_mix(in, mix);
  MatrixXd x;
  Workspace work;
  solve_forward(in, mix, buyer, x, work);
  const auto sectors = static_cast<std::size_t>(in.sectors);
  std::vector<double> out(static_cast<std::size_t>(in.countries) * sectors);
  for (int k = 0; k < in.countries; ++k) {
    for (int s = 0; s < in.sectors; ++s) {
      out[static_cast<std::size_t>(k) * sectors + static_cast<std::size_t>(s)] =
          x(row_of(s, k, in.countries), sector);
    }
  }
  return out;
}

}  // namespace techdep
