#include "techdep/matrix/total_dependency.hpp"

#include "techdep/core/cpu_dispatch.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include <Eigen/Dense>
#include <fmt/format.h>

#include "techdep/core/error.hpp"
#include "techdep/core/worker_team.hpp"

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

// `source(e)` is the e-th term's source row (a table of pointers, or found from an index).
// sum[v] += weight * from[v], for `Vectors` vectors of partial sums: one term of a row.
template <std::size_t Vectors>
[[gnu::always_inline]] inline void add_term(Lanes* sum, const double* from, double weight) {
  for (std::size_t v = 0; v < Vectors; ++v) {
    Lanes term;
    std::memcpy(&term, from + v * kLanes, sizeof term);
    sum[v] += weight * term;
  }
}

template <std::size_t Vectors, class Source>
[[gnu::always_inline]] inline void combine_chunk(double* out, const double* __restrict init,
                                                 std::size_t k, const Source& source,
                                                 const double* __restrict weight,
                                                 std::size_t count, const double* previous,
                                                 Lanes& change) {
  Lanes sum[Vectors];
  for (std::size_t v = 0; v < Vectors; ++v) {
    sum[v] = Lanes{};
    if (init) std::memcpy(&sum[v], init + k + v * kLanes, sizeof(Lanes));
  }
  for (std::size_t e = 0; e < count; ++e) add_term<Vectors>(sum, source(e) + k, weight[e]);
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

template <class Source>
[[gnu::always_inline]] inline double combine_row(double* out, const double* __restrict init,
                                                 std::size_t n, const Source& source,
                                                 const double* __restrict weight,
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
    for (std::size_t e = 0; e < count; ++e) sum += weight[e] * source(e)[k];
    if (previous) residual = std::max(residual, std::abs(sum - previous[k]));
    out[k] = sum;
  }
  return residual;
}

TECHDEP_TARGET_CLONES
double combine_rows(double* out, const double* __restrict init, std::size_t n,
                    const double* const* __restrict source, const double* __restrict weight,
                    std::size_t count, const double* previous) {
  return combine_row(out, init, n, [source](std::size_t e) { return source[e]; }, weight, count,
                     previous);
}

// Two rows of Z = mix Y at once, `Vectors` whole vectors each: a row of a few vectors is as many
// chains of dependent adds, which wait on the add latency; two rows interleaved keep twice as
// many independent chains in flight (W3's solver 5% faster with tiles of 2 vectors, W5's 5% with
// rows of 5). Each row's terms are still added in its own order, so the bits are those of one
// row at a time.
template <std::size_t Vectors>
[[gnu::always_inline]] inline void mix_row_pair(double* out, const double* __restrict y,
                                                std::size_t width, const int* origin_a,
                                                const double* weight_a, std::size_t count_a,
                                                const int* origin_b, const double* weight_b,
                                                std::size_t count_b) {
  Lanes sum_a[Vectors];
  Lanes sum_b[Vectors];
  for (std::size_t v = 0; v < Vectors; ++v) sum_a[v] = sum_b[v] = Lanes{};
  const auto add = [&](Lanes* sum, const int* origin, const double* weight, std::size_t e) {
    add_term<Vectors>(sum, y + static_cast<std::size_t>(origin[e]) * width, weight[e]);
  };
  const std::size_t both = std::min(count_a, count_b);
  std::size_t e = 0;
  for (; e < both; ++e) {
    add(sum_a, origin_a, weight_a, e);
    add(sum_b, origin_b, weight_b, e);
  }
  for (std::size_t rest = e; rest < count_a; ++rest) add(sum_a, origin_a, weight_a, rest);
  for (std::size_t rest = e; rest < count_b; ++rest) add(sum_b, origin_b, weight_b, rest);
  for (std::size_t v = 0; v < Vectors; ++v) {
    std::memcpy(out + v * kLanes, &sum_a[v], sizeof(Lanes));
    std::memcpy(out + width + v * kLanes, &sum_b[v], sizeof(Lanes));
  }
}

