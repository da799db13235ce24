#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "techdep/graph/routes.hpp"

namespace {

// Countries 0..n-1, one sector; restriction and evasion set per flow origin -> buyer.
struct RouteWorld {
  explicit RouteWorld(int n)
      : countries(n), restriction(static_cast<std::size_t>(n * n), 0.0),
        evasion(static_cast<std::size_t>(n * n), 0.0), trade_cost(static_cast<std::size_t>(n * n), 1.0) {}
  std::size_t flow(int origin, int buyer) const {
    return static_cast<std::size_t>(buyer * countries + origin);
  }
  techdep::RouteTable run(double markup) const {
    techdep::RouteTable table;
    techdep::find_routes({countries, 1, restriction, evasion, trade_cost, markup, 1}, table);
    return table;
  }
  int countries;
  std::vector<double> restriction, evasion, trade_cost;
};

}  // namespace

TEST_CASE("Routes find the open hub and price one markup per extra hop", "[graph]") {
  RouteWorld w(3);  // 0 = origin, 1 = hub, 2 = buyer
  w.restriction[w.flow(0, 2)] = 1.0;
  w.evasion[w.flow(0, 2)] = 0.5;
  const techdep::RouteTable table = w.run(0.3);
  CHECK(table.hub[w.flow(0, 2)] == 1);
  // exp(2 log 1.3) / 1.3 = 1.3
  CHECK(table.multiplier[w.flow(0, 2)] == Approx(1.3).epsilon(1e-14));
  CHECK(table.multiplier[w.flow(1, 2)] == 0.0);  // unrestricted flows need no route
}

TEST_CASE("Routes close when enforcement cuts the hub's own flow to the target", "[graph]") {
  RouteWorld w(3);
  w.restriction[w.flow(0, 2)] = 1.0;
  w.evasion[w.flow(0, 2)] = 0.5;
  w.restriction[w.flow(1, 2)] = 1.0;  // enforcement: hub 1 may no longer ship to 2
  const techdep::RouteTable table = w.run(0.3);
  CHECK(table.hub[w.flow(0, 2)] == -1);
  CHECK(table.multiplier[w.flow(0, 2)] == 0.0);
}

TEST_CASE("Routes name the last hub of a multi-hop path and never beat the direct edge",
          "[graph]") {
  RouteWorld w(4);  // 0 -> 1 -> 2 -> 3; the direct edge 0 -> 3 is dear and restricted
  w.restriction[w.flow(0, 3)] = 0.5;
  w.evasion[w.flow(0, 3)] = 1.0;
  w.restriction[w.flow(1, 3)] = 1.0;
  w.restriction[w.flow(0, 2)] = 1.0;
  w.trade_cost[static_cast<std::size_t>(0 * 4 + 3)] = 5.0;
  const techdep::RouteTable table = w.run(0.1);
  CHECK(table.hub[w.flow(0, 3)] == 2);  // the consignor the buyer's customs see
  CHECK(table.multiplier[w.flow(0, 3)] == 1.0);  // exp(3 log 1.1) / (5 * 1.1) < 1, clamped
  CHECK(table.cheaper_than_direct == 1);
}

TEST_CASE("Routes of many sectors on several threads equal those on one", "[graph]") {
  // 9 countries, 7 sectors, restrictions and trade costs varying by pair and sector (an LCG:
  // reproducible), some flows closed outright so routes must go around them.
  const int countries = 9;
  const int sectors = 7;
  const auto flows = static_cast<std::size_t>(countries * sectors * countries);
  std::vector<double> restriction(flows), evasion(flows), trade_cost(81);
  unsigned seed = 11;
  const auto next = [&seed] {
    seed = seed * 1103515245U + 12345U;
    return static_cast<double>((seed >> 8) % 1000) / 1000.0;
  };
  for (std::size_t i = 0; i < flows; ++i) {
    const double draw = next();
    restriction[i] = draw < 0.2 ? 1.0 : (draw < 0.6 ? draw : 0.0);
    evasion[i] = next() < 0.5 ? 0.8 : 0.0;
  }
  for (double& cost : trade_cost) cost = 1.0 + next();
  techdep::RouteTable one, three;
  techdep::find_routes({countries, sectors, restriction, evasion, trade_cost, 0.3, 1}, one);
  techdep::find_routes({countries, sectors, restriction, evasion, trade_cost, 0.3, 3}, three);
  CHECK(one.multiplier == three.multiplier);
  CHECK(one.hub == three.hub);
  CHECK(one.cheaper_than_direct == three.cheaper_than_direct);
  std::size_t routed = 0;
  for (const int hub : one.hub) routed += hub >= 0 ? 1 : 0;
  CHECK(routed > 10);  // the world has routes, so the comparison above means something
}
