#include "techdep/matrix/total_dependency.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <utility>
#include <vector>

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
//
// The hot loop of the whole matrix side, so it works on plain arrays: Y, Z = mix Y and the next
// iterate are stored row-major, Y[((s * C) + j) * C + k], so every update is a contiguous run over
// the origins k that the compiler vectorises; each sector's mix is kept sparse (compressed rows:
// a buyer buys from a few origins), so a sweep costs (nonzeros of the mixes + nonzeros of a) row
// updates of length C instead of S dense C x C products. The sums run in the same order as the
// dense formulation (ascending j, then ascending input sector), only skipping exact zeros.
struct SparseMix {
  std::vector<std::size_t> row_start;  // (s * C + c) -> first entry; C * S + 1 of them
  std::vector<int> origin;             // j
  std::vector<double> weight;          // mix[(s, c), j] != 0
};

// Work arrays kept between calls, so a step allocates nothing once they are sized.
struct Workspace {
  MatrixXd base, mixed, next;
  std::vector<double> value_added;
  SparseMix sparse;
  std::vector<double> z;
  std::vector<std::pair<int, double>> couplings;  // (input s', a[s'][s]) by s, a != 0
  std::vector<std::size_t> coupling_start;        // s -> first entry; S + 1 of them
  std::vector<const double*> sources;
  std::vector<double> weights, diagonal;
};

void build_sparse_mix(const DependencyInputs& in, SparseMix& mix) {
  const auto countries = static_cast<std::size_t>(in.countries);
  const auto sectors = static_cast<std::size_t>(in.sectors);
  mix.row_start.assign(sectors * countries + 1, 0);
  mix.origin.clear();
  mix.weight.clear();
  for (std::size_t s = 0; s < sectors; ++s) {
    for (std::size_t c = 0; c < countries; ++c) {
      const std::size_t cell = c * sectors + s;
      const double served = 1.0 - in.shortage[cell];
      const bool none = !(served > 0.0);
      const auto add = [&](std::size_t k) {
        const std::size_t idx = cell * countries + k;
        const double value = none ? in.initial_share[idx] : in.share[idx] / served;
        if (value == 0.0) return;
        mix.origin.push_back(static_cast<int>(k));
        mix.weight.push_back(value);
      };
      if (in.cell_first.empty()) {
        for (std::size_t k = 0; k < countries; ++k) add(k);
      } else {
        for (std::size_t o = in.cell_first[cell]; o < in.cell_first[cell + 1]; ++o) {
          add(static_cast<std::size_t>(in.cell_origin[o]));
        }
      }
      mix.row_start[s * countries + c + 1] = mix.origin.size();
    }
  }
}

// out[k] = init[k] + sum over e of weight[e] * source[e][k], k < n, the terms added in order e;
// returns max |out[k] - previous[k]| (0 when `previous` is null), the sweep's residual. `out`
// may be `previous` (an update in place): each value is read before it is overwritten.
// The output is built in chunks of up to kMaxVectors register-sized vectors, so each source is
// streamed once, the partial sums never go back to memory between terms, and the chunk's vectors
// are independent chains of adds: with one or two accumulators the loop waits on the add latency
// instead of issuing an add every cycle. `init` null means zero. Compiled for AVX-512, AVX2 and
// baseline x86-64 and picked at load time; with FMA contraction off (-ffp-contract=off, in the
// top-level CMakeLists.txt) every version rounds the same way, so results do not depend on the
// machine.
using Lanes = double __attribute__((vector_size(64)));  // 8 doubles: one AVX-512 register
constexpr std::size_t kLanes = 8;
constexpr std::size_t kMaxVectors = 8;