// One row of Z = mix Y: combine_row with the source rows found from the entries' origins.
[[gnu::always_inline]] inline void mix_row(double* out, const double* __restrict y,
                                           std::size_t width, const int* origin,
                                           const double* weight, std::size_t count) {
  combine_row(
      out, nullptr, width,
      [y, width, origin](std::size_t e) { return y + static_cast<std::size_t>(origin[e]) * width; },
      weight, count, nullptr);
}

// Rows of whole vectors, `Vectors` each, two at a time (the last alone when `rows` is odd).
template <std::size_t Vectors>
[[gnu::always_inline]] inline void mix_rows_paired(double* out, const double* __restrict y,
                                                   std::size_t rows,
                                                   const std::size_t* row_start,
                                                   const int* origin, const double* weight) {
  constexpr std::size_t width = Vectors * kLanes;
  std::size_t row = 0;
  for (; row + 1 < rows; row += 2, out += 2 * width) {
    const std::size_t a = row_start[row];
    const std::size_t b = row_start[row + 1];
    mix_row_pair<Vectors>(out, y, width, origin + a, weight + a, b - a, origin + b, weight + b,
                          row_start[row + 2] - b);
  }
  if (row < rows) {
    const std::size_t a = row_start[row];
    mix_row(out, y, width, origin + a, weight + a, row_start[row + 1] - a);
  }
}

// Rows of 1 to 5 whole vectors go two at a time (W3's tiles: 2, W2's full rows: 5); wider rows
// already keep up to 8 vectors' chains in flight each (combine_row).
constexpr std::size_t kMaxPairedVectors = 5;

// mix_rows_paired for the row width among 1 to sizeof...(Less) + 1 vectors, if it is one.
template <std::size_t... Less>
[[gnu::always_inline]] inline bool mix_rows_paired_if(std::size_t width, double* out,
                                                      const double* __restrict y,
                                                      std::size_t rows,
                                                      const std::size_t* row_start,
                                                      const int* origin, const double* weight,
                                                      std::index_sequence<Less...>) {
  return ((width == (Less + 1) * kLanes &&
           (mix_rows_paired<Less + 1>(out, y, rows, row_start, origin, weight), true)) ||
          ...);
}

// Z = mix Y for one sector's `rows` rows, each `width` long, in one call a sector. Called row by
// row, the dispatch and the table of source pointers had cost about as much as a row's few
// products on W2 (rows of 40 origins, 15 entries): its solver 11% faster this way.
TECHDEP_TARGET_CLONES
void mix_rows(double* __restrict out, const double* __restrict y, std::size_t width,
              std::size_t rows, const std::size_t* __restrict row_start,
              const int* __restrict origin, const double* __restrict weight) {
  if (mix_rows_paired_if(width, out, y, rows, row_start, origin, weight,
                         std::make_index_sequence<kMaxPairedVectors>{})) {
    return;
  }
  for (std::size_t row = 0; row < rows; ++row, out += width) {
    const std::size_t first = row_start[row];
    mix_row(out, y, width, origin + first, weight + first, row_start[row + 1] - first);
  }
}

// Origins' columns of Y are independent right-hand sides: the transposed solves split them into
// tiles of whole vectors, each with its own Y, Z and warm starts ([s][j][k within the tile]),
// swept on its own until it converges, while its Y and Z stay in cache. Each value is computed by
// the same operations in the same order however the origins are split, and every tile ends on the
// same sweep (the first at which all of them meet the stopping rule), so the bits depend neither
// on the split nor on the thread count.
struct OriginBlock {
  std::size_t first = 0;  // origin k of the tile's first column
  std::size_t width = 0;
  std::vector<double> y, before, earlier;  // the last solution and the two before it
  std::vector<double> z, diagonal;
  std::vector<const double*> sources;
  std::vector<double> weights;
  double residual = 0.0;
  int sweeps = 0;  // in the current solve
};

