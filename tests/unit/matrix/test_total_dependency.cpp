#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "techdep/matrix/total_dependency.hpp"

namespace {

using techdep::DependencyInputs;

struct World {
  int countries = 0;
  int sectors = 0;
  std::vector<double> share, shortage, initial, inputs;
  DependencyInputs view() const {
    return {countries, sectors, share, shortage, initial, inputs, {}, {}};
  }
  std::size_t at(int c, int s, int k) const {
    return (static_cast<std::size_t>(c) * static_cast<std::size_t>(sectors) +
            static_cast<std::size_t>(s)) * static_cast<std::size_t>(countries) +
           static_cast<std::size_t>(k);
  }
};

// Three countries, three sectors, uneven shares, some shortage, one cell fully short (U = 1:
// the initial mix stands in for it).
World small_world() {
  World w;
  w.countries = 3;
  w.sectors = 3;
  const double a[3][3] = {{0.10, 0.30, 0.05}, {0.20, 0.05, 0.25}, {0.00, 0.15, 0.10}};
  for (const auto& row : a) w.inputs.insert(w.inputs.end(), row, row + 3);
  w.share.assign(27, 0.0);
  w.initial.assign(27, 0.0);
  w.shortage.assign(9, 0.0);
  unsigned seed = 7;
  for (int c = 0; c < 3; ++c) {
    for (int s = 0; s < 3; ++s) {
      double raw[3];
      double total = 0.0;
      for (double& v : raw) {
        seed = seed * 1103515245u + 12345u;
        v = 0.1 + static_cast<double>((seed >> 8) % 1000) / 1000.0;
        total += v;
      }
      const double short_share = (c + s) % 3 == 0 ? 0.2 : 0.0;
      for (int k = 0; k < 3; ++k) {
        w.initial[w.at(c, s, k)] = raw[k] / total;
        w.share[w.at(c, s, k)] = raw[k] / total * (1.0 - short_share);
      }
      w.shortage[static_cast<std::size_t>(c * 3 + s)] = short_share;
    }
  }
  for (int k = 0; k < 3; ++k) w.share[w.at(2, 1, k)] = 0.0;
  w.shortage[7] = 1.0;
  return w;
}

// The dense reference: forms G and solves (I - G) x = f with an LU factorisation.
std::vector<double> dense_total_dependency(const World& w) {
  const int n = w.countries * w.sectors;
  Eigen::MatrixXd g = Eigen::MatrixXd::Zero(n, n);
  Eigen::VectorXd v(n);
  auto row = [&](int k, int s) { return k * w.sectors + s; };
  for (int k = 0; k < w.countries; ++k) {
    for (int s = 0; s < w.sectors; ++s) {
      double used = 0.0;
      for (int i = 0; i < w.sectors; ++i) used += w.inputs[static_cast<std::size_t>(i * w.sectors + s)];
      v(row(k, s)) = 1.0 - used;
    }
  }
  for (int c = 0; c < w.countries; ++c) {
    for (int s = 0; s < w.sectors; ++s) {
      for (int input = 0; input < w.sectors; ++input) {
        const double served = 1.0 - w.shortage[static_cast<std::size_t>(c * w.sectors + input)];
        for (int k = 0; k < w.countries; ++k) {
          const double mix = served > 0.0 ? w.share[w.at(c, input, k)] / served
                                          : w.initial[w.at(c, input, k)];
          g(row(k, input), row(c, s)) += w.inputs[static_cast<std::size_t>(input * w.sectors + s)] * mix;
        }
      }
    }
  }
  const Eigen::PartialPivLU<Eigen::MatrixXd> lu(Eigen::MatrixXd::Identity(n, n) - g);
  std::vector<double> out(w.share.size());
  for (int c = 0; c < w.countries; ++c) {
    for (int s = 0; s < w.sectors; ++s) {
      Eigen::VectorXd f = Eigen::VectorXd::Zero(n);
      for (int k = 0; k < w.countries; ++k) f(row(k, s)) = w.share[w.at(c, s, k)];
      const Eigen::VectorXd va = v.cwiseProduct(lu.solve(f));
      for (int k = 0; k < w.countries; ++k) {
        double sum = 0.0;
        for (int i = 0; i < w.sectors; ++i) sum += va(row(k, i));
        out[w.at(c, s, k)] = sum;
      }
    }
  }
  return out;
}

// Draws in [0, 1) in steps of 1/1000, for the larger made-up worlds.
struct Lcg {
  unsigned seed;
  double operator()() {
    seed = seed * 1103515245U + 12345U;
    return static_cast<double>((seed >> 8) % 1000) / 1000.0;
  }
};

// a[s'][s]: three inputs s' for every sector s, at rows spread over the sectors, each below
// `scale` (so every column sums to less than 1).
std::vector<double> three_inputs_per_sector(std::size_t sectors, std::size_t stride,
                                            std::size_t spread, double scale, Lcg& next) {
  std::vector<double> inputs(sectors * sectors, 0.0);
  for (std::size_t s = 0; s < sectors; ++s) {
    for (std::size_t i = 0; i < 3; ++i) {
      inputs[((s * stride + i * spread) % sectors) * sectors + s] = scale * next();
    }
  }
  return inputs;
}

// A world of `countries` and `sectors` with three inputs per sector (three_inputs_per_sector),
// its initial shares all 0 for the test to fill and no shortage.
World lcg_world(int countries, int sectors, std::size_t stride, std::size_t spread, double scale,
                Lcg& next) {
  World w;
  w.countries = countries;
  w.sectors = sectors;
  const auto c = static_cast<std::size_t>(countries);
  const auto s = static_cast<std::size_t>(sectors);
  w.inputs = three_inputs_per_sector(s, stride, spread, scale, next);
  w.initial.assign(s * c * c, 0.0);
  w.shortage.assign(s * c, 0.0);
  return w;
}

// Solves three versions of `w` on 1, 2 and 3 threads, its shortages drawn anew for each (up to
// `shortage_step` times the solve's number) and its shares scaled to match, so the warm starts
// (extrapolated) are compared too. Every thread count must give the same sweeps and bits, and
// every buyer's total dependency must sum to what is served, 1 - U. Returns each solve's reports
// on 1, 2 and 3 threads.
std::vector<std::vector<techdep::DependencySolveReport>> solve_on_1_2_3_threads(
    World& w, Lcg& next, double shortage_step) {
  const auto countries = static_cast<std::size_t>(w.countries);
  std::vector<techdep::TotalDependencySolver> solvers;
  for (const int threads : {1, 2, 3}) {
    solvers.emplace_back(w.countries, w.sectors, std::vector<int>{}, threads);
  }
  std::vector<std::vector<techdep::DependencySolveReport>> reports;
  std::vector<std::vector<double>> answers(3, std::vector<double>(w.initial.size()));
  for (int solve = 0; solve < 3; ++solve) {
    w.share = w.initial;
    for (std::size_t cell = 0; cell < w.shortage.size(); ++cell) {
      w.shortage[cell] = shortage_step * solve * next();
      for (std::size_t k = 0; k < countries; ++k) {
        w.share[cell * countries + k] *= 1.0 - w.shortage[cell];
      }
    }
    std::vector<techdep::DependencySolveReport>& these = reports.emplace_back();
    for (std::size_t t = 0; t < solvers.size(); ++t) {
      these.push_back(solvers[t].solve(w.view(), answers[t]));
    }
    CHECK(these[1].iterations == these[0].iterations);
    CHECK(these[2].iterations == these[0].iterations);
    CHECK(answers[1] == answers[0]);
    CHECK(answers[2] == answers[0]);
    double worst = 0.0;
    for (std::size_t cell = 0; cell < w.shortage.size(); ++cell) {
      double sum = 0.0;
      for (std::size_t k = 0; k < countries; ++k) sum += answers[0][cell * countries + k];
      worst = std::max(worst, std::abs(sum - (1.0 - w.shortage[cell])));
    }
    CHECK(worst < 1e-11);
  }
  return reports;
}

}  // namespace

