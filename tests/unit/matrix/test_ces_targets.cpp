#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "techdep/matrix/ces_targets.hpp"

namespace {

using techdep::kUncapped;

// One cell with owned storage, so tests can set inputs by name.
struct Cell {
  explicit Cell(int n, int domestic_index)
      : log_alpha(n, 0.0), log_price(n, 0.0), restriction(n, 0.0), evasion(n, 0.0),
        multiplier(n, 0.0), cap_scale(n, 1.0), a(n), b(n), c(n), d(n), e(n), f(n), g(n),
        target(n), cap(n), reroute(n), domestic(domestic_index) {}

  techdep::CellTargetOutputs run(double capability_effective, double mandate = 0.0,
                                 double sigma = 3.0) {
    const techdep::CellTargetInputs in{domestic, sigma, log_alpha, log_price, restriction,
                                       evasion, multiplier, cap_scale, capability_effective,
                                       mandate};
    techdep::CellTargetScratch scratch{a, b, c, d, e, f, g};
    techdep::CellTargetOutputs out{target, cap, reroute, 0.0};
    techdep::compute_cell_targets(in, scratch, out);
    return out;
  }

  std::vector<double> log_alpha, log_price, restriction, evasion, multiplier, cap_scale;
  std::vector<double> a, b, c, d, e, f;
  std::vector<unsigned char> g;
  std::vector<double> target, cap, reroute;
  int domestic;
};

constexpr double kNoWeight = -std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("Water filling hands the excess of capped options to the uncapped ones", "[matrix]") {
  const std::vector<double> weights{1.0, 1.0, 2.0};
  const std::vector<double> caps{0.1, kUncapped, kUncapped};
  std::vector<double> shares(3);
  std::vector<unsigned char> fixed(3);
  const double left = techdep::water_fill(weights, caps, 1.0, shares, fixed);
  CHECK(left == 0.0);
  CHECK(shares[0] == Approx(0.1).margin(1e-15));
  CHECK(shares[1] == Approx(0.3).margin(1e-15));
  CHECK(shares[2] == Approx(0.6).margin(1e-15));
}

TEST_CASE("Water filling leaves demand unallocated when every option is capped", "[matrix]") {
  const std::vector<double> weights{1.0, 3.0, 0.0};
  const std::vector<double> caps{0.2, 0.3, kUncapped};
  std::vector<double> shares(3);
  std::vector<unsigned char> fixed(3);
  const double left = techdep::water_fill(weights, caps, 1.0, shares, fixed);
  CHECK(left == Approx(0.5).margin(1e-15));
  CHECK(shares[2] == 0.0);  // zero weight: nothing, whatever its cap
}

TEST_CASE("CES targets cap a sole supplier under a 90 percent control at 10 percent", "[matrix]") {
  // Options: 0 = domestic (no weight, no capability), 1 = the sole foreign supplier.
  Cell cell(2, 0);
  cell.log_alpha[0] = kNoWeight;
  cell.restriction[1] = 0.9;
  const auto out = cell.run(0.0);
  CHECK(cell.cap[1] == Approx(0.1).margin(1e-15));
  CHECK(cell.target[1] == Approx(0.1).margin(1e-15));
  CHECK(cell.target[0] == 0.0);
  CHECK(out.domestic_demand == Approx(0.9).margin(1e-15));
}

TEST_CASE("CES targets move continuously as a restriction vanishes", "[matrix]") {
  // Domestic 0.3, two foreign suppliers; a restriction of 1e-6 on one moves shares < 1e-6.
  Cell cell(3, 0);
  cell.log_alpha = {std::log(0.3), std::log(0.5), std::log(0.2)};
  cell.run(1.0);
  const std::vector<double> free_target = cell.target;
  cell.restriction[1] = 1e-6;
  cell.run(1.0);
  for (int k = 0; k < 3; ++k) CHECK(std::abs(cell.target[k] - free_target[k]) < 1e-6);
  CHECK(free_target[1] == Approx(0.5).margin(1e-15));
}

TEST_CASE("CES targets send blocked demand to domestic producers whatever their weight",
          "[matrix]") {
  Cell cell(2, 0);
  cell.log_alpha[0] = kNoWeight;  // no domestic share at the start
  cell.restriction[1] = 1.0;
  cell.run(0.35);
  CHECK(cell.target[0] == Approx(0.35).margin(1e-15));
  CHECK(cell.target[1] == 0.0);
}

TEST_CASE("CES targets raise the domestic share to a mandate clipped by capability", "[matrix]") {
  Cell cell(2, 0);
  cell.log_alpha = {std::log(0.2), std::log(0.8)};
  cell.run(0.5, 0.9);
  CHECK(cell.target[0] == Approx(0.5).margin(1e-15));  // min(M, CapEff)
  CHECK(cell.target[1] == Approx(0.5).margin(1e-15));
  cell.run(1.0, 0.6);
  CHECK(cell.target[0] == Approx(0.6).margin(1e-15));
  CHECK(cell.target[1] == Approx(0.4).margin(1e-15));
}

TEST_CASE("CES targets route evaded demand through the hub at the multiplier", "[matrix]") {
  Cell cell(3, 0);
  cell.log_alpha = {std::log(0.4), std::log(0.6), kNoWeight};
  cell.restriction[1] = 1.0;
  cell.evasion[1] = 0.5;
  cell.multiplier[1] = 1.3;
  cell.run(0.4);
  // avail = R e = 0.5; S^ = 0.6 (the supplier alone unrestricted), so the cap is 0.3.
  CHECK(cell.cap[1] == Approx(0.3).margin(1e-15));
  CHECK(cell.reroute[1] == Approx(1.0).margin(1e-15));
  // Domestic at its capability 0.4, supplier at its cap 0.3, 0.3 short.
  CHECK(cell.target[0] == Approx(0.4).margin(1e-15));
  CHECK(cell.target[1] == Approx(0.3).margin(1e-15));
}