// Several tiles only where a sweep outweighs handing tiles to threads: W2's state (80,000
// doubles) gains on 2 threads; sanctions-2022's (3,179) would lose.
constexpr std::size_t kMinStatePerThread = std::size_t{1} << 15;  // doubles
// A tile's Y and Z together at most this large. A sweep reads each sector's Z blocks several
// times (once for every sector that uses it as an input): from cache when the tile is small,
// from memory when the whole state is swept at once. W3 (100 sectors x 200 countries, 64 MB of
// Y and Z) with tiles of 2 vectors, 5 MB each: its solver 2.92 to 1.74 s on one thread, 1.60 to
// 0.97 s on two; tiles of 1 vector (more per-entry work for each row) and of 4 were slower.
constexpr std::size_t kMaxTileBytes = std::size_t{6} << 20;

std::vector<OriginBlock> split_origins(std::size_t countries, std::size_t sectors, int threads) {
  const std::size_t vectors = std::max<std::size_t>(1, countries / kLanes);
  const std::size_t state = sectors * countries * countries;
  const std::size_t vector_bytes = 2 * sizeof(double) * sectors * countries * kLanes;
  const std::size_t tile_vectors = std::max<std::size_t>(1, kMaxTileBytes / vector_bytes);
  const std::size_t for_cache = (vectors + tile_vectors - 1) / tile_vectors;
  const std::size_t for_threads = std::min(
      {static_cast<std::size_t>(std::max(1, threads)), vectors, state / kMinStatePerThread});
  const std::size_t blocks = std::max<std::size_t>({1, for_cache, for_threads});
  std::vector<OriginBlock> split(blocks);
  for (std::size_t b = 0; b < blocks; ++b) {
    split[b].first = b * vectors / blocks * kLanes;
    const std::size_t end = b + 1 == blocks ? countries : (b + 1) * vectors / blocks * kLanes;
    split[b].width = end - split[b].first;
  }
  return split;
}

// The shares move smoothly from one solve to the next, so extrapolating the last solutions starts
// closer than the last one alone (the answer is the same to the tolerance): through the last three
// (quadratic), W2, solved every step, needs 968 sweeps instead of 1,421 (1,175 through the last
// two). It keeps two more copies of the state, so large states skip it: W3 (32 MB, solved every
// 12 steps) saved only 6% with the linear form.
constexpr std::size_t kMaxExtrapolatedState = std::size_t{1} << 20;  // doubles