template <std::size_t Vectors>
[[gnu::always_inline]] inline void combine_chunk(double* out, const double* __restrict init,
                                                 std::size_t k,
                                                 const double* const* __restrict source,
                                                 const double* __restrict weight,
                                                 std::size_t count, const double* previous,
                                                 Lanes& change) {
  Lanes sum[Vectors];
  for (std::size_t v = 0; v < Vectors; ++v) {
    sum[v] = Lanes{};
    if (init) std::memcpy(&sum[v], init + k + v * kLanes, sizeof(Lanes));
  }
  for (std::size_t e = 0; e < count; ++e) {
    const double* from = source[e] + k;
    const double w = weight[e];
    for (std::size_t v = 0; v < Vectors; ++v) {
      Lanes term;
      std::memcpy(&term, from + v * kLanes, sizeof term);
      sum[v] += w * term;
    }
  }
  for (std::size_t v = 0; v < Vectors; ++v) {
    if (previous) {
      Lanes before;
      std::memcpy(&before, previous + k + v * kLanes, sizeof before);
      Lanes diff = sum[v] - before;
      diff = diff < 0.0 ? -diff : diff;
      change = change > diff ? change : diff;
    }
    std::memcpy(out + k + v * kLanes, &sum[v], sizeof(Lanes));
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__)
[[gnu::target_clones("avx512f", "avx2", "default")]]
#endif
double combine_rows(double* out, const double* __restrict init, std::size_t n,
                    const double* const* __restrict source, const double* __restrict weight,
                    std::size_t count, const double* previous) {
  std::size_t k = 0;
  Lanes change{};
  for (; k + kMaxVectors * kLanes <= n; k += kMaxVectors * kLanes) {
    combine_chunk<kMaxVectors>(out, init, k, source, weight, count, previous, change);
  }
  // The rest of the whole vectors in one chunk (a row of 40 origins is 5 of them).
  switch ((n - k) / kLanes) {
#define TECHDEP_COMBINE_TAIL(V)                                                              \
  case V:                                                                                    \
    combine_chunk<V>(out, init, k, source, weight, count, previous, change);                \
    k += V * kLanes;                                                                         \
    break;
    TECHDEP_COMBINE_TAIL(1)
    TECHDEP_COMBINE_TAIL(2)
    TECHDEP_COMBINE_TAIL(3)
    TECHDEP_COMBINE_TAIL(4)
    TECHDEP_COMBINE_TAIL(5)
    TECHDEP_COMBINE_TAIL(6)
    TECHDEP_COMBINE_TAIL(7)
#undef TECHDEP_COMBINE_TAIL
    default: break;
  }
  double residual = 0.0;
  for (std::size_t i = 0; i < kLanes; ++i) residual = std::max(residual, change[i]);
  for (; k < n; ++k) {
    double sum = init ? init[k] : 0.0;
    for (std::size_t e = 0; e < count; ++e) sum += weight[e] * source[e][k];
    if (previous) residual = std::max(residual, std::abs(sum - previous[k]));
    out[k] = sum;
  }
  return residual;
}

DependencySolveReport solve_transposed(const DependencyInputs& in, std::vector<double>& y,
                                       Workspace& work) {
  const auto countries = static_cast<std::size_t>(in.countries);
  const auto sectors = static_cast<std::size_t>(in.sectors);
  const std::size_t block = countries * countries;
  const std::size_t size = sectors * block;
  build_sparse_mix(in, work.sparse);

  std::vector<double>& value = work.value_added;
  value.resize(sectors);
  work.couplings.clear();
  work.coupling_start.assign(sectors + 1, 0);
  for (std::size_t s = 0; s < sectors; ++s) {
    value[s] = value_added(in, static_cast<int>(s));
    for (int input = 0; input < in.sectors; ++input) {
      const double a = coefficient(in, input, static_cast<int>(s));
      if (a != 0.0) work.couplings.emplace_back(input, a);
    }
    work.coupling_start[s + 1] = work.couplings.size();
  }
  if (y.size() != size) {  // cold start: Y = B
    y.assign(size, 0.0);
    for (std::size_t s = 0; s < sectors; ++s) {
      for (std::size_t k = 0; k < countries; ++k) y[s * block + k * countries + k] = value[s];
    }
  }
  work.z.resize(size);

  const SparseMix& mix = work.sparse;
  // Scratch of the kernel: a row's sources and weights, and a sector's B block (v[s] I).
  std::vector<const double*>& sources = work.sources;
  std::vector<double>& weights = work.weights;
  std::vector<double>& diagonal = work.diagonal;
  sources.resize(std::max(countries, sectors));
  weights.resize(sectors);
  diagonal.assign(block, 0.0);  // only its diagonal is ever written
  double* const z = work.z.data();
  // Z_s = mix_s Y_s, row by row.
  const auto mix_sector = [&](std::size_t s) {
    const double* y_sector = y.data() + s * block;
    for (std::size_t row = s * countries; row < (s + 1) * countries; ++row) {
      const std::size_t first = mix.row_start[row];
      const std::size_t count = mix.row_start[row + 1] - first;
      for (std::size_t e = 0; e < count; ++e) {
        sources[e] = y_sector + static_cast<std::size_t>(mix.origin[first + e]) * countries;
      }
      combine_rows(z + row * countries, nullptr, countries, sources.data(),
                   mix.weight.data() + first, count, nullptr);
    }
  };
  for (std::size_t s = 0; s < sectors; ++s) mix_sector(s);

  // Gauss-Seidel over sectors: Y_s = B_s + sum over inputs s' of a[s'][s] Z_s', with the Z of
  // the sectors already updated in this sweep, then Z_s from the new Y_s at once (while Y_s is
  // still in cache). Y is updated in place, so the state is Y and Z only; the sweeps converge
  // faster than Jacobi's (a contraction in the same norm with a factor no larger, docs/model.md).
  DependencySolveReport report;
  report.transposed = true;
  for (int iteration = 1; iteration <= kDependencyMaxIterations; ++iteration) {
    double residual = 0.0;
    for (std::size_t s = 0; s < sectors; ++s) {
      double* const y_sector = y.data() + s * block;
      for (std::size_t k = 0; k < countries; ++k) diagonal[k * countries + k] = value[s];
      const std::size_t first = work.coupling_start[s];
      const std::size_t count = work.coupling_start[s + 1] - first;
      for (std::size_t e = 0; e < count; ++e) {
        sources[e] = z + static_cast<std::size_t>(work.couplings[first + e].first) * block;
        weights[e] = work.couplings[first + e].second;
      }
      residual = std::max(residual, combine_rows(y_sector, diagonal.data(), block, sources.data(),
                                                 weights.data(), count, y_sector));
      mix_sector(s);
    }
    report.residual = residual;
    report.iterations = iteration;
    if (residual < kDependencyTolerance) return report;
  }
  throw_divergence(report.iterations, report.residual);
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
  std::vector<double> per_origin;   // warm start of the transposed solves, Y row-major
  std::vector<double> per_origin_before;  // the solution before that, for the extrapolation
  std::vector<double> per_origin_earlier;  // and the one before that
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
    // The shares move smoothly from one solve to the next, so extrapolating the last solutions
    // starts closer than the last one alone (the answer is the same to the tolerance): through
    // the last three (quadratic), W2, solved every step, needs 968 sweeps instead of 1,421 (1,175
    // through the last two). It keeps two more copies of the state, so large states skip it: W3
    // (32 MB, solved every 12 steps) saved only 6% with the linear form.
    constexpr std::size_t kMaxExtrapolatedState = std::size_t{1} << 20;  // doubles
    std::vector<double>& y = self.per_origin;
    std::vector<double>& before = self.per_origin_before;
    if (!y.empty() && y.size() <= kMaxExtrapolatedState) {
      std::vector<double>& earlier = self.per_origin_earlier;
      if (earlier.size() == y.size()) {
        for (std::size_t i = 0; i < y.size(); ++i) {
          const double last = y[i];
          y[i] = 3.0 * (last - before[i]) + earlier[i];
          earlier[i] = before[i];
          before[i] = last;
        }
      } else if (before.size() == y.size()) {
        earlier = before;
        for (std::size_t i = 0; i < y.size(); ++i) {
          const double last = y[i];
          y[i] = last + (last - before[i]);
          before[i] = last;
        }
      } else {
        before = y;
      }
    }
    DependencySolveReport report = solve_transposed(in, y, self.work);
    const auto cn = static_cast<std::size_t>(countries);
    for (const int c : self.focus) {
      for (int s = 0; s < sectors; ++s) {
        double* __restrict out = total_dependency.data() + out_index(c, s, 0);
        std::fill(out, out + cn, 0.0);
        const double* y_sector = self.per_origin.data() + static_cast<std::size_t>(s) * cn * cn;
        for (std::size_t j = 0; j < cn; ++j) {
          const double weight = in.share[out_index(c, s, static_cast<int>(j))];
          if (weight == 0.0) continue;
          const double* __restrict from = y_sector + j * cn;
          for (std::size_t k = 0; k < cn; ++k) out[k] += weight * from[k];
        }
      }
    }
    return report;
  }

  build_mix(in, self.mix);
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