TEST_CASE("Total dependency reproduces a hand-worked Leontief inverse", "[matrix]") {
  // One country, three sectors: a[0][0] = 0.2, a[0][1] = 0.5, a[1][2] = 0.5. (I - A) is upper
  // triangular; its inverse by back substitution: column 0 = (1.25, 0, 0), column 1 =
  // (0.625, 1, 0), column 2 = (0.3125, 0.5, 1).
  World w;
  w.countries = 1;
  w.sectors = 3;
  w.inputs = {0.2, 0.5, 0.0, 0.0, 0.0, 0.5, 0.0, 0.0, 0.0};
  w.share = {1.0, 1.0, 1.0};
  w.initial = w.share;
  w.shortage = {0.0, 0.0, 0.0};
  const double expected[3][3] = {{1.25, 0.0, 0.0}, {0.625, 1.0, 0.0}, {0.3125, 0.5, 1.0}};
  for (int s = 0; s < 3; ++s) {
    const std::vector<double> x = techdep::gross_requirements(w.view(), 0, s);
    for (int i = 0; i < 3; ++i) CHECK(x[static_cast<std::size_t>(i)] == Approx(expected[s][i]).margin(1e-13));
  }
  // All value added is domestic: total dependency on the country itself is 1 - U = 1.
  techdep::TotalDependencySolver solver(1, 3, {});
  std::vector<double> td(3);
  solver.solve(w.view(), td);
  for (const double v : td) CHECK(v == Approx(1.0).margin(1e-12));
}