void extrapolate_warm_start(OriginBlock& block, std::size_t state) {
  std::vector<double>& y = block.y;
  std::vector<double>& before = block.before;
  std::vector<double>& earlier = block.earlier;
  if (y.empty() || state > kMaxExtrapolatedState) return;
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

// The coupling of the transposed system, shared by every block: B's diagonal v[s] and the
// nonzero input coefficients (input s', a[s'][s]) of each sector.
struct Coupling {
  std::vector<double> value;                      // v[s]
  std::vector<std::pair<int, double>> entries;    // by s, a != 0
  std::vector<std::size_t> first;                 // s -> first entry; S + 1 of them
};

// Work arrays kept between calls, so a step allocates nothing once they are sized.
struct Workspace {
  MatrixXd base, mixed, next;  // the forward solves'
  SparseMix sparse;
  Coupling coupling;
};

void build_coupling(const DependencyInputs& in, Coupling& coupling) {
  const auto sectors = static_cast<std::size_t>(in.sectors);
  coupling.value.resize(sectors);
  coupling.entries.clear();
  coupling.first.assign(sectors + 1, 0);
  for (std::size_t s = 0; s < sectors; ++s) {
    coupling.value[s] = value_added(in, static_cast<int>(s));
    for (int input = 0; input < in.sectors; ++input) {
      const double a = coefficient(in, input, static_cast<int>(s));
      if (a != 0.0) coupling.entries.emplace_back(input, a);
    }
    coupling.first[s + 1] = coupling.entries.size();
  }
}

// One tile's Gauss-Seidel sweeps, in steps so that tiles can agree on when to stop: `prepare`
// (every allocation, and the cold start), `mix_all` (Z from Y) and `sweep` (one sweep, returning
// its residual over the tile).
class BlockSweeper {
 public:
  BlockSweeper(const DependencyInputs& in, const SparseMix& mix, const Coupling& coupling,
               OriginBlock& block)
      : in_(in), mix_(mix), coupling_(coupling), block_(block),
        countries_(static_cast<std::size_t>(in.countries)),
        sectors_(static_cast<std::size_t>(in.sectors)), width_(block.width),
        rows_(countries_ * width_) {}

  void prepare() {
    const std::size_t size = sectors_ * rows_;
    std::vector<double>& y = block_.y;
    if (y.size() != size) {  // cold start: Y = B
      y.assign(size, 0.0);
      for (std::size_t s = 0; s < sectors_; ++s) {
        for (std::size_t k = block_.first; k < block_.first + width_; ++k) {
          y[s * rows_ + k * width_ + (k - block_.first)] = coupling_.value[s];
        }
      }
    }
    block_.z.resize(size);
    block_.sources.resize(std::max(countries_, sectors_));
    block_.weights.resize(sectors_);
    block_.diagonal.assign(rows_, 0.0);  // only its diagonal is ever written
  }

  void mix_all() {
    for (std::size_t s = 0; s < sectors_; ++s) mix_sector(s);
  }

  // Y_s = B_s + sum over inputs s' of a[s'][s] Z_s', with the Z of the sectors already updated
  // in this sweep, then Z_s from the new Y_s at once (while Y_s is still in cache). Y is updated
  // in place, so the state is Y and Z only; the sweeps converge faster than Jacobi's (a
  // contraction in the same norm with a factor no larger, docs/model.md).
  double sweep() {
    double residual = 0.0;
    double* const z = block_.z.data();
    for (std::size_t s = 0; s < sectors_; ++s) {
      double* const y_sector = block_.y.data() + s * rows_;
      for (std::size_t k = block_.first; k < block_.first + width_; ++k) {
        block_.diagonal[k * width_ + (k - block_.first)] = coupling_.value[s];
      }
      const std::size_t first = coupling_.first[s];
      const std::size_t count = coupling_.first[s + 1] - first;
      for (std::size_t e = 0; e < count; ++e) {
        block_.sources[e] =
            z + static_cast<std::size_t>(coupling_.entries[first + e].first) * rows_;
        block_.weights[e] = coupling_.entries[first + e].second;
      }
      residual = std::max(residual, combine_rows(y_sector, block_.diagonal.data(), rows_,
                                                 block_.sources.data(), block_.weights.data(),
                                                 count, y_sector));
      mix_sector(s);
    }
    return residual;
  }

  // total_dependency[c][s][k] = sum over j of share[c][s][j] Y[(s, j), k], for the block's k.
  void write(std::span<const int> focus, std::span<double> total_dependency) const {
    for (const int c : focus) {
      for (std::size_t s = 0; s < sectors_; ++s) {
        const std::size_t cell = static_cast<std::size_t>(c) * sectors_ + s;
        double* __restrict out = total_dependency.data() + cell * countries_ + block_.first;
        std::fill(out, out + width_, 0.0);
        const double* y_sector = block_.y.data() + s * rows_;
        for (std::size_t j = 0; j < countries_; ++j) {
          const double weight = in_.share[cell * countries_ + j];
          if (weight == 0.0) continue;
          const double* __restrict from = y_sector + j * width_;
          for (std::size_t k = 0; k < width_; ++k) out[k] += weight * from[k];
        }
      }
    }
  }

 private:
  // Z_s = mix_s Y_s.
  void mix_sector(std::size_t s) {
    mix_rows(block_.z.data() + s * rows_, block_.y.data() + s * rows_, width_, countries_,
             mix_.row_start.data() + s * countries_, mix_.origin.data(), mix_.weight.data());
  }

  const DependencyInputs& in_;
  const SparseMix& mix_;
  const Coupling& coupling_;
  OriginBlock& block_;
  std::size_t countries_, sectors_, width_, rows_;
};

DependencySolveReport solve_transposed(const DependencyInputs& in, std::span<const int> focus,
                                       std::vector<OriginBlock>& blocks, Workspace& work,
                                       WorkerTeam* team, std::span<double> total_dependency) {
  build_sparse_mix(in, work.sparse);
  build_coupling(in, work.coupling);
  const std::size_t state = static_cast<std::size_t>(in.sectors) *
                            static_cast<std::size_t>(in.countries) *
                            static_cast<std::size_t>(in.countries);
  std::vector<BlockSweeper> sweepers;
  sweepers.reserve(blocks.size());
  for (OriginBlock& block : blocks) {
    sweepers.emplace_back(in, work.sparse, work.coupling, block);
    block.residual = std::numeric_limits<double>::infinity();
    block.sweeps = 0;
  }
  // Every tile sweeps until it has done `common` sweeps and meets the stopping rule. Tiles of
  // one solve nearly always converge on the same sweep (W2, W3); when they do not, those that
  // stopped early catch up to the latest and check again, until all stop on the same sweep.
  int common = 0;
  for (bool agreed = false; !agreed;) {
    for_each_on(team, blocks.size(), [&](std::size_t b) {
      OriginBlock& block = blocks[b];
      if (block.sweeps == 0) {
        extrapolate_warm_start(block, state);
        sweepers[b].prepare();
        sweepers[b].mix_all();
      }
      while (block.sweeps < common ||
             (!(block.residual < kDependencyTolerance) &&
              block.sweeps < kDependencyMaxIterations)) {
        block.residual = sweepers[b].sweep();
        ++block.sweeps;
      }
      // Written while the tile is in cache; rewritten if it has to catch up.
      if (block.residual < kDependencyTolerance) sweepers[b].write(focus, total_dependency);
    });
    int fewest = kDependencyMaxIterations;
    int most = 0;
    for (const OriginBlock& block : blocks) {
      fewest = std::min(fewest, block.sweeps);
      most = std::max(most, block.sweeps);
    }
    agreed = fewest == most || most >= kDependencyMaxIterations;
    common = most;
  }
  DependencySolveReport report;
  report.transposed = true;
  report.iterations = common;
  report.threads = static_cast<int>(std::min(team == nullptr ? 1 : team->size(), blocks.size()));
  report.tiles = static_cast<int>(blocks.size());
  for (const OriginBlock& block : blocks) {
    report.residual = std::max(report.residual, block.residual);
  }
  if (!(report.residual < kDependencyTolerance)) {
    throw_divergence(report.iterations, report.residual);
  }
  return report;
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
  int threads = 1;
  MatrixXd mix;
  WorkerTeam* team = nullptr;  // the caller's, or `own_team`
  std::unique_ptr<WorkerTeam> own_team;
  std::vector<OriginBlock> per_origin;  // the transposed solves' tiles and warm starts
  std::vector<MatrixXd> per_buyer;  // warm starts of the forward solves, one per focus buyer
  Workspace work;
};

TotalDependencySolver::TotalDependencySolver(int countries, int sectors, std::vector<int> focus,
                                             int threads, WorkerTeam* team)
    : impl_(std::make_unique<Impl>()) {
  impl_->countries = countries;
  impl_->sectors = sectors;
  impl_->threads = team == nullptr ? threads : static_cast<int>(team->size());
  impl_->team = team;
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
    if (self.per_origin.empty()) {
      self.per_origin = split_origins(static_cast<std::size_t>(countries),
                                      static_cast<std::size_t>(sectors), self.threads);
      // A team of its own, kept for every later solve, when the caller has none to lend.
      if (self.team == nullptr && self.threads > 1 && self.per_origin.size() > 1) {
        self.own_team = std::make_unique<WorkerTeam>(self.threads);
        self.team = self.own_team.get();
      }
    }
    return solve_transposed(in, self.focus, self.per_origin, self.work, self.team,
                            total_dependency);
  }

  build_mix(in, self.mix);
  build_coupling(in, self.work.coupling);
  const std::vector<double>& value = self.work.coupling.value;
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