TEST_CASE("Total dependency sums to 1 - U and matches a dense solve to 1e-12", "[matrix]") {
  const World w = small_world();
  const std::vector<double> dense = dense_total_dependency(w);

  SECTION("transposed solves (every buyer)") {
    techdep::TotalDependencySolver solver(3, 3, {});
    std::vector<double> td(w.share.size());
    const techdep::DependencySolveReport report = solver.solve(w.view(), td);
    CHECK(report.transposed);
    CHECK(report.residual < techdep::kDependencyTolerance);
    for (std::size_t i = 0; i < td.size(); ++i) CHECK(std::abs(td[i] - dense[i]) < 1e-12);
    for (int c = 0; c < 3; ++c) {
      for (int s = 0; s < 3; ++s) {
        double sum = 0.0;
        for (int k = 0; k < 3; ++k) sum += td[w.at(c, s, k)];
        CHECK(std::abs(sum - (1.0 - w.shortage[static_cast<std::size_t>(c * 3 + s)])) < 1e-12);
      }
    }
    // Warm start: the same system again converges at once.
    const techdep::DependencySolveReport again = solver.solve(w.view(), td);
    CHECK(again.iterations <= 2);
    CHECK(again.iterations < report.iterations);
  }
  SECTION("forward solves (one focus buyer, fewer right-hand sides)") {
    World wide = w;
    techdep::TotalDependencySolver solver(3, 3, {1});
    std::vector<double> td(w.share.size(), -1.0);
    // 1 buyer x 3 sectors = 3 right-hand sides, not fewer than 3 origins: transposed still.
    CHECK(solver.solve(wide.view(), td).transposed);
    techdep::TotalDependencySolver forward(3, 1, {1});
    World one_sector;
    one_sector.countries = 3;
    one_sector.sectors = 1;
    one_sector.inputs = {0.4};
    for (int c = 0; c < 3; ++c) {
      for (int k = 0; k < 3; ++k) one_sector.share.push_back(w.share[w.at(c, 0, k)]);
      one_sector.shortage.push_back(w.shortage[static_cast<std::size_t>(c * 3)]);
    }
    one_sector.initial = one_sector.share;
    std::vector<double> td1(9, -1.0);
    const techdep::DependencySolveReport report = forward.solve(one_sector.view(), td1);
    CHECK_FALSE(report.transposed);
    const std::vector<double> dense1 = dense_total_dependency(one_sector);
    for (int k = 0; k < 3; ++k) {
      CHECK(std::abs(td1[static_cast<std::size_t>(3 + k)] - dense1[static_cast<std::size_t>(3 + k)]) < 1e-12);
      CHECK(td1[static_cast<std::size_t>(k)] == -1.0);  // not a focus buyer: untouched
    }
  }
}

TEST_CASE("Total dependency with the cells' origin lists equals the scan of every origin",
          "[matrix]") {
  // Zero one origin of some cells (initial mix included, so it is out of those cells' lists),
  // then list only the origins that can have a share: the answers must be the same bits.
  World w = small_world();
  for (const int c : {0, 2}) {
    for (int s = 0; s < w.sectors; ++s) {
      w.share[w.at(c, s, 1)] = 0.0;
      w.initial[w.at(c, s, 1)] = 0.0;
    }
  }
  std::vector<std::size_t> first{0};
  std::vector<std::int32_t> origin;
  for (int c = 0; c < w.countries; ++c) {
    for (int s = 0; s < w.sectors; ++s) {
      for (int k = 0; k < w.countries; ++k) {
        if (w.initial[w.at(c, s, k)] > 0.0) origin.push_back(k);
      }
      first.push_back(origin.size());
    }
  }
  const std::size_t flows = w.share.size();
  std::vector<double> scanned(flows, 0.0), listed(flows, 0.0);
  techdep::TotalDependencySolver scan(w.countries, w.sectors, {});
  techdep::TotalDependencySolver lists(w.countries, w.sectors, {});
  scan.solve(w.view(), scanned);
  DependencyInputs with_lists = w.view();
  with_lists.cell_first = first;
  with_lists.cell_origin = origin;
  lists.solve(with_lists, listed);
  CHECK(origin.size() < flows);
  CHECK(scanned == listed);
}

TEST_CASE("Transposed solves split between threads give the same bits as on one", "[matrix]") {
  // 27 origins (3 whole vectors and a tail) and 140 sectors: a state large enough for up to 3
  // blocks of origins. Shares, shortages and 3 inputs per sector from an LCG; three solves of a
  // drifting world, so the warm starts (extrapolated) are compared too.
  Lcg next{5};
  World w = lcg_world(27, 140, 7, 31, 0.2, next);
  for (int c = 0; c < 27; ++c) {
    for (int s = 0; s < w.sectors; ++s) {
      double total = 0.0;
      for (int k = 0; k < 27; ++k) {
        const double draw = next();
        w.initial[w.at(c, s, k)] = draw < 0.5 ? 0.0 : draw;  // about half the origins sell
        total += w.initial[w.at(c, s, k)];
      }
      w.initial[w.at(c, s, c)] += 0.1;
      total += 0.1;
      for (int k = 0; k < 27; ++k) w.initial[w.at(c, s, k)] /= total;
    }
  }
  for (const auto& reports : solve_on_1_2_3_threads(w, next, 0.05)) {
    for (std::size_t t = 0; t < reports.size(); ++t) {
      CHECK(reports[t].threads == static_cast<int>(t) + 1);  // the origins were split
    }
  }
}

TEST_CASE("Tiles of origins that converge on different sweeps end on the same one", "[matrix]") {
  // 24 origins in two groups that never trade with each other: 0-15 and 16-23. On 3 threads the
  // origins are split into 3 tiles of 8; the columns of origins 16-23 involve only their own
  // group's rows. Between solves only group 0-15's shares move, so the third tile's warm start is
  // already its answer: it meets the stopping rule on its first sweep while the others need
  // many, and must catch up with them. Same sweeps and same bits as on one thread (one tile).
  Lcg next{11};
  World w = lcg_world(24, 180, 5, 37, 0.25, next);  // 103,680 doubles of state: room for 3 tiles
  const auto group = [](int c) { return c < 16 ? 0 : 1; };
  const auto draw_mix = [&](int c, std::vector<double>& into) {
    for (int s = 0; s < w.sectors; ++s) {
      double total = 0.0;
      for (int k = 0; k < 24; ++k) {
        into[w.at(c, s, k)] = group(k) == group(c) && next() < 0.6 ? next() + 0.05 : 0.0;
        total += into[w.at(c, s, k)];
      }
      into[w.at(c, s, c)] += 0.2;
      total += 0.2;
      for (int k = 0; k < 24; ++k) into[w.at(c, s, k)] /= total;
    }
  };
  for (int c = 0; c < 24; ++c) draw_mix(c, w.initial);
  w.share = w.initial;

  techdep::TotalDependencySolver one(24, w.sectors, {}, 1);
  techdep::TotalDependencySolver three(24, w.sectors, {}, 3);
  std::vector<double> on_one(w.share.size()), on_three(w.share.size());
  for (int solve = 0; solve < 4; ++solve) {
    if (solve > 0) {
      for (int c = 0; c < 16; ++c) draw_mix(c, w.share);  // group 1 stays as it was
    }
    const techdep::DependencySolveReport single = one.solve(w.view(), on_one);
    const techdep::DependencySolveReport split = three.solve(w.view(), on_three);
    CHECK(split.threads == 3);
    CHECK(single.threads == 1);
    CHECK(split.iterations == single.iterations);
    CHECK(split.residual < techdep::kDependencyTolerance);
    CHECK(on_three == on_one);
    if (solve > 0) CHECK(single.iterations > 3);  // the moving group needed real sweeps
  }
}

TEST_CASE("A state too large for one tile in cache is swept in tiles, with the same bits",
          "[matrix]") {
  // 64 origins (8 vectors) and 100 sectors: Y and Z of one vector of origins take 0.8 MB, so a
  // tile holds at most 7 of them and even one thread sweeps 2 tiles. Each buyer buys from its
  // own producer and 4 others; three solves of a drifting world (warm starts compared too).
  Lcg next{23};
  World w = lcg_world(64, 100, 3, 41, 0.25, next);
  for (int c = 0; c < 64; ++c) {
    for (int s = 0; s < w.sectors; ++s) {
      double total = 0.3;
      w.initial[w.at(c, s, c)] = 0.3;
      for (int i = 0; i < 4; ++i) {
        const int k = (c + 1 + static_cast<int>(next() * 63.0)) % 64;
        const double draw = next() + 0.05;
        w.initial[w.at(c, s, k)] += draw;
        total += draw;
      }
      for (int k = 0; k < 64; ++k) w.initial[w.at(c, s, k)] /= total;
    }
  }
  for (const auto& reports : solve_on_1_2_3_threads(w, next, 0.04)) {
    CHECK(reports[0].tiles == 2);  // the cache's split, on one thread
    CHECK(reports[0].threads == 1);
    CHECK(reports[1].tiles == 2);
    CHECK(reports[2].tiles == 3);  // one a thread
  }
}
